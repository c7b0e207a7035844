//! ed25519 keys and signatures (GRANDPA votes, node keys, optional accounts).
//!
//! Verification uses `ed25519-zebra`, the library Substrate uses, so that
//! batch and single verification agree exactly (ZIP-215 cofactored equation).
//! On top of ZIP-215 we require the canonical encoding of the signature's `R`
//! and of the public key (RFC 8032 §5.1.3 decoding), which honest signers
//! always produce; this makes every Wycheproof "invalid" vector fail.
//!
//! Hard derivation follows Substrate: `seed' = BLAKE2b-256(SCALE(("Ed25519HDKD",
//! seed, chain_code)))`. Soft derivation does not exist for ed25519.

use alloc::vec::Vec;

use curve25519_dalek::edwards::CompressedEdwardsY;
use parity_scale_codec::Encode;
use rand_core::SeedableRng;
use zeroize::{Zeroize, Zeroizing};

use crate::{
    hashing::blake2_256,
    suri::{DeriveJunction, SecretUri},
    Error, Result,
};

public_and_signature!("ed25519", "An ed25519 public key.", "A 64-byte ed25519 signature (`R ‖ s`).");

/// An ed25519 key pair. No `Debug`/`Display`; zeroized on drop.
pub struct Pair {
    seed: Zeroizing<[u8; 32]>,
    signing: ed25519_zebra::SigningKey,
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.signing.zeroize();
    }
}

impl Pair {
    /// The key pair of a 32-byte RFC 8032 secret key (seed).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Pair { seed: Zeroizing::new(*seed), signing: ed25519_zebra::SigningKey::from(*seed) }
    }

    /// The key pair a secret URI describes. Soft junctions are an error.
    pub fn from_suri(uri: &SecretUri) -> Result<Self> {
        let mut seed = uri.root_seed()?;
        for j in &uri.junctions {
            match j {
                DeriveJunction::Soft(_) => return Err(Error::SoftDerivationUnsupported),
                DeriveJunction::Hard(cc) => {
                    let input = Zeroizing::new(("Ed25519HDKD", *seed, *cc).encode());
                    *seed = blake2_256(&input);
                }
            }
        }
        Ok(Pair::from_seed(&seed))
    }

    /// The public key.
    pub fn public(&self) -> Public {
        Public(ed25519_zebra::VerificationKey::from(&self.signing).into())
    }

    /// The 32-byte seed.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// Signs `message` (deterministic, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).into())
    }
}

/// Whether `bytes` is the canonical encoding of a point on the curve.
fn is_canonical_point(bytes: &[u8; 32]) -> bool {
    CompressedEdwardsY(*bytes).decompress().is_some_and(|p| p.compress().to_bytes() == *bytes)
}

fn prepared(
    signature: &Signature,
    public: &Public,
) -> Option<(ed25519_zebra::VerificationKeyBytes, ed25519_zebra::Signature)> {
    let mut r = [0u8; 32];
    r.copy_from_slice(&signature.0[..32]);
    if !is_canonical_point(&public.0) || !is_canonical_point(&r) {
        return None;
    }
    Some((ed25519_zebra::VerificationKeyBytes::from(public.0), ed25519_zebra::Signature::from(signature.0)))
}

/// Verifies `signature` by `public` over `message`. Never panics.
pub fn verify(signature: &Signature, message: &[u8], public: &Public) -> bool {
    let Some((vk_bytes, sig)) = prepared(signature, public) else {
        return false;
    };
    let Ok(vk) = ed25519_zebra::VerificationKey::try_from(vk_bytes) else {
        return false;
    };
    vk.verify(&sig, message).is_ok()
}

/// One item of a batch: message, signature and signer.
pub type BatchItem<'a> = (&'a [u8], &'a Signature, &'a Public);

/// Verifies many signatures at once; `true` exactly when [`verify`] would
/// accept every item (up to a 2^-128 failure probability of the batch check).
///
/// Deterministic: the batch coefficients come from a ChaCha20 stream seeded
/// with BLAKE2b-256 of all inputs, so every node reaches the same verdict and
/// an attacker cannot choose inputs after seeing the coefficients.
pub fn batch_verify(items: &[BatchItem<'_>]) -> bool {
    let mut verifier = ed25519_zebra::batch::Verifier::new();
    let mut transcript = Vec::with_capacity(items.len() * 128 + 16);
    transcript.extend_from_slice(b"umbra/ed25519-batch/v1");
    for (message, signature, public) in items {
        let Some((vk_bytes, sig)) = prepared(signature, public) else {
            return false;
        };
        transcript.extend_from_slice(&public.0);
        transcript.extend_from_slice(&signature.0);
        transcript.extend_from_slice(&blake2_256(message));
        verifier.queue((vk_bytes, sig, message));
    }
    let rng = rand_chacha::ChaCha20Rng::from_seed(blake2_256(&transcript));
    verifier.verify(rng).is_ok()
}

/// Parses a public key from bytes, checking that it is a canonical curve point.
pub fn public_from_bytes(bytes: &[u8]) -> Result<Public> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| Error::InvalidLength { expected: 32, found: bytes.len() })?;
    if !is_canonical_point(&arr) {
        return Err(Error::InvalidPublicKey);
    }
    Ok(Public(arr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_batch() {
        let pairs: Vec<Pair> = (0u8..6).map(|i| Pair::from_seed(&[i; 32])).collect();
        let msgs: Vec<Vec<u8>> = (0u8..6).map(|i| alloc::vec![i; 3]).collect();
        let sigs: Vec<Signature> = pairs.iter().zip(&msgs).map(|(p, m)| p.sign(m)).collect();
        let publics: Vec<Public> = pairs.iter().map(Pair::public).collect();
        for i in 0..6 {
            assert!(verify(&sigs[i], &msgs[i], &publics[i]));
            assert!(!verify(&sigs[i], b"x", &publics[i]));
        }
        let items: Vec<BatchItem<'_>> =
            msgs.iter().zip(&sigs).zip(&publics).map(|((m, s), p)| (m.as_slice(), s, p)).collect();
        assert!(batch_verify(&items));
        let mut bad = items.clone();
        bad[3].0 = b"forged";
        assert!(!batch_verify(&bad));
        assert!(batch_verify(&[]));
    }

    #[test]
    fn soft_derivation_is_rejected() {
        let uri = SecretUri::parse("//Alice/soft").unwrap();
        assert!(matches!(Pair::from_suri(&uri), Err(Error::SoftDerivationUnsupported)));
    }
}

//! sr25519: Schnorr signatures over Ristretto255 (schnorrkel), as Substrate uses them.
//!
//! * Keys come from a 32-byte mini secret expanded in `ExpansionMode::Ed25519`.
//! * Messages are signed under the signing context `b"substrate"`.
//! * Only signatures with schnorrkel's marker bit are accepted: legacy
//!   pre-0.8 signatures (which `sp-core` accepts only in `verify_deprecated`)
//!   are rejected.
//! * Hard junctions use `hard_derive_mini_secret_key` with the junction's chain
//!   code and an empty extra input; soft junctions `derived_key_simple`; both
//!   match `sp-core` so that `//Alice` is Alice.

use alloc::vec::Vec;

use schnorrkel::{
    derive::{ChainCode, Derivation},
    signing_context, ExpansionMode, MiniSecretKey,
};
use zeroize::Zeroizing;

use crate::{
    suri::{DeriveJunction, SecretUri},
    Error, Result,
};

/// The signing context of every sr25519 signature on the chain.
pub const SIGNING_CTX: &[u8] = b"substrate";

public_and_signature!(
    "sr25519",
    "An sr25519 public key (compressed Ristretto point). Also the account id.",
    "A 64-byte sr25519 signature."
);

/// An sr25519 key pair. No `Debug`/`Display`; the secret key and seed are
/// zeroized on drop.
pub struct Pair {
    keypair: schnorrkel::Keypair,
    seed: Option<Zeroizing<[u8; 32]>>,
}

impl Pair {
    /// The key pair of a 32-byte mini secret key (the "secret seed").
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mini = MiniSecretKey::from_bytes(seed).expect("any 32 bytes are a mini secret key");
        Pair { keypair: mini.expand_to_keypair(ExpansionMode::Ed25519), seed: Some(Zeroizing::new(*seed)) }
    }

    /// The key pair a secret URI describes (phrase or seed, then junctions).
    pub fn from_suri(uri: &SecretUri) -> Result<Self> {
        let root = Pair::from_seed(&*uri.root_seed()?);
        Ok(root.derive(&uri.junctions))
    }

    /// Applies derivation junctions in order. The seed is kept through hard
    /// junctions and forgotten at the first soft one (as `subkey` does).
    pub fn derive(&self, junctions: &[DeriveJunction]) -> Self {
        let mut secret = self.keypair.secret.clone();
        let mut seed = self.seed.clone();
        for j in junctions {
            match j {
                DeriveJunction::Soft(cc) => {
                    // The derived nonce seed is bound to the parent secret; the
                    // zero "RNG" keeps derivation deterministic and free of
                    // ambient randomness (the public key never depends on it).
                    secret = secret.derived_key_simple_rng(ChainCode(*cc), [], ZeroRng).0;
                    seed = None;
                }
                DeriveJunction::Hard(cc) => {
                    let mini = secret.hard_derive_mini_secret_key(Some(ChainCode(*cc)), b"").0;
                    secret = mini.expand(ExpansionMode::Ed25519);
                    seed = seed.map(|_| Zeroizing::new(mini.to_bytes()));
                }
            }
        }
        Pair { keypair: secret.to_keypair(), seed }
    }

    /// The public key.
    pub fn public(&self) -> Public {
        Public(self.keypair.public.to_bytes())
    }

    /// The mini secret this pair was expanded from, if known.
    pub fn seed(&self) -> Option<&[u8; 32]> {
        self.seed.as_deref()
    }

    /// Signs `message` with witness randomness from `rng` mixed into the
    /// deterministic nonce derivation (hedged signing).
    pub fn sign_with_rng<R: rand_core::RngCore + rand_core::CryptoRng>(
        &self,
        message: &[u8],
        rng: &mut R,
    ) -> Signature {
        let transcript = signing_context(SIGNING_CTX).bytes(message);
        let transcript = schnorrkel::context::attach_rng(transcript, rng);
        Signature(self.keypair.sign(transcript).to_bytes())
    }

    /// Signs `message` deterministically: the nonce is derived from the secret
    /// key's nonce seed and the message transcript only. Two calls give the
    /// same bytes, which replicated deterministic state machines need.
    pub fn sign_deterministic(&self, message: &[u8]) -> Signature {
        let transcript = signing_context(SIGNING_CTX).bytes(message);
        let transcript = schnorrkel::context::attach_rng(transcript, ZeroRng);
        Signature(self.keypair.sign(transcript).to_bytes())
    }

    /// Produces a VRF output and proof over `transcript_bytes` under `label`.
    /// Returns `(output, proof)` bytes; verifiable with [`vrf_verify`].
    pub fn vrf_sign<R: rand_core::RngCore + rand_core::CryptoRng>(
        &self,
        label: &'static [u8],
        transcript_bytes: &[u8],
        rng: &mut R,
    ) -> ([u8; 32], [u8; 64]) {
        let transcript = signing_context(label).bytes(transcript_bytes);
        // The proof's witness comes from the "extra" transcript; attaching the
        // RNG there keeps schnorrkel from reaching for system randomness.
        let extra = schnorrkel::context::attach_rng(merlin_transcript(b"VRF"), rng);
        let (inout, proof, _) = self.keypair.vrf_sign_extra(transcript, extra);
        (inout.to_preout().to_bytes(), proof.to_bytes())
    }
}

fn merlin_transcript(label: &'static [u8]) -> merlin::Transcript {
    merlin::Transcript::new(label)
}

/// An "RNG" that yields zeros: used as the extra witness randomness for
/// deterministic signing, where schnorrkel still binds the nonce to the
/// secret nonce seed and the whole transcript.
struct ZeroRng;

impl rand_core::RngCore for ZeroRng {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> core::result::Result<(), rand_core::Error> {
        dest.fill(0);
        Ok(())
    }
}
impl rand_core::CryptoRng for ZeroRng {}

/// Verifies `signature` by `public` over `message` (context `substrate`).
/// Never panics; malformed keys or signatures are simply invalid.
pub fn verify(signature: &Signature, message: &[u8], public: &Public) -> bool {
    let Ok(public) = schnorrkel::PublicKey::from_bytes(&public.0) else {
        return false;
    };
    let Ok(signature) = schnorrkel::Signature::from_bytes(&signature.0) else {
        return false;
    };
    public.verify_simple(SIGNING_CTX, message, &signature).is_ok()
}

/// Verifies a VRF `(output, proof)` made by `public` over `transcript_bytes`
/// under `label`, returning 32 bytes of VRF randomness bound to `context`.
pub fn vrf_verify(
    public: &Public,
    label: &'static [u8],
    transcript_bytes: &[u8],
    output: &[u8; 32],
    proof: &[u8; 64],
    context: &[u8],
) -> Result<[u8; 32]> {
    let public = schnorrkel::PublicKey::from_bytes(&public.0).map_err(|_| Error::InvalidPublicKey)?;
    let preout = schnorrkel::vrf::VRFPreOut::from_bytes(output).map_err(|_| Error::BadSignature)?;
    let proof = schnorrkel::vrf::VRFProof::from_bytes(proof).map_err(|_| Error::BadSignature)?;
    let transcript = signing_context(label).bytes(transcript_bytes);
    let (inout, _) = public.vrf_verify(transcript, &preout, &proof).map_err(|_| Error::BadSignature)?;
    Ok(inout.make_bytes::<[u8; 32]>(context))
}

/// One item of a batch: message, signature and signer.
pub type BatchItem<'a> = (&'a [u8], &'a Signature, &'a Public);

/// Verifies many signatures at once. Returns `true` only if every signature is
/// valid (then each would also pass [`verify`]).
///
/// Deterministic: the delinearisation scalars come from a Fiat–Shamir
/// transcript of all inputs (schnorrkel's `verify_batch_deterministic`), not
/// from a random number generator, so every node reaches the same verdict.
pub fn batch_verify(items: &[BatchItem<'_>]) -> bool {
    let mut signatures = Vec::with_capacity(items.len());
    let mut publics = Vec::with_capacity(items.len());
    for (_, sig, public) in items {
        let Ok(s) = schnorrkel::Signature::from_bytes(&sig.0) else {
            return false;
        };
        let Ok(p) = schnorrkel::PublicKey::from_bytes(&public.0) else {
            return false;
        };
        signatures.push(s);
        publics.push(p);
    }
    let context = signing_context(SIGNING_CTX);
    let transcripts = items.iter().map(|(msg, _, _)| context.bytes(msg));
    schnorrkel::verify_batch_deterministic(transcripts, &signatures, &publics, false).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn deterministic_signing_is_deterministic_and_valid() {
        let pair = Pair::from_seed(&[3u8; 32]);
        let a = pair.sign_deterministic(b"m");
        assert_eq!(a, pair.sign_deterministic(b"m"));
        assert_ne!(a, pair.sign_deterministic(b"n"));
        assert!(verify(&a, b"m", &pair.public()));
    }

    #[test]
    fn batch_rejects_one_bad_signature() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let pairs: Vec<Pair> = (0u8..8).map(|i| Pair::from_seed(&[i; 32])).collect();
        let msgs: Vec<Vec<u8>> = (0u8..8).map(|i| alloc::vec![i; 10]).collect();
        let sigs: Vec<Signature> = pairs.iter().zip(&msgs).map(|(p, m)| p.sign_with_rng(m, &mut rng)).collect();
        let publics: Vec<Public> = pairs.iter().map(Pair::public).collect();
        let items: Vec<BatchItem<'_>> =
            msgs.iter().zip(&sigs).zip(&publics).map(|((m, s), p)| (m.as_slice(), s, p)).collect();
        assert!(batch_verify(&items));
        let mut forged = items.clone();
        forged[5].0 = b"other";
        assert!(!batch_verify(&forged));
        let mut swapped = items.clone();
        swapped[1].2 = &publics[2];
        assert!(!batch_verify(&swapped));
        assert!(batch_verify(&[]));
    }

    #[test]
    fn vrf_round_trip() {
        let pair = Pair::from_seed(&[9u8; 32]);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let (out, proof) = pair.vrf_sign(b"umbra-test", b"slot 1", &mut rng);
        let r = vrf_verify(&pair.public(), b"umbra-test", b"slot 1", &out, &proof, b"ctx").unwrap();
        assert_eq!(r, vrf_verify(&pair.public(), b"umbra-test", b"slot 1", &out, &proof, b"ctx").unwrap());
        assert!(vrf_verify(&pair.public(), b"umbra-test", b"slot 2", &out, &proof, b"ctx").is_err());
    }
}

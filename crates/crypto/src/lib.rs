//! Cryptography for umbra: everything that touches a key lives here.
//!
//! * [`hashing`]: BLAKE2b-256/128, xxHash64/128 (`twox`), Keccak-256 and SHA-256,
//!   bit-compatible with Substrate's `sp-crypto-hashing`.
//! * [`ss58`]: SS58 addresses with 1- and 2-byte network prefixes and the
//!   BLAKE2b-512 checksum.
//! * [`suri`]: Substrate secret URIs (BIP-39 phrase or hex seed, `//hard` and
//!   `/soft` junctions, `///password`), as `subkey` parses them.
//! * [`sr25519`] (schnorrkel, signing context `substrate`) and [`ed25519`]
//!   (ZIP-215 verification as in Substrate, plus canonical-encoding checks):
//!   key pairs, signing, verification and deterministic batch verification.
//! * [`x25519`]: key agreement that rejects all-zero (low-order) shared secrets.
//! * [`aead`]: AES-256-GCM with 96-bit nonces, the one AEAD of envelope v1.
//! * [`labels`] and [`kdf`]: the single table of versioned domain labels (with
//!   `-insecure` twins for the simulated TEE) and HKDF-SHA256 over them.
//! * [`envelope`]: Envelope v1 (`04-keys.md`): ephemeral X25519, HKDF with a
//!   transcript, AES-256-GCM with associated data bound to label and context,
//!   session reuse with a counter nonce, and encrypted replies.
//!
//! # Guarantees
//!
//! * `no_std` + `alloc`; no clock, no ambient randomness: every function that
//!   needs randomness takes an [`rand_core::CryptoRng`] argument.
//! * Secret material (seeds, secret keys, shared secrets, derived keys,
//!   decrypted plaintexts) is zeroized on drop and has no `Debug` or `Display`.
//! * Every decoder of external bytes is bounded and returns a precise
//!   [`Error`]; none panics on any input.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

/// Declares a public-key and a signature newtype over byte arrays, SCALE-encoded
/// as the bare bytes, printed as tagged hex (they hold nothing secret), and
/// described in metadata under Substrate's paths (`sp_core::<scheme>::…`).
macro_rules! public_and_signature {
    ($scheme:literal, $public_doc:literal, $signature_doc:literal) => {
        #[doc = $public_doc]
        #[derive(
            Clone,
            Copy,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            parity_scale_codec::Encode,
            parity_scale_codec::Decode,
            parity_scale_codec::MaxEncodedLen,
        )]
        pub struct Public(pub [u8; 32]);

        impl scale_info::TypeInfo for Public {
            type Identity = Self;
            fn type_info() -> scale_info::Type {
                scale_info::Type::builder()
                    .path(scale_info::Path::new("Public", concat!("sp_core::", $scheme)))
                    .composite(scale_info::build::Fields::unnamed().field(|f| f.ty::<[u8; 32]>().type_name("[u8; 32]")))
            }
        }

        impl core::fmt::Debug for Public {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, concat!($scheme, ":0x{}"), hex::encode(self.0))
            }
        }

        #[doc = $signature_doc]
        #[derive(
            Clone,
            Copy,
            PartialEq,
            Eq,
            parity_scale_codec::Encode,
            parity_scale_codec::Decode,
            parity_scale_codec::MaxEncodedLen,
        )]
        pub struct Signature(pub [u8; 64]);

        impl scale_info::TypeInfo for Signature {
            type Identity = Self;
            fn type_info() -> scale_info::Type {
                scale_info::Type::builder()
                    .path(scale_info::Path::new("Signature", concat!("sp_core::", $scheme)))
                    .composite(scale_info::build::Fields::unnamed().field(|f| f.ty::<[u8; 64]>().type_name("[u8; 64]")))
            }
        }

        impl core::fmt::Debug for Signature {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "0x{}", hex::encode(self.0))
            }
        }
    };
}

pub mod aead;
pub mod ed25519;
pub mod envelope;
mod error;
pub mod hashing;
pub mod hierarchy;
pub mod kdf;
pub mod labels;
pub mod sr25519;
pub mod ss58;
pub mod suri;
pub mod x25519;

pub use error::Error;

/// Result type of this crate.
pub type Result<T> = core::result::Result<T, Error>;

/// The signature schemes accounts and authorities may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Schnorr signatures on Ristretto255 (schnorrkel), Substrate's default account scheme.
    Sr25519,
    /// Ed25519, used for GRANDPA and node keys and accepted for accounts.
    Ed25519,
}

impl Scheme {
    /// The lower-case name `subkey` uses for the scheme.
    pub const fn name(self) -> &'static str {
        match self {
            Scheme::Sr25519 => "sr25519",
            Scheme::Ed25519 => "ed25519",
        }
    }
}

impl core::str::FromStr for Scheme {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sr25519" | "Sr25519" => Ok(Scheme::Sr25519),
            "ed25519" | "Ed25519" => Ok(Scheme::Ed25519),
            _ => Err(Error::UnknownScheme),
        }
    }
}

/// A key pair of either scheme, as produced from a secret URI.
///
/// No `Debug`/`Display`: it holds a secret key.
pub enum Pair {
    /// An sr25519 key pair.
    Sr25519(sr25519::Pair),
    /// An ed25519 key pair.
    Ed25519(ed25519::Pair),
}

impl Pair {
    /// Derives the key pair of `scheme` described by a parsed secret URI.
    pub fn from_suri(scheme: Scheme, suri: &suri::SecretUri) -> Result<Self> {
        Ok(match scheme {
            Scheme::Sr25519 => Pair::Sr25519(sr25519::Pair::from_suri(suri)?),
            Scheme::Ed25519 => Pair::Ed25519(ed25519::Pair::from_suri(suri)?),
        })
    }

    /// The scheme of this pair.
    pub fn scheme(&self) -> Scheme {
        match self {
            Pair::Sr25519(_) => Scheme::Sr25519,
            Pair::Ed25519(_) => Scheme::Ed25519,
        }
    }

    /// The 32-byte public key.
    pub fn public(&self) -> [u8; 32] {
        match self {
            Pair::Sr25519(p) => p.public().0,
            Pair::Ed25519(p) => p.public().0,
        }
    }

    /// The 32-byte seed (mini secret key) this pair was created from, when
    /// known (not after a soft sr25519 derivation, as in `subkey`).
    pub fn seed(&self) -> Option<&[u8; 32]> {
        match self {
            Pair::Sr25519(p) => p.seed(),
            Pair::Ed25519(p) => Some(p.seed()),
        }
    }

    /// Signs `message`. sr25519 signatures are randomised with `rng` (hedged
    /// against fault attacks); ed25519 signatures are deterministic.
    pub fn sign<R: rand_core::RngCore + rand_core::CryptoRng>(&self, message: &[u8], rng: &mut R) -> [u8; 64] {
        match self {
            Pair::Sr25519(p) => p.sign_with_rng(message, rng).0,
            Pair::Ed25519(p) => p.sign(message).0,
        }
    }
}

/// Verifies a 64-byte `signature` of `scheme` by `public` over `message`.
pub fn verify(scheme: Scheme, signature: &[u8; 64], message: &[u8], public: &[u8; 32]) -> bool {
    match scheme {
        Scheme::Sr25519 => sr25519::verify(&sr25519::Signature(*signature), message, &sr25519::Public(*public)),
        Scheme::Ed25519 => ed25519::verify(&ed25519::Signature(*signature), message, &ed25519::Public(*public)),
    }
}

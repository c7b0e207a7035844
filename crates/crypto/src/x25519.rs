//! X25519 key agreement (RFC 7748) that refuses low-order peers.
//!
//! The all-zero shared secret results from a peer key of small order (or on
//! the twist with a small-order component); accepting it would let an attacker
//! force a known key. [`Secret::agree`] returns [`Error::LowOrderPublicKey`]
//! instead, checked in constant time.

use parity_scale_codec::{Decode, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// An X25519 public key (Montgomery u-coordinate).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub struct Public(pub [u8; 32]);

impl core::fmt::Debug for Public {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "x25519:0x{}", hex::encode(self.0))
    }
}

/// An X25519 static secret. No `Debug`/`Display`; zeroized on drop.
pub struct Secret(x25519_dalek::StaticSecret);

/// A 32-byte shared secret. No `Debug`/`Display`; zeroized on drop.
pub struct SharedSecret(pub(crate) Zeroizing<[u8; 32]>);

impl SharedSecret {
    /// The raw shared secret bytes; feed them to a KDF, never use them as a key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Secret {
    /// A secret from 32 bytes (clamped by X25519 itself).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Secret(x25519_dalek::StaticSecret::from(bytes))
    }

    /// A fresh secret from `rng`.
    pub fn random<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(bytes.as_mut_slice());
        Secret::from_bytes(*bytes)
    }

    /// The secret's bytes (to seal them); handle with care.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public key.
    pub fn public(&self) -> Public {
        Public(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// X25519 with `peer`, rejecting an all-zero result.
    pub fn agree(&self, peer: &Public) -> Result<SharedSecret> {
        let shared = self.0.diffie_hellman(&x25519_dalek::PublicKey::from(peer.0));
        if !shared.was_contributory() {
            return Err(Error::LowOrderPublicKey);
        }
        Ok(SharedSecret(Zeroizing::new(shared.to_bytes())))
    }
}

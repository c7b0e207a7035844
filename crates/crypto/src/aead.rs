//! AES-256-GCM with 96-bit nonces and 128-bit tags: the AEAD of envelope v1.
//!
//! The key schedule is expanded once per [`Key`] (hardware AES and carry-less
//! multiplication are used when the CPU has them) and zeroized on drop.

use alloc::vec::Vec;

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Length of the authentication tag appended to every ciphertext.
pub const TAG_LEN: usize = 16;
/// Length of a nonce.
pub const NONCE_LEN: usize = 12;
/// Largest plaintext accepted (far below GCM's 2^36-byte limit; keeps every
/// allocation bounded).
pub const MAX_PLAINTEXT_LEN: usize = 64 << 20;

/// An expanded AES-256-GCM key. No `Debug`; zeroized on drop.
#[derive(Clone)]
pub struct Key(Aes256Gcm);

impl Key {
    /// Expands a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Key(Aes256Gcm::new(key.into()))
    }

    /// Encrypts `plaintext`, authenticating `aad`; returns ciphertext ‖ tag.
    pub fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::PlaintextTooLarge { len: plaintext.len(), max: MAX_PLAINTEXT_LEN });
        }
        self.0
            .encrypt(Nonce::from_slice(nonce), Payload { msg: plaintext, aad })
            .map_err(|_| Error::PlaintextTooLarge { len: plaintext.len(), max: MAX_PLAINTEXT_LEN })
    }

    /// Decrypts and authenticates ciphertext ‖ tag. Any alteration of key,
    /// nonce, `aad` or ciphertext gives [`Error::EnvelopeAuthenticationFailed`].
    pub fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if ciphertext.len() < TAG_LEN {
            return Err(Error::EnvelopeTruncated { len: ciphertext.len(), min: TAG_LEN });
        }
        self.0
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad })
            .map(Zeroizing::new)
            .map_err(|_| Error::EnvelopeAuthenticationFailed)
    }
}

//! The sealed-blob format shared by all backends.
//!
//! ```text
//! sealed = version (1 byte, = 1) ‖ nonce (12 bytes) ‖ AES-256-GCM(ciphertext ‖ tag)
//! key    = HKDF-SHA256(salt = label TeeSealing in the platform's domain,
//!                      ikm = platform sealing secret,
//!                      info = SCALE(measurement) ‖ purpose)
//! aad    = version ‖ purpose
//! ```
//!
//! The key depends on the measurement, so a different binary cannot unseal
//! even with the same platform secret; the purpose is authenticated, so a
//! blob sealed for one purpose does not open for another.

use parity_scale_codec::Encode as _;
use umbra_attestation::Measurement;
use umbra_crypto::{aead, kdf, labels::Domain, labels::Label};
use zeroize::Zeroizing;

use crate::Error;

/// The format version byte.
pub const VERSION: u8 = 1;
/// Largest plaintext sealed in one blob.
pub const MAX_PLAINTEXT_LEN: usize = 16 << 20;
/// Longest purpose name.
pub const MAX_PURPOSE_LEN: usize = 64;
const HEADER_LEN: usize = 1 + aead::NONCE_LEN;

fn key(domain: Domain, secret: &[u8], measurement: &Measurement, purpose: &str) -> Result<aead::Key, Error> {
    if purpose.is_empty() || purpose.len() > MAX_PURPOSE_LEN {
        return Err(Error::SealedMalformed("purpose must be 1..=64 bytes"));
    }
    let bound = measurement.encode();
    let derived = kdf::derive_with_infos(Label::TeeSealing.in_domain(domain), secret, &[&bound, purpose.as_bytes()]);
    Ok(aead::Key::new(&derived))
}

fn aad(purpose: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + purpose.len());
    aad.push(VERSION);
    aad.extend_from_slice(purpose.as_bytes());
    aad
}

/// Seals `plaintext` under `secret` for `measurement` and `purpose`, with a
/// fresh random nonce.
pub fn seal(
    domain: Domain,
    secret: &[u8],
    measurement: &Measurement,
    purpose: &str,
    plaintext: &[u8],
    nonce: [u8; aead::NONCE_LEN],
) -> Result<Vec<u8>, Error> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(Error::TooLarge { len: plaintext.len(), max: MAX_PLAINTEXT_LEN });
    }
    let key = key(domain, secret, measurement, purpose)?;
    let ciphertext = key
        .seal(&nonce, &aad(purpose), plaintext)
        .map_err(|_| Error::TooLarge { len: plaintext.len(), max: MAX_PLAINTEXT_LEN })?;
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens what [`seal`] produced with the same secret, measurement and purpose.
pub fn unseal(
    domain: Domain,
    secret: &[u8],
    measurement: &Measurement,
    purpose: &str,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if sealed.len() < HEADER_LEN + aead::TAG_LEN {
        return Err(Error::SealedMalformed("shorter than header and tag"));
    }
    if sealed.len() > HEADER_LEN + aead::TAG_LEN + MAX_PLAINTEXT_LEN {
        return Err(Error::SealedMalformed("longer than the sealing limit"));
    }
    if sealed[0] != VERSION {
        return Err(Error::SealedMalformed("unknown version"));
    }
    let mut nonce = [0u8; aead::NONCE_LEN];
    nonce.copy_from_slice(&sealed[1..HEADER_LEN]);
    let key = key(domain, secret, measurement, purpose)?;
    key.open(&nonce, &aad(purpose), &sealed[HEADER_LEN..]).map_err(|_| Error::UnsealFailed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn m(byte: u8) -> Measurement {
        Measurement(vec![byte; 32])
    }

    #[test]
    fn round_trip_and_every_binding() {
        let sealed = seal(Domain::Insecure, b"secret", &m(1), "identity", b"hello", [7; 12]).unwrap();
        assert_eq!(unseal(Domain::Insecure, b"secret", &m(1), "identity", &sealed).unwrap().as_slice(), b"hello");
        // Other secret, measurement, purpose or domain: nothing opens.
        for (domain, secret, measurement, purpose) in [
            (Domain::Insecure, &b"secreT"[..], m(1), "identity"),
            (Domain::Insecure, &b"secret"[..], m(2), "identity"),
            (Domain::Insecure, &b"secret"[..], m(1), "checkpoint"),
            (Domain::Production, &b"secret"[..], m(1), "identity"),
        ] {
            assert!(matches!(unseal(domain, secret, &measurement, purpose, &sealed), Err(Error::UnsealFailed)));
        }
        // Every flipped byte is refused.
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(unseal(Domain::Insecure, b"secret", &m(1), "identity", &bad).is_err(), "byte {i}");
        }
        assert!(matches!(
            unseal(Domain::Insecure, b"secret", &m(1), "identity", &sealed[..20]),
            Err(Error::SealedMalformed(_))
        ));
        assert!(seal(Domain::Insecure, b"secret", &m(1), "", b"x", [0; 12]).is_err());
    }
}

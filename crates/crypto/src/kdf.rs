//! HKDF-SHA256 keyed by the label table.
//!
//! `derive(label, ikm, info) = HKDF-SHA256(salt = label bytes, ikm, info)`,
//! 32 bytes. The label (with its domain) is the salt, so the same secret under
//! two labels, or under the production and `-insecure` twin of one label,
//! gives independent keys.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::labels::DomainLabel;

/// Derives 32 bytes from `ikm` for `label`, with `info` binding the purpose
/// (a cluster id, a contract id, a salt...).
pub fn derive(label: DomainLabel, ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    derive_with_infos(label, ikm, &[info])
}

/// As [`derive`], with `info` given as the concatenation of `infos`.
pub fn derive_with_infos(label: DomainLabel, ikm: &[u8], infos: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let hk = Hkdf::<Sha256>::new(Some(label.bytes()), ikm);
    let mut okm = Zeroizing::new([0u8; 32]);
    hk.expand_multi_info(infos, okm.as_mut_slice())
        .expect("32 bytes is far below HKDF-SHA256's 8160-byte output limit");
    okm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{Domain, Label};

    #[test]
    fn insecure_labels_give_different_keys() {
        let master = [42u8; 32];
        for label in Label::ALL {
            let secure = derive(label.in_domain(Domain::Production), &master, b"cluster-1");
            let insecure = derive(label.in_domain(Domain::Insecure), &master, b"cluster-1");
            assert_ne!(*secure, *insecure);
        }
        let a = derive(Label::Cluster.in_domain(Domain::Production), &master, b"1");
        let b = derive(Label::Contract.in_domain(Domain::Production), &master, b"1");
        let c = derive(Label::Cluster.in_domain(Domain::Production), &master, b"2");
        assert!(*a != *b && *a != *c);
        assert_eq!(*a, *derive_with_infos(Label::Cluster.in_domain(Domain::Production), &master, &[b"", b"1"]));
    }

    // RFC 5869 test case 1, to show the construction is plain HKDF-SHA256
    // (salt = label bytes) rather than something home-made.
    #[test]
    fn is_rfc5869_hkdf() {
        let ikm = [0x0bu8; 22];
        let salt: [u8; 13] = core::array::from_fn(|i| i as u8);
        let info: [u8; 10] = core::array::from_fn(|i| 0xf0 + i as u8);
        let hk = Hkdf::<Sha256>::new(Some(&salt), &ikm);
        let mut okm = [0u8; 42];
        hk.expand(&info, &mut okm).unwrap();
        assert_eq!(
            hex::encode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }
}

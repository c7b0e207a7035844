//! The v4 extrinsic envelope: signing, verification, forgeries, replays and
//! malformed input.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::OnceLock;

use parity_scale_codec::Encode;
use proptest::prelude::*;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use umbra_crypto::{suri::SecretUri, Pair, Scheme};
use umbra_primitives::{
    block::{Block, OpaqueExtrinsic},
    decode_bounded,
    extrinsic::{
        signing_payload, AdditionalSigned, EncodedCall, Era, MultiAddress, MultiSignature, SignedExtra,
        UncheckedExtrinsic,
    },
    header::{Digest, DigestItem, Header},
    AccountId32, Error, H256,
};

const MAX: usize = 1 << 20;

/// Dev key pairs, derived once (BIP-39 stretching is slow in debug builds).
fn pair(scheme: Scheme, suri: &str) -> &'static Pair {
    static PAIRS: OnceLock<Vec<(Scheme, &'static str, Pair)>> = OnceLock::new();
    let pairs = PAIRS.get_or_init(|| {
        let mut v = Vec::new();
        for scheme in [Scheme::Sr25519, Scheme::Ed25519] {
            for s in ["//Alice", "//Bob"] {
                v.push((scheme, s, Pair::from_suri(scheme, &SecretUri::parse(s).unwrap()).unwrap()));
            }
        }
        v
    });
    &pairs.iter().find(|(sc, s, _)| *sc == scheme && *s == suri).expect("cached dev key").2
}

fn additional() -> AdditionalSigned {
    AdditionalSigned {
        spec_version: 1,
        transaction_version: 1,
        genesis_hash: H256::repeat_byte(0x11),
        era_block_hash: H256::repeat_byte(0x11),
    }
}

fn transfer_call(len: usize) -> EncodedCall {
    EncodedCall { module: 2, call: 0, args: vec![7u8; len] }
}

fn signed(scheme: Scheme, call: EncodedCall, nonce: u32) -> UncheckedExtrinsic {
    let extra = SignedExtra { era: Era::mortal(64, 100), nonce, tip: 5 };
    let mut rng = ChaCha20Rng::seed_from_u64(nonce as u64);
    UncheckedExtrinsic::new_signed(call, pair(scheme, "//Alice"), extra, &additional(), &mut rng)
}

#[test]
fn signed_round_trip_both_schemes() {
    for scheme in [Scheme::Sr25519, Scheme::Ed25519] {
        for len in [0usize, 10, 300] {
            let xt = signed(scheme, transfer_call(len), 3);
            let bytes = xt.to_bytes();
            assert_eq!(bytes[1 + usize::from(bytes.len() > 64)], 0x84, "signed v4 version byte");
            let decoded = UncheckedExtrinsic::<EncodedCall>::decode_bounded(&bytes, MAX).unwrap();
            assert_eq!(decoded, xt);
            let alice = AccountId32(pair(scheme, "//Alice").public());
            assert_eq!(decoded.verify_signature(&additional()).unwrap(), Some(alice));
            // The opaque form used in blocks encodes to the same bytes.
            assert_eq!(xt.to_opaque().encode(), bytes);
            assert_eq!(OpaqueExtrinsic::from_encoded(&bytes, MAX).unwrap(), xt.to_opaque());
        }
    }
}

#[test]
fn long_payloads_are_hashed_before_signing() {
    let extra = SignedExtra { era: Era::Immortal, nonce: 0, tip: 0 };
    assert_eq!(signing_payload(&transfer_call(10), &extra, &additional()).len(), 2 + 10 + 3 + 72);
    assert_eq!(signing_payload(&transfer_call(300), &extra, &additional()).len(), 32);
}

#[test]
fn forgeries_and_replays_are_rejected() {
    let xt = signed(Scheme::Sr25519, transfer_call(20), 3);
    // Another chain (genesis), runtime version, or era birth block.
    for other in [
        AdditionalSigned { genesis_hash: H256::repeat_byte(0x22), ..additional() },
        AdditionalSigned { spec_version: 2, ..additional() },
        AdditionalSigned { transaction_version: 9, ..additional() },
        AdditionalSigned { era_block_hash: H256::repeat_byte(0x33), ..additional() },
    ] {
        assert_eq!(xt.verify_signature(&other), Err(Error::BadSignature));
    }
    // Changing the nonce (replay at another nonce), tip, era, call or signer.
    let mut t = xt.clone();
    t.signature.as_mut().unwrap().extra.nonce = 4;
    assert_eq!(t.verify_signature(&additional()), Err(Error::BadSignature));
    let mut t = xt.clone();
    t.signature.as_mut().unwrap().extra.tip = 0;
    assert_eq!(t.verify_signature(&additional()), Err(Error::BadSignature));
    let mut t = xt.clone();
    t.signature.as_mut().unwrap().extra.era = Era::Immortal;
    assert_eq!(t.verify_signature(&additional()), Err(Error::BadSignature));
    let mut t = xt.clone();
    t.call.args[0] ^= 1;
    assert_eq!(t.verify_signature(&additional()), Err(Error::BadSignature));
    let mut t = xt.clone();
    t.signature.as_mut().unwrap().signer = MultiAddress::Id(AccountId32(pair(Scheme::Sr25519, "//Bob").public()));
    assert_eq!(t.verify_signature(&additional()), Err(Error::BadSignature));
    // A signature of the other scheme over the same payload.
    let mut t = xt.clone();
    let sig = match &t.signature.as_ref().unwrap().signature {
        MultiSignature::Sr25519(s) => MultiSignature::Ed25519(umbra_crypto::ed25519::Signature(s.0)),
        other => other.clone(),
    };
    t.signature.as_mut().unwrap().signature = sig;
    assert_eq!(t.verify_signature(&additional()), Err(Error::BadSignature));
    // Unsupported signer forms and schemes.
    let mut t = xt.clone();
    t.signature.as_mut().unwrap().signer = MultiAddress::Index(parity_scale_codec::Compact(()));
    assert_eq!(t.verify_signature(&additional()), Err(Error::UnsupportedAddress));
    let mut t = xt.clone();
    t.signature.as_mut().unwrap().signature = MultiSignature::Ecdsa([0; 65]);
    assert_eq!(t.verify_signature(&additional()), Err(Error::UnsupportedSignature));
    // Every single-bit flip of the encoded extrinsic is rejected somewhere.
    let bytes = xt.to_bytes();
    for i in 0..bytes.len() {
        let mut forged = bytes.clone();
        forged[i] ^= 0x01;
        let res = UncheckedExtrinsic::<EncodedCall>::decode_bounded(&forged, MAX)
            .and_then(|x| x.verify_signature(&additional()));
        assert!(res.is_err(), "flip at byte {i} accepted");
    }
}

#[test]
fn malformed_extrinsics_get_precise_errors() {
    let bytes = signed(Scheme::Sr25519, transfer_call(20), 1).to_bytes();
    let dec = |b: &[u8]| UncheckedExtrinsic::<EncodedCall>::decode_bounded(b, MAX);
    assert!(matches!(dec(&bytes[..bytes.len() - 1]), Err(Error::LengthPrefixMismatch { .. })));
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(matches!(dec(&extra), Err(Error::LengthPrefixMismatch { .. })));
    assert!(matches!(UncheckedExtrinsic::<EncodedCall>::decode_bounded(&bytes, 10), Err(Error::TooLarge { .. })));
    // Version 5 and version 3.
    let mut v5 = bytes.clone();
    v5[2] = 0x85;
    assert_eq!(dec(&v5), Err(Error::UnsupportedExtrinsicVersion(5)));
    assert_eq!(
        UncheckedExtrinsic::<EncodedCall>::decode_body(&[0x03, 0, 0]),
        Err(Error::UnsupportedExtrinsicVersion(3))
    );
    // Unknown MultiAddress and MultiSignature variants.
    let body = &bytes[2..];
    let mut bad_addr = body.to_vec();
    bad_addr[1] = 9;
    assert_eq!(UncheckedExtrinsic::<EncodedCall>::decode_body(&bad_addr), Err(Error::InvalidAddress));
    let mut bad_sig = body.to_vec();
    bad_sig[34] = 7;
    assert_eq!(UncheckedExtrinsic::<EncodedCall>::decode_body(&bad_sig), Err(Error::InvalidSignatureEncoding));
    let mut bad_era = body.to_vec();
    bad_era[99] = 0x10;
    assert_eq!(UncheckedExtrinsic::<EncodedCall>::decode_body(&bad_era), Err(Error::InvalidExtra("era")));
    // Signed but the call is missing.
    assert_eq!(UncheckedExtrinsic::<EncodedCall>::decode_body(&body[..103]), Err(Error::InvalidCall));
    // Every truncation fails cleanly.
    for n in 0..bytes.len() {
        assert!(dec(&bytes[..n]).is_err());
    }
    // A typed call that does not consume its bytes leaves trailing bytes.
    assert_eq!(UncheckedExtrinsic::<(u8, u8)>::decode_body(&[0x04, 1, 2, 3]), Err(Error::TrailingBytes(1)));
}

#[test]
fn unsigned_round_trip() {
    let xt = UncheckedExtrinsic::new_unsigned(EncodedCall { module: 1, call: 0, args: vec![1, 2, 3] });
    let bytes = xt.to_bytes();
    assert_eq!(bytes, [0x18, 0x04, 1, 0, 1, 2, 3]);
    let decoded = UncheckedExtrinsic::<EncodedCall>::decode_bounded(&bytes, MAX).unwrap();
    assert_eq!(decoded, xt);
    assert_eq!(decoded.verify_signature(&additional()), Ok(None));
}

#[test]
fn block_round_trip_and_seal_split() {
    let header = Header {
        parent_hash: H256::repeat_byte(1),
        number: 77,
        state_root: H256::repeat_byte(2),
        extrinsics_root: H256::repeat_byte(3),
        digest: Digest {
            logs: vec![
                DigestItem::PreRuntime(*b"aura", 5u64.encode()),
                DigestItem::Consensus(*b"FRNK", vec![1]),
                DigestItem::RuntimeEnvironmentUpdated,
                DigestItem::Other(vec![9]),
                DigestItem::Seal(*b"aura", vec![0xaa; 64]),
            ],
        },
    };
    let block =
        Block { header: header.clone(), extrinsics: vec![signed(Scheme::Sr25519, transfer_call(5), 0).to_opaque()] };
    let decoded: Block = decode_bounded(&block.encode(), MAX).unwrap();
    assert_eq!(decoded, block);
    let (pre, seal) = header.split_seal(b"aura").unwrap();
    assert_eq!(seal, vec![0xaa; 64]);
    assert_eq!(pre.digest.logs.len(), 4);
    assert_ne!(pre.hash(), header.hash());
    assert_eq!(header.pre_runtime(b"aura"), Some(&5u64.encode()[..]));
}

fn arb_era() -> impl Strategy<Value = Era> {
    prop_oneof![Just(Era::Immortal), (2u32..17, any::<u64>()).prop_map(|(exp, cur)| Era::mortal(1 << exp, cur))]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn prop_extrinsic_round_trip(era in arb_era(), nonce: u32, tip: u128, module: u8, call: u8, args in proptest::collection::vec(any::<u8>(), 0..300), ed in any::<bool>()) {
        let scheme = if ed { Scheme::Ed25519 } else { Scheme::Sr25519 };
        let extra = SignedExtra { era, nonce, tip };
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(nonce));
        let xt = UncheckedExtrinsic::new_signed(EncodedCall { module, call, args }, pair(scheme, "//Bob"), extra, &additional(), &mut rng);
        let decoded = UncheckedExtrinsic::<EncodedCall>::decode_bounded(&xt.to_bytes(), MAX).unwrap();
        prop_assert_eq!(&decoded, &xt);
        prop_assert!(decoded.verify_signature(&additional()).is_ok());
    }

    #[test]
    fn prop_header_round_trip(number: u32, seed: [u8; 32], logs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..5)) {
        let header = Header {
            parent_hash: H256(seed),
            number,
            state_root: H256::repeat_byte(seed[0]),
            extrinsics_root: H256::repeat_byte(seed[1]),
            digest: Digest { logs: logs.into_iter().map(DigestItem::Other).collect() },
        };
        prop_assert_eq!(decode_bounded::<Header>(&header.encode(), MAX).unwrap(), header);
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = UncheckedExtrinsic::<EncodedCall>::decode_bounded(&bytes, MAX);
        let _ = UncheckedExtrinsic::<EncodedCall>::decode_body(&bytes);
        let _ = decode_bounded::<Header>(&bytes, MAX);
        let _ = decode_bounded::<Block>(&bytes, MAX);
        let _ = decode_bounded::<umbra_primitives::grandpa::GrandpaJustification>(&bytes, MAX);
        let _ = decode_bounded::<umbra_primitives::grandpa::ConsensusLog>(&bytes, MAX);
    }
}

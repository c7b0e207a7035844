//! Envelope v1: round trips, sessions, replies, and every way opening must fail.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use proptest::prelude::*;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use umbra_crypto::envelope::{reply_binding, ReplyKind};
use umbra_crypto::{
    envelope::{self, Envelope, Purpose, Recipient, SealingSession, DEFAULT_MAX_ENCODED_LEN, MIN_ENCODED_LEN},
    labels::{Domain, Label},
    x25519, Error,
};

const GENESIS: [u8; 32] = [0x11; 32];

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn label() -> umbra_crypto::labels::DomainLabel {
    Label::Envelope.in_domain(Domain::Production)
}

fn ctx(subject: &[u8]) -> Vec<u8> {
    envelope::context(&GENESIS, Purpose::Command, subject)
}

fn recipient(seed: u64) -> Recipient {
    Recipient::new(x25519::Secret::random(&mut rng(seed)))
}

/// Low-order X25519 public keys, taken from the Wycheproof vectors whose
/// expected shared secret is all zero.
fn low_order_points() -> Vec<[u8; 32]> {
    let root = std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    let text = std::fs::read_to_string(root.join("vectors/wycheproof/x25519_test.json")).unwrap();
    let d: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut points = Vec::new();
    for g in d["testGroups"].as_array().unwrap() {
        for t in g["tests"].as_array().unwrap() {
            if t["shared"].as_str().unwrap().chars().all(|c| c == '0') {
                let p: [u8; 32] = hex::decode(t["public"].as_str().unwrap()).unwrap().try_into().unwrap();
                if !points.contains(&p) {
                    points.push(p);
                }
            }
        }
    }
    assert!(points.len() >= 10, "found {} low-order points", points.len());
    points
}

#[test]
fn round_trip_and_reply() {
    let bob = recipient(1);
    let sealed = envelope::seal(&mut rng(2), bob.public(), label(), &ctx(b"contract-A"), b"transfer 10").unwrap();
    let bytes = sealed.envelope.to_bytes();
    assert_eq!(bytes.len(), MIN_ENCODED_LEN + 11);
    let opened = bob.open_bytes(&bytes, DEFAULT_MAX_ENCODED_LEN, label(), &ctx(b"contract-A")).unwrap();
    assert_eq!(opened.plaintext.as_slice(), b"transfer 10");

    let reply_ctx = envelope::context(&GENESIS, Purpose::QueryResponse, b"contract-A");
    let binding = reply_binding(ReplyKind::Query, b"worker", b"nonce and salt");
    let reply = opened.reply.key(&binding).seal(&reply_ctx, b"balance 90").unwrap();
    assert_eq!(sealed.reply.open(&binding, &reply, &reply_ctx).unwrap().as_slice(), b"balance 90");
    // A reply is bound to its call: opened as another call's, it fails.
    let elsewhere = reply_binding(ReplyKind::Query, b"worker", b"other salt");
    assert!(matches!(sealed.reply.open(&elsewhere, &reply, &reply_ctx), Err(Error::EnvelopeAuthenticationFailed)));
    // A reply is bound to its request: another request's opener cannot read it.
    let other = envelope::seal(&mut rng(3), bob.public(), label(), &ctx(b"contract-A"), b"x").unwrap();
    assert!(matches!(other.reply.open(&binding, &reply, &reply_ctx), Err(Error::EnvelopeSessionMismatch)));
    // And the reply cannot be opened as a request to Bob.
    assert!(matches!(bob.open(&reply, label(), &reply_ctx), Err(Error::EnvelopeAuthenticationFailed)));
}

#[test]
fn wrong_recipient_context_label_fail() {
    let bob = recipient(1);
    let eve = recipient(9);
    let env = envelope::seal(&mut rng(2), bob.public(), label(), &ctx(b"A"), b"secret").unwrap().envelope;
    let fail = |r: &Recipient, l, c: &[u8]| r.open(&env, l, c).err();
    assert_eq!(fail(&eve, label(), &ctx(b"A")), Some(Error::EnvelopeAuthenticationFailed));
    assert_eq!(fail(&bob, label(), &ctx(b"B")), Some(Error::EnvelopeAuthenticationFailed));
    let as_query = envelope::context(&GENESIS, Purpose::Query, b"A");
    assert_eq!(fail(&bob, label(), &as_query), Some(Error::EnvelopeAuthenticationFailed));
    assert_eq!(
        fail(&bob, Label::Envelope.in_domain(Domain::Insecure), &ctx(b"A")),
        Some(Error::EnvelopeAuthenticationFailed)
    );
    assert_eq!(
        fail(&bob, Label::Checkpoint.in_domain(Domain::Production), &ctx(b"A")),
        Some(Error::EnvelopeAuthenticationFailed)
    );
    assert!(bob.open(&env, label(), &ctx(b"A")).is_ok());
}

#[test]
fn every_flipped_bit_is_rejected() {
    let bob = recipient(1);
    let bytes =
        envelope::seal(&mut rng(2), bob.public(), label(), &ctx(b"A"), b"0123456789").unwrap().envelope.to_bytes();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut forged = bytes.clone();
            forged[i] ^= 1 << bit;
            let err = bob.open_bytes(&forged, DEFAULT_MAX_ENCODED_LEN, label(), &ctx(b"A")).err();
            let ok = match i {
                0 => matches!(err, Some(Error::EnvelopeUnknownVersion(_))),
                // Ephemeral key, nonce, ciphertext and tag: authentication fails
                // (a flipped ephemeral key could in principle land on a low-order point).
                1..=44 => matches!(err, Some(Error::EnvelopeAuthenticationFailed | Error::EnvelopeLowOrderKey)),
                45 => matches!(err, Some(Error::EnvelopeTruncated { .. } | Error::EnvelopeMalformed(_))),
                _ => matches!(err, Some(Error::EnvelopeAuthenticationFailed)),
            };
            assert!(ok, "byte {i} bit {bit}: {err:?}");
        }
    }
}

#[test]
fn truncated_and_oversized_buffers() {
    let bob = recipient(1);
    let bytes =
        envelope::seal(&mut rng(2), bob.public(), label(), &ctx(b"A"), b"0123456789").unwrap().envelope.to_bytes();
    for len in 0..bytes.len() {
        let err = Envelope::from_bytes(&bytes[..len], DEFAULT_MAX_ENCODED_LEN).unwrap_err();
        assert!(matches!(err, Error::EnvelopeTruncated { .. }), "len {len}: {err:?}");
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(Envelope::from_bytes(&long, DEFAULT_MAX_ENCODED_LEN), Err(Error::EnvelopeMalformed(_))));
    assert!(matches!(Envelope::from_bytes(&bytes, bytes.len() - 1), Err(Error::EnvelopeTooLarge { .. })));
    // A declared ciphertext shorter than the tag.
    let mut short = bytes[..45].to_vec();
    short.push(4 << 2);
    short.extend_from_slice(&[0; 4]);
    short.resize(MIN_ENCODED_LEN.max(short.len()), 0);
    assert!(Envelope::from_bytes(&short, DEFAULT_MAX_ENCODED_LEN).is_err());
}

#[test]
fn unknown_version() {
    let bob = recipient(1);
    let mut env = envelope::seal(&mut rng(2), bob.public(), label(), &ctx(b"A"), b"x").unwrap().envelope;
    for v in [0u8, 2, 0x81, 0xff] {
        env.version = v;
        assert_eq!(Envelope::from_bytes(&env.to_bytes(), 1 << 20), Err(Error::EnvelopeUnknownVersion(v)));
        assert!(matches!(bob.open(&env, label(), &ctx(b"A")), Err(Error::EnvelopeUnknownVersion(x)) if x == v));
    }
}

#[test]
fn low_order_ephemeral_keys_are_rejected() {
    let bob = recipient(1);
    let genuine = envelope::seal(&mut rng(2), bob.public(), label(), &ctx(b"A"), b"x").unwrap().envelope;
    for point in low_order_points() {
        let mut env = genuine.clone();
        env.ephemeral = x25519::Public(point);
        assert!(matches!(bob.open(&env, label(), &ctx(b"A")), Err(Error::EnvelopeLowOrderKey)));
        // Sealing to a low-order recipient key is refused too.
        let to_bad = envelope::seal(&mut rng(3), &x25519::Public(point), label(), &ctx(b"A"), b"x");
        assert!(matches!(to_bad, Err(Error::LowOrderPublicKey)));
    }
}

#[test]
fn session_reuse_with_counter_nonce() {
    let bob = recipient(1);
    let mut session = SealingSession::new(&mut rng(5), bob.public(), label()).unwrap();
    let envs: Vec<Envelope> = (0u8..5).map(|i| session.seal(&ctx(b"A"), &[i; 3]).unwrap().envelope).collect();
    // One ephemeral key, distinct counter nonces.
    for (i, e) in envs.iter().enumerate() {
        assert_eq!(&e.ephemeral, session.ephemeral());
        assert_eq!(e.nonce[4..], (i as u64).to_be_bytes());
    }
    let cached = bob.session(&envs[0], label()).unwrap();
    for (i, e) in envs.iter().enumerate() {
        assert_eq!(cached.open(e, &ctx(b"A")).unwrap().as_slice(), &[i as u8; 3]);
        assert_eq!(bob.open(e, label(), &ctx(b"A")).unwrap().plaintext.as_slice(), &[i as u8; 3]);
    }
    // The cached session refuses envelopes of another ephemeral key.
    let foreign = envelope::seal(&mut rng(6), bob.public(), label(), &ctx(b"A"), b"x").unwrap().envelope;
    assert!(matches!(cached.open(&foreign, &ctx(b"A")), Err(Error::EnvelopeSessionMismatch)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn prop_round_trip(seed: u64, plaintext in proptest::collection::vec(any::<u8>(), 0..512), subject in proptest::collection::vec(any::<u8>(), 0..40)) {
        let bob = recipient(seed);
        let context = ctx(&subject);
        let env = envelope::seal(&mut rng(seed ^ 1), bob.public(), label(), &context, &plaintext).unwrap().envelope;
        let decoded = Envelope::from_bytes(&env.to_bytes(), DEFAULT_MAX_ENCODED_LEN).unwrap();
        prop_assert_eq!(&decoded, &env);
        let opened = bob.open(&decoded, label(), &context).unwrap();
        prop_assert_eq!(opened.plaintext.as_slice(), plaintext.as_slice());
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let bob = recipient(1);
        let _ = bob.open_bytes(&bytes, DEFAULT_MAX_ENCODED_LEN, label(), b"");
    }

    #[test]
    fn prop_arbitrary_bytes_with_valid_header_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
        let bob = recipient(1);
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&tail);
        let _ = bob.open_bytes(&bytes, DEFAULT_MAX_ENCODED_LEN, label(), b"");
    }
}

proptest! {
    /// No (key, nonce) pair is ever used for two different replies: replies
    /// to one envelope about two different calls (another call id, another
    /// kind, another responder or salt) are sealed under different keys —
    /// the same plaintext gives different ciphertexts at the same counter
    /// nonce, and each opens only under its own binding — while the same
    /// call gives the same bytes (replicas agree).
    #[test]
    fn reply_keys_are_bound_to_their_call(
        seed in any::<u64>(),
        (kind_a, kind_b) in (0u8..2, 0u8..2),
        (responder_a, responder_b) in (proptest::collection::vec(any::<u8>(), 0..40), proptest::collection::vec(any::<u8>(), 0..40)),
        (call_a, call_b) in (proptest::collection::vec(any::<u8>(), 0..40), proptest::collection::vec(any::<u8>(), 0..40)),
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let kind = |k: u8| if k == 0 { ReplyKind::Command } else { ReplyKind::Query };
        let a = reply_binding(kind(kind_a), &responder_a, &call_a);
        let b = reply_binding(kind(kind_b), &responder_b, &call_b);
        let bob = recipient(seed);
        let sealed = envelope::seal(&mut rng(seed ^ 1), bob.public(), label(), &ctx(b"c"), b"request").unwrap();
        let opened = bob.open(&sealed.envelope, label(), &ctx(b"c")).unwrap();
        let reply_ctx = envelope::context(&GENESIS, Purpose::CommandOutput, b"c");
        let reply_a = opened.reply.key(&a).seal(&reply_ctx, &plaintext).unwrap();
        let again_a = opened.reply.key(&a).seal(&reply_ctx, &plaintext).unwrap();
        let reply_b = opened.reply.key(&b).seal(&reply_ctx, &plaintext).unwrap();
        prop_assert_eq!(&reply_a, &again_a);
        prop_assert_eq!(reply_a.nonce, reply_b.nonce);
        let opened_a = sealed.reply.open(&a, &reply_a, &reply_ctx).unwrap();
        prop_assert_eq!(opened_a.as_slice(), plaintext.as_slice());
        if a != b {
            prop_assert_ne!(&reply_a.ciphertext, &reply_b.ciphertext);
            prop_assert!(sealed.reply.open(&b, &reply_a, &reply_ctx).is_err());
        }
    }
}

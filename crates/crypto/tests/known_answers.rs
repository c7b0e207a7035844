//! Known answers from `../shared/testdata` (never re-derived from our code):
//! Substrate dev keys, sr25519 signatures, SS58 vectors, the GRANDPA
//! precommit signature, and Wycheproof ed25519 / X25519 / AES-GCM.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use serde_json::Value;
use umbra_crypto::{
    aead, ed25519, sr25519, ss58,
    suri::{SecretUri, DEV_PHRASE},
    x25519, Error, Pair, Scheme,
};

fn testdata(rel: &str) -> PathBuf {
    let root = std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    root.join(rel)
}

fn json(rel: &str) -> Value {
    let path = testdata(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn vectors() -> Value {
    json("vectors/known-answer-vectors.json")
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

fn h32(v: &Value) -> [u8; 32] {
    h(v).try_into().unwrap()
}

fn h64(v: &Value) -> [u8; 64] {
    h(v).try_into().unwrap()
}

fn public_of(scheme: Scheme, suri: &str) -> [u8; 32] {
    Pair::from_suri(scheme, &SecretUri::parse(suri).unwrap()).unwrap().public()
}

#[test]
fn dev_phrase_root_and_mini_secret() {
    let v = vectors();
    let dk = &v["dev_keys"];
    assert_eq!(dk["dev_phrase"].as_str().unwrap(), DEV_PHRASE);
    let uri = SecretUri::parse(DEV_PHRASE).unwrap();
    assert_eq!(*uri.root_seed().unwrap(), h32(&dk["mini_secret_from_phrase_no_password"]));
    assert_eq!(public_of(Scheme::Sr25519, DEV_PHRASE), h32(&dk["sr25519_root_public"]));
    // An empty phrase means the dev phrase, as in subkey.
    assert_eq!(public_of(Scheme::Sr25519, ""), h32(&dk["sr25519_root_public"]));
    let root_ss58 = ss58::encode_account(42, &public_of(Scheme::Sr25519, DEV_PHRASE)).unwrap();
    assert_eq!(root_ss58, dk["sr25519_root_ss58_42"].as_str().unwrap());
}

#[test]
fn dev_keys_sr25519_and_ed25519() {
    let v = vectors();
    let dk = &v["dev_keys"];
    let mut checked = 0;
    for (scheme, table) in
        [(Scheme::Sr25519, "sr25519_hard"), (Scheme::Sr25519, "sr25519_soft"), (Scheme::Ed25519, "ed25519_hard")]
    {
        for (suri, public) in dk[table].as_object().unwrap() {
            assert_eq!(public_of(scheme, suri), h32(public), "{scheme:?} {suri}");
            // The same key through the full phrase.
            assert_eq!(public_of(scheme, &format!("{DEV_PHRASE}{suri}")), h32(public));
            checked += 1;
        }
    }
    assert_eq!(checked, 14, "all six dev accounts in both schemes plus two soft paths");
}

#[test]
fn alice_ss58_on_several_networks() {
    let v = vectors();
    let alice = public_of(Scheme::Sr25519, "//Alice");
    for (prefix, address) in v["dev_keys"]["alice_sr25519_ss58"].as_object().unwrap() {
        let prefix: u16 = prefix.split_whitespace().next().unwrap().parse().unwrap();
        assert_eq!(ss58::encode_account(prefix, &alice).unwrap(), address.as_str().unwrap());
        assert_eq!(ss58::decode_account(address.as_str().unwrap()).unwrap(), (prefix, alice));
    }
}

#[test]
fn sr25519_seed_expansion() {
    let v = vectors();
    let table = v["sr25519"]["seed_to_public (MiniSecretKey, ExpansionMode::Ed25519)"].as_object().unwrap();
    assert_eq!(table.len(), 3);
    for (seed, public) in table {
        let seed_hex = seed.split_whitespace().next().unwrap();
        let seed: [u8; 32] = hex::decode(seed_hex).unwrap().try_into().unwrap();
        assert_eq!(sr25519::Pair::from_seed(&seed).public().0, h32(public));
    }
}

#[test]
fn sr25519_signature_vectors() {
    let v = vectors();
    assert_eq!(v["sr25519"]["signing_context"].as_str().unwrap().as_bytes(), sr25519::SIGNING_CTX);
    let good = &v["sr25519"]["valid_signature"];
    let public = sr25519::Public(h32(&good["public"]));
    let sig = sr25519::Signature(h64(&good["signature"]));
    let msg = good["message_utf8"].as_str().unwrap().as_bytes().to_vec();
    assert!(sr25519::verify(&sig, &msg, &public));
    assert!(sr25519::batch_verify(&[(msg.as_slice(), &sig, &public)]));
    for i in 0..msg.len() {
        let mut forged = msg.clone();
        forged[i] ^= 0x01;
        assert!(!sr25519::verify(&sig, &forged, &public), "flipped message byte {i}");
    }
    let legacy = &v["sr25519"]["legacy_unmarked_signature_must_be_rejected"];
    let public = sr25519::Public(h32(&legacy["public"]));
    let sig = sr25519::Signature(h64(&legacy["signature"]));
    let msg = legacy["message_utf8"].as_str().unwrap().as_bytes();
    assert!(!sr25519::verify(&sig, msg, &public));
    assert!(!sr25519::batch_verify(&[(msg, &sig, &public)]));
}

#[test]
fn ss58_vectors() {
    let v = vectors();
    let s = &v["ss58"];
    for case in s["encode"].as_array().unwrap() {
        let payload = h(&case[0]);
        let prefix = case[1].as_u64().unwrap() as u16;
        let address = case[2].as_str().unwrap();
        assert_eq!(ss58::encode(prefix, &payload).unwrap(), address, "encode {prefix}");
        assert_eq!(ss58::decode(address).unwrap(), (prefix, payload), "decode {address}");
    }
    for case in s["must_fail"].as_array().unwrap() {
        let address = case[0].as_str().unwrap();
        let reason = case[1].as_str().unwrap();
        let err = ss58::decode(address).unwrap_err();
        let expected = match reason {
            r if r.contains("checksum") => matches!(err, Error::Ss58BadChecksum),
            r if r.contains("length") => matches!(err, Error::Ss58InvalidLength(_)),
            r if r.contains("base58") => matches!(err, Error::Ss58InvalidBase58),
            other => panic!("unknown must_fail reason {other}"),
        };
        assert!(expected, "{address}: {reason} gave {err:?}");
    }
    for prefix in s["reserved_prefixes_must_not_encode"].as_array().unwrap() {
        let prefix = prefix.as_u64().unwrap() as u16;
        assert_eq!(ss58::encode(prefix, &[0u8; 32]), Err(Error::Ss58ReservedPrefix(prefix)));
    }
}

#[test]
fn grandpa_precommit_signature() {
    let v = vectors();
    let g = &v["grandpa_signed_message_example"];
    let message = h(&g["message"]);
    let authority = ed25519::Public(h32(&g["authority"]));
    let signature = ed25519::Signature(h64(&g["signature"]));
    assert!(ed25519::verify(&signature, &message, &authority));
    let mut forged = message.clone();
    *forged.last_mut().unwrap() ^= 1; // another set id
    assert!(!ed25519::verify(&signature, &forged, &authority));
}

#[test]
fn wycheproof_ed25519() {
    let d = json("vectors/wycheproof/ed25519_test.json");
    let (mut valid, mut invalid) = (0, 0);
    for group in d["testGroups"].as_array().unwrap() {
        let pk = h(&group["publicKey"]["pk"]);
        for t in group["tests"].as_array().unwrap() {
            let msg = h(&t["msg"]);
            let sig = h(&t["sig"]);
            let accepted = match (ed25519::public_from_bytes(&pk), <[u8; 64]>::try_from(sig.as_slice())) {
                (Ok(public), Ok(sig)) => {
                    let sig = ed25519::Signature(sig);
                    let single = ed25519::verify(&sig, &msg, &public);
                    assert_eq!(single, ed25519::batch_verify(&[(msg.as_slice(), &sig, &public)]));
                    single
                }
                _ => false,
            };
            match t["result"].as_str().unwrap() {
                "valid" => {
                    assert!(accepted, "tc {} must verify", t["tcId"]);
                    valid += 1;
                }
                "invalid" => {
                    assert!(!accepted, "tc {} must be rejected ({})", t["tcId"], t["comment"]);
                    invalid += 1;
                }
                other => panic!("unexpected result {other}"),
            }
        }
    }
    assert_eq!((valid, invalid), (88, 63));
}

#[test]
fn wycheproof_x25519() {
    let d = json("vectors/wycheproof/x25519_test.json");
    let (mut agreed, mut refused) = (0, 0);
    for group in d["testGroups"].as_array().unwrap() {
        for t in group["tests"].as_array().unwrap() {
            let secret = x25519::Secret::from_bytes(h32(&t["private"]));
            let public = x25519::Public(h32(&t["public"]));
            let shared = h32(&t["shared"]);
            match secret.agree(&public) {
                Ok(s) => {
                    assert_eq!(*s.as_bytes(), shared, "tc {}", t["tcId"]);
                    agreed += 1;
                }
                Err(Error::LowOrderPublicKey) => {
                    // Only an all-zero shared secret may be refused, and it must be.
                    assert_eq!(shared, [0u8; 32], "tc {} refused a non-zero secret", t["tcId"]);
                    refused += 1;
                }
                Err(e) => panic!("tc {}: {e}", t["tcId"]),
            }
        }
    }
    assert_eq!(agreed + refused, 518);
    assert!(refused >= 31, "every ZeroSharedSecret case is refused");
}

#[test]
fn wycheproof_aes_gcm_256() {
    let d = json("vectors/wycheproof/aes_gcm_test.json");
    let mut run = 0;
    for group in d["testGroups"].as_array().unwrap() {
        // Our AEAD API takes exactly 256-bit keys, 96-bit nonces and 128-bit
        // tags (the types forbid anything else); other groups test sizes we
        // cannot express.
        if group["keySize"] != 256 || group["ivSize"] != 96 || group["tagSize"] != 128 {
            continue;
        }
        for t in group["tests"].as_array().unwrap() {
            let key = aead::Key::new(&h32(&t["key"]));
            let nonce: [u8; 12] = h(&t["iv"]).try_into().unwrap();
            let aad = h(&t["aad"]);
            let msg = h(&t["msg"]);
            let mut ct = h(&t["ct"]);
            ct.extend(h(&t["tag"]));
            let opened = key.open(&nonce, &aad, &ct);
            match t["result"].as_str().unwrap() {
                "valid" => {
                    assert_eq!(opened.unwrap().as_slice(), msg.as_slice(), "tc {}", t["tcId"]);
                    assert_eq!(key.seal(&nonce, &aad, &msg).unwrap(), ct, "tc {}", t["tcId"]);
                }
                "invalid" => {
                    assert!(matches!(opened, Err(Error::EnvelopeAuthenticationFailed)), "tc {} must fail", t["tcId"])
                }
                other => panic!("unexpected result {other}"),
            }
            run += 1;
        }
    }
    assert!(run > 50, "ran {run} AES-256-GCM cases");
}

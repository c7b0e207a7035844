//! Known answers from `../shared/testdata`: SCALE compact cases, a real
//! Polkadot GRANDPA precommit, and a real Substrate genesis header hash.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use parity_scale_codec::{Compact, Decode, Encode, OptionBool};
use serde_json::Value;
use umbra_crypto::ed25519;
use umbra_primitives::{
    block::extrinsics_root,
    grandpa::{precommit_payload, Message},
    header::{Digest, Header},
    H256,
};
use umbra_trie::{state_root, StateVersion, EMPTY_ROOT};

fn testdata(rel: &str) -> PathBuf {
    std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"))
        .join(rel)
}

fn vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(testdata("vectors/known-answer-vectors.json")).unwrap()).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.trim_start_matches("0x")).unwrap()
}

#[test]
fn scale_compact_cases() {
    let v = vectors();
    let cases = v["scale_compact_u64"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 14);
    for case in cases {
        let n = case[0].as_u64().unwrap();
        let expected = unhex(case[1].as_str().unwrap());
        assert_eq!(Compact(n).encode(), expected, "{n}");
        assert_eq!(Compact::<u64>::decode(&mut &expected[..]).unwrap().0, n);
    }
    let other = &v["scale_compact_u64"]["other"];
    assert_eq!(hex::encode(b"Hello world".to_vec().encode()), other["b\"Hello world\" as Vec<u8>"].as_str().unwrap());
    let opts = vec![OptionBool(Some(true)), OptionBool(Some(false)), OptionBool(None)];
    let key = "Vec<OptionBool>[Some(true),Some(false),None] (parity-scale-codec special OptionBool)";
    assert_eq!(hex::encode(opts.encode()), other[key].as_str().unwrap());
}

#[test]
fn polkadot_precommit_message_and_signature() {
    let v = vectors();
    let g = &v["grandpa_signed_message_example"];
    let bytes = unhex(g["message"].as_str().unwrap());
    let (message, round, set_id) = <(Message, u64, u64)>::decode(&mut &bytes[..]).unwrap();
    assert_eq!(round, g["round"].as_u64().unwrap());
    assert_eq!(set_id, g["set_id"].as_u64().unwrap());
    let Message::Precommit(precommit) = message else { panic!("not a precommit") };
    // Our payload builder reproduces the signed bytes exactly.
    assert_eq!(precommit_payload(round, set_id, &precommit), bytes);
    let authority = ed25519::Public(unhex(g["authority"].as_str().unwrap()).try_into().unwrap());
    let signature = ed25519::Signature(unhex(g["signature"].as_str().unwrap()).try_into().unwrap());
    assert!(ed25519::verify(&signature, &bytes, &authority));
    // The same precommit in another round or set is not what was signed.
    assert!(!ed25519::verify(&signature, &precommit_payload(round + 1, set_id, &precommit), &authority));
    assert!(!ed25519::verify(&signature, &precommit_payload(round, set_id + 1, &precommit), &authority));
}

#[test]
fn node_template_genesis_hash() {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(testdata("trie/substrate-node-template-chainspec.json")).unwrap(),
    )
    .unwrap();
    let top: Vec<(Vec<u8>, Vec<u8>)> = spec["genesis"]["raw"]["top"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (unhex(k), unhex(v.as_str().unwrap())))
        .collect();
    let header = Header {
        parent_hash: H256::zero(),
        number: 0,
        state_root: state_root(StateVersion::V0, top),
        extrinsics_root: extrinsics_root(&[], StateVersion::V0),
        digest: Digest::default(),
    };
    assert_eq!(header.extrinsics_root, EMPTY_ROOT);
    assert_eq!(
        header.hash(),
        H256::from_slice(&unhex("6bf30d04495c16ef053de4ac74eac35dfd6473e4907810f450bea1b976ac518f"))
    );
    let decoded = Header::decode(&mut &header.encode()[..]).unwrap();
    assert_eq!(decoded, header);
}

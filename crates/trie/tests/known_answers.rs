//! Known answers from `../shared/testdata`: a real Substrate genesis state
//! root (LayoutV0), a Polkadot storage proof, a real LayoutV1 proof with
//! hashed values, and storage-key prefixes.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::{collections::BTreeMap, path::PathBuf};

use serde_json::Value;
use umbra_trie::{
    state_root,
    storage_key::{map_key, storage_prefix, StorageHasher},
    Error, ProofLimits, StateVersion, StorageProof, EMPTY_ROOT, H256,
};

fn testdata(rel: &str) -> PathBuf {
    std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"))
        .join(rel)
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.trim_start_matches("0x")).unwrap()
}

fn h256(s: &str) -> H256 {
    H256::from_slice(&unhex(s))
}

fn node_template_genesis() -> BTreeMap<Vec<u8>, Vec<u8>> {
    let text = std::fs::read_to_string(testdata("trie/substrate-node-template-chainspec.json")).unwrap();
    let spec: Value = serde_json::from_str(&text).unwrap();
    assert!(spec["genesis"]["raw"]["childrenDefault"].as_object().unwrap().is_empty());
    spec["genesis"]["raw"]["top"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (unhex(k), unhex(v.as_str().unwrap())))
        .collect()
}

#[test]
fn node_template_genesis_root_v0() {
    let top = node_template_genesis();
    assert_eq!(top.len(), 35);
    let v0 = state_root(StateVersion::V0, &top);
    assert_eq!(v0, h256("28a2db05aaa4e84e88c6be28ca49d45b0433f8abee421b092dfa0f4dd85787a6"));
    // The same entries under LayoutV1 hash long values separately: another root.
    assert_ne!(state_root(StateVersion::V1, &top), v0);
    // Building the trie node by node gives the same root as streaming.
    let trie = umbra_trie::MemoryTrie::new(StateVersion::V0, &top).unwrap();
    assert_eq!(trie.root(), v0);
    // And a proof of `:code` from it verifies against the known root.
    let proof = trie.read_proof([b":code"]).unwrap();
    assert_eq!(proof.read(&v0, b":code").unwrap().as_deref(), top.get(&b":code"[..]).map(Vec::as_slice));
}

#[test]
fn polkadot_genesis_storage_proof() {
    let bytes = std::fs::read(testdata("trie/polkadot-genesis-storage-proof.bin")).unwrap();
    let proof = StorageProof::decode_bounded(&bytes, ProofLimits::default()).unwrap();
    let root = h256("29d0d972cd27cbc511e9589fcb7a4506d5eb6a9e8df205f00472e5ab354a4e17");
    let key = unhex(
        "9c5d795d0297be56027a4b2464e3339763e6d3c1fb15805edfd024172ea4817d7081542596adb05d6140c170ac479edf7cfd5aa35357590acfe5d11a804d944e",
    );
    let value = proof.read(&root, &key).unwrap();
    assert_eq!(value, Some(unhex("0d1456fdda7b8ec7f9e5c794cd83194f0593e4ea")));

    // The same proof against another root proves nothing.
    let mut wrong = root;
    wrong.0[0] ^= 1;
    assert_eq!(proof.read(&wrong, &key), Err(Error::RootNotInProof(wrong)));
    // Keys elsewhere are either provably absent (the path ends at a branch
    // without that child) or not covered (incomplete), never given a value.
    let (mut absent, mut incomplete) = (0, 0);
    for nibble in 0..16u8 {
        let mut other = key.clone();
        other[0] = (nibble << 4) | (other[0] & 0x0f);
        match proof.read(&root, &other) {
            Ok(None) => absent += 1,
            Err(Error::IncompleteProof(_)) => incomplete += 1,
            Ok(Some(_)) => assert_eq!(other, key),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(incomplete > 0, "absent {absent}, incomplete {incomplete}");
    // Each node matters: drop any one and the read fails instead of lying.
    let nodes: Vec<Vec<u8>> = proof.nodes().map(<[u8]>::to_vec).collect();
    for skip in 0..nodes.len() {
        let partial = StorageProof::new(nodes.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, n)| n.clone()));
        assert!(partial.read(&root, &key).is_err(), "proof without node {skip} still read");
    }
    // Corrupt any byte of any node: the value is never returned.
    for (n, node) in nodes.iter().enumerate() {
        for i in (0..node.len()).step_by(7) {
            let mut forged = nodes.clone();
            forged[n][i] ^= 0x55;
            let res = StorageProof::new(forged).read(&root, &key);
            assert!(res.is_err(), "node {n} byte {i}: {res:?}");
        }
    }
    // Re-encoding is canonical and decodes to the same set.
    assert_eq!(StorageProof::decode_bounded(&proof.to_bytes(), ProofLimits::default()).unwrap(), proof);
}

#[test]
fn smoldot_issue_2035_layout_v1_proof() {
    let bytes = std::fs::read(testdata("trie/smoldot-issue-2035-proof-v1.bin")).unwrap();
    let proof = StorageProof::decode_bounded(&bytes, ProofLimits::default()).unwrap();
    assert_eq!(proof.len(), 70);
    let root = h256("f72fa98efbf23c21d162a6690a2412d0b2e3d2e769cab46a7eb6004138ebeda7");
    let reader = proof.check(&root).unwrap();
    // Key and expected next key from smoldot's own regression test for this
    // proof (lib/src/trie/proof_decode/tests.rs, `issue_2035`).
    let prefix = unhex("63f78c98723ddc9073523ef3beefda0ca95dac46c07a40d91506e7637ec4ba57");
    let mut expected = prefix.clone();
    expected.extend(unhex("071ceff5b0f64d362e080000"));
    assert_eq!(reader.next_key(&prefix).unwrap(), Some(expected.clone()));
    // The proven key holds a value (a hashed V1 value node in this proof).
    assert!(reader.read(&expected).unwrap().is_some_and(|v| !v.is_empty()));
}

#[test]
fn bounded_decoding() {
    let bytes = std::fs::read(testdata("trie/smoldot-issue-2035-proof-v1.bin")).unwrap();
    let tight = ProofLimits { max_nodes: 69, max_bytes: 1 << 20 };
    assert!(matches!(StorageProof::decode_bounded(&bytes, tight), Err(Error::ProofTooLarge { nodes: 70, .. })));
    let small = ProofLimits { max_nodes: 100, max_bytes: 1000 };
    assert!(matches!(StorageProof::decode_bounded(&bytes, small), Err(Error::ProofTooLarge { .. })));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(StorageProof::decode_bounded(&trailing, ProofLimits::default()), Err(Error::ProofTrailingBytes));
    assert_eq!(
        StorageProof::decode_bounded(&bytes[..bytes.len() - 1], ProofLimits::default()),
        Err(Error::ProofEncoding)
    );
    // A length prefix claiming a billion nodes is refused before any allocation.
    assert!(matches!(
        StorageProof::decode_bounded(&[0x03, 0, 0, 0, 0x40], ProofLimits::default()),
        Err(Error::ProofTooLarge { .. })
    ));
}

#[test]
fn storage_key_vectors() {
    let text = std::fs::read_to_string(testdata("vectors/known-answer-vectors.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let keys = &v["storage_keys"];
    let mut n = 0;
    for (name, expected) in keys["twox128(pallet)++twox128(item)"].as_object().unwrap() {
        let (module, item) = name.split_once('.').unwrap();
        assert_eq!(hex::encode(storage_prefix(module, item)), expected.as_str().unwrap(), "{name}");
        n += 1;
    }
    assert_eq!(n, 9);
    let alice = unhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
    assert_eq!(
        hex::encode(map_key("System", "Account", StorageHasher::Blake2_128Concat, &alice)),
        keys["System.Account(Alice) [Blake2_128Concat]"].as_str().unwrap()
    );
    assert_eq!(hex::encode(EMPTY_ROOT), keys["empty_trie_root (blake2-256 of 0x00)"].as_str().unwrap());
}

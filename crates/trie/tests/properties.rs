//! Property tests: streaming roots agree with built tries, proofs agree with
//! the map they prove, and arbitrary bytes never panic the proof decoder.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;

use parity_scale_codec::{Compact, Encode};
use proptest::prelude::*;
use umbra_trie::{ordered_root, state_root, MemoryTrie, ProofLimits, StateVersion, StorageProof};

fn version() -> impl Strategy<Value = StateVersion> {
    prop_oneof![Just(StateVersion::V0), Just(StateVersion::V1)]
}

fn entries() -> impl Strategy<Value = BTreeMap<Vec<u8>, Vec<u8>>> {
    // Short keys make shared prefixes (branches) likely; values straddle the
    // 33-byte threshold where V1 starts hashing them.
    proptest::collection::btree_map(
        proptest::collection::vec(0u8..4, 0..6),
        proptest::collection::vec(any::<u8>(), 0..70),
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn streaming_root_equals_built_trie(v in version(), map in entries()) {
        let trie = MemoryTrie::new(v, &map).unwrap();
        prop_assert_eq!(trie.root(), state_root(v, &map));
        for (k, val) in &map {
            prop_assert_eq!(trie.get(k).unwrap(), Some(val.clone()));
        }
    }

    #[test]
    fn proofs_prove_exactly_the_map(v in version(), map in entries(), probes in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..6), 1..8)) {
        let trie = MemoryTrie::new(v, &map).unwrap();
        let proof = trie.read_proof(&probes).unwrap();
        let decoded = StorageProof::decode_bounded(&proof.to_bytes(), ProofLimits::default()).unwrap();
        let reader = decoded.check(&trie.root()).unwrap();
        for key in &probes {
            prop_assert_eq!(reader.read(key).unwrap(), map.get(key).cloned());
        }
    }

    #[test]
    fn ordered_root_is_compact_indexed(v in version(), values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 0..20)) {
        let indexed: BTreeMap<Vec<u8>, Vec<u8>> =
            values.iter().enumerate().map(|(i, x)| (Compact(i as u32).encode(), x.clone())).collect();
        prop_assert_eq!(ordered_root(v, &values), state_root(v, &indexed));
    }

    #[test]
    fn arbitrary_proof_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), key in proptest::collection::vec(any::<u8>(), 0..8), root: [u8; 32]) {
        if let Ok(proof) = StorageProof::decode_bounded(&bytes, ProofLimits::default()) {
            let _ = proof.read(&root.into(), &key);
        }
    }

    #[test]
    fn arbitrary_nodes_under_their_own_hash_never_panic(nodes in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 1..6), key in proptest::collection::vec(any::<u8>(), 0..8)) {
        // Make the first node the "root" so the decoder really walks garbage.
        let root = MemoryTrie::node_hash(&nodes[0]);
        let proof = StorageProof::new(nodes);
        if let Ok(reader) = proof.check(&root) {
            let _ = reader.read(&key);
            let _ = reader.next_key(&key);
        }
    }
}

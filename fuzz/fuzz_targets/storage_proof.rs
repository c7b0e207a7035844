//! Storage proofs from untrusted peers: decoding and reading never panic, and
//! a proof never yields a value for a root it does not contain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use umbra_trie::{MemoryTrie, ProofLimits, StorageProof};

fuzz_target!(|data: &[u8]| {
    let (key, proof_bytes) = data.split_at(data.len().min(8));
    if let Ok(proof) = StorageProof::decode_bounded(proof_bytes, ProofLimits::default()) {
        for node in proof.nodes() {
            let root = MemoryTrie::node_hash(node);
            if let Ok(reader) = proof.check(&root) {
                let _ = reader.read(key);
                let _ = reader.next_key(key);
            }
        }
    }
});

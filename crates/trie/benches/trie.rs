//! Criterion benchmarks of the trie (issue targets in comments).
//!
//! Run: `cargo bench -p umbra-trie --bench trie`
#![allow(missing_docs, clippy::unwrap_used)] // criterion_group! generates undocumented functions; benches may panic

use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::{
    rand_core::{RngCore, SeedableRng},
    ChaCha20Rng,
};
use umbra_trie::{state_root, MemoryTrie, ProofLimits, StateVersion, StorageProof};

fn random_entries(n: usize, seed: u64) -> Vec<([u8; 32], [u8; 32])> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let (mut k, mut v) = ([0u8; 32], [0u8; 32]);
            rng.fill_bytes(&mut k);
            rng.fill_bytes(&mut v);
            (k, v)
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let entries = random_entries(100_000, 1);
    let mut g = c.benchmark_group("trie");
    g.sample_size(10);
    // Target: <= 1 s.
    g.bench_function("state_root_100k_random_32B", |b| {
        b.iter(|| state_root(StateVersion::V1, entries.iter().copied()))
    });
    g.bench_function("build_memory_trie_100k_random_32B", |b| {
        b.iter(|| MemoryTrie::new(StateVersion::V1, entries.iter().copied()).unwrap())
    });
    g.finish();

    let trie = MemoryTrie::new(StateVersion::V1, entries.iter().copied()).unwrap();
    let root = trie.root();
    let key = entries[4242].0;
    let proof = trie.read_proof([key]).unwrap();
    let encoded = proof.to_bytes();
    let mut g = c.benchmark_group("proof");
    g.bench_function("generate_1_key_of_100k", |b| b.iter(|| trie.read_proof([key]).unwrap()));
    g.bench_function("verify_1_key_of_100k", |b| {
        b.iter(|| {
            let proof = StorageProof::decode_bounded(&encoded, ProofLimits::default()).unwrap();
            assert_eq!(proof.read(&root, &key).unwrap(), Some(entries[4242].1.to_vec()));
        })
    });
    let keys: Vec<[u8; 32]> = entries.iter().step_by(1000).map(|(k, _)| *k).collect();
    let multi = trie.read_proof(&keys).unwrap();
    g.bench_function("generate_100_keys_of_100k", |b| b.iter(|| trie.read_proof(&keys).unwrap()));
    g.bench_function("verify_100_keys_of_100k", |b| {
        b.iter(|| {
            let reader = multi.check(&root).unwrap();
            for k in &keys {
                assert!(reader.read(k).unwrap().is_some());
            }
        })
    });
    g.finish();
}

criterion_group!(trie_benches, benches);
criterion_main!(trie_benches);

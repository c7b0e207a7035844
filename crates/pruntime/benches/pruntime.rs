//! pRuntime core catch-up: 2,000 empty blocks of a real (in-memory) chain,
//! verified headers (one justification) and every block's storage changes
//! applied with state-root checks. No network: the end-to-end number
//! through the relayer is in docs/BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use umbra_crypto::{sr25519, x25519};
use umbra_light_client::testing::Voters;
use umbra_primitives::{
    header::Header,
    sync::{GenesisAnchor, StorageChanges},
    BlockNumber,
};
use umbra_pruntime::core::{Config, Core, Identity};
use umbra_runtime::{
    modules::grandpa,
    testing::{dev_ed25519, TestChain},
    STATE_VERSION,
};

const BLOCKS: usize = 2_000;

fn catch_up(c: &mut Criterion) {
    let mut chain = TestChain::dev(1000);
    let genesis_pairs: Vec<(Vec<u8>, Vec<u8>)> = chain.state.clone().into_iter().collect();
    let trie = umbra_trie::MemoryTrie::new(STATE_VERSION, genesis_pairs.iter().cloned()).unwrap();
    let proof = trie.read_proof([grandpa::keys::authorities(), grandpa::keys::current_set_id()]).unwrap();
    let anchor = GenesisAnchor { header: chain.head.clone(), proof: proof.nodes().map(<[u8]>::to_vec).collect() };
    let mut headers: Vec<Header> = Vec::with_capacity(BLOCKS);
    let mut blocks: Vec<(BlockNumber, StorageChanges)> = Vec::with_capacity(BLOCKS);
    for _ in 0..BLOCKS {
        let (built, _) = chain.build(vec![]);
        chain.import(&built.header, &built.extrinsics).unwrap();
        blocks.push((built.header.number, built.changes.into_iter().collect()));
        headers.push(built.header);
    }
    let voters = Voters { pairs: vec![dev_ed25519("Alice")], set_id: 0 };
    let justification = voters.justify(headers.last().unwrap());

    let mut group = c.benchmark_group("pruntime_catch_up");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BLOCKS as u64));
    group.bench_function("2000_empty_blocks", |b| {
        b.iter(|| {
            let identity =
                Identity { signing: sr25519::Pair::from_seed(&[1; 32]), ecdh: x25519::Secret::from_bytes([2; 32]) };
            let mut core = Core::new(Config::default(), identity);
            core.init(&anchor).unwrap();
            core.sync_headers(&headers, &justification, BLOCKS as u32).unwrap();
            core.load_state(0, genesis_pairs.clone()).unwrap();
            core.dispatch_blocks(&blocks).unwrap();
            core.replica().root()
        })
    });
    group.finish();
}

criterion_group!(benches, catch_up);
criterion_main!(benches);

//! Warp sync over the network: a node serves a chain of 100,000 empty
//! blocks (authored here in advance, in past slots, by Alice, finalized at
//! the head); a fresh `--sync warp` node that knows it as a bootnode gets
//! the warp proof, the head's body and its state, checks them, and stores
//! the head. Measured: start of the fresh node to its finalized head being
//! the server's. Target (issue 14): 100,000 blocks in ≤ 10 s.
//!
//! Run: `cargo bench -p umbra-node --bench warp` (authoring the chain takes
//! about a minute first).
#![allow(missing_docs, clippy::unwrap_used, clippy::disallowed_methods)] // criterion_group! generates undocumented functions; benches may panic and read the clock

mod common;

use std::time::{Duration, Instant};

use common::{address_of, author_chain, node_config, spec};
use criterion::{criterion_group, criterion_main, Criterion};
use umbra_node::network::SyncMode;

const BLOCKS: u32 = 100_000;

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let spec = spec();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    author_chain(&spec, dir.path(), BLOCKS, false);
    eprintln!("authored {BLOCKS} blocks in {:?}", started.elapsed());
    let server = rt.block_on(umbra_node::start(node_config(spec.clone(), dir.path(), vec![], SyncMode::Full))).unwrap();
    let address = address_of(&server);
    let mut group = c.benchmark_group("warp");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("100k_blocks", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let config = node_config(spec.clone(), dir.path(), vec![address.clone()], SyncMode::Warp);
                let node = rt.block_on(umbra_node::start(config)).unwrap();
                let started = Instant::now();
                rt.block_on(async {
                    while node.chain.finalized().unwrap().number < BLOCKS {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                });
                total += started.elapsed();
                rt.block_on(node.stop());
            }
            total
        })
    });
    group.finish();
    rt.block_on(server.stop());
}

criterion_group!(warp, benches);
criterion_main!(warp);

//! Full sync over the network: a node with a chain of blocks (authored
//! here in advance, in past slots, by Alice) serves it; a fresh node that
//! knows it as a bootnode downloads, verifies (seal, execution, state root)
//! and imports every block through libp2p on loopback. Two chains: empty
//! blocks, and blocks of 200 transfers each.
//!
//! Run: `cargo bench -p umbra-node --bench sync`
#![allow(missing_docs, clippy::unwrap_used, clippy::disallowed_methods)] // criterion_group! generates undocumented functions; benches may panic and read the clock

mod common;

use std::time::{Duration, Instant};

use common::{address_of, author_chain, node_config, spec, PER_BLOCK};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use umbra_node::{chain_spec::ChainSpec, network::SyncMode};

const EMPTY_BLOCKS: u32 = 5_000;
const TRANSFER_BLOCKS: u32 = 100;

/// Syncs a fresh node from `server` until it has `blocks` blocks.
async fn sync_once(spec: &ChainSpec, server: &umbra_network::Multiaddr, blocks: u32) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let node =
        umbra_node::start(node_config(spec.clone(), dir.path(), vec![server.clone()], SyncMode::Full)).await.unwrap();
    let started = Instant::now();
    loop {
        if node.chain.best().unwrap().number >= blocks {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    node.stop().await;
    elapsed
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let spec = spec();
    let mut group = c.benchmark_group("sync");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    for (name, blocks, transfers) in [("empty_blocks", EMPTY_BLOCKS, false), ("transfers", TRANSFER_BLOCKS, true)] {
        let dir = tempfile::tempdir().unwrap();
        author_chain(&spec, dir.path(), blocks, transfers);
        let server =
            rt.block_on(umbra_node::start(node_config(spec.clone(), dir.path(), vec![], SyncMode::Full))).unwrap();
        let address = address_of(&server);
        let elements = if transfers { u64::from(blocks) * PER_BLOCK as u64 } else { u64::from(blocks) };
        group.throughput(Throughput::Elements(elements));
        let spec = spec.clone();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += rt.block_on(sync_once(&spec, &address, blocks));
                }
                total
            })
        });
        rt.block_on(server.stop());
    }
    group.finish();
}

criterion_group!(sync, benches);
criterion_main!(sync);

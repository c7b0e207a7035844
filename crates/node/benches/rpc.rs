//! RPC submission throughput: pre-signed transfers sent to a running node
//! (in-process service, real jsonrpsee server, WebSocket client) with 64
//! requests in flight; every one is decoded, signature-checked and
//! validated by the runtime and enters the pool.
//!
//! Run: `cargo bench -p umbra-node --bench rpc`
#![allow(missing_docs, clippy::unwrap_used, clippy::disallowed_methods)] // criterion_group! generates undocumented functions; benches may panic and read the clock

use std::{net::SocketAddr, time::Duration};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::StreamExt;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use umbra_client::Client;
use umbra_crypto::sr25519;
use umbra_node::chain_spec::{self, Genesis};
use umbra_primitives::{
    block::OpaqueExtrinsic,
    extrinsic::{AdditionalSigned, Era, MultiAddress, SignedExtra, UncheckedExtrinsic},
    AccountId32,
};
use umbra_runtime::{modules::balances, RuntimeCall};

const ACCOUNTS: usize = 20_000;
const BATCH: usize = 256;
const IN_FLIGHT: usize = 64;

fn account(i: usize) -> sr25519::Pair {
    sr25519::Pair::from_seed(&umbra_crypto::hashing::blake2_256(&(i as u64).to_le_bytes()))
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = chain_spec::dev();
    if let Genesis::Runtime(g) = &mut spec.genesis {
        for i in 0..ACCOUNTS {
            g.balances.push((AccountId32(account(i).public().0).to_ss58(42), (100 * balances::UMB).to_string()));
        }
    }
    let config = umbra_node::NodeConfig {
        spec,
        base_path: dir.path().to_path_buf(),
        name: "bench".into(),
        authority: None,
        rpc: Some({
            let mut c = umbra_rpc::Config::new(SocketAddr::from(([127, 0, 0, 1], 0)));
            c.max_connections = 8;
            c
        }),
        prometheus: None,
        db: umbra_storage::Config::default(),
        pool: umbra_txpool::Limits { max_count: ACCOUNTS * 64, max_bytes: 1 << 30, ..Default::default() },
        grandpa: umbra_consensus::grandpa::Config::default(),
        node_key_file: None,
        network: None,
        rpc_unsafe: false,
    };
    let node = rt.block_on(umbra_node::start(config)).unwrap();
    let url = format!("ws://{}", node.rpc_addr.unwrap());
    let client = rt.block_on(Client::connect(&url)).unwrap();
    let additional = AdditionalSigned {
        spec_version: umbra_runtime::SPEC_VERSION,
        transaction_version: umbra_runtime::TRANSACTION_VERSION,
        genesis_hash: client.genesis_hash(),
        era_block_hash: client.genesis_hash(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let mut next = 0usize;
    let mut sign_batch = |rng: &mut ChaCha20Rng| -> Vec<OpaqueExtrinsic> {
        (0..BATCH)
            .map(|_| {
                let i = next % ACCOUNTS;
                let nonce = (next / ACCOUNTS) as u32;
                next += 1;
                let call = RuntimeCall::Balances(balances::Call::transfer_keep_alive {
                    dest: MultiAddress::Id(AccountId32(account((i + 1) % ACCOUNTS).public().0)),
                    value: balances::UMB,
                });
                let pair = umbra_crypto::Pair::Sr25519(account(i));
                UncheckedExtrinsic::new_signed(
                    call,
                    &pair,
                    SignedExtra { era: Era::Immortal, nonce, tip: 0 },
                    &additional,
                    rng,
                )
                .to_opaque()
            })
            .collect()
    };
    let mut g = c.benchmark_group("rpc");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("author_submitExtrinsic_256_transfers_64_in_flight", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batch = sign_batch(&mut rng);
                let start = std::time::Instant::now();
                rt.block_on(async {
                    let results: Vec<_> = futures::stream::iter(batch.iter().map(|xt| client.submit(xt)))
                        .buffer_unordered(IN_FLIGHT)
                        .collect()
                        .await;
                    for r in results {
                        r.unwrap();
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
    drop(client);
    rt.block_on(node.stop());
}

criterion_group!(rpc_benches, benches);
criterion_main!(rpc_benches);

//! Block import of blocks full of signed transfers, through the node's real
//! path: seal check, runtime execution with batch signature verification,
//! trie delta and state root on redb, one durable commit.
//!
//! Run: `cargo bench -p umbra-consensus --bench import`
//! Target (issue #3): >= 10,000 transfers/s verified and executed on one core.
#![allow(missing_docs, clippy::unwrap_used, clippy::disallowed_methods)] // criterion_group! generates undocumented functions; benches may panic and read the clock

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use parity_scale_codec::Encode;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use umbra_consensus::{Chain, Origin};
use umbra_crypto::sr25519;
use umbra_primitives::{
    block::OpaqueExtrinsic,
    extrinsic::{Era, MultiAddress, SignedExtra, UncheckedExtrinsic},
    header::{DigestItem, Header, AURA_ENGINE_ID},
    AccountId32,
};
use umbra_runtime::{
    executive,
    modules::balances::{self, UMB},
    testing::{dev_genesis, dev_sr25519, TestChain},
    RuntimeCall,
};
use umbra_storage::{Config, Database};

const SENDERS: usize = 1000;

fn sender(i: usize) -> sr25519::Pair {
    sr25519::Pair::from_seed(&umbra_crypto::hashing::blake2_256(&(i as u64).to_le_bytes()))
}

struct Fixture {
    genesis_header: Header,
    genesis_state: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    header: Header,
    body: Vec<OpaqueExtrinsic>,
    transfers: usize,
}

/// A genesis with `SENDERS` funded accounts and a sealed block with as many
/// transfers as the block weight limit allows (`per_sender` each).
fn fixture(per_sender: u32) -> Fixture {
    let mut config = dev_genesis(1000);
    for i in 0..SENDERS {
        config.balances.push((AccountId32(sender(i).public().0), 1_000 * UMB));
    }
    let mut chain = TestChain::from_genesis(&config);
    let (genesis_header, genesis_state) = (chain.head.clone(), chain.state.clone());
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let additional = chain.additional(Era::Immortal);
    let mut txs = Vec::new();
    for nonce in 0..per_sender {
        for i in 0..SENDERS {
            let pair = umbra_crypto::Pair::Sr25519(sender(i));
            let to = AccountId32(sender((i + 1) % SENDERS).public().0);
            let call =
                RuntimeCall::Balances(balances::Call::transfer_keep_alive { dest: MultiAddress::Id(to), value: UMB });
            let xt = UncheckedExtrinsic::new_signed(
                call,
                &pair,
                SignedExtra { era: Era::Immortal, nonce, tip: 0 },
                &additional,
                &mut rng,
            );
            txs.push(xt.to_opaque());
        }
    }
    let (built, results) = chain.build(txs);
    let transfers = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    let mut header = built.header;
    let seal = dev_sr25519("Alice").sign_deterministic(header.hash().as_bytes());
    header.digest.logs.push(DigestItem::Seal(AURA_ENGINE_ID, seal.0.to_vec()));
    Fixture { genesis_header, genesis_state, header, body: built.extrinsics, transfers }
}

/// A new database holding only the fixture's genesis.
fn fresh_chain(f: &Fixture, dir: &tempfile::TempDir) -> Chain {
    let db = Database::open(&dir.path().join("db"), Config::default()).unwrap();
    Chain::new(db, &f.genesis_header, &f.genesis_state).unwrap()
}

fn benches(c: &mut Criterion) {
    let f = fixture(20);
    eprintln!("block: {} transfers, {} bytes", f.transfers, f.body.encode().len());
    let mut g = c.benchmark_group("import");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(f.transfers as u64));
    g.bench_function("full_block_of_transfers", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let chain = fresh_chain(&f, &dir);
                (dir, chain)
            },
            |(dir, chain)| {
                chain
                    .import(f.header.clone(), f.body.clone(), None, Origin::External { now_slot: u64::MAX / 2 })
                    .unwrap();
                drop(chain);
                drop(dir);
            },
            BatchSize::PerIteration,
        )
    });
    // The parts: runtime execution (with batch signature verification) and
    // the state root of the block's changes on the database.
    let dir = tempfile::tempdir().unwrap();
    let chain = fresh_chain(&f, &dir);
    let genesis = chain.genesis();
    let parent = chain.expect_header(&genesis.hash).unwrap();
    let (pre, _) = f.header.split_seal(&AURA_ENGINE_ID).unwrap();
    g.bench_function("execute_block_only", |b| {
        b.iter(|| {
            let state = chain.db().state_at(parent.state_root).unwrap();
            executive::execute_block(&state, &pre, &f.body).unwrap()
        })
    });
    let state = chain.db().state_at(parent.state_root).unwrap();
    let changes = executive::execute_block(&state, &pre, &f.body).unwrap();
    eprintln!("storage changes per block: {}", changes.len());
    g.bench_function("state_root_of_block_changes", |b| {
        b.iter(|| chain.db().compute_state(parent.state_root, &changes).unwrap())
    });
    g.finish();

    // One plain measurement, printed for the record.
    let dir = tempfile::tempdir().unwrap();
    let chain = fresh_chain(&f, &dir);
    let start = Instant::now();
    chain.import(f.header.clone(), f.body.clone(), None, Origin::External { now_slot: u64::MAX / 2 }).unwrap();
    let took = start.elapsed();
    let per_second = (f.transfers as u128) * 1_000_000 / took.as_micros().max(1);
    eprintln!("one import: {} transfers in {took:?} = {per_second} transfers/s", f.transfers);
}

criterion_group!(import_benches, benches);
criterion_main!(import_benches);

//! pRuntime core catch-up: 2,000 empty blocks of a real (in-memory) chain,
//! verified headers (one justification) and every block's storage changes
//! applied with state-root checks. No network: the end-to-end number
//! through the relayer is in docs/BENCHMARKS.md.
//!
//! And the worker's side of one encrypted query (`run_query`: open the
//! envelope, check the certificate, run the contract read-only, seal the
//! answer) on one core.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use umbra_crypto::{sr25519, x25519};
use umbra_light_client::testing::Voters;
use umbra_primitives::{
    header::Header,
    sync::{GenesisAnchor, StorageChanges},
    BlockNumber,
};
use umbra_pruntime_core::core::{Config, Core, Identity};
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
            let mut core = Core::new(Config::default(), identity, None);
            core.init(&anchor).unwrap();
            core.sync_headers(&headers, &justification).unwrap();
            core.load_state(0, genesis_pairs.clone()).unwrap();
            core.dispatch_blocks(&blocks, [0; 32]).0.unwrap();
            core.replica().root()
        })
    });
    group.finish();
}

fn query(c: &mut Criterion) {
    use std::sync::Arc;

    use parity_scale_codec::Encode;
    use umbra_crypto::{
        envelope::{self, Purpose, SealingSession},
        hierarchy::ClusterKey,
        labels::{Domain, Label},
    };
    use umbra_primitives::{AccountId32, H256};
    use umbra_protocol::wire;

    // A counter: `call` returns the stored u64.
    let code = wat::parse_str(
        r#"(module
  (import "umbra" "return_value" (func $ret (param i32 i32)))
  (import "umbra" "storage_get" (func $get (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "count")
  (func (export "deploy"))
  (func (export "call")
    (drop (call $get (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8)))
    (call $ret (i32.const 16) (i32.const 8))))"#,
    )
    .unwrap();
    let vm = Arc::new(umbra_vm::Vm::new().unwrap());
    let code_hash = H256(vm.prepare(&code).unwrap());
    let domain = Domain::Insecure;
    let contract = H256([7; 32]);
    let snapshot = umbra_pruntime_core::contracts::Snapshot {
        vm,
        contract,
        code_hash,
        storage: Arc::new([(b"count".to_vec(), 42u64.to_le_bytes().to_vec())].into_iter().collect()),
        block_number: 100,
        synced_block: 100,
        state_root: H256([1; 32]),
        contract_key: ClusterKey::from_bytes([3; 32]).contract_key(domain, &contract.0),
        domain,
        nest: None,
    };
    let worker = x25519::Secret::from_bytes([5; 32]);
    let genesis = H256([9; 32]);
    let caller = sr25519::Pair::from_seed(&[8; 32]);
    let mut rng = rand_core::OsRng;
    let mut session = SealingSession::new(&mut rng, &worker.public(), Label::Envelope.in_domain(domain)).unwrap();
    let message = wire::Certificate::message(&genesis, &session.ephemeral().0, 1_000);
    let certificate = wire::Certificate {
        account: AccountId32(caller.public().0),
        expires_at: 1_000,
        signature: caller.sign_deterministic(&message).0,
    };
    let sealed = session
        .seal(
            &envelope::context(&genesis.0, Purpose::Query, &contract.0),
            &wire::QueryPayload { input: vec![], certificate: Some(certificate), nonce: [6; 16], expires_at: 500 }
                .encode(),
        )
        .unwrap();
    let request = sealed.envelope.to_bytes();
    let mut group = c.benchmark_group("pruntime_query");
    group.throughput(Throughput::Elements(1));
    // The same sealed query each iteration, so the replay guard is left out
    // here (it admits everything).
    let responder = [2u8; 32];
    group.bench_function("signed_query", |b| {
        b.iter(|| {
            umbra_pruntime_core::contracts::run_query(
                &snapshot,
                &worker,
                &responder,
                &genesis,
                &request,
                [4; 32],
                1_000,
                |_, _| Ok(()),
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, catch_up, query);
criterion_main!(benches);

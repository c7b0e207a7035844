//! Criterion benchmarks of runtime dispatch where the weight must be
//! checked against measured time (docs/BENCHMARKS.md).
//!
//! Run: `cargo bench -p umbra-runtime --bench runtime`
#![allow(missing_docs, clippy::unwrap_used, clippy::disallowed_methods)] // criterion macros; benches may panic

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use umbra_attestation::{DcapCollateral, Evidence, PlatformKind};
use umbra_crypto::sr25519;
use umbra_primitives::extrinsic::Era;
use umbra_runtime::{
    executive::BlockBuilder,
    modules::{
        registry::{self, Call, WorkerFeatures, WorkerRegistrationInfo, WorkerRole},
        sudo,
    },
    testing::TestChain,
    RuntimeCall,
};

fn testdata(rel: &str) -> Vec<u8> {
    let root = std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    std::fs::read(root.join(rel)).unwrap()
}

/// `register_worker` with Intel's real SGX quote and collateral, applied in
/// a block: signature check, decoding, full DCAP verification. The sample's
/// report data is not a registration binding, so the call ends with
/// `ReportDataMismatch` after all the verification work: the costliest
/// path a registration can take.
fn register_worker_dcap(c: &mut Criterion) {
    const SLOT_MS: u64 = 1000;
    let mut chain = TestChain::dev(SLOT_MS);
    let july_2025_ms = umbra_attestation::time::parse_rfc3339("2025-07-01T00:00:00Z").unwrap() * 1000;
    chain.slot = july_2025_ms / SLOT_MS;
    chain.produce(vec![]);
    let quote = testdata("sgx/dcap-qvl/sgx_quote");
    let collateral = DcapCollateral::from_json(&testdata("sgx/dcap-qvl/sgx_quote_collateral.json")).unwrap();
    let policy = umbra_attestation::Policy::new(&PlatformKind::ALL, &[], 0);
    let evidence = Evidence::Dcap(quote);
    let verified = umbra_attestation::verify(&evidence, Some(&collateral), july_2025_ms / 1000, &policy).unwrap();
    let add = RuntimeCall::Registry(Box::new(Call::add_measurement { measurement: verified.measurement }));
    let sudo_call = RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(add) });
    let xt = chain.sign("Alice", sudo_call, 0, 0, Era::Immortal);
    chain.produce(vec![xt]);

    let info = WorkerRegistrationInfo {
        version: registry::INFO_VERSION,
        identity: sr25519::Pair::from_seed(&[1; 32]).public(),
        ecdh_public: [2; 32],
        genesis_hash: chain.genesis_hash,
        operator: None,
        role: WorkerRole::Worker,
        features: WorkerFeatures::default(),
        platform: PlatformKind::SgxDcap,
        attested_at_ms: july_2025_ms,
    };
    let call = RuntimeCall::Registry(Box::new(Call::register_worker { info, evidence, collateral: Some(collateral) }));
    let weight = call.info().weight;
    let xt = chain.sign("Bob", call, 0, 0, Era::Immortal);
    let number = chain.head.number + 1;
    let slot = chain.slot + 1;
    let digest = chain.pre_digest(number, slot);
    let parent = chain.head_hash();
    let state = chain.state.clone();
    eprintln!("register_worker (DCAP) weight: {} µs of reference time", weight.ref_time / 1_000_000);

    let mut g = c.benchmark_group("registry");
    g.bench_function("register_worker_dcap_applied_in_block", |b| {
        b.iter_batched(
            || BlockBuilder::new(&state, parent, number, digest.clone(), slot * SLOT_MS).unwrap(),
            |mut builder| {
                let result = builder.push(xt.clone()).unwrap();
                assert!(result.is_err(), "the sample quote does not bind a registration");
                builder
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// A worker's heartbeat through `MessageQueue.sync_offchain_message`,
/// applied in a block: transaction signature, registry lookup, the
/// message's sr25519 signature, sequence, the Registry handler.
fn sync_offchain_message(c: &mut Criterion) {
    use umbra_attestation::{
        sim::{dev_sim_service_pair, SimEvidence, SimQuote},
        Measurement, TcbStatus,
    };
    use umbra_runtime::modules::message_queue::{self, Message, MessageOrigin, SignedMessage};
    use umbra_runtime::modules::registry::{Heartbeat, HEARTBEAT_TOPIC};
    const SLOT_MS: u64 = 1000;
    let mut chain = TestChain::dev(SLOT_MS);
    chain.produce(vec![]);
    let add = RuntimeCall::Registry(Box::new(Call::add_measurement { measurement: Measurement(vec![9; 32]) }));
    let xt = chain.sign("Alice", RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(add) }), 0, 0, Era::Immortal);
    chain.produce(vec![xt]);
    let worker = sr25519::Pair::from_seed(&[4; 32]);
    let now = (chain.slot + 1) * SLOT_MS;
    let info = WorkerRegistrationInfo {
        version: registry::INFO_VERSION,
        identity: worker.public(),
        ecdh_public: [3; 32],
        genesis_hash: chain.genesis_hash,
        operator: None,
        role: WorkerRole::Worker,
        features: WorkerFeatures::default(),
        platform: PlatformKind::Sim,
        attested_at_ms: now,
    };
    let mut report_data = [0u8; 64];
    report_data[..32].copy_from_slice(&info.binding());
    let quote = SimQuote {
        measurement: [9; 32],
        report_data,
        issued_at_ms: now,
        tcb_status: TcbStatus::UpToDate,
        advisories: vec![],
    };
    let evidence = Evidence::Sim(SimEvidence::sign(quote, &dev_sim_service_pair()));
    let call = RuntimeCall::Registry(Box::new(Call::register_worker { info, evidence, collateral: None }));
    let xt = chain.sign("Bob", call, 0, 0, Era::Immortal);
    chain.produce(vec![xt]);

    let message = Message {
        sender: MessageOrigin::Worker(worker.public()),
        destination: HEARTBEAT_TOPIC.to_vec(),
        payload: parity_scale_codec::Encode::encode(&Heartbeat { synced_block: chain.head.number }),
    };
    let signature = worker.sign_deterministic(&message_queue::signing_payload(&chain.genesis_hash, &message, 0)).0;
    let call = RuntimeCall::MessageQueue(message_queue::Call::sync_offchain_message {
        signed: SignedMessage { message, sequence: 0, signature },
    });
    let weight = call.info().weight;
    let xt = chain.sign("Ferdie", call, 0, 0, Era::Immortal);
    let number = chain.head.number + 1;
    let slot = chain.slot + 1;
    let digest = chain.pre_digest(number, slot);
    let parent = chain.head_hash();
    let state = chain.state.clone();
    eprintln!("sync_offchain_message weight: {} µs of reference time", weight.ref_time / 1_000_000);
    let mut g = c.benchmark_group("message_queue");
    g.bench_function("heartbeat_applied_in_block", |b| {
        b.iter_batched(
            || BlockBuilder::new(&state, parent, number, digest.clone(), slot * SLOT_MS).unwrap(),
            |mut builder| {
                let result = builder.push(xt.clone()).unwrap();
                assert!(result.is_ok(), "{result:?}");
                builder
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, register_worker_dcap, sync_offchain_message);
criterion_main!(benches);

//! Sealed identity and checkpoints, rollback defence, registration and the
//! heartbeat egress round trip through a real (in-memory) chain.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::Fixture;
use umbra_attestation::{sim::dev_sim_service_pair, Measurement, PlatformKind, TcbStatus};
use umbra_primitives::extrinsic::Era;
use umbra_pruntime::{
    checkpoint,
    core::{Config, Core},
};
use umbra_runtime::{
    modules::{message_queue, registry, sudo},
    testing::dev_account,
    RuntimeCall,
};
use umbra_tee::{sim::SimConfig, sim::SimPlatform, Platform};

fn platform(dir: &std::path::Path) -> SimPlatform {
    let config = SimConfig {
        measurement: [0x11; 32],
        service_key: dev_sim_service_pair(),
        sealing_key_path: dir.join("sealing.key"),
        tcb_status: TcbStatus::UpToDate,
        advisories: vec![],
    };
    // The fixture chain's block times start at 1_000_001 s.
    SimPlatform::open(config, Arc::new(|| 1_000_010_000)).unwrap()
}

fn config() -> Config {
    Config { heartbeat_interval: 5, ..Config::default() }
}

/// Feeds blocks `from..=to` of `f` (headers then changes), reporting `head`.
fn feed(core: &mut Core, f: &Fixture, from: u32, to: u32, head: u32) {
    let headers = f.headers(from, to);
    core.sync_headers(&headers, &f.justify(headers.last().unwrap()), head).unwrap();
    core.dispatch_blocks(&f.changes(from, to)).unwrap();
}

fn sign(f: &mut Fixture, who: &str, call: RuntimeCall) -> umbra_primitives::block::OpaqueExtrinsic {
    let nonce = f.chain.account(&dev_account(who)).nonce;
    f.chain.sign(who, call, nonce, 0, Era::Immortal)
}

#[test]
fn identity_survives_restarts_and_checkpoints_resist_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let tee = platform(dir.path());
    let (identity, fresh) = checkpoint::load_or_create_identity(&tee, dir.path()).unwrap();
    assert!(fresh);
    let public = identity.public();
    let (again, fresh) = checkpoint::load_or_create_identity(&tee, dir.path()).unwrap();
    assert!(!fresh);
    assert_eq!(again.public(), public, "same identity after a restart");

    let mut f = Fixture::new();
    f.produce_empty(30);
    let mut core = Core::new(config(), identity);
    core.init(&f.anchor).unwrap();
    core.sync_headers(&f.headers(1, 10), &f.justify(&f.blocks[9].0), 10).unwrap();
    core.load_state(0, f.genesis_pairs.clone()).unwrap();
    core.dispatch_blocks(&f.changes(1, 10)).unwrap();
    assert_eq!(checkpoint::save(&tee, dir.path(), &core).unwrap(), Some(10));
    feed(&mut core, &f, 11, 20, 20);
    assert_eq!(checkpoint::save(&tee, dir.path(), &core).unwrap(), Some(20));

    let reopen = || checkpoint::load_or_create_identity(&tee, dir.path()).map(|(i, _)| i);
    let (mut restored, block) = checkpoint::restore(&tee, dir.path(), &config(), reopen).unwrap().unwrap();
    assert_eq!(block, 20);
    assert_eq!(restored.identity().public(), public);
    assert_eq!(restored.replica().root(), f.blocks[19].0.state_root);
    // Not caught up (and silent) until the relayer has shown it the chain.
    assert!(!restored.caught_up());
    assert!(restored.egress().is_empty());
    assert!(restored.registration_info(PlatformKind::Sim, Default::default(), None).is_err());
    feed(&mut restored, &f, 21, 30, 30);
    assert!(restored.caught_up());

    // Rolling back to an older checkpoint: it restores, but is behind.
    let newest = dir.path().join("checkpoint-0000000020.sealed");
    let mut bytes = std::fs::read(&newest).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&newest, &bytes).unwrap();
    let (mut old, block) = checkpoint::restore(&tee, dir.path(), &config(), reopen).unwrap().unwrap();
    assert_eq!(block, 10, "a corrupted checkpoint is skipped for an older one");
    assert!(!old.caught_up());
    assert!(old.egress().is_empty());
    // It re-syncs from there (its light client is at 10) and catches up.
    feed(&mut old, &f, 11, 30, 30);
    assert!(old.caught_up());
    assert_eq!(old.replica().root(), f.chain.head.state_root);
}

#[test]
fn registers_and_heartbeats_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let tee = platform(dir.path());
    let (identity, _) = checkpoint::load_or_create_identity(&tee, dir.path()).unwrap();
    let me = identity.public();
    let mut f = Fixture::new();
    let add = registry::Call::add_measurement { measurement: Measurement(vec![0x11; 32]) };
    let xt = sign(
        &mut f,
        "Alice",
        RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(RuntimeCall::Registry(Box::new(add))) }),
    );
    f.produce(vec![xt]);
    f.produce_empty(1);
    let mut core = Core::new(config(), identity);
    core.init(&f.anchor).unwrap();
    core.sync_headers(&f.headers(1, 2), &f.justify(&f.blocks[1].0), 2).unwrap();
    core.load_state(0, f.genesis_pairs.clone()).unwrap();
    core.dispatch_blocks(&f.changes(1, 2)).unwrap();

    // Registration bound to the verified chain.
    let info = core.registration_info(PlatformKind::Sim, Default::default(), None).unwrap();
    assert_eq!(info.genesis_hash, f.chain.genesis_hash);
    assert_eq!(info.identity, me);
    let mut report_data = [0u8; 64];
    report_data[..32].copy_from_slice(&info.binding());
    let evidence = tee.attest(&report_data).unwrap();
    let call = registry::Call::register_worker { info, evidence, collateral: None };
    let xt = sign(&mut f, "Bob", RuntimeCall::Registry(Box::new(call)));
    f.produce(vec![xt]);
    feed(&mut core, &f, 3, 3, 3);
    assert!(core.status().registered, "sees its own registration");

    // A heartbeat is signed once registered and caught up.
    f.produce_empty(5);
    feed(&mut core, &f, 4, 8, 8);
    // Heartbeats at block 3 (first after registration) and 8 (interval 5).
    let egress = core.egress();
    assert_eq!(egress.iter().map(|m| m.sequence).collect::<Vec<_>>(), vec![0, 1]);
    // The chain accepts them (one block each: Ferdie's nonce advances on
    // inclusion); pRuntime purges them once it sees that.
    for m in egress {
        let call = RuntimeCall::MessageQueue(message_queue::Call::sync_offchain_message { signed: m });
        let xt = sign(&mut f, "Ferdie", call);
        f.produce(vec![xt]);
    }
    assert_eq!(registry::last_heartbeat(&f.chain.ext(), &me).map(|(_, synced)| synced), Some(8));
    feed(&mut core, &f, 9, 10, 10);
    assert!(core.egress().is_empty(), "accepted messages purged");
}

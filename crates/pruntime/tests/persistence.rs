//! The shell's sealed files over a real (in-memory) chain: identity across
//! restarts, streamed checkpoints of any size (and every way of tampering
//! with one refused), rollback defence, secrets pinned to their genesis,
//! registration and heartbeats, a restarted gatekeeper; and the HTTP shell
//! withholding egress while a checkpoint or a seal fails.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code: timeouts need the clock

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use parity_scale_codec::Encode;
use umbra_attestation::{sim::dev_sim_service_pair, Evidence, Measurement, PlatformKind, TcbStatus};
use umbra_light_client::AuthoritySet;
use umbra_primitives::{extrinsic::Era, header::Header, H256};
use umbra_protocol::{client::PruntimeClient, PrivateApi};
use umbra_pruntime::checkpoint;
use umbra_pruntime_core::{
    core::{Config, Core, Effects, GenesisPin, SealedSecrets, SyncState, WorkerState},
    testing::{self, identity, Fixture, Net, DOMAIN},
    Error as CoreError,
};
use umbra_runtime::{
    modules::{gatekeeper, message_queue, registry, registry::WorkerRole, sudo},
    testing::{dev_account, TestChain},
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

/// What a shell does with effects: seal changed secrets to the file, then
/// confirm.
fn seal(core: &mut Core, tee: &dyn Platform, dir: &std::path::Path, effects: Effects) {
    if let Some(request) = effects.seal {
        checkpoint::save_secrets(tee, dir, &request.plaintext).unwrap();
        core.confirm_sealed(request.version);
    }
}

/// Feeds blocks `from..=to` of `f` (headers then changes), sealing as a
/// shell would.
fn feed(core: &mut Core, tee: &dyn Platform, dir: &std::path::Path, f: &Fixture, from: u32, to: u32) {
    let headers = f.headers(from, to);
    let (_, effects) = core.sync_headers(&headers, &f.justify(headers.last().unwrap())).unwrap();
    seal(core, tee, dir, effects);
    let (applied, effects) = core.dispatch_blocks(&f.changes(from, to), [7; 32]);
    applied.unwrap();
    seal(core, tee, dir, effects);
}

fn sign(f: &mut Fixture, who: &str, call: RuntimeCall) -> umbra_primitives::block::OpaqueExtrinsic {
    let nonce = f.chain.account(&dev_account(who)).nonce;
    f.chain.sign(who, call, nonce, 0, Era::Immortal)
}

fn reopen(tee: &SimPlatform, dir: &std::path::Path) -> Option<(Core, Effects, u32)> {
    let sealed = checkpoint::load_secrets(tee, dir).unwrap();
    let identity = || checkpoint::load_or_create_identity(tee, dir).map(|(i, _)| i);
    checkpoint::restore(tee, dir, &config(), identity, sealed.as_ref()).unwrap()
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
    let mut core = Core::new(config(), identity, None);
    let effects = core.init(&f.anchor).unwrap();
    assert!(effects.seal.is_some(), "the first init pins the genesis: sealed at once");
    seal(&mut core, &tee, dir.path(), effects);
    let (_, effects) = core.sync_headers(&f.headers(1, 10), &f.justify(&f.blocks[9].0)).unwrap();
    seal(&mut core, &tee, dir.path(), effects);
    let effects = core.load_state(0, f.genesis_pairs.clone()).unwrap();
    seal(&mut core, &tee, dir.path(), effects);
    let (applied, effects) = core.dispatch_blocks(&f.changes(1, 10), [1; 32]);
    applied.unwrap();
    seal(&mut core, &tee, dir.path(), effects);
    assert_eq!(checkpoint::save(&tee, dir.path(), &core).unwrap().map(|s| s.block), Some(10));
    feed(&mut core, &tee, dir.path(), &f, 11, 20);
    assert_eq!(checkpoint::save(&tee, dir.path(), &core).unwrap().map(|s| s.block), Some(20));

    let (mut restored, _, block) = reopen(&tee, dir.path()).unwrap();
    assert_eq!(block, 20);
    assert_eq!(restored.identity().public(), public);
    assert_eq!(restored.replica().root(), f.blocks[19].0.state_root);
    // Silent until verified finality advances again (the checkpoint may be
    // old): no egress, no registration.
    assert!(!restored.caught_up());
    assert!(restored.egress().is_empty());
    assert!(restored.registration_info(PlatformKind::Sim, Default::default(), None).is_err());
    // Re-offering the anchor it already has is no progress either.
    let again = restored.init(&f.anchor).unwrap();
    assert!(!again.finality_advanced);
    assert!(!restored.caught_up());
    feed(&mut restored, &tee, dir.path(), &f, 21, 30);
    assert!(restored.caught_up());

    // Rolling back to an older checkpoint: it restores, but is behind.
    let newest = dir.path().join("checkpoint-0000000020.sealed");
    let mut bytes = std::fs::read(&newest).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&newest, &bytes).unwrap();
    let (mut old, _, block) = reopen(&tee, dir.path()).unwrap();
    assert_eq!(block, 10, "a corrupted checkpoint is skipped for an older one");
    assert!(!old.caught_up());
    assert!(old.egress().is_empty());
    // It re-syncs from there (its light client is at 10) and catches up.
    feed(&mut old, &tee, dir.path(), &f, 11, 30);
    assert!(old.caught_up());
    assert_eq!(old.replica().root(), f.chain.head.state_root);
}

/// A core holding `pairs` as the state of a (fabricated, test-only) block:
/// checkpoints are about size and integrity, not about the chain.
fn core_with_state(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Core {
    let root = umbra_pruntime_core::replica::Replica::from_pairs(pairs.clone()).unwrap().root();
    let header = Header {
        parent_hash: H256::zero(),
        number: 0,
        state_root: root,
        extrinsics_root: H256::zero(),
        digest: Default::default(),
    };
    let authorities = vec![(umbra_runtime::testing::dev_ed25519("Alice").public(), 1)];
    let light_client = umbra_light_client::LightClient::new(
        header.clone(),
        AuthoritySet { set_id: 0, authorities: authorities.clone() },
    )
    .unwrap();
    let sync = SyncState {
        pin: GenesisPin { genesis_hash: header.hash(), set_id: 0, authorities },
        genesis: header.clone(),
        light_client,
        pending: Default::default(),
        state_at: Some(header),
        egress: Vec::new(),
        next_sequence: 0,
        worker: WorkerState::Unregistered,
        last_heartbeat: None,
        malformed_messages: 0,
        forged_notices: 0,
        keys: Default::default(),
    };
    Core::restore(config(), identity(5), sync, pairs, Default::default(), None).unwrap().0
}

/// Section 2: a checkpoint of a state far beyond one sealed blob (64 MiB,
/// the old whole-file bound was 16 MiB) is sealed in bounded chunks and
/// restored chunk by chunk; every tampering — a flipped byte in a middle
/// chunk, a truncated file, bytes appended, chunks reordered, a chunk of
/// another checkpoint spliced in — is refused.
#[test]
fn checkpoints_of_any_size_stream_in_authenticated_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let tee = platform(dir.path());
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0u32..16_384)
        .map(|i| (umbra_crypto::hashing::blake2_256(&i.to_le_bytes()).to_vec(), vec![(i % 251) as u8; 4096]))
        .collect();
    let core = core_with_state(pairs);
    assert!(core.replica().size_bytes() >= 64 << 20, "{} bytes", core.replica().size_bytes());
    let saved = checkpoint::save(&tee, dir.path(), &core).unwrap().unwrap();
    assert!(saved.chunks >= 64, "{} chunks", saved.chunks);
    let path = dir.path().join("checkpoint-0000000000.sealed");
    let restore = |path: &std::path::Path| {
        checkpoint::restore_file(&tee, path, 0, &config(), identity(5), None).map(|(core, _)| core.replica().root())
    };
    assert_eq!(restore(&path).unwrap(), core.replica().root());

    let original = std::fs::read(&path).unwrap();
    // Chunk boundaries: u32 LE length ‖ sealed.
    let mut offsets = Vec::new();
    let mut at = 0usize;
    while at < original.len() {
        offsets.push(at);
        at += 4 + u32::from_le_bytes(original[at..at + 4].try_into().unwrap()) as usize;
    }
    assert_eq!(offsets.len() as u32, saved.chunks);
    let tampered = dir.path().join("tampered.sealed");
    let refused = |bytes: &[u8], what: &str| {
        std::fs::write(&tampered, bytes).unwrap();
        assert!(restore(&tampered).is_err(), "{what} was accepted");
    };
    let mut flipped = original.clone();
    flipped[offsets[offsets.len() / 2] + 100] ^= 1;
    refused(&flipped, "a flipped byte in a middle chunk");
    refused(&original[..offsets[offsets.len() - 1]], "a file without its last chunk");
    refused(&original[..original.len() - 7], "a truncated last chunk");
    refused(&[original.clone(), original[offsets[1]..offsets[2]].to_vec()].concat(), "an appended chunk");
    let (a, b) = (offsets[1], offsets[2]);
    let c = offsets[3];
    let reordered = [&original[..a], &original[b..c], &original[a..b], &original[c..]].concat();
    refused(&reordered, "two chunks swapped");
    // A second checkpoint of the same state: its chunks are not this one's.
    std::fs::rename(&path, dir.path().join("first.sealed")).unwrap();
    checkpoint::save(&tee, dir.path(), &core).unwrap();
    let second = std::fs::read(&path).unwrap();
    assert_eq!(second.len(), original.len());
    let spliced = [&original[..a], &second[a..b], &original[b..]].concat();
    refused(&spliced, "a chunk of another checkpoint");
    // And files are private.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}

/// Section 2: with the checkpoints deleted, a restarted pRuntime that holds
/// secrets refuses a fabricated genesis — one whose GRANDPA set is the
/// host's own key — with a precise error, and nothing leaves.
#[test]
fn sealed_secrets_pin_the_genesis_without_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let tee = platform(dir.path());
    let mut net = Net::new(&[(1, WorkerRole::Gatekeeper)]);
    net.register(0, [9; 32]);
    net.sudo(RuntimeCall::Gatekeeper(gatekeeper::Call::add_gatekeeper { identity: net.public(0) }));
    net.blocks(2);
    assert_eq!(net.nodes[0].secrets().master.len(), 1, "the gatekeeper holds epoch 0");
    let node = &net.nodes[0];
    let sealed = SealedSecrets { pin: node.pin().unwrap().clone(), secrets: node.secrets().clone() };
    checkpoint::save_secrets(&tee, dir.path(), &sealed.encode()).unwrap();
    checkpoint::save(&tee, dir.path(), node).unwrap();

    // The host deletes every checkpoint and restarts the enclave.
    for (_, path) in checkpoint::list_checkpoints(dir.path()).unwrap() {
        std::fs::remove_file(path).unwrap();
    }
    let config = Config { role: WorkerRole::Gatekeeper, heartbeat_interval: 0, domain: DOMAIN, ..Config::default() };
    let loaded = checkpoint::load_secrets(&tee, dir.path()).unwrap();
    assert!(checkpoint::restore(&tee, dir.path(), &config, || Ok(identity(1)), loaded.as_ref()).unwrap().is_none());
    let mut core = Core::new(config, identity(1), loaded);
    // A fabricated chain whose GRANDPA authority is the host's own key.
    let mut genesis = umbra_runtime::testing::dev_genesis(1000);
    genesis.grandpa_authorities = vec![(umbra_crypto::ed25519::Pair::from_seed(&[0x66; 32]).public(), 1)];
    let fake = Fixture::from_chain(TestChain::from_genesis(&genesis));
    assert_ne!(fake.anchor.header.hash(), net.f.anchor.header.hash());
    match core.init(&fake.anchor) {
        Err(CoreError::GenesisPinned { pinned, offered, .. }) => {
            assert_eq!(pinned, net.f.anchor.header.hash());
            assert_eq!(offered, fake.anchor.header.hash());
        }
        other => panic!("a fabricated genesis was not refused: {other:?}"),
    }
    assert!(core.sync_state().is_none(), "nothing installed");
    assert!(core.egress().is_empty());
    // The real genesis is accepted, and the history is still there.
    core.init(&net.f.anchor).unwrap();
    assert_eq!(core.secrets().master.len(), 1);
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
    let mut core = Core::new(config(), identity, None);
    let effects = core.init(&f.anchor).unwrap();
    seal(&mut core, &tee, dir.path(), effects);
    let (_, effects) = core.sync_headers(&f.headers(1, 2), &f.justify(&f.blocks[1].0)).unwrap();
    seal(&mut core, &tee, dir.path(), effects);
    let effects = core.load_state(0, f.genesis_pairs.clone()).unwrap();
    seal(&mut core, &tee, dir.path(), effects);
    let (applied, effects) = core.dispatch_blocks(&f.changes(1, 2), [1; 32]);
    applied.unwrap();
    seal(&mut core, &tee, dir.path(), effects);

    // Registration bound to the verified chain.
    let info = core.registration_info(PlatformKind::Sim, Default::default(), None).unwrap();
    assert_eq!(info.genesis_hash, f.chain.genesis_hash);
    assert_eq!(info.identity, me);
    let mut report_data = [0u8; 64];
    report_data[..32].copy_from_slice(&info.binding());
    let evidence: Evidence = tee.attest(&report_data).unwrap();
    let call = registry::Call::register_worker { info, evidence, collateral: None };
    let xt = sign(&mut f, "Bob", RuntimeCall::Registry(Box::new(call)));
    f.produce(vec![xt]);
    feed(&mut core, &tee, dir.path(), &f, 3, 3);
    assert!(core.status().registered, "sees its own registration");

    // A heartbeat is signed once registered and caught up.
    f.produce_empty(5);
    feed(&mut core, &tee, dir.path(), &f, 4, 8);
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
    feed(&mut core, &tee, dir.path(), &f, 9, 10);
    assert!(core.egress().is_empty(), "accepted messages purged");
}

#[test]
fn a_restarted_gatekeeper_keeps_its_history_and_emits_nothing_divergent() {
    let dir = tempfile::tempdir().unwrap();
    let tee = platform(dir.path());
    let mut net = Net::new(&[(1, WorkerRole::Gatekeeper)]);
    net.register(0, [9; 32]);
    net.sudo(RuntimeCall::Gatekeeper(gatekeeper::Call::add_gatekeeper { identity: net.public(0) }));
    // A checkpoint from before the master secret existed.
    assert!(checkpoint::save(&tee, dir.path(), &net.nodes[0]).unwrap().is_some());
    let checkpoint_block = net.f.chain.head.number;
    net.blocks(2);
    let published = gatekeeper::master_pubkey(&net.ext(), 0).expect("epoch 0");
    // The shell seals secrets as soon as they change.
    let node = &net.nodes[0];
    let sealed = SealedSecrets { pin: node.pin().unwrap().clone(), secrets: node.secrets().clone() };
    checkpoint::save_secrets(&tee, dir.path(), &sealed.encode()).unwrap();

    // SIGKILL: only the old checkpoint and the secrets file survive.
    let config = Config { role: WorkerRole::Gatekeeper, heartbeat_interval: 0, domain: DOMAIN, ..Config::default() };
    let loaded = checkpoint::load_secrets(&tee, dir.path()).unwrap();
    let (mut restored, effects, at) =
        checkpoint::restore(&tee, dir.path(), &config, || Ok(identity(1)), loaded.as_ref()).unwrap().unwrap();
    assert_eq!(at, checkpoint_block);
    testing::confirm(&mut restored, effects);
    // Replay the blocks since the checkpoint: no second, different epoch 0.
    for (header, changes) in net.f.blocks.iter().filter(|(h, _)| h.number > at).cloned().collect::<Vec<_>>() {
        testing::feed(&mut restored, &header, &net.f.justify(&header), &changes, [0xee; 32]);
    }
    let status = restored.status();
    assert_eq!(status.epochs.iter().map(|e| (e.epoch, e.pubkey)).collect::<Vec<_>>(), vec![(0, published.0)]);
    assert_eq!(status.divergences, 0);
    assert!(restored.egress().iter().all(|m| m.message.destination != gatekeeper::GENESIS_KEY_TOPIC));
}

/// The simulated TEE whose sealing fails on demand (for one purpose).
struct Flaky {
    inner: SimPlatform,
    fail: AtomicBool,
    purpose: &'static str,
}

impl Platform for Flaky {
    fn kind(&self) -> PlatformKind {
        self.inner.kind()
    }
    fn banner(&self) -> &'static str {
        self.inner.banner()
    }
    fn measurement(&self) -> Result<Measurement, umbra_tee::Error> {
        self.inner.measurement()
    }
    fn attest(&self, report_data: &[u8; 64]) -> Result<Evidence, umbra_tee::Error> {
        self.inner.attest(report_data)
    }
    fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, umbra_tee::Error> {
        if purpose == self.purpose && self.fail.load(Ordering::SeqCst) {
            return Err(umbra_tee::Error::Device("sealing refused (test)".into()));
        }
        self.inner.seal(purpose, plaintext)
    }
    fn unseal(&self, purpose: &str, sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, umbra_tee::Error> {
        self.inner.unseal(purpose, sealed)
    }
    fn random(&self, buf: &mut [u8]) -> Result<(), umbra_tee::Error> {
        self.inner.random(buf)
    }
    fn key_domain(&self) -> umbra_crypto::labels::Domain {
        self.inner.key_domain()
    }
    fn is_simulated(&self) -> bool {
        self.inner.is_simulated()
    }
}

/// Section 2 and 6: the HTTP shell on loopback, driven through the typed
/// client. While checkpoints fail, `/egress` refuses (503, precise reason)
/// and `/status` says why; once one succeeds, egress resumes. While sealing
/// changed secrets fails (here the genesis pin at the first `init`),
/// nothing leaves either, and the next request that succeeds in sealing
/// releases it.
#[test]
fn the_shell_withholds_egress_while_a_checkpoint_or_a_seal_fails() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for purpose in ["pruntime/checkpoint-chunk/v3", "pruntime/secrets/v2"] {
        let dir = tempfile::tempdir().unwrap();
        let tee = Arc::new(Flaky { inner: platform(dir.path()), fail: AtomicBool::new(false), purpose });
        let mut f = Fixture::new();
        let add = registry::Call::add_measurement { measurement: Measurement(vec![0x11; 32]) };
        let sudo_add = RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(RuntimeCall::Registry(Box::new(add))) });
        let xt = sign(&mut f, "Alice", sudo_add);
        f.produce(vec![xt]);
        f.produce_empty(3);
        let settings = umbra_pruntime::service::Settings {
            data_dir: dir.path().join("data"),
            config: Config { heartbeat_interval: 1, ..config() },
            checkpoint_interval: 1,
            max_staleness: std::time::Duration::from_secs(600),
            features: Default::default(),
            operator: None,
            query_rate: 100,
            info_refresh: std::time::Duration::from_secs(1),
            max_connections: 8,
            query_deadline: std::time::Duration::from_secs(2),
            header_timeout: std::time::Duration::from_secs(10),
        };
        rt.block_on(async {
            let pruntime = umbra_pruntime::service::Pruntime::open(tee.clone(), settings).unwrap();
            let any = "127.0.0.1:0".parse().unwrap();
            let (private, _, _task) = pruntime.serve(any, any).await.unwrap();
            let client = PruntimeClient::private(&private.to_string());
            let sync = |f: &Fixture, from: u32, to: u32| {
                let headers = f.headers(from, to);
                let justification = f.justify(headers.last().unwrap());
                (umbra_protocol::api::HeadersRequest { headers, justification }, f.changes(from, to))
            };
            let secrets_fail = purpose == "pruntime/secrets/v2";
            tee.fail.store(secrets_fail, Ordering::SeqCst);
            client.init(&f.anchor).await.unwrap();
            let (headers, blocks) = sync(&f, 1, 4);
            client.sync_headers(&headers).await.unwrap();
            let load = umbra_protocol::api::LoadStateRequest { block: 0, pairs: f.genesis_pairs.clone() };
            client.load_state(&load).await.unwrap();
            client.dispatch_blocks(&umbra_protocol::api::DispatchRequest { blocks }).await.unwrap();
            // Registered, so heartbeats (egress) follow every block.
            let registration = client.registration().await.unwrap();
            let call = registry::Call::register_worker {
                info: registration.info,
                evidence: registration.evidence,
                collateral: None,
            };
            let xt = sign(&mut f, "Bob", RuntimeCall::Registry(Box::new(call)));
            f.produce(vec![xt]);
            f.produce_empty(2);
            tee.fail.store(true, Ordering::SeqCst);
            let (headers, blocks) = sync(&f, 5, 7);
            client.sync_headers(&headers).await.unwrap();
            client.dispatch_blocks(&umbra_protocol::api::DispatchRequest { blocks }).await.unwrap();
            let status = client.status().await.unwrap();
            assert!(status.core.registered && status.core.caught_up, "{purpose}: {status:?}");
            assert!(status.core.egress_pending > 0, "{purpose}: heartbeats are waiting");
            let refused = client.egress().await.unwrap_err().to_string();
            assert!(refused.contains("503"), "{purpose}: {refused}");
            if secrets_fail {
                assert!(status.seal_error.is_some() && status.core.seal_pending, "{purpose}: {status:?}");
                assert!(refused.contains("sealing changed secrets failed"), "{refused}");
            } else {
                assert!(status.checkpoint_error.is_some(), "{purpose}: {status:?}");
                assert!(refused.contains("checkpoint failed"), "{refused}");
            }

            tee.fail.store(false, Ordering::SeqCst);
            f.produce_empty(1);
            let (headers, blocks) = sync(&f, 8, 8);
            client.sync_headers(&headers).await.unwrap();
            client.dispatch_blocks(&umbra_protocol::api::DispatchRequest { blocks }).await.unwrap();
            let status = client.status().await.unwrap();
            assert_eq!((status.checkpoint_error, status.seal_error), (None, None), "{purpose}: recovered");
            assert!(!client.egress().await.unwrap().is_empty(), "{purpose}: heartbeats leave again");
        });
    }
}

fn settings(dir: &std::path::Path, max_staleness: std::time::Duration) -> umbra_pruntime::service::Settings {
    umbra_pruntime::service::Settings {
        data_dir: dir.join("data"),
        config: Config { role: WorkerRole::Gatekeeper, heartbeat_interval: 0, ..config() },
        checkpoint_interval: 1,
        max_staleness,
        features: Default::default(),
        operator: None,
        query_rate: 100,
        info_refresh: std::time::Duration::from_secs(1),
        max_connections: 8,
        query_deadline: std::time::Duration::from_secs(2),
        header_timeout: std::time::Duration::from_millis(300),
    }
}

/// Section 2 over HTTP: a pRuntime whose sealed secrets hold a gatekeeper's
/// master key, restarted with every checkpoint deleted, refuses `/init`
/// with a fabricated genesis (its GRANDPA set the host's own key) with the
/// precise error, and `/egress` releases nothing.
#[test]
fn a_restarted_pruntime_refuses_a_fabricated_genesis_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let tee = Arc::new(platform(dir.path()));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // A gatekeeper's secrets, sealed as its shell would, then no checkpoint.
    let mut net = Net::new(&[(1, WorkerRole::Gatekeeper)]);
    net.register(0, [9; 32]);
    net.sudo(RuntimeCall::Gatekeeper(gatekeeper::Call::add_gatekeeper { identity: net.public(0) }));
    net.blocks(2);
    let node = &net.nodes[0];
    assert_eq!(node.secrets().master.len(), 1);
    let sealed = SealedSecrets { pin: node.pin().unwrap().clone(), secrets: node.secrets().clone() };
    checkpoint::save_secrets(tee.as_ref(), &data, &sealed.encode()).unwrap();
    assert!(checkpoint::list_checkpoints(&data).unwrap().is_empty());

    let mut genesis = umbra_runtime::testing::dev_genesis(1000);
    genesis.grandpa_authorities = vec![(umbra_crypto::ed25519::Pair::from_seed(&[0x66; 32]).public(), 1)];
    let fake = Fixture::from_chain(TestChain::from_genesis(&genesis));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pruntime = umbra_pruntime::service::Pruntime::open(
            tee.clone(),
            settings(dir.path(), std::time::Duration::from_secs(60)),
        )
        .unwrap();
        let any = "127.0.0.1:0".parse().unwrap();
        let (private, _, _task) = pruntime.serve(any, any).await.unwrap();
        let client = PruntimeClient::private(&private.to_string());
        let refused = client.init(&fake.anchor).await.unwrap_err().to_string();
        assert!(refused.contains("400") && refused.contains("pinned to genesis"), "{refused}");
        let status = client.status().await.unwrap();
        assert!(!status.core.initialized, "nothing installed: {status:?}");
        assert_eq!(status.core.pinned_genesis, Some(net.f.anchor.header.hash()));
        assert!(client.egress().await.unwrap().is_empty(), "nothing leaves");
        // The real genesis is accepted.
        client.init(&net.f.anchor).await.unwrap();
    });
}

/// Section 5: only verified finality progress resets the staleness clock —
/// re-posting the installed anchor to `/init` does not make a stale
/// pRuntime fresh; a justified header does.
#[test]
fn only_verified_finality_makes_a_stale_pruntime_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let tee = Arc::new(platform(dir.path()));
    let mut f = Fixture::new();
    f.produce_empty(3);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let settings = settings(dir.path(), std::time::Duration::from_millis(300));
        let pruntime = umbra_pruntime::service::Pruntime::open(tee.clone(), settings).unwrap();
        let any = "127.0.0.1:0".parse().unwrap();
        let (private, _, _task) = pruntime.serve(any, any).await.unwrap();
        let client = PruntimeClient::private(&private.to_string());
        client.init(&f.anchor).await.unwrap();
        let headers = f.headers(1, 2);
        let justification = f.justify(headers.last().unwrap());
        client.sync_headers(&umbra_protocol::api::HeadersRequest { headers, justification }).await.unwrap();
        let until_stale = async {
            while !client.status().await.unwrap().stale {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), until_stale).await.unwrap();
        // The installed anchor again: accepted, but no progress.
        client.init(&f.anchor).await.unwrap();
        assert!(client.status().await.unwrap().stale, "/init is not finality progress");
        // A header batch with its justification is.
        let headers = f.headers(3, 3);
        let justification = f.justify(&headers[0]);
        client.sync_headers(&umbra_protocol::api::HeadersRequest { headers, justification }).await.unwrap();
        assert!(!client.status().await.unwrap().stale);
    });
}

/// Section 6: the shell's HTTP limits. A client that never finishes its
/// headers is cut off after the header timeout; connections beyond
/// `max_connections` wait until one closes (and are then served); the
/// public API is rate limited per address.
#[test]
fn the_shell_bounds_slow_clients_connections_and_request_rates() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let tee = Arc::new(platform(dir.path()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut settings = settings(dir.path(), std::time::Duration::from_secs(60));
    settings.max_connections = 2;
    settings.query_rate = 5;
    let (private, public) = rt.block_on(async {
        let pruntime = umbra_pruntime::service::Pruntime::open(tee.clone(), settings).unwrap();
        let any = "127.0.0.1:0".parse().unwrap();
        // The server task keeps running after its handle is dropped.
        let (private, public, _task) = pruntime.serve(any, any).await.unwrap();
        (private, public)
    });
    let _guard = rt.enter();
    // Slowloris: half a request line, then silence: the server closes.
    let mut slow = std::net::TcpStream::connect(private).unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    slow.write_all(b"GET /status HTTP/1.1\r\nHost: x").unwrap();
    let mut buf = Vec::new();
    let started = std::time::Instant::now();
    let _ = slow.read_to_end(&mut buf);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "the slow client was cut off");
    // Two idle connections fill the API; a third request waits for a slot.
    let idle: Vec<_> = (0..2).map(|_| std::net::TcpStream::connect(private).unwrap()).collect();
    let status = |addr: std::net::SocketAddr| {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        s.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        let _ = s.read_to_string(&mut response);
        response
    };
    let waiting = std::thread::spawn(move || status(private));
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(!waiting.is_finished(), "served beyond the connection cap");
    drop(idle);
    assert!(waiting.join().unwrap().starts_with("HTTP/1.1 200"), "served once a slot is free");
    // The public API: a burst of twice the rate per address, then 429.
    let codes: Vec<String> = (0..12)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(public).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            s.write_all(b"GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut response = String::new();
            let _ = s.read_to_string(&mut response);
            response.split_whitespace().nth(1).unwrap_or_default().to_string()
        })
        .collect();
    assert!(codes.iter().filter(|c| *c == "200").count() <= 10, "{codes:?}");
    assert!(codes.iter().any(|c| c == "429"), "{codes:?}");
}

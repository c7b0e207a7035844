//! The worker's trust boundary, end to end on `umbra devnet` (a gatekeeper
//! and a worker pRuntime in the SIMULATED TEE): what an attacker who
//! registers its own simulated worker — anyone, on a chain that accepts
//! simulated evidence — can try against the key paths, and what it gets.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::time::Duration;

use parity_scale_codec::{Decode, Encode};
use umbra_attestation::{
    sim::{dev_sim_service_pair, SimEvidence, SimQuote},
    Evidence, PlatformKind, TcbStatus,
};
use umbra_client::Client;
use umbra_crypto::{sr25519, suri::SecretUri, Pair, Scheme};
use umbra_e2e::{free_port, Devnet, Pruntime};
use umbra_primitives::AccountId32;
use umbra_runtime::{
    modules::{
        contracts, gatekeeper,
        message_queue::{self, Message, MessageOrigin, SignedMessage},
        registry::{self, WorkerFeatures, WorkerRegistrationInfo, WorkerRole},
        timestamp,
    },
    RuntimeCall,
};

const TIMEOUT: Duration = Duration::from_secs(120);

fn started(dir: &std::path::Path, extra: &[&str]) -> Devnet {
    let mut devnet = Devnet::start(&dir.join("devnet"), free_port(), extra);
    devnet.wait_line("the devnet to start", Duration::from_secs(300), |l| l.starts_with("press Ctrl-C"));
    devnet
}

/// Registers a simulated worker the attacker controls, with the devnet's
/// allowed measurement and the dev simulated attestation key.
async fn register_attacker(client: &Client, relayer: &Pair, attacker: &sr25519::Pair, measurement: [u8; 32]) {
    let raw = client.storage(&timestamp::keys::now(), None).await.unwrap().unwrap();
    let now = u64::decode(&mut &raw[..]).unwrap();
    let info = WorkerRegistrationInfo {
        version: registry::INFO_VERSION,
        identity: attacker.public(),
        ecdh_public: [0x42; 32],
        genesis_hash: client.genesis_hash(),
        operator: None,
        role: WorkerRole::Worker,
        features: WorkerFeatures { cores: 4, memory_mb: 8192 },
        platform: PlatformKind::Sim,
        attested_at_ms: now,
    };
    let mut report_data = [0u8; 64];
    report_data[..32].copy_from_slice(&info.binding());
    let quote =
        SimQuote { measurement, report_data, issued_at_ms: now, tcb_status: TcbStatus::UpToDate, advisories: vec![] };
    let evidence = Evidence::Sim(SimEvidence::sign(quote, &dev_sim_service_pair()));
    let call = RuntimeCall::Registry(Box::new(registry::Call::register_worker { info, evidence, collateral: None }));
    let who = AccountId32(relayer.public());
    let xt = client.sign(call, relayer, client.next_nonce(&who).await.unwrap(), 0).await.unwrap();
    let included = client.submit_and_finalize(&xt, TIMEOUT, |_| {}).await.unwrap();
    assert!(included.error.is_none(), "attacker registration: {:?}", included.error);
}

fn signed_by(client: &Client, key: &sr25519::Pair, topic: &[u8], payload: Vec<u8>) -> SignedMessage {
    let message = Message { sender: MessageOrigin::Worker(key.public()), destination: topic.to_vec(), payload };
    let signature = key.sign_deterministic(&message_queue::signing_payload(&client.genesis_hash(), &message, 0)).0;
    SignedMessage { message, sequence: 0, signature }
}

/// Section 1: every forged key notice an attacker's registered worker posts
/// is refused by the chain with the router's precise error, and nothing is
/// stored: its sequence stays 0, no notice reaches `Outbound`, and the
/// gatekeeper pRuntime counts no forged notice, divergence or key error.
#[test]
fn forged_key_notices_are_refused_on_chain() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = started(dir.path(), &["--workers", "1"]);
    let gatekeeper = Pruntime::at(devnet.pruntime_port + 2, devnet.pruntime_port + 3);
    let worker = Pruntime::at(devnet.worker_private(1), devnet.worker_private(1) + 1);
    let measurement: [u8; 32] = worker.info().unwrap().measurement.try_into().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Client::connect(&devnet.ws_url()).await.unwrap();
        let relayer = Pair::from_suri(Scheme::Sr25519, &SecretUri::parse("//Charlie").unwrap()).unwrap();
        let attacker = sr25519::Pair::from_seed(&[0xa7; 32]);
        register_attacker(&client, &relayer, &attacker, measurement).await;
        let me = attacker.public();
        let cluster = contracts::cluster_id(0);
        let delivery = contracts::ClusterKeys {
            cluster,
            epoch: 0,
            cluster_pubkey: me,
            cluster_ecdh: [0x42; 32],
            deliveries: vec![(me, vec![7; 80])],
        };
        let proposal =
            gatekeeper::RotationProposal { epoch: 1, pubkey: me, proposer: me, envelopes: vec![(me, vec![7; 80])] };
        let handover = gatekeeper::Handover { newcomer: me, envelope: vec![7; 80] };
        let to_gk = |n: gatekeeper::Notice| (gatekeeper::TOPIC, n.encode());
        let to_ct = |n: contracts::Notice| (contracts::TOPIC, n.encode());
        let owned = message_queue::Error::TopicOwnedByModule as u8;
        let closed = message_queue::Error::OriginNotAllowed as u8;
        // (what, (topic, payload), the refusal's MessageQueue error index)
        type Case<'a> = (&'a str, (&'a [u8], Vec<u8>), u8);
        let cases: Vec<Case<'_>> = vec![
            ("Added", to_gk(gatekeeper::Notice::Added { identity: me, ecdh_public: [0x42; 32] }), owned),
            (
                "ClusterCreated",
                to_ct(contracts::Notice::ClusterCreated { cluster, workers: vec![me], epoch: 0 }),
                owned,
            ),
            ("ReplicaAdded", to_ct(contracts::Notice::ReplicaAdded { cluster, worker: me, epoch: 0 }), owned),
            ("ClusterKeys notice", to_ct(contracts::Notice::ClusterKeys(delivery.clone())), owned),
            ("Rotation", to_gk(gatekeeper::Notice::Rotation(proposal)), owned),
            (
                "RotationStarted",
                to_gk(gatekeeper::Notice::RotationStarted { epoch: 1, gatekeepers: vec![(me, [0x42; 32])] }),
                owned,
            ),
            ("Handover notice", to_gk(gatekeeper::Notice::Handover(handover.clone())), owned),
            ("Handover message", (gatekeeper::HANDOVER_TOPIC, handover.encode()), closed),
            ("ClusterKeys message", (contracts::CLUSTER_KEYS_TOPIC, delivery.encode()), closed),
        ];
        let who = AccountId32(relayer.public());
        for (what, (topic, payload), code) in cases {
            let signed = signed_by(&client, &attacker, topic, payload);
            let call = RuntimeCall::MessageQueue(message_queue::Call::sync_offchain_message { signed });
            let xt = client.sign(call, &relayer, client.next_nonce(&who).await.unwrap(), 0).await.unwrap();
            let refused = client.submit(&xt).await.expect_err(what).to_string();
            assert!(
                refused.contains("Invalid Transaction") && refused.contains(&format!("Custom error: {code}")),
                "{what}: {refused}"
            );
        }
        let next: Option<Vec<u8>> =
            client.storage(&message_queue::keys::next_sequence(&MessageOrigin::Worker(me)), None).await.unwrap();
        assert_eq!(next, None, "no sequence of the attacker was consumed");
        // Nothing it sent ever reached a notice topic: no block's Outbound
        // holds a message whose sender does not own its topic.
        let finalized = client.finalized_hash().await.unwrap();
        let top = client.header(finalized).await.unwrap().unwrap().number;
        for n in 1..=top {
            let hash = client.block_hash(n).await.unwrap().unwrap();
            let outbound = client.storage(&message_queue::keys::outbound(), Some(hash)).await.unwrap();
            let messages: Vec<Message> = outbound.map(|b| Decode::decode(&mut &b[..]).unwrap()).unwrap_or_default();
            assert!(messages.iter().all(umbra_runtime::routing::is_authentic_notice), "block {n}: {messages:?}");
        }
    });
    let status = gatekeeper.status().unwrap().core;
    assert_eq!((status.forged_notices, status.divergences, status.key_errors), (0, 0, 0), "{status:?}");
    assert_eq!(status.epochs.len(), 1, "{status:?}");
}

/// A contract code of exactly the largest size the chain accepts: a minimal
/// valid module padded with a custom section, distinct per `n`.
fn max_size_code(n: u32) -> Vec<u8> {
    let mut code =
        wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#)
            .unwrap();
    let name = b"pad";
    let max = umbra_vm::limits::MAX_CODE_SIZE;
    let leb = |mut v: usize| {
        let mut out = Vec::new();
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    };
    // id ‖ LEB(size) ‖ LEB(name len) ‖ name ‖ content, with size = name part + content.
    let overhead = |content: usize| 1 + leb(1 + name.len() + content).len() + 1 + name.len();
    let mut content = max - code.len() - overhead(0);
    while code.len() + overhead(content) + content > max {
        content -= 1;
    }
    code.push(0);
    code.extend(leb(1 + name.len() + content));
    code.push(name.len() as u8);
    code.extend_from_slice(name);
    code.extend((0..content).map(|i| (i as u32).wrapping_mul(31).wrapping_add(n) as u8));
    assert_eq!(code.len(), max);
    code
}

/// Section 5: with twenty maximum-size codes in the chain state, and a node
/// whose sync answers are cut at 256 KiB (so state pages and single blocks'
/// changes arrive in several parts), a new worker fast-syncs and registers,
/// and another replays every block from genesis and registers: both calls
/// cut at the byte budget and say where to continue, and the relayer
/// follows.
#[test]
fn workers_sync_and_register_past_large_state_and_blocks() {
    use umbra_e2e::{binary, wait_for, NodeProcess, Process};
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&dir.path().join("node"), &["--pruning", "archive", "--rpc-sync-budget-kib", "256"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Client::connect(&node.ws_url()).await.unwrap();
        let bob = Pair::from_suri(Scheme::Sr25519, &SecretUri::parse("//Bob").unwrap()).unwrap();
        let nonce = client.next_nonce(&AccountId32(bob.public())).await.unwrap();
        for n in 0..20u32 {
            let call = RuntimeCall::Contracts(contracts::Call::upload_code { code: max_size_code(n) });
            let xt = client.sign(call, &bob, nonce + n, 0).await.unwrap();
            client.submit(&xt).await.unwrap();
        }
        let key = |n: u32| {
            contracts::keys::code_info(&umbra_primitives::H256(umbra_crypto::hashing::blake2_256(&max_size_code(n))))
        };
        for n in 0..20u32 {
            while client.storage(&key(n), Some(client.finalized_hash().await.unwrap())).await.unwrap().is_none() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    let start = |name: &str, extra: &[&str]| {
        let (private, public) = (free_port(), free_port());
        let data = dir.path().join(name);
        let args: Vec<String> = [
            "--data-dir",
            data.to_str().unwrap(),
            "--private-addr",
            &format!("127.0.0.1:{private}"),
            "--public-addr",
            &format!("127.0.0.1:{public}"),
            "--tee",
            "sim",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let pruntime = Process::start("umbra-pruntime", &args, dir.path().join(format!("{name}.log")));
        let mut relayer_args = vec![
            "--node".to_string(),
            node.ws_url(),
            "--pruntime".to_string(),
            format!("127.0.0.1:{private}"),
            "--signer".to_string(),
            if name == "fast" { "//Ferdie".to_string() } else { "//Dave".to_string() },
        ];
        relayer_args.extend(extra.iter().map(|s| s.to_string()));
        let relayer = Process::start("umbra-relayer", &relayer_args, dir.path().join(format!("{name}-relayer.log")));
        (Pruntime::at(private, public), pruntime, relayer)
    };
    let (fast, _p1, _r1) = start("fast", &[]);
    let (replay, _p2, r2) = start("replay", &["--from-genesis"]);
    let info = wait_for("pRuntime info", TIMEOUT, || fast.info());
    let measurement = format!("0x{}", hex::encode(&info.measurement));
    let out = std::process::Command::new(binary("umbra"))
        .args(["--url", &node.ws_url(), "measurement", "add", &measurement])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (what, worker) in [("fast-synced", &fast), ("replayed", &replay)] {
        wait_for(what, Duration::from_secs(240), || worker.status()?.core.registered.then_some(()));
        let status = worker.status().unwrap();
        assert!(status.core.state_bytes > 20 * umbra_vm::limits::MAX_CODE_SIZE, "{what}: {status:?}");
    }
    assert!(r2.log_text().contains("pRuntime initialized"), "{}", r2.log_text());
}

/// The relayer against a real node and the protocol crate's mock pRuntime:
/// it initialises with the node's genesis anchor, verifies nothing itself
/// but feeds every header and every block exactly once, in order, also
/// when the node cuts its answers at a tiny byte budget (blocks carrying
/// large code uploads arrive in parts and are completed before dispatch).
#[test]
fn the_relayer_feeds_every_block_once_through_cut_answers() {
    use umbra_protocol::mock::MockPruntime;
    let dir = tempfile::tempdir().unwrap();
    let node = umbra_e2e::NodeProcess::start(
        &dir.path().join("node"),
        &["--pruning", "archive", "--rpc-sync-budget-kib", "64"],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = std::sync::Arc::new(Client::connect(&node.ws_url()).await.unwrap());
        let bob = Pair::from_suri(Scheme::Sr25519, &SecretUri::parse("//Bob").unwrap()).unwrap();
        let nonce = client.next_nonce(&AccountId32(bob.public())).await.unwrap();
        for n in 0..3u32 {
            let call = RuntimeCall::Contracts(contracts::Call::upload_code { code: max_size_code(100 + n) });
            client.submit(&client.sign(call, &bob, nonce + n, 0).await.unwrap()).await.unwrap();
        }
        let code = |n: u32| {
            contracts::keys::code_info(&umbra_primitives::H256(umbra_crypto::hashing::blake2_256(&max_size_code(
                100 + n,
            ))))
        };
        while client.storage(&code(2), Some(client.finalized_hash().await.unwrap())).await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let signer = Pair::from_suri(Scheme::Sr25519, &SecretUri::parse("//Ferdie").unwrap()).unwrap();
        let mock = std::sync::Arc::new(MockPruntime::new());
        // Registered already: this run is about sync only.
        mock.state.lock().unwrap().status.core.registered = true;
        let mut relayer = umbra_relayer::Relayer::new(client.clone(), mock.clone(), signer).from_genesis(true);
        let target = client.header(client.finalized_hash().await.unwrap()).await.unwrap().unwrap().number;
        for _ in 0..200 {
            relayer.step().await.unwrap();
            let state = mock.state.lock().unwrap().clone();
            if state.dispatched.last().is_some_and(|n| *n >= target) {
                break;
            }
        }
        let state = mock.state.lock().unwrap().clone();
        assert_eq!(state.anchors.len(), 1, "initialised once");
        assert_eq!(state.anchors[0].header.hash(), client.genesis_hash());
        assert_eq!(state.loads, vec![(0, state.loads[0].1)], "replays from the genesis state");
        let expected: Vec<u32> = (1..=*state.dispatched.last().unwrap()).collect();
        assert_eq!(state.dispatched, expected, "every block once, in order");
        assert!(*state.dispatched.last().unwrap() >= target);
    });
}

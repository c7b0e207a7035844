//! The worker's trust boundary, end to end on `umbra devnet` (a gatekeeper
//! and a worker pRuntime in the SIMULATED TEE): what an attacker who
//! registers its own simulated worker — anyone, on a chain that accepts
//! simulated evidence — can try against the key paths, and what it gets.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::time::Duration;

use parity_scale_codec::{Decode, Encode};
use serde_json::Value;
use umbra_attestation::{
    sim::{dev_sim_service_pair, SimEvidence, SimQuote},
    Evidence, PlatformKind, TcbStatus,
};
use umbra_client::Client;
use umbra_crypto::{sr25519, suri::SecretUri, Pair, Scheme};
use umbra_e2e::{free_port, http_get, Devnet};
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

fn json(port: u16, path: &str) -> Value {
    let (code, _, body) = http_get(port, path).unwrap();
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
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
    let gatekeeper_port = devnet.pruntime_port + 2;
    let measurement: [u8; 32] = {
        let info = json(devnet.worker_private(1) + 1, "/info");
        let hex = info["measurement"].as_str().unwrap().trim_start_matches("0x").to_string();
        hex::decode(hex).unwrap().try_into().unwrap()
    };
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
        let cases: Vec<(&str, (&[u8], Vec<u8>), u8)> = vec![
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
    let status = json(gatekeeper_port, "/status");
    assert_eq!(status["forged_notices"], 0, "{status}");
    assert_eq!(status["divergences"], 0, "{status}");
    assert_eq!(status["key_errors"], 0, "{status}");
    assert_eq!(status["epochs"].as_array().unwrap().len(), 1, "{status}");
}

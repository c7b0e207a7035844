//! Worker registration on a real dev node, through JSON-RPC and the CLI:
//! `umbra measurement add/list`, a successful registration with simulated
//! TEE evidence, and the six ways a registration must fail — evidence
//! replayed for another identity key, a measurement not on the allowlist,
//! another genesis hash, a sim service key the chain does not list, stale
//! evidence, a gatekeeper below the gatekeeper TCB policy — each with its
//! own dispatch error and the Registry's storage unchanged.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use parity_scale_codec::Decode;
use umbra_attestation::{
    sim::{dev_sim_service_pair, SimEvidence, SimQuote},
    Evidence, PlatformKind, TcbStatus,
};
use umbra_client::Client;
use umbra_crypto::{ed25519, sr25519, suri::SecretUri, Pair, Scheme};
use umbra_e2e::{binary, NodeProcess};
use umbra_primitives::{AccountId32, H256};
use umbra_runtime::modules::{
    registry::{self, Call, WorkerFeatures, WorkerRegistrationInfo, WorkerRole},
    timestamp,
};
use umbra_runtime::RuntimeCall;

const MEASUREMENT: [u8; 32] = [0x5a; 32];
const TIMEOUT: Duration = Duration::from_secs(120);

fn umbra(url: &str, args: &[&str]) -> String {
    let out = Command::new(binary("umbra")).args(["--url", url]).args(args).output().unwrap();
    assert!(out.status.success(), "umbra {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Every key and value of the Registry module at the best block.
async fn registry_state(client: &Client) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let at = client.best_header().await.unwrap().hash();
    let prefix = umbra_crypto::hashing::twox_128(registry::NAME.as_bytes());
    let mut out = BTreeMap::new();
    for key in client.storage_keys(&prefix, Some(at)).await.unwrap() {
        let value = client.storage(&key, Some(at)).await.unwrap().unwrap();
        out.insert(key, value);
    }
    out
}

async fn block_time_ms(client: &Client) -> u64 {
    let raw = client.storage(&timestamp::keys::now(), None).await.unwrap().unwrap();
    u64::decode(&mut &raw[..]).unwrap()
}

struct Case {
    identity: sr25519::Public,
    genesis: H256,
    role: WorkerRole,
    measurement: [u8; 32],
    service: ed25519::Pair,
    issued_at_ms: u64,
    tcb_status: TcbStatus,
}

impl Case {
    fn info(&self) -> WorkerRegistrationInfo {
        WorkerRegistrationInfo {
            version: registry::INFO_VERSION,
            identity: self.identity,
            ecdh_public: [9; 32],
            genesis_hash: self.genesis,
            operator: None,
            role: self.role,
            features: WorkerFeatures { cores: 4, memory_mb: 8192 },
            platform: PlatformKind::Sim,
            attested_at_ms: self.issued_at_ms,
        }
    }

    fn evidence_for(&self, info: &WorkerRegistrationInfo) -> Evidence {
        let mut report_data = [0u8; 64];
        report_data[..32].copy_from_slice(&info.binding());
        let quote = SimQuote {
            measurement: self.measurement,
            report_data,
            issued_at_ms: self.issued_at_ms,
            tcb_status: self.tcb_status,
            advisories: Vec::new(),
        };
        Evidence::Sim(SimEvidence::sign(quote, &self.service))
    }
}

/// Submits a registration signed by `relayer`; returns the error name, if any.
async fn register(
    client: &Client,
    relayer: &Pair,
    info: WorkerRegistrationInfo,
    evidence: Evidence,
) -> Option<(&'static str, &'static str)> {
    let who = AccountId32(relayer.public());
    let call = RuntimeCall::Registry(Box::new(Call::register_worker { info, evidence, collateral: None }));
    let nonce = client.next_nonce(&who).await.unwrap();
    let xt = client.sign(call, relayer, nonce, 0).await.unwrap();
    let included = client.submit_and_finalize(&xt, TIMEOUT, |_| {}).await.unwrap();
    included.error.map(|e| match e {
        umbra_runtime::DispatchError::Module(m) => {
            umbra_runtime::metadata::module_error_name(m.index, m.error[0]).unwrap()
        }
        other => panic!("not a module error: {other:?}"),
    })
}

#[test]
fn sim_registration_and_six_rejections_on_a_devnet() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&dir.path().join("node"), &[]);
    let url = node.ws_url();

    // The allowlist through the CLI (sudo on the dev chain).
    let hex_measurement = format!("0x{}", hex::encode(MEASUREMENT));
    let added = umbra(&url, &["measurement", "add", &hex_measurement]);
    assert!(added.contains("added in block #"), "{added}");
    assert!(umbra(&url, &["measurement", "list"]).contains(&hex_measurement));
    assert_eq!(umbra(&url, &["worker", "list"]).trim(), "no registered workers");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Client::connect(&url).await.unwrap();
        let relayer = Pair::from_suri(Scheme::Sr25519, &SecretUri::parse("//Bob").unwrap()).unwrap();
        let now = block_time_ms(&client).await;
        let fresh = |seed: u8| Case {
            identity: sr25519::Pair::from_seed(&[seed; 32]).public(),
            genesis: client.genesis_hash(),
            role: WorkerRole::Worker,
            measurement: MEASUREMENT,
            service: dev_sim_service_pair(),
            issued_at_ms: now,
            tcb_status: TcbStatus::UpToDate,
        };

        // The six rejections, each with its own error, nothing stored.
        let good = fresh(1);
        let good_info = good.info();
        let good_evidence = good.evidence_for(&good_info);
        let mut cases: Vec<(&str, WorkerRegistrationInfo, Evidence, &str)> = Vec::new();
        let mut replayed = good_info.clone();
        replayed.identity = sr25519::Pair::from_seed(&[2; 32]).public();
        cases.push(("replayed for another identity", replayed, good_evidence.clone(), "ReportDataMismatch"));
        let mut unlisted = fresh(3);
        unlisted.measurement = [0x77; 32];
        let info = unlisted.info();
        cases.push(("measurement not allowed", info.clone(), unlisted.evidence_for(&info), "MeasurementNotAllowed"));
        let mut foreign = fresh(4);
        foreign.genesis = H256::repeat_byte(0xee);
        let info = foreign.info();
        cases.push(("another genesis", info.clone(), foreign.evidence_for(&info), "GenesisMismatch"));
        let mut rogue = fresh(5);
        rogue.service = ed25519::Pair::from_seed(&[0x66; 32]);
        let info = rogue.info();
        cases.push(("sim key not allowed", info.clone(), rogue.evidence_for(&info), "SimKeyNotAllowed"));
        let mut stale = fresh(6);
        stale.issued_at_ms = now - 3 * 60 * 60 * 1000;
        let info = stale.info();
        cases.push(("stale evidence", info.clone(), stale.evidence_for(&info), "AttestationTooOld"));
        let mut gatekeeper = fresh(7);
        gatekeeper.role = WorkerRole::Gatekeeper;
        gatekeeper.tcb_status = TcbStatus::ConfigurationNeeded; // level 3 > 2
        let info = gatekeeper.info();
        cases.push(("gatekeeper TCB policy", info.clone(), gatekeeper.evidence_for(&info), "TcbPolicyViolated"));

        let before = registry_state(&client).await;
        let mut names = Vec::new();
        for (what, info, evidence, expected) in cases {
            let error = register(&client, &relayer, info, evidence).await;
            assert_eq!(error, Some(("Registry", expected)), "{what}");
            assert_eq!(registry_state(&client).await, before, "{what} changed the Registry's storage");
            names.push(expected);
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 6, "six distinct errors");

        // The genuine registration succeeds.
        assert_eq!(register(&client, &relayer, good_info.clone(), good_evidence).await, None);
        let stored = client.worker(&good_info.identity).await.unwrap().unwrap();
        assert_eq!(stored.platform, PlatformKind::Sim);
        assert_eq!(stored.measurement.as_bytes(), MEASUREMENT);
        assert_eq!(stored.confidence_level, 1);
        assert_ne!(registry_state(&client).await, before);
    });

    // The CLI shows it.
    let list = umbra(&url, &["worker", "list"]);
    let identity = format!("0x{}", hex::encode(sr25519::Pair::from_seed(&[1; 32]).public().0));
    assert!(list.contains(&identity) && list.contains("sim") && list.contains("1 worker(s)"), "{list}");
    let show = umbra(&url, &["worker", "show", &identity]);
    assert!(show.contains("SIMULATED TEE") && show.contains(&hex::encode(MEASUREMENT)), "{show}");

    // Removing the measurement through the CLI; removing it twice is refused by name.
    assert!(umbra(&url, &["measurement", "remove", &hex_measurement]).contains("removed in block #"));
    assert_eq!(umbra(&url, &["measurement", "list"]).trim(), "the measurement allowlist is empty");
    let out = Command::new(binary("umbra"))
        .args(["--url", &url, "measurement", "remove", &hex_measurement])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("Registry.MeasurementNotFound"), "{err}");
}

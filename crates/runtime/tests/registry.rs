//! The Registry module on an in-memory chain: successful sim registration,
//! every way a registration can be wrong (each with its own error and no
//! change to the registry's storage), re-registration, endpoints, privileged
//! calls, and a real Intel DCAP quote going through block execution.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::collections::BTreeMap;
use std::path::PathBuf;

use umbra_attestation::{
    sim::{dev_sim_service_pair, SimEvidence, SimQuote},
    DcapCollateral, Evidence, Measurement, PlatformKind, TcbStatus,
};
use umbra_crypto::{ed25519, sr25519};
use umbra_primitives::{extrinsic::Era, H256};
use umbra_runtime::{
    event::EventRecord,
    modules::{
        registry::{
            self, AttestationConfig, Call, EndpointPayload, Error, TcbPolicy, WorkerFeatures, WorkerRegistrationInfo,
            WorkerRole,
        },
        sudo, system,
    },
    testing::{dev_account, TestChain},
    DispatchError, RuntimeCall, RuntimeEvent,
};

const SLOT_MS: u64 = 1000;
const MEASUREMENT: [u8; 32] = [0x5a; 32];

fn events(chain: &TestChain) -> Vec<EventRecord> {
    chain.ext().get(&system::keys::events()).unwrap_or_default()
}

fn nonce(chain: &TestChain, name: &str) -> u32 {
    chain.account(&dev_account(name)).nonce
}

/// Everything under the `Registry` prefix.
fn registry_state(chain: &TestChain) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let prefix = umbra_crypto::hashing::twox_128(registry::NAME.as_bytes());
    chain.state.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Runs `call` through Sudo as Alice; returns the inner dispatch result.
fn sudo(chain: &mut TestChain, call: Call) -> Result<(), DispatchError> {
    let n = nonce(chain, "Alice");
    let call = RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(RuntimeCall::Registry(Box::new(call))) });
    let xt = chain.sign("Alice", call, n, 0, Era::Immortal);
    assert_eq!(chain.produce(vec![xt]), vec![Ok(Ok(()))]);
    events(chain)
        .into_iter()
        .find_map(|e| match e.event {
            RuntimeEvent::Sudo(sudo::Event::Sudid { sudo_result }) => Some(sudo_result),
            _ => None,
        })
        .unwrap()
}

/// Submits `call` signed by Bob (the relayer); returns the dispatch result.
fn submit(chain: &mut TestChain, call: Call) -> Result<(), DispatchError> {
    let n = nonce(chain, "Bob");
    let xt = chain.sign("Bob", RuntimeCall::Registry(Box::new(call)), n, 0, Era::Immortal);
    let mut results = chain.produce(vec![xt]);
    results.pop().unwrap().unwrap()
}

/// Block time of the next block.
fn next_time(chain: &TestChain) -> u64 {
    (chain.slot + 1) * chain.slot_duration
}

struct Registration {
    identity: sr25519::Pair,
    role: WorkerRole,
    measurement: [u8; 32],
    service: ed25519::Pair,
    genesis: H256,
    issued_at_ms: u64,
    tcb_status: TcbStatus,
}

impl Registration {
    fn new(chain: &TestChain, seed: u8) -> Self {
        Self {
            identity: sr25519::Pair::from_seed(&[seed; 32]),
            role: WorkerRole::Worker,
            measurement: MEASUREMENT,
            service: dev_sim_service_pair(),
            genesis: chain.genesis_hash,
            issued_at_ms: next_time(chain),
            tcb_status: TcbStatus::UpToDate,
        }
    }

    fn info(&self) -> WorkerRegistrationInfo {
        WorkerRegistrationInfo {
            version: registry::INFO_VERSION,
            identity: self.identity.public(),
            ecdh_public: [7; 32],
            genesis_hash: self.genesis,
            operator: Some(dev_account("Charlie")),
            role: self.role,
            features: WorkerFeatures { cores: 8, memory_mb: 16_384 },
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

    fn call(&self) -> Call {
        let info = self.info();
        Call::register_worker { evidence: self.evidence_for(&info), info, collateral: None }
    }
}

fn chain_with_measurement() -> TestChain {
    let mut chain = TestChain::dev(SLOT_MS);
    chain.produce(vec![]);
    assert_eq!(sudo(&mut chain, Call::add_measurement { measurement: Measurement(MEASUREMENT.to_vec()) }), Ok(()));
    chain
}

fn module_error(e: Error) -> Result<(), DispatchError> {
    Err(DispatchError::from(e))
}

#[test]
fn sim_registration_succeeds_and_refreshes() {
    let mut chain = chain_with_measurement();
    let reg = Registration::new(&chain, 1);
    assert_eq!(submit(&mut chain, reg.call()), Ok(()));
    let worker = registry::worker(&chain.ext(), &reg.identity.public()).unwrap();
    assert_eq!(worker.platform, PlatformKind::Sim);
    assert_eq!(worker.measurement, Measurement(MEASUREMENT.to_vec()));
    assert_eq!(worker.confidence_level, 1);
    assert_eq!(worker.ecdh_public, [7; 32]);
    assert_eq!(worker.operator, Some(dev_account("Charlie")));
    let registered_at = worker.registered_at;
    assert!(events(&chain).iter().any(|e| matches!(&e.event,
        RuntimeEvent::Registry(registry::Event::WorkerRegistered { identity, role: WorkerRole::Worker, .. })
            if *identity == reg.identity.public())));

    // Re-registration with newer evidence refreshes the record.
    chain.produce(vec![]);
    let mut again = Registration::new(&chain, 1);
    again.tcb_status = TcbStatus::SwHardeningNeeded;
    assert_eq!(submit(&mut chain, again.call()), Ok(()));
    let worker = registry::worker(&chain.ext(), &reg.identity.public()).unwrap();
    assert_eq!(worker.registered_at, registered_at);
    assert_eq!(worker.confidence_level, 2);
    assert!(worker.last_attested_block > registered_at);
    assert!(events(&chain)
        .iter()
        .any(|e| matches!(&e.event, RuntimeEvent::Registry(registry::Event::WorkerReattested { .. }))));
    // Replaying the older registration is refused.
    let before = registry_state(&chain);
    assert_eq!(submit(&mut chain, reg.call()), module_error(Error::AttestationOutdated));
    assert_eq!(registry_state(&chain), before);
}

#[test]
fn every_bad_registration_has_its_own_error_and_changes_nothing() {
    let mut chain = chain_with_measurement();
    let good = Registration::new(&chain, 1);
    let good_info = good.info();
    let good_evidence = good.evidence_for(&good_info);

    let mut cases: Vec<(&str, Call, Error)> = Vec::new();
    // The same evidence replayed for a different identity key.
    let mut other = good_info.clone();
    other.identity = sr25519::Pair::from_seed(&[2; 32]).public();
    cases.push((
        "replayed for another identity",
        Call::register_worker { info: other, evidence: good_evidence.clone(), collateral: None },
        Error::ReportDataMismatch,
    ));
    // A measurement not on the allowlist.
    let mut unlisted = Registration::new(&chain, 3);
    unlisted.measurement = [0x77; 32];
    cases.push(("measurement not allowed", unlisted.call(), Error::MeasurementNotAllowed));
    // Evidence for another genesis hash.
    let mut foreign = Registration::new(&chain, 4);
    foreign.genesis = H256::repeat_byte(9);
    cases.push(("other genesis", foreign.call(), Error::GenesisMismatch));
    // A simulated attestation service the chain does not list.
    let mut rogue = Registration::new(&chain, 5);
    rogue.service = ed25519::Pair::from_seed(&[66; 32]);
    cases.push(("sim key not allowed", rogue.call(), Error::SimKeyNotAllowed));
    // Stale evidence (older than the 2 h maximum age).
    let mut stale = Registration::new(&chain, 6);
    stale.issued_at_ms = next_time(&chain) - 2 * 60 * 60 * 1000 - 60_000;
    cases.push(("stale", stale.call(), Error::AttestationTooOld));
    // A gatekeeper whose platform is out of date (level 5 > 2).
    let mut gatekeeper = Registration::new(&chain, 7);
    gatekeeper.role = WorkerRole::Gatekeeper;
    gatekeeper.tcb_status = TcbStatus::OutOfDate;
    cases.push(("gatekeeper TCB", gatekeeper.call(), Error::TcbPolicyViolated));
    // Further ways to be wrong.
    let mut version = good_info.clone();
    version.version = 2;
    let evidence = good.evidence_for(&version);
    cases.push((
        "info version",
        Call::register_worker { info: version, evidence, collateral: None },
        Error::UnsupportedInfoVersion,
    ));
    let mut platform = good_info.clone();
    platform.platform = PlatformKind::SgxDcap;
    let evidence = good.evidence_for(&platform);
    cases.push((
        "platform mismatch",
        Call::register_worker { info: platform, evidence, collateral: None },
        Error::PlatformMismatch,
    ));
    let Evidence::Sim(mut forged) = good_evidence.clone() else { unreachable!() };
    forged.quote.measurement[0] ^= 1;
    cases.push((
        "forged signature",
        Call::register_worker { info: good_info.clone(), evidence: Evidence::Sim(forged), collateral: None },
        Error::AttestationInvalid,
    ));
    cases.push((
        "DCAP without collateral",
        Call::register_worker {
            info: good_info.clone(),
            evidence: Evidence::Dcap(vec![3, 0, 2, 0, 0, 0, 0, 0]),
            collateral: None,
        },
        Error::MissingCollateral,
    ));
    let mut future = Registration::new(&chain, 8);
    future.issued_at_ms = next_time(&chain) + 10 * 60 * 1000;
    cases.push(("from the future", future.call(), Error::AttestationFromFuture));

    let before = registry_state(&chain);
    let mut seen = Vec::new();
    for (name, call, expected) in cases {
        assert_eq!(submit(&mut chain, call), module_error(expected), "{name}");
        assert_eq!(registry_state(&chain), before, "{name} changed the registry");
        seen.push(expected as u8);
    }
    seen.sort();
    let count = seen.len();
    seen.dedup();
    assert_eq!(seen.len(), count, "every case has its own error");

    // The good registration still works, and the gatekeeper one passes as a worker.
    assert_eq!(
        submit(&mut chain, Call::register_worker { info: good_info, evidence: good_evidence, collateral: None }),
        Ok(())
    );
    let mut as_worker = Registration::new(&chain, 7);
    as_worker.tcb_status = TcbStatus::OutOfDate;
    assert_eq!(submit(&mut chain, as_worker.call()), Ok(()));
}

#[test]
fn production_configuration_refuses_simulated_evidence() {
    let mut chain = chain_with_measurement();
    let mut config = AttestationConfig::production();
    assert!(!config.platforms.contains(&PlatformKind::Sim));
    assert_eq!(sudo(&mut chain, Call::set_attestation_config { config: config.clone() }), Ok(()));
    let reg = Registration::new(&chain, 1);
    assert_eq!(submit(&mut chain, reg.call()), module_error(Error::PlatformNotAccepted));
    // Out-of-bounds configurations and policies are refused.
    config.max_attestation_age_ms = 1;
    assert_eq!(
        sudo(&mut chain, Call::set_attestation_config { config }),
        module_error(Error::InvalidAttestationConfig)
    );
    let policy = TcbPolicy { max_confidence_level: 6, denied_advisories: vec![] };
    assert_eq!(
        sudo(&mut chain, Call::set_tcb_policy { role: WorkerRole::Worker, policy }),
        module_error(Error::InvalidTcbPolicy)
    );
}

/// Section 6: the simulated TEE is tied to the chain, not only to its
/// configuration. A chain whose genesis does not allow simulation (a `Live`
/// chain) refuses a genesis listing it, refuses `set_attestation_config`
/// listing it, and refuses simulated evidence even if listed.
#[test]
fn a_chain_without_simulation_never_accepts_the_simulated_tee() {
    // Genesis listing the simulated TEE without allowing it: refused.
    let mut genesis = umbra_runtime::testing::dev_genesis(SLOT_MS);
    genesis.registry.allow_simulation = false;
    assert!(umbra_runtime::genesis::build(&genesis).is_err(), "a live genesis listing sim");
    // A live genesis (production attestation): sim can never be configured.
    genesis.registry = registry::GenesisConfig::default();
    let mut chain = TestChain::from_genesis(&genesis);
    assert!(!registry::simulation_allowed(&chain.ext()));
    chain.produce(vec![]);
    let mut with_sim = AttestationConfig::production();
    with_sim.platforms.push(PlatformKind::Sim);
    with_sim.sim_keys.push(dev_sim_service_pair().public().0);
    let before = registry_state(&chain);
    assert_eq!(
        sudo(&mut chain, Call::set_attestation_config { config: with_sim.clone() }),
        module_error(Error::SimulationNotAllowed)
    );
    assert_eq!(registry_state(&chain), before, "nothing stored");
    let only_key = AttestationConfig { sim_keys: with_sim.sim_keys.clone(), ..AttestationConfig::production() };
    assert_eq!(
        sudo(&mut chain, Call::set_attestation_config { config: only_key }),
        module_error(Error::SimulationNotAllowed)
    );
    // Simulated evidence is refused as such (before its platform is even
    // looked at).
    assert_eq!(sudo(&mut chain, Call::add_measurement { measurement: Measurement(MEASUREMENT.to_vec()) }), Ok(()));
    let reg = Registration::new(&chain, 1);
    assert_eq!(submit(&mut chain, reg.call()), module_error(Error::SimulationNotAllowed));
    // A development chain allows it (and refuses nothing of the above).
    let dev = TestChain::dev(SLOT_MS);
    assert!(registry::simulation_allowed(&dev.ext()));
}

#[test]
fn tcb_policy_and_denied_advisories_apply_per_role() {
    let mut chain = chain_with_measurement();
    let policy = TcbPolicy { max_confidence_level: 5, denied_advisories: vec!["INTEL-SA-00615".into()] };
    assert_eq!(sudo(&mut chain, Call::set_tcb_policy { role: WorkerRole::Worker, policy }), Ok(()));
    let reg = Registration::new(&chain, 1);
    let info = reg.info();
    let mut report_data = [0u8; 64];
    report_data[..32].copy_from_slice(&info.binding());
    let quote = SimQuote {
        measurement: MEASUREMENT,
        report_data,
        issued_at_ms: reg.issued_at_ms,
        tcb_status: TcbStatus::SwHardeningNeeded,
        advisories: vec!["INTEL-SA-00615".into()],
    };
    let evidence = Evidence::Sim(SimEvidence::sign(quote, &reg.service));
    assert_eq!(
        submit(&mut chain, Call::register_worker { info, evidence, collateral: None }),
        module_error(Error::AdvisoryDenied)
    );
}

#[test]
fn privileged_calls_need_root_and_keep_the_allowlist_consistent() {
    let mut chain = chain_with_measurement();
    let m = Measurement(MEASUREMENT.to_vec());
    assert_eq!(
        submit(&mut chain, Call::add_measurement { measurement: Measurement(vec![1; 32]) }),
        Err(DispatchError::BadOrigin)
    );
    assert_eq!(
        sudo(&mut chain, Call::add_measurement { measurement: m.clone() }),
        module_error(Error::MeasurementAlreadyAllowed)
    );
    assert_eq!(
        sudo(&mut chain, Call::add_measurement { measurement: Measurement(vec![]) }),
        module_error(Error::InvalidMeasurement)
    );
    assert_eq!(
        sudo(&mut chain, Call::add_measurement { measurement: Measurement(vec![1; 257]) }),
        module_error(Error::InvalidMeasurement)
    );
    assert!(registry::measurement_allowed_at(&chain.ext(), &m).is_some());
    assert_eq!(sudo(&mut chain, Call::remove_measurement { measurement: m.clone() }), Ok(()));
    assert_eq!(
        sudo(&mut chain, Call::remove_measurement { measurement: m.clone() }),
        module_error(Error::MeasurementNotFound)
    );
    // Once removed, registrations with it fail.
    let reg = Registration::new(&chain, 1);
    assert_eq!(submit(&mut chain, reg.call()), module_error(Error::MeasurementNotAllowed));
}

#[test]
fn endpoints_are_signed_fresh_and_not_replayable() {
    let mut chain = chain_with_measurement();
    let reg = Registration::new(&chain, 1);
    let identity = reg.identity.public();
    let payload =
        |at: u64, url: &str| EndpointPayload { identity, endpoint: url.as_bytes().to_vec(), signed_at_ms: at };
    let sign = |chain: &TestChain, p: &EndpointPayload| {
        reg.identity.sign_deterministic(&p.signing_message(&chain.genesis_hash)).0
    };
    // Not registered yet.
    let p = payload(next_time(&chain), "https://worker-1.example:8000");
    let sig = sign(&chain, &p);
    assert_eq!(
        submit(&mut chain, Call::update_endpoint { payload: p, signature: sig }),
        module_error(Error::WorkerNotRegistered)
    );
    assert_eq!(submit(&mut chain, reg.call()), Ok(()));

    let p = payload(next_time(&chain), "https://worker-1.example:8000");
    let sig = sign(&chain, &p);
    assert_eq!(submit(&mut chain, Call::update_endpoint { payload: p.clone(), signature: sig }), Ok(()));
    let stored: registry::EndpointRecord = chain.ext().get(&registry::keys::endpoint(&identity)).unwrap();
    assert_eq!(stored.endpoint, b"https://worker-1.example:8000");
    // Replayed: refused.
    assert_eq!(
        submit(&mut chain, Call::update_endpoint { payload: p.clone(), signature: sig }),
        module_error(Error::StaleEndpoint)
    );
    // Forged: refused.
    let mut forged = p.clone();
    forged.signed_at_ms += 1;
    assert_eq!(
        submit(&mut chain, Call::update_endpoint { payload: forged, signature: sig }),
        module_error(Error::InvalidEndpointSignature)
    );
    // Older than 4 hours: refused.
    let old = payload(next_time(&chain) - registry::MAX_ENDPOINT_AGE_MS - 1, "https://old.example");
    let sig = sign(&chain, &old);
    assert_eq!(
        submit(&mut chain, Call::update_endpoint { payload: old, signature: sig }),
        module_error(Error::StaleEndpoint)
    );
    // Not printable ASCII or too long: refused.
    for bad in ["", "https://a b", &"x".repeat(257)] {
        let p = payload(next_time(&chain), bad);
        let sig = sign(&chain, &p);
        assert_eq!(
            submit(&mut chain, Call::update_endpoint { payload: p, signature: sig }),
            module_error(Error::InvalidEndpoint)
        );
    }
}

fn testdata(rel: &str) -> Vec<u8> {
    let root = std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    std::fs::read(root.join(rel)).unwrap()
}

#[test]
fn a_real_intel_quote_is_verified_inside_block_execution() {
    let mut chain = TestChain::dev(SLOT_MS);
    // Move block time into the sample collateral's window (2025-07-01).
    let july_2025_ms = umbra_attestation::time::parse_rfc3339("2025-07-01T00:00:00Z").unwrap() * 1000;
    chain.slot = july_2025_ms / SLOT_MS;
    chain.produce(vec![]);
    let quote = testdata("sgx/dcap-qvl/sgx_quote");
    let collateral = DcapCollateral::from_json(&testdata("sgx/dcap-qvl/sgx_quote_collateral.json")).unwrap();
    let policy = umbra_attestation::Policy::new(&PlatformKind::ALL, &[], 0);
    let verified =
        umbra_attestation::verify(&Evidence::Dcap(quote.clone()), Some(&collateral), july_2025_ms / 1000, &policy)
            .unwrap();
    assert_eq!(sudo(&mut chain, Call::add_measurement { measurement: verified.measurement.clone() }), Ok(()));

    let mut reg = Registration::new(&chain, 1);
    reg.issued_at_ms = next_time(&chain);
    let mut info = reg.info();
    info.platform = PlatformKind::SgxDcap;
    // The quote is genuine and allowed, but Intel's sample binds "Hello,
    // world!", not this registration: the binding check refuses it.
    let call = Call::register_worker {
        info: info.clone(),
        evidence: Evidence::Dcap(quote.clone()),
        collateral: Some(collateral.clone()),
    };
    let dispatch_info = RuntimeCall::Registry(Box::new(call.clone())).info();
    assert!(dispatch_info.weight.ref_time >= registry::weights::VERIFY_DCAP.ref_time);
    assert_eq!(submit(&mut chain, call), module_error(Error::ReportDataMismatch));
    // A flipped byte in the collateral: the evidence itself is refused.
    let mut bad = collateral.clone();
    bad.tcb_info_signature[0] ^= 1;
    assert_eq!(
        submit(
            &mut chain,
            Call::register_worker {
                info: info.clone(),
                evidence: Evidence::Dcap(quote.clone()),
                collateral: Some(bad)
            }
        ),
        module_error(Error::AttestationInvalid)
    );
    // After the collateral's window: refused as not valid at block time.
    chain.slot += 30 * 24 * 60 * 60;
    assert_eq!(
        submit(
            &mut chain,
            Call::register_worker { info, evidence: Evidence::Dcap(quote), collateral: Some(collateral) }
        ),
        module_error(Error::CollateralNotValid)
    );
}

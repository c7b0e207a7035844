//! The Gatekeeper module: who may become a gatekeeper, the genesis key,
//! rotation (first proposal wins, lock), the last gatekeeper, the signed
//! `Gatekeeper` channel (forged signature, wrong sequence refused), cluster
//! key publication; contract code validated at upload (Contracts).
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use parity_scale_codec::Encode;
use umbra_attestation::{
    sim::{dev_sim_service_pair, SimEvidence, SimQuote},
    Evidence, Measurement, PlatformKind, TcbStatus,
};
use umbra_crypto::{hierarchy::MasterSecret, labels::Domain, sr25519};
use umbra_primitives::extrinsic::Era;
use umbra_runtime::{
    event::EventRecord,
    modules::{
        contracts,
        gatekeeper::{self, Error, GenesisKey, Handover, RotationProposal},
        message_queue::{self, Message, MessageOrigin, SignedMessage},
        registry::{self, WorkerFeatures, WorkerRegistrationInfo, WorkerRole},
        sudo, system,
    },
    testing::{dev_account, TestChain},
    DispatchError, RuntimeCall, RuntimeEvent,
};

fn events(chain: &TestChain) -> Vec<EventRecord> {
    chain.ext().get(&system::keys::events()).unwrap_or_default()
}

fn submit(chain: &mut TestChain, who: &str, call: RuntimeCall) -> Result<(), DispatchError> {
    let n = chain.account(&dev_account(who)).nonce;
    let xt = chain.sign(who, call, n, 0, Era::Immortal);
    chain.produce(vec![xt]).pop().unwrap().unwrap()
}

fn sudo(chain: &mut TestChain, call: RuntimeCall) -> Result<(), DispatchError> {
    submit(chain, "Alice", RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(call) })).unwrap();
    events(chain)
        .into_iter()
        .find_map(|e| match e.event {
            RuntimeEvent::Sudo(sudo::Event::Sudid { sudo_result }) => Some(sudo_result),
            _ => None,
        })
        .unwrap()
}

fn register(chain: &mut TestChain, key: &sr25519::Pair, role: WorkerRole, tcb: TcbStatus) {
    let now = (chain.slot + 1) * chain.slot_duration;
    let info = WorkerRegistrationInfo {
        version: registry::INFO_VERSION,
        identity: key.public(),
        ecdh_public: umbra_crypto::x25519::Secret::from_bytes(key.public().0).public().0,
        genesis_hash: chain.genesis_hash,
        operator: None,
        role,
        features: WorkerFeatures::default(),
        platform: PlatformKind::Sim,
        attested_at_ms: now,
    };
    let mut report_data = [0u8; 64];
    report_data[..32].copy_from_slice(&info.binding());
    let quote = SimQuote { measurement: [9; 32], report_data, issued_at_ms: now, tcb_status: tcb, advisories: vec![] };
    let evidence = Evidence::Sim(SimEvidence::sign(quote, &dev_sim_service_pair()));
    let call = registry::Call::register_worker { info, evidence, collateral: None };
    assert_eq!(submit(chain, "Bob", RuntimeCall::Registry(Box::new(call))), Ok(()));
}

fn gk(call: gatekeeper::Call) -> RuntimeCall {
    RuntimeCall::Gatekeeper(call)
}

/// Signs `payload` on `topic` as `origin` with `key` at `sequence`.
fn message(
    chain: &TestChain,
    origin: MessageOrigin,
    key: &sr25519::Pair,
    topic: &[u8],
    payload: Vec<u8>,
    sequence: u64,
) -> RuntimeCall {
    let message = Message { sender: origin, destination: topic.to_vec(), payload };
    let signature = key.sign_deterministic(&message_queue::signing_payload(&chain.genesis_hash, &message, sequence)).0;
    RuntimeCall::MessageQueue(message_queue::Call::sync_offchain_message {
        signed: SignedMessage { message, sequence, signature },
    })
}

fn rejected_with(chain: &TestChain, error: Error) -> bool {
    events(chain).iter().any(|e| matches!(&e.event,
        RuntimeEvent::MessageQueue(message_queue::Event::MessageRejected { error: got, .. }) if *got == DispatchError::from(error)))
}

#[test]
fn gatekeeper_lifecycle_on_chain() {
    let mut chain = TestChain::dev(1000);
    chain.produce(vec![]);
    assert_eq!(
        sudo(
            &mut chain,
            RuntimeCall::Registry(Box::new(registry::Call::add_measurement { measurement: Measurement(vec![9; 32]) }))
        ),
        Ok(())
    );
    let g1 = sr25519::Pair::from_seed(&[1; 32]);
    let g2 = sr25519::Pair::from_seed(&[2; 32]);
    let worker = sr25519::Pair::from_seed(&[3; 32]);
    let weak = sr25519::Pair::from_seed(&[4; 32]);
    register(&mut chain, &g1, WorkerRole::Gatekeeper, TcbStatus::UpToDate);
    register(&mut chain, &g2, WorkerRole::Gatekeeper, TcbStatus::UpToDate);
    register(&mut chain, &worker, WorkerRole::Worker, TcbStatus::UpToDate);

    // Eligibility.
    let module = |e: Error| Err(DispatchError::from(e));
    assert_eq!(
        sudo(&mut chain, gk(gatekeeper::Call::add_gatekeeper { identity: worker.public() })),
        module(Error::NotGatekeeperRole)
    );
    assert_eq!(
        sudo(&mut chain, gk(gatekeeper::Call::add_gatekeeper { identity: weak.public() })),
        module(Error::NotRegistered)
    );
    assert_eq!(sudo(&mut chain, gk(gatekeeper::Call::start_rotation {})), module(Error::NoMasterKey));
    assert_eq!(sudo(&mut chain, gk(gatekeeper::Call::add_gatekeeper { identity: g1.public() })), Ok(()));
    assert_eq!(
        sudo(&mut chain, gk(gatekeeper::Call::add_gatekeeper { identity: g1.public() })),
        module(Error::AlreadyGatekeeper)
    );
    assert_eq!(
        sudo(&mut chain, gk(gatekeeper::Call::remove_gatekeeper { identity: g1.public() })),
        module(Error::LastGatekeeper)
    );
    // Root only.
    assert!(submit(&mut chain, "Bob", gk(gatekeeper::Call::start_rotation {})).is_err());

    // Epoch 0: only the first gatekeeper, only once.
    let master0 = MasterSecret::from_bytes([10; 32]);
    let gk0 = master0.gatekeeper_signing(Domain::Production);
    let genesis_key = GenesisKey { pubkey: gk0.public() }.encode();
    let call = message(
        &chain,
        MessageOrigin::Worker(worker.public()),
        &worker,
        gatekeeper::GENESIS_KEY_TOPIC,
        genesis_key.clone(),
        0,
    );
    assert_eq!(submit(&mut chain, "Ferdie", call), Ok(()));
    assert!(rejected_with(&chain, Error::GenesisKeyRefused));
    let call =
        message(&chain, MessageOrigin::Worker(g1.public()), &g1, gatekeeper::GENESIS_KEY_TOPIC, genesis_key.clone(), 0);
    assert_eq!(submit(&mut chain, "Ferdie", call), Ok(()));
    assert_eq!(gatekeeper::master_pubkey(&chain.ext(), 0), Some(gk0.public()));
    assert_eq!(gatekeeper::channel_key(&chain.ext()), Some(gk0.public()));
    let call = message(&chain, MessageOrigin::Worker(g1.public()), &g1, gatekeeper::GENESIS_KEY_TOPIC, genesis_key, 1);
    assert_eq!(submit(&mut chain, "Ferdie", call), Ok(()));
    assert!(rejected_with(&chain, Error::GenesisKeyRefused));

    // A gatekeeper whose measurement left the allowlist no longer qualifies.
    let m = || Measurement(vec![9; 32]);
    assert_eq!(
        sudo(&mut chain, RuntimeCall::Registry(Box::new(registry::Call::remove_measurement { measurement: m() }))),
        Ok(())
    );
    assert_eq!(
        sudo(&mut chain, gk(gatekeeper::Call::add_gatekeeper { identity: g2.public() })),
        module(Error::PolicyNotMet)
    );
    assert_eq!(
        sudo(&mut chain, RuntimeCall::Registry(Box::new(registry::Call::add_measurement { measurement: m() }))),
        Ok(())
    );

    // The Gatekeeper channel: forged signature and wrong sequence refused.
    assert_eq!(sudo(&mut chain, gk(gatekeeper::Call::add_gatekeeper { identity: g2.public() })), Ok(()));
    let handover = Handover { newcomer: g2.public(), envelope: vec![1, 2, 3] }.encode();
    let forged = message(&chain, MessageOrigin::Gatekeeper, &g1, gatekeeper::HANDOVER_TOPIC, handover.clone(), 0);
    assert_eq!(submit(&mut chain, "Ferdie", forged), Err(message_queue::Error::BadSignature.into()));
    let skipped = message(&chain, MessageOrigin::Gatekeeper, &gk0, gatekeeper::HANDOVER_TOPIC, handover.clone(), 1);
    assert_eq!(submit(&mut chain, "Ferdie", skipped), Err(message_queue::Error::BadSequence.into()));
    let good = message(&chain, MessageOrigin::Gatekeeper, &gk0, gatekeeper::HANDOVER_TOPIC, handover.clone(), 0);
    assert_eq!(submit(&mut chain, "Ferdie", good.clone()), Ok(()));
    let notices = message_queue::outbound(&chain.ext());
    assert!(notices.iter().any(|m| m.destination == gatekeeper::TOPIC));
    // Another gatekeeper's identical copy is a replay.
    assert_eq!(submit(&mut chain, "Dave", good), Err(message_queue::Error::BadSequence.into()));

    // Clusters only of registered workers (no key can ever be addressed to
    // an unregistered one).
    assert_eq!(
        sudo(&mut chain, RuntimeCall::Contracts(contracts::Call::create_cluster { workers: vec![weak.public()] })),
        Err(contracts::Error::WorkerNotRegistered.into())
    );
    // Clusters and published cluster keys.
    assert_eq!(
        sudo(&mut chain, RuntimeCall::Contracts(contracts::Call::create_cluster { workers: vec![worker.public()] })),
        Ok(())
    );
    let cluster = contracts::cluster_id(0);
    let cluster_key = master0.cluster_key(Domain::Production, &cluster.0);
    let delivery = contracts::ClusterKeys {
        cluster,
        epoch: 0,
        cluster_pubkey: cluster_key.signing(Domain::Production).public(),
        cluster_ecdh: cluster_key.ecdh(Domain::Production).public().0,
        deliveries: vec![(worker.public(), vec![7; 48])],
    };
    let outsider = contracts::ClusterKeys { deliveries: vec![(g2.public(), vec![7; 48])], ..delivery.clone() };
    let call = message(&chain, MessageOrigin::Gatekeeper, &gk0, contracts::CLUSTER_KEYS_TOPIC, outsider.encode(), 1);
    assert_eq!(submit(&mut chain, "Ferdie", call), Ok(()));
    assert!(events(&chain).iter().any(|e| matches!(&e.event,
        RuntimeEvent::MessageQueue(message_queue::Event::MessageRejected { error, .. })
            if *error == DispatchError::from(contracts::Error::BadDelivery))));
    let call = message(&chain, MessageOrigin::Gatekeeper, &gk0, contracts::CLUSTER_KEYS_TOPIC, delivery.encode(), 2);
    assert_eq!(submit(&mut chain, "Ferdie", call), Ok(()));
    let published: Option<(u32, sr25519::Public)> = chain.ext().get(&contracts::keys::cluster_pubkey(&cluster));
    assert_eq!(published, Some((0, delivery.cluster_pubkey)));

    // Rotation: the first valid proposal wins; later ones are refused.
    assert_eq!(sudo(&mut chain, gk(gatekeeper::Call::start_rotation {})), Ok(()));
    assert_eq!(sudo(&mut chain, gk(gatekeeper::Call::start_rotation {})), module(Error::RotationInProgress));
    let proposal = |proposer: &sr25519::Pair, secret: u8| RotationProposal {
        epoch: 1,
        pubkey: MasterSecret::from_bytes([secret; 32]).gatekeeper_signing(Domain::Production).public(),
        proposer: proposer.public(),
        envelopes: vec![(g1.public(), vec![secret; 48]), (g2.public(), vec![secret; 48])],
    };
    let mut incomplete = proposal(&g2, 21);
    incomplete.envelopes.pop();
    let call =
        message(&chain, MessageOrigin::Worker(g2.public()), &g2, gatekeeper::ROTATION_TOPIC, incomplete.encode(), 0);
    assert_eq!(submit(&mut chain, "Ferdie", call), Ok(()));
    assert!(rejected_with(&chain, Error::BadEnvelopes));
    let first = message(
        &chain,
        MessageOrigin::Worker(g2.public()),
        &g2,
        gatekeeper::ROTATION_TOPIC,
        proposal(&g2, 21).encode(),
        1,
    );
    let second = message(
        &chain,
        MessageOrigin::Worker(g1.public()),
        &g1,
        gatekeeper::ROTATION_TOPIC,
        proposal(&g1, 22).encode(),
        2,
    );
    assert_eq!(submit(&mut chain, "Ferdie", first), Ok(()));
    assert_eq!(submit(&mut chain, "Ferdie", second), Ok(()));
    assert!(rejected_with(&chain, Error::NoSuchRotation));
    assert_eq!(gatekeeper::current_epoch(&chain.ext()), Some(1));
    let epoch1 = MasterSecret::from_bytes([21; 32]).gatekeeper_signing(Domain::Production);
    assert_eq!(gatekeeper::channel_key(&chain.ext()), Some(epoch1.public()));
    // The old epoch's key no longer signs the channel.
    let stale = message(&chain, MessageOrigin::Gatekeeper, &gk0, gatekeeper::HANDOVER_TOPIC, handover, 3);
    assert_eq!(submit(&mut chain, "Ferdie", stale), Err(message_queue::Error::BadSignature.into()));

    // Removal starts a rotation; the removed gatekeeper is not a recipient.
    assert_eq!(sudo(&mut chain, gk(gatekeeper::Call::remove_gatekeeper { identity: g1.public() })), Ok(()));
    assert_eq!(gatekeeper::gatekeepers(&chain.ext()), vec![g2.public()]);
    assert_eq!(chain.ext().get::<u32>(&gatekeeper::keys::rotation_lock()), Some(2));
}

#[test]
fn contract_code_is_validated_at_upload() {
    let mut chain = TestChain::dev(1000);
    chain.produce(vec![]);
    let upload = |code: Vec<u8>| RuntimeCall::Contracts(contracts::Call::upload_code { code });
    let module = |extra: &str| {
        wat::parse_str(format!(
            r#"(module {extra} (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#
        ))
        .unwrap()
    };
    let good = module("");
    assert_eq!(submit(&mut chain, "Bob", upload(good.clone())), Ok(()));
    let hash = umbra_primitives::H256(umbra_crypto::hashing::blake2_256(&good));
    let stored: Vec<u8> = chain.ext().get(&contracts::keys::code(&hash)).unwrap();
    assert_eq!(stored, good);
    assert_eq!(submit(&mut chain, "Bob", upload(good)), Err(contracts::Error::CodeExists.into()));
    // Each refusal has its own error and stores nothing.
    let cases = [
        (module(r#"(func (drop (f32.const 1)))"#), contracts::Error::FloatingPoint),
        (module(r#"(import "env" "x" (func))"#), contracts::Error::InvalidImport),
        (module(r#"(func $s) (start $s)"#), contracts::Error::StartFunction),
        (
            wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "deploy")))"#).unwrap(),
            contracts::Error::MissingExport,
        ),
        (b"\0asm\x01\0\0\0junk".to_vec(), contracts::Error::InvalidWasm),
    ];
    for (code, error) in cases {
        let hash = umbra_primitives::H256(umbra_crypto::hashing::blake2_256(&code));
        assert_eq!(submit(&mut chain, "Bob", upload(code)), Err(error.into()));
        assert!(!chain.ext().exists(&contracts::keys::code(&hash)));
    }
}

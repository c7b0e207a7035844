//! The MessageQueue module and the runtime's router: worker egress with
//! signatures and exact sequences, pool tags, topic ownership (module notice
//! topics closed to every off-chain origin, on-chain topics open only to
//! their origin kinds, unknown topics refused, nothing stored on refusal),
//! and chain → worker notices in `Outbound` for one block.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use umbra_attestation::{
    sim::{dev_sim_service_pair, SimEvidence, SimQuote},
    Evidence, Measurement, PlatformKind, TcbStatus,
};
use umbra_crypto::sr25519;
use umbra_primitives::{extrinsic::Era, H256};
use umbra_runtime::{
    event::EventRecord,
    modules::{
        contracts, gatekeeper,
        message_queue::{self, Error, Message, MessageOrigin, SignedMessage},
        registry::{self, Heartbeat, WorkerFeatures, WorkerRegistrationInfo, WorkerRole},
        sudo, system,
    },
    testing::TestChain,
    validation::{validate_transaction, TransactionSource},
    DispatchError, InvalidTransaction, RuntimeCall, RuntimeEvent, TransactionValidityError,
};

fn events(chain: &TestChain) -> Vec<EventRecord> {
    chain.ext().get(&system::keys::events()).unwrap_or_default()
}

fn submit(chain: &mut TestChain, call: RuntimeCall) -> Result<(), DispatchError> {
    let n = chain.account(&umbra_runtime::testing::dev_account("Bob")).nonce;
    let xt = chain.sign("Bob", call, n, 0, Era::Immortal);
    chain.produce(vec![xt]).pop().unwrap().unwrap()
}

fn register(chain: &mut TestChain, identity: &sr25519::Pair) {
    let n = chain.account(&umbra_runtime::testing::dev_account("Alice")).nonce;
    let add = registry::Call::add_measurement { measurement: Measurement(vec![9; 32]) };
    let call = RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(RuntimeCall::Registry(Box::new(add))) });
    let xt = chain.sign("Alice", call, n, 0, Era::Immortal);
    chain.produce(vec![xt]);
    let now = (chain.slot + 1) * chain.slot_duration;
    let info = WorkerRegistrationInfo {
        version: registry::INFO_VERSION,
        identity: identity.public(),
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
    let call = registry::Call::register_worker { info, evidence, collateral: None };
    assert_eq!(submit(chain, RuntimeCall::Registry(Box::new(call))), Ok(()));
}

fn signed(chain: &Chain, key: &sr25519::Pair, topic: &[u8], payload: Vec<u8>, sequence: u64) -> SignedMessage {
    let message = Message { sender: MessageOrigin::Worker(key.public()), destination: topic.to_vec(), payload };
    let signature = key.sign_deterministic(&message_queue::signing_payload(&chain.genesis_hash, &message, sequence)).0;
    SignedMessage { message, sequence, signature }
}

fn sync(signed: SignedMessage) -> RuntimeCall {
    RuntimeCall::MessageQueue(message_queue::Call::sync_offchain_message { signed })
}

fn heartbeat(chain: &Chain, key: &sr25519::Pair, synced_block: u32, sequence: u64) -> SignedMessage {
    signed(chain, key, registry::HEARTBEAT_TOPIC, Heartbeat { synced_block }.encode_to_vec(), sequence)
}

trait EncodeVec {
    fn encode_to_vec(&self) -> Vec<u8>;
}
impl<T: parity_scale_codec::Encode> EncodeVec for T {
    fn encode_to_vec(&self) -> Vec<u8> {
        self.encode()
    }
}

/// What message helpers need of the chain: its genesis hash.
struct Chain {
    genesis_hash: H256,
}

fn g(chain: &TestChain) -> Chain {
    Chain { genesis_hash: chain.genesis_hash }
}

fn err(e: Error) -> Result<(), DispatchError> {
    Err(e.into())
}

#[test]
fn registration_is_announced_to_workers_for_one_block() {
    let mut chain = TestChain::dev(1000);
    chain.produce(vec![]);
    let worker = sr25519::Pair::from_seed(&[4; 32]);
    register(&mut chain, &worker);
    let outbound = message_queue::outbound(&chain.ext());
    assert_eq!(outbound.len(), 1);
    assert_eq!(outbound[0].sender, MessageOrigin::Module(b"Registry".to_vec()));
    assert_eq!(outbound[0].destination, registry::TOPIC);
    assert!(umbra_runtime::routing::is_authentic_notice(&outbound[0]));
    let notice: registry::Notice = parity_scale_codec::Decode::decode(&mut &outbound[0].payload[..]).unwrap();
    assert_eq!(notice, registry::Notice::Registered { identity: worker.public(), role: WorkerRole::Worker });
    chain.produce(vec![]);
    assert!(message_queue::outbound(&chain.ext()).is_empty(), "cleared in the next block");
}

#[test]
fn egress_needs_signature_registration_and_exact_sequence() {
    let mut chain = TestChain::dev(1000);
    let gh = g(&chain);
    chain.produce(vec![]);
    let worker = sr25519::Pair::from_seed(&[4; 32]);
    register(&mut chain, &worker);
    let origin = MessageOrigin::Worker(worker.public());
    let number: u32 = chain.ext().get(&system::keys::number()).unwrap();

    // Unregistered worker.
    let stranger = sr25519::Pair::from_seed(&[5; 32]);
    assert_eq!(submit(&mut chain, sync(heartbeat(&gh, &stranger, 1, 0))), err(Error::UnknownWorker));
    // Forged: signed by another key, or for another sequence than claimed.
    let mut forged = heartbeat(&gh, &stranger, 1, 0);
    forged.message.sender = origin.clone();
    assert_eq!(submit(&mut chain, sync(forged)), err(Error::BadSignature));
    let mut resequenced = heartbeat(&gh, &worker, 1, 0);
    resequenced.sequence = 1;
    assert_eq!(submit(&mut chain, sync(resequenced)), err(Error::BadSignature));
    // Skipped sequence.
    assert_eq!(submit(&mut chain, sync(heartbeat(&gh, &worker, 1, 1))), err(Error::BadSequence));
    assert_eq!(message_queue::next_sequence(&chain.ext(), &origin), 0);

    // The right one.
    let first = heartbeat(&gh, &worker, number, 0);
    assert_eq!(submit(&mut chain, sync(first.clone())), Ok(()));
    assert_eq!(message_queue::next_sequence(&chain.ext(), &origin), 1);
    let landed: u32 = chain.ext().get(&system::keys::number()).unwrap();
    assert_eq!(registry::last_heartbeat(&chain.ext(), &worker.public()), Some((landed, number)));
    assert!(events(&chain).iter().any(|e| matches!(&e.event,
        RuntimeEvent::Registry(registry::Event::WorkerHeartbeat { synced_block, .. }) if *synced_block == number)));
    // Replayed.
    assert_eq!(submit(&mut chain, sync(first)), err(Error::BadSequence));

    // A handler refusal consumes the sequence and says why: a heartbeat
    // from the future is refused by the Registry.
    assert_eq!(submit(&mut chain, sync(heartbeat(&gh, &worker, 10_000, 1))), Ok(()));
    assert_eq!(message_queue::next_sequence(&chain.ext(), &origin), 2);
    assert!(events(&chain).iter().any(|e| matches!(
        &e.event,
        RuntimeEvent::MessageQueue(message_queue::Event::MessageRejected { sequence: 1, error, .. })
            if *error == DispatchError::from(registry::Error::InvalidHeartbeat)
    )));

    // Bounds.
    let big = signed(&gh, &worker, registry::HEARTBEAT_TOPIC, vec![0; message_queue::MAX_PAYLOAD_LEN + 1], 2);
    assert_eq!(submit(&mut chain, sync(big)), err(Error::MessageTooLarge));
    let topic = vec![b'a'; message_queue::MAX_TOPIC_LEN + 1];
    assert_eq!(submit(&mut chain, sync(signed(&gh, &worker, &topic, vec![], 2))), err(Error::InvalidTopic));
    assert_eq!(message_queue::next_sequence(&chain.ext(), &origin), 2);
}

/// Every topic has one owner: a worker cannot post to a module's notice
/// topic, to an on-chain topic of another origin kind, or to a topic the
/// router does not know, and each refusal has its own error, consumes no
/// sequence and stores nothing (the notices pRuntime trusts come only from
/// their module).
#[test]
fn topics_are_owned_and_refusals_store_nothing() {
    use parity_scale_codec::Encode;
    let mut chain = TestChain::dev(1000);
    let gh = g(&chain);
    chain.produce(vec![]);
    let attacker = sr25519::Pair::from_seed(&[4; 32]);
    register(&mut chain, &attacker);
    let origin = MessageOrigin::Worker(attacker.public());
    let notice_added = gatekeeper::Notice::Added { identity: attacker.public(), ecdh_public: [3; 32] }.encode();
    let cluster_created = contracts::Notice::ClusterCreated {
        cluster: contracts::cluster_id(0),
        workers: vec![attacker.public()],
        epoch: 0,
    }
    .encode();
    let handover = gatekeeper::Handover { newcomer: attacker.public(), envelope: vec![1; 80] }.encode();
    let cases: Vec<(&[u8], Vec<u8>, Error)> = vec![
        (gatekeeper::TOPIC, notice_added, Error::TopicOwnedByModule),
        (contracts::TOPIC, cluster_created, Error::TopicOwnedByModule),
        (registry::TOPIC, vec![0], Error::TopicOwnedByModule),
        (gatekeeper::HANDOVER_TOPIC, handover, Error::OriginNotAllowed),
        (contracts::CLUSTER_KEYS_TOPIC, vec![0], Error::OriginNotAllowed),
        (contracts::COMMIT_TOPIC, vec![0], Error::OriginNotAllowed),
        (b"^no/such/topic", vec![], Error::UnknownTopic),
        (b"umbra/test", b"hello".to_vec(), Error::UnknownTopic),
    ];
    let number: u32 = chain.ext().get(&system::keys::number()).unwrap();
    let head = chain.head_hash();
    for (topic, payload, expected) in cases {
        let message = signed(&gh, &attacker, topic, payload, 0);
        // The pool refuses it with the error's index…
        let n = chain.account(&umbra_runtime::testing::dev_account("Bob")).nonce;
        let xt = chain.sign("Bob", sync(message.clone()), n, 0, Era::Immortal);
        assert_eq!(
            validate_transaction(&chain.state, head, number, TransactionSource::External, &xt),
            Err(TransactionValidityError::Invalid(InvalidTransaction::Custom(expected as u8))),
            "pool, topic {:?}",
            String::from_utf8_lossy(topic)
        );
        // …and dispatch with the error itself, storing nothing.
        let before = chain.state.clone();
        assert_eq!(submit(&mut chain, sync(message)), err(expected));
        let changed: Vec<&Vec<u8>> = chain
            .state
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .filter(|k| k.starts_with(&umbra_crypto::hashing::twox_128(message_queue::NAME.as_bytes())))
            .collect();
        assert!(changed.is_empty(), "MessageQueue storage changed for {:?}", String::from_utf8_lossy(topic));
        assert_eq!(message_queue::next_sequence(&chain.ext(), &origin), 0);
        assert!(message_queue::outbound(&chain.ext()).is_empty());
    }
    // Accounts and modules never sign messages.
    let mut module = signed(&gh, &attacker, registry::HEARTBEAT_TOPIC, vec![], 0);
    module.message.sender = MessageOrigin::module(gatekeeper::NAME);
    assert_eq!(submit(&mut chain, sync(module)), err(Error::UnsupportedOrigin));
}

#[test]
fn pool_tags_order_by_origin_sequence() {
    let mut chain = TestChain::dev(1000);
    let gh = g(&chain);
    chain.produce(vec![]);
    let worker = sr25519::Pair::from_seed(&[4; 32]);
    register(&mut chain, &worker);
    let number: u32 = chain.ext().get(&system::keys::number()).unwrap();
    let head = chain.head_hash();
    let validate = |chain: &mut TestChain, who: &str, message: SignedMessage| {
        let n = chain.account(&umbra_runtime::testing::dev_account(who)).nonce;
        let xt = chain.sign(who, sync(message), n, 0, Era::Immortal);
        validate_transaction(&chain.state, head, number, TransactionSource::External, &xt)
    };
    let now = validate(&mut chain, "Bob", heartbeat(&gh, &worker, 1, 0)).unwrap();
    let ahead = validate(&mut chain, "Charlie", heartbeat(&gh, &worker, 1, 1)).unwrap();
    let same = validate(&mut chain, "Dave", heartbeat(&gh, &worker, 1, 0)).unwrap();
    // Both submitters of sequence 0 provide the same message tag.
    let mq_tag = |v: &umbra_runtime::validation::ValidTransaction| v.provides.last().cloned().unwrap();
    assert_eq!(mq_tag(&now), mq_tag(&same));
    assert!(ahead.requires.contains(&mq_tag(&now)));
    assert_eq!(
        validate(&mut chain, "Bob", heartbeat(&gh, &worker, 1, 100)),
        Err(TransactionValidityError::Invalid(InvalidTransaction::Future))
    );
    let mut forged = heartbeat(&gh, &worker, 1, 0);
    forged.signature[0] ^= 1;
    assert_eq!(
        validate(&mut chain, "Bob", forged),
        Err(TransactionValidityError::Invalid(InvalidTransaction::BadProof))
    );
}

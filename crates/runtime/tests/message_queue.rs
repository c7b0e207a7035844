//! The MessageQueue module: worker egress with signatures and exact
//! sequences, pool tags, on-chain topics (heartbeats), and chain → worker
//! messages in `Outbound` for one block.
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
        message_queue::{self, Error, Heartbeat, Message, MessageOrigin, RegistryNotice, SignedMessage},
        registry::{self, WorkerFeatures, WorkerRegistrationInfo, WorkerRole},
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
    signed(chain, key, message_queue::HEARTBEAT_TOPIC, Heartbeat { synced_block }.encode_to_vec(), sequence)
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
    assert_eq!(outbound[0].destination, message_queue::REGISTRY_TOPIC);
    let notice: RegistryNotice = parity_scale_codec::Decode::decode(&mut &outbound[0].payload[..]).unwrap();
    assert_eq!(notice, RegistryNotice::Registered { identity: worker.public(), role: WorkerRole::Worker });
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

    // A handler refusal consumes the sequence and says why.
    assert_eq!(submit(&mut chain, sync(signed(&gh, &worker, b"^no/such/topic", vec![], 1))), Ok(()));
    assert_eq!(message_queue::next_sequence(&chain.ext(), &origin), 2);
    assert!(events(&chain).iter().any(|e| matches!(&e.event,
        RuntimeEvent::MessageQueue(message_queue::Event::MessageRejected { sequence: 1, error, .. })
            if *error == DispatchError::from(Error::UnknownTopic))));
    // A heartbeat from the future is refused by the Registry.
    assert_eq!(submit(&mut chain, sync(heartbeat(&gh, &worker, 10_000, 2))), Ok(()));
    assert!(events(&chain).iter().any(|e| matches!(
        &e.event,
        RuntimeEvent::MessageQueue(message_queue::Event::MessageRejected { sequence: 2, .. })
    )));

    // Other topics go to workers through Outbound.
    assert_eq!(submit(&mut chain, sync(signed(&gh, &worker, b"umbra/test", b"hello".to_vec(), 3))), Ok(()));
    let outbound = message_queue::outbound(&chain.ext());
    assert_eq!(outbound.last().map(|m| m.payload.clone()), Some(b"hello".to_vec()));

    // Bounds.
    let big = signed(&gh, &worker, b"umbra/test", vec![0; message_queue::MAX_PAYLOAD_LEN + 1], 4);
    assert_eq!(submit(&mut chain, sync(big)), err(Error::MessageTooLarge));
    let topic = vec![b'a'; message_queue::MAX_TOPIC_LEN + 1];
    assert_eq!(submit(&mut chain, sync(signed(&gh, &worker, &topic, vec![], 4))), err(Error::InvalidTopic));
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

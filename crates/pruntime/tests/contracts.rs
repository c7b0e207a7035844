//! Confidential contracts at the core level: a real in-memory chain, a
//! gatekeeper and two worker cores. A contract is instantiated and called
//! with sealed commands; both replicas reach the committed state root; the
//! caller opens its output; a garbage envelope gets `BadEnvelope`. Forged,
//! replayed and mis-covering commits change nothing; forged, expired,
//! replayed and misaddressed query certificates and envelopes are refused.
#![allow(clippy::unwrap_used)]

mod common;

use common::{sign, status, Net, DOMAIN};
use parity_scale_codec::Encode;
use rand_core::OsRng;
use umbra_crypto::{
    envelope::{self, Envelope, Purpose, SealingSession},
    hierarchy::ClusterKey,
    labels::Label,
    sr25519, x25519,
};
use umbra_primitives::{AccountId32, H256};
use umbra_pruntime::contracts::{run_query, QueryError};
use umbra_runtime::{
    modules::{
        contracts::{self, wire, ExecStatus},
        gatekeeper, message_queue,
        registry::WorkerRole,
    },
    testing::{dev_account, dev_sr25519},
    RuntimeCall,
};

/// `deploy` stores 0 under "count"; `call` input 0 increments and returns
/// the count (u64), 1 returns the caller (32 bytes, or nothing when
/// anonymous).
fn counter() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "umbra" "input" (func $input (param i32 i32) (result i32)))
  (import "umbra" "return_value" (func $ret (param i32 i32)))
  (import "umbra" "storage_get" (func $get (param i32 i32 i32 i32) (result i64)))
  (import "umbra" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "umbra" "caller" (func $caller (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "count")
  (func $load (result i64)
    (drop (call $get (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8)))
    (i64.load (i32.const 16)))
  (func $store (param i64)
    (i64.store (i32.const 16) (local.get 0))
    (call $set (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8)))
  (func (export "deploy") (call $store (i64.const 0)))
  (func (export "call")
    (drop (call $input (i32.const 100) (i32.const 1)))
    (if (i32.eqz (i32.load8_u (i32.const 100)))
      (then
        (call $store (i64.add (call $load) (i64.const 1)))
        (call $ret (i32.const 16) (i32.const 8)))
      (else
        (if (call $caller (i32.const 200))
          (then (call $ret (i32.const 200) (i32.const 32)))))))
)"#,
    )
    .unwrap()
}

fn seal_command(net: &Net, recipient: [u8; 32], contract: &H256, input: Vec<u8>) -> (Vec<u8>, envelope::ReplyOpener) {
    let sealed = envelope::seal(
        &mut OsRng,
        &x25519::Public(recipient),
        Label::Envelope.in_domain(DOMAIN),
        &envelope::context(&net.f.chain.genesis_hash.0, Purpose::Command, &contract.0),
        &wire::CommandPayload { input }.encode(),
    )
    .unwrap();
    (sealed.envelope.to_bytes(), sealed.reply)
}

fn call(
    net: &mut Net,
    who: &str,
    contract: H256,
    envelope: Vec<u8>,
    offset: usize,
) -> umbra_primitives::block::OpaqueExtrinsic {
    let call = RuntimeCall::Contracts(contracts::Call::call { contract, envelope, gas_limit: 10_000_000 });
    common::sign_nonce(&mut net.f, who, call, offset)
}

/// The relayed form of a signed off-chain message.
fn relay(net: &mut Net, signed: message_queue::SignedMessage) -> umbra_primitives::block::OpaqueExtrinsic {
    sign(&mut net.f, "Dave", RuntimeCall::MessageQueue(message_queue::Call::sync_offchain_message { signed }))
}

struct Deployed {
    net: Net,
    cluster: H256,
    contract: H256,
}

/// Gatekeeper 0, workers 1 and 2 in one cluster, the counter instantiated
/// by Charlie.
fn deployed() -> Deployed {
    let mut net = Net::new(&[(1, WorkerRole::Gatekeeper), (2, WorkerRole::Worker), (3, WorkerRole::Worker)]);
    for i in 0..3 {
        net.register(i, [9; 32]);
    }
    net.sudo(RuntimeCall::Gatekeeper(gatekeeper::Call::add_gatekeeper { identity: net.public(0) }));
    net.blocks(2);
    net.sudo(RuntimeCall::Contracts(contracts::Call::create_cluster { workers: vec![net.public(1), net.public(2)] }));
    net.blocks(2);
    let cluster = contracts::cluster_id(0);
    let cluster_ecdh = contracts::cluster_ecdh(&net.ext(), &cluster).expect("cluster key published");

    let code = counter();
    let code_hash = H256(umbra_crypto::hashing::blake2_256(&code));
    let upload = sign(&mut net.f, "Bob", RuntimeCall::Contracts(contracts::Call::upload_code { code }));
    net.block(vec![upload]);
    let contract = contracts::contract_id(&dev_account("Charlie"), &code_hash, &cluster, b"");
    let (envelope, _) = seal_command(&net, cluster_ecdh, &contract, vec![]);
    let instantiate = RuntimeCall::Contracts(contracts::Call::instantiate {
        cluster,
        code_hash,
        salt: vec![],
        envelope,
        gas_limit: 10_000_000,
    });
    let xt = sign(&mut net.f, "Charlie", instantiate);
    net.block(vec![xt]);
    net.blocks(3);
    assert!(contracts::contract(&net.ext(), &contract).unwrap().pubkeys.is_some(), "constructor committed");
    Deployed { net, cluster, contract }
}

#[test]
fn replicas_agree_and_forged_or_replayed_commits_change_nothing() {
    let Deployed { mut net, cluster, contract } = deployed();
    let keys = contracts::contract(&net.ext(), &contract).unwrap().pubkeys.unwrap();
    let (good, opener) = seal_command(&net, keys.ecdh, &contract, vec![0]);
    // Sealed to the cluster key instead of the contract's: does not open.
    let (misaddressed, _) = seal_command(&net, [7; 32], &contract, vec![0]);
    let first = net.ext().get_or_default::<u64>(&contracts::keys::next_call_id());
    let txs = vec![call(&mut net, "Charlie", contract, good, 0), call(&mut net, "Charlie", contract, misaddressed, 1)];
    net.block(txs);

    // The block's commit, as both replicas produce it: byte-identical.
    let commits: Vec<Vec<message_queue::SignedMessage>> = (1..=2)
        .map(|i| {
            net.nodes[i].egress().into_iter().filter(|m| m.message.destination == contracts::COMMIT_TOPIC).collect()
        })
        .collect();
    assert_eq!(commits[0].len(), 1);
    assert_eq!(commits[0], commits[1], "both replicas sign the same commit");
    let honest = commits[0][0].clone();
    let before = contracts::commit_state(&net.ext(), &cluster);
    let sequence = message_queue::next_sequence(&net.ext(), &message_queue::MessageOrigin::Cluster(cluster));

    // Forged: the commit's signature flipped; and the same commit signed
    // by a key that is not the cluster's. Neither lands, no sequence used.
    let mut flipped = honest.clone();
    flipped.signature[5] ^= 1;
    let stranger = sr25519::Pair::from_seed(&[0x66; 32]);
    let mut foreign = honest.clone();
    foreign.signature = stranger
        .sign_deterministic(&message_queue::signing_payload(&net.f.chain.genesis_hash, &honest.message, sequence))
        .0;
    let forged = vec![relay(&mut net, flipped), common::sign_nonce(&mut net.f, "Eve", relay_call(foreign), 0)];
    net.f.produce(forged);
    assert_eq!(contracts::commit_state(&net.ext(), &cluster), before);
    assert_eq!(
        message_queue::next_sequence(&net.ext(), &message_queue::MessageOrigin::Cluster(cluster)),
        sequence,
        "a forged commit consumes no sequence"
    );
    feed(&mut net);

    // The honest commit lands (relayed by the harness); both replicas'
    // executed state equals the committed root.
    net.blocks(2);
    let after = contracts::commit_state(&net.ext(), &cluster);
    assert_eq!(after.deltas, before.deltas + 1);
    for i in 1..=2 {
        let hosted = status(&net.nodes[i]).hosted;
        assert_eq!(hosted.len(), 1);
        assert_eq!(hosted[0].3, format!("0x{}", hex::encode(after.state_root.0)), "replica {i} root");
    }
    assert!(!contracts::frozen(&net.ext(), &cluster));

    // The caller opens its output: the counter is 1. The misaddressed
    // command is a precise status with no output.
    let result: contracts::CallResult = net.ext().get(&contracts::keys::result(first)).unwrap();
    assert_eq!(result.status, ExecStatus::Success);
    let envelope = Envelope::from_bytes(&result.output, contracts::MAX_OUTPUT_LEN).unwrap();
    let context =
        envelope::context(&net.f.chain.genesis_hash.0, Purpose::CommandOutput, &wire::output_subject(&contract, first));
    let output: wire::CommandOutput =
        parity_scale_codec::Decode::decode(&mut &opener.open(&envelope, &context).unwrap()[..]).unwrap();
    assert_eq!(output.output, 1u64.to_le_bytes().to_vec());
    let bad: contracts::CallResult = net.ext().get(&contracts::keys::result(first + 1)).unwrap();
    assert_eq!(bad.status, ExecStatus::BadEnvelope);

    // Replayed: the landed commit again changes nothing.
    let replay = relay(&mut net, honest.clone());
    net.f.produce(vec![replay]);
    assert_eq!(contracts::commit_state(&net.ext(), &cluster), after);
    feed(&mut net);

    // Signed with the real cluster key (a compromised replica) but covering
    // commands that were never queued: refused as BadCommit, state kept.
    let (cmd, _) = seal_command(&net, keys.ecdh, &contract, vec![0]);
    let xt = call(&mut net, "Charlie", contract, cmd, 0);
    net.block(vec![xt]);
    let pending: Vec<_> =
        net.nodes[1].egress().into_iter().filter(|m| m.message.destination == contracts::COMMIT_TOPIC).collect();
    let mut commit: contracts::ClusterCommit =
        parity_scale_codec::Decode::decode(&mut &pending[0].message.payload[..]).unwrap();
    commit.results[0].call_id += 1000;
    let cluster_key = ClusterKey::from_bytes(net.nodes[1].secrets().clusters[0].2).signing(DOMAIN);
    let message = message_queue::Message { payload: commit.encode(), ..pending[0].message.clone() };
    let signature = cluster_key
        .sign_deterministic(&message_queue::signing_payload(&net.f.chain.genesis_hash, &message, pending[0].sequence))
        .0;
    let wrong = relay(&mut net, message_queue::SignedMessage { message, sequence: pending[0].sequence, signature });
    let state = contracts::commit_state(&net.ext(), &cluster);
    net.f.produce(vec![wrong]);
    assert_eq!(contracts::commit_state(&net.ext(), &cluster), state, "a mis-covering commit does not land");
    assert!(net.ext().get::<contracts::CallResult>(&contracts::keys::result(first + 2)).is_none());
}

fn relay_call(signed: message_queue::SignedMessage) -> RuntimeCall {
    RuntimeCall::MessageQueue(message_queue::Call::sync_offchain_message { signed })
}

/// Feeds blocks produced directly on the fixture to every core.
fn feed(net: &mut Net) {
    let synced = net.nodes[0].synced().map_or(0, |(_, n)| n);
    let top = net.f.blocks.last().map_or(0, |(h, _)| h.number);
    for n in synced + 1..=top {
        let (header, changes) = net.f.blocks[(n - 1) as usize].clone();
        let justification = net.f.justify(&header);
        for core in &mut net.nodes {
            core.sync_headers(std::slice::from_ref(&header), &justification, header.number).unwrap();
            core.dispatch_blocks(&[(header.number, changes.clone())]).unwrap();
        }
    }
}

/// A query envelope to `worker_ecdh` for `contract`, with a certificate
/// by `signer` valid until `expires_at` when given.
fn query(
    net: &Net,
    worker_ecdh: x25519::Public,
    contract: &H256,
    input: Vec<u8>,
    signer: Option<(&sr25519::Pair, u32)>,
) -> (Vec<u8>, envelope::ReplyOpener, [u8; 32]) {
    let genesis = net.f.chain.genesis_hash;
    let mut session = SealingSession::new(&mut OsRng, &worker_ecdh, Label::Envelope.in_domain(DOMAIN)).unwrap();
    let ephemeral = session.ephemeral().0;
    let certificate = signer.map(|(pair, expires_at)| wire::Certificate {
        account: AccountId32(pair.public().0),
        expires_at,
        signature: pair.sign_deterministic(&wire::Certificate::message(&genesis, &ephemeral, expires_at)).0,
    });
    let sealed = session
        .seal(
            &envelope::context(&genesis.0, Purpose::Query, &contract.0),
            &wire::QueryPayload { input, certificate }.encode(),
        )
        .unwrap();
    (sealed.envelope.to_bytes(), sealed.reply, ephemeral)
}

#[test]
fn queries_refuse_forged_expired_replayed_and_misaddressed_requests() {
    let Deployed { net, contract, .. } = deployed();
    let worker = &net.nodes[1];
    let (snapshot, secret, genesis) = worker.query_snapshot(&contract).unwrap();
    let worker_ecdh = secret.public();
    let head = snapshot.block_number;
    let charlie = dev_sr25519("Charlie");
    let ask = |bytes: &[u8]| run_query(&snapshot, &secret, &genesis, bytes, [1; 32]);
    let answer = |bytes: Vec<u8>, opener: &envelope::ReplyOpener| -> wire::QueryResponse {
        let reply = Envelope::from_bytes(&ask(&bytes).unwrap(), 1 << 20).unwrap();
        let context = envelope::context(&genesis.0, Purpose::QueryResponse, &contract.0);
        parity_scale_codec::Decode::decode(&mut &opener.open(&reply, &context).unwrap()[..]).unwrap()
    };

    // Signed: the contract sees Charlie; anonymous: nobody.
    let (signed, opener, _) = query(&net, worker_ecdh, &contract, vec![1], Some((charlie, head + 10)));
    let response = answer(signed.clone(), &opener);
    assert_eq!(response.output, dev_account("Charlie").0.to_vec());
    assert_eq!(response.block_number, head);
    let (anonymous, opener, _) = query(&net, worker_ecdh, &contract, vec![1], None);
    assert!(answer(anonymous, &opener).output.is_empty());

    // Forged certificate: another key signs for Charlie's account.
    let mallory = sr25519::Pair::from_seed(&[0x77; 32]);
    let mut session = SealingSession::new(&mut OsRng, &worker_ecdh, Label::Envelope.in_domain(DOMAIN)).unwrap();
    let message = wire::Certificate::message(&genesis, &session.ephemeral().0, head + 10);
    let forged = wire::Certificate {
        account: dev_account("Charlie"),
        expires_at: head + 10,
        signature: mallory.sign_deterministic(&message).0,
    };
    let sealed = session
        .seal(
            &envelope::context(&genesis.0, Purpose::Query, &contract.0),
            &wire::QueryPayload { input: vec![1], certificate: Some(forged) }.encode(),
        )
        .unwrap();
    assert!(matches!(ask(&sealed.envelope.to_bytes()), Err(QueryError::Certificate(_))));

    // Expired certificate.
    let (expired, _, _) = query(&net, worker_ecdh, &contract, vec![1], Some((charlie, head - 1)));
    assert!(matches!(ask(&expired), Err(QueryError::Certificate(_))));

    // Charlie's certificate replayed inside a new envelope (another
    // ephemeral key): the signature no longer covers it.
    let (_, _, ephemeral) = query(&net, worker_ecdh, &contract, vec![1], None);
    let stolen = wire::Certificate {
        account: dev_account("Charlie"),
        expires_at: head + 10,
        signature: charlie.sign_deterministic(&wire::Certificate::message(&genesis, &ephemeral, head + 10)).0,
    };
    let mut session = SealingSession::new(&mut OsRng, &worker_ecdh, Label::Envelope.in_domain(DOMAIN)).unwrap();
    let sealed = session
        .seal(
            &envelope::context(&genesis.0, Purpose::Query, &contract.0),
            &wire::QueryPayload { input: vec![1], certificate: Some(stolen) }.encode(),
        )
        .unwrap();
    assert!(matches!(ask(&sealed.envelope.to_bytes()), Err(QueryError::Certificate(_))));

    // Misaddressed: sealed to another worker's key, or for another contract.
    let (to_other, _, _) = query(&net, x25519::Secret::from_bytes([0x42; 32]).public(), &contract, vec![1], None);
    assert!(matches!(ask(&to_other), Err(QueryError::Bad(_))));
    let (wrong_contract, _, _) = query(&net, worker_ecdh, &H256([0xee; 32]), vec![1], None);
    assert!(matches!(ask(&wrong_contract), Err(QueryError::Bad(_))));
    // Garbage and a truncated envelope.
    assert!(matches!(ask(b"garbage"), Err(QueryError::Bad(_))));
    assert!(matches!(ask(&signed[..signed.len() - 1]), Err(QueryError::Bad(_))));
}

/// Calls another contract: input = callee id (32 bytes) ‖ one input byte
/// for the callee; returns `call_contract`'s i64 (status << 32 | length)
/// followed by up to 8 bytes of the callee's output, and stores the i64.
fn caller_contract() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "umbra" "input" (func $input (param i32 i32) (result i32)))
  (import "umbra" "return_value" (func $ret (param i32 i32)))
  (import "umbra" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "umbra" "call_contract" (func $cc (param i32 i32 i32 i64 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "last")
  (func (export "deploy"))
  (func (export "call")
    (drop (call $input (i32.const 100) (i32.const 33)))
    (i64.store (i32.const 200)
      (call $cc (i32.const 100) (i32.const 132) (i32.const 1) (i64.const 1000000) (i32.const 208) (i32.const 8)))
    (call $set (i32.const 0) (i32.const 4) (i32.const 200) (i32.const 8))
    (call $ret (i32.const 200) (i32.const 16)))
)"#,
    )
    .unwrap()
}

#[test]
fn contracts_call_each_other_and_both_states_commit() {
    let Deployed { mut net, cluster, contract: counter } = deployed();
    let code = caller_contract();
    let code_hash = H256(umbra_crypto::hashing::blake2_256(&code));
    let upload = sign(&mut net.f, "Bob", RuntimeCall::Contracts(contracts::Call::upload_code { code }));
    net.block(vec![upload]);
    let caller = contracts::contract_id(&dev_account("Charlie"), &code_hash, &cluster, b"caller");
    let cluster_ecdh = contracts::cluster_ecdh(&net.ext(), &cluster).unwrap();
    let (envelope, _) = seal_command(&net, cluster_ecdh, &caller, vec![]);
    let instantiate = RuntimeCall::Contracts(contracts::Call::instantiate {
        cluster,
        code_hash,
        salt: b"caller".to_vec(),
        envelope,
        gas_limit: 10_000_000,
    });
    let xt = sign(&mut net.f, "Charlie", instantiate);
    net.block(vec![xt]);
    net.blocks(3);
    let keys = contracts::contract(&net.ext(), &caller).unwrap().pubkeys.expect("caller deployed");

    // One command each: the counter through the caller (twice), the caller
    // into itself (re-entry), and into a contract that does not exist.
    let inputs = [
        [counter.0.to_vec(), vec![0]].concat(),
        [counter.0.to_vec(), vec![0]].concat(),
        [caller.0.to_vec(), vec![0]].concat(),
        [vec![0xab; 32], vec![0]].concat(),
    ];
    let first = net.ext().get_or_default::<u64>(&contracts::keys::next_call_id());
    let mut openers = Vec::new();
    let mut txs = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let (envelope, opener) = seal_command(&net, keys.ecdh, &caller, input.clone());
        openers.push(opener);
        txs.push(call(&mut net, "Charlie", caller, envelope, i));
    }
    net.block(txs);
    net.blocks(3);
    let output = |i: usize| -> Vec<u8> {
        let result: contracts::CallResult = net.ext().get(&contracts::keys::result(first + i as u64)).unwrap();
        assert_eq!(result.status, ExecStatus::Success, "command {i}");
        let envelope = Envelope::from_bytes(&result.output, contracts::MAX_OUTPUT_LEN).unwrap();
        let context = envelope::context(
            &net.f.chain.genesis_hash.0,
            Purpose::CommandOutput,
            &wire::output_subject(&caller, first + i as u64),
        );
        let out: wire::CommandOutput =
            parity_scale_codec::Decode::decode(&mut &openers[i].open(&envelope, &context).unwrap()[..]).unwrap();
        out.output
    };
    let code_of = |out: &[u8]| i64::from_le_bytes(out[..8].try_into().unwrap());
    // Success (status 0), 8 bytes: the counter's new value, 1 then 2 — the
    // nested write persisted between commands.
    let one = output(0);
    assert_eq!(code_of(&one), 8);
    assert_eq!(one[8..16], 1u64.to_le_bytes());
    let two = output(1);
    assert_eq!(two[8..16], 2u64.to_le_bytes());
    assert_eq!(code_of(&output(2)), -1, "re-entry refused");
    assert_eq!(code_of(&output(3)), -1, "unknown contract refused");

    // The block's commit carries a delta for both contracts, and both
    // replicas reached its root.
    let state = contracts::commit_state(&net.ext(), &cluster);
    let record: contracts::DeltaRecord = net.ext().get(&contracts::keys::delta(&cluster, state.deltas - 1)).unwrap();
    let touched: Vec<H256> = record.deltas.iter().map(|(c, _)| *c).collect();
    assert!(touched.contains(&counter) && touched.contains(&caller), "{touched:?}");
    for i in 1..=2 {
        assert_eq!(status(&net.nodes[i]).hosted[0].3, format!("0x{}", hex::encode(state.state_root.0)));
    }
    assert!(!contracts::frozen(&net.ext(), &cluster));
}

//! Confidential contracts at the core level: a real in-memory chain, a
//! gatekeeper and two worker cores. A contract is instantiated and called
//! with sealed commands; both replicas reach the committed state root; the
//! caller opens its output; a garbage envelope gets `BadEnvelope`. Forged,
//! replayed and mis-covering commits change nothing; command envelopes are
//! bound to their caller and nonce (a copied or repeated one is refused);
//! forged, expired, replayed and misaddressed query certificates and
//! envelopes are refused.

use parity_scale_codec::Encode;
use rand_core::OsRng;
use umbra_crypto::{
    envelope::{self, Envelope, Purpose, SealingSession},
    hierarchy::ClusterKey,
    labels::Label,
    sr25519, x25519,
};
use umbra_primitives::{AccountId32, H256};
use umbra_protocol::wire;
use umbra_pruntime_core::contracts::{run_query, QueryError, QueryReplayGuard};
use umbra_pruntime_core::testing::{sign, status, Net, DOMAIN};
use umbra_runtime::{
    modules::{
        contracts::{self, ExecStatus},
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

/// `who`'s next command nonce on chain, plus `offset` (commands of one
/// block).
fn nonce_of(net: &Net, who: &str, offset: u64) -> u64 {
    contracts::command_nonce(&net.ext(), &dev_account(who)) + offset
}

/// A command by `who` for `contract`, sealed to `recipient` and bound to
/// (genesis, contract, `who`, `nonce`).
fn seal_command(
    net: &Net,
    recipient: [u8; 32],
    who: &str,
    contract: &H256,
    nonce: u64,
    input: Vec<u8>,
) -> (contracts::SealedCommand, envelope::ReplyOpener) {
    let binding = contracts::CommandBinding {
        genesis: net.f.chain.genesis_hash,
        contract: *contract,
        caller: dev_account(who),
        nonce,
    };
    let sealed = envelope::seal(
        &mut OsRng,
        &x25519::Public(recipient),
        Label::Envelope.in_domain(DOMAIN),
        &envelope::context(&net.f.chain.genesis_hash.0, Purpose::Command, &binding.subject()),
        &wire::CommandPayload { input }.encode(),
    )
    .unwrap();
    (contracts::SealedCommand { binding, envelope: sealed.envelope.to_bytes() }, sealed.reply)
}

fn call(
    net: &mut Net,
    who: &str,
    contract: H256,
    command: contracts::SealedCommand,
    offset: usize,
) -> umbra_primitives::block::OpaqueExtrinsic {
    let call = RuntimeCall::Contracts(contracts::Call::call { contract, command, gas_limit: 10_000_000 });
    umbra_pruntime_core::testing::sign_nonce(&mut net.f, who, call, offset)
}

/// Opens call `call_id`'s output with `opener` (bound to the call).
fn open_output(
    net: &Net,
    opener: &envelope::ReplyOpener,
    cluster: &H256,
    contract: &H256,
    call_id: u64,
) -> wire::CommandOutput {
    let result: contracts::CallResult = net.ext().get(&contracts::keys::result(call_id)).unwrap();
    let envelope = Envelope::from_bytes(&result.output, contracts::MAX_OUTPUT_LEN).unwrap();
    let context = envelope::context(
        &net.f.chain.genesis_hash.0,
        Purpose::CommandOutput,
        &wire::output_subject(contract, call_id),
    );
    let binding = wire::command_reply_binding(cluster, call_id);
    parity_scale_codec::Decode::decode(&mut &opener.open(&binding, &envelope, &context).unwrap()[..]).unwrap()
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
    deployed_code(counter())
}

/// Like [`deployed`], with `code` instantiated instead of the counter.
fn deployed_code(code: Vec<u8>) -> Deployed {
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

    let code_hash = H256(umbra_crypto::hashing::blake2_256(&code));
    let upload = sign(&mut net.f, "Bob", RuntimeCall::Contracts(contracts::Call::upload_code { code }));
    net.block(vec![upload]);
    let contract = contracts::contract_id(&dev_account("Charlie"), &code_hash, &cluster, b"");
    let (command, _) = seal_command(&net, cluster_ecdh, "Charlie", &contract, nonce_of(&net, "Charlie", 0), vec![]);
    let instantiate = RuntimeCall::Contracts(contracts::Call::instantiate {
        cluster,
        code_hash,
        salt: vec![],
        command,
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
    let (good, opener) = seal_command(&net, keys.ecdh, "Charlie", &contract, nonce_of(&net, "Charlie", 0), vec![0]);
    // Sealed to another key than the contract's: does not open.
    let (misaddressed, _) = seal_command(&net, [7; 32], "Charlie", &contract, nonce_of(&net, "Charlie", 1), vec![0]);
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
    let forged = vec![
        relay(&mut net, flipped),
        umbra_pruntime_core::testing::sign_nonce(&mut net.f, "Eve", relay_call(foreign), 0),
    ];
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
        assert_eq!(hosted[0].state_root, after.state_root, "replica {i} root");
    }
    assert!(!contracts::frozen(&net.ext(), &cluster));

    // The caller opens its output: the counter is 1. The misaddressed
    // command is a precise status with no output.
    let result: contracts::CallResult = net.ext().get(&contracts::keys::result(first)).unwrap();
    assert_eq!(result.status, ExecStatus::Success);
    let output = open_output(&net, &opener, &cluster, &contract, first);
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
    let (cmd, _) = seal_command(&net, keys.ecdh, "Charlie", &contract, nonce_of(&net, "Charlie", 0), vec![0]);
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

/// `call` input `[k]` writes 4,096 bytes under the key `"blob" ‖ k`.
fn blob() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "umbra" "input" (func $input (param i32 i32) (result i32)))
  (import "umbra" "storage_set" (func $set (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "blob")
  (func (export "deploy"))
  (func (export "call")
    (drop (call $input (i32.const 4) (i32.const 1)))
    (call $set (i32.const 0) (i32.const 5) (i32.const 1024) (i32.const 4096)))
)"#,
    )
    .unwrap()
}

/// Charlie's `inputs`, one command each, all queued in one block; the
/// block is committed and both replicas reach the committed root. Returns
/// each command's status.
fn one_block_of(net: &mut Net, cluster: &H256, contract: H256, inputs: &[Vec<u8>]) -> Vec<ExecStatus> {
    let keys = contracts::contract(&net.ext(), &contract).unwrap().pubkeys.unwrap();
    let first = net.ext().get_or_default::<u64>(&contracts::keys::next_call_id());
    let before = contracts::commit_state(&net.ext(), cluster);
    let txs = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let nonce = nonce_of(net, "Charlie", i as u64);
            let (command, _) = seal_command(net, keys.ecdh, "Charlie", &contract, nonce, input.clone());
            call(net, "Charlie", contract, command, i)
        })
        .collect();
    net.block(txs);
    assert_eq!(
        net.ext().get_or_default::<u64>(&contracts::keys::next_call_id()),
        first + inputs.len() as u64,
        "every command queued"
    );
    net.blocks(3);
    let after = contracts::commit_state(&net.ext(), cluster);
    assert_eq!(after.deltas, before.deltas + 1, "the block's commit landed");
    for i in 1..=2 {
        assert_eq!(status(&net.nodes[i]).hosted[0].state_root, after.state_root, "replica {i} root");
    }
    (first..first + inputs.len() as u64)
        .map(|id| net.ext().get::<contracts::CallResult>(&contracts::keys::result(id)).expect("result stored").status)
        .collect()
}

/// The same command many times in one block: the commit carries the key
/// once, so each repetition costs only its result. Before commits were
/// sized by their merged writes, every repetition was charged the whole
/// 4 KiB write again and the later ones ended `TooLarge`.
#[test]
fn identical_commands_of_one_block_all_commit() {
    let Deployed { mut net, cluster, contract } = deployed_code(blob());
    let statuses = one_block_of(&mut net, &cluster, contract, &vec![vec![0]; 300]);
    assert!(statuses.iter().all(|s| *s == ExecStatus::Success), "{statuses:?}");
}

/// Writes of one block that pass a contract's delta bound: the commands
/// that would overflow it end `TooLarge` (deterministically, on both
/// replicas) and the commit lands. Before, every command was admitted,
/// the sealed delta passed `MAX_DELTA_LEN` and the chain refused the
/// commit, so the cluster never got past the block.
#[test]
fn writes_past_a_contracts_delta_bound_end_too_large_and_the_commit_lands() {
    let Deployed { mut net, cluster, contract } = deployed_code(blob());
    let inputs: Vec<Vec<u8>> = (0..80u8).map(|k| vec![k]).collect();
    let statuses = one_block_of(&mut net, &cluster, contract, &inputs);
    // Each write encodes as (compact 5, 5 key bytes, Some, compact 4096,
    // 4096 bytes) = 4,105 bytes; the delta's plaintext (its count, 1 byte,
    // then the writes) must leave room for the AEAD tag.
    let fits = (contracts::MAX_DELTA_LEN - umbra_crypto::aead::TAG_LEN - 1) / 4105;
    assert_eq!(fits, 63);
    assert!(statuses[..fits].iter().all(|s| *s == ExecStatus::Success), "{statuses:?}");
    assert!(statuses[fits..].iter().all(|s| *s == ExecStatus::TooLarge), "{statuses:?}");
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
            umbra_pruntime_core::testing::feed(core, &header, &justification, &changes, [0; 32]);
        }
    }
}

/// A query envelope to `worker_ecdh` for `contract` with a fresh nonce,
/// valid until `expires_at`, with a certificate by `signer` until the same
/// block when given. Returns the bytes, the opener, the ephemeral key and
/// the nonce.
fn query(
    net: &Net,
    worker_ecdh: x25519::Public,
    contract: &H256,
    input: Vec<u8>,
    signer: Option<&sr25519::Pair>,
    expires_at: u32,
) -> (Vec<u8>, envelope::ReplyOpener, [u8; 32], [u8; 16]) {
    let genesis = net.f.chain.genesis_hash;
    let mut session = SealingSession::new(&mut OsRng, &worker_ecdh, Label::Envelope.in_domain(DOMAIN)).unwrap();
    let ephemeral = session.ephemeral().0;
    let certificate = signer.map(|pair| wire::Certificate {
        account: AccountId32(pair.public().0),
        expires_at,
        signature: pair.sign_deterministic(&wire::Certificate::message(&genesis, &ephemeral, expires_at)).0,
    });
    let mut nonce = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut nonce);
    let sealed = session
        .seal(
            &envelope::context(&genesis.0, Purpose::Query, &contract.0),
            &wire::QueryPayload { input, certificate, nonce, expires_at }.encode(),
        )
        .unwrap();
    (sealed.envelope.to_bytes(), sealed.reply, ephemeral, nonce)
}

#[test]
fn queries_refuse_forged_expired_replayed_and_misaddressed_requests() {
    let Deployed { net, contract, .. } = deployed();
    let worker = &net.nodes[1];
    let responder = worker.identity().public().0;
    let (snapshot, secret, genesis) = worker.public_view().query_snapshot(&contract).unwrap();
    let worker_ecdh = secret.public();
    let head = snapshot.synced_block;
    let charlie = dev_sr25519("Charlie");
    let guard = std::cell::RefCell::new(QueryReplayGuard::new(1000));
    let ask = |bytes: &[u8]| {
        run_query(&snapshot, &secret, &responder, &genesis, bytes, [1; 32], 1_000, |nonce, expires_at| {
            guard.borrow_mut().admit(nonce, expires_at, head)
        })
    };
    let answer = |bytes: Vec<u8>, opener: &envelope::ReplyOpener, nonce: [u8; 16]| -> wire::QueryResponse {
        let answer = ask(&bytes).unwrap();
        let reply = Envelope::from_bytes(&answer.envelope, 1 << 20).unwrap();
        let context = envelope::context(&genesis.0, Purpose::QueryResponse, &contract.0);
        let binding = wire::query_reply_binding(&responder, &nonce, &answer.salt);
        parity_scale_codec::Decode::decode(&mut &opener.open(&binding, &reply, &context).unwrap()[..]).unwrap()
    };

    // Signed: the contract sees Charlie; anonymous: nobody.
    let (signed, opener, _, nonce) = query(&net, worker_ecdh, &contract, vec![1], Some(charlie), head + 10);
    let response = answer(signed.clone(), &opener, nonce);
    assert_eq!(response.output, dev_account("Charlie").0.to_vec());
    assert_eq!(response.block_number, snapshot.block_number);
    assert_eq!(response.synced_block, head);
    let (anonymous, opener, _, nonce) = query(&net, worker_ecdh, &contract, vec![1], None, head + 10);
    assert!(answer(anonymous.clone(), &opener, nonce).output.is_empty());

    // Section 3: the same query again (a replay by anyone who saw it) is
    // refused within its window, and outside it it is expired.
    assert!(matches!(ask(&signed), Err(QueryError::Replayed)));
    assert!(matches!(ask(&anonymous), Err(QueryError::Replayed)));
    let (stale, _, _, _) = query(&net, worker_ecdh, &contract, vec![1], None, head - 1);
    assert!(matches!(ask(&stale), Err(QueryError::Expired { .. })));
    let (forever, _, _, _) = query(&net, worker_ecdh, &contract, vec![1], None, head + wire::MAX_QUERY_WINDOW + 1);
    assert!(matches!(ask(&forever), Err(QueryError::Bad(_))), "a window beyond the bound");
    // Two answers to two queries never share a reply key: each opens only
    // under its own nonce and the worker's fresh salt.
    let (first, opener, _, nonce) = query(&net, worker_ecdh, &contract, vec![1], None, head + 10);
    let a = ask(&first).unwrap();
    let envelope_a = Envelope::from_bytes(&a.envelope, 1 << 20).unwrap();
    let context = envelope::context(&genesis.0, Purpose::QueryResponse, &contract.0);
    let other_salt = wire::query_reply_binding(&responder, &nonce, &[0x5a; 32]);
    assert!(opener.open(&other_salt, &envelope_a, &context).is_err());

    // Forged certificate: another key signs for Charlie's account.
    let mallory = sr25519::Pair::from_seed(&[0x77; 32]);
    let mut session = SealingSession::new(&mut OsRng, &worker_ecdh, Label::Envelope.in_domain(DOMAIN)).unwrap();
    let message = wire::Certificate::message(&genesis, &session.ephemeral().0, head + 10);
    let forged = wire::Certificate {
        account: dev_account("Charlie"),
        expires_at: head + 10,
        signature: mallory.sign_deterministic(&message).0,
    };
    let payload =
        wire::QueryPayload { input: vec![1], certificate: Some(forged), nonce: [1; 16], expires_at: head + 10 };
    let sealed = session.seal(&envelope::context(&genesis.0, Purpose::Query, &contract.0), &payload.encode()).unwrap();
    assert!(matches!(ask(&sealed.envelope.to_bytes()), Err(QueryError::Certificate(_))));

    // Expired certificate.
    let (expired, _, _, _) = query(&net, worker_ecdh, &contract, vec![1], Some(charlie), head);
    assert!(ask(&expired).is_ok(), "valid up to its block");
    let mut session = SealingSession::new(&mut OsRng, &worker_ecdh, Label::Envelope.in_domain(DOMAIN)).unwrap();
    let old = wire::Certificate {
        account: dev_account("Charlie"),
        expires_at: head - 1,
        signature: charlie
            .sign_deterministic(&wire::Certificate::message(&genesis, &session.ephemeral().0, head - 1))
            .0,
    };
    let payload = wire::QueryPayload { input: vec![1], certificate: Some(old), nonce: [2; 16], expires_at: head + 10 };
    let sealed = session.seal(&envelope::context(&genesis.0, Purpose::Query, &contract.0), &payload.encode()).unwrap();
    assert!(matches!(ask(&sealed.envelope.to_bytes()), Err(QueryError::Certificate(_))));

    // Charlie's certificate replayed inside a new envelope (another
    // ephemeral key): the signature no longer covers it.
    let (_, _, ephemeral, _) = query(&net, worker_ecdh, &contract, vec![1], None, head + 10);
    let stolen = wire::Certificate {
        account: dev_account("Charlie"),
        expires_at: head + 10,
        signature: charlie.sign_deterministic(&wire::Certificate::message(&genesis, &ephemeral, head + 10)).0,
    };
    let mut session = SealingSession::new(&mut OsRng, &worker_ecdh, Label::Envelope.in_domain(DOMAIN)).unwrap();
    let payload =
        wire::QueryPayload { input: vec![1], certificate: Some(stolen), nonce: [3; 16], expires_at: head + 10 };
    let sealed = session.seal(&envelope::context(&genesis.0, Purpose::Query, &contract.0), &payload.encode()).unwrap();
    assert!(matches!(ask(&sealed.envelope.to_bytes()), Err(QueryError::Certificate(_))));

    // Misaddressed: sealed to another worker's key, or for another contract.
    let other = x25519::Secret::from_bytes([0x42; 32]).public();
    let (to_other, _, _, _) = query(&net, other, &contract, vec![1], None, head + 10);
    assert!(matches!(ask(&to_other), Err(QueryError::Bad(_))));
    let (wrong_contract, _, _, _) = query(&net, worker_ecdh, &H256([0xee; 32]), vec![1], None, head + 10);
    assert!(matches!(ask(&wrong_contract), Err(QueryError::Bad(_))));
    // Garbage and a truncated envelope.
    assert!(matches!(ask(b"garbage"), Err(QueryError::Bad(_))));
    assert!(matches!(ask(&signed[..signed.len() - 1]), Err(QueryError::Bad(_))));
}

/// The events of the head block.
fn events(net: &Net) -> Vec<umbra_runtime::event::EventRecord> {
    net.ext().get(&umbra_runtime::modules::system::keys::events()).unwrap_or_default()
}

fn failed_with(net: &Net, error: contracts::Error) -> bool {
    events(net).iter().any(|e| {
        matches!(&e.event, umbra_runtime::RuntimeEvent::System(umbra_runtime::modules::system::Event::ExtrinsicFailed { dispatch_error, .. })
            if *dispatch_error == umbra_runtime::DispatchError::from(error))
    })
}

/// Section 3: a command envelope is bound to its caller, contract, chain
/// and nonce. Charlie resubmitting Alice's envelope is refused by the chain
/// (`BindingMismatch`); Charlie rewriting the clear binding to himself gets
/// it queued, but no replica opens it (`BadEnvelope`) and Alice's state is
/// unchanged and nothing is sealed back; Alice resubmitting her own
/// envelope is refused (`CommandReplayed`).
#[test]
fn command_envelopes_are_bound_to_their_caller_and_run_once() {
    let Deployed { mut net, cluster, contract } = deployed();
    let keys = contracts::contract(&net.ext(), &contract).unwrap().pubkeys.unwrap();
    let first = net.ext().get_or_default::<u64>(&contracts::keys::next_call_id());
    let (alices, opener) = seal_command(&net, keys.ecdh, "Alice", &contract, nonce_of(&net, "Alice", 0), vec![0]);
    let xt = call(&mut net, "Alice", contract, alices.clone(), 0);
    net.block(vec![xt]);
    net.blocks(3);
    assert_eq!(open_output(&net, &opener, &cluster, &contract, first).output, 1u64.to_le_bytes().to_vec());
    let root = contracts::commit_state(&net.ext(), &cluster).state_root;

    // Charlie copies Alice's envelope out of her block.
    let next_call = net.ext().get_or_default::<u64>(&contracts::keys::next_call_id());
    let xt = call(&mut net, "Charlie", contract, alices.clone(), 0);
    net.block(vec![xt]);
    assert!(failed_with(&net, contracts::Error::BindingMismatch), "the chain refuses the copy");
    assert_eq!(net.ext().get_or_default::<u64>(&contracts::keys::next_call_id()), next_call, "nothing queued");

    // Charlie rewrites the clear binding to himself: queued, but the
    // envelope's authenticated data still names Alice: it does not open.
    let mut rebound = alices.clone();
    rebound.binding.caller = dev_account("Charlie");
    rebound.binding.nonce = nonce_of(&net, "Charlie", 0);
    let xt = call(&mut net, "Charlie", contract, rebound, 0);
    net.block(vec![xt]);
    net.blocks(3);
    let result: contracts::CallResult = net.ext().get(&contracts::keys::result(next_call)).unwrap();
    assert_eq!(result.status, ExecStatus::BadEnvelope);
    assert_eq!(contracts::commit_state(&net.ext(), &cluster).state_root, root, "Alice's state unchanged");
    // Nothing is sealed back: the replicas learned nothing of it, and no
    // reply to Alice's envelope exists but her own call's.
    assert!(result.output.is_empty());

    // Alice resubmits her own envelope: its nonce is used.
    let xt = call(&mut net, "Alice", contract, alices, 0);
    net.block(vec![xt]);
    assert!(failed_with(&net, contracts::Error::CommandReplayed), "a repeated (caller, nonce) is refused");
    net.blocks(2);
    assert_eq!(contracts::commit_state(&net.ext(), &cluster).state_root, root);
    // A binding for another chain is refused too.
    let mut foreign = seal_command(&net, keys.ecdh, "Alice", &contract, nonce_of(&net, "Alice", 0), vec![0]).0;
    foreign.binding.genesis = H256([0x99; 32]);
    let xt = call(&mut net, "Alice", contract, foreign, 0);
    net.block(vec![xt]);
    assert!(failed_with(&net, contracts::Error::BindingMismatch));
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
    let (command, _) = seal_command(&net, cluster_ecdh, "Charlie", &caller, nonce_of(&net, "Charlie", 0), vec![]);
    let instantiate = RuntimeCall::Contracts(contracts::Call::instantiate {
        cluster,
        code_hash,
        salt: b"caller".to_vec(),
        command,
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
        let nonce = nonce_of(&net, "Charlie", i as u64);
        let (command, opener) = seal_command(&net, keys.ecdh, "Charlie", &caller, nonce, input.clone());
        openers.push(opener);
        txs.push(call(&mut net, "Charlie", caller, command, i));
    }
    net.block(txs);
    net.blocks(3);
    let output = |i: usize| -> Vec<u8> {
        let result: contracts::CallResult = net.ext().get(&contracts::keys::result(first + i as u64)).unwrap();
        assert_eq!(result.status, ExecStatus::Success, "command {i}");
        open_output(&net, &openers[i], &cluster, &caller, first + i as u64).output
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
        assert_eq!(status(&net.nodes[i]).hosted[0].state_root, state.state_root);
    }
    assert!(!contracts::frozen(&net.ext(), &cluster));
}

/// An entry point returns what it produced: the messages a block queued
/// (here the cluster commit, signed identically by both replicas) are in
/// its effects, and they are exactly what the egress queue gained.
#[test]
fn effects_report_exactly_the_messages_a_block_queued() {
    let Deployed { mut net, cluster: _, contract } = deployed();
    let keys = contracts::contract(&net.ext(), &contract).unwrap().pubkeys.unwrap();
    let (command, _) = seal_command(&net, keys.ecdh, "Charlie", &contract, nonce_of(&net, "Charlie", 0), vec![0]);
    let xt = call(&mut net, "Charlie", contract, command, 0);
    let (header, changes) = net.f.produce(vec![xt]);
    let justification = net.f.justify(&header);
    let mut produced = Vec::new();
    for i in 1..=2 {
        let worker = &mut net.nodes[i];
        let before = worker.egress();
        let (_, effects) = worker.sync_headers(std::slice::from_ref(&header), &justification).unwrap();
        assert!(effects.queued.is_empty(), "headers alone queue nothing");
        umbra_pruntime_core::testing::confirm(worker, effects);
        let (applied, effects) = worker.dispatch_blocks(&[(header.number, changes.clone())], [3; 32]);
        applied.unwrap();
        let gained: Vec<_> = worker.egress().into_iter().filter(|m| !before.contains(m)).collect();
        assert_eq!(effects.queued, gained, "replica {i}: the effects are what the queue gained");
        assert!(
            effects.queued.iter().any(|m| m.message.destination == contracts::COMMIT_TOPIC),
            "replica {i}: the block's commit is among them"
        );
        produced.push(effects.queued.clone());
        umbra_pruntime_core::testing::confirm(worker, effects);
        // Nothing new happened since: the next call reports nothing.
        let (_, again) = worker.dispatch_blocks(&[], [3; 32]);
        assert!(again.queued.is_empty(), "replica {i}: produced messages are reported once");
    }
    let commit = |q: &Vec<message_queue::SignedMessage>| {
        q.iter().find(|m| m.message.destination == contracts::COMMIT_TOPIC).cloned().unwrap()
    };
    assert_eq!(commit(&produced[0]), commit(&produced[1]), "both replicas produced the same commit");
}

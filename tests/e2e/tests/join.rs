//! A new node joins a long chain: a `--dev` validator whose database holds
//! 2,000 blocks (`UMBRA_JOIN_BLOCKS=10000` for the full scale) (authored here in past slots, with a GRANDPA set change
//! half way and justifications along the way) keeps authoring; a full node
//! (`--sync full`) downloads and executes every block, and a warp node
//! (`--sync warp`) proves the finalized head with one justification per set,
//! downloads its state, and then follows the chain and its finality. Both
//! end on the validator's chain; the warp node holds nothing in between.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code; the clock names the past slots

use std::{path::Path, sync::Mutex, time::Duration};

use rand_core::OsRng;
use serde_json::{json, Value};
use umbra_consensus::{
    aura::{self, Clock, TransactionProvider},
    grandpa,
};
use umbra_e2e::{free_port, wait_for, NodeProcess};
use umbra_primitives::{
    block::OpaqueExtrinsic,
    extrinsic::{AdditionalSigned, Era, SignedExtra, UncheckedExtrinsic},
    H256,
};
use umbra_runtime::{
    modules::{grandpa as grandpa_module, sudo},
    RuntimeCall, TransactionValidityError,
};

/// Blocks of history: `UMBRA_JOIN_BLOCKS`, or 2,000 (a debug build authors
/// and full-syncs ~120 blocks/s, so CI runs the smaller scale; 10,000 takes
/// about three minutes).
fn blocks() -> u32 {
    std::env::var("UMBRA_JOIN_BLOCKS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000)
}

#[derive(Default)]
struct Txs(Mutex<Vec<OpaqueExtrinsic>>);

impl TransactionProvider for Txs {
    fn ready(&self) -> Vec<(H256, OpaqueExtrinsic)> {
        std::mem::take(&mut *self.0.lock().unwrap()).into_iter().map(|x| (x.hash(), x)).collect()
    }
    fn report_invalid(&self, invalid: &[(H256, TransactionValidityError)]) {
        panic!("invalid transactions: {invalid:?}");
    }
}

/// Authors `blocks` blocks of the dev chain under `base` as Alice in past
/// slots; half way sudo gives Alice's GRANDPA key weight 2 (set 1);
/// every 1,000th block and the last are finalized with Alice's signature.
fn author_history(base: &Path, blocks: u32) {
    let change_at = blocks / 2;
    let spec = umbra_node::chain_spec::dev();
    let chain = umbra_node::service::open_chain(&spec, base, umbra_storage::Config::default()).unwrap();
    let keys = umbra_node::keystore::AuthorityKeys::dev("Alice").unwrap();
    let genesis = chain.genesis().hash;
    let duration = chain.slot_duration().unwrap();
    let first = aura::SystemClock.now_ms() / duration - u64::from(blocks) - 100;
    let txs = Txs::default();
    let mut set_id = 0;
    for n in 1..=blocks {
        if n == change_at {
            let next = vec![(keys.grandpa.public(), 2)];
            let change =
                RuntimeCall::Grandpa(grandpa_module::Call::schedule_change { next_authorities: next, delay: 0 });
            let call = RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(change) });
            let additional = AdditionalSigned {
                spec_version: umbra_runtime::SPEC_VERSION,
                transaction_version: umbra_runtime::TRANSACTION_VERSION,
                genesis_hash: genesis,
                era_block_hash: genesis,
            };
            let signer = umbra_crypto::Pair::Sr25519(umbra_crypto::sr25519::Pair::from_seed(keys.aura.seed().unwrap()));
            let extra = SignedExtra { era: Era::Immortal, nonce: 0, tip: 0 };
            txs.0
                .lock()
                .unwrap()
                .push(UncheckedExtrinsic::new_signed(call, &signer, extra, &additional, &mut OsRng).to_opaque());
        }
        let slot = first + u64::from(n);
        aura::author_block(&chain, &keys.aura, slot, slot * duration, &txs, Duration::from_secs(60)).unwrap().unwrap();
        if n % 1000 == 0 || n == change_at || n == blocks {
            let head = chain.expect_header(&chain.best().unwrap().hash).unwrap();
            let imported = grandpa::import_justification(
                &chain,
                head.hash(),
                &umbra_light_client::testing::justify_by(&head, set_id, &[&keys.grandpa]),
            );
            if let grandpa::JustificationImport::Finalized { set_changed: true } = imported.unwrap() {
                set_id += 1;
            }
        }
    }
    assert_eq!(set_id, 1, "the set changed once");
    assert_eq!(chain.finalized().unwrap().number, blocks);
}

fn hash_at(node: &NodeProcess, n: u32) -> Value {
    node.rpc("chain_getBlockHash", json!([n]))["result"].clone()
}

#[test]
fn a_new_node_joins_a_long_chain_by_full_and_by_warp_sync() {
    let (blocks, change_at) = (blocks(), blocks() / 2);
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (tmp.path().join("validator"), tmp.path().join("full"), tmp.path().join("warp"));
    let started = std::time::Instant::now();
    author_history(&a, blocks);
    eprintln!("authored {blocks} blocks in {:?}", started.elapsed());

    let p2p = free_port();
    let validator = NodeProcess::start_on(
        &a,
        0,
        &["--listen-addr", &format!("/ip4/127.0.0.1/tcp/{p2p}"), "--gossip-duration-ms", "300"],
    );
    let peer_id = validator.rpc("system_localPeerId", json!([]))["result"].as_str().unwrap().to_string();
    let bootnode = format!("/ip4/127.0.0.1/tcp/{p2p}/p2p/{peer_id}");
    wait_for("the validator to finalize past the history", Duration::from_secs(60), || {
        (validator.heads().1 > blocks).then_some(())
    });

    let join = |dir: &Path, mode: &str| {
        NodeProcess::start_args(dir, 0, &["--chain", "dev", "--sync", mode, "--bootnodes", &bootnode])
    };
    let started = std::time::Instant::now();
    let warp = join(&c, "warp");
    wait_for("the warp node to reach the finalized head", Duration::from_secs(120), || {
        (warp.heads().1 >= blocks).then_some(())
    });
    eprintln!("warp sync to #{} in {:?}", warp.heads().1, started.elapsed());
    // It holds nothing between genesis and its target, and the target is
    // the validator's block with the validator's state.
    assert_eq!(hash_at(&warp, 1), Value::Null);
    assert_eq!(hash_at(&warp, change_at), Value::Null);
    let (_, target) = warp.heads();
    assert_eq!(hash_at(&warp, target), hash_at(&validator, target));
    let at = hash_at(&validator, target);
    let root = |node: &NodeProcess| node.rpc("chain_getHeader", json!([at]))["result"]["stateRoot"].clone();
    assert_eq!(root(&warp), root(&validator));
    let key = "0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9de1e86a9a8c739864cf3cc5ec2bea59fd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
    let account = |node: &NodeProcess| node.rpc("state_getStorage", json!([key, at]))["result"].clone();
    assert!(account(&validator).is_string(), "Alice's account at the target");
    assert_eq!(account(&warp), account(&validator));
    // Then it follows: new blocks imported and executed, finality under set 1.
    let (best, finalized) = validator.heads();
    wait_for("the warp node to follow the chain and its finality", Duration::from_secs(60), || {
        let (wb, wf) = warp.heads();
        (wb >= best && wf >= finalized && wf > target).then_some(())
    });
    assert_eq!(hash_at(&warp, finalized), hash_at(&validator, finalized));
    let round = warp.rpc("grandpa_roundState", json!([]))["result"].clone();
    assert_eq!(round["setId"], 1, "the warp node is in set 1: {round}");

    let started = std::time::Instant::now();
    let full = join(&b, "full");
    wait_for("the full node to sync every block", Duration::from_secs(400), || {
        (full.heads().1 >= blocks).then_some(())
    });
    eprintln!("full sync to #{} in {:?}", full.heads().1, started.elapsed());
    for n in [1, change_at, blocks] {
        assert_eq!(hash_at(&full, n), hash_at(&validator, n), "block #{n}");
    }
    // It knew only the validator; Kademlia found it the warp node too.
    let warp_id = warp.rpc("system_localPeerId", json!([]))["result"].clone();
    wait_for("the full node to discover the warp node", Duration::from_secs(60), || {
        let peers = full.rpc("system_peers", json!([]))["result"].as_array().cloned()?;
        peers.iter().any(|p| p["peerId"] == warp_id).then_some(())
    });
}

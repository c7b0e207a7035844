//! Aura authoring and the GRANDPA voter on a real database: blocks are
//! produced and finalized, justifications verify, a restarted voter resumes,
//! and an authority-set change is finalized with a stored justification.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use umbra_consensus::{
    aura::{self, SystemClock, TransactionProvider},
    grandpa, justification, Chain,
};
use umbra_crypto::{ed25519, sr25519};
use umbra_primitives::{block::OpaqueExtrinsic, extrinsic::Era, H256};
use umbra_runtime::{
    modules::{grandpa as grandpa_module, sudo},
    testing::{dev_ed25519, dev_sr25519, TestChain},
    RuntimeCall, TransactionValidityError,
};
use umbra_storage::{Config, Database};

#[derive(Default)]
struct Pool(Mutex<Vec<(H256, OpaqueExtrinsic)>>);

impl TransactionProvider for Pool {
    fn ready(&self) -> Vec<(H256, OpaqueExtrinsic)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
    fn report_invalid(&self, invalid: &[(H256, TransactionValidityError)]) {
        panic!("invalid transactions: {invalid:?}");
    }
}

struct Node {
    handle: Arc<grandpa::GrandpaHandle>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn start(chain: Arc<Chain>, pool: Arc<Pool>) -> Node {
    let (stop, rx) = tokio::sync::watch::channel(false);
    let aura_key = Arc::new(sr25519::Pair::from_seed(dev_sr25519("Alice").seed().unwrap()));
    let gran_key = Arc::new(dev_ed25519("Alice"));
    let handle = grandpa::handle();
    let tasks = vec![
        tokio::spawn({
            let (chain, pool, rx) = (chain.clone(), pool.clone(), rx.clone());
            async move {
                aura::run(chain, aura_key, pool, Arc::new(SystemClock), rx).await.unwrap();
            }
        }),
        tokio::spawn({
            let (chain, handle) = (chain.clone(), handle.clone());
            async move {
                let config = grandpa::Config { gossip_duration: Duration::from_millis(50) };
                grandpa::run(chain, Some(gran_key), config, handle, rx).await.unwrap();
            }
        }),
    ];
    Node { handle, stop, tasks }
}

async fn stop(node: Node) {
    node.stop.send(true).unwrap();
    for t in node.tasks {
        t.await.unwrap();
    }
}

async fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let polled = tokio::time::timeout(timeout, async {
        while !f() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    assert!(polled.await.is_ok(), "timed out waiting for {what}");
}

fn set0() -> Vec<(ed25519::Public, u64)> {
    vec![(dev_ed25519("Alice").public(), 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_are_authored_finalized_and_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut test_chain = TestChain::dev(250);
    let db = Database::open(&dir.path().join("db"), Config::default()).unwrap();
    let chain = Arc::new(Chain::new(db, &test_chain.head, &test_chain.state).unwrap());
    let pool = Arc::new(Pool::default());

    let node = start(chain.clone(), pool.clone());
    wait_for("5 finalized blocks", Duration::from_secs(60), || chain.finalized().unwrap().number >= 5).await;
    let latest = grandpa::latest_justification(&chain).unwrap().unwrap();
    let decoded =
        justification::decode_and_verify(&latest.justification, latest.block.hash, latest.block.number, 0, &set0())
            .unwrap();
    assert_eq!(decoded.commit.precommits.len(), 1);
    // The same justification fails for another set id, another target, or a flipped byte.
    assert!(justification::decode_and_verify(
        &latest.justification,
        latest.block.hash,
        latest.block.number,
        1,
        &set0()
    )
    .is_err());
    assert!(justification::decode_and_verify(
        &latest.justification,
        H256::repeat_byte(1),
        latest.block.number,
        0,
        &set0()
    )
    .is_err());
    let mut forged = latest.justification.clone();
    let n = forged.len();
    forged[n - 10] ^= 1;
    assert!(justification::decode_and_verify(&forged, latest.block.hash, latest.block.number, 0, &set0()).is_err());
    assert!(node.handle.round_summary().is_some());

    // Another node importing the chain: a justification handed in with a
    // block is verified first. A forged one refuses the import (nothing
    // stored); the real one is stored with its block.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Chain::new(
        Database::open(&other_dir.path().join("db"), Config::default()).unwrap(),
        &TestChain::dev(250).head,
        &TestChain::dev(250).state,
    )
    .unwrap();
    let origin = umbra_consensus::chain::Origin::External { now_slot: u64::MAX - 2 };
    for n in 1..=latest.block.number {
        let hash = chain.db().hash_at(n).unwrap().unwrap();
        let header = chain.expect_header(&hash).unwrap();
        let body = chain.db().body(&hash).unwrap().unwrap();
        if n == latest.block.number {
            let refused = other.import(header.clone(), body.clone(), Some(forged.clone()), origin);
            assert!(matches!(refused, Err(umbra_consensus::Error::BadJustification(_))), "{refused:?}");
            assert!(!other.db().contains(&hash).unwrap(), "nothing stored");
            other.import(header, body, Some(latest.justification.clone()), origin).unwrap();
            assert_eq!(other.db().justification(&hash).unwrap(), Some(latest.justification.clone()));
        } else {
            other.import(header, body, None, origin).unwrap();
        }
    }

    // Restart both tasks on the same database: finality continues.
    stop(node).await;
    let before = chain.finalized().unwrap().number;
    let node = start(chain.clone(), pool.clone());
    wait_for("finality after restart", Duration::from_secs(60), || chain.finalized().unwrap().number >= before + 3)
        .await;

    // Schedule a new set (Alice with weight 2) through sudo.
    test_chain.genesis_hash = chain.genesis().hash;
    let best = chain.best().unwrap();
    test_chain.head = chain.expect_header(&best.hash).unwrap();
    let next = vec![(dev_ed25519("Alice").public(), 2)];
    let change =
        RuntimeCall::Grandpa(grandpa_module::Call::schedule_change { next_authorities: next.clone(), delay: 0 });
    let call = RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(change) });
    let xt = test_chain.sign("Alice", call, 0, 0, Era::Immortal);
    pool.0.lock().unwrap().push((H256::repeat_byte(0xaa), xt));
    wait_for("set change", Duration::from_secs(60), || node.handle.current_set().map(|s| s.set_id) == Some(1)).await;
    let set = node.handle.current_set().unwrap();
    assert_eq!(set.authorities, next);
    // The change block is finalized with a stored justification of set 0.
    let stored = chain.db().justification(&set.base.hash).unwrap().expect("justification at set change");
    justification::decode_and_verify(&stored, set.base.hash, set.base.number, 0, &set0()).unwrap();
    // Finality continues under set 1.
    let at_change = set.base.number;
    wait_for("finality under the new set", Duration::from_secs(60), || {
        chain.finalized().unwrap().number >= at_change + 3
    })
    .await;
    let latest = grandpa::latest_justification(&chain).unwrap().unwrap();
    assert_eq!(latest.set_id, 1);
    justification::decode_and_verify(&latest.justification, latest.block.hash, latest.block.number, 1, &next).unwrap();
    // A finality proof for block 1 points at a stored justification.
    let proof = grandpa::prove_finality(&chain, 1).unwrap().unwrap();
    assert!(proof.unknown_headers.iter().any(|h| h.hash() == proof.block));
    stop(node).await;
}

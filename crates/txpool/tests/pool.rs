//! The pool against the real runtime's validation: ordering by nonce tags
//! and priority, replacement, limits, bans, block inclusion and finality.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Mutex;

use umbra_primitives::{block::OpaqueExtrinsic, BlockNumber, H256};
use umbra_runtime::{
    error::InvalidTransaction,
    modules::balances::UMB,
    testing::{dev_account, TestChain},
    validation::{validate_transaction, TransactionSource, ValidTransaction},
};
use umbra_txpool::{tx_hash, Limits, Pool, PoolError, TxStatus, Validator};

struct ChainValidator(Mutex<TestChain>);

impl Validator for &ChainValidator {
    fn validate(&self, _hash: H256, _number: BlockNumber, xt: &OpaqueExtrinsic) -> Result<ValidTransaction, PoolError> {
        let chain = self.0.lock().unwrap();
        Ok(validate_transaction(&chain.state, chain.head_hash(), chain.head.number, TransactionSource::External, xt)?)
    }
}

fn setup() -> &'static ChainValidator {
    Box::leak(Box::new(ChainValidator(Mutex::new(TestChain::dev(1000)))))
}

fn tx(v: &ChainValidator, from: &str, nonce: u32, tip: u128) -> OpaqueExtrinsic {
    let mut chain = v.0.lock().unwrap();
    let call = umbra_runtime::RuntimeCall::Balances(umbra_runtime::modules::balances::Call::transfer_keep_alive {
        dest: umbra_primitives::extrinsic::MultiAddress::Id(dev_account("Ferdie")),
        value: UMB,
    });
    chain.sign(from, call, nonce, tip, umbra_primitives::extrinsic::Era::Immortal)
}

fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<TxStatus>) -> Vec<TxStatus> {
    let mut out = vec![];
    while let Ok(s) = rx.try_recv() {
        out.push(s);
    }
    out
}

#[test]
fn nonce_order_and_priority() {
    let v = setup();
    let pool = Pool::new(v, Limits::default());
    let (a2, a0, a1) = (tx(v, "Alice", 2, 0), tx(v, "Alice", 0, 0), tx(v, "Alice", 1, 0));
    let (h2, mut w2) = pool.submit_and_watch(H256::zero(), 0, a2.clone()).unwrap();
    assert_eq!(drain(&mut w2), vec![TxStatus::Future]);
    assert_eq!(pool.status(), (0, 1));
    let h0 = pool.submit(H256::zero(), 0, a0).unwrap();
    let h1 = pool.submit(H256::zero(), 0, a1).unwrap();
    assert_eq!(drain(&mut w2), vec![TxStatus::Ready], "promoted when its predecessor arrived");
    assert_eq!(pool.status(), (3, 0));
    // A tipped independent transaction goes first; Alice's chain stays in order.
    let bob = pool.submit(H256::zero(), 0, tx(v, "Bob", 0, 10 * UMB / 1000)).unwrap();
    let order: Vec<H256> = pool.ready().into_iter().map(|(h, _)| h).collect();
    assert_eq!(order, vec![bob, h0, h1, h2]);
    assert_eq!(pool.submit(H256::zero(), 0, a2), Err(PoolError::AlreadyImported(h2)));
    assert_eq!(pool.pending().len(), 4);
}

#[test]
fn replacement_by_priority() {
    let v = setup();
    let pool = Pool::new(v, Limits::default());
    let (low, mut w) = pool.submit_and_watch(H256::zero(), 0, tx(v, "Charlie", 0, 1)).unwrap();
    drain(&mut w);
    let high = pool.submit(H256::zero(), 0, tx(v, "Charlie", 0, 5)).unwrap();
    assert_eq!(drain(&mut w), vec![TxStatus::Usurped(high)]);
    assert!(matches!(
        pool.submit(H256::zero(), 0, tx(v, "Charlie", 0, 2)),
        Err(PoolError::TooLowPriority { old: 5, new: 2 })
    ));
    assert_eq!(pool.ready().len(), 1);
    assert_ne!(low, high);
}

#[test]
fn invalid_limits_and_bans() {
    let v = setup();
    let pool = Pool::new(v, Limits { max_count: 3, max_bytes: 1 << 20, max_future: 1, ban_blocks: 5 });
    let mut bad = tx(v, "Dave", 0, 0);
    bad.0[40] ^= 1;
    assert_eq!(pool.submit(H256::zero(), 0, bad), Err(PoolError::Invalid(InvalidTransaction::BadProof)));
    // One future transaction is allowed, the second is dropped.
    pool.submit(H256::zero(), 0, tx(v, "Dave", 5, 0)).unwrap();
    assert_eq!(pool.submit(H256::zero(), 0, tx(v, "Dave", 6, 0)), Err(PoolError::ImmediatelyDropped));
    pool.submit(H256::zero(), 0, tx(v, "Eve", 0, 0)).unwrap();
    pool.submit(H256::zero(), 0, tx(v, "Ferdie", 0, 0)).unwrap();
    assert_eq!(pool.submit(H256::zero(), 0, tx(v, "Bob", 0, 0)), Err(PoolError::ImmediatelyDropped));
    // Invalid at authoring time: removed and banned.
    let eve = tx(v, "Eve", 0, 0);
    pool.remove_invalid(&[tx_hash(&eve)]);
    assert_eq!(pool.submit(H256::zero(), 0, eve), Err(PoolError::TemporarilyBanned));
}

#[test]
fn inclusion_revalidation_and_finality() {
    let v = setup();
    let pool = Pool::new(v, Limits::default());
    let (a0, a1, b0) = (tx(v, "Alice", 0, 0), tx(v, "Alice", 1, 0), tx(v, "Bob", 0, 0));
    let (h0, mut w0) = pool.submit_and_watch(H256::zero(), 0, a0.clone()).unwrap();
    let (_h1, mut w1) = pool.submit_and_watch(H256::zero(), 0, a1.clone()).unwrap();
    pool.submit(H256::zero(), 0, b0.clone()).unwrap();
    // Bob's transaction is included by someone else's block (a replay of the
    // same bytes), Alice's first one too.
    let (block, number) = {
        let mut chain = v.0.lock().unwrap();
        chain.produce(vec![a0.clone(), b0.clone()]);
        (chain.head_hash(), chain.head.number)
    };
    pool.on_new_best(block, number, &[a0, b0], vec![]);
    assert_eq!(drain(&mut w0), vec![TxStatus::Ready, TxStatus::InBlock(block)]);
    // Alice's nonce-1 transaction is still there and now needs nothing.
    assert_eq!(pool.ready().len(), 1);
    assert_eq!(drain(&mut w1), vec![TxStatus::Ready]);
    pool.on_finalized(&[block]);
    assert_eq!(drain(&mut w0), vec![TxStatus::Finalized(block)]);
    // A block that includes a1 elsewhere makes the pooled copy stale: invalid.
    {
        let mut chain = v.0.lock().unwrap();
        chain.produce(vec![a1.clone()]);
    }
    let (block2, number2) = {
        let chain = v.0.lock().unwrap();
        (chain.head_hash(), chain.head.number)
    };
    pool.on_new_best(block2, number2, &[], vec![]);
    assert_eq!(drain(&mut w1), vec![TxStatus::Invalid]);
    assert_eq!(pool.status(), (0, 0));
    assert_ne!(h0, H256::zero());
}

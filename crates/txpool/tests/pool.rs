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

/// The ready transactions' hashes, in inclusion order.
fn ready_order<V: Validator>(pool: &Pool<V>) -> Vec<H256> {
    pool.ready().into_iter().map(|(h, _)| h).collect()
}

/// Produces a block with `txs` on the test chain; its (hash, number).
fn next_block(v: &ChainValidator, txs: Vec<OpaqueExtrinsic>) -> (H256, BlockNumber) {
    let mut chain = v.0.lock().unwrap();
    chain.produce(txs);
    (chain.head_hash(), chain.head.number)
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
    let order = ready_order(&pool);
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
    let pool =
        Pool::new(v, Limits { max_count: 3, max_bytes: 1 << 20, max_future: 1, ban_blocks: 5, ..Limits::default() });
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
    pool.remove_invalid(&[(tx_hash(&eve), InvalidTransaction::Payment.into())]);
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
    let (block, number) = next_block(v, vec![a0.clone(), b0.clone()]);
    pool.on_new_best(block, number, &[a0, b0], vec![]);
    assert_eq!(drain(&mut w0), vec![TxStatus::Ready, TxStatus::InBlock(block)]);
    // Alice's nonce-1 transaction is still there and now needs nothing.
    assert_eq!(pool.ready().len(), 1);
    assert_eq!(drain(&mut w1), vec![TxStatus::Ready]);
    pool.on_finalized(&[block]);
    assert_eq!(drain(&mut w0), vec![TxStatus::Finalized(block)]);
    // A block that includes a1 elsewhere makes the pooled copy stale: invalid.
    let (block2, number2) = next_block(v, vec![a1.clone()]);
    pool.on_new_best(block2, number2, &[], vec![]);
    assert_eq!(drain(&mut w1), vec![TxStatus::Invalid]);
    assert_eq!(pool.status(), (0, 0));
    assert_ne!(h0, H256::zero());
}

/// A transaction behind a nonce gap that is never filled waits in future
/// for `future_blocks` blocks, then is dropped (its watcher sees
/// `Dropped`) and its place in the future bound is free again. Before,
/// immortal ones stayed for good and filled `max_future`.
#[test]
fn future_transactions_behind_a_gap_are_dropped_after_future_blocks() {
    let v = setup();
    let pool = Pool::new(v, Limits { max_future: 1, future_blocks: 3, ..Limits::default() });
    let (stranded, mut w) = pool.submit_and_watch(H256::zero(), 0, tx(v, "Dave", 1, 0)).unwrap();
    assert_eq!(drain(&mut w), vec![TxStatus::Future]);
    assert_eq!(pool.submit(H256::zero(), 0, tx(v, "Eve", 1, 0)), Err(PoolError::ImmediatelyDropped));
    for _ in 0..3 {
        let (hash, number) = next_block(v, vec![]);
        pool.on_new_best(hash, number, &[], vec![]);
        assert_eq!(pool.status(), (0, 1), "still waiting at #{number}");
    }
    let (hash, number) = next_block(v, vec![]);
    pool.on_new_best(hash, number, &[], vec![]);
    assert_eq!(drain(&mut w), vec![TxStatus::Dropped]);
    assert_eq!(pool.status(), (0, 0));
    // Its room is free, and it may come back (it is not banned).
    pool.submit(H256::zero(), 0, tx(v, "Eve", 1, 0)).unwrap();
    assert_ne!(stranded, H256::zero());
}

/// Accepts a transaction from block `valid_from` on; before it, "valid in
/// the future" (a nonce too far ahead of an older state).
struct FromBlock {
    valid_from: BlockNumber,
}

impl Validator for FromBlock {
    fn validate(&self, _hash: H256, number: BlockNumber, _xt: &OpaqueExtrinsic) -> Result<ValidTransaction, PoolError> {
        if number < self.valid_from {
            return Err(PoolError::Invalid(InvalidTransaction::Future));
        }
        Ok(ValidTransaction {
            priority: 0,
            requires: vec![],
            provides: vec![b"t".to_vec()],
            longevity: 64,
            propagate: true,
        })
    }
}

/// Block notifications trail the chain: a transaction accepted on block 5
/// and then re-validated for block 4 (whose notification came late) is
/// kept; judged on block 4's state it would have been dropped. It is
/// re-validated again from block 5 on.
#[test]
fn a_late_block_notice_does_not_judge_newer_transactions() {
    let pool = Pool::new(FromBlock { valid_from: 5 }, Limits::default());
    let (hash, mut w) = pool.submit_and_watch(H256::repeat_byte(5), 5, OpaqueExtrinsic(vec![1, 2, 3])).unwrap();
    assert_eq!(drain(&mut w), vec![TxStatus::Ready]);
    pool.on_new_best(H256::repeat_byte(4), 4, &[], vec![]);
    assert_eq!(pool.status(), (1, 0), "kept");
    pool.on_new_best(H256::repeat_byte(6), 6, &[], vec![]);
    assert_eq!(ready_order(&pool), vec![hash]);
    assert!(drain(&mut w).is_empty());
}

/// An author finds a transaction stale (a block the pool has not heard of
/// yet included it): it leaves as included and the sender's next one stays
/// ready for the very next block, before any re-validation. Before, the
/// successor fell back to future until the block notice came.
#[test]
fn a_stale_transaction_leaves_as_included() {
    let v = setup();
    let pool = Pool::new(v, Limits::default());
    let (a0, a1) = (tx(v, "Alice", 0, 0), tx(v, "Alice", 1, 0));
    let h0 = pool.submit(H256::zero(), 0, a0).unwrap();
    let h1 = pool.submit(H256::zero(), 0, a1).unwrap();
    pool.remove_invalid(&[(h0, InvalidTransaction::Stale.into())]);
    assert_eq!(ready_order(&pool), vec![h1]);
    assert_eq!(pool.status(), (1, 0));
}

/// What this node's author just included leaves the pool at once (the
/// next block is not built from it again) and its successor stays ready;
/// the watcher still hears `InBlock` with the block's notice.
#[test]
fn own_blocks_take_their_transactions_out_at_once() {
    let v = setup();
    let pool = Pool::new(v, Limits::default());
    let (a0, a1) = (tx(v, "Alice", 0, 0), tx(v, "Alice", 1, 0));
    let (h0, mut w0) = pool.submit_and_watch(H256::zero(), 0, a0.clone()).unwrap();
    let h1 = pool.submit(H256::zero(), 0, a1).unwrap();
    drain(&mut w0);
    pool.remove_included(&[h0]);
    assert_eq!(ready_order(&pool), vec![h1]);
    let (hash, number) = next_block(v, vec![a0.clone()]);
    pool.on_new_best(hash, number, &[a0], vec![]);
    assert_eq!(drain(&mut w0), vec![TxStatus::InBlock(hash)]);
    assert_eq!(pool.status(), (1, 0));
}

/// A transaction that left as included and comes back (its block was
/// retracted) provides its tag again: its successor waits for it, in
/// order, instead of counting the tag as the chain's.
#[test]
fn a_returning_transaction_takes_its_tag_back_from_the_chain() {
    let v = setup();
    let pool = Pool::new(v, Limits::default());
    let (a0, a1) = (tx(v, "Alice", 0, 0), tx(v, "Alice", 1, 0));
    let h0 = pool.submit(H256::zero(), 0, a0.clone()).unwrap();
    let h1 = pool.submit(H256::zero(), 0, a1).unwrap();
    pool.remove_included(&[h0]);
    assert_eq!(pool.submit(H256::zero(), 0, a0).unwrap(), h0, "back, as after a retraction");
    assert_eq!(ready_order(&pool), vec![h0, h1]);
}

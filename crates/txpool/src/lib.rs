//! The transaction pool.
//!
//! Transactions are validated against the best block's state by a
//! [`Validator`] (the runtime's `TaggedTransactionQueue`). Each valid
//! transaction *provides* tags and may *require* tags: a transaction is
//! **ready** when every tag it requires is provided by another ready
//! transaction or needs nothing (its nonce is the account's), otherwise it
//! waits in **future**. Block authors take ready transactions by priority,
//! each only after the ones it depends on ([`Pool::ready`]).
//!
//! Bounds: total count and bytes, and a separate cap on future
//! transactions. A transaction that provides a tag already provided
//! replaces the old one only with a higher priority. When a block is
//! imported, included transactions leave (watchers see `InBlock`), the rest
//! are re-validated (stale and expired ones are dropped as `Invalid`), and
//! transactions of retracted blocks come back. Invalid transactions are
//! banned for a while so they cannot be resubmitted in a loop; a
//! transaction that waited in future for `future_blocks` blocks (its
//! predecessor never came) is dropped.

use std::{
    cmp::Reverse,
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Mutex,
};

use tokio::sync::mpsc;
use umbra_primitives::{block::OpaqueExtrinsic, BlockNumber, H256};
use umbra_runtime::{
    error::{InvalidTransaction, TransactionValidityError, UnknownTransaction},
    validation::ValidTransaction,
};

/// A transaction's hash: BLAKE2b-256 of its full encoding.
pub fn tx_hash(xt: &OpaqueExtrinsic) -> H256 {
    xt.hash()
}

/// Validates a transaction against the state of a block.
pub trait Validator: Send + Sync {
    /// Validity of `xt` on top of block (`hash`, `number`).
    fn validate(&self, hash: H256, number: BlockNumber, xt: &OpaqueExtrinsic) -> Result<ValidTransaction, PoolError>;
}

/// Why the pool refused a transaction (codes as Substrate's author RPC).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The runtime says it is invalid.
    #[error("invalid transaction: {}", .0.message())]
    Invalid(InvalidTransaction),
    /// The runtime cannot tell.
    #[error("unknown transaction validity: {0:?}")]
    Unknown(UnknownTransaction),
    /// Recently found invalid.
    #[error("transaction is temporarily banned")]
    TemporarilyBanned,
    /// Already in the pool.
    #[error("transaction already imported: {0:?}")]
    AlreadyImported(H256),
    /// Another transaction provides the same tag with at least this priority.
    #[error("priority is too low: ({old} vs {new})")]
    TooLowPriority {
        /// Priority of the one in the pool.
        old: u64,
        /// Priority of the new one.
        new: u64,
    },
    /// The pool is full and the transaction is not better than what is there.
    #[error("transaction immediately dropped: the pool is full")]
    ImmediatelyDropped,
    /// Validation could not run (state unavailable).
    #[error("validation failed: {0}")]
    Validation(String),
}

impl From<TransactionValidityError> for PoolError {
    fn from(e: TransactionValidityError) -> Self {
        match e {
            TransactionValidityError::Invalid(i) => PoolError::Invalid(i),
            TransactionValidityError::Unknown(u) => PoolError::Unknown(u),
        }
    }
}

/// A watched transaction's life (`author_submitAndWatchExtrinsic` statuses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Waiting for a previous transaction.
    Future,
    /// Ready for inclusion.
    Ready,
    /// Included in a block.
    InBlock(H256),
    /// The block that included it left the best chain.
    Retracted(H256),
    /// The block that included it is finalized.
    Finalized(H256),
    /// Replaced by another transaction.
    Usurped(H256),
    /// Dropped (pool limits).
    Dropped,
    /// Found invalid.
    Invalid,
}

impl TxStatus {
    /// Whether no further status follows.
    pub fn is_final(&self) -> bool {
        matches!(self, TxStatus::Finalized(_) | TxStatus::Usurped(_) | TxStatus::Dropped | TxStatus::Invalid)
    }
}

/// Pool bounds.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most transactions.
    pub max_count: usize,
    /// Most total encoded bytes.
    pub max_bytes: usize,
    /// Most future transactions.
    pub max_future: usize,
    /// Blocks an invalid transaction stays banned.
    pub ban_blocks: u32,
    /// Blocks a transaction may wait in future (for a predecessor that
    /// never comes: a skipped nonce) before it is dropped. Without it an
    /// immortal transaction behind a gap stays forever and enough of them
    /// fill `max_future` for good.
    pub future_blocks: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_count: 8192, max_bytes: 20 << 20, max_future: 1024, ban_blocks: 30, future_blocks: 64 }
    }
}

struct Tx {
    xt: OpaqueExtrinsic,
    bytes: usize,
    valid: ValidTransaction,
    insertion: u64,
    ready: bool,
    valid_till: u64,
    /// The best block when it last entered future.
    future_since: BlockNumber,
    /// The block it was last validated on.
    validated_at: BlockNumber,
}

#[derive(Default)]
struct Inner {
    txs: HashMap<H256, Tx>,
    /// Which transaction provides each tag.
    providers: BTreeMap<Vec<u8>, H256>,
    /// Which transactions require each tag.
    requirers: BTreeMap<Vec<u8>, BTreeSet<H256>>,
    bytes: usize,
    future: usize,
    next_insertion: u64,
    watchers: HashMap<H256, Vec<mpsc::UnboundedSender<TxStatus>>>,
    /// Watched transactions per block that included them, until finalized.
    in_block: BTreeMap<H256, Vec<H256>>,
    /// Hash → block number until which it stays banned.
    banned: HashMap<H256, BlockNumber>,
    /// Tags the chain now provides (of transactions that left the pool as
    /// included, or as stale at authoring) → the best block then. A
    /// transaction requiring one is ready at once, without waiting for
    /// its re-validation on the new state.
    pruned: BTreeMap<Vec<u8>, BlockNumber>,
    best_number: BlockNumber,
}

/// The pool.
pub struct Pool<V> {
    validator: V,
    limits: Limits,
    inner: Mutex<Inner>,
}

impl Inner {
    fn notify(&mut self, hash: &H256, status: TxStatus) {
        let final_status = status.is_final();
        if let Some(list) = self.watchers.get_mut(hash) {
            list.retain(|w| w.send(status.clone()).is_ok());
        }
        if final_status {
            self.watchers.remove(hash);
        }
    }

    /// Whether every tag `hash` requires is provided by a ready
    /// transaction or by the chain.
    fn satisfied(&self, hash: &H256) -> bool {
        self.txs[hash].valid.requires.iter().all(|tag| {
            self.pruned.contains_key(tag)
                || self.providers.get(tag).is_some_and(|p| self.txs.get(p).is_some_and(|t| t.ready))
        })
    }

    /// How many tags `tx` requires that the chain does not provide.
    fn unmet(&self, tx: &Tx) -> usize {
        tx.valid.requires.iter().filter(|tag| !self.pruned.contains_key(*tag)).count()
    }

    /// Removes `hash` as included in the chain: what it provided, the
    /// chain now does.
    fn prune(&mut self, hash: &H256) -> Option<Tx> {
        let tx = self.remove(hash)?;
        for tag in &tx.valid.provides {
            self.pruned.insert(tag.clone(), self.best_number);
        }
        Some(tx)
    }

    fn set_ready(&mut self, hash: &H256, ready: bool) -> bool {
        let Some(tx) = self.txs.get_mut(hash) else { return false };
        if tx.ready == ready {
            return false;
        }
        tx.ready = ready;
        if ready {
            self.future -= 1;
        } else {
            tx.future_since = self.best_number;
            self.future += 1;
        }
        true
    }

    /// Marks `start` ready and, transitively, every transaction it unlocks.
    /// Returns the transactions that became ready.
    fn promote_from(&mut self, start: Vec<H256>) -> Vec<H256> {
        let mut promoted = Vec::new();
        let mut work = start;
        while let Some(hash) = work.pop() {
            if !self.satisfied(&hash) || !self.set_ready(&hash, true) {
                continue;
            }
            promoted.push(hash);
            let tags = self.txs[&hash].valid.provides.clone();
            for tag in tags {
                if let Some(requirers) = self.requirers.get(&tag) {
                    work.extend(requirers.iter().copied().filter(|r| !self.txs[r].ready));
                }
            }
        }
        promoted
    }

    /// Recomputes readiness of everything; returns the transitions.
    fn recompute_ready(&mut self) -> Vec<(H256, bool)> {
        let before: Vec<(H256, bool)> = self.txs.iter().map(|(h, t)| (*h, t.ready)).collect();
        for (hash, _) in &before {
            self.set_ready(hash, false);
        }
        let roots: Vec<H256> = self.txs.iter().filter(|(_, t)| self.unmet(t) == 0).map(|(h, _)| *h).collect();
        self.promote_from(roots);
        before
            .into_iter()
            .filter_map(|(h, was)| {
                let now = self.txs.get(&h).is_some_and(|t| t.ready);
                (now != was).then_some((h, now))
            })
            .collect()
    }

    fn insert(&mut self, hash: H256, tx: Tx) {
        for tag in &tx.valid.provides {
            // Provided by a pool transaction again (a retracted block's
            // came back): not the chain's any more.
            self.pruned.remove(tag);
            self.providers.insert(tag.clone(), hash);
        }
        for tag in &tx.valid.requires {
            self.requirers.entry(tag.clone()).or_default().insert(hash);
        }
        self.bytes += tx.bytes;
        self.future += 1;
        self.txs.insert(hash, tx);
    }

    fn remove(&mut self, hash: &H256) -> Option<Tx> {
        let tx = self.txs.remove(hash)?;
        self.bytes -= tx.bytes;
        if !tx.ready {
            self.future -= 1;
        }
        for tag in &tx.valid.provides {
            if self.providers.get(tag) == Some(hash) {
                self.providers.remove(tag);
            }
        }
        for tag in &tx.valid.requires {
            if let Some(set) = self.requirers.get_mut(tag) {
                set.remove(hash);
                if set.is_empty() {
                    self.requirers.remove(tag);
                }
            }
        }
        Some(tx)
    }
}

impl<V: Validator> Pool<V> {
    /// An empty pool.
    pub fn new(validator: V, limits: Limits) -> Self {
        Pool { validator, limits, inner: Mutex::new(Inner::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Number of transactions (ready, future).
    pub fn status(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.txs.len() - inner.future, inner.future)
    }

    /// Whether a pooled transaction provides `tag`.
    pub fn provides(&self, tag: &[u8]) -> bool {
        self.lock().providers.contains_key(tag)
    }

    /// Every transaction in the pool (`author_pendingExtrinsics`).
    pub fn pending(&self) -> Vec<OpaqueExtrinsic> {
        let inner = self.lock();
        let mut txs: Vec<&Tx> = inner.txs.values().collect();
        txs.sort_by_key(|t| t.insertion);
        txs.into_iter().map(|t| t.xt.clone()).collect()
    }

    /// Validates and adds `xt` on top of block (`at`, `number`).
    pub fn submit(&self, at: H256, number: BlockNumber, xt: OpaqueExtrinsic) -> Result<H256, PoolError> {
        self.submit_inner(at, number, xt, None)
    }

    /// As [`Pool::submit`], with a stream of status updates.
    pub fn submit_and_watch(
        &self,
        at: H256,
        number: BlockNumber,
        xt: OpaqueExtrinsic,
    ) -> Result<(H256, mpsc::UnboundedReceiver<TxStatus>), PoolError> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let hash = self.submit_inner(at, number, xt, Some(sender))?;
        Ok((hash, receiver))
    }

    fn submit_inner(
        &self,
        at: H256,
        number: BlockNumber,
        xt: OpaqueExtrinsic,
        watcher: Option<mpsc::UnboundedSender<TxStatus>>,
    ) -> Result<H256, PoolError> {
        let hash = tx_hash(&xt);
        {
            let inner = self.lock();
            if inner.txs.contains_key(&hash) {
                return Err(PoolError::AlreadyImported(hash));
            }
            if inner.banned.get(&hash).is_some_and(|until| *until >= inner.best_number) {
                return Err(PoolError::TemporarilyBanned);
            }
        }
        // Validation runs without the lock (it reads state).
        let valid = self.validator.validate(at, number, &xt)?;
        let mut inner = self.lock();
        if inner.txs.contains_key(&hash) {
            return Err(PoolError::AlreadyImported(hash));
        }
        // Replacement of a transaction providing the same tag.
        let mut replaced = Vec::new();
        for tag in &valid.provides {
            if let Some(old_hash) = inner.providers.get(tag).copied() {
                let old = inner.txs[&old_hash].valid.priority;
                if valid.priority <= old {
                    return Err(PoolError::TooLowPriority { old, new: valid.priority });
                }
                replaced.push(old_hash);
            }
        }
        let bytes = xt.0.len();
        let is_future_candidate = !valid.requires.is_empty();
        if inner.txs.len() + 1 - replaced.len() > self.limits.max_count
            || inner.bytes + bytes > self.limits.max_bytes
            || (is_future_candidate && inner.future >= self.limits.max_future)
        {
            return Err(PoolError::ImmediatelyDropped);
        }
        for old in &replaced {
            inner.remove(old);
            inner.notify(old, TxStatus::Usurped(hash));
        }
        let insertion = inner.next_insertion;
        inner.next_insertion += 1;
        let valid_till = u64::from(number).saturating_add(valid.longevity);
        let future_since = inner.best_number;
        inner.insert(
            hash,
            Tx { xt, bytes, valid, insertion, ready: false, valid_till, future_since, validated_at: number },
        );
        if let Some(w) = watcher {
            inner.watchers.entry(hash).or_default().push(w);
        }
        let promoted = inner.promote_from(vec![hash]);
        let now_ready = inner.txs.get(&hash).is_some_and(|t| t.ready);
        inner.notify(&hash, if now_ready { TxStatus::Ready } else { TxStatus::Future });
        for h in promoted {
            if h != hash {
                inner.notify(&h, TxStatus::Ready);
            }
        }
        tracing::debug!(target: "umbra::txpool", ?hash, ready = now_ready, "transaction added");
        Ok(hash)
    }

    /// Ready transactions in inclusion order: highest priority first, each
    /// after the transactions providing what it requires.
    pub fn ready(&self) -> Vec<(H256, OpaqueExtrinsic)> {
        let inner = self.lock();
        let mut waiting: BTreeSet<(Reverse<u64>, u64, H256)> = BTreeSet::new();
        let mut missing: HashMap<H256, usize> = HashMap::new();
        for (hash, tx) in inner.txs.iter().filter(|(_, t)| t.ready) {
            match inner.unmet(tx) {
                0 => {
                    waiting.insert((Reverse(tx.valid.priority), tx.insertion, *hash));
                }
                unmet => {
                    missing.insert(*hash, unmet);
                }
            }
        }
        let mut out = Vec::with_capacity(inner.txs.len() - inner.future);
        while let Some(first) = waiting.pop_first() {
            let hash = first.2;
            let tx = &inner.txs[&hash];
            out.push((hash, tx.xt.clone()));
            for tag in &tx.valid.provides {
                let Some(requirers) = inner.requirers.get(tag) else { continue };
                for r in requirers {
                    if let Some(left) = missing.get_mut(r) {
                        *left -= 1;
                        if *left == 0 {
                            missing.remove(r);
                            let t = &inner.txs[r];
                            waiting.insert((Reverse(t.valid.priority), t.insertion, *r));
                        }
                    }
                }
            }
        }
        out
    }

    /// Takes out transactions this node's author just included (the
    /// block's import notice, [`Pool::on_new_best`], comes later): what
    /// they provided is the chain's now. Their watchers hear of the block
    /// with the notice.
    pub fn remove_included(&self, hashes: &[H256]) {
        let mut inner = self.lock();
        for hash in hashes {
            inner.prune(hash);
        }
    }

    /// Drops transactions found invalid by a block author and bans them.
    /// A stale one (its nonce used: included in a block this pool has not
    /// heard of yet) leaves as included, so its successors stay ready.
    pub fn remove_invalid(&self, invalid: &[(H256, TransactionValidityError)]) {
        let mut inner = self.lock();
        let until = inner.best_number.saturating_add(self.limits.ban_blocks);
        for (hash, reason) in invalid {
            let stale = *reason == TransactionValidityError::Invalid(InvalidTransaction::Stale);
            let removed = if stale { inner.prune(hash) } else { inner.remove(hash) };
            if removed.is_some() {
                inner.notify(hash, TxStatus::Invalid);
            }
            inner.banned.insert(*hash, until);
        }
        let transitions = inner.recompute_ready();
        for (h, ready) in transitions {
            inner.notify(&h, if ready { TxStatus::Ready } else { TxStatus::Future });
        }
    }

    /// A new best block (`hash`, `number`) was imported with `included`
    /// transactions; `retracted` are transactions of blocks that left the best
    /// chain, to resubmit. Re-validates what remains.
    pub fn on_new_best(
        &self,
        hash: H256,
        number: BlockNumber,
        included: &[OpaqueExtrinsic],
        retracted: Vec<OpaqueExtrinsic>,
    ) {
        let included_hashes: Vec<H256> = included.iter().map(tx_hash).collect();
        {
            let mut inner = self.lock();
            inner.best_number = number;
            inner.banned.retain(|_, until| *until >= number);
            let keep = self.limits.ban_blocks;
            inner.pruned.retain(|_, at| at.saturating_add(keep) >= number);
            let mut watched = Vec::new();
            for h in &included_hashes {
                inner.prune(h);
                if inner.watchers.contains_key(h) {
                    inner.notify(h, TxStatus::InBlock(hash));
                    watched.push(*h);
                }
            }
            if !watched.is_empty() {
                inner.in_block.insert(hash, watched);
            }
        }
        for xt in retracted {
            if !included_hashes.contains(&tx_hash(&xt)) {
                let _ = self.submit(hash, number, xt);
            }
        }
        self.revalidate(hash, number);
    }

    /// Blocks whose transactions moved off the best chain.
    pub fn on_retracted(&self, block: H256) {
        let mut inner = self.lock();
        if let Some(watched) = inner.in_block.remove(&block) {
            for h in watched {
                inner.notify(&h, TxStatus::Retracted(block));
            }
        }
    }

    /// Blocks were finalized: watchers of their transactions see `Finalized`.
    pub fn on_finalized(&self, blocks: &[H256]) {
        let mut inner = self.lock();
        for block in blocks {
            if let Some(watched) = inner.in_block.remove(block) {
                for h in watched {
                    inner.notify(&h, TxStatus::Finalized(*block));
                }
            }
        }
    }

    /// Re-validates on block (`at`, `number`) every transaction validated
    /// on an earlier block. One validated on a later block is kept as it
    /// is: block notifications may trail the chain, and judging a
    /// transaction on an older state than the one it was accepted on
    /// would drop good ones (a nonce "in the future" there, an era whose
    /// birth block is not yet known), stranding every later nonce of its
    /// sender.
    fn revalidate(&self, at: H256, number: BlockNumber) {
        let snapshot: Vec<(H256, OpaqueExtrinsic, u64)> = {
            let inner = self.lock();
            inner
                .txs
                .iter()
                .filter(|(_, t)| t.validated_at <= number)
                .map(|(h, t)| (*h, t.xt.clone(), t.valid_till))
                .collect()
        };
        let mut results = Vec::with_capacity(snapshot.len());
        for (hash, xt, valid_till) in snapshot {
            if u64::from(number) >= valid_till {
                results.push((hash, Err(PoolError::Invalid(InvalidTransaction::Stale))));
                continue;
            }
            results.push((hash, self.validator.validate(at, number, &xt)));
        }
        let mut inner = self.lock();
        let until = number.saturating_add(self.limits.ban_blocks);
        for (hash, result) in results {
            match result {
                Ok(valid) => {
                    if let Some(tx) = inner.txs.get_mut(&hash).filter(|t| t.validated_at <= number) {
                        tx.valid_till = u64::from(number).saturating_add(valid.longevity);
                        tx.valid = valid;
                        tx.validated_at = number;
                    }
                }
                Err(PoolError::Validation(e)) => {
                    tracing::warn!(target: "umbra::txpool", ?hash, error = %e, "revalidation could not run");
                }
                Err(e) => {
                    if inner.remove(&hash).is_some() {
                        tracing::debug!(target: "umbra::txpool", ?hash, error = %e, "invalid on revalidation");
                        inner.notify(&hash, TxStatus::Invalid);
                        inner.banned.insert(hash, until);
                    }
                }
            }
        }
        // Rebuild the tag indexes (tags may have changed).
        let mut providers = BTreeMap::new();
        let mut requirers: BTreeMap<Vec<u8>, BTreeSet<H256>> = BTreeMap::new();
        for (h, t) in &inner.txs {
            for tag in &t.valid.provides {
                providers.insert(tag.clone(), *h);
            }
            for tag in &t.valid.requires {
                requirers.entry(tag.clone()).or_default().insert(*h);
            }
        }
        inner.providers = providers;
        inner.requirers = requirers;
        let transitions = inner.recompute_ready();
        for (h, ready) in transitions {
            inner.notify(&h, if ready { TxStatus::Ready } else { TxStatus::Future });
        }
        // Waited in future too long: its predecessor is not coming.
        let expired: Vec<H256> = inner
            .txs
            .iter()
            .filter(|(_, t)| !t.ready && number.saturating_sub(t.future_since) > self.limits.future_blocks)
            .map(|(h, _)| *h)
            .collect();
        for hash in &expired {
            inner.remove(hash);
            inner.notify(hash, TxStatus::Dropped);
        }
        if !expired.is_empty() {
            tracing::debug!(target: "umbra::txpool", dropped = expired.len(), "future transactions waited too long");
        }
    }
}

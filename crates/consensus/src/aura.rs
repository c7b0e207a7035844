//! Aura authoring: at each slot, the slot's author builds a block on the best
//! block, with the slot and a VRF in its pre-digest, fills it from the
//! transaction pool within a time budget, seals it and imports it.

use std::{sync::Arc, time::Duration};

use parity_scale_codec::Encode;
use rand_core::OsRng;
use umbra_crypto::sr25519;
use umbra_primitives::{
    block::OpaqueExtrinsic,
    header::{Digest, DigestItem, AURA_ENGINE_ID, RANDOMNESS_ENGINE_ID},
    BlockNumber, H256,
};
use umbra_runtime::{
    executive::{self, BlockBuilder, PushError},
    modules::{aura, randomness},
    TransactionValidityError,
};
use umbra_storage::BlockRef;

use crate::{chain::Chain, Error};

/// The wall clock, behind a trait so tests can drive time.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // The one place the node reads the wall clock for consensus timing.
        #[allow(clippy::disallowed_methods)]
        let now = std::time::SystemTime::now();
        now.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }
}

/// Where an author takes transactions from.
pub trait TransactionProvider: Send + Sync {
    /// Ready transactions in inclusion order, with their hashes.
    fn ready(&self) -> Vec<(H256, OpaqueExtrinsic)>;
    /// Transactions found invalid while building a block.
    fn report_invalid(&self, invalid: &[(H256, TransactionValidityError)]);
    /// Transactions included in a block this node authored and imported
    /// (before the import notice reaches the pool, so that the next block
    /// is not built from them again).
    fn report_included(&self, _included: &[H256]) {}
}

/// What an authored block contained.
#[derive(Clone, Debug)]
pub struct Authored {
    /// The block.
    pub block: BlockRef,
    /// Transactions included (signed extrinsics only).
    pub included: Vec<H256>,
}

/// Builds, seals and imports a block for `slot` if `key` is its author.
/// `budget` bounds the time spent applying transactions.
pub fn author_block(
    chain: &Chain,
    key: &sr25519::Pair,
    slot: u64,
    now_ms: u64,
    txs: &dyn TransactionProvider,
    budget: Duration,
) -> Result<Option<Authored>, Error> {
    let best = chain.best()?;
    let parent = chain.expect_header(&best.hash)?;
    let parent_slot = aura::slot_from_digest(&parent.digest).unwrap_or(0);
    if slot <= parent_slot {
        return Ok(None);
    }
    let state = chain.db().state_at(parent.state_root)?;
    let ext = umbra_runtime::state::Ext::new(&state);
    let duration = aura::slot_duration(&ext);
    if aura::slot_author(slot, &aura::authorities(&ext)) != Some(key.public()) {
        return Ok(None);
    }
    let number: BlockNumber = parent.number + 1;
    let transcript = executive::vrf_transcript(&state, number, slot);
    let (output, proof) = key.vrf_sign(randomness::VRF_LABEL, &transcript, &mut OsRng);
    let digest = Digest {
        logs: vec![
            DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode()),
            DigestItem::PreRuntime(RANDOMNESS_ENGINE_ID, randomness::VrfPreDigest { output, proof }.encode()),
        ],
    };
    // The timestamp must fall inside the slot.
    let slot_start = slot.saturating_mul(duration);
    let timestamp = now_ms.clamp(slot_start, slot_start + duration.saturating_sub(1));
    let mut builder = BlockBuilder::new(&state, best.hash, number, digest, timestamp)?;

    #[allow(clippy::disallowed_methods)] // authoring time budget: shell code
    let started = std::time::Instant::now();
    let mut included = Vec::new();
    let mut invalid = Vec::new();
    for (hash, xt) in txs.ready() {
        if started.elapsed() > budget {
            break;
        }
        match builder.push(xt) {
            Ok(_) => included.push(hash),
            Err(PushError::BlockFull) => break,
            Err(PushError::Invalid(e)) => invalid.push((hash, e)),
        }
    }
    let built = builder.finalize()?;
    if let Some(e) = state.take_error() {
        return Err(e.into());
    }
    if !invalid.is_empty() {
        txs.report_invalid(&invalid);
    }
    let delta = chain.db().compute_state(parent.state_root, &built.changes)?;
    let mut header = built.header;
    header.state_root = delta.root;
    let signature = key.sign_with_rng(header.hash().as_bytes(), &mut OsRng);
    header.digest.logs.push(DigestItem::Seal(AURA_ENGINE_ID, signature.0.to_vec()));
    let hash = header.hash();
    tracing::info!(
        target: "umbra::aura",
        number,
        slot,
        ?hash,
        extrinsics = built.extrinsics.len(),
        "authored block"
    );
    chain.import_own(header, built.extrinsics, built.changes, delta)?;
    txs.report_included(&included);
    Ok(Some(Authored { block: BlockRef { hash, number }, included }))
}

/// Runs the authoring loop until `shutdown` resolves: waits for each slot
/// and authors when `key` is the slot's author. A slot's block building gets
/// at most half the slot.
pub async fn run(
    chain: Arc<Chain>,
    key: Arc<sr25519::Pair>,
    txs: Arc<dyn TransactionProvider>,
    clock: Arc<dyn Clock>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    let duration = chain.slot_duration()?;
    if duration == 0 {
        return Err(Error::NoAuthorities);
    }
    loop {
        let now = clock.now_ms();
        let next_slot = now / duration + 1;
        let wait = Duration::from_millis(next_slot * duration - now);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return Ok(()),
        }
        let chain = chain.clone();
        let key = key.clone();
        let txs = txs.clone();
        let now = clock.now_ms();
        let slot = now / duration;
        let budget = Duration::from_millis(duration / 2);
        let result =
            tokio::task::spawn_blocking(move || author_block(&chain, &key, slot, now, txs.as_ref(), budget)).await;
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(target: "umbra::aura", slot, error = %e, "authoring failed"),
            Err(e) => tracing::error!(target: "umbra::aura", slot, error = %e, "authoring task failed"),
        }
    }
}

//! pRuntime's trusted core: everything that runs inside the TEE and
//! decides what the worker believes, signs and reveals. Deterministic and
//! sans-IO — no tokio, hyper, filesystem or TEE platform (`cargo tree -p
//! umbra-pruntime-core` shows none): time, entropy and input are arguments,
//! and every entry point returns what it produced.
//!
//! * [`core`] — the state machine: GRANDPA light client, chain-state
//!   [`replica`], worker life, signed egress, sealing requests;
//! * [`keys`] — the gatekeeper role and key reception;
//! * [`contracts`] — confidential contract execution and queries.
//!
//! Trust: the relayer and the host are untrusted. Headers are believed only
//! with a justification of the current GRANDPA set, state only when it
//! hashes to a finalized header's root, notices only from the module that
//! owns their topic and consistent with the verified state; nothing leaves
//! before the secrets it depends on are sealed, and nothing at all before
//! verified finality has advanced since the process started.
#![forbid(unsafe_code)]

pub mod contracts;
pub mod core;
pub mod keys;
pub mod replica;
#[cfg(feature = "test-utils")]
pub mod testing;

use umbra_primitives::{BlockNumber, H256};

/// `0x`-hex of a hash, for JSON.
pub fn hex_h256(h: &H256) -> String {
    format!("0x{}", hex::encode(h.0))
}

/// Everything pRuntime refuses, precisely.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `init` has not happened.
    #[error("not initialized: call init first")]
    NotInitialized,
    /// `init` with another genesis.
    #[error("already initialized for genesis {genesis:?}")]
    AlreadyInitialized {
        /// The genesis it follows.
        genesis: H256,
    },
    /// The trust anchor is invalid.
    #[error("invalid genesis anchor: {0}")]
    Anchor(String),
    /// The light client refused a batch.
    #[error("header batch refused: {0}")]
    LightClient(#[from] umbra_light_client::Error),
    /// Too many verified headers waiting for their blocks.
    #[error("more than {max} headers waiting for their blocks; dispatch blocks first")]
    TooManyPendingHeaders {
        /// The bound.
        max: usize,
    },
    /// No state yet (load_state first).
    #[error("no state loaded yet")]
    NoState,
    /// `load_state` twice.
    #[error("state already loaded (at block {at})")]
    StateAlreadyLoaded {
        /// Where the replica is.
        at: BlockNumber,
    },
    /// A block the light client has not finalized.
    #[error("block {number} is not finalized by a verified justification yet")]
    NotFinalized {
        /// Its number.
        number: BlockNumber,
    },
    /// A block already applied (a replay).
    #[error("block {number} is already applied (synced to {synced})")]
    AlreadyDispatched {
        /// Its number.
        number: BlockNumber,
        /// Where the replica is.
        synced: BlockNumber,
    },
    /// A block out of order.
    #[error("expected block {expected}, got {found}")]
    SkippedBlock {
        /// The next block.
        expected: BlockNumber,
        /// What came.
        found: BlockNumber,
    },
    /// The storage changes do not produce the header's state root.
    #[error("state root mismatch: header says {expected:?}, changes give {found:?}")]
    StateRootMismatch {
        /// The finalized header's root.
        expected: H256,
        /// What the changes gave.
        found: H256,
    },
    /// Malformed storage changes.
    #[error("malformed storage changes: {0}")]
    BadChanges(String),
    /// A block of a batch was refused.
    #[error("{applied} block(s) applied, then: {error}")]
    Dispatch {
        /// Blocks applied before the bad one.
        applied: usize,
        /// Why the next one was refused.
        error: Box<Error>,
    },
    /// Not caught up with the chain (after start or a restore).
    #[error("not caught up with the chain's finalized head yet")]
    NotCaughtUp,
    /// No new finalized block for longer than the staleness limit.
    #[error("stale: no finalized block for {seconds} s (limit {limit} s)")]
    Stale {
        /// Seconds since the last block.
        seconds: u64,
        /// The limit.
        limit: u64,
    },
    /// A checkpoint's content is inconsistent.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// This pRuntime's sealed secrets belong to another genesis.
    #[error("sealed secrets are pinned to genesis {pinned:?} (set {pinned_set_id}); refusing genesis {offered:?} (set {offered_set_id})")]
    GenesisPinned {
        /// The genesis the secrets belong to.
        pinned: H256,
        /// Its GRANDPA set id.
        pinned_set_id: u64,
        /// The genesis offered.
        offered: H256,
        /// Its GRANDPA set id.
        offered_set_id: u64,
    },
    /// A query was refused.
    #[error("query refused: {0}")]
    Query(#[from] crate::contracts::QueryError),
    /// A request body does not decode or exceeds its bound.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

//! The crate's single error type.

use umbra_primitives::H256;

/// Why importing, authoring or finalizing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The database failed or refused.
    #[error(transparent)]
    Storage(#[from] umbra_storage::Error),
    /// The runtime found the block invalid.
    #[error("invalid block: {0}")]
    Runtime(#[from] umbra_runtime::Error),
    /// A runtime API call failed.
    #[error(transparent)]
    Api(#[from] umbra_runtime::api::ApiError),
    /// The block is already imported.
    #[error("block {0:?} is already known")]
    AlreadyKnown(H256),
    /// The parent is unknown.
    #[error("parent {0:?} is unknown")]
    UnknownParent(H256),
    /// No such block.
    #[error("block {0:?} is unknown")]
    UnknownBlock(H256),
    /// No Aura seal in the header.
    #[error("header has no Aura seal")]
    MissingSeal,
    /// No Aura slot in the header.
    #[error("header has no Aura slot")]
    MissingSlot,
    /// The seal is not the slot author's signature.
    #[error("bad Aura seal")]
    BadSeal,
    /// The slot does not increase.
    #[error("slot {slot} is not after the parent's slot {parent_slot}")]
    SlotNotIncreasing {
        /// Parent slot.
        parent_slot: u64,
        /// Block slot.
        slot: u64,
    },
    /// The block is too far in the future.
    #[error("slot {slot} is too far ahead of the current slot {now_slot}")]
    FutureSlot {
        /// Block slot.
        slot: u64,
        /// Our slot.
        now_slot: u64,
    },
    /// No authorities in state.
    #[error("no Aura authorities")]
    NoAuthorities,
    /// The executed state's root is not the header's.
    #[error("state root mismatch: header {expected:?}, computed {computed:?}")]
    StateRootMismatch {
        /// Header's.
        expected: H256,
        /// Computed.
        computed: H256,
    },
    /// A lock was poisoned by a panic elsewhere.
    #[error("internal lock poisoned")]
    Poisoned,
    /// A GRANDPA error.
    #[error("GRANDPA: {0}")]
    Grandpa(String),
    /// A justification handed in with a block does not finalize it under
    /// the set in force at its parent.
    #[error("justification refused: {0}")]
    BadJustification(String),
    /// A warp-sync proof or state answer is wrong in the way named.
    #[error("warp sync refused: {0}")]
    BadWarp(String),
}

impl From<finality_grandpa::Error> for Error {
    fn from(e: finality_grandpa::Error) -> Self {
        Error::Grandpa(format!("{e:?}"))
    }
}

//! The crate's single error type.

use umbra_primitives::H256;

/// Why a database operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// redb reported an error (IO, corruption detected by redb, ...).
    #[error("database error: {0}")]
    Database(String),
    /// A filesystem error outside redb.
    #[error("io error: {0}")]
    Io(String),
    /// The database was written by an incompatible version.
    #[error("database schema {found} is not supported (expected {expected}); purge the chain data")]
    Schema {
        /// Found.
        found: u32,
        /// Expected.
        expected: u32,
    },
    /// The database has no genesis yet.
    #[error("database is not initialized")]
    NotInitialized,
    /// The database holds another chain.
    #[error("database holds another chain (genesis hash differs); use another base path or purge it")]
    GenesisMismatch,
    /// A stored value does not decode.
    #[error("corrupt database: undecodable {0}")]
    Corrupt(&'static str),
    /// A state node is missing (pruned state, or corruption).
    #[error("state node {0:?} is missing (state pruned?)")]
    MissingNode(H256),
    /// The trie library failed.
    #[error("trie error: {0}")]
    Trie(String),
    /// The computed state root is not the header's.
    #[error("state root mismatch: header has {expected:?}, changes give {computed:?}")]
    StateRootMismatch {
        /// Root in the header.
        expected: H256,
        /// Root computed.
        computed: H256,
    },
    /// The block is already stored.
    #[error("block {0:?} is already imported")]
    AlreadyImported(H256),
    /// The parent is not stored.
    #[error("parent {0:?} is unknown")]
    UnknownParent(H256),
    /// No such block.
    #[error("block {0:?} is unknown")]
    UnknownBlock(H256),
    /// Number does not follow the parent's.
    #[error("block number {number} does not follow parent number {parent}")]
    BadNumber {
        /// Parent number.
        parent: u32,
        /// Block number.
        number: u32,
    },
    /// At or below the finalized height.
    #[error("block number {number} is at or below the finalized block {finalized}")]
    BelowFinalized {
        /// Block number.
        number: u32,
        /// Finalized number.
        finalized: u32,
    },
    /// Does not descend from the finalized block.
    #[error("block {0:?} does not descend from the finalized block")]
    NotOnFinalizedChain(H256),
    /// A warp-sync target can only be written into a database that holds
    /// nothing but its genesis block.
    #[error("the database holds blocks after genesis (best #{best}); warp sync needs a fresh one")]
    NotFresh {
        /// The best block's number.
        best: u32,
    },
}

macro_rules! from_redb {
    ($($t:ty),*) => {
        $(impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Database(e.to_string())
            }
        })*
    };
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

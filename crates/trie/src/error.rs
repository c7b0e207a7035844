//! The crate's single error type.

use primitive_types::H256;

/// Why a trie operation or a proof failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The encoded proof is larger than the caller's limits.
    #[error("storage proof too large ({nodes} nodes, {bytes} bytes; limits {max_nodes} nodes, {max_bytes} bytes)")]
    ProofTooLarge {
        /// Nodes in the proof (or declared by its length prefix).
        nodes: usize,
        /// Bytes of the proof.
        bytes: usize,
        /// Node limit.
        max_nodes: usize,
        /// Byte limit.
        max_bytes: usize,
    },
    /// The proof bytes are not a SCALE `Vec<Vec<u8>>`.
    #[error("storage proof is not a SCALE list of byte strings")]
    ProofEncoding,
    /// Bytes remain after the encoded proof.
    #[error("storage proof has trailing bytes")]
    ProofTrailingBytes,
    /// The trusted root's node is not in the proof.
    #[error("storage proof does not contain the root node {0:?}")]
    RootNotInProof(H256),
    /// A node needed to answer the query is not in the proof.
    #[error("storage proof is incomplete: node {0:?} is missing")]
    IncompleteProof(H256),
    /// A node in the proof does not decode as a trie node.
    #[error("trie node {0:?} is malformed")]
    InvalidNode(H256),
    /// A key ends inside a node where a value should start.
    #[error("trie value at a key that ends within a nibble")]
    ValueAtIncompleteKey,
    /// A child reference is not a valid hash.
    #[error("trie node {0:?} holds an invalid child hash")]
    InvalidChildHash(H256),
}

/// Converts a `trie-db` error (boxed, as `trie-db` returns them).
#[allow(clippy::boxed_local)] // the exact type `trie-db` returns, passed straight to `map_err`
pub(crate) fn from_trie_error(e: alloc::boxed::Box<sp_trie::TrieError<crate::V1>>) -> Error {
    use trie_db::TrieError as T;
    match *e {
        T::InvalidStateRoot(root) => Error::RootNotInProof(root),
        T::IncompleteDatabase(hash) => Error::IncompleteProof(hash),
        T::ValueAtIncompleteKey(..) => Error::ValueAtIncompleteKey,
        T::DecoderError(hash, _) => Error::InvalidNode(hash),
        T::InvalidHash(hash, _) => Error::InvalidChildHash(hash),
    }
}

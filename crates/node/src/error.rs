//! The crate's single error type.

/// Why the node could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chain spec is unusable.
    #[error("chain spec: {0}")]
    ChainSpec(String),
    /// A key could not be parsed or derived.
    #[error("key: {0}")]
    Key(umbra_crypto::Error),
    /// A filesystem operation failed.
    #[error("io: {0}")]
    Io(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] umbra_storage::Error),
    /// Consensus failed.
    #[error(transparent)]
    Consensus(#[from] umbra_consensus::Error),
    /// A server could not bind.
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        /// Address.
        addr: std::net::SocketAddr,
        /// Cause.
        error: String,
    },
    /// The peer-to-peer network could not start.
    #[error(transparent)]
    Network(#[from] umbra_network::Error),
    /// Importing blocks from a file failed.
    #[error("import: {0}")]
    Import(String),
}

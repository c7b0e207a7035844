//! Why the network could not start.

/// The network's errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The node key is not a valid ed25519 secret.
    #[error("bad node key: {0}")]
    Key(String),
    /// A listen or bootnode address is not a multiaddr this node can use.
    #[error("bad address `{address}`: {reason}")]
    Address {
        /// The address as given.
        address: String,
        /// Why.
        reason: String,
    },
    /// Listening on an address failed (in use, not local).
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
    /// The transport could not be built.
    #[error("transport: {0}")]
    Transport(String),
}

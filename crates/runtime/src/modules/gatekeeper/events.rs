//! Events.

use super::*;

/// Events.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// A gatekeeper joined.
    #[codec(index = 0)]
    GatekeeperAdded {
        /// Its identity.
        identity: sr25519::Public,
    },
    /// A gatekeeper left.
    #[codec(index = 1)]
    GatekeeperRemoved {
        /// Its identity.
        identity: sr25519::Public,
    },
    /// A rotation started.
    #[codec(index = 2)]
    RotationStarted {
        /// The epoch being created.
        epoch: u32,
    },
    /// An epoch's key is on chain (genesis or accepted rotation).
    #[codec(index = 3)]
    MasterKeyPublished {
        /// The epoch.
        epoch: u32,
        /// Its gatekeeper signing public key.
        pubkey: sr25519::Public,
    },
    // Index 4 (`ClusterKeyPublished`) moved to Contracts; never reused.
}

//! The module's encoded types (stable indices): notices and the payloads of gatekeeper messages.

use super::*;

/// What gatekeepers and workers are told (payload of [`TOPIC`] messages).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Notice {
    /// A gatekeeper joined: current gatekeepers hand it the master key history.
    #[codec(index = 0)]
    Added {
        /// Its identity.
        identity: sr25519::Public,
        /// Its X25519 key.
        ecdh_public: [u8; 32],
    },
    /// A gatekeeper left (a rotation follows).
    #[codec(index = 1)]
    Removed {
        /// Its identity.
        identity: sr25519::Public,
    },
    /// Rotation to `epoch` started: propose a secret for these gatekeepers.
    #[codec(index = 2)]
    RotationStarted {
        /// The new epoch.
        epoch: u32,
        /// The gatekeepers (identity, X25519 key), in set order.
        gatekeepers: Vec<(sr25519::Public, [u8; 32])>,
    },
    /// An epoch's gatekeeper signing key is on chain.
    #[codec(index = 3)]
    MasterKeyPublished {
        /// The epoch.
        epoch: u32,
        /// Its gatekeeper signing public key.
        pubkey: sr25519::Public,
    },
    /// The master key history for a newcomer.
    #[codec(index = 4)]
    Handover(Handover),
    /// The accepted rotation proposal.
    #[codec(index = 5)]
    Rotation(RotationProposal),
    // Index 6 (cluster keys) moved to `contracts::Notice::ClusterKeys`; it
    // is never reused.
}

/// `^umbra/gatekeeper/genesis-key` payload.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct GenesisKey {
    /// Epoch 0's gatekeeper signing public key.
    pub pubkey: sr25519::Public,
}

/// `^umbra/gatekeeper/rotation` payload (from a gatekeeper's identity).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct RotationProposal {
    /// The epoch being created.
    pub epoch: u32,
    /// Its gatekeeper signing public key.
    pub pubkey: sr25519::Public,
    /// Who proposed it.
    pub proposer: sr25519::Public,
    /// The new secret for each gatekeeper (identity, envelope bytes), in
    /// set order.
    pub envelopes: Vec<(sr25519::Public, Vec<u8>)>,
}

/// `^umbra/gatekeeper/handover` payload (Gatekeeper origin).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Handover {
    /// The new gatekeeper.
    pub newcomer: sr25519::Public,
    /// The master key history, in an envelope to its X25519 key.
    pub envelope: Vec<u8>,
}

//! Errors (stable indices).

use super::*;

/// Errors. Indices are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Error {
    /// Not a registered worker.
    #[codec(index = 0)]
    NotRegistered,
    /// Registered for another role than gatekeeper.
    #[codec(index = 1)]
    NotGatekeeperRole,
    /// Its attestation is too old, its measurement no longer allowed, or its
    /// TCB fails the gatekeeper policy.
    #[codec(index = 2)]
    PolicyNotMet,
    /// Already a gatekeeper.
    #[codec(index = 3)]
    AlreadyGatekeeper,
    /// Not a gatekeeper.
    #[codec(index = 4)]
    NotGatekeeper,
    /// The last gatekeeper cannot be removed.
    #[codec(index = 5)]
    LastGatekeeper,
    /// The set is full.
    #[codec(index = 6)]
    TooManyGatekeepers,
    /// A rotation is already in progress.
    #[codec(index = 7)]
    RotationInProgress,
    /// No master key yet (epoch 0 not published).
    #[codec(index = 8)]
    NoMasterKey,
    /// Epoch 0's key is already published, or the sender is not the first
    /// gatekeeper.
    #[codec(index = 9)]
    GenesisKeyRefused,
    /// No rotation to this epoch is open (or another proposal won).
    #[codec(index = 10)]
    NoSuchRotation,
    /// A proposal whose envelopes do not match the gatekeeper set.
    #[codec(index = 11)]
    BadEnvelopes,
    /// Retired (cluster key deliveries moved to Contracts); the index is
    /// never reused.
    #[codec(index = 12)]
    BadDelivery,
    /// The payload does not decode or is too large.
    #[codec(index = 13)]
    BadPayload,
    /// The sender may not send this message.
    #[codec(index = 14)]
    BadSender,
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

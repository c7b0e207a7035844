//! Errors (stable indices).

use super::*;

/// Errors. Indices are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Error {
    /// No workers, too many, or the same one twice.
    #[codec(index = 0)]
    InvalidWorkers,
    /// A worker is not registered.
    #[codec(index = 1)]
    WorkerNotRegistered,
    /// No master key yet: gatekeepers cannot derive cluster keys.
    #[codec(index = 2)]
    NoMasterKey,
    /// The code exceeds the size limit.
    #[codec(index = 3)]
    CodeTooLarge,
    /// Not valid wasm, or features outside the deterministic set.
    #[codec(index = 4)]
    InvalidWasm,
    /// An import outside host ABI v1 or with the wrong signature.
    #[codec(index = 5)]
    InvalidImport,
    /// `memory`, `deploy` or `call` missing or mistyped.
    #[codec(index = 6)]
    MissingExport,
    /// Floating-point types or instructions.
    #[codec(index = 7)]
    FloatingPoint,
    /// Memory or table declarations beyond the limits.
    #[codec(index = 8)]
    InvalidMemory,
    /// A start function.
    #[codec(index = 9)]
    StartFunction,
    /// The same code is already uploaded.
    #[codec(index = 10)]
    CodeExists,
    /// Fewer eligible workers than replicas asked for.
    #[codec(index = 11)]
    NotEnoughWorkers,
    /// No such cluster.
    #[codec(index = 12)]
    UnknownCluster,
    /// The cluster's key is not published yet.
    #[codec(index = 13)]
    ClusterNotReady,
    /// The cluster is frozen after a divergence.
    #[codec(index = 14)]
    ClusterFrozen,
    /// No such code.
    #[codec(index = 15)]
    UnknownCode,
    /// A contract with this id exists.
    #[codec(index = 16)]
    ContractExists,
    /// No such contract.
    #[codec(index = 17)]
    UnknownContract,
    /// The contract's constructor has not succeeded (no public keys).
    #[codec(index = 18)]
    ContractNotReady,
    /// Envelope, salt or gas limit out of bounds.
    #[codec(index = 19)]
    InvalidCommand,
    /// Too many commands (or too much reserved gas) for the cluster in this
    /// block, or in its queue.
    #[codec(index = 20)]
    QueueFull,
    /// The caller cannot pay for the gas limit.
    #[codec(index = 21)]
    InsufficientBalance,
    /// A commit does not cover exactly the queued commands, or its keys,
    /// outputs or deltas are malformed.
    #[codec(index = 22)]
    BadCommit,
    /// An ack from a worker outside the cluster, or for no commit.
    #[codec(index = 23)]
    BadAck,
    /// The replica is still eligible: it cannot be replaced.
    #[codec(index = 24)]
    ReplicaStillEligible,
    /// The worker is not a replica of the cluster.
    #[codec(index = 25)]
    NotReplica,
    /// A cluster key delivery for an unknown cluster or epoch, to a worker
    /// outside the cluster, or with keys other than those already published.
    #[codec(index = 26)]
    BadDelivery,
    /// The command's binding names another signer, contract or genesis than
    /// the extrinsic's (an envelope copied from someone else's call).
    #[codec(index = 27)]
    BindingMismatch,
    /// The command's nonce is below the caller's next one: a replay.
    #[codec(index = 28)]
    CommandReplayed,
}

impl From<umbra_vm::Error> for Error {
    fn from(e: umbra_vm::Error) -> Self {
        use umbra_vm::Error as V;
        match e {
            V::CodeTooLarge { .. } => Error::CodeTooLarge,
            V::InvalidImport(_) => Error::InvalidImport,
            V::MissingExport(_) => Error::MissingExport,
            V::FloatingPoint(_) => Error::FloatingPoint,
            V::InvalidMemory(_) | V::InvalidTable => Error::InvalidMemory,
            V::StartFunction => Error::StartFunction,
            _ => Error::InvalidWasm,
        }
    }
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

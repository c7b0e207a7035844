//! Contracts (module 15): code upload with on-chain validation
//! (`umbra_vm::validate`), clusters (root-appointed or by **random
//! dispatch** from epoch randomness), instantiation, encrypted commands with
//! gas reserved up front, cluster commits (results, encrypted state deltas,
//! contract public keys) with replica acks and divergence detection, and
//! replacement of replicas that left.
//!
//! The chain never sees plaintext: constructor arguments are sealed to the
//! cluster's X25519 key, commands to the contract's, outputs to the caller's
//! ephemeral key, state deltas under each contract's state key. What it
//! checks is structure: that a commit covers exactly the queued commands,
//! is signed by the cluster key, and that every replica's ack agrees.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_crypto::sr25519;
use umbra_primitives::{AccountId32, Balance, BlockNumber, H256};
use umbra_trie::storage_key::{map_key, value_key, StorageHasher};

use crate::{
    error::{DispatchError, DispatchResult},
    modules::{
        balances, gatekeeper,
        message_queue::{self, MessageOrigin},
        randomness, registry, timestamp,
    },
    state::Ext,
    weights::{DispatchInfo, Weight, WEIGHT_REF_TIME_PER_MICROS},
    Origin,
};

/// Module index.
pub const INDEX: u8 = 15;
/// Storage prefix and metadata name.
pub const NAME: &str = "Contracts";
/// Most workers in a cluster.
pub const MAX_CLUSTER_WORKERS: usize = 16;
/// Replicas of a cluster created by random dispatch when not specified.
pub const DEFAULT_REPLICAS: u8 = 2;
/// Topic of [`Notice`]s.
pub const TOPIC: &[u8] = b"umbra/contracts";
/// On-chain topic of [`ClusterCommit`]s (origin `Cluster(id)`).
pub const COMMIT_TOPIC: &[u8] = b"^umbra/contracts/commit";
/// On-chain topic of [`Ack`]s (origin `Worker(identity)`).
pub const ACK_TOPIC: &[u8] = b"^umbra/contracts/ack";
/// On-chain topic of [`ClusterKeys`] (origin `Gatekeeper`): a cluster's
/// public keys and its key sealed to each eligible replica.
pub const CLUSTER_KEYS_TOPIC: &[u8] = b"^umbra/contracts/cluster-keys";
/// Largest sealed cluster key in a delivery.
pub const MAX_KEY_ENVELOPE_LEN: usize = 64 * 1024;
/// Largest command or constructor envelope.
pub const MAX_ENVELOPE_LEN: usize = 64 * 1024;
/// Largest salt.
pub const MAX_SALT_LEN: usize = 64;
/// Most commands queued per cluster in one block.
pub const MAX_COMMANDS_PER_BLOCK: usize = 4096;
/// Most commands waiting for a commit per cluster.
pub const MAX_QUEUE: usize = 4 * MAX_COMMANDS_PER_BLOCK;
/// Most envelope bytes waiting for a commit per cluster.
pub const MAX_QUEUE_BYTES: u64 = 16 * 1024 * 1024;
/// Largest gas limit of one command: about 1.7 s of the worst contract on
/// the reference machine (`cargo bench -p umbra-pruntime-core --bench
/// adversarial`; docs/BENCHMARKS.md), so a command can hold a worker only
/// that long.
pub const MAX_GAS_LIMIT: u64 = 1_000_000_000;
/// Most gas the commands one block queues for one cluster may reserve:
/// bounds the work a block can ask of a cluster's replicas.
pub const MAX_BLOCK_GAS: u64 = 8 * MAX_GAS_LIMIT;
/// Price of one unit of gas in planck, reserved up front, unused part
/// refunded at the commit.
pub const GAS_PRICE: Balance = 1;
/// Largest encrypted output of one command in a commit.
pub const MAX_OUTPUT_LEN: usize = 4 * 1024;
/// Largest encrypted state delta of one contract in one commit.
pub const MAX_DELTA_LEN: usize = 256 * 1024;
/// A worker whose last heartbeat landed longer ago than this many blocks
/// is not eligible (and can be replaced).
pub const HEARTBEAT_GRACE: BlockNumber = 60;

/// A cluster.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct ClusterInfo {
    /// Its workers (identities), in order.
    pub workers: Vec<sr25519::Public>,
    /// The master-key epoch its key derives from.
    pub epoch: u32,
}

/// A contract's public keys (published in the commit of its constructor,
/// signed by the cluster key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct ContractPubkeys {
    /// X25519: commands are sealed to it.
    pub ecdh: [u8; 32],
    /// sr25519: the contract's signatures.
    pub signing: sr25519::Public,
}

/// An instantiated contract.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct ContractInfo {
    /// Its cluster.
    pub cluster: H256,
    /// Its code.
    pub code_hash: H256,
    /// Who instantiated it.
    pub deployer: AccountId32,
    /// Block of the instantiation.
    pub instantiated_at: BlockNumber,
    /// Its public keys, once its constructor succeeded.
    pub pubkeys: Option<ContractPubkeys>,
    /// The constructor's call id.
    pub deploy_call: u64,
}

/// Constructor or command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum CommandKind {
    /// The constructor (envelope sealed to the cluster key).
    #[codec(index = 0)]
    Deploy,
    /// A command (envelope sealed to the contract key).
    #[codec(index = 1)]
    Call,
}

/// A command waiting in its cluster's queue.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Command {
    /// Its id (global, increasing).
    pub call_id: u64,
    /// The contract.
    pub contract: H256,
    /// The signed caller.
    pub caller: AccountId32,
    /// The caller's command nonce the envelope is bound to.
    pub nonce: u64,
    /// Constructor or command.
    pub kind: CommandKind,
    /// The sealed input (an envelope bound to [`CommandBinding`]).
    pub envelope: Vec<u8>,
    /// Gas reserved.
    pub gas_limit: u64,
    /// Block it was queued in (commands execute in block, then queue order).
    pub block: BlockNumber,
    /// That block's timestamp (ms).
    pub timestamp: u64,
}

/// What a command envelope is bound to, in the clear beside it and inside
/// its authenticated data: the chain checks the clear copy against the
/// extrinsic (signer, contract, genesis, a fresh nonce), the worker opens
/// the envelope only under the binding the chain recorded, so an envelope
/// copied out of a block is useless to anyone else and cannot run twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct CommandBinding {
    /// The chain's genesis hash.
    pub genesis: H256,
    /// The contract (for a constructor: the id it will have).
    pub contract: H256,
    /// The account that signs the extrinsic.
    pub caller: AccountId32,
    /// At least the caller's next command nonce.
    pub nonce: u64,
}

impl CommandBinding {
    /// The envelope context (authenticated data) of a command sealed to
    /// this binding: `SCALE(binding)` as the subject of a `Command` context.
    pub fn subject(&self) -> Vec<u8> {
        self.encode()
    }
}

/// A command as submitted: its binding and the envelope sealed to it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct SealedCommand {
    /// What the envelope is bound to.
    pub binding: CommandBinding,
    /// The envelope (Envelope v1 bytes).
    pub envelope: Vec<u8>,
}

/// How a command ended (public; the output itself is encrypted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum ExecStatus {
    /// Ran to completion; its state changes apply.
    #[codec(index = 0)]
    Success,
    /// The contract reverted (its reason is in the encrypted output).
    #[codec(index = 1)]
    Reverted,
    /// Out of gas.
    #[codec(index = 2)]
    OutOfGas,
    /// A trap or limit of the VM (memory, stack, output size…).
    #[codec(index = 3)]
    Trapped,
    /// The envelope does not open or its input does not decode.
    #[codec(index = 4)]
    BadEnvelope,
    /// Its output or state changes exceed a commit's bounds.
    #[codec(index = 5)]
    TooLarge,
}

/// One command's result in a commit.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct CallResult {
    /// The command.
    pub call_id: u64,
    /// How it ended.
    pub status: ExecStatus,
    /// Gas used (refund = limit − used).
    pub gas_used: u64,
    /// `SCALE((status, output))` sealed to the caller's ephemeral key.
    pub output: Vec<u8>,
}

/// What every replica computes after executing a block's commands;
/// byte-identical on every replica; signed by the cluster key.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct ClusterCommit {
    /// The cluster.
    pub cluster: H256,
    /// The commands of blocks up to this one are covered.
    pub block: BlockNumber,
    /// Root over every contract's state after them.
    pub state_root: H256,
    /// A result per covered command, in queue order.
    pub results: Vec<CallResult>,
    /// Encrypted state changes per contract (contract, AEAD ciphertext).
    pub deltas: Vec<(H256, Vec<u8>)>,
    /// Public keys of contracts whose constructor succeeded here.
    pub contract_keys: Vec<(H256, ContractPubkeys)>,
}

/// A replica's own view of a commit (origin: its identity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Ack {
    /// The cluster.
    pub cluster: H256,
    /// The committed block.
    pub block: BlockNumber,
    /// The state root this replica computed.
    pub state_root: H256,
}

/// A block's share of a cluster's queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct QueuedBlock {
    /// The block the commands were queued in.
    pub block: BlockNumber,
    /// How many (entries `0..count`).
    pub count: u32,
    /// Their envelope bytes.
    pub bytes: u64,
    /// The gas they reserved.
    pub gas: u64,
}

/// A cluster's committed position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct CommitState {
    /// Newest committed block.
    pub block: BlockNumber,
    /// Its state root.
    pub state_root: H256,
    /// Number of delta records (`Deltas(cluster, 0..deltas)`).
    pub deltas: u64,
}

/// A stored commit's data-availability record: everything a new replica
/// needs to rebuild state from the chain alone.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct DeltaRecord {
    /// The committed block.
    pub block: BlockNumber,
    /// The state root after it.
    pub state_root: H256,
    /// Encrypted changes per contract.
    pub deltas: Vec<(H256, Vec<u8>)>,
    /// Contracts created in it (their code runs from then on).
    pub created: Vec<H256>,
}

/// What a command's caller pays for and is refunded.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct PendingCall {
    /// Who pays.
    pub caller: AccountId32,
    /// Gas reserved.
    pub gas_limit: u64,
    /// The cluster.
    pub cluster: H256,
}

/// `^umbra/contracts/cluster-keys` payload (origin `Gatekeeper`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct ClusterKeys {
    /// The cluster.
    pub cluster: H256,
    /// The epoch its key derives from.
    pub epoch: u32,
    /// The cluster signing public key (published on chain).
    pub cluster_pubkey: sr25519::Public,
    /// The cluster X25519 public key (constructor envelopes are sealed to it).
    pub cluster_ecdh: [u8; 32],
    /// The cluster key for each eligible worker (identity, envelope bytes).
    pub deliveries: Vec<(sr25519::Public, Vec<u8>)>,
}

/// What workers and gatekeepers are told.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Notice {
    /// A cluster was created: gatekeepers send its key to its workers.
    #[codec(index = 0)]
    ClusterCreated {
        /// Its id.
        cluster: H256,
        /// Its workers.
        workers: Vec<sr25519::Public>,
        /// Its epoch.
        epoch: u32,
    },
    /// A replica joined an existing cluster: gatekeepers send it the key.
    #[codec(index = 1)]
    ReplicaAdded {
        /// The cluster.
        cluster: H256,
        /// The newcomer.
        worker: sr25519::Public,
        /// The cluster's epoch.
        epoch: u32,
    },
    /// A commit landed: replicas compare and ack.
    #[codec(index = 2)]
    Committed {
        /// The cluster.
        cluster: H256,
        /// The block.
        block: BlockNumber,
        /// Its root.
        state_root: H256,
    },
    /// A cluster's keys are on chain; the envelopes carry its key to the
    /// replicas named.
    #[codec(index = 3)]
    ClusterKeys(ClusterKeys),
}

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Contracts.Clusters(id)`.
    pub fn cluster(id: &H256) -> Vec<u8> {
        map_key(NAME, "Clusters", StorageHasher::Blake2_128Concat, id.as_bytes())
    }
    /// `Contracts.ClusterCount`.
    pub fn cluster_count() -> Vec<u8> {
        value_key(NAME, "ClusterCount")
    }
    /// `Contracts.Code(hash)`: the wasm.
    pub fn code(hash: &H256) -> Vec<u8> {
        map_key(NAME, "Code", StorageHasher::Identity, hash.as_bytes())
    }
    /// `Contracts.CodeInfo(hash)`.
    pub fn code_info(hash: &H256) -> Vec<u8> {
        map_key(NAME, "CodeInfo", StorageHasher::Identity, hash.as_bytes())
    }
    /// `Contracts.Contracts(id)`.
    pub fn contract(id: &H256) -> Vec<u8> {
        map_key(NAME, "Contracts", StorageHasher::Blake2_128Concat, id.as_bytes())
    }
    /// `Contracts.ClusterContracts(cluster)`: its contracts in creation order.
    pub fn cluster_contracts(cluster: &H256) -> Vec<u8> {
        map_key(NAME, "ClusterContracts", StorageHasher::Blake2_128Concat, cluster.as_bytes())
    }
    /// `Contracts.QueuedBlocks(cluster)`: the blocks with commands waiting
    /// for a commit, ascending, with their counts and envelope bytes.
    pub fn queued_blocks(cluster: &H256) -> Vec<u8> {
        map_key(NAME, "QueuedBlocks", StorageHasher::Blake2_128Concat, cluster.as_bytes())
    }
    /// `Contracts.Queue((cluster, block, index))`: one waiting command (one
    /// entry each, so queueing costs the same at any queue length).
    pub fn queue_entry(cluster: &H256, block: BlockNumber, index: u32) -> Vec<u8> {
        map_key(NAME, "Queue", StorageHasher::Blake2_128Concat, &(cluster, block, index).encode())
    }
    /// `Contracts.CommandNonces(account)`: the lowest command nonce the
    /// account may bind its next envelope to.
    pub fn command_nonce(account: &AccountId32) -> Vec<u8> {
        map_key(NAME, "CommandNonces", StorageHasher::Blake2_128Concat, account.as_ref())
    }
    /// `Contracts.NextCallId`.
    pub fn next_call_id() -> Vec<u8> {
        value_key(NAME, "NextCallId")
    }
    /// `Contracts.PendingCalls(call_id)`.
    pub fn pending_call(call_id: u64) -> Vec<u8> {
        map_key(NAME, "PendingCalls", StorageHasher::Twox64Concat, &call_id.to_le_bytes())
    }
    /// `Contracts.Results(call_id)`.
    pub fn result(call_id: u64) -> Vec<u8> {
        map_key(NAME, "Results", StorageHasher::Twox64Concat, &call_id.to_le_bytes())
    }
    /// `Contracts.CommitStates(cluster)`.
    pub fn commit_state(cluster: &H256) -> Vec<u8> {
        map_key(NAME, "CommitStates", StorageHasher::Blake2_128Concat, cluster.as_bytes())
    }
    /// `Contracts.Deltas((cluster, index))`.
    pub fn delta(cluster: &H256, index: u64) -> Vec<u8> {
        map_key(NAME, "Deltas", StorageHasher::Blake2_128Concat, &(cluster, index).encode())
    }
    /// `Contracts.CommittedRoots((cluster, block))`.
    pub fn committed_root(cluster: &H256, block: BlockNumber) -> Vec<u8> {
        map_key(NAME, "CommittedRoots", StorageHasher::Blake2_128Concat, &(cluster, block).encode())
    }
    /// `Contracts.Frozen(cluster)` → block it froze in.
    pub fn frozen(cluster: &H256) -> Vec<u8> {
        map_key(NAME, "Frozen", StorageHasher::Blake2_128Concat, cluster.as_bytes())
    }
    /// `Contracts.ClusterEcdh(cluster)` → the cluster's X25519 public key.
    pub fn cluster_ecdh(cluster: &H256) -> Vec<u8> {
        map_key(NAME, "ClusterEcdh", StorageHasher::Blake2_128Concat, cluster.as_bytes())
    }
    /// `Contracts.ClusterPubkeys(cluster)` → (epoch, cluster signing key).
    pub fn cluster_pubkey(cluster: &H256) -> Vec<u8> {
        map_key(NAME, "ClusterPubkeys", StorageHasher::Blake2_128Concat, cluster.as_bytes())
    }
    /// `Contracts.Replacements`: replicas replaced so far.
    pub fn replacements() -> Vec<u8> {
        value_key(NAME, "Replacements")
    }
}

/// An uploaded code's record.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct CodeInfo {
    /// Who uploaded it.
    pub owner: AccountId32,
    /// Its size in bytes.
    pub len: u32,
    /// Block of the upload.
    pub uploaded_at: u32,
}

/// Calls.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Root: creates a cluster of these registered workers.
    #[codec(index = 0)]
    create_cluster {
        /// The workers.
        workers: Vec<sr25519::Public>,
    },
    /// Uploads contract code (wasm), validated on chain: size, imports of
    /// host ABI v1 only, exports, no floating point, memory and table
    /// limits, no start function.
    #[codec(index = 1)]
    upload_code {
        /// The wasm.
        code: Vec<u8>,
    },
    /// Creates a cluster of `replicas` workers drawn by random dispatch
    /// ([`dispatch`]) from the eligible pool.
    #[codec(index = 2)]
    create_random_cluster {
        /// How many replicas (1..=16).
        replicas: u8,
    },
    /// Instantiates `code_hash` in `cluster`; the constructor's input is
    /// sealed to the cluster's X25519 key. Reserves `gas_limit × GAS_PRICE`.
    #[codec(index = 3)]
    instantiate {
        /// The cluster.
        cluster: H256,
        /// The code.
        code_hash: H256,
        /// Makes the contract id unique per deployer and code.
        salt: Vec<u8>,
        /// The constructor input, sealed to the cluster's key and bound to
        /// (genesis, the new contract's id, the deployer, a fresh nonce).
        command: SealedCommand,
        /// Gas for the constructor.
        gas_limit: u64,
    },
    /// Queues a command sealed to the contract's X25519 key. Reserves
    /// `gas_limit × GAS_PRICE`; the unused part is refunded at the commit.
    #[codec(index = 4)]
    call {
        /// The contract.
        contract: H256,
        /// The command, sealed to the contract's key and bound to (genesis,
        /// contract, caller, a fresh nonce).
        command: SealedCommand,
        /// Gas for it.
        gas_limit: u64,
    },
    /// Replaces a replica that is no longer eligible (unregistered, stale
    /// attestation, policy, or no heartbeat within [`HEARTBEAT_GRACE`]) by
    /// a random pick. Anyone may call it.
    #[codec(index = 5)]
    replace_replica {
        /// The cluster.
        cluster: H256,
        /// The replica that left.
        worker: sr25519::Public,
    },
}

/// Events.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// A cluster was created.
    #[codec(index = 0)]
    ClusterCreated {
        /// Its id.
        cluster: H256,
        /// Its workers.
        workers: Vec<sr25519::Public>,
        /// Its epoch.
        epoch: u32,
    },
    /// Code was uploaded.
    #[codec(index = 1)]
    CodeUploaded {
        /// Its BLAKE2-256 hash.
        hash: H256,
        /// The uploader.
        owner: AccountId32,
    },
    /// A contract was instantiated (its constructor is queued).
    #[codec(index = 2)]
    Instantiated {
        /// The contract id.
        contract: H256,
        /// Its cluster.
        cluster: H256,
        /// The constructor's call id.
        call_id: u64,
    },
    /// A command was queued.
    #[codec(index = 3)]
    CommandQueued {
        /// Its id.
        call_id: u64,
        /// The contract.
        contract: H256,
    },
    /// A command's result landed in a commit.
    #[codec(index = 4)]
    CommandExecuted {
        /// Its id.
        call_id: u64,
        /// How it ended.
        status: ExecStatus,
        /// Gas used.
        gas_used: u64,
    },
    /// A cluster committed a block.
    #[codec(index = 5)]
    ClusterCommitted {
        /// The cluster.
        cluster: H256,
        /// The block.
        block: BlockNumber,
        /// The state root.
        state_root: H256,
    },
    /// A replica disagreed with a commit: the cluster is frozen.
    #[codec(index = 6)]
    ReplicaDiverged {
        /// The cluster.
        cluster: H256,
        /// The replica whose ack differs.
        worker: sr25519::Public,
        /// The block.
        block: BlockNumber,
        /// The committed root.
        committed: H256,
        /// The replica's root.
        reported: H256,
    },
    /// A replica was replaced.
    #[codec(index = 7)]
    ReplicaReplaced {
        /// The cluster.
        cluster: H256,
        /// The one that left.
        old: sr25519::Public,
        /// Its replacement.
        new: sr25519::Public,
    },
    /// A cluster's signing key is on chain.
    #[codec(index = 8)]
    ClusterKeyPublished {
        /// The cluster.
        cluster: H256,
        /// The epoch.
        epoch: u32,
        /// Its signing public key.
        pubkey: sr25519::Public,
    },
}

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

impl Call {
    /// Weight, class and fee flag. Upload validation is linear in the code
    /// size (bounded by `umbra_vm::limits::MAX_CODE_SIZE`); random dispatch
    /// reads the whole pool (bounded by `registry::MAX_WORKERS`).
    pub fn info(&self) -> DispatchInfo {
        let micros = match self {
            Call::create_cluster { .. } => 100,
            Call::upload_code { code } => 200 + code.len() as u64 / 10,
            Call::create_random_cluster { .. } | Call::replace_replica { .. } => {
                200 + 10 * registry::MAX_WORKERS as u64
            }
            Call::instantiate { command, .. } | Call::call { command, .. } => 150 + command.envelope.len() as u64 / 100,
        };
        DispatchInfo { weight: Weight::from_parts(micros * WEIGHT_REF_TIME_PER_MICROS, 0), ..Default::default() }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        match self {
            Call::create_cluster { workers } => {
                origin.ensure_root()?;
                create_cluster(ext, workers)
            }
            Call::upload_code { code } => {
                let owner = origin.ensure_signed()?;
                upload_code(ext, owner, code)
            }
            Call::create_random_cluster { replicas } => {
                origin.ensure_signed()?;
                create_random_cluster(ext, replicas)
            }
            Call::instantiate { cluster, code_hash, salt, command, gas_limit } => {
                let deployer = origin.ensure_signed()?;
                instantiate(ext, deployer, cluster, code_hash, salt, command, gas_limit)
            }
            Call::call { contract, command, gas_limit } => {
                let caller = origin.ensure_signed()?;
                call(ext, caller, contract, command, gas_limit)
            }
            Call::replace_replica { cluster, worker } => {
                origin.ensure_signed()?;
                replace_replica(ext, cluster, worker)
            }
        }
    }
}

fn upload_code(ext: &mut Ext<'_>, owner: AccountId32, code: Vec<u8>) -> DispatchResult {
    umbra_vm::validate::validate(&code).map_err(Error::from)?;
    let hash = H256(umbra_crypto::hashing::blake2_256(&code));
    if ext.exists(&keys::code_info(&hash)) {
        return Err(Error::CodeExists.into());
    }
    let info = CodeInfo { owner, len: code.len() as u32, uploaded_at: ext.env.number };
    ext.put(keys::code(&hash), &code);
    ext.put(keys::code_info(&hash), &info);
    ext.deposit_event(Event::CodeUploaded { hash, owner });
    Ok(())
}

/// A cluster.
pub fn cluster(ext: &Ext<'_>, id: &H256) -> Option<ClusterInfo> {
    ext.get(&keys::cluster(id))
}

/// A contract.
pub fn contract(ext: &Ext<'_>, id: &H256) -> Option<ContractInfo> {
    ext.get(&keys::contract(id))
}

/// A cluster's contracts, in creation order.
pub fn cluster_contracts(ext: &Ext<'_>, cluster: &H256) -> Vec<H256> {
    ext.get_or_default(&keys::cluster_contracts(cluster))
}

/// A cluster's queued commands, in chain order.
pub fn queue(ext: &Ext<'_>, cluster: &H256) -> Vec<Command> {
    commands_of(ext, cluster, &queued_blocks(ext, cluster))
}

/// The commands queued in `blocks` of a cluster's queue, in order.
fn commands_of(ext: &Ext<'_>, cluster: &H256, blocks: &[QueuedBlock]) -> Vec<Command> {
    blocks
        .iter()
        .flat_map(|q| (0..q.count).filter_map(move |i| ext.get::<Command>(&keys::queue_entry(cluster, q.block, i))))
        .collect()
}

/// The blocks with commands waiting in a cluster's queue.
pub fn queued_blocks(ext: &Ext<'_>, cluster: &H256) -> Vec<QueuedBlock> {
    ext.get_or_default(&keys::queued_blocks(cluster))
}

/// A cluster's committed position.
pub fn commit_state(ext: &Ext<'_>, cluster: &H256) -> CommitState {
    ext.get_or_default(&keys::commit_state(cluster))
}

/// Whether a cluster is frozen.
pub fn frozen(ext: &Ext<'_>, cluster: &H256) -> bool {
    ext.exists(&keys::frozen(cluster))
}

/// The id of the `n`-th cluster: `BLAKE2-256("umbra/cluster" ‖ n)`.
pub fn cluster_id(n: u64) -> H256 {
    let mut input = b"umbra/cluster".to_vec();
    input.extend_from_slice(&n.to_le_bytes());
    H256(umbra_crypto::hashing::blake2_256(&input))
}

/// `contract_id = BLAKE2-256(deployer ‖ code_hash ‖ cluster ‖ salt)`.
pub fn contract_id(deployer: &AccountId32, code_hash: &H256, cluster: &H256, salt: &[u8]) -> H256 {
    let mut input = deployer.0.to_vec();
    input.extend_from_slice(code_hash.as_bytes());
    input.extend_from_slice(cluster.as_bytes());
    input.extend_from_slice(salt);
    H256(umbra_crypto::hashing::blake2_256(&input))
}

/// Random dispatch: picks `count` distinct entries of `pool` (identity,
/// weight > 0) without replacement, each round with probability
/// proportional to its weight among those left, from
/// `BLAKE2-256(randomness ‖ subject ‖ round)`. A pure function: anyone can
/// recompute a cluster's workers from the epoch randomness, the subject
/// (the cluster id) and the pool. `None` when the pool is too small.
pub fn dispatch(
    randomness: &H256,
    subject: &H256,
    pool: &[(sr25519::Public, u64)],
    count: usize,
) -> Option<Vec<sr25519::Public>> {
    let mut left: Vec<(sr25519::Public, u64)> = pool.iter().copied().filter(|(_, w)| *w > 0).collect();
    if left.len() < count {
        return None;
    }
    let mut picked = Vec::with_capacity(count);
    for round in 0..count as u32 {
        let total: u128 = left.iter().map(|(_, w)| u128::from(*w)).sum();
        let mut input = randomness.0.to_vec();
        input.extend_from_slice(subject.as_bytes());
        input.extend_from_slice(&round.to_le_bytes());
        let digest = umbra_crypto::hashing::blake2_256(&input);
        let mut wide = [0u8; 16];
        wide.copy_from_slice(&digest[..16]);
        // 128 random bits reduced modulo a total below 2^76: bias < 2^-52.
        let mut x = u128::from_le_bytes(wide) % total;
        let mut index = 0;
        for (i, (_, w)) in left.iter().enumerate() {
            if x < u128::from(*w) {
                index = i;
                break;
            }
            x -= u128::from(*w);
        }
        picked.push(left.remove(index).0);
    }
    Some(picked)
}

/// A worker's dispatch weight: its attested benchmark score. Until mining
/// benchmarks exist this is the core count it registered with (bound into
/// its attested registration info), clamped to 1..=64.
pub fn weight_of(worker: &registry::WorkerInfo) -> u64 {
    u64::from(worker.features.cores.clamp(1, 64))
}

/// Whether `worker` may host contracts now: registered as a worker,
/// attestation current and passing policy, a heartbeat within
/// [`HEARTBEAT_GRACE`] blocks.
pub fn eligible(ext: &Ext<'_>, worker: &registry::WorkerInfo) -> bool {
    worker.role == registry::WorkerRole::Worker
        && registry::passes_policy(ext, worker)
        && registry::last_heartbeat(ext, &worker.identity)
            .is_some_and(|(landed, _)| landed.saturating_add(HEARTBEAT_GRACE) >= ext.env.number)
}

/// The eligible pool with weights, in registration order.
pub fn pool(ext: &Ext<'_>) -> Vec<(sr25519::Public, u64)> {
    let ids: Vec<sr25519::Public> = ext.get_or_default(&registry::keys::worker_ids());
    ids.iter()
        .filter_map(|id| registry::worker(ext, id))
        .filter(|w| eligible(ext, w))
        .map(|w| (w.identity, weight_of(&w)))
        .collect()
}

fn new_cluster(ext: &mut Ext<'_>, workers: Vec<sr25519::Public>, id: H256, n: u64) -> DispatchResult {
    let epoch = gatekeeper::current_epoch(ext).ok_or(Error::NoMasterKey)?;
    ext.put(keys::cluster_count(), &n.saturating_add(1));
    ext.put(keys::cluster(&id), &ClusterInfo { workers: workers.clone(), epoch });
    ext.deposit_event(Event::ClusterCreated { cluster: id, workers: workers.clone(), epoch });
    notify(ext, Notice::ClusterCreated { cluster: id, workers, epoch })
}

fn create_cluster(ext: &mut Ext<'_>, workers: Vec<sr25519::Public>) -> DispatchResult {
    let mut sorted = workers.clone();
    sorted.sort();
    sorted.dedup();
    if workers.is_empty() || workers.len() > MAX_CLUSTER_WORKERS || sorted.len() != workers.len() {
        return Err(Error::InvalidWorkers.into());
    }
    if workers.iter().any(|w| registry::worker(ext, w).is_none()) {
        return Err(Error::WorkerNotRegistered.into());
    }
    let n: u64 = ext.get_or_default(&keys::cluster_count());
    new_cluster(ext, workers, cluster_id(n), n)
}

fn create_random_cluster(ext: &mut Ext<'_>, replicas: u8) -> DispatchResult {
    if replicas == 0 || usize::from(replicas) > MAX_CLUSTER_WORKERS {
        return Err(Error::InvalidWorkers.into());
    }
    gatekeeper::current_epoch(ext).ok_or(Error::NoMasterKey)?;
    let n: u64 = ext.get_or_default(&keys::cluster_count());
    let id = cluster_id(n);
    let workers = dispatch(&randomness::randomness(ext), &id, &pool(ext), usize::from(replicas))
        .ok_or(Error::NotEnoughWorkers)?;
    new_cluster(ext, workers, id, n)
}

fn replace_replica(ext: &mut Ext<'_>, id: H256, worker: sr25519::Public) -> DispatchResult {
    let mut info = cluster(ext, &id).ok_or(Error::UnknownCluster)?;
    let position = info.workers.iter().position(|w| *w == worker).ok_or(Error::NotReplica)?;
    if registry::worker(ext, &worker).is_some_and(|w| eligible(ext, &w)) {
        return Err(Error::ReplicaStillEligible.into());
    }
    let candidates: Vec<(sr25519::Public, u64)> =
        pool(ext).into_iter().filter(|(w, _)| !info.workers.contains(w)).collect();
    let n: u64 = ext.get_or_default(&keys::replacements());
    let mut subject = id.0.to_vec();
    subject.extend_from_slice(&n.to_le_bytes());
    let subject = H256(umbra_crypto::hashing::blake2_256(&subject));
    let new = dispatch(&randomness::randomness(ext), &subject, &candidates, 1)
        .and_then(|v| v.first().copied())
        .ok_or(Error::NotEnoughWorkers)?;
    ext.put(keys::replacements(), &n.saturating_add(1));
    info.workers[position] = new;
    ext.put(keys::cluster(&id), &info);
    ext.deposit_event(Event::ReplicaReplaced { cluster: id, old: worker, new });
    notify(ext, Notice::ReplicaAdded { cluster: id, worker: new, epoch: info.epoch })
}

fn check_command(command: &SealedCommand, gas_limit: u64) -> Result<(), Error> {
    let envelope = &command.envelope;
    if envelope.is_empty() || envelope.len() > MAX_ENVELOPE_LEN || gas_limit == 0 || gas_limit > MAX_GAS_LIMIT {
        return Err(Error::InvalidCommand);
    }
    Ok(())
}

/// The caller's next command nonce (the lowest it may bind an envelope to).
pub fn command_nonce(ext: &Ext<'_>, caller: &AccountId32) -> u64 {
    ext.get_or_default(&keys::command_nonce(caller))
}

/// Checks a command's binding against the extrinsic and consumes its nonce:
/// the binding must name this signer, this contract and this chain, and a
/// nonce not below the caller's next one (nonces only grow).
fn consume_binding(
    ext: &mut Ext<'_>,
    caller: &AccountId32,
    contract: &H256,
    binding: &CommandBinding,
) -> Result<u64, Error> {
    let genesis = crate::modules::system::block_hash(ext, 0).unwrap_or_default();
    if binding.caller != *caller || binding.contract != *contract || binding.genesis != genesis {
        return Err(Error::BindingMismatch);
    }
    if binding.nonce < command_nonce(ext, caller) {
        return Err(Error::CommandReplayed);
    }
    ext.put(keys::command_nonce(caller), &binding.nonce.saturating_add(1));
    Ok(binding.nonce)
}

/// Reserves the gas fee and queues the command; returns its id.
fn enqueue(
    ext: &mut Ext<'_>,
    cluster: H256,
    contract: H256,
    caller: AccountId32,
    kind: CommandKind,
    command: SealedCommand,
    gas_limit: u64,
) -> Result<u64, DispatchError> {
    if frozen(ext, &cluster) {
        return Err(Error::ClusterFrozen.into());
    }
    let nonce = consume_binding(ext, &caller, &contract, &command.binding)?;
    let envelope = command.envelope;
    let mut blocks = queued_blocks(ext, &cluster);
    let number = ext.env.number;
    let waiting: u64 = blocks.iter().map(|q| u64::from(q.count)).sum();
    let bytes: u64 = blocks.iter().map(|q| q.bytes).sum::<u64>().saturating_add(envelope.len() as u64);
    let here = blocks.last().filter(|q| q.block == number).map_or(0, |q| q.count as usize);
    let gas_here = blocks.last().filter(|q| q.block == number).map_or(0, |q| q.gas).saturating_add(gas_limit);
    if waiting >= MAX_QUEUE as u64
        || here >= MAX_COMMANDS_PER_BLOCK
        || bytes > MAX_QUEUE_BYTES
        || gas_here > MAX_BLOCK_GAS
    {
        return Err(Error::QueueFull.into());
    }
    let fee = Balance::from(gas_limit).saturating_mul(GAS_PRICE);
    balances::withdraw(ext, &caller, fee).map_err(|_| Error::InsufficientBalance)?;
    let call_id: u64 = ext.get_or_default(&keys::next_call_id());
    ext.put(keys::next_call_id(), &call_id.saturating_add(1));
    ext.put(keys::pending_call(call_id), &PendingCall { caller, gas_limit, cluster });
    let size = envelope.len() as u64;
    let command = Command {
        call_id,
        contract,
        caller,
        nonce,
        kind,
        envelope,
        gas_limit,
        block: number,
        timestamp: timestamp::now(ext),
    };
    ext.put(keys::queue_entry(&cluster, number, here as u32), &command);
    match blocks.last_mut().filter(|q| q.block == number) {
        Some(q) => {
            q.count += 1;
            q.bytes = q.bytes.saturating_add(size);
            q.gas = q.gas.saturating_add(gas_limit);
        }
        None => blocks.push(QueuedBlock { block: number, count: 1, bytes: size, gas: gas_limit }),
    }
    ext.put(keys::queued_blocks(&cluster), &blocks);
    ext.deposit_event(Event::CommandQueued { call_id, contract });
    Ok(call_id)
}

fn instantiate(
    ext: &mut Ext<'_>,
    deployer: AccountId32,
    cluster_id: H256,
    code_hash: H256,
    salt: Vec<u8>,
    command: SealedCommand,
    gas_limit: u64,
) -> DispatchResult {
    check_command(&command, gas_limit)?;
    if salt.len() > MAX_SALT_LEN {
        return Err(Error::InvalidCommand.into());
    }
    cluster(ext, &cluster_id).ok_or(Error::UnknownCluster)?;
    if cluster_ecdh(ext, &cluster_id).is_none() {
        return Err(Error::ClusterNotReady.into());
    }
    if !ext.exists(&keys::code_info(&code_hash)) {
        return Err(Error::UnknownCode.into());
    }
    let id = contract_id(&deployer, &code_hash, &cluster_id, &salt);
    if ext.exists(&keys::contract(&id)) {
        return Err(Error::ContractExists.into());
    }
    let call_id = enqueue(ext, cluster_id, id, deployer, CommandKind::Deploy, command, gas_limit)?;
    let info = ContractInfo {
        cluster: cluster_id,
        code_hash,
        deployer,
        instantiated_at: ext.env.number,
        pubkeys: None,
        deploy_call: call_id,
    };
    ext.put(keys::contract(&id), &info);
    ext.deposit_event(Event::Instantiated { contract: id, cluster: cluster_id, call_id });
    Ok(())
}

fn call(ext: &mut Ext<'_>, caller: AccountId32, id: H256, command: SealedCommand, gas_limit: u64) -> DispatchResult {
    check_command(&command, gas_limit)?;
    let info = contract(ext, &id).ok_or(Error::UnknownContract)?;
    if info.pubkeys.is_none() {
        return Err(Error::ContractNotReady.into());
    }
    enqueue(ext, info.cluster, id, caller, CommandKind::Call, command, gas_limit)?;
    Ok(())
}

fn notify(ext: &mut Ext<'_>, notice: Notice) -> DispatchResult {
    Ok(message_queue::notify(ext, NAME, TOPIC, notice.encode())?)
}

fn freeze(
    ext: &mut Ext<'_>,
    cluster: H256,
    worker: sr25519::Public,
    block: BlockNumber,
    committed: H256,
    reported: H256,
) {
    if !frozen(ext, &cluster) {
        let number = ext.env.number;
        ext.put(keys::frozen(&cluster), &number);
    }
    ext.deposit_event(Event::ReplicaDiverged { cluster, worker, block, committed, reported });
}

/// A cluster's epoch and signing public key, once its key is published.
pub fn cluster_pubkey(ext: &Ext<'_>, cluster: &H256) -> Option<(u32, sr25519::Public)> {
    ext.get(&keys::cluster_pubkey(cluster))
}

/// A cluster's X25519 public key, once published.
pub fn cluster_ecdh(ext: &Ext<'_>, cluster: &H256) -> Option<[u8; 32]> {
    ext.get(&keys::cluster_ecdh(cluster))
}

fn decode_payload<T: Decode>(payload: &[u8]) -> Result<T, DispatchError> {
    umbra_primitives::decode_bounded(payload, message_queue::MAX_COMMIT_PAYLOAD_LEN)
        .map_err(|_| message_queue::Error::BadPayload.into())
}

/// `^umbra/contracts/cluster-keys` (origin `Gatekeeper`, checked by the
/// router): publishes a cluster's public keys (the first delivery; later
/// ones, for replacement replicas, must carry the same keys) and tells its
/// replicas.
pub fn handle_cluster_keys(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    if *sender != MessageOrigin::Gatekeeper {
        return Err(message_queue::Error::OriginNotAllowed.into());
    }
    let delivery: ClusterKeys = decode_payload(payload)?;
    let info = cluster(ext, &delivery.cluster).ok_or(Error::BadDelivery)?;
    let valid = delivery.deliveries.iter().all(|(w, e)| info.workers.contains(w) && e.len() <= MAX_KEY_ENVELOPE_LEN);
    if !valid || delivery.epoch != info.epoch || gatekeeper::master_pubkey(ext, delivery.epoch).is_none() {
        return Err(Error::BadDelivery.into());
    }
    if let Some((epoch, pubkey)) = cluster_pubkey(ext, &delivery.cluster) {
        let ecdh = cluster_ecdh(ext, &delivery.cluster);
        if (epoch, pubkey, ecdh) != (delivery.epoch, delivery.cluster_pubkey, Some(delivery.cluster_ecdh)) {
            return Err(Error::BadDelivery.into());
        }
    }
    ext.put(keys::cluster_pubkey(&delivery.cluster), &(delivery.epoch, delivery.cluster_pubkey));
    ext.put(keys::cluster_ecdh(&delivery.cluster), &delivery.cluster_ecdh);
    ext.deposit_event(Event::ClusterKeyPublished {
        cluster: delivery.cluster,
        epoch: delivery.epoch,
        pubkey: delivery.cluster_pubkey,
    });
    notify(ext, Notice::ClusterKeys(delivery))
}

/// `^umbra/contracts/commit` (origin `Cluster`): a cluster's commit.
pub fn handle_commit(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    let MessageOrigin::Cluster(id) = sender else { return Err(Error::BadCommit.into()) };
    let commit: ClusterCommit = decode_payload(payload)?;
    apply_commit(ext, *id, commit)
}

/// `^umbra/contracts/ack` (origin `Worker`): a replica's own root of a
/// committed block; a differing one freezes the cluster.
pub fn handle_ack(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    let MessageOrigin::Worker(worker) = sender else { return Err(Error::BadAck.into()) };
    let ack: Ack = decode_payload(payload)?;
    let info = cluster(ext, &ack.cluster).ok_or(Error::BadAck)?;
    if !info.workers.contains(worker) {
        return Err(Error::BadAck.into());
    }
    let committed: H256 = ext.get(&keys::committed_root(&ack.cluster, ack.block)).ok_or(Error::BadAck)?;
    if committed != ack.state_root {
        freeze(ext, ack.cluster, *worker, ack.block, committed, ack.state_root);
    }
    Ok(())
}

fn apply_commit(ext: &mut Ext<'_>, id: H256, commit: ClusterCommit) -> DispatchResult {
    if commit.cluster != id {
        return Err(Error::BadCommit.into());
    }
    if frozen(ext, &id) {
        return Err(Error::ClusterFrozen.into());
    }
    let state = commit_state(ext, &id);
    if commit.block < state.block || commit.block >= ext.env.number {
        return Err(Error::BadCommit.into());
    }
    let (done, rest): (Vec<QueuedBlock>, Vec<QueuedBlock>) =
        queued_blocks(ext, &id).into_iter().partition(|q| q.block <= commit.block);
    let covered = commands_of(ext, &id, &done);
    let exact = !covered.is_empty()
        && covered.len() == commit.results.len()
        && covered.iter().zip(&commit.results).all(|(c, r)| c.call_id == r.call_id && r.output.len() <= MAX_OUTPUT_LEN);
    if !exact || commit.deltas.iter().any(|(_, d)| d.len() > MAX_DELTA_LEN) {
        return Err(Error::BadCommit.into());
    }
    // Contract keys: exactly the constructors that succeeded here.
    let deployed: Vec<H256> = covered
        .iter()
        .zip(&commit.results)
        .filter(|(c, r)| c.kind == CommandKind::Deploy && r.status == ExecStatus::Success)
        .map(|(c, _)| c.contract)
        .collect();
    let keyed: Vec<H256> = commit.contract_keys.iter().map(|(c, _)| *c).collect();
    if deployed != keyed {
        return Err(Error::BadCommit.into());
    }
    let contracts = cluster_contracts(ext, &id);
    let known = |c: &H256| contracts.contains(c) || deployed.contains(c);
    if commit.deltas.iter().any(|(c, _)| !known(c)) {
        return Err(Error::BadCommit.into());
    }
    for (command, result) in covered.iter().zip(&commit.results) {
        if let Some(pending) = ext.get::<PendingCall>(&keys::pending_call(command.call_id)) {
            let unused = pending.gas_limit.saturating_sub(result.gas_used);
            balances::deposit(ext, &pending.caller, Balance::from(unused).saturating_mul(GAS_PRICE));
            ext.kill(keys::pending_call(command.call_id));
        }
        ext.put(keys::result(command.call_id), result);
        ext.deposit_event(Event::CommandExecuted {
            call_id: result.call_id,
            status: result.status,
            gas_used: result.gas_used,
        });
    }
    for (contract_id, pubkeys) in &commit.contract_keys {
        if let Some(mut info) = contract(ext, contract_id) {
            info.pubkeys = Some(*pubkeys);
            ext.put(keys::contract(contract_id), &info);
        }
    }
    if !deployed.is_empty() {
        let mut all = contracts;
        all.extend(deployed.iter().copied());
        ext.put(keys::cluster_contracts(&id), &all);
    }
    for q in &done {
        for i in 0..q.count {
            ext.kill(keys::queue_entry(&id, q.block, i));
        }
    }
    if rest.is_empty() {
        ext.kill(keys::queued_blocks(&id));
    } else {
        ext.put(keys::queued_blocks(&id), &rest);
    }
    let record =
        DeltaRecord { block: commit.block, state_root: commit.state_root, deltas: commit.deltas, created: deployed };
    ext.put(keys::delta(&id, state.deltas), &record);
    ext.put(
        keys::commit_state(&id),
        &CommitState { block: commit.block, state_root: commit.state_root, deltas: state.deltas.saturating_add(1) },
    );
    ext.put(keys::committed_root(&id, commit.block), &commit.state_root);
    ext.deposit_event(Event::ClusterCommitted { cluster: id, block: commit.block, state_root: commit.state_root });
    notify(ext, Notice::Committed { cluster: id, block: commit.block, state_root: commit.state_root })
}

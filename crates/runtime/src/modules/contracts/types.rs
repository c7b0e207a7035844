//! The module's encoded types (stable indices): clusters, contracts, commands and their bindings, results, commits, acks, notices.

use super::*;

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

//! Events.

use super::*;

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

//! Storage items (keys under `Contracts`) and typed reads of them.

use super::*;

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
pub(super) fn commands_of(ext: &Ext<'_>, cluster: &H256, blocks: &[QueuedBlock]) -> Vec<Command> {
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

/// The caller's next command nonce (the lowest it may bind an envelope to).
pub fn command_nonce(ext: &Ext<'_>, caller: &AccountId32) -> u64 {
    ext.get_or_default(&keys::command_nonce(caller))
}

/// A cluster's epoch and signing public key, once its key is published.
pub fn cluster_pubkey(ext: &Ext<'_>, cluster: &H256) -> Option<(u32, sr25519::Public)> {
    ext.get(&keys::cluster_pubkey(cluster))
}

/// A cluster's X25519 public key, once published.
pub fn cluster_ecdh(ext: &Ext<'_>, cluster: &H256) -> Option<[u8; 32]> {
    ext.get(&keys::cluster_ecdh(cluster))
}

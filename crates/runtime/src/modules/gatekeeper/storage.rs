//! Storage items (keys under `Gatekeeper`) and typed reads of them.

use super::*;

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Gatekeeper.Gatekeepers`: the set, in order.
    pub fn gatekeepers() -> Vec<u8> {
        value_key(NAME, "Gatekeepers")
    }
    /// `Gatekeeper.CurrentEpoch`.
    pub fn current_epoch() -> Vec<u8> {
        value_key(NAME, "CurrentEpoch")
    }
    /// `Gatekeeper.MasterPubkeys(epoch)`.
    pub fn master_pubkey(epoch: u32) -> Vec<u8> {
        map_key(NAME, "MasterPubkeys", StorageHasher::Twox64Concat, &epoch.encode())
    }
    /// `Gatekeeper.RotationLock`: the epoch being created.
    pub fn rotation_lock() -> Vec<u8> {
        value_key(NAME, "RotationLock")
    }
}

/// The gatekeeper set.
pub fn gatekeepers(ext: &Ext<'_>) -> Vec<sr25519::Public> {
    ext.get_or_default(&keys::gatekeepers())
}

/// The current epoch, once epoch 0's key is published.
pub fn current_epoch(ext: &Ext<'_>) -> Option<u32> {
    let epoch: u32 = ext.get_or_default(&keys::current_epoch());
    master_pubkey(ext, epoch).map(|_| epoch)
}

/// An epoch's gatekeeper signing key.
pub fn master_pubkey(ext: &Ext<'_>, epoch: u32) -> Option<sr25519::Public> {
    ext.get(&keys::master_pubkey(epoch))
}

/// The key the `Gatekeeper` channel is signed with now.
pub fn channel_key(ext: &Ext<'_>) -> Option<sr25519::Public> {
    current_epoch(ext).and_then(|e| master_pubkey(ext, e))
}

pub(super) fn gatekeeper_keys(ext: &Ext<'_>, set: &[sr25519::Public]) -> Vec<(sr25519::Public, [u8; 32])> {
    set.iter().filter_map(|g| registry::worker(ext, g).map(|w| (*g, w.ecdh_public))).collect()
}

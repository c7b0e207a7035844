//! Aura (module 5): slot-based authoring. The author of slot `s` is
//! `authorities[s % n]`; every header carries `PreRuntime(*b"aura", slot)`;
//! slots strictly increase. The seal is checked by the node, which knows the
//! pre-seal header hash.

use alloc::vec::Vec;

use parity_scale_codec::Decode;
use umbra_crypto::sr25519;
use umbra_primitives::header::{Digest, AURA_ENGINE_ID};
use umbra_trie::storage_key::value_key;

use crate::{error::Error, state::Ext};

/// Module index.
pub const INDEX: u8 = 5;
/// Storage prefix and metadata name.
pub const NAME: &str = "Aura";

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Aura.Authorities`.
    pub fn authorities() -> Vec<u8> {
        value_key(NAME, "Authorities")
    }
    /// `Aura.CurrentSlot`.
    pub fn current_slot() -> Vec<u8> {
        value_key(NAME, "CurrentSlot")
    }
    /// `Aura.SlotDuration` (milliseconds; set at genesis).
    pub fn slot_duration() -> Vec<u8> {
        value_key(NAME, "SlotDuration")
    }
}

/// The authorities.
pub fn authorities(ext: &Ext<'_>) -> Vec<sr25519::Public> {
    ext.get_or_default(&keys::authorities())
}

/// The slot of the current block.
pub fn current_slot(ext: &Ext<'_>) -> u64 {
    ext.get_or_default(&keys::current_slot())
}

/// Slot duration in milliseconds.
pub fn slot_duration(ext: &Ext<'_>) -> u64 {
    ext.get_or_default(&keys::slot_duration())
}

/// The slot in a digest's Aura pre-runtime item.
pub fn slot_from_digest(digest: &Digest) -> Option<u64> {
    digest.logs.iter().find_map(|d| d.pre_runtime(&AURA_ENGINE_ID)).and_then(|mut data| u64::decode(&mut data).ok())
}

/// The author of `slot` among `authorities`.
pub fn slot_author(slot: u64, authorities: &[sr25519::Public]) -> Option<sr25519::Public> {
    let n = authorities.len() as u64;
    if n == 0 {
        return None;
    }
    authorities.get((slot % n) as usize).copied()
}

/// Starts a block: records its slot and returns its author.
pub(crate) fn initialize(ext: &mut Ext<'_>, digest: &Digest) -> Result<(u64, sr25519::Public), Error> {
    let slot = slot_from_digest(digest).ok_or(Error::MissingSlot)?;
    let parent_slot = current_slot(ext);
    if slot <= parent_slot {
        return Err(Error::SlotNotIncreasing { parent_slot, slot });
    }
    let author = slot_author(slot, &authorities(ext)).ok_or(Error::NoAuthorities)?;
    ext.put(keys::current_slot(), &slot);
    Ok((slot, author))
}

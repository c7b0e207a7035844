//! Timestamp (module 1): block time, set by a mandatory inherent that must
//! match the Aura slot (`slot = now / slot_duration`).

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_trie::storage_key::value_key;

use crate::{
    error::{DispatchError, Error as BlockError},
    modules::aura,
    state::Ext,
    weights::{DispatchClass, DispatchInfo, Pays, Weight, WEIGHT_REF_TIME_PER_MICROS},
};

/// Module index.
pub const INDEX: u8 = 1;
/// Storage prefix and metadata name.
pub const NAME: &str = "Timestamp";

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Timestamp.Now` (milliseconds since the Unix epoch).
    pub fn now() -> alloc::vec::Vec<u8> {
        value_key(NAME, "Now")
    }
    /// `Timestamp.DidUpdate`.
    pub fn did_update() -> alloc::vec::Vec<u8> {
        value_key(NAME, "DidUpdate")
    }
}

/// Calls.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Sets the block time (inherent: unsigned, first in every block).
    #[codec(index = 0)]
    set {
        /// Milliseconds since the Unix epoch.
        #[codec(compact)]
        now: u64,
    },
}

impl Call {
    /// Weight and class (mandatory, no fee).
    pub fn info(&self) -> DispatchInfo {
        DispatchInfo {
            weight: Weight::from_parts(5 * WEIGHT_REF_TIME_PER_MICROS, 0),
            class: DispatchClass::Mandatory,
            pays_fee: Pays::No,
        }
    }
}

/// The block time of the current state.
pub fn now(ext: &Ext<'_>) -> u64 {
    ext.get_or_default(&keys::now())
}

/// Minimum time between blocks: half a slot.
pub fn minimum_period(ext: &Ext<'_>) -> u64 {
    aura::slot_duration(ext) / 2
}

/// Applies the inherent `set(now)`.
pub(crate) fn set(ext: &mut Ext<'_>, now: u64) -> Result<(), BlockError> {
    let slot = aura::current_slot(ext);
    if ext.get_or_default::<bool>(&keys::did_update()) {
        return Err(BlockError::BadTimestamp { timestamp: now, slot, reason: "set twice in one block" });
    }
    let prev = self::now(ext);
    if prev != 0 && now < prev.saturating_add(minimum_period(ext)) {
        return Err(BlockError::BadTimestamp {
            timestamp: now,
            slot,
            reason: "earlier than the minimum period after the parent",
        });
    }
    let duration = aura::slot_duration(ext);
    if duration == 0 || now / duration != slot {
        return Err(BlockError::BadTimestamp { timestamp: now, slot, reason: "does not fall in the block's slot" });
    }
    ext.put(keys::now(), &now);
    ext.put(keys::did_update(), &true);
    Ok(())
}

/// Ends the block: the inherent must have run.
pub(crate) fn finalize(ext: &mut Ext<'_>) -> Result<(), BlockError> {
    if !ext.get_or_default::<bool>(&keys::did_update()) {
        return Err(BlockError::MissingTimestamp);
    }
    ext.kill(keys::did_update());
    Ok(())
}

/// The dispatch error of calling `set` as a transaction (never allowed).
pub const NOT_A_TRANSACTION: DispatchError = DispatchError::BadOrigin;

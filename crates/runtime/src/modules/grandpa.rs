//! Grandpa (module 6): the finality authority set and its changes.
//!
//! A change is scheduled by root (later: by session rotation) with delay 0.
//! At the end of the block that schedules it, the runtime emits
//! `Consensus(*b"FRNK", ScheduledChange)` in the header, bumps
//! `CurrentSetId` and stores the new authorities, so light clients follow set
//! changes from finalized headers alone.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_primitives::grandpa::{AuthorityList, ConsensusLog, ScheduledChange, SetId};
use umbra_primitives::header::DigestItem;
use umbra_trie::storage_key::value_key;

use crate::{
    error::{DispatchError, DispatchResult},
    state::Ext,
    weights::{DispatchInfo, Weight, WEIGHT_REF_TIME_PER_MICROS},
    Origin,
};

/// Module index.
pub const INDEX: u8 = 6;
/// Storage prefix and metadata name.
pub const NAME: &str = "Grandpa";
/// Most authorities a set may hold.
pub const MAX_AUTHORITIES: u32 = 1000;

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Grandpa.Authorities`.
    pub fn authorities() -> Vec<u8> {
        value_key(NAME, "Authorities")
    }
    /// `Grandpa.CurrentSetId`.
    pub fn current_set_id() -> Vec<u8> {
        value_key(NAME, "CurrentSetId")
    }
    /// `Grandpa.PendingChange`.
    pub fn pending_change() -> Vec<u8> {
        value_key(NAME, "PendingChange")
    }
}

/// Calls.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Root: schedules a new authority set, enacted in this block (delay 0).
    #[codec(index = 3)]
    schedule_change {
        /// The new authorities and weights.
        next_authorities: AuthorityList,
        /// Must be 0.
        delay: u32,
    },
}

/// Events.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// A new authority set was applied.
    #[codec(index = 0)]
    NewAuthorities {
        /// The set.
        authority_set: AuthorityList,
    },
}

/// Errors (indices as `pallet_grandpa`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Error {
    /// Attempt to signal GRANDPA pause when the authority set isn't live.
    #[codec(index = 0)]
    PauseFailed,
    /// Attempt to signal GRANDPA resume when the authority set isn't paused.
    #[codec(index = 1)]
    ResumeFailed,
    /// Attempt to signal GRANDPA change with one already pending.
    #[codec(index = 2)]
    ChangePending,
    /// Cannot signal forced change so soon after last.
    #[codec(index = 3)]
    TooSoon,
    /// A key ownership proof provided as part of an equivocation report is invalid.
    #[codec(index = 4)]
    InvalidKeyOwnershipProof,
    /// An equivocation proof provided as part of an equivocation report is invalid.
    #[codec(index = 5)]
    InvalidEquivocationProof,
    /// A given equivocation report is valid but already previously reported.
    #[codec(index = 6)]
    DuplicateOffenceReport,
    /// The authority list is empty, too long, or delays are not supported.
    #[codec(index = 7)]
    InvalidAuthoritySet,
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

/// The current authority set.
pub fn authorities(ext: &Ext<'_>) -> AuthorityList {
    ext.get_or_default(&keys::authorities())
}

/// The current set id.
pub fn current_set_id(ext: &Ext<'_>) -> SetId {
    ext.get_or_default(&keys::current_set_id())
}

impl Call {
    /// Weight, class and fee flag.
    pub fn info(&self) -> DispatchInfo {
        DispatchInfo { weight: Weight::from_parts(20 * WEIGHT_REF_TIME_PER_MICROS, 0), ..Default::default() }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        origin.ensure_root()?;
        match self {
            Call::schedule_change { next_authorities, delay } => {
                if delay != 0 || next_authorities.is_empty() || next_authorities.len() > MAX_AUTHORITIES as usize {
                    return Err(Error::InvalidAuthoritySet.into());
                }
                if next_authorities.iter().any(|(_, w)| *w == 0) {
                    return Err(Error::InvalidAuthoritySet.into());
                }
                if ext.exists(&keys::pending_change()) {
                    return Err(Error::ChangePending.into());
                }
                ext.put(keys::pending_change(), &ScheduledChange { next_authorities, delay });
                Ok(())
            }
        }
    }
}

/// Ends the block: enacts a pending change and returns its digest item.
pub(crate) fn finalize(ext: &mut Ext<'_>) -> Option<DigestItem> {
    let change: ScheduledChange = ext.get(&keys::pending_change())?;
    ext.kill(keys::pending_change());
    let set_id = current_set_id(ext).saturating_add(1);
    ext.put(keys::current_set_id(), &set_id);
    ext.put(keys::authorities(), &change.next_authorities);
    ext.deposit_event(Event::NewAuthorities { authority_set: change.next_authorities.clone() });
    Some(ConsensusLog::ScheduledChange(change).to_digest())
}

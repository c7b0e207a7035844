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
use umbra_primitives::grandpa::{
    AuthorityId, AuthorityList, AuthoritySignature, ConsensusLog, Precommit, Prevote, ScheduledChange, SetId,
};
use umbra_primitives::{header::DigestItem, AccountId32, H256};
use umbra_trie::storage_key::value_key;

use crate::{
    error::{DispatchError, DispatchResult, InvalidTransaction},
    modules::offences,
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

/// A double vote in one round (`sp_consensus_grandpa::Equivocation`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Equivocation {
    /// Two prevotes.
    #[codec(index = 0)]
    Prevote(finality_grandpa::Equivocation<AuthorityId, Prevote, AuthoritySignature>),
    /// Two precommits.
    #[codec(index = 1)]
    Precommit(finality_grandpa::Equivocation<AuthorityId, Precommit, AuthoritySignature>),
}

/// Proof that a voter voted twice in a round of a set
/// (`sp_consensus_grandpa::EquivocationProof`): the two signed votes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct EquivocationProof {
    /// The set the round belongs to.
    pub set_id: SetId,
    /// The two votes.
    pub equivocation: Equivocation,
}

impl EquivocationProof {
    /// The voter who voted twice.
    pub fn offender(&self) -> AuthorityId {
        match &self.equivocation {
            Equivocation::Prevote(e) => e.identity,
            Equivocation::Precommit(e) => e.identity,
        }
    }

    /// The round.
    pub fn round(&self) -> u64 {
        match &self.equivocation {
            Equivocation::Prevote(e) => e.round_number,
            Equivocation::Precommit(e) => e.round_number,
        }
    }

    /// The offence's time slot: (set id, round).
    pub fn timeslot(&self) -> Vec<u8> {
        (self.set_id, self.round()).encode()
    }

    /// Checks the proof against the current set: a voter of it, two
    /// different votes of one kind in one round, both signed by the voter
    /// for that round and set.
    pub fn check(&self, set_id: SetId, authorities: &AuthorityList) -> bool {
        if self.set_id != set_id {
            return false;
        }
        let offender = self.offender();
        if !authorities.iter().any(|(id, _)| *id == offender) {
            return false;
        }
        let round = self.round();
        let signed = |message: finality_grandpa::Message<H256, u32>, signature: &AuthoritySignature| {
            let payload = umbra_primitives::grandpa::localized_payload(round, set_id, &message);
            umbra_crypto::ed25519::verify(signature, &payload, &offender)
        };
        match &self.equivocation {
            Equivocation::Prevote(e) => {
                e.first.0 != e.second.0
                    && signed(finality_grandpa::Message::Prevote(e.first.0.clone()), &e.first.1)
                    && signed(finality_grandpa::Message::Prevote(e.second.0.clone()), &e.second.1)
            }
            Equivocation::Precommit(e) => {
                e.first.0 != e.second.0
                    && signed(finality_grandpa::Message::Precommit(e.first.0.clone()), &e.first.1)
                    && signed(finality_grandpa::Message::Precommit(e.second.0.clone()), &e.second.1)
            }
        }
    }
}

/// Checks an equivocation report against the state: a valid proof of the
/// current set not yet recorded. Returns the offence id.
pub fn check_report(ext: &Ext<'_>, proof: &EquivocationProof) -> Result<H256, InvalidTransaction> {
    if !proof.check(current_set_id(ext), &authorities(ext)) {
        return Err(InvalidTransaction::BadProof);
    }
    let id = offences::report_id(&offences::GRANDPA_EQUIVOCATION, &proof.timeslot(), &AccountId32(proof.offender().0));
    if offences::is_reported(ext, &id) {
        return Err(InvalidTransaction::Stale);
    }
    Ok(id)
}

/// Calls.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Unsigned: reports a GRANDPA double vote with its proof. Valid once
    /// per offence; the offence is recorded in `Offences`. (Substrate's
    /// call also takes a key-ownership proof of the session history; the
    /// set here is always the current one, so none is needed.)
    #[codec(index = 1)]
    report_equivocation_unsigned {
        /// The two votes.
        equivocation_proof: alloc::boxed::Box<EquivocationProof>,
    },
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
        match self {
            // Two signature checks; unsigned, so no fee.
            Call::report_equivocation_unsigned { .. } => DispatchInfo {
                weight: Weight::from_parts(100 * WEIGHT_REF_TIME_PER_MICROS, 0),
                pays_fee: crate::weights::Pays::No,
                ..Default::default()
            },
            Call::schedule_change { .. } => {
                DispatchInfo { weight: Weight::from_parts(20 * WEIGHT_REF_TIME_PER_MICROS, 0), ..Default::default() }
            }
        }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        match self {
            Call::report_equivocation_unsigned { equivocation_proof } => {
                origin.ensure_none()?;
                match check_report(ext, &equivocation_proof) {
                    Ok(_) => {}
                    Err(InvalidTransaction::Stale) => return Err(Error::DuplicateOffenceReport.into()),
                    Err(_) => return Err(Error::InvalidEquivocationProof.into()),
                }
                let offender = AccountId32(equivocation_proof.offender().0);
                offences::record(ext, offences::GRANDPA_EQUIVOCATION, equivocation_proof.timeslot(), offender);
                Ok(())
            }
            Call::schedule_change { next_authorities, delay } => {
                origin.ensure_root()?;
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

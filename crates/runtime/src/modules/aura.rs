//! Aura (module 5): slot-based authoring. The author of slot `s` is
//! `authorities[s % n]`; every header carries `PreRuntime(*b"aura", slot)`;
//! slots strictly increase. The seal is checked by the node, which knows the
//! pre-seal header hash. Two headers sealed by one author for one slot are
//! an equivocation, reported unsigned with both headers and recorded in
//! `Offences`.

use alloc::{boxed::Box, vec::Vec};

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_crypto::sr25519;
use umbra_primitives::{
    header::{Digest, Header, AURA_ENGINE_ID},
    AccountId32, H256,
};
use umbra_trie::storage_key::value_key;

use crate::{
    error::{DispatchError, DispatchResult, Error as ExecutionError, InvalidTransaction},
    modules::offences,
    state::Ext,
    weights::{DispatchInfo, Pays, Weight, WEIGHT_REF_TIME_PER_MICROS},
    Origin,
};

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

/// Proof that an author sealed two headers for one slot (the layout of
/// BABE's `sp_consensus_slots::EquivocationProof`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct EquivocationProof {
    /// The author.
    pub offender: sr25519::Public,
    /// The slot.
    pub slot: u64,
    /// One sealed header.
    pub first_header: Header,
    /// Another sealed header of the same slot.
    pub second_header: Header,
}

impl EquivocationProof {
    /// Checks the proof against `authorities`: two different headers, both
    /// of `slot`, whose author is the offender, each sealed by it over its
    /// pre-seal hash.
    pub fn check(&self, authorities: &[sr25519::Public]) -> bool {
        if self.first_header.hash() == self.second_header.hash() {
            return false;
        }
        if slot_author(self.slot, authorities) != Some(self.offender) {
            return false;
        }
        let sealed = |header: &Header| {
            let Some((pre, seal)) = header.split_seal(&AURA_ENGINE_ID) else { return false };
            let Ok(signature) = <[u8; 64]>::try_from(seal.as_slice()) else { return false };
            slot_from_digest(&pre.digest) == Some(self.slot)
                && sr25519::verify(&sr25519::Signature(signature), pre.hash().as_bytes(), &self.offender)
        };
        sealed(&self.first_header) && sealed(&self.second_header)
    }
}

/// Checks an equivocation report against the state: a valid proof by a
/// current authority not yet recorded. Returns the offence id.
pub fn check_report(ext: &Ext<'_>, proof: &EquivocationProof) -> Result<H256, InvalidTransaction> {
    if !proof.check(&authorities(ext)) {
        return Err(InvalidTransaction::BadProof);
    }
    let id = offences::report_id(&offences::AURA_EQUIVOCATION, &proof.slot.encode(), &AccountId32(proof.offender.0));
    if offences::is_reported(ext, &id) {
        return Err(InvalidTransaction::Stale);
    }
    Ok(id)
}

/// Calls.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Unsigned: reports two headers sealed by one author for one slot.
    /// Valid once per offence; the offence is recorded in `Offences`.
    #[codec(index = 0)]
    report_equivocation_unsigned {
        /// The two headers.
        equivocation_proof: Box<EquivocationProof>,
    },
}

/// Errors (named as `pallet_babe`'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Error {
    /// An equivocation proof provided as part of an equivocation report is invalid.
    #[codec(index = 0)]
    InvalidEquivocationProof,
    /// A given equivocation report is valid but already previously reported.
    #[codec(index = 1)]
    DuplicateOffenceReport,
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

impl Call {
    /// Weight, class and fee flag.
    pub fn info(&self) -> DispatchInfo {
        // Two seal checks; unsigned, so no fee.
        DispatchInfo {
            weight: Weight::from_parts(100 * WEIGHT_REF_TIME_PER_MICROS, 0),
            pays_fee: Pays::No,
            ..Default::default()
        }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        origin.ensure_none()?;
        let Call::report_equivocation_unsigned { equivocation_proof } = self;
        match check_report(ext, &equivocation_proof) {
            Ok(_) => {}
            Err(InvalidTransaction::Stale) => return Err(Error::DuplicateOffenceReport.into()),
            Err(_) => return Err(Error::InvalidEquivocationProof.into()),
        }
        let offender = AccountId32(equivocation_proof.offender.0);
        offences::record(ext, offences::AURA_EQUIVOCATION, equivocation_proof.slot.encode(), offender);
        Ok(())
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
pub(crate) fn initialize(ext: &mut Ext<'_>, digest: &Digest) -> Result<(u64, sr25519::Public), ExecutionError> {
    let slot = slot_from_digest(digest).ok_or(ExecutionError::MissingSlot)?;
    let parent_slot = current_slot(ext);
    if slot <= parent_slot {
        return Err(ExecutionError::SlotNotIncreasing { parent_slot, slot });
    }
    let author = slot_author(slot, &authorities(ext)).ok_or(ExecutionError::NoAuthorities)?;
    ext.put(keys::current_slot(), &slot);
    Ok((slot, author))
}

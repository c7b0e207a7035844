//! Offences (module 7): the record of proven misbehaviour, as Substrate's
//! `pallet_offences` keeps it. A consensus module that has verified a proof
//! (Aura double authoring, GRANDPA double votes) records the offence here
//! once: `Reports` holds it under an id of (kind, time slot, offender), and
//! `Offence { kind, timeslot }` is emitted. A second report of the same
//! offence is refused. Punishment (slashing) reads these records once
//! staking exists.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_primitives::{AccountId32, H256};
use umbra_trie::storage_key::{map_key, StorageHasher};

use crate::state::Ext;

/// Module index (as in Polkadot).
pub const INDEX: u8 = 7;
/// Storage prefix and metadata name.
pub const NAME: &str = "Offences";

/// An offence kind: 16 bytes, as `sp_staking::offence::Kind`.
pub type Kind = [u8; 16];
/// GRANDPA double vote (Substrate's kind).
pub const GRANDPA_EQUIVOCATION: Kind = *b"grandpa:equivoca";
/// Aura double authoring (named as BABE's `babe:equivocatio`).
pub const AURA_EQUIVOCATION: Kind = *b"aura:equivocatio";

/// A recorded offence (`sp_staking::offence::OffenceDetails`, without
/// reporters: reports are unsigned).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct OffenceDetails {
    /// The offender (its consensus key as an account id).
    pub offender: AccountId32,
    /// Who reported it.
    pub reporters: Vec<AccountId32>,
}

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Offences.Reports(id)`.
    pub fn reports(id: &H256) -> Vec<u8> {
        map_key(NAME, "Reports", StorageHasher::Twox64Concat, id.as_bytes())
    }
}

/// Events (as `pallet_offences`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// An offence of `kind` in `timeslot` was recorded.
    #[codec(index = 0)]
    Offence {
        /// Its kind.
        kind: Kind,
        /// Its time slot, encoded (a slot for Aura, (set id, round) for GRANDPA).
        timeslot: Vec<u8>,
    },
}

/// The id of an offence.
pub fn report_id(kind: &Kind, timeslot: &[u8], offender: &AccountId32) -> H256 {
    umbra_primitives::blake2_256(&(kind, timeslot, offender).encode())
}

/// Whether the offence `id` is already recorded.
pub fn is_reported(ext: &Ext<'_>, id: &H256) -> bool {
    ext.exists(&keys::reports(id))
}

/// Records an offence; false if it was already recorded (nothing changes).
pub(crate) fn record(ext: &mut Ext<'_>, kind: Kind, timeslot: Vec<u8>, offender: AccountId32) -> bool {
    let id = report_id(&kind, &timeslot, &offender);
    if is_reported(ext, &id) {
        return false;
    }
    ext.put(keys::reports(&id), &OffenceDetails { offender, reporters: Vec::new() });
    ext.deposit_event(Event::Offence { kind, timeslot });
    true
}

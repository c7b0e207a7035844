//! TransactionPayment (module 3): fees from weight and length, tips, and
//! their split between the treasury and the block author.
//!
//! `fee = base_fee + length_fee + weight_fee + tip` where
//! `base_fee = weight_to_fee(EXTRINSIC_BASE_WEIGHT)`,
//! `length_fee = TRANSACTION_BYTE_FEE × encoded length`,
//! `weight_fee = weight_to_fee(call weight) × NextFeeMultiplier`
//! (a fixed-point 1.0 until congestion pricing exists). The fee is withdrawn
//! before dispatch (the payer must stay alive) and is never refunded when
//! the call fails. 80% goes to the treasury account, 20% to the author.

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_primitives::{AccountId32, Balance};
use umbra_trie::storage_key::value_key;

use crate::{
    error::InvalidTransaction,
    modules::balances,
    state::Ext,
    weights::{limits::EXTRINSIC_BASE_WEIGHT, DispatchInfo, Pays, Weight},
};

/// Module index.
pub const INDEX: u8 = 3;
/// Storage prefix and metadata name.
pub const NAME: &str = "TransactionPayment";
/// Fee per byte of encoded extrinsic (1 µUMB).
pub const TRANSACTION_BYTE_FEE: Balance = 1_000_000;
/// Fee units per picosecond of weight: 1 (so 1 µs costs 10^-6 UMB).
pub const WEIGHT_FEE_PER_PICOSECOND: Balance = 1;
/// `NextFeeMultiplier` value meaning 1.0 (`FixedU128`, 18 decimals).
pub const MULTIPLIER_ONE: u128 = 1_000_000_000_000_000_000;
/// Multiplier of the priority of operational transactions.
pub const OPERATIONAL_FEE_MULTIPLIER: u8 = 5;
/// Treasury share of each fee, in percent (the rest goes to the author).
pub const TREASURY_SHARE_PERCENT: Balance = 80;

/// Storage keys.
pub mod keys {
    use super::*;
    /// `TransactionPayment.NextFeeMultiplier`.
    pub fn next_fee_multiplier() -> alloc::vec::Vec<u8> {
        value_key(NAME, "NextFeeMultiplier")
    }
}

/// Events.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// A transaction fee `actual_fee`, of which `tip` was added to the
    /// minimum, was paid by `who`.
    #[codec(index = 0)]
    TransactionFeePaid {
        /// Payer.
        who: AccountId32,
        /// The fee paid, tip included.
        actual_fee: Balance,
        /// The tip.
        tip: Balance,
    },
}

/// The parts of a fee (`pallet_transaction_payment::FeeDetails`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct InclusionFee {
    /// Fee for the base weight.
    pub base_fee: Balance,
    /// Fee for the length.
    pub len_fee: Balance,
    /// Fee for the call's weight, after the multiplier.
    pub adjusted_weight_fee: Balance,
}

/// Fee details for `TransactionPaymentApi_query_fee_details`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct FeeDetails {
    /// Absent for calls that do not pay.
    pub inclusion_fee: Option<InclusionFee>,
    /// The tip.
    pub tip: Balance,
}

impl FeeDetails {
    /// Total, tip included.
    pub fn final_fee(&self) -> Balance {
        self.inclusion_fee
            .map(|f| f.base_fee.saturating_add(f.len_fee).saturating_add(f.adjusted_weight_fee))
            .unwrap_or(0)
            .saturating_add(self.tip)
    }
}

fn weight_to_fee(weight: Weight) -> Balance {
    Balance::from(weight.ref_time).saturating_mul(WEIGHT_FEE_PER_PICOSECOND)
}

/// The current fee multiplier (fixed point, 18 decimals).
pub fn multiplier(ext: &Ext<'_>) -> u128 {
    ext.get(&keys::next_fee_multiplier()).unwrap_or(MULTIPLIER_ONE)
}

/// The fee of a call with `info` and encoded length `len`, plus `tip`.
pub fn compute_fee(ext: &Ext<'_>, len: u32, info: &DispatchInfo, tip: Balance) -> FeeDetails {
    if info.pays_fee == Pays::No {
        return FeeDetails { inclusion_fee: None, tip };
    }
    let weight_fee = weight_to_fee(info.weight);
    let adjusted = weight_fee.saturating_mul(multiplier(ext)) / MULTIPLIER_ONE;
    FeeDetails {
        inclusion_fee: Some(InclusionFee {
            base_fee: weight_to_fee(EXTRINSIC_BASE_WEIGHT),
            len_fee: TRANSACTION_BYTE_FEE.saturating_mul(Balance::from(len)),
            adjusted_weight_fee: adjusted,
        }),
        tip,
    }
}

/// Withdraws `fee` from `who` before dispatch.
pub(crate) fn withdraw_fee(ext: &mut Ext<'_>, who: &AccountId32, fee: Balance) -> Result<(), InvalidTransaction> {
    balances::withdraw(ext, who, fee).map_err(|_| InvalidTransaction::Payment)
}

/// After dispatch: pays the withdrawn fee out to treasury and author and
/// records `TransactionFeePaid`.
pub(crate) fn settle_fee(
    ext: &mut Ext<'_>,
    who: &AccountId32,
    fee: Balance,
    tip: Balance,
    author: Option<AccountId32>,
) {
    let to_treasury = match author {
        Some(_) => fee / 100 * TREASURY_SHARE_PERCENT + (fee % 100) * TREASURY_SHARE_PERCENT / 100,
        None => fee,
    };
    let to_author = fee - to_treasury;
    balances::deposit(ext, &crate::treasury_account(), to_treasury);
    if let Some(author) = author {
        balances::deposit(ext, &author, to_author);
    }
    ext.deposit_event(Event::TransactionFeePaid { who: *who, actual_fee: fee, tip });
}

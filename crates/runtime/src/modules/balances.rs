//! Balances (module 2): transfers, the existential deposit, issuance.
//!
//! An account exists while its free balance is at least the existential
//! deposit (`ED`); it then has one provider reference. A transfer that would
//! leave the sender below `ED` either reaps it (`transfer_allow_death`, the
//! remainder is burned as dust) or fails (`transfer_keep_alive`). A transfer
//! that would create the receiver with less than `ED` fails. Event and error
//! indices are `pallet_balances`'.

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_primitives::{extrinsic::MultiAddress, AccountId32, Balance};
use umbra_trie::storage_key::value_key;

use crate::{
    error::{ArithmeticError, DispatchError, DispatchResult},
    modules::system::{self, AccountInfo, NEW_LOGIC_FLAG},
    state::Ext,
    weights::{DispatchInfo, Weight, WEIGHT_REF_TIME_PER_MICROS},
    Origin,
};

/// Module index.
pub const INDEX: u8 = 2;
/// Storage prefix and metadata name.
pub const NAME: &str = "Balances";
/// One token (UMB): 10^12 units.
pub const UMB: Balance = 1_000_000_000_000;
/// The existential deposit: 0.001 UMB.
pub const EXISTENTIAL_DEPOSIT: Balance = UMB / 1000;

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Balances.TotalIssuance`.
    pub fn total_issuance() -> alloc::vec::Vec<u8> {
        value_key(NAME, "TotalIssuance")
    }
}

/// Calls (indices as `pallet_balances`).
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Transfers `value`, reaping the sender if it drops below the existential deposit.
    #[codec(index = 0)]
    transfer_allow_death {
        /// Receiver.
        dest: MultiAddress,
        /// Amount.
        #[codec(compact)]
        value: Balance,
    },
    /// Root: transfers from any account.
    #[codec(index = 2)]
    force_transfer {
        /// Payer.
        source: MultiAddress,
        /// Receiver.
        dest: MultiAddress,
        /// Amount.
        #[codec(compact)]
        value: Balance,
    },
    /// Transfers `value`, failing if the sender would be reaped.
    #[codec(index = 3)]
    transfer_keep_alive {
        /// Receiver.
        dest: MultiAddress,
        /// Amount.
        #[codec(compact)]
        value: Balance,
    },
    /// Transfers the whole free balance (minus the existential deposit if `keep_alive`).
    #[codec(index = 4)]
    transfer_all {
        /// Receiver.
        dest: MultiAddress,
        /// Keep the sender alive.
        keep_alive: bool,
    },
    /// Root: sets an account's free balance, adjusting the issuance.
    #[codec(index = 8)]
    force_set_balance {
        /// The account.
        who: MultiAddress,
        /// New free balance.
        #[codec(compact)]
        new_free: Balance,
    },
}

/// Events (indices as `pallet_balances`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// An account was created with some free balance.
    #[codec(index = 0)]
    Endowed {
        /// The account.
        account: AccountId32,
        /// Its balance.
        free_balance: Balance,
    },
    /// An account was removed with a balance below the existential deposit, which was burned.
    #[codec(index = 1)]
    DustLost {
        /// The account.
        account: AccountId32,
        /// Burned amount.
        amount: Balance,
    },
    /// A transfer succeeded.
    #[codec(index = 2)]
    Transfer {
        /// Payer.
        from: AccountId32,
        /// Receiver.
        to: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// A balance was set by root.
    #[codec(index = 3)]
    BalanceSet {
        /// The account.
        who: AccountId32,
        /// New free balance.
        free: Balance,
    },
    /// Some amount was deposited (fees to the treasury and the author).
    #[codec(index = 7)]
    Deposit {
        /// The account.
        who: AccountId32,
        /// Amount.
        amount: Balance,
    },
    /// Some amount was withdrawn (fees).
    #[codec(index = 8)]
    Withdraw {
        /// The account.
        who: AccountId32,
        /// Amount.
        amount: Balance,
    },
}

/// Errors (indices as `pallet_balances`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Error {
    /// Vesting balance too high to send value.
    #[codec(index = 0)]
    VestingBalance,
    /// Account liquidity restrictions prevent withdrawal.
    #[codec(index = 1)]
    LiquidityRestrictions,
    /// Balance too low to send value.
    #[codec(index = 2)]
    InsufficientBalance,
    /// Value too low to create an account due to the existential deposit.
    #[codec(index = 3)]
    ExistentialDeposit,
    /// Transfer/payment would kill the account.
    #[codec(index = 4)]
    Expendability,
    /// A vesting schedule already exists for this account.
    #[codec(index = 5)]
    ExistingVestingSchedule,
    /// Beneficiary account must pre-exist.
    #[codec(index = 6)]
    DeadAccount,
    /// Number of named reserves exceed `MaxReserves`.
    #[codec(index = 7)]
    TooManyReserves,
    /// Number of holds exceed `MaxHolds`.
    #[codec(index = 8)]
    TooManyHolds,
    /// Number of freezes exceed `MaxFreezes`.
    #[codec(index = 9)]
    TooManyFreezes,
    /// The issuance cannot be modified since it is already deactivated.
    #[codec(index = 10)]
    IssuanceDeactivated,
    /// The delta cannot be zero.
    #[codec(index = 11)]
    DeltaZero,
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

/// Resolves a `MultiAddress` to an account id (only `Id` exists on this chain).
pub fn lookup(address: &MultiAddress) -> Result<AccountId32, DispatchError> {
    match address {
        MultiAddress::Id(who) => Ok(*who),
        MultiAddress::Address32(bytes) => Ok(AccountId32(*bytes)),
        _ => Err(DispatchError::CannotLookup),
    }
}

/// Measured cost of a transfer's execution (two account reads and writes,
/// events); the signature check is in the extrinsic base weight.
pub const TRANSFER_WEIGHT: Weight = Weight::from_parts(30 * WEIGHT_REF_TIME_PER_MICROS, 0);

impl Call {
    /// Weight, class and fee flag.
    pub fn info(&self) -> DispatchInfo {
        let weight = match self {
            Call::force_set_balance { .. } => Weight::from_parts(15 * WEIGHT_REF_TIME_PER_MICROS, 0),
            _ => TRANSFER_WEIGHT,
        };
        DispatchInfo { weight, ..Default::default() }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        match self {
            Call::transfer_allow_death { dest, value } => {
                let from = origin.ensure_signed()?;
                transfer(ext, &from, &lookup(&dest)?, value, false)
            }
            Call::transfer_keep_alive { dest, value } => {
                let from = origin.ensure_signed()?;
                transfer(ext, &from, &lookup(&dest)?, value, true)
            }
            Call::transfer_all { dest, keep_alive } => {
                let from = origin.ensure_signed()?;
                let free = system::account(ext, &from).data.free;
                let value = if keep_alive { free.saturating_sub(EXISTENTIAL_DEPOSIT) } else { free };
                transfer(ext, &from, &lookup(&dest)?, value, keep_alive)
            }
            Call::force_transfer { source, dest, value } => {
                origin.ensure_root()?;
                transfer(ext, &lookup(&source)?, &lookup(&dest)?, value, false)
            }
            Call::force_set_balance { who, new_free } => {
                origin.ensure_root()?;
                let who = lookup(&who)?;
                set_free(ext, &who, new_free)
            }
        }
    }
}

/// The total issuance.
pub fn total_issuance(ext: &Ext<'_>) -> Balance {
    ext.get_or_default(&keys::total_issuance())
}

fn adjust_issuance(ext: &mut Ext<'_>, add: Balance, sub: Balance) -> DispatchResult {
    let issuance = total_issuance(ext)
        .checked_add(add)
        .and_then(|i| i.checked_sub(sub))
        .ok_or(DispatchError::Arithmetic(ArithmeticError::Overflow))?;
    ext.put(keys::total_issuance(), &issuance);
    Ok(())
}

/// Writes `who`'s new free balance, creating or reaping the account as
/// needed. Returns the dust burned when reaping.
fn write_free(ext: &mut Ext<'_>, who: &AccountId32, mut info: AccountInfo, free: Balance) -> Balance {
    let existed = info.providers > 0;
    if free >= EXISTENTIAL_DEPOSIT {
        info.data.free = free;
        info.data.flags |= NEW_LOGIC_FLAG;
        if !existed {
            info.providers = 1;
            system::put_account(ext, who, &info);
            ext.deposit_event(system::Event::NewAccount { account: *who });
            ext.deposit_event(Event::Endowed { account: *who, free_balance: free });
        } else {
            system::put_account(ext, who, &info);
        }
        0
    } else {
        // Below the existential deposit: the account (and its nonce) goes away.
        if existed {
            system::put_account(ext, who, &AccountInfo::default());
            ext.deposit_event(system::Event::KilledAccount { account: *who });
            if free > 0 {
                ext.deposit_event(Event::DustLost { account: *who, amount: free });
            }
        }
        free
    }
}

/// Moves `value` from `from` to `to`.
pub fn transfer(
    ext: &mut Ext<'_>,
    from: &AccountId32,
    to: &AccountId32,
    value: Balance,
    keep_alive: bool,
) -> DispatchResult {
    if value == 0 || from == to {
        return Ok(());
    }
    let sender = system::account(ext, from);
    let new_from = sender.data.free.checked_sub(value).ok_or(Error::InsufficientBalance)?;
    if keep_alive && new_from < EXISTENTIAL_DEPOSIT {
        return Err(Error::Expendability.into());
    }
    let receiver = system::account(ext, to);
    let new_to = receiver.data.free.checked_add(value).ok_or(DispatchError::Arithmetic(ArithmeticError::Overflow))?;
    if new_to < EXISTENTIAL_DEPOSIT {
        return Err(Error::ExistentialDeposit.into());
    }
    let dust = write_free(ext, from, sender, new_from);
    write_free(ext, to, receiver, new_to);
    ext.deposit_event(Event::Transfer { from: *from, to: *to, amount: value });
    if dust > 0 {
        adjust_issuance(ext, 0, dust)?;
    }
    Ok(())
}

fn set_free(ext: &mut Ext<'_>, who: &AccountId32, new_free: Balance) -> DispatchResult {
    let info = system::account(ext, who);
    let old = info.data.free;
    let dust = write_free(ext, who, info, new_free);
    let new = new_free - dust;
    if new >= old {
        adjust_issuance(ext, new - old, 0)?;
    } else {
        adjust_issuance(ext, 0, old - new)?;
    }
    ext.deposit_event(Event::BalanceSet { who: *who, free: new });
    Ok(())
}

/// Takes `amount` from `who` for fees; the account must stay alive.
pub fn withdraw(ext: &mut Ext<'_>, who: &AccountId32, amount: Balance) -> Result<(), Error> {
    if amount == 0 {
        return Ok(());
    }
    let info = system::account(ext, who);
    let free = info.data.free.checked_sub(amount).ok_or(Error::InsufficientBalance)?;
    if free < EXISTENTIAL_DEPOSIT {
        return Err(Error::Expendability);
    }
    write_free(ext, who, info, free);
    // Withdrawn fees leave circulation until deposited again.
    let _ = adjust_issuance(ext, 0, amount);
    ext.deposit_event(Event::Withdraw { who: *who, amount });
    Ok(())
}

/// Credits `amount` to `who` (fees to the treasury or the author). An amount
/// too small to create the account is burned.
pub fn deposit(ext: &mut Ext<'_>, who: &AccountId32, amount: Balance) {
    if amount == 0 {
        return;
    }
    let info = system::account(ext, who);
    let Some(new) = info.data.free.checked_add(amount) else {
        return;
    };
    if new < EXISTENTIAL_DEPOSIT {
        return;
    }
    write_free(ext, who, info, new);
    let _ = adjust_issuance(ext, amount, 0);
    ext.deposit_event(Event::Deposit { who: *who, amount });
}

/// Genesis: endows `who` with `amount` (no events).
pub(crate) fn endow(ext: &mut Ext<'_>, who: &AccountId32, amount: Balance) -> DispatchResult {
    let mut info = system::account(ext, who);
    info.data.free = info.data.free.checked_add(amount).ok_or(DispatchError::Arithmetic(ArithmeticError::Overflow))?;
    info.data.flags |= NEW_LOGIC_FLAG;
    info.providers = 1;
    system::put_account(ext, who, &info);
    adjust_issuance(ext, amount, 0)
}

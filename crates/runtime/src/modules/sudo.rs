//! Sudo (module 4): one key that may dispatch any call as root. Present on
//! dev and test chains only; production specs leave `Sudo.Key` unset.

use alloc::boxed::Box;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_primitives::{extrinsic::MultiAddress, AccountId32};
use umbra_trie::storage_key::value_key;

use crate::{
    error::{DispatchError, DispatchResult},
    modules::balances::lookup,
    state::Ext,
    weights::{DispatchInfo, Pays, Weight, WEIGHT_REF_TIME_PER_MICROS},
    Origin, RuntimeCall,
};

/// Module index.
pub const INDEX: u8 = 4;
/// Storage prefix and metadata name.
pub const NAME: &str = "Sudo";

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Sudo.Key`.
    pub fn key() -> alloc::vec::Vec<u8> {
        value_key(NAME, "Key")
    }
}

/// Calls (indices as `pallet_sudo`).
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Dispatches `call` as root.
    #[codec(index = 0)]
    sudo {
        /// The call.
        call: Box<RuntimeCall>,
    },
    /// Dispatches `call` as root with a declared weight.
    #[codec(index = 1)]
    sudo_unchecked_weight {
        /// The call.
        call: Box<RuntimeCall>,
        /// Declared weight.
        weight: Weight,
    },
    /// Replaces the sudo key.
    #[codec(index = 2)]
    set_key {
        /// The new key.
        new: MultiAddress,
    },
    /// Dispatches `call` as a signed origin of `who`.
    #[codec(index = 3)]
    sudo_as {
        /// The account to act as.
        who: MultiAddress,
        /// The call.
        call: Box<RuntimeCall>,
    },
    /// Removes the sudo key forever.
    #[codec(index = 4)]
    remove_key,
}

/// Events.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// A root call was made.
    #[codec(index = 0)]
    Sudid {
        /// Its result.
        sudo_result: Result<(), DispatchError>,
    },
    /// The key changed.
    #[codec(index = 1)]
    KeyChanged {
        /// Old key.
        old: Option<AccountId32>,
        /// New key.
        new: AccountId32,
    },
    /// The key was removed.
    #[codec(index = 2)]
    KeyRemoved,
    /// A call as another account was made.
    #[codec(index = 3)]
    SudoAsDone {
        /// Its result.
        sudo_result: Result<(), DispatchError>,
    },
}

/// Errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Error {
    /// Sender must be the sudo account.
    #[codec(index = 0)]
    RequireSudo,
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

/// The sudo key, if any.
pub fn key(ext: &Ext<'_>) -> Option<AccountId32> {
    ext.get(&keys::key())
}

fn ensure_sudo(ext: &Ext<'_>, origin: Origin) -> Result<AccountId32, DispatchError> {
    let who = origin.ensure_signed()?;
    if key(ext) == Some(who) {
        Ok(who)
    } else {
        Err(Error::RequireSudo.into())
    }
}

impl Call {
    /// Weight, class and fee flag (the sudo key pays no fee, as in Substrate).
    pub fn info(&self) -> DispatchInfo {
        let base = Weight::from_parts(10 * WEIGHT_REF_TIME_PER_MICROS, 0);
        let weight = match self {
            Call::sudo { call } | Call::sudo_as { call, .. } => base.saturating_add(call.info().weight),
            Call::sudo_unchecked_weight { weight, .. } => *weight,
            Call::set_key { .. } | Call::remove_key => base,
        };
        DispatchInfo { weight, pays_fee: Pays::No, ..Default::default() }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        ensure_sudo(ext, origin)?;
        match self {
            Call::sudo { call } | Call::sudo_unchecked_weight { call, .. } => {
                let sudo_result = crate::dispatch_transactional(ext, *call, Origin::Root);
                ext.deposit_event(Event::Sudid { sudo_result });
                Ok(())
            }
            Call::sudo_as { who, call } => {
                let who = lookup(&who)?;
                let sudo_result = crate::dispatch_transactional(ext, *call, Origin::Signed(who));
                ext.deposit_event(Event::SudoAsDone { sudo_result });
                Ok(())
            }
            Call::set_key { new } => {
                let new = lookup(&new)?;
                let old = key(ext);
                ext.put(keys::key(), &new);
                ext.deposit_event(Event::KeyChanged { old, new });
                Ok(())
            }
            Call::remove_key => {
                ext.kill(keys::key());
                ext.deposit_event(Event::KeyRemoved);
                Ok(())
            }
        }
    }
}

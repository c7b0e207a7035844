//! System (module 0): accounts, nonces, block hashes, events, digest.
//!
//! Storage follows `frame_system` exactly (prefix `System`), so that
//! `System.Account`, `System.Number`, `System.Events`… are where generic
//! clients look for them.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use umbra_primitives::{header::Digest, AccountId32, Balance, BlockNumber, Nonce, H256};
use umbra_trie::storage_key::{map_key, value_key, StorageHasher};

use crate::{
    error::{DispatchError, DispatchResult},
    event::Phase,
    state::Ext,
    weights::{DispatchInfo, PerDispatchClass, Weight, WEIGHT_REF_TIME_PER_MICROS},
    Origin,
};

/// Module index.
pub const INDEX: u8 = 0;
/// Storage prefix and metadata name.
pub const NAME: &str = "System";
/// Block hashes kept for mortal transactions.
pub const BLOCK_HASH_COUNT: BlockNumber = 4096;
/// The SS58 prefix of this chain's addresses.
pub const SS58_PREFIX: u16 = 42;

/// Balance data of an account (`pallet_balances::types::AccountData`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub struct AccountData {
    /// Spendable balance.
    pub free: Balance,
    /// Reserved balance.
    pub reserved: Balance,
    /// Balance that may not be spent below.
    pub frozen: Balance,
    /// Flags (bit 127: new balance logic, always set for accounts we create).
    pub flags: u128,
}

/// Flag set on every account's data: Substrate's "new logic" marker.
pub const NEW_LOGIC_FLAG: u128 = 1 << 127;

/// An account (`frame_system::AccountInfo`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub struct AccountInfo {
    /// Transactions sent.
    pub nonce: Nonce,
    /// Modules depending on this account.
    pub consumers: u32,
    /// Reasons the account exists (1 while its balance is at least the existential deposit).
    pub providers: u32,
    /// Self-sufficient references.
    pub sufficients: u32,
    /// Balances.
    pub data: AccountData,
}

/// Storage keys.
pub mod keys {
    use super::*;

    /// `System.Account(who)`.
    pub fn account(who: &AccountId32) -> Vec<u8> {
        map_key(NAME, "Account", StorageHasher::Blake2_128Concat, &who.0)
    }
    /// `System.BlockHash(n)`.
    pub fn block_hash(n: BlockNumber) -> Vec<u8> {
        map_key(NAME, "BlockHash", StorageHasher::Twox64Concat, &n.encode())
    }
    /// `System.Number`.
    pub fn number() -> Vec<u8> {
        value_key(NAME, "Number")
    }
    /// `System.ParentHash`.
    pub fn parent_hash() -> Vec<u8> {
        value_key(NAME, "ParentHash")
    }
    /// `System.Digest`.
    pub fn digest() -> Vec<u8> {
        value_key(NAME, "Digest")
    }
    /// `System.Events`.
    pub fn events() -> Vec<u8> {
        value_key(NAME, "Events")
    }
    /// `System.EventCount`.
    pub fn event_count() -> Vec<u8> {
        value_key(NAME, "EventCount")
    }
    /// `System.BlockWeight`.
    pub fn block_weight() -> Vec<u8> {
        value_key(NAME, "BlockWeight")
    }
    /// `System.ExtrinsicCount`.
    pub fn extrinsic_count() -> Vec<u8> {
        value_key(NAME, "ExtrinsicCount")
    }
    /// `System.AllExtrinsicsLen`.
    pub fn all_extrinsics_len() -> Vec<u8> {
        value_key(NAME, "AllExtrinsicsLen")
    }
    /// `System.ExecutionPhase`.
    pub fn execution_phase() -> Vec<u8> {
        value_key(NAME, "ExecutionPhase")
    }
}

/// Calls.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Makes some on-chain remark (no effect beyond the fee).
    #[codec(index = 0)]
    remark {
        /// The remark.
        remark: Vec<u8>,
    },
    /// Makes an on-chain remark and emits `Remarked` with its hash.
    #[codec(index = 7)]
    remark_with_event {
        /// The remark.
        remark: Vec<u8>,
    },
}

/// Events.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// An extrinsic completed successfully.
    #[codec(index = 0)]
    ExtrinsicSuccess {
        /// Its dispatch info.
        dispatch_info: DispatchInfo,
    },
    /// An extrinsic failed; its changes were reverted, the fee was charged.
    #[codec(index = 1)]
    ExtrinsicFailed {
        /// Why.
        dispatch_error: DispatchError,
        /// Its dispatch info.
        dispatch_info: DispatchInfo,
    },
    /// A new account was created.
    #[codec(index = 3)]
    NewAccount {
        /// The account.
        account: AccountId32,
    },
    /// An account was reaped.
    #[codec(index = 4)]
    KilledAccount {
        /// The account.
        account: AccountId32,
    },
    /// A remark was made.
    #[codec(index = 5)]
    Remarked {
        /// Who made it.
        sender: AccountId32,
        /// BLAKE2b-256 of the remark.
        hash: H256,
    },
}

/// Errors (indices as `frame_system`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Error {
    /// The name of specification does not match between the current runtime and the new one.
    #[codec(index = 0)]
    InvalidSpecName,
    /// The specification version did not increase.
    #[codec(index = 1)]
    SpecVersionNeedsToIncrease,
    /// Failed to extract the runtime version from the new runtime.
    #[codec(index = 2)]
    FailedToExtractRuntimeVersion,
    /// Suicide called when the account has non-default composite data.
    #[codec(index = 3)]
    NonDefaultComposite,
    /// There is a non-zero reference count preventing the account from being purged.
    #[codec(index = 4)]
    NonZeroRefCount,
    /// The origin filter prevents the call from being dispatched.
    #[codec(index = 5)]
    CallFiltered,
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

impl Call {
    /// Weight, class and fee flag.
    pub fn info(&self) -> DispatchInfo {
        let len = match self {
            Call::remark { remark } | Call::remark_with_event { remark } => remark.len() as u64,
        };
        DispatchInfo {
            weight: Weight::from_parts(2 * WEIGHT_REF_TIME_PER_MICROS + len * 1_000, 0),
            ..Default::default()
        }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        let sender = origin.ensure_signed()?;
        match self {
            Call::remark { .. } => Ok(()),
            Call::remark_with_event { remark } => {
                let hash = umbra_primitives::blake2_256(&remark);
                ext.deposit_event(Event::Remarked { sender, hash });
                Ok(())
            }
        }
    }
}

/// The account's info (default if it does not exist).
pub fn account(ext: &Ext<'_>, who: &AccountId32) -> AccountInfo {
    ext.get_or_default(&keys::account(who))
}

/// Writes an account, removing it when nothing references it any more.
pub fn put_account(ext: &mut Ext<'_>, who: &AccountId32, info: &AccountInfo) {
    if info.providers == 0 && info.consumers == 0 && info.sufficients == 0 {
        ext.kill(keys::account(who));
    } else {
        ext.put(keys::account(who), info);
    }
}

/// The hash of block `n`, if still kept.
pub fn block_hash(ext: &Ext<'_>, n: BlockNumber) -> Option<H256> {
    ext.get(&keys::block_hash(n))
}

/// Starts block `number`: records the parent hash, the digest, resets events.
pub(crate) fn initialize(ext: &mut Ext<'_>, number: BlockNumber, parent_hash: H256, digest: &Digest) {
    ext.env.number = number;
    ext.env.parent_hash = parent_hash;
    ext.put(keys::number(), &number);
    ext.put(keys::parent_hash(), &parent_hash);
    if let Some(parent) = number.checked_sub(1) {
        ext.put(keys::block_hash(parent), &parent_hash);
    }
    ext.put(keys::digest(), digest);
    ext.kill(keys::events());
    ext.kill(keys::event_count());
    ext.put(keys::execution_phase(), &Phase::Initialization);
}

/// Ends the block: prunes old block hashes, writes events and weights.
pub(crate) fn finalize(ext: &mut Ext<'_>, digest: &Digest) {
    // As Substrate: the genesis hash (block 0) is kept forever.
    if let Some(old) = ext.env.number.checked_sub(BLOCK_HASH_COUNT + 1).filter(|old| *old != 0) {
        ext.kill(keys::block_hash(old));
    }
    ext.put(keys::digest(), digest);
    let [normal, operational, mandatory] = ext.env.weight;
    ext.put(keys::block_weight(), &PerDispatchClass { normal, operational, mandatory });
    let events = ext.take_events();
    if events.is_empty() {
        ext.kill(keys::events());
        ext.kill(keys::event_count());
    } else {
        ext.put(keys::event_count(), &(events.len() as u32));
        ext.put(keys::events(), &events);
    }
    ext.kill(keys::extrinsic_count());
    ext.kill(keys::all_extrinsics_len());
    ext.kill(keys::execution_phase());
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;

    #[test]
    fn pruning_keeps_the_genesis_hash() {
        let empty = BTreeMap::<Vec<u8>, Vec<u8>>::new();
        let mut ext = Ext::new(&empty);
        let genesis = H256::repeat_byte(1);
        ext.put(keys::block_hash(0), &genesis);
        ext.put(keys::block_hash(1), &H256::repeat_byte(2));
        // Block BLOCK_HASH_COUNT + 1 would prune block 0; it is kept.
        ext.env.number = BLOCK_HASH_COUNT + 1;
        finalize(&mut ext, &Digest::default());
        assert_eq!(block_hash(&ext, 0), Some(genesis));
        // The next block prunes block 1 as usual.
        ext.env.number = BLOCK_HASH_COUNT + 2;
        finalize(&mut ext, &Digest::default());
        assert_eq!(block_hash(&ext, 1), None);
        assert_eq!(block_hash(&ext, 0), Some(genesis));
    }
}

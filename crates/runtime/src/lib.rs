//! umbra's runtime: the state transition function of the chain.
//!
//! Native Rust, pure and deterministic: no IO, no clock, no randomness, no
//! floats, no hash-map iteration. State is read through [`state::StateRead`]
//! and every write lands in an overlay; executing a block returns the ordered
//! map of storage changes, from which the node computes the state root.
//!
//! * [`modules`]: System (0), Timestamp (1), Balances (2),
//!   TransactionPayment (3), Sudo (4), Aura (5), Grandpa (6), Registry (11), MessageQueue (12), Gatekeeper (14), Contracts (15),
//!   Randomness (16),
//!   with Substrate's storage layout and call/event/error indices.
//! * [`executive`]: block initialization, extrinsic application (fee and
//!   nonce charged even when the call fails), finalization, block execution
//!   with batch signature verification, and a block builder for authors.
//! * [`validation`]: transaction-pool validity (priority, tags, longevity).
//! * [`api`]: the runtime APIs served through `state_call`.
//! * [`genesis`]: genesis configuration to storage.
//! * [`metadata`]: `RuntimeMetadataV14` describing everything above.
//!
//! Invariants: module, call, event and error indices never change once
//! released; every input (extrinsic bytes, call arguments, digests) is
//! bounded and validated; a failed dispatch reverts exactly its own changes.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod api;
pub mod error;
pub mod event;
pub mod executive;
pub mod extrinsic;
pub mod genesis;
pub mod metadata;
pub mod modules;
pub mod routing;
pub mod state;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod validation;
pub mod weights;

use alloc::{string::String, vec::Vec};

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_primitives::AccountId32;

pub use error::{DispatchError, DispatchResult, Error, InvalidTransaction, TransactionValidityError};
use modules::{
    aura, balances, contracts, gatekeeper, grandpa, message_queue, offences, registry, sudo, system, timestamp,
    transaction_payment,
};
use state::Ext;
use weights::DispatchInfo;

/// Who is calling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The chain itself (through sudo or governance).
    Root,
    /// A signed transaction.
    Signed(AccountId32),
    /// An unsigned inherent.
    None,
}

impl Origin {
    /// The signer, or `BadOrigin`.
    pub fn ensure_signed(self) -> Result<AccountId32, DispatchError> {
        match self {
            Origin::Signed(who) => Ok(who),
            _ => Err(DispatchError::BadOrigin),
        }
    }

    /// `Ok` for root, else `BadOrigin`.
    pub fn ensure_root(self) -> Result<(), DispatchError> {
        match self {
            Origin::Root => Ok(()),
            _ => Err(DispatchError::BadOrigin),
        }
    }

    /// `Ok` for an unsigned extrinsic, else `BadOrigin`.
    pub fn ensure_none(self) -> Result<(), DispatchError> {
        match self {
            Origin::None => Ok(()),
            _ => Err(DispatchError::BadOrigin),
        }
    }
}

/// Every call of the runtime, indexed by module.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum RuntimeCall {
    /// System (0).
    #[codec(index = 0)]
    System(system::Call),
    /// Timestamp (1).
    #[codec(index = 1)]
    Timestamp(timestamp::Call),
    /// Balances (2).
    #[codec(index = 2)]
    Balances(balances::Call),
    /// Sudo (4).
    #[codec(index = 4)]
    Sudo(sudo::Call),
    /// Aura (5).
    #[codec(index = 5)]
    Aura(aura::Call),
    /// Grandpa (6).
    #[codec(index = 6)]
    Grandpa(grandpa::Call),
    /// Registry (11). Boxed: registrations carry evidence and collateral
    /// inline and would make every call large.
    #[codec(index = 11)]
    Registry(alloc::boxed::Box<registry::Call>),
    /// MessageQueue (12).
    #[codec(index = 12)]
    MessageQueue(message_queue::Call),
    /// Gatekeeper (14).
    #[codec(index = 14)]
    Gatekeeper(gatekeeper::Call),
    /// Contracts (15).
    #[codec(index = 15)]
    Contracts(contracts::Call),
}

impl RuntimeCall {
    /// Weight, class and fee flag of the call.
    pub fn info(&self) -> DispatchInfo {
        match self {
            RuntimeCall::System(c) => c.info(),
            RuntimeCall::Timestamp(c) => c.info(),
            RuntimeCall::Balances(c) => c.info(),
            RuntimeCall::Sudo(c) => c.info(),
            RuntimeCall::Aura(c) => c.info(),
            RuntimeCall::Grandpa(c) => c.info(),
            RuntimeCall::Registry(c) => c.info(),
            RuntimeCall::MessageQueue(c) => c.info(),
            RuntimeCall::Gatekeeper(c) => c.info(),
            RuntimeCall::Contracts(c) => c.info(),
        }
    }
}

/// Every event of the runtime, indexed by module.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum RuntimeEvent {
    /// System (0).
    #[codec(index = 0)]
    System(system::Event),
    /// Balances (2).
    #[codec(index = 2)]
    Balances(balances::Event),
    /// TransactionPayment (3).
    #[codec(index = 3)]
    TransactionPayment(transaction_payment::Event),
    /// Sudo (4).
    #[codec(index = 4)]
    Sudo(sudo::Event),
    /// Grandpa (6).
    #[codec(index = 6)]
    Grandpa(grandpa::Event),
    /// Offences (7).
    #[codec(index = 7)]
    Offences(offences::Event),
    /// Registry (11).
    #[codec(index = 11)]
    Registry(registry::Event),
    /// MessageQueue (12).
    #[codec(index = 12)]
    MessageQueue(message_queue::Event),
    /// Gatekeeper (14).
    #[codec(index = 14)]
    Gatekeeper(gatekeeper::Event),
    /// Contracts (15).
    #[codec(index = 15)]
    Contracts(contracts::Event),
}

macro_rules! event_from {
    ($($module:ident => $variant:ident),*) => {
        $(impl From<$module::Event> for RuntimeEvent {
            fn from(e: $module::Event) -> Self {
                RuntimeEvent::$variant(e)
            }
        })*
    };
}
event_from!(system => System, balances => Balances, transaction_payment => TransactionPayment, sudo => Sudo, grandpa => Grandpa, offences => Offences, registry => Registry, message_queue => MessageQueue, gatekeeper => Gatekeeper, contracts => Contracts);

/// Dispatches `call` as `origin` (no transactional layer).
pub(crate) fn dispatch(ext: &mut Ext<'_>, call: RuntimeCall, origin: Origin) -> DispatchResult {
    match call {
        RuntimeCall::System(c) => c.dispatch(ext, origin),
        RuntimeCall::Timestamp(_) => Err(timestamp::NOT_A_TRANSACTION),
        RuntimeCall::Balances(c) => c.dispatch(ext, origin),
        RuntimeCall::Sudo(c) => c.dispatch(ext, origin),
        RuntimeCall::Aura(c) => c.dispatch(ext, origin),
        RuntimeCall::Grandpa(c) => c.dispatch(ext, origin),
        RuntimeCall::Registry(c) => (*c).dispatch(ext, origin),
        RuntimeCall::MessageQueue(c) => routing::dispatch(ext, c, origin),
        RuntimeCall::Gatekeeper(c) => c.dispatch(ext, origin),
        RuntimeCall::Contracts(c) => c.dispatch(ext, origin),
    }
}

/// Dispatches `call` in its own transactional layer: on error, its writes and
/// events are reverted.
pub(crate) fn dispatch_transactional(ext: &mut Ext<'_>, call: RuntimeCall, origin: Origin) -> DispatchResult {
    ext.start_transaction();
    let result = dispatch(ext, call, origin);
    if result.is_ok() {
        ext.commit_transaction();
    } else {
        ext.rollback_transaction();
    }
    result
}

/// The account of a module, as Substrate derives `PalletId` accounts:
/// `b"modl" ‖ id ‖ zeros`.
pub const fn module_account(id: &[u8; 8]) -> AccountId32 {
    let mut out = [0u8; 32];
    let prefix = *b"modl";
    let mut i = 0;
    while i < 4 {
        out[i] = prefix[i];
        i += 1;
    }
    while i < 12 {
        out[i] = id[i - 4];
        i += 1;
    }
    AccountId32(out)
}

/// The treasury (receives 80% of fees).
pub const fn treasury_account() -> AccountId32 {
    module_account(b"py/trsry")
}

/// The mining subsidy pool (70% of genesis issuance).
pub const fn mining_pool_account() -> AccountId32 {
    module_account(b"umb/mine")
}

/// The runtime's version (`sp_version::RuntimeVersion`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct RuntimeVersion {
    /// Name of the runtime.
    pub spec_name: String,
    /// Name of the implementation.
    pub impl_name: String,
    /// Authoring version.
    pub authoring_version: u32,
    /// Version of the state transition function.
    pub spec_version: u32,
    /// Version of the implementation.
    pub impl_version: u32,
    /// Runtime APIs: BLAKE2b-64 of the API name, and its version.
    pub apis: Vec<([u8; 8], u32)>,
    /// Version of the transaction format (signed extensions, call indices).
    pub transaction_version: u32,
    /// System version: 2 means the state and the extrinsics root use trie V1.
    pub system_version: u8,
}

/// Spec version (bumped whenever the state transition changes).
pub const SPEC_VERSION: u32 = 1;
/// Transaction version (bumped whenever the transaction format changes).
pub const TRANSACTION_VERSION: u32 = 1;

/// The runtime's version.
pub fn version() -> RuntimeVersion {
    RuntimeVersion {
        spec_name: "umbra".into(),
        impl_name: "umbra-node".into(),
        authoring_version: 1,
        spec_version: SPEC_VERSION,
        impl_version: 1,
        apis: api::API_VERSIONS
            .iter()
            .map(|(name, version)| (umbra_crypto::hashing::blake2_64(name.as_bytes()), *version))
            .collect(),
        transaction_version: TRANSACTION_VERSION,
        system_version: 2,
    }
}

/// The trie layout of the state and of the extrinsics root.
pub const STATE_VERSION: umbra_trie::StateVersion = umbra_trie::StateVersion::V1;

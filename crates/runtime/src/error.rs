//! Dispatch errors (recorded on chain), transaction validity errors (why a
//! transaction cannot be included), and the crate's own error for invalid
//! blocks. Encodings and indices are Substrate's.

use alloc::string::String;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;

/// A module's error: module index and the error's index within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct ModuleError {
    /// Module index.
    pub index: u8,
    /// Error index (first byte) and padding, as Substrate encodes it.
    pub error: [u8; 4],
}

/// Token-related failures (`sp_runtime::TokenError`).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum TokenError {
    FundsUnavailable,
    OnlyProvider,
    BelowMinimum,
    CannotCreate,
    UnknownAsset,
    Frozen,
    Unsupported,
    CannotCreateHold,
    NotExpendable,
    Blocked,
}

/// Arithmetic failures (`sp_arithmetic::ArithmeticError`).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum ArithmeticError {
    Underflow,
    Overflow,
    DivisionByZero,
}

/// Why a dispatch failed (`sp_runtime::DispatchError`). The call's state
/// changes are reverted; the fee and nonce are still charged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum DispatchError {
    /// Anything else.
    #[codec(index = 0)]
    Other,
    /// An account lookup failed.
    #[codec(index = 1)]
    CannotLookup,
    /// The origin may not make this call.
    #[codec(index = 2)]
    BadOrigin,
    /// A module's error.
    #[codec(index = 3)]
    Module(ModuleError),
    /// The account still has consumers.
    #[codec(index = 4)]
    ConsumerRemaining,
    /// The account has no provider.
    #[codec(index = 5)]
    NoProviders,
    /// Too many consumers.
    #[codec(index = 6)]
    TooManyConsumers,
    /// A token error.
    #[codec(index = 7)]
    Token(TokenError),
    /// An arithmetic error.
    #[codec(index = 8)]
    Arithmetic(ArithmeticError),
    /// Transactional layer error.
    #[codec(index = 9)]
    Transactional(TransactionalError),
    /// Resources exhausted.
    #[codec(index = 10)]
    Exhausted,
    /// State corrupt.
    #[codec(index = 11)]
    Corruption,
    /// Resource unavailable.
    #[codec(index = 12)]
    Unavailable,
    /// Root origin not allowed.
    #[codec(index = 13)]
    RootNotAllowed,
}

/// Transactional layer errors (`sp_runtime::TransactionalError`).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum TransactionalError {
    LimitReached,
    NoLayer,
}

impl DispatchError {
    /// The error of module `index` with error index `error`.
    pub const fn module(index: u8, error: u8) -> Self {
        DispatchError::Module(ModuleError { index, error: [error, 0, 0, 0] })
    }
}

/// Result of a dispatch.
pub type DispatchResult = Result<(), DispatchError>;

/// Why a transaction is invalid (`sp_runtime::transaction_validity::InvalidTransaction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum InvalidTransaction {
    /// The call is not expected.
    #[codec(index = 0)]
    Call,
    /// The signer cannot pay the fee.
    #[codec(index = 1)]
    Payment,
    /// The nonce is ahead of the account's.
    #[codec(index = 2)]
    Future,
    /// The nonce was already used.
    #[codec(index = 3)]
    Stale,
    /// The signature does not verify.
    #[codec(index = 4)]
    BadProof,
    /// The mortal era's birth block is unknown (too old).
    #[codec(index = 5)]
    AncientBirthBlock,
    /// The block limits would be exceeded.
    #[codec(index = 6)]
    ExhaustsResources,
    /// A module-specific reason.
    #[codec(index = 7)]
    Custom(u8),
    /// A mandatory inherent failed.
    #[codec(index = 8)]
    BadMandatory,
    /// A mandatory inherent was submitted as a transaction.
    #[codec(index = 9)]
    MandatoryValidation,
    /// The signer address is not acceptable.
    #[codec(index = 10)]
    BadSigner,
}

impl InvalidTransaction {
    /// Substrate's message for this reason (used verbatim in RPC errors).
    pub const fn message(self) -> &'static str {
        match self {
            InvalidTransaction::Call => "Transaction call is not expected",
            InvalidTransaction::Payment => "Inability to pay some fees (e.g. account balance too low)",
            InvalidTransaction::Future => "Transaction will be valid in the future",
            InvalidTransaction::Stale => "Transaction is outdated",
            InvalidTransaction::BadProof => "Transaction has a bad signature",
            InvalidTransaction::AncientBirthBlock => "Transaction has an ancient birth block",
            InvalidTransaction::ExhaustsResources => "Transaction would exhaust the block limits",
            InvalidTransaction::Custom(_) => "InvalidTransaction custom error",
            InvalidTransaction::BadMandatory => "A call was labelled as mandatory, but resulted in an Error.",
            InvalidTransaction::MandatoryValidation => {
                "Transaction dispatch is mandatory; transactions must not be validated."
            }
            InvalidTransaction::BadSigner => "Invalid signing address",
        }
    }
}

/// Why a transaction's validity cannot be determined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum UnknownTransaction {
    /// An account lookup failed.
    #[codec(index = 0)]
    CannotLookup,
    /// No validator for unsigned transactions of this kind.
    #[codec(index = 1)]
    NoUnsignedValidator,
    /// A module-specific reason.
    #[codec(index = 2)]
    Custom(u8),
}

/// Either kind of validity error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum TransactionValidityError {
    /// Definitely invalid.
    #[codec(index = 0)]
    Invalid(InvalidTransaction),
    /// Validity unknown.
    #[codec(index = 1)]
    Unknown(UnknownTransaction),
}

impl From<InvalidTransaction> for TransactionValidityError {
    fn from(e: InvalidTransaction) -> Self {
        TransactionValidityError::Invalid(e)
    }
}

impl From<UnknownTransaction> for TransactionValidityError {
    fn from(e: UnknownTransaction) -> Self {
        TransactionValidityError::Unknown(e)
    }
}

/// Why a block is invalid or could not be built. Never recorded on chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The block's number is not its parent's plus one.
    #[error("block number {found} does not follow parent number {parent}")]
    BadNumber {
        /// Parent number.
        parent: u32,
        /// Number found.
        found: u32,
    },
    /// The header has no (or a malformed) Aura slot pre-digest.
    #[error("missing or malformed Aura slot pre-digest")]
    MissingSlot,
    /// The slot does not increase.
    #[error("slot {slot} does not follow the parent's slot {parent_slot}")]
    SlotNotIncreasing {
        /// Parent slot.
        parent_slot: u64,
        /// This block's slot.
        slot: u64,
    },
    /// No Aura authorities in state.
    #[error("no Aura authorities")]
    NoAuthorities,
    /// The VRF pre-digest is missing, malformed or does not verify.
    #[error("invalid VRF randomness pre-digest")]
    BadVrf,
    /// The first extrinsic is not the timestamp inherent.
    #[error("the block does not start with the timestamp inherent")]
    MissingTimestamp,
    /// The timestamp does not match the slot or goes backwards.
    #[error("timestamp {timestamp} is invalid for slot {slot}: {reason}")]
    BadTimestamp {
        /// Timestamp set.
        timestamp: u64,
        /// Slot of the block.
        slot: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// An extrinsic in the block is invalid.
    #[error("extrinsic {index} is invalid: {reason}")]
    InvalidExtrinsic {
        /// Position in the block.
        index: u32,
        /// Why.
        reason: String,
    },
    /// The block exceeds its weight or length limit.
    #[error("block exceeds its resource limits")]
    ExhaustsResources,
    /// The header's extrinsics root does not match the body.
    #[error("extrinsics root mismatch")]
    ExtrinsicsRootMismatch,
    /// The header's digest does not match what the runtime produced.
    #[error("digest mismatch")]
    DigestMismatch,
    /// Genesis configuration is unusable.
    #[error("invalid genesis configuration: {0}")]
    Genesis(String),
}

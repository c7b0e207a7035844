//! Errors as Substrate's RPC reports them.

use jsonrpsee::types::{ErrorObject, ErrorObjectOwned};
use umbra_runtime::error::{InvalidTransaction, UnknownTransaction};
use umbra_txpool::PoolError;

/// Error codes.
pub mod codes {
    /// Base of author (transaction) errors.
    pub const AUTHOR: i32 = 1000;
    /// The extrinsic does not decode.
    pub const BAD_FORMAT: i32 = AUTHOR + 1;
    /// Validation could not run.
    pub const VERIFICATION_ERROR: i32 = AUTHOR + 2;
    /// The pool found the transaction invalid.
    pub const POOL_INVALID_TX: i32 = AUTHOR + 10;
    /// Validity unknown.
    pub const POOL_UNKNOWN_VALIDITY: i32 = AUTHOR + 11;
    /// Temporarily banned.
    pub const POOL_TEMPORARILY_BANNED: i32 = AUTHOR + 12;
    /// Already in the pool.
    pub const POOL_ALREADY_IMPORTED: i32 = AUTHOR + 13;
    /// Priority too low to replace.
    pub const POOL_TOO_LOW_PRIORITY: i32 = AUTHOR + 14;
    /// Dropped by pool limits.
    pub const POOL_IMMEDIATELY_DROPPED: i32 = AUTHOR + 16;
    /// Chain errors.
    pub const CHAIN: i32 = 3000;
    /// State errors.
    pub const STATE: i32 = 4000;
    /// Invalid block range.
    pub const STATE_INVALID_BLOCK_RANGE: i32 = STATE + 1;
    /// A count above the maximum.
    pub const STATE_INVALID_COUNT: i32 = STATE + 2;
    /// Anything else while reading state or calling the runtime.
    pub const STATE_CLIENT: i32 = STATE + 3;
    /// Invalid parameters (JSON-RPC).
    pub const INVALID_PARAMS: i32 = -32602;
}

/// A pool error as `author_submit*` reports it.
pub fn author_error(e: PoolError) -> ErrorObjectOwned {
    match e {
        // As Substrate: a module's own reason is reported by its number.
        PoolError::Invalid(InvalidTransaction::Custom(code)) => {
            ErrorObject::owned(codes::POOL_INVALID_TX, "Invalid Transaction", Some(format!("Custom error: {code}")))
        }
        PoolError::Invalid(reason) => {
            ErrorObject::owned(codes::POOL_INVALID_TX, "Invalid Transaction", Some(reason.message().to_string()))
        }
        PoolError::Unknown(reason) => {
            let data = match reason {
                UnknownTransaction::CannotLookup => "Could not lookup information required to validate the transaction",
                UnknownTransaction::NoUnsignedValidator => {
                    "Could not find an unsigned validator for the unsigned transaction"
                }
                UnknownTransaction::Custom(_) => "UnknownTransaction custom error",
            };
            ErrorObject::owned(codes::POOL_UNKNOWN_VALIDITY, "Unknown Transaction Validity", Some(data))
        }
        PoolError::TemporarilyBanned => {
            ErrorObject::owned(codes::POOL_TEMPORARILY_BANNED, "Transaction is temporarily banned", None::<()>)
        }
        PoolError::AlreadyImported(hash) => ErrorObject::owned(
            codes::POOL_ALREADY_IMPORTED,
            "Transaction Already Imported",
            Some(format!("0x{}", hex::encode(hash.as_bytes()))),
        ),
        PoolError::TooLowPriority { old, new } => ErrorObject::owned(
            codes::POOL_TOO_LOW_PRIORITY,
            format!("Priority is too low: ({old} vs {new})"),
            Some("The transaction has too low priority to replace another transaction already in the pool."),
        ),
        PoolError::ImmediatelyDropped => ErrorObject::owned(
            codes::POOL_IMMEDIATELY_DROPPED,
            "Immediately Dropped",
            Some("The transaction couldn't enter the pool because of the limit"),
        ),
        PoolError::Validation(e) => {
            ErrorObject::owned(codes::VERIFICATION_ERROR, format!("Verification Error: {e}"), Some(e.clone()))
        }
    }
}

/// An extrinsic that does not decode.
pub(crate) fn bad_format(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(codes::BAD_FORMAT, format!("Extrinsic has invalid format: {e}"), None::<()>)
}

/// A client-side failure while serving a state method.
pub(crate) fn state_client(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(codes::STATE_CLIENT, format!("Client error: {e}"), None::<()>)
}

/// A failure serving a chain method.
pub(crate) fn chain_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(codes::CHAIN + 1, format!("Client error: {e}"), None::<()>)
}

/// A parameter that parsed but is unusable.
pub(crate) fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(codes::INVALID_PARAMS, "Invalid params", Some(message.into()))
}

//! Runtime APIs, served through the `state_call` RPC as Substrate's are:
//! `method` names an API function, `data` is its SCALE-encoded arguments, the
//! result is SCALE-encoded. Inputs are bounded and must decode exactly.

use alloc::{string::String, vec::Vec};

use parity_scale_codec::{Decode, Encode};
use umbra_primitives::{block::OpaqueExtrinsic, AccountId32, H256};

use crate::{
    extrinsic,
    metadata::{self, SUPPORTED_VERSIONS},
    modules::{aura, grandpa, system, transaction_payment},
    state::{Ext, StateRead},
    validation::{self, TransactionSource},
    weights::RuntimeDispatchInfo,
};

/// The runtime APIs and versions advertised in the runtime version.
pub const API_VERSIONS: &[(&str, u32)] = &[
    ("Core", 5),
    ("Metadata", 2),
    ("BlockBuilder", 6),
    ("TaggedTransactionQueue", 3),
    ("AccountNonceApi", 1),
    ("TransactionPaymentApi", 4),
    ("GrandpaApi", 3),
    ("AuraApi", 1),
];

/// Largest argument blob accepted by any API call.
pub const MAX_INPUT_LEN: usize = crate::weights::limits::MAX_EXTRINSIC_LEN + 1024;

/// Why an API call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No such runtime API function.
    #[error("unknown runtime API method `{0}`")]
    UnknownMethod(String),
    /// The arguments do not decode as the function's parameters.
    #[error("invalid arguments for `{method}`: {reason}")]
    BadInput {
        /// The function.
        method: String,
        /// What is wrong.
        reason: String,
    },
}

/// The block a call executes at.
#[derive(Clone, Copy, Debug)]
pub struct At {
    /// Its hash.
    pub hash: H256,
    /// Its number.
    pub number: u32,
}

fn input<T: Decode>(method: &str, data: &[u8]) -> Result<T, ApiError> {
    umbra_primitives::decode_bounded(data, MAX_INPUT_LEN)
        .map_err(|e| ApiError::BadInput { method: method.into(), reason: alloc::format!("{e}") })
}

/// Executes runtime API `method` with `data` at block `at` (state `backend`).
pub fn call(backend: &dyn StateRead, at: At, method: &str, data: &[u8]) -> Result<Vec<u8>, ApiError> {
    let ext = Ext::new(backend);
    Ok(match method {
        "Core_version" => {
            input::<()>(method, data)?;
            crate::version().encode()
        }
        "Metadata_metadata" => {
            input::<()>(method, data)?;
            metadata::encoded(backend).encode()
        }
        "Metadata_metadata_at_version" => {
            let version: u32 = input(method, data)?;
            metadata::encoded_version(backend, version).encode()
        }
        "Metadata_metadata_versions" => {
            input::<()>(method, data)?;
            SUPPORTED_VERSIONS.to_vec().encode()
        }
        "AccountNonceApi_account_nonce" => {
            let who: AccountId32 = input(method, data)?;
            system::account(&ext, &who).nonce.encode()
        }
        "TransactionPaymentApi_query_info" | "TransactionPaymentApi_query_fee_details" => {
            let (xt, len): (OpaqueExtrinsic, u32) = input(method, data)?;
            let decoded = extrinsic::decode(&xt)
                .map_err(|e| ApiError::BadInput { method: method.into(), reason: alloc::format!("{e}") })?;
            let info = decoded.call.info();
            let details = transaction_payment::compute_fee(&ext, len, &info, 0);
            if method == "TransactionPaymentApi_query_info" {
                let partial_fee = if decoded.signature.is_some() { details.final_fee() } else { 0 };
                RuntimeDispatchInfo { weight: info.weight, class: info.class, partial_fee }.encode()
            } else {
                details.encode()
            }
        }
        "TaggedTransactionQueue_validate_transaction" => {
            let (source, xt, block_hash): (TransactionSource, OpaqueExtrinsic, H256) = input(method, data)?;
            // The state is `at`'s; `block_hash` names the same block.
            let _ = block_hash;
            validation::validate_transaction(backend, at.hash, at.number, source, &xt).encode()
        }
        "GrandpaApi_grandpa_authorities" => {
            input::<()>(method, data)?;
            grandpa::authorities(&ext).encode()
        }
        "GrandpaApi_current_set_id" => {
            input::<()>(method, data)?;
            grandpa::current_set_id(&ext).encode()
        }
        "AuraApi_slot_duration" => {
            input::<()>(method, data)?;
            aura::slot_duration(&ext).encode()
        }
        "AuraApi_authorities" => {
            input::<()>(method, data)?;
            aura::authorities(&ext).encode()
        }
        other => return Err(ApiError::UnknownMethod(other.into())),
    })
}

//! Transaction validity for the pool (`TaggedTransactionQueue`).
//!
//! A transaction is checked against the state of the best block as if it
//! were included in the next one: decodable, signed (the only unsigned
//! transactions are equivocation reports, valid once per offence with a
//! proof that verifies; inherents are never pool-valid), a current mortal era, a good
//! signature, an existing account that can pay the fee and stay alive, a
//! nonce that is not stale and at most [`MAX_FUTURE_NONCES`] ahead, and a
//! weight that fits an empty block. Nonces become tags: the transaction
//! provides `(who, nonce)` and requires `(who, nonce - 1)` when it is ahead
//! of the account, so the pool orders each account's transactions.

use alloc::{vec, vec::Vec};

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_primitives::{block::OpaqueExtrinsic, AccountId32, H256};

use crate::{
    error::{InvalidTransaction, TransactionValidityError},
    extrinsic,
    modules::{balances::EXISTENTIAL_DEPOSIT, message_queue, system, transaction_payment},
    state::{Ext, StateRead},
    RuntimeCall,
};

/// Nonces further ahead of the account than this are rejected as `Future`
/// instead of waiting in the pool (bounds what one account can park there).
pub const MAX_FUTURE_NONCES: u32 = 64;

/// Blocks an unsigned report stays in the pool.
pub const UNSIGNED_LONGEVITY: u64 = 64;

/// Checks an unsigned transaction: only an equivocation report with a proof
/// that verifies against `ext` and an offence not yet recorded (`Stale`
/// then). Returns the offence id.
pub fn check_unsigned(ext: &Ext<'_>, call: &RuntimeCall) -> Result<H256, TransactionValidityError> {
    use crate::modules::{aura, grandpa};
    match call {
        RuntimeCall::Grandpa(grandpa::Call::report_equivocation_unsigned { equivocation_proof }) => {
            Ok(grandpa::check_report(ext, equivocation_proof)?)
        }
        RuntimeCall::Aura(aura::Call::report_equivocation_unsigned { equivocation_proof }) => {
            Ok(aura::check_report(ext, equivocation_proof)?)
        }
        _ => Err(extrinsic::UNSIGNED_NOT_ALLOWED),
    }
}

/// Where a transaction came from (`sp_runtime::transaction_validity::TransactionSource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum TransactionSource {
    /// Found in a block.
    #[codec(index = 0)]
    InBlock,
    /// Submitted locally (RPC of this node).
    #[codec(index = 1)]
    Local,
    /// Received from the network.
    #[codec(index = 2)]
    External,
}

/// A valid transaction's pool parameters (`ValidTransaction`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct ValidTransaction {
    /// Higher is included first.
    pub priority: u64,
    /// Tags that must be provided by earlier transactions (or the state).
    pub requires: Vec<Vec<u8>>,
    /// Tags this transaction provides.
    pub provides: Vec<Vec<u8>>,
    /// Blocks for which the transaction stays valid.
    pub longevity: u64,
    /// Whether to gossip it.
    pub propagate: bool,
}

/// The nonce tag of `who` at `nonce`.
pub fn nonce_tag(who: &AccountId32, nonce: u32) -> Vec<u8> {
    (who, nonce).encode()
}

/// Validates `xt` on top of the best block (`best_hash`, `best_number`,
/// state `backend`).
pub fn validate_transaction(
    backend: &dyn StateRead,
    best_hash: H256,
    best_number: u32,
    _source: TransactionSource,
    xt: &OpaqueExtrinsic,
) -> Result<ValidTransaction, TransactionValidityError> {
    let mut ext = Ext::new(backend);
    let number = best_number.checked_add(1).ok_or(InvalidTransaction::ExhaustsResources)?;
    ext.env.number = number;
    ext.env.parent_hash = best_hash;
    // As the next block's initialization would record it.
    ext.put(system::keys::block_hash(best_number), &best_hash);

    let decoded = extrinsic::decode(xt).map_err(|_| InvalidTransaction::Call)?;
    let Some(signed) = extrinsic::signer(&decoded)? else {
        let id = check_unsigned(&ext, &decoded.call)?;
        extrinsic::check_weight(&ext, &decoded.call.info(), extrinsic::encoded_len(xt))?;
        return Ok(ValidTransaction {
            // Reports go first, as Substrate's.
            priority: u64::MAX,
            requires: Vec::new(),
            provides: vec![(b"offence", id).encode()],
            longevity: UNSIGNED_LONGEVITY,
            propagate: true,
        });
    };
    let additional = extrinsic::additional_signed(&ext, &signed.extra)?;
    extrinsic::verify_signature(&decoded, &additional)?;

    let account = system::account(&ext, &signed.who);
    if account.providers == 0 && account.sufficients == 0 {
        return Err(InvalidTransaction::Payment.into());
    }
    let nonce = signed.extra.nonce;
    if nonce < account.nonce {
        return Err(InvalidTransaction::Stale.into());
    }
    if nonce - account.nonce > MAX_FUTURE_NONCES {
        return Err(InvalidTransaction::Future.into());
    }
    let info = decoded.call.info();
    let len = extrinsic::encoded_len(xt);
    extrinsic::check_weight(&ext, &info, len)?;
    let fee = transaction_payment::compute_fee(&ext, len, &info, signed.extra.tip).final_fee();
    if account.data.free.checked_sub(fee).is_none_or(|left| fee > 0 && left < EXISTENTIAL_DEPOSIT) {
        return Err(InvalidTransaction::Payment.into());
    }

    let mut requires = if nonce > account.nonce { vec![nonce_tag(&signed.who, nonce - 1)] } else { Vec::new() };
    let mut provides = vec![nonce_tag(&signed.who, nonce)];
    // Worker messages are also ordered by their origin's sequence, and the
    // same message from two submitters is one transaction.
    if let RuntimeCall::MessageQueue(message_queue::Call::sync_offchain_message { signed: message }) = &decoded.call {
        let (mq_requires, mq_provides) = crate::routing::validate(&ext, message)?;
        requires.extend(mq_requires);
        provides.extend(mq_provides);
    }
    let current = u64::from(number);
    let longevity = signed.extra.era.death(current).saturating_sub(current);
    Ok(ValidTransaction {
        priority: u64::try_from(signed.extra.tip).unwrap_or(u64::MAX),
        requires,
        provides,
        longevity,
        propagate: true,
    })
}

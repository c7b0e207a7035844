//! Extrinsics of this runtime and their signed extensions.
//!
//! The signed extensions, in order: `CheckNonZeroSender`, `CheckSpecVersion`,
//! `CheckTxVersion`, `CheckGenesis`, `CheckMortality`, `CheckNonce`,
//! `CheckWeight`, `ChargeTransactionPayment`. Their implicit data
//! ([`AdditionalSigned`]) is computed here from the state; their checks run
//! in [`pre_dispatch`] (block inclusion) and in `validation` (pool).

use alloc::vec::Vec;

use umbra_primitives::{
    block::OpaqueExtrinsic,
    extrinsic::{AdditionalSigned, MultiAddress, MultiSignature, SignedExtra, UncheckedExtrinsic},
    AccountId32, Balance, H256,
};

use crate::{
    error::{InvalidTransaction, TransactionValidityError, UnknownTransaction},
    modules::{system, transaction_payment},
    state::Ext,
    weights::{limits, DispatchClass, DispatchInfo, Weight},
    RuntimeCall, SPEC_VERSION, TRANSACTION_VERSION,
};

/// An extrinsic whose call is this runtime's `RuntimeCall`.
pub type RuntimeExtrinsic = UncheckedExtrinsic<RuntimeCall>;

/// Decodes an extrinsic body (an [`OpaqueExtrinsic`]'s bytes).
pub fn decode(xt: &OpaqueExtrinsic) -> Result<RuntimeExtrinsic, umbra_primitives::Error> {
    if xt.0.len() > limits::MAX_EXTRINSIC_LEN {
        return Err(umbra_primitives::Error::TooLarge { len: xt.0.len(), max: limits::MAX_EXTRINSIC_LEN });
    }
    RuntimeExtrinsic::decode_body(&xt.0)
}

/// Encoded length of an extrinsic as fees count it (with its length prefix).
pub fn encoded_len(xt: &OpaqueExtrinsic) -> u32 {
    let body = xt.0.len();
    let prefix = parity_scale_codec::Encode::encoded_size(&parity_scale_codec::Compact(body as u32));
    u32::try_from(body + prefix).unwrap_or(u32::MAX)
}

/// The genesis hash, as stored in `System.BlockHash(0)`.
pub fn genesis_hash(ext: &Ext<'_>) -> Option<H256> {
    system::block_hash(ext, 0)
}

/// The implicit signed data for `extra` in the current block.
pub fn additional_signed(ext: &Ext<'_>, extra: &SignedExtra) -> Result<AdditionalSigned, InvalidTransaction> {
    let current = u64::from(ext.env.number);
    let birth = extra.era.birth(current);
    if birth > current {
        return Err(InvalidTransaction::AncientBirthBlock);
    }
    let birth = u32::try_from(birth).map_err(|_| InvalidTransaction::AncientBirthBlock)?;
    let era_block_hash = system::block_hash(ext, birth).ok_or(InvalidTransaction::AncientBirthBlock)?;
    let genesis_hash = genesis_hash(ext).ok_or(InvalidTransaction::AncientBirthBlock)?;
    Ok(AdditionalSigned {
        spec_version: SPEC_VERSION,
        transaction_version: TRANSACTION_VERSION,
        genesis_hash,
        era_block_hash,
    })
}

/// A signed extrinsic's signer, checked address form and extensions.
pub struct Signed {
    /// The signer.
    pub who: AccountId32,
    /// The signed extensions.
    pub extra: SignedExtra,
}

/// Splits an extrinsic into its signer (if signed) and call, checking the
/// signer's form (`CheckNonZeroSender`, address kind).
pub fn signer(xt: &RuntimeExtrinsic) -> Result<Option<Signed>, InvalidTransaction> {
    let Some(part) = &xt.signature else {
        return Ok(None);
    };
    let MultiAddress::Id(who) = part.signer else {
        return Err(InvalidTransaction::BadSigner);
    };
    if who.0 == [0u8; 32] {
        return Err(InvalidTransaction::BadSigner);
    }
    if matches!(part.signature, MultiSignature::Ecdsa(_)) {
        return Err(InvalidTransaction::BadProof);
    }
    Ok(Some(Signed { who, extra: part.extra }))
}

/// Verifies one extrinsic's signature against `additional`.
pub fn verify_signature(xt: &RuntimeExtrinsic, additional: &AdditionalSigned) -> Result<(), InvalidTransaction> {
    match xt.verify_signature(additional) {
        Ok(_) => Ok(()),
        Err(_) => Err(InvalidTransaction::BadProof),
    }
}

/// The signing payload of a signed extrinsic (for batch verification).
pub fn signing_payload(xt: &RuntimeExtrinsic, additional: &AdditionalSigned) -> Option<Vec<u8>> {
    let part = xt.signature.as_ref()?;
    Some(umbra_primitives::extrinsic::signing_payload(&xt.call, &part.extra, additional))
}

/// Checks a transaction against the block's remaining weight and length.
pub(crate) fn check_weight(ext: &Ext<'_>, info: &DispatchInfo, len: u32) -> Result<(), InvalidTransaction> {
    let total = info.weight.saturating_add(limits::EXTRINSIC_BASE_WEIGHT);
    let class = info.class.index();
    let used = ext.env.weight[class].saturating_add(total);
    let (max_weight, max_len) = match info.class {
        DispatchClass::Normal => (limits::MAX_NORMAL_WEIGHT, limits::MAX_NORMAL_LENGTH),
        DispatchClass::Operational | DispatchClass::Mandatory => (limits::MAX_BLOCK_WEIGHT, limits::MAX_BLOCK_LENGTH),
    };
    let all: Weight = ext.env.weight.iter().fold(total, |acc, w| acc.saturating_add(*w));
    if !used.all_lte(max_weight) || (info.class != DispatchClass::Mandatory && !all.all_lte(limits::MAX_BLOCK_WEIGHT)) {
        return Err(InvalidTransaction::ExhaustsResources);
    }
    if ext.env.length.saturating_add(len) > max_len {
        return Err(InvalidTransaction::ExhaustsResources);
    }
    Ok(())
}

/// Records a transaction's weight and length in the block.
pub(crate) fn note_weight(ext: &mut Ext<'_>, info: &DispatchInfo, len: u32) {
    let total = info.weight.saturating_add(limits::EXTRINSIC_BASE_WEIGHT);
    let class = info.class.index();
    ext.env.weight[class] = ext.env.weight[class].saturating_add(total);
    ext.env.length = ext.env.length.saturating_add(len);
}

/// Runs the signed extensions before dispatch: nonce (must equal the
/// account's), weight, and fee withdrawal; bumps the nonce. Returns the fee.
pub(crate) fn pre_dispatch(
    ext: &mut Ext<'_>,
    signed: &Signed,
    info: &DispatchInfo,
    len: u32,
) -> Result<Balance, TransactionValidityError> {
    let mut account = system::account(ext, &signed.who);
    // `CheckNonce` needs an existing account (as in Substrate): it is what
    // keeps the nonce, and so what makes replays impossible.
    if account.providers == 0 && account.sufficients == 0 {
        return Err(InvalidTransaction::Payment.into());
    }
    if signed.extra.nonce < account.nonce {
        return Err(InvalidTransaction::Stale.into());
    }
    if signed.extra.nonce > account.nonce {
        return Err(InvalidTransaction::Future.into());
    }
    check_weight(ext, info, len)?;
    let fee = transaction_payment::compute_fee(ext, len, info, signed.extra.tip).final_fee();
    transaction_payment::withdraw_fee(ext, &signed.who, fee)?;
    // Re-read: the fee withdrawal changed the balance.
    account = system::account(ext, &signed.who);
    account.nonce = account.nonce.wrapping_add(1);
    system::put_account(ext, &signed.who, &account);
    note_weight(ext, info, len);
    Ok(fee)
}

/// The error for unsigned extrinsics other than inherents.
pub const UNSIGNED_NOT_ALLOWED: TransactionValidityError =
    TransactionValidityError::Unknown(UnknownTransaction::NoUnsignedValidator);

/// Whether a call is an inherent (only valid unsigned, in blocks).
pub fn is_inherent(call: &RuntimeCall) -> bool {
    matches!(call, RuntimeCall::Timestamp(_))
}

/// Whether a call may come as an unsigned transaction: equivocation
/// reports, whose proof is their authentication (checked by
/// [`crate::validation::check_unsigned`] in the pool and again in blocks).
pub fn is_unsigned_allowed(call: &RuntimeCall) -> bool {
    matches!(
        call,
        RuntimeCall::Grandpa(crate::modules::grandpa::Call::report_equivocation_unsigned { .. })
            | RuntimeCall::Aura(crate::modules::aura::Call::report_equivocation_unsigned { .. })
    )
}

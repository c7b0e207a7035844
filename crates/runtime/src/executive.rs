//! Block execution: initialize, apply extrinsics, finalize.
//!
//! * [`execute_block`] checks and executes an imported block: extrinsics
//!   root first, then the Aura slot, the VRF, the timestamp inherent, all
//!   signatures (batch-verified per scheme), every signed extension, and
//!   finally that the header's digest is exactly what the runtime produced.
//! * [`BlockBuilder`] is the author's side of the same code path.
//!
//! Both return the block's storage changes; the node turns them into the
//! state root. A signed extrinsic whose call fails is still included: its fee
//! and nonce are charged, its call's changes and events are reverted, and
//! `ExtrinsicFailed` records why.

use alloc::{format, vec::Vec};

use umbra_crypto::{ed25519, sr25519};
use umbra_primitives::{
    block::{extrinsics_root, OpaqueExtrinsic},
    extrinsic::MultiSignature,
    header::{Digest, DigestItem, Header},
    AccountId32, H256,
};

use crate::{
    error::{DispatchResult, Error, TransactionValidityError},
    extrinsic::{self, RuntimeExtrinsic, Signed},
    modules::{aura, grandpa, message_queue, randomness, system, timestamp, transaction_payment},
    state::{Changes, Ext, StateRead},
    weights::{limits::BLOCK_EXECUTION_WEIGHT, DispatchClass},
    Origin, RuntimeCall, STATE_VERSION,
};

/// Only the pre-runtime items of a digest (what the author puts in).
pub fn pre_runtime_digest(digest: &Digest) -> Digest {
    Digest { logs: digest.logs.iter().filter(|d| matches!(d, DigestItem::PreRuntime(..))).cloned().collect() }
}

/// Starts block `number` on top of `parent_hash`, whose state `backend` is.
pub fn initialize_block<'a>(
    backend: &'a dyn StateRead,
    parent_hash: H256,
    number: u32,
    pre_digest: &Digest,
) -> Result<Ext<'a>, Error> {
    let mut ext = Ext::new(backend);
    let parent: u32 = ext.get_or_default(&system::keys::number());
    if parent.checked_add(1) != Some(number) {
        return Err(Error::BadNumber { parent, found: number });
    }
    system::initialize(&mut ext, number, parent_hash, pre_digest);
    message_queue::initialize(&mut ext);
    let (slot, author) = aura::initialize(&mut ext, pre_digest)?;
    randomness::initialize(&mut ext, pre_digest, slot, &author)?;
    ext.env.author = Some(AccountId32(author.0));
    let mandatory = DispatchClass::Mandatory.index();
    ext.env.weight[mandatory] = ext.env.weight[mandatory].saturating_add(BLOCK_EXECUTION_WEIGHT);
    Ok(ext)
}

/// The bytes the author of block `number` at `slot` must VRF-sign, read from
/// the parent's state.
pub fn vrf_transcript(backend: &dyn StateRead, number: u32, slot: u64) -> Vec<u8> {
    let ext = Ext::new(backend);
    randomness::vrf_transcript(&randomness::epoch_randomness_for(&ext, number), slot)
}

/// The timestamp inherent for `now` (milliseconds).
pub fn timestamp_inherent(now: u64) -> OpaqueExtrinsic {
    RuntimeExtrinsic::new_unsigned(RuntimeCall::Timestamp(timestamp::Call::set { now })).to_opaque()
}

fn apply_inherent(ext: &mut Ext<'_>, index: u32, xt: &RuntimeExtrinsic, len: u32) -> Result<(), Error> {
    let RuntimeCall::Timestamp(timestamp::Call::set { now }) = xt.call else {
        return Err(Error::MissingTimestamp);
    };
    ext.env.extrinsic_index = Some(index);
    timestamp::set(ext, now)?;
    let info = xt.call.info();
    extrinsic::note_weight(ext, &info, len);
    ext.deposit_event(system::Event::ExtrinsicSuccess { dispatch_info: info });
    ext.env.extrinsic_index = None;
    Ok(())
}

/// Applies a signed extrinsic whose signature was already verified.
fn apply_signed(
    ext: &mut Ext<'_>,
    index: u32,
    xt: RuntimeExtrinsic,
    signed: &Signed,
    len: u32,
) -> Result<DispatchResult, TransactionValidityError> {
    let info = xt.call.info();
    ext.env.extrinsic_index = Some(index);
    let fee = match extrinsic::pre_dispatch(ext, signed, &info, len) {
        Ok(fee) => fee,
        Err(e) => {
            ext.env.extrinsic_index = None;
            return Err(e);
        }
    };
    let result = crate::dispatch_transactional(ext, xt.call, Origin::Signed(signed.who));
    let author = ext.env.author;
    transaction_payment::settle_fee(ext, &signed.who, fee, signed.extra.tip, author);
    match result {
        Ok(()) => ext.deposit_event(system::Event::ExtrinsicSuccess { dispatch_info: info }),
        Err(dispatch_error) => {
            ext.deposit_event(system::Event::ExtrinsicFailed { dispatch_error, dispatch_info: info })
        }
    }
    ext.env.extrinsic_index = None;
    Ok(result)
}

/// Ends the block; returns the final digest (pre-runtime items plus the
/// runtime's consensus logs) and the changes.
fn finalize_block(mut ext: Ext<'_>, pre_digest: Digest) -> Result<(Digest, Changes), Error> {
    ext.env.extrinsic_index = None;
    timestamp::finalize(&mut ext)?;
    let mut digest = pre_digest;
    if let Some(item) = grandpa::finalize(&mut ext) {
        digest.logs.push(item);
    }
    system::finalize(&mut ext, &digest);
    Ok((digest, ext.into_changes()))
}

fn invalid(index: usize, reason: impl core::fmt::Display) -> Error {
    Error::InvalidExtrinsic { index: index as u32, reason: format!("{reason}") }
}

fn validity_reason(e: TransactionValidityError) -> &'static str {
    match e {
        TransactionValidityError::Invalid(i) => i.message(),
        TransactionValidityError::Unknown(_) => "Unknown Transaction Validity",
    }
}

/// Checks and executes a block whose header has no seal. Returns its storage
/// changes; the caller checks the state root they produce.
pub fn execute_block(
    backend: &dyn StateRead,
    header: &Header,
    extrinsics: &[OpaqueExtrinsic],
) -> Result<Changes, Error> {
    if extrinsics_root(extrinsics, STATE_VERSION) != header.extrinsics_root {
        return Err(Error::ExtrinsicsRootMismatch);
    }
    let pre_digest = pre_runtime_digest(&header.digest);
    let mut ext = initialize_block(backend, header.parent_hash, header.number, &pre_digest)?;

    let mut decoded = Vec::with_capacity(extrinsics.len());
    for (i, xt) in extrinsics.iter().enumerate() {
        let x = extrinsic::decode(xt).map_err(|e| invalid(i, e))?;
        decoded.push((x, extrinsic::encoded_len(xt)));
    }
    match decoded.first() {
        Some((x, _)) if x.signature.is_none() && extrinsic::is_inherent(&x.call) => {}
        _ => return Err(Error::MissingTimestamp),
    }

    // Signers and signatures of every signed extrinsic, verified in
    // batches; unsigned ones must be reports (checked when applied).
    let mut signers: Vec<Option<Signed>> = Vec::with_capacity(decoded.len());
    let mut checks = Vec::with_capacity(decoded.len());
    for (i, (x, _)) in decoded.iter().enumerate().skip(1) {
        let Some(signed) = extrinsic::signer(x).map_err(|e| invalid(i, e.message()))? else {
            if !extrinsic::is_unsigned_allowed(&x.call) {
                return Err(invalid(i, "unsigned extrinsic other than the timestamp inherent or a report"));
            }
            signers.push(None);
            continue;
        };
        let additional = extrinsic::additional_signed(&ext, &signed.extra).map_err(|e| invalid(i, e.message()))?;
        let payload = extrinsic::signing_payload(x, &additional).ok_or_else(|| invalid(i, "missing signature"))?;
        checks.push((i, payload));
        signers.push(Some(signed));
    }
    verify_signatures(&decoded, &signers, &checks)?;

    let mut iter = decoded.into_iter();
    if let Some((x, len)) = iter.next() {
        apply_inherent(&mut ext, 0, &x, len)?;
    }
    for (i, ((x, len), signed)) in iter.zip(&signers).enumerate() {
        let index = i + 1;
        // A failed call is fine (recorded as `ExtrinsicFailed`); an invalid
        // transaction makes the block invalid.
        let applied = match signed {
            Some(signed) => apply_signed(&mut ext, index as u32, x, signed, len),
            None => apply_unsigned(&mut ext, index as u32, x, len),
        };
        let _dispatch_result = applied.map_err(|e| invalid(index, validity_reason(e)))?;
    }
    let (digest, changes) = finalize_block(ext, pre_digest)?;
    if digest != header.digest {
        return Err(Error::DigestMismatch);
    }
    Ok(changes)
}

/// Verifies every signature, sr25519 and ed25519 each in one deterministic
/// batch; on failure, finds the first bad one. `signers[i]` is extrinsic
/// `i + 1`'s signer; `checks` holds (extrinsic index, signing payload) of
/// each signed one, in order.
fn verify_signatures(
    decoded: &[(RuntimeExtrinsic, u32)],
    signers: &[Option<Signed>],
    checks: &[(usize, Vec<u8>)],
) -> Result<(), Error> {
    let publics: Vec<(usize, [u8; 32])> =
        checks.iter().filter_map(|(i, _)| signers[i - 1].as_ref().map(|s| (*i, s.who.0))).collect();
    let sr_publics: Vec<sr25519::Public> = publics.iter().map(|(_, p)| sr25519::Public(*p)).collect();
    let ed_publics: Vec<ed25519::Public> = publics.iter().map(|(_, p)| ed25519::Public(*p)).collect();
    let mut sr_items: Vec<sr25519::BatchItem<'_>> = Vec::new();
    let mut ed_items: Vec<ed25519::BatchItem<'_>> = Vec::new();
    for (k, (i, payload)) in checks.iter().enumerate() {
        match decoded[*i].0.signature.as_ref().map(|p| &p.signature) {
            Some(MultiSignature::Sr25519(sig)) => sr_items.push((payload.as_slice(), sig, &sr_publics[k])),
            Some(MultiSignature::Ed25519(sig)) => ed_items.push((payload.as_slice(), sig, &ed_publics[k])),
            _ => return Err(invalid(*i, "unsupported signature scheme")),
        }
    }
    if sr25519::batch_verify(&sr_items) && ed25519::batch_verify(&ed_items) {
        return Ok(());
    }
    for (k, (i, payload)) in checks.iter().enumerate() {
        let ok = match decoded[*i].0.signature.as_ref().map(|p| &p.signature) {
            Some(MultiSignature::Sr25519(sig)) => sr25519::verify(sig, payload, &sr_publics[k]),
            Some(MultiSignature::Ed25519(sig)) => ed25519::verify(sig, payload, &ed_publics[k]),
            _ => false,
        };
        if !ok {
            return Err(invalid(*i, crate::InvalidTransaction::BadProof.message()));
        }
    }
    Err(invalid(0, "batch signature verification failed"))
}

/// Applies an unsigned report: its proof checked against the state (an
/// invalid or already recorded one is an invalid transaction), then
/// dispatched with no origin and no fee.
fn apply_unsigned(
    ext: &mut Ext<'_>,
    index: u32,
    xt: RuntimeExtrinsic,
    len: u32,
) -> Result<DispatchResult, TransactionValidityError> {
    crate::validation::check_unsigned(ext, &xt.call)?;
    let info = xt.call.info();
    extrinsic::check_weight(ext, &info, len)?;
    ext.env.extrinsic_index = Some(index);
    let result = crate::dispatch_transactional(ext, xt.call, Origin::None);
    extrinsic::note_weight(ext, &info, len);
    match result {
        Ok(()) => ext.deposit_event(system::Event::ExtrinsicSuccess { dispatch_info: info }),
        Err(dispatch_error) => {
            ext.deposit_event(system::Event::ExtrinsicFailed { dispatch_error, dispatch_info: info })
        }
    }
    ext.env.extrinsic_index = None;
    Ok(result)
}

/// A block an author built: header without state root and seal, body, and
/// the changes the node turns into the state root.
pub struct BuiltBlock {
    /// Header with `state_root` zero and no seal.
    pub header: Header,
    /// Extrinsics, timestamp inherent first.
    pub extrinsics: Vec<OpaqueExtrinsic>,
    /// Storage changes.
    pub changes: Changes,
}

/// Why an extrinsic could not be pushed into a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The transaction is invalid (drop it from the pool).
    Invalid(TransactionValidityError),
    /// The block is full (keep the transaction for the next block).
    BlockFull,
}

/// Builds a block: timestamp inherent first, then transactions until full.
pub struct BlockBuilder<'a> {
    ext: Ext<'a>,
    pre_digest: Digest,
    header_parent: H256,
    extrinsics: Vec<OpaqueExtrinsic>,
}

impl<'a> BlockBuilder<'a> {
    /// Starts block `number` at `now` on top of `parent_hash` (state `backend`).
    pub fn new(
        backend: &'a dyn StateRead,
        parent_hash: H256,
        number: u32,
        pre_digest: Digest,
        now: u64,
    ) -> Result<Self, Error> {
        let mut ext = initialize_block(backend, parent_hash, number, &pre_digest)?;
        let inherent = timestamp_inherent(now);
        let decoded = extrinsic::decode(&inherent).map_err(|e| invalid(0, e))?;
        apply_inherent(&mut ext, 0, &decoded, extrinsic::encoded_len(&inherent))?;
        Ok(BlockBuilder { ext, pre_digest, header_parent: parent_hash, extrinsics: alloc::vec![inherent] })
    }

    /// Number of extrinsics so far (inherent included).
    pub fn len(&self) -> usize {
        self.extrinsics.len()
    }

    /// Whether only the inherent is in.
    pub fn is_empty(&self) -> bool {
        self.extrinsics.len() <= 1
    }

    /// Applies a signed transaction or an unsigned report. `Ok(result)` means it is in the block
    /// (its call may still have failed).
    pub fn push(&mut self, xt: OpaqueExtrinsic) -> Result<DispatchResult, PushError> {
        let invalid_call = PushError::Invalid(crate::InvalidTransaction::Call.into());
        let decoded = extrinsic::decode(&xt).map_err(|_| invalid_call)?;
        let index = self.extrinsics.len() as u32;
        let len = extrinsic::encoded_len(&xt);
        let Some(signed) = extrinsic::signer(&decoded).map_err(|e| PushError::Invalid(e.into()))? else {
            if !extrinsic::is_unsigned_allowed(&decoded.call) {
                return Err(PushError::Invalid(extrinsic::UNSIGNED_NOT_ALLOWED));
            }
            return match apply_unsigned(&mut self.ext, index, decoded, len) {
                Ok(result) => {
                    self.extrinsics.push(xt);
                    Ok(result)
                }
                Err(TransactionValidityError::Invalid(crate::InvalidTransaction::ExhaustsResources)) => {
                    Err(PushError::BlockFull)
                }
                Err(e) => Err(PushError::Invalid(e)),
            };
        };
        let additional =
            extrinsic::additional_signed(&self.ext, &signed.extra).map_err(|e| PushError::Invalid(e.into()))?;
        extrinsic::verify_signature(&decoded, &additional).map_err(|e| PushError::Invalid(e.into()))?;
        match apply_signed(&mut self.ext, index, decoded, &signed, len) {
            Ok(result) => {
                self.extrinsics.push(xt);
                Ok(result)
            }
            Err(TransactionValidityError::Invalid(crate::InvalidTransaction::ExhaustsResources)) => {
                Err(PushError::BlockFull)
            }
            Err(e) => Err(PushError::Invalid(e)),
        }
    }

    /// Finishes the block.
    pub fn finalize(self) -> Result<BuiltBlock, Error> {
        let number = self.ext.env.number;
        let (digest, changes) = finalize_block(self.ext, self.pre_digest)?;
        let header = Header {
            parent_hash: self.header_parent,
            number,
            state_root: H256::zero(),
            extrinsics_root: extrinsics_root(&self.extrinsics, STATE_VERSION),
            digest,
        };
        Ok(BuiltBlock { header, extrinsics: self.extrinsics, changes })
    }
}

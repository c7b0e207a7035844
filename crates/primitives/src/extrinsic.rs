//! Substrate's v4 extrinsic format.
//!
//! ```text
//! extrinsic = Compact(len) ‖ body          (len = byte length of body)
//! body      = 0x04 ‖ call                                        (unsigned)
//!           | 0x84 ‖ MultiAddress ‖ MultiSignature ‖ extra ‖ call (signed)
//! call      = module_index: u8 ‖ call_index: u8 ‖ args
//! extra     = Era ‖ Compact(nonce) ‖ Compact(tip)
//! ```
//!
//! The signed extensions are, in order: `CheckNonZeroSender`,
//! `CheckSpecVersion`, `CheckTxVersion`, `CheckGenesis`, `CheckMortality`,
//! `CheckNonce`, `CheckWeight`, `ChargeTransactionPayment`. Only
//! `CheckMortality` (era), `CheckNonce` (nonce) and `ChargeTransactionPayment`
//! (tip) put bytes in the extrinsic; `CheckSpecVersion`, `CheckTxVersion`,
//! `CheckGenesis` and `CheckMortality` (hash of the era's birth block) add
//! [`AdditionalSigned`] data that is signed but not sent.
//!
//! The signature covers `SCALE((call, extra, additional_signed))`, replaced by
//! its BLAKE2b-256 hash when longer than 256 bytes.

use alloc::vec::Vec;

use parity_scale_codec::{Compact, Decode, Encode, Input};
use scale_info::TypeInfo;
use umbra_crypto::{ed25519, sr25519};

use crate::{block::OpaqueExtrinsic, AccountId32, Balance, Error, Nonce, Result, H256};

/// The extrinsic format version.
pub const EXTRINSIC_FORMAT_VERSION: u8 = 4;
/// Bit set in the version byte of signed extrinsics.
pub const SIGNED_FLAG: u8 = 0b1000_0000;
/// Signing payloads longer than this are hashed before signing.
pub const MAX_UNHASHED_PAYLOAD: usize = 256;

/// Who signed: Substrate's `MultiAddress<AccountId32, u32>`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum MultiAddress {
    /// An account id.
    #[codec(index = 0)]
    Id(AccountId32),
    /// An account index (not supported as a signer here).
    #[codec(index = 1)]
    Index(#[codec(compact)] u32),
    /// Raw bytes.
    #[codec(index = 2)]
    Raw(Vec<u8>),
    /// A 32-byte address that is not an account id.
    #[codec(index = 3)]
    Address32([u8; 32]),
    /// A 20-byte (Ethereum-style) address.
    #[codec(index = 4)]
    Address20([u8; 20]),
}

/// A signature of any accepted scheme: Substrate's `MultiSignature`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum MultiSignature {
    /// ed25519.
    #[codec(index = 0)]
    Ed25519(ed25519::Signature),
    /// sr25519 (context `substrate`).
    #[codec(index = 1)]
    Sr25519(sr25519::Signature),
    /// ECDSA over secp256k1 (decoded, never accepted by this chain).
    #[codec(index = 2)]
    Ecdsa([u8; 65]),
}

impl MultiSignature {
    /// Whether this signature by `signer` (whose account id is its public
    /// key) is valid over `message`. ECDSA is never accepted.
    pub fn verify(&self, message: &[u8], signer: &AccountId32) -> bool {
        match self {
            MultiSignature::Sr25519(sig) => sr25519::verify(sig, message, &sr25519::Public(signer.0)),
            MultiSignature::Ed25519(sig) => ed25519::verify(sig, message, &ed25519::Public(signer.0)),
            MultiSignature::Ecdsa(_) => false,
        }
    }
}

/// A transaction's validity window (`CheckMortality`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    /// Valid forever (until the nonce is used).
    Immortal,
    /// Valid for `period` blocks starting at the block whose number is
    /// congruent to `phase` modulo `period`. `period` is a power of two in
    /// 4..=65536 and `phase < period`.
    Mortal {
        /// Window length in blocks.
        period: u64,
        /// Offset of the window start.
        phase: u64,
    },
}

impl Era {
    /// A mortal era of (at least) `period` blocks starting at `current`:
    /// `period` is rounded up to a power of two and clamped to 4..=65536, the
    /// phase quantized as Substrate does.
    pub fn mortal(period: u64, current: u64) -> Self {
        let period = period.checked_next_power_of_two().unwrap_or(1 << 16).clamp(4, 1 << 16);
        let phase = current % period;
        let quantize = (period >> 12).max(1);
        Era::Mortal { period, phase: phase / quantize * quantize }
    }

    /// Whether the era never expires.
    pub fn is_immortal(&self) -> bool {
        matches!(self, Era::Immortal)
    }

    /// The first block of the window that contains `current` (0 for immortal).
    pub fn birth(&self, current: u64) -> u64 {
        match *self {
            Era::Immortal => 0,
            Era::Mortal { period, phase } => (current.max(phase) - phase) / period * period + phase,
        }
    }

    /// The first block at which the transaction is no longer valid.
    pub fn death(&self, current: u64) -> u64 {
        match *self {
            Era::Immortal => u64::MAX,
            Era::Mortal { period, .. } => self.birth(current).saturating_add(period),
        }
    }
}

impl Encode for Era {
    fn size_hint(&self) -> usize {
        if self.is_immortal() {
            1
        } else {
            2
        }
    }

    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, out: &mut T) {
        match *self {
            Era::Immortal => out.push_byte(0),
            Era::Mortal { period, phase } => {
                let quantize = (period >> 12).max(1);
                let low = u64::from(period.trailing_zeros().saturating_sub(1).clamp(1, 15));
                let encoded = (low | ((phase / quantize) << 4)) as u16;
                encoded.encode_to(out);
            }
        }
    }
}

impl Decode for Era {
    fn decode<I: Input>(input: &mut I) -> core::result::Result<Self, parity_scale_codec::Error> {
        let first = input.read_byte()?;
        if first == 0 {
            return Ok(Era::Immortal);
        }
        let encoded = u64::from(first) | (u64::from(input.read_byte()?) << 8);
        let period = 2u64 << (encoded % 16);
        let quantize = (period >> 12).max(1);
        let phase = (encoded >> 4) * quantize;
        if period >= 4 && phase < period {
            Ok(Era::Mortal { period, phase })
        } else {
            Err("invalid period and phase".into())
        }
    }
}

/// The signed extensions' bytes in the extrinsic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedExtra {
    /// `CheckMortality`.
    pub era: Era,
    /// `CheckNonce`.
    #[codec(compact)]
    pub nonce: Nonce,
    /// `ChargeTransactionPayment`: tip on top of the fee.
    #[codec(compact)]
    pub tip: Balance,
}

/// The signed extensions' implicit data: signed, never sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct AdditionalSigned {
    /// `CheckSpecVersion`.
    pub spec_version: u32,
    /// `CheckTxVersion`.
    pub transaction_version: u32,
    /// `CheckGenesis`.
    pub genesis_hash: H256,
    /// `CheckMortality`: hash of the era's birth block (genesis for immortal).
    pub era_block_hash: H256,
}

/// A call as bytes: module index, call index, then the arguments (which only
/// the runtime can decode). Consumes the rest of its input when decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedCall {
    /// Module index (`01-chain.md` table).
    pub module: u8,
    /// Call index within the module.
    pub call: u8,
    /// SCALE-encoded arguments.
    pub args: Vec<u8>,
}

impl Encode for EncodedCall {
    fn size_hint(&self) -> usize {
        2 + self.args.len()
    }

    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, out: &mut T) {
        out.push_byte(self.module);
        out.push_byte(self.call);
        out.write(&self.args);
    }
}

impl Decode for EncodedCall {
    fn decode<I: Input>(input: &mut I) -> core::result::Result<Self, parity_scale_codec::Error> {
        let module = input.read_byte()?;
        let call = input.read_byte()?;
        let len = input.remaining_len()?.ok_or("call length unknown")?;
        let mut args = alloc::vec![0u8; len];
        input.read(&mut args)?;
        Ok(EncodedCall { module, call, args })
    }
}

/// The bytes a signer signs: `SCALE((call, extra, additional))`, hashed with
/// BLAKE2b-256 when longer than 256 bytes.
pub fn signing_payload<C: Encode>(call: &C, extra: &SignedExtra, additional: &AdditionalSigned) -> Vec<u8> {
    let raw = (call, extra, additional).encode();
    if raw.len() > MAX_UNHASHED_PAYLOAD {
        umbra_crypto::hashing::blake2_256(&raw).to_vec()
    } else {
        raw
    }
}

/// The signature part of a signed extrinsic.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignaturePart {
    /// The signer.
    pub signer: MultiAddress,
    /// The signature over the signing payload.
    pub signature: MultiSignature,
    /// The signed extensions' bytes.
    pub extra: SignedExtra,
}

/// A v4 extrinsic, signed or unsigned, whose signature has not been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UncheckedExtrinsic<Call = EncodedCall> {
    /// `None` for unsigned (inherent) extrinsics.
    pub signature: Option<SignaturePart>,
    /// The call.
    pub call: Call,
}

impl<Call: Encode + Decode> UncheckedExtrinsic<Call> {
    /// An unsigned extrinsic.
    pub fn new_unsigned(call: Call) -> Self {
        UncheckedExtrinsic { signature: None, call }
    }

    /// Signs `call` with `pair` (signer = its account id).
    pub fn new_signed<R: rand_core::RngCore + rand_core::CryptoRng>(
        call: Call,
        pair: &umbra_crypto::Pair,
        extra: SignedExtra,
        additional: &AdditionalSigned,
        rng: &mut R,
    ) -> Self {
        let payload = signing_payload(&call, &extra, additional);
        let raw = pair.sign(&payload, rng);
        let signature = match pair.scheme() {
            umbra_crypto::Scheme::Sr25519 => MultiSignature::Sr25519(sr25519::Signature(raw)),
            umbra_crypto::Scheme::Ed25519 => MultiSignature::Ed25519(ed25519::Signature(raw)),
        };
        let signer = MultiAddress::Id(AccountId32(pair.public()));
        UncheckedExtrinsic { signature: Some(SignaturePart { signer, signature, extra }), call }
    }

    /// The body: version byte, signature part, call.
    fn body(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(160 + self.call.size_hint());
        match &self.signature {
            Some(part) => {
                body.push(EXTRINSIC_FORMAT_VERSION | SIGNED_FLAG);
                part.encode_to(&mut body);
            }
            None => body.push(EXTRINSIC_FORMAT_VERSION),
        }
        self.call.encode_to(&mut body);
        body
    }

    /// The full encoding: compact length, then the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.body().encode()
    }

    /// As an opaque extrinsic for a block body.
    pub fn to_opaque(&self) -> OpaqueExtrinsic {
        OpaqueExtrinsic(self.body())
    }

    /// Decodes a full encoding of at most `max_len` bytes: the length prefix
    /// must match exactly, the version must be 4, and nothing may follow the
    /// call.
    pub fn decode_bounded(bytes: &[u8], max_len: usize) -> Result<Self> {
        if bytes.len() > max_len {
            return Err(Error::TooLarge { len: bytes.len(), max: max_len });
        }
        let mut input = bytes;
        let declared = Compact::<u32>::decode(&mut input).map_err(|_| Error::Decode)?.0 as usize;
        if declared != input.len() {
            return Err(Error::LengthPrefixMismatch { declared, actual: input.len() });
        }
        Self::decode_body(input)
    }

    /// Decodes a body (an [`OpaqueExtrinsic`]'s bytes).
    pub fn decode_body(body: &[u8]) -> Result<Self> {
        let mut input = body;
        let version = input.read_byte().map_err(|_| Error::Decode)?;
        if version & !SIGNED_FLAG != EXTRINSIC_FORMAT_VERSION {
            return Err(Error::UnsupportedExtrinsicVersion(version & !SIGNED_FLAG));
        }
        let signature = if version & SIGNED_FLAG != 0 {
            let signer = MultiAddress::decode(&mut input).map_err(|_| Error::InvalidAddress)?;
            let signature = MultiSignature::decode(&mut input).map_err(|_| Error::InvalidSignatureEncoding)?;
            let era = Era::decode(&mut input).map_err(|_| Error::InvalidExtra("era"))?;
            let nonce = Compact::<Nonce>::decode(&mut input).map_err(|_| Error::InvalidExtra("nonce"))?.0;
            let tip = Compact::<Balance>::decode(&mut input).map_err(|_| Error::InvalidExtra("tip"))?.0;
            Some(SignaturePart { signer, signature, extra: SignedExtra { era, nonce, tip } })
        } else {
            None
        };
        let call = Call::decode(&mut input).map_err(|_| Error::InvalidCall)?;
        if !input.is_empty() {
            return Err(Error::TrailingBytes(input.len()));
        }
        Ok(UncheckedExtrinsic { signature, call })
    }

    /// Checks the signature against `additional` (the chain's spec and
    /// transaction versions, genesis hash and the era's birth block hash).
    /// Returns the signer, or `None` for an unsigned extrinsic.
    pub fn verify_signature(&self, additional: &AdditionalSigned) -> Result<Option<AccountId32>> {
        let Some(part) = &self.signature else {
            return Ok(None);
        };
        let MultiAddress::Id(signer) = &part.signer else {
            return Err(Error::UnsupportedAddress);
        };
        if matches!(part.signature, MultiSignature::Ecdsa(_)) {
            return Err(Error::UnsupportedSignature);
        }
        let payload = signing_payload(&self.call, &part.extra, additional);
        if part.signature.verify(&payload, signer) {
            Ok(Some(*signer))
        } else {
            Err(Error::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Encodings from Substrate's `sp_runtime::generic::Era` tests.
    #[test]
    fn era_encoding_matches_substrate() {
        assert_eq!(Era::Immortal.encode(), [0u8]);
        let e = Era::mortal(64, 42);
        assert_eq!(e, Era::Mortal { period: 64, phase: 42 });
        assert_eq!(e.encode(), [(5u8 | (42 << 4) as u8), (42u8 >> 4)]);
        let e = Era::mortal(32768, 20000);
        assert_eq!(e, Era::Mortal { period: 32768, phase: 20000 });
        assert_eq!(e.encode(), (14u16 + 2500 * 16).to_le_bytes());
        for (p, c) in [(4u64, 0u64), (64, 100), (256, 12345), (65536, 999_999), (1 << 20, 7)] {
            let e = Era::mortal(p, c);
            assert_eq!(Era::decode(&mut &e.encode()[..]).unwrap(), e);
            assert!(e.birth(c) <= c && c < e.death(c));
        }
        assert_eq!(Era::mortal(1_000_000, 1_000_000), Era::Mortal { period: 65536, phase: 1_000_000 % 65536 / 4 * 4 });
        // Phase 5 in a period of 4, and a period of 2: both invalid.
        assert!(Era::decode(&mut &[0x51, 0x00][..]).is_err());
        assert!(Era::decode(&mut &[0x10, 0x00][..]).is_err());
    }
}

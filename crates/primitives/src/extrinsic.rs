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
use scale_info::{
    build::{Fields, Variants},
    meta_type, Path, Type, TypeInfo, TypeParameter,
};
use umbra_crypto::{ed25519, sr25519};

use crate::{block::OpaqueExtrinsic, AccountId32, Balance, Error, Nonce, Result, H256};

/// The extrinsic format version.
pub const EXTRINSIC_FORMAT_VERSION: u8 = 4;
/// Bit set in the version byte of signed extrinsics.
pub const SIGNED_FLAG: u8 = 0b1000_0000;
/// Nesting limit when decoding a call (calls can contain calls, e.g. sudo):
/// Substrate's `MAX_EXTRINSIC_DEPTH`.
pub const MAX_CALL_DEPTH: u32 = 256;
/// Signing payloads longer than this are hashed before signing.
pub const MAX_UNHASHED_PAYLOAD: usize = 256;

/// Who signed, or who receives: Substrate's `MultiAddress<AccountId32, ()>`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum MultiAddress {
    /// An account id.
    #[codec(index = 0)]
    Id(AccountId32),
    /// An account index; this chain has no index lookup (the index type is `()`).
    #[codec(index = 1)]
    Index(Compact<()>),
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

impl TypeInfo for MultiAddress {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("MultiAddress", "sp_runtime::multiaddress"))
            .type_params([
                TypeParameter::new("AccountId", Some(meta_type::<AccountId32>())),
                TypeParameter::new("AccountIndex", Some(meta_type::<()>())),
            ])
            .variant(
                Variants::new()
                    .variant("Id", |v| {
                        v.index(0).fields(Fields::unnamed().field(|f| f.ty::<AccountId32>().type_name("AccountId")))
                    })
                    .variant("Index", |v| {
                        v.index(1).fields(Fields::unnamed().field(|f| f.compact::<()>().type_name("AccountIndex")))
                    })
                    .variant("Raw", |v| {
                        v.index(2).fields(Fields::unnamed().field(|f| f.ty::<Vec<u8>>().type_name("Vec<u8>")))
                    })
                    .variant("Address32", |v| {
                        v.index(3).fields(Fields::unnamed().field(|f| f.ty::<[u8; 32]>().type_name("[u8; 32]")))
                    })
                    .variant("Address20", |v| {
                        v.index(4).fields(Fields::unnamed().field(|f| f.ty::<[u8; 20]>().type_name("[u8; 20]")))
                    }),
            )
    }
}

/// A signature of any accepted scheme: Substrate's `MultiSignature`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
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

impl TypeInfo for MultiSignature {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder().path(Path::new("MultiSignature", "sp_runtime")).variant(
            Variants::new()
                .variant("Ed25519", |v| {
                    v.index(0).fields(
                        Fields::unnamed().field(|f| f.ty::<ed25519::Signature>().type_name("ed25519::Signature")),
                    )
                })
                .variant("Sr25519", |v| {
                    v.index(1).fields(
                        Fields::unnamed().field(|f| f.ty::<sr25519::Signature>().type_name("sr25519::Signature")),
                    )
                })
                .variant("Ecdsa", |v| {
                    v.index(2)
                        .fields(Fields::unnamed().field(|f| f.ty::<EcdsaSignature>().type_name("ecdsa::Signature")))
                }),
        )
    }
}

/// The metadata description of a 65-byte ECDSA signature (`sp_core::ecdsa::Signature`).
pub struct EcdsaSignature;

impl TypeInfo for EcdsaSignature {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("Signature", "sp_core::ecdsa"))
            .composite(Fields::unnamed().field(|f| f.ty::<[u8; 65]>().type_name("[u8; 65]")))
    }
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

/// Described as Substrate's `sp_runtime::generic::era::Era`: `Immortal`
/// (index 0) and `MortalN(u8)` for the first byte `N` of the two-byte form.
impl TypeInfo for Era {
    type Identity = Self;
    fn type_info() -> Type {
        let mut variants = Variants::new().variant("Immortal", |v| v.index(0));
        for (i, name) in MORTAL_VARIANTS.into_iter().enumerate() {
            let index = (i + 1) as u8;
            variants = variants.variant(name, |v| v.index(index).fields(Fields::unnamed().field(|f| f.ty::<u8>())));
        }
        Type::builder().path(Path::new("Era", "sp_runtime::generic::era")).variant(variants)
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

/// Names of the `Era` metadata variants 1..=255.
const MORTAL_VARIANTS: [&str; 255] = [
    "Mortal1",
    "Mortal2",
    "Mortal3",
    "Mortal4",
    "Mortal5",
    "Mortal6",
    "Mortal7",
    "Mortal8",
    "Mortal9",
    "Mortal10",
    "Mortal11",
    "Mortal12",
    "Mortal13",
    "Mortal14",
    "Mortal15",
    "Mortal16",
    "Mortal17",
    "Mortal18",
    "Mortal19",
    "Mortal20",
    "Mortal21",
    "Mortal22",
    "Mortal23",
    "Mortal24",
    "Mortal25",
    "Mortal26",
    "Mortal27",
    "Mortal28",
    "Mortal29",
    "Mortal30",
    "Mortal31",
    "Mortal32",
    "Mortal33",
    "Mortal34",
    "Mortal35",
    "Mortal36",
    "Mortal37",
    "Mortal38",
    "Mortal39",
    "Mortal40",
    "Mortal41",
    "Mortal42",
    "Mortal43",
    "Mortal44",
    "Mortal45",
    "Mortal46",
    "Mortal47",
    "Mortal48",
    "Mortal49",
    "Mortal50",
    "Mortal51",
    "Mortal52",
    "Mortal53",
    "Mortal54",
    "Mortal55",
    "Mortal56",
    "Mortal57",
    "Mortal58",
    "Mortal59",
    "Mortal60",
    "Mortal61",
    "Mortal62",
    "Mortal63",
    "Mortal64",
    "Mortal65",
    "Mortal66",
    "Mortal67",
    "Mortal68",
    "Mortal69",
    "Mortal70",
    "Mortal71",
    "Mortal72",
    "Mortal73",
    "Mortal74",
    "Mortal75",
    "Mortal76",
    "Mortal77",
    "Mortal78",
    "Mortal79",
    "Mortal80",
    "Mortal81",
    "Mortal82",
    "Mortal83",
    "Mortal84",
    "Mortal85",
    "Mortal86",
    "Mortal87",
    "Mortal88",
    "Mortal89",
    "Mortal90",
    "Mortal91",
    "Mortal92",
    "Mortal93",
    "Mortal94",
    "Mortal95",
    "Mortal96",
    "Mortal97",
    "Mortal98",
    "Mortal99",
    "Mortal100",
    "Mortal101",
    "Mortal102",
    "Mortal103",
    "Mortal104",
    "Mortal105",
    "Mortal106",
    "Mortal107",
    "Mortal108",
    "Mortal109",
    "Mortal110",
    "Mortal111",
    "Mortal112",
    "Mortal113",
    "Mortal114",
    "Mortal115",
    "Mortal116",
    "Mortal117",
    "Mortal118",
    "Mortal119",
    "Mortal120",
    "Mortal121",
    "Mortal122",
    "Mortal123",
    "Mortal124",
    "Mortal125",
    "Mortal126",
    "Mortal127",
    "Mortal128",
    "Mortal129",
    "Mortal130",
    "Mortal131",
    "Mortal132",
    "Mortal133",
    "Mortal134",
    "Mortal135",
    "Mortal136",
    "Mortal137",
    "Mortal138",
    "Mortal139",
    "Mortal140",
    "Mortal141",
    "Mortal142",
    "Mortal143",
    "Mortal144",
    "Mortal145",
    "Mortal146",
    "Mortal147",
    "Mortal148",
    "Mortal149",
    "Mortal150",
    "Mortal151",
    "Mortal152",
    "Mortal153",
    "Mortal154",
    "Mortal155",
    "Mortal156",
    "Mortal157",
    "Mortal158",
    "Mortal159",
    "Mortal160",
    "Mortal161",
    "Mortal162",
    "Mortal163",
    "Mortal164",
    "Mortal165",
    "Mortal166",
    "Mortal167",
    "Mortal168",
    "Mortal169",
    "Mortal170",
    "Mortal171",
    "Mortal172",
    "Mortal173",
    "Mortal174",
    "Mortal175",
    "Mortal176",
    "Mortal177",
    "Mortal178",
    "Mortal179",
    "Mortal180",
    "Mortal181",
    "Mortal182",
    "Mortal183",
    "Mortal184",
    "Mortal185",
    "Mortal186",
    "Mortal187",
    "Mortal188",
    "Mortal189",
    "Mortal190",
    "Mortal191",
    "Mortal192",
    "Mortal193",
    "Mortal194",
    "Mortal195",
    "Mortal196",
    "Mortal197",
    "Mortal198",
    "Mortal199",
    "Mortal200",
    "Mortal201",
    "Mortal202",
    "Mortal203",
    "Mortal204",
    "Mortal205",
    "Mortal206",
    "Mortal207",
    "Mortal208",
    "Mortal209",
    "Mortal210",
    "Mortal211",
    "Mortal212",
    "Mortal213",
    "Mortal214",
    "Mortal215",
    "Mortal216",
    "Mortal217",
    "Mortal218",
    "Mortal219",
    "Mortal220",
    "Mortal221",
    "Mortal222",
    "Mortal223",
    "Mortal224",
    "Mortal225",
    "Mortal226",
    "Mortal227",
    "Mortal228",
    "Mortal229",
    "Mortal230",
    "Mortal231",
    "Mortal232",
    "Mortal233",
    "Mortal234",
    "Mortal235",
    "Mortal236",
    "Mortal237",
    "Mortal238",
    "Mortal239",
    "Mortal240",
    "Mortal241",
    "Mortal242",
    "Mortal243",
    "Mortal244",
    "Mortal245",
    "Mortal246",
    "Mortal247",
    "Mortal248",
    "Mortal249",
    "Mortal250",
    "Mortal251",
    "Mortal252",
    "Mortal253",
    "Mortal254",
    "Mortal255",
];

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
        let call = <Call as parity_scale_codec::DecodeLimit>::decode_with_depth_limit(MAX_CALL_DEPTH, &mut input)
            .map_err(|_| Error::InvalidCall)?;
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

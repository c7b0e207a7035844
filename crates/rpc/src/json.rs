//! JSON shapes of Substrate's RPC: `0x` hex bytes and hashes, hex block
//! numbers, headers with hex-encoded digest items, runtime versions.

use parity_scale_codec::Encode;
use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};
use umbra_primitives::{header::Header, H256};
use umbra_runtime::RuntimeVersion;

/// Bytes as `0x`-prefixed hex.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

/// Longest hex string accepted in a parameter (the request size limit bounds
/// it too; this keeps the error precise).
pub const MAX_HEX_CHARS: usize = 2 * 16 * 1024 * 1024;

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(&self.0)))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_hex(&s).map(Bytes).map_err(D::Error::custom)
    }
}

/// Parses `0x`-prefixed hex.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let body = s.strip_prefix("0x").ok_or_else(|| "expected a 0x-prefixed hex string".to_string())?;
    if body.len() > MAX_HEX_CHARS {
        return Err(format!("hex string too long ({} characters)", body.len()));
    }
    hex::decode(body).map_err(|e| format!("invalid hex: {e}"))
}

/// A 32-byte hash as `0x` hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hash(pub H256);

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(self.0.as_bytes())))
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = Bytes::deserialize(d)?.0;
        if bytes.len() != 32 {
            return Err(D::Error::custom(format!("expected 32 bytes, got {}", bytes.len())));
        }
        Ok(Hash(H256::from_slice(&bytes)))
    }
}

/// A block number given as a JSON number or a hex string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumberOrHex(pub u64);

impl<'de> Deserialize<'de> for NumberOrHex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .map(NumberOrHex)
                .ok_or_else(|| D::Error::custom("block number must be a non-negative integer")),
            Value::String(s) => {
                let body =
                    s.strip_prefix("0x").ok_or_else(|| D::Error::custom("hex block number must start with 0x"))?;
                u64::from_str_radix(body, 16).map(NumberOrHex).map_err(|_| D::Error::custom("invalid hex block number"))
            }
            _ => Err(D::Error::custom("block number must be a number or a hex string")),
        }
    }
}

/// Hex of a number, as Substrate prints block numbers.
pub fn hex_number(n: u64) -> String {
    format!("0x{n:x}")
}

/// A header in Substrate's JSON form.
pub fn header(header: &Header) -> Value {
    json!({
        "parentHash": Hash(header.parent_hash),
        "number": hex_number(u64::from(header.number)),
        "stateRoot": Hash(header.state_root),
        "extrinsicsRoot": Hash(header.extrinsics_root),
        "digest": { "logs": header.digest.logs.iter().map(|d| Bytes(d.encode())).collect::<Vec<_>>() },
    })
}

/// A runtime version in Substrate's JSON form.
pub fn runtime_version(v: &RuntimeVersion) -> Value {
    json!({
        "specName": v.spec_name,
        "implName": v.impl_name,
        "authoringVersion": v.authoring_version,
        "specVersion": v.spec_version,
        "implVersion": v.impl_version,
        "apis": v.apis.iter().map(|(id, version)| json!([format!("0x{}", hex::encode(id)), version])).collect::<Vec<_>>(),
        "transactionVersion": v.transaction_version,
        "systemVersion": v.system_version,
        "stateVersion": v.system_version.min(1),
    })
}

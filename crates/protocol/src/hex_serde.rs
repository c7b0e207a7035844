//! `0x`-hex JSON forms of byte fields, strict on input: a missing `0x`,
//! odd length, non-hex digits or a wrong length are errors.

use serde::{de::Error as _, Deserialize, Deserializer, Serializer};
use umbra_primitives::H256;

fn encode(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn parse<E: serde::de::Error>(s: &str) -> Result<Vec<u8>, E> {
    let digits = s.strip_prefix("0x").ok_or_else(|| E::custom("hex must start with 0x"))?;
    hex::decode(digits).map_err(E::custom)
}

/// `Vec<u8>` as `"0x…"`.
pub mod bytes {
    use super::*;
    /// Serializes.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(v))
    }
    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        parse(&String::deserialize(d)?)
    }
}

/// `Option<Vec<u8>>` as `"0x…"` or `null`.
pub mod opt_bytes {
    use super::*;
    /// Serializes.
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&encode(v)),
            None => s.serialize_none(),
        }
    }
    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?.map(|s| parse(&s)).transpose()
    }
}

/// `Vec<Vec<u8>>` as a list of `"0x…"`.
pub mod bytes_list {
    use super::*;
    use serde::ser::SerializeSeq;
    /// Serializes.
    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for item in v {
            seq.serialize_element(&encode(item))?;
        }
        seq.end()
    }
    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?.iter().map(|s| parse(s)).collect()
    }
}

/// `[u8; 32]` as `"0x…"` (exactly 32 bytes).
pub mod array32 {
    use super::*;
    /// Serializes.
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(v))
    }
    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let bytes: Vec<u8> = parse(&String::deserialize(d)?)?;
        bytes.try_into().map_err(|b: Vec<u8>| D::Error::custom(format!("expected 32 bytes, got {}", b.len())))
    }
}

/// `H256` as `"0x…"`.
pub mod h256 {
    use super::*;
    /// Serializes.
    pub fn serialize<S: Serializer>(v: &H256, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(v.as_bytes()))
    }
    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<H256, D::Error> {
        array32::deserialize(d).map(H256)
    }
}

/// `Option<H256>` as `"0x…"` or `null`.
pub mod opt_h256 {
    use super::*;
    /// Serializes.
    pub fn serialize<S: Serializer>(v: &Option<H256>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&encode(v.as_bytes())),
            None => s.serialize_none(),
        }
    }
    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<H256>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => {
                let bytes: Vec<u8> = parse(&s)?;
                let array: [u8; 32] = bytes
                    .try_into()
                    .map_err(|b: Vec<u8>| D::Error::custom(format!("expected 32 bytes, got {}", b.len())))?;
                Ok(Some(H256(array)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "super::array32")]
        a: [u8; 32],
        #[serde(with = "super::opt_bytes")]
        b: Option<Vec<u8>>,
    }

    #[test]
    fn round_trips_and_refuses_malformed_hex() {
        let t = T { a: [7; 32], b: Some(vec![1, 2]) };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
        let short = json.replace(&hex::encode([7u8; 32]), "0707");
        assert!(serde_json::from_str::<T>(&short).is_err());
        let unprefixed = json.replace("\"0x0102\"", "\"0102\"");
        assert!(serde_json::from_str::<T>(&unprefixed).is_err());
        let odd = json.replace("\"0x0102\"", "\"0x012\"");
        assert!(serde_json::from_str::<T>(&odd).is_err());
    }
}

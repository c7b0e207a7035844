//! SS58 addresses (Substrate's base-58 address format).
//!
//! `base58(prefix ‖ payload ‖ checksum)` where `prefix` is one byte for network
//! identifiers below 64 and two bytes up to 16383, and `checksum` is the first
//! one (payloads of 1, 2, 4 or 8 bytes) or two (32- or 33-byte payloads) bytes
//! of `BLAKE2b-512("SS58PRE" ‖ prefix ‖ payload)`. Prefixes 46 and 47 are
//! reserved and never encoded or accepted.

use alloc::{string::String, vec::Vec};

use crate::{hashing::blake2_512, Error, Result};

/// The generic Substrate network prefix, used by dev chains.
pub const SUBSTRATE_PREFIX: u16 = 42;

/// Longest SS58 string this module decodes (2 + 33 + 2 bytes in base-58 is
/// below 52 characters; 64 leaves room without allowing large allocations).
pub const MAX_ADDRESS_LEN: usize = 64;

const CHECKSUM_PREFIX: &[u8] = b"SS58PRE";
const MAX_PREFIX: u16 = 0x3fff;

/// Whether `prefix` may appear in an address.
pub fn is_valid_prefix(prefix: u16) -> bool {
    prefix <= MAX_PREFIX && prefix != 46 && prefix != 47
}

/// A readable network name for well-known prefixes, as `subkey` prints them.
pub fn network_name(prefix: u16) -> Option<&'static str> {
    Some(match prefix {
        0 => "polkadot",
        2 => "kusama",
        30 => "phala",
        42 => "substrate",
        _ => return None,
    })
}

fn checksum_len(payload_len: usize) -> Option<usize> {
    match payload_len {
        1 | 2 | 4 | 8 => Some(1),
        32 | 33 => Some(2),
        _ => None,
    }
}

fn checksum(data: &[u8]) -> [u8; 64] {
    let mut buf = Vec::with_capacity(CHECKSUM_PREFIX.len() + data.len());
    buf.extend_from_slice(CHECKSUM_PREFIX);
    buf.extend_from_slice(data);
    blake2_512(&buf)
}

fn encode_prefix(prefix: u16, out: &mut Vec<u8>) {
    if prefix < 64 {
        out.push(prefix as u8);
    } else {
        // 14-bit identifier: the low 6 bits of the first byte carry bits 2..8,
        // the second byte carries bits 0..2 (high) and 8..14 (low).
        let first = (((prefix & 0b0000_0000_1111_1100) >> 2) as u8) | 0b0100_0000;
        let second = ((prefix >> 8) as u8) | (((prefix & 0b11) as u8) << 6);
        out.push(first);
        out.push(second);
    }
}

/// Encodes `payload` for network `prefix`.
///
/// Fails for reserved or out-of-range prefixes and for payload lengths other
/// than 1, 2, 4, 8, 32 or 33 bytes.
pub fn encode(prefix: u16, payload: &[u8]) -> Result<String> {
    if !is_valid_prefix(prefix) {
        return Err(Error::Ss58ReservedPrefix(prefix));
    }
    let check_len = checksum_len(payload.len()).ok_or(Error::Ss58InvalidPayloadLength(payload.len()))?;
    let mut data = Vec::with_capacity(2 + payload.len() + check_len);
    encode_prefix(prefix, &mut data);
    data.extend_from_slice(payload);
    let sum = checksum(&data);
    data.extend_from_slice(&sum[..check_len]);
    Ok(bs58::encode(data).into_string())
}

/// Encodes a 32-byte account id for network `prefix`.
pub fn encode_account(prefix: u16, account: &[u8; 32]) -> Result<String> {
    encode(prefix, account)
}

/// Decodes any SS58 address into its network prefix and payload, checking
/// length, prefix and checksum.
pub fn decode(address: &str) -> Result<(u16, Vec<u8>)> {
    if address.len() > MAX_ADDRESS_LEN {
        return Err(Error::Ss58TooLong { len: address.len(), max: MAX_ADDRESS_LEN });
    }
    let data = bs58::decode(address).into_vec().map_err(|_| Error::Ss58InvalidBase58)?;
    let first = *data.first().ok_or(Error::Ss58InvalidLength(0))?;
    let (prefix, prefix_len) = match first {
        0..=63 => (u16::from(first), 1),
        64..=127 => {
            let second = *data.get(1).ok_or(Error::Ss58InvalidLength(data.len()))?;
            let lower = (first << 2) | (second >> 6);
            let upper = second & 0b0011_1111;
            (u16::from(lower) | (u16::from(upper) << 8), 2)
        }
        _ => return Err(Error::Ss58InvalidPrefix),
    };
    if !is_valid_prefix(prefix) {
        return Err(Error::Ss58ReservedPrefix(prefix));
    }
    // Find the unique (payload, checksum) split with a legal payload length.
    let rest = data.len().checked_sub(prefix_len).ok_or(Error::Ss58InvalidLength(data.len()))?;
    let (payload_len, check_len) = [(32usize, 2usize), (33, 2), (1, 1), (2, 1), (4, 1), (8, 1)]
        .into_iter()
        .find(|(p, c)| p + c == rest)
        .ok_or(Error::Ss58InvalidLength(data.len()))?;
    let body_len = prefix_len + payload_len;
    let sum = checksum(&data[..body_len]);
    if data[body_len..] != sum[..check_len] {
        return Err(Error::Ss58BadChecksum);
    }
    Ok((prefix, data[prefix_len..body_len].to_vec()))
}

/// Decodes an SS58 address that must carry a 32-byte account id.
pub fn decode_account(address: &str) -> Result<(u16, [u8; 32])> {
    let (prefix, payload) = decode(address)?;
    let account: [u8; 32] =
        payload.as_slice().try_into().map_err(|_| Error::InvalidLength { expected: 32, found: payload.len() })?;
    Ok((prefix, account))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn two_byte_prefix_round_trip_at_bounds() {
        for prefix in [64u16, 65, 127, 128, 255, 256, 4242, 16383] {
            let address = encode(prefix, &[7u8; 32]).unwrap();
            assert_eq!(decode(&address).unwrap(), (prefix, [7u8; 32].to_vec()));
        }
        assert_eq!(encode(16384, &[0u8; 32]), Err(Error::Ss58ReservedPrefix(16384)));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for input in ["", "1", "11", "0OIl", "5", &"z".repeat(65)] {
            assert!(decode(input).is_err(), "{input}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(prefix in 0u16..16384, payload_len in prop::sample::select(alloc::vec![1usize, 2, 4, 8, 32, 33]), seed: [u8; 33]) {
            prop_assume!(is_valid_prefix(prefix));
            let payload = &seed[..payload_len];
            let address = encode(prefix, payload).unwrap();
            prop_assert_eq!(decode(&address).unwrap(), (prefix, payload.to_vec()));
        }

        #[test]
        fn decode_never_panics(s in "[1-9A-HJ-NP-Za-km-z]{0,60}") {
            let _ = decode(&s);
        }
    }
}

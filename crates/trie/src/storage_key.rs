//! Substrate storage keys: `twox128(module) ‖ twox128(item) ‖ hasher(key)…`.
//!
//! The hasher indices are those of metadata V14's `StorageHasher`.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_crypto::hashing::{blake2_128, blake2_256, twox_128, twox_256, twox_64};

/// How a map key is hashed into the storage key.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode, TypeInfo)]
pub enum StorageHasher {
    /// BLAKE2b-128 of the key (not reversible).
    #[codec(index = 0)]
    Blake2_128,
    /// BLAKE2b-256 of the key (not reversible).
    #[codec(index = 1)]
    Blake2_256,
    /// BLAKE2b-128 of the key followed by the key: safe for user-chosen keys, iterable.
    #[codec(index = 2)]
    Blake2_128Concat,
    /// xxHash128 of the key (not reversible, not collision resistant).
    #[codec(index = 3)]
    Twox128,
    /// xxHash256 of the key.
    #[codec(index = 4)]
    Twox256,
    /// xxHash64 of the key followed by the key: only for keys users cannot choose.
    #[codec(index = 5)]
    Twox64Concat,
    /// The key itself: only for keys that are already hashes.
    #[codec(index = 6)]
    Identity,
}

impl StorageHasher {
    /// Appends the hashed form of `key` to `out`.
    pub fn hash_into(self, key: &[u8], out: &mut Vec<u8>) {
        match self {
            StorageHasher::Blake2_128 => out.extend_from_slice(&blake2_128(key)),
            StorageHasher::Blake2_256 => out.extend_from_slice(&blake2_256(key)),
            StorageHasher::Blake2_128Concat => {
                out.extend_from_slice(&blake2_128(key));
                out.extend_from_slice(key);
            }
            StorageHasher::Twox128 => out.extend_from_slice(&twox_128(key)),
            StorageHasher::Twox256 => out.extend_from_slice(&twox_256(key)),
            StorageHasher::Twox64Concat => {
                out.extend_from_slice(&twox_64(key));
                out.extend_from_slice(key);
            }
            StorageHasher::Identity => out.extend_from_slice(key),
        }
    }

    /// Length of the hash part before the original key (if the hasher keeps it).
    pub const fn prefix_len(self) -> usize {
        match self {
            StorageHasher::Blake2_128 | StorageHasher::Twox128 | StorageHasher::Blake2_128Concat => 16,
            StorageHasher::Blake2_256 | StorageHasher::Twox256 => 32,
            StorageHasher::Twox64Concat => 8,
            StorageHasher::Identity => 0,
        }
    }

    /// Whether the original key can be read back from the storage key.
    pub const fn is_concat(self) -> bool {
        matches!(self, StorageHasher::Blake2_128Concat | StorageHasher::Twox64Concat | StorageHasher::Identity)
    }
}

/// The 32-byte prefix of every key of a storage item.
pub fn storage_prefix(module: &str, item: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&twox_128(module.as_bytes()));
    out[16..].copy_from_slice(&twox_128(item.as_bytes()));
    out
}

/// The key of a plain storage value.
pub fn value_key(module: &str, item: &str) -> Vec<u8> {
    storage_prefix(module, item).to_vec()
}

/// The key of a map entry; `key` is the SCALE encoding of the map key.
pub fn map_key(module: &str, item: &str, hasher: StorageHasher, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + hasher.prefix_len() + key.len());
    out.extend_from_slice(&storage_prefix(module, item));
    hasher.hash_into(key, &mut out);
    out
}

/// The key of a double-map entry.
pub fn double_map_key(
    module: &str,
    item: &str,
    hasher1: StorageHasher,
    key1: &[u8],
    hasher2: StorageHasher,
    key2: &[u8],
) -> Vec<u8> {
    let mut out = map_key(module, item, hasher1, key1);
    hasher2.hash_into(key2, &mut out);
    out
}

/// Recovers the encoded map key from a full storage key of a `*Concat` or
/// `Identity` map, or `None` if the key is not of that item or the hasher
/// does not keep the key.
pub fn map_key_suffix<'a>(module: &str, item: &str, hasher: StorageHasher, full_key: &'a [u8]) -> Option<&'a [u8]> {
    if !hasher.is_concat() {
        return None;
    }
    let rest = full_key.strip_prefix(&storage_prefix(module, item)[..])?;
    rest.get(hasher.prefix_len()..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_round_trip() {
        let k = map_key("System", "Account", StorageHasher::Blake2_128Concat, &[5u8; 32]);
        assert_eq!(map_key_suffix("System", "Account", StorageHasher::Blake2_128Concat, &k), Some(&[5u8; 32][..]));
        assert_eq!(map_key_suffix("System", "Events", StorageHasher::Blake2_128Concat, &k), None);
        assert_eq!(map_key_suffix("System", "Account", StorageHasher::Blake2_128, &k), None);
    }
}

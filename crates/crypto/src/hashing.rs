//! The hash functions of the chain, bit-compatible with Substrate.
//!
//! Thin, documented wrappers over `sp-crypto-hashing` (Substrate's own crate),
//! so that storage keys, block hashes and SS58 checksums match Substrate's.

/// BLAKE2b with a 256-bit output: block hashes, state trie, extrinsic payloads.
pub fn blake2_256(data: &[u8]) -> [u8; 32] {
    sp_crypto_hashing::blake2_256(data)
}

/// BLAKE2b with a 128-bit output: the `Blake2_128Concat` storage hasher.
pub fn blake2_128(data: &[u8]) -> [u8; 16] {
    sp_crypto_hashing::blake2_128(data)
}

/// BLAKE2b with a 512-bit output: SS58 checksums.
pub fn blake2_512(data: &[u8]) -> [u8; 64] {
    sp_crypto_hashing::blake2_512(data)
}

/// BLAKE2b with a 64-bit output: runtime API identifiers.
pub fn blake2_64(data: &[u8]) -> [u8; 8] {
    sp_crypto_hashing::blake2_64(data)
}

/// xxHash64 with seed 0, little-endian: the `Twox64Concat` storage hasher.
/// Not collision resistant; use only on keys the user cannot choose freely.
pub fn twox_64(data: &[u8]) -> [u8; 8] {
    sp_crypto_hashing::twox_64(data)
}

/// Two xxHash64 (seeds 0 and 1) concatenated: module and item name prefixes.
pub fn twox_128(data: &[u8]) -> [u8; 16] {
    sp_crypto_hashing::twox_128(data)
}

/// Four xxHash64 (seeds 0..4) concatenated.
pub fn twox_256(data: &[u8]) -> [u8; 32] {
    sp_crypto_hashing::twox_256(data)
}

/// Keccak-256 (the pre-standard SHA-3 used by Ethereum).
pub fn keccak_256(data: &[u8]) -> [u8; 32] {
    sp_crypto_hashing::keccak_256(data)
}

/// SHA-256 (FIPS 180-4).
pub fn sha2_256(data: &[u8]) -> [u8; 32] {
    sp_crypto_hashing::sha2_256(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Answers from the algorithms' own specifications (FIPS 180-4, Keccak team,
    // RFC 7693 reference), not from this crate.
    #[test]
    fn standard_answers() {
        assert_eq!(hex::encode(sha2_256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(hex::encode(keccak_256(b"")), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
        assert_eq!(hex::encode(blake2_256(&[0u8])), "03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314");
        assert_eq!(hex::encode(twox_64(b"")), "99e9d85137db46ef");
    }
}

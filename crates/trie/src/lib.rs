//! The state trie: Substrate's base-16 Patricia–Merkle trie with BLAKE2b-256.
//!
//! Built on `sp-trie` (Substrate's own node codec and layouts over `trie-db`)
//! so that roots and proofs are bit-compatible with Substrate and checkable by
//! its tooling, and our light client checks real Substrate proofs.
//!
//! * [`StateVersion::V0`] stores every value inline; [`StateVersion::V1`]
//!   stores values of 33 bytes or more as separate value nodes referenced by
//!   hash (Substrate's `LayoutV1`). Reading and proof verification are the same
//!   for both.
//! * [`state_root`] and [`ordered_root`] compute roots by streaming, without
//!   building a database.
//! * [`MemoryTrie`] holds a trie in memory to read values and produce read
//!   proofs; [`StorageProof`] verifies them against a trusted root.
//! * [`storage_key`] builds Substrate storage keys
//!   (`twox128(module) ‖ twox128(item) ‖ hasher(key)…`).
//!
//! Trust: nothing here trusts its input. Proofs are bounded in node count and
//! bytes, every node is hashed before use, and a missing or malformed node is
//! a precise [`Error`], never a panic. The crate is `no_std` + `alloc`, has no
//! clock and no randomness.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod error;
mod memory;
mod proof;
pub mod storage_key;

use parity_scale_codec::{Decode, Encode, MaxEncodedLen};
pub use primitive_types::H256;
use scale_info::TypeInfo;
use sp_core::Blake2Hasher;
use sp_trie::{LayoutV0, LayoutV1, TrieConfiguration};

pub use error::Error;
pub use memory::MemoryTrie;
pub use proof::{ProofLimits, ProofReader, StorageProof};

/// Result type of this crate.
pub type Result<T> = core::result::Result<T, Error>;

/// The root of the empty trie: BLAKE2b-256 of the single byte `0x00`.
pub const EMPTY_ROOT: H256 = H256([
    0x03, 0x17, 0x0a, 0x2e, 0x75, 0x97, 0xb7, 0xb7, 0xe3, 0xd8, 0x4c, 0x05, 0x39, 0x1d, 0x13, 0x9a, 0x62, 0xb1, 0x57,
    0xe7, 0x87, 0x86, 0xd8, 0xc0, 0x82, 0xf2, 0x9d, 0xcf, 0x4c, 0x11, 0x13, 0x14,
]);

/// Values at least this long are stored as separate hashed value nodes in
/// [`StateVersion::V1`] (Substrate's `TRIE_VALUE_NODE_THRESHOLD`).
pub const VALUE_NODE_THRESHOLD: u32 = 33;

/// Which trie layout a state uses. Encoded as Substrate's `StateVersion`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub enum StateVersion {
    /// All values inline (Substrate `LayoutV0`).
    #[codec(index = 0)]
    V0,
    /// Values of 33 bytes or more hashed into separate nodes (Substrate `LayoutV1`).
    #[codec(index = 1)]
    #[default]
    V1,
}

/// The Substrate layouts with BLAKE2b-256.
pub(crate) type V0 = LayoutV0<Blake2Hasher>;
pub(crate) type V1 = LayoutV1<Blake2Hasher>;

/// The root of the trie holding `entries` (duplicate keys: the last wins).
pub fn state_root<I, K, V>(version: StateVersion, entries: I) -> H256
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]> + Ord,
    V: AsRef<[u8]>,
{
    match version {
        StateVersion::V0 => V0::trie_root(entries),
        StateVersion::V1 => V1::trie_root(entries),
    }
}

/// The root of the trie mapping `Compact(i)` to the `i`-th value: how
/// Substrate commits to the extrinsics of a block.
pub fn ordered_root<I, V>(version: StateVersion, values: I) -> H256
where
    I: IntoIterator<Item = V>,
    V: AsRef<[u8]>,
{
    match version {
        StateVersion::V0 => V0::ordered_trie_root(values),
        StateVersion::V1 => V1::ordered_trie_root(values),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_roots() {
        let none: [(&[u8], &[u8]); 0] = [];
        assert_eq!(state_root(StateVersion::V0, none), EMPTY_ROOT);
        assert_eq!(state_root(StateVersion::V1, none), EMPTY_ROOT);
        assert_eq!(ordered_root::<_, &[u8]>(StateVersion::V0, []), EMPTY_ROOT);
        assert_eq!(EMPTY_ROOT.0, umbra_crypto::hashing::blake2_256(&[0]));
    }

    #[test]
    fn versions_differ_only_for_long_values() {
        let short = [(b"k".as_slice(), [1u8; 32].as_slice())];
        assert_eq!(state_root(StateVersion::V0, short), state_root(StateVersion::V1, short));
        let long = [(b"k".as_slice(), [1u8; 33].as_slice())];
        assert_ne!(state_root(StateVersion::V0, long), state_root(StateVersion::V1, long));
    }
}

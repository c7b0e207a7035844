//! Blocks of opaque extrinsics.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_trie::StateVersion;

use crate::{header::Header, H256};

/// An extrinsic as the block carries it: its body bytes (version byte onward).
/// Encodes as a SCALE `Vec<u8>`, i.e. exactly like the extrinsic itself
/// (compact length prefix, then the body), as Substrate's `OpaqueExtrinsic`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct OpaqueExtrinsic(pub Vec<u8>);

impl OpaqueExtrinsic {
    /// Wraps a full encoded extrinsic (with its length prefix).
    pub fn from_encoded(encoded: &[u8], max_len: usize) -> crate::Result<Self> {
        crate::decode_bounded(encoded, max_len)
    }

    /// The hash a transaction is known by (pool, RPC, blocks): BLAKE2-256
    /// of its full encoding.
    pub fn hash(&self) -> H256 {
        crate::blake2_256(&self.encode())
    }
}

/// A block: header and extrinsics.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The extrinsics, in execution order.
    pub extrinsics: Vec<OpaqueExtrinsic>,
}

impl Block {
    /// The block hash (hash of the header).
    pub fn hash(&self) -> H256 {
        self.header.hash()
    }

    /// Recomputes the extrinsics root of the body.
    pub fn compute_extrinsics_root(&self, version: StateVersion) -> H256 {
        extrinsics_root(&self.extrinsics, version)
    }
}

/// The ordered trie root of the encoded extrinsics (index `Compact(i)` →
/// the i-th extrinsic's full encoding), as Substrate's `extrinsics_data_root`.
pub fn extrinsics_root(extrinsics: &[OpaqueExtrinsic], version: StateVersion) -> H256 {
    umbra_trie::ordered_root(version, extrinsics.iter().map(Encode::encode))
}

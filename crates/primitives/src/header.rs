//! Block headers and digests, exactly as Substrate encodes them.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;

use crate::{blake2_256, BlockNumber, H256};

/// A 4-byte consensus engine id (`*b"aura"`, `*b"FRNK"`, ...).
pub type ConsensusEngineId = [u8; 4];

/// Aura's engine id (slot pre-digest and seal).
pub const AURA_ENGINE_ID: ConsensusEngineId = *b"aura";
/// GRANDPA's engine id (authority-set change logs).
pub const GRANDPA_ENGINE_ID: ConsensusEngineId = *b"FRNK";
/// umbra's block-randomness engine id (VRF output and proof pre-digest).
pub const RANDOMNESS_ENGINE_ID: ConsensusEngineId = *b"rand";

/// One digest item. Variant indices are Substrate's and never change.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum DigestItem {
    /// Arbitrary data.
    #[codec(index = 0)]
    Other(Vec<u8>),
    /// A message from the runtime to the consensus engine (e.g. GRANDPA set changes).
    #[codec(index = 4)]
    Consensus(ConsensusEngineId, Vec<u8>),
    /// The block author's seal over the pre-seal header hash.
    #[codec(index = 5)]
    Seal(ConsensusEngineId, Vec<u8>),
    /// Data the author puts in before execution (Aura slot, VRF).
    #[codec(index = 6)]
    PreRuntime(ConsensusEngineId, Vec<u8>),
    /// The runtime (code or heap pages) changed in this block.
    #[codec(index = 8)]
    RuntimeEnvironmentUpdated,
}

impl DigestItem {
    /// The data of a `PreRuntime` item of `engine`.
    pub fn pre_runtime(&self, engine: &ConsensusEngineId) -> Option<&[u8]> {
        match self {
            DigestItem::PreRuntime(id, data) if id == engine => Some(data),
            _ => None,
        }
    }

    /// The data of a `Consensus` item of `engine`.
    pub fn consensus(&self, engine: &ConsensusEngineId) -> Option<&[u8]> {
        match self {
            DigestItem::Consensus(id, data) if id == engine => Some(data),
            _ => None,
        }
    }

    /// The data of a `Seal` item of `engine`.
    pub fn seal(&self, engine: &ConsensusEngineId) -> Option<&[u8]> {
        match self {
            DigestItem::Seal(id, data) if id == engine => Some(data),
            _ => None,
        }
    }
}

/// The digest: a list of items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Digest {
    /// The items, in order.
    pub logs: Vec<DigestItem>,
}

/// A block header (`Header<u32, BlakeTwo256>`): the number is compact-encoded.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Header {
    /// Hash of the parent block.
    pub parent_hash: H256,
    /// Height.
    #[codec(compact)]
    pub number: BlockNumber,
    /// Root of the state trie after this block.
    pub state_root: H256,
    /// Ordered trie root of the block's extrinsics.
    pub extrinsics_root: H256,
    /// Digest items.
    pub digest: Digest,
}

impl Header {
    /// The block hash: BLAKE2b-256 of the encoded header (seal included).
    pub fn hash(&self) -> H256 {
        blake2_256(&self.encode())
    }

    /// The header without its last item if that item is a seal of `engine`,
    /// and the seal's data: what the author signed and its signature.
    pub fn split_seal(&self, engine: &ConsensusEngineId) -> Option<(Header, Vec<u8>)> {
        let last = self.digest.logs.last()?;
        let seal = last.seal(engine)?.to_vec();
        let mut pre = self.clone();
        pre.digest.logs.pop();
        Some((pre, seal))
    }

    /// Data of the first `PreRuntime` digest of `engine`.
    pub fn pre_runtime(&self, engine: &ConsensusEngineId) -> Option<&[u8]> {
        self.digest.logs.iter().find_map(|d| d.pre_runtime(engine))
    }

    /// Data of every `Consensus` digest of `engine`, in order.
    pub fn consensus_logs<'a>(&'a self, engine: &'a ConsensusEngineId) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.digest.logs.iter().filter_map(move |d| d.consensus(engine))
    }
}

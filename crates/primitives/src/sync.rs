//! What a relayer carries from a node to pRuntime, SCALE-encoded: the
//! `umbra_getSyncBatch`, `umbra_getGenesisAnchor` and `umbra_getStatePairs`
//! RPC results. Nothing here is trusted by its receiver: pRuntime checks
//! headers with its light client and changes against state roots.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;

use crate::header::Header;

/// One block's storage changes, in key order: `None` deletes the key.
pub type StorageChanges = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Most blocks one batch with storage changes may carry.
pub const MAX_SYNC_BATCH_BLOCKS: u32 = 4096;
/// Most headers one headers-only batch may carry (a finality jump longer
/// than this cannot be relayed; nodes store a justification at least every
/// 256 finalized blocks when finality advances normally).
pub const MAX_HEADER_BATCH: u32 = 16_384;
/// Most key-value pairs in one state page.
pub const MAX_STATE_PAGE: u32 = 16_384;
/// SCALE bytes of changes or pairs one `umbra_getSyncBatch` or
/// `umbra_getStatePairs` answer carries before it is cut (and says where
/// to continue): hex-encoded with one more value of the largest size the
/// chain stores, it stays below the RPC server's 15 MiB response cap.
pub const SYNC_BYTE_BUDGET: usize = 4 << 20;

/// Consecutive finalized headers, up to the next justified one.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct SyncBatch {
    /// The headers, oldest first.
    pub headers: Vec<Header>,
    /// The encoded GRANDPA justification of the last header, when the
    /// batch reaches the next justified block.
    pub justification: Option<Vec<u8>>,
    /// Each header's storage changes, when asked for.
    pub changes: Option<Vec<StorageChanges>>,
    /// The answer was cut at the byte budget inside the last header's
    /// changes, after this key: ask again from that block with it as
    /// `start_after` for the rest.
    pub partial: Option<Vec<u8>>,
}

/// The trust anchor of a chain: its genesis header and a read proof, against
/// the genesis state root, of the GRANDPA authority set and set id.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct GenesisAnchor {
    /// Block 0.
    pub header: Header,
    /// Trie nodes proving `Grandpa.Authorities` and `Grandpa.CurrentSetId`.
    pub proof: Vec<Vec<u8>>,
}

/// A page of the state at a block, in key order.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct StatePage {
    /// Key-value pairs.
    pub pairs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether the state has more keys after the last one.
    pub more: bool,
}

//! Event records stored in `System.Events`.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_primitives::H256;

pub use crate::RuntimeEvent;

/// When in the block an event happened (`frame_system::Phase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Phase {
    /// While applying the extrinsic with this index.
    #[codec(index = 0)]
    ApplyExtrinsic(u32),
    /// During block finalization.
    #[codec(index = 1)]
    Finalization,
    /// During block initialization.
    #[codec(index = 2)]
    Initialization,
}

/// An event with its phase (`frame_system::EventRecord`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct EventRecord {
    /// When it happened.
    pub phase: Phase,
    /// What happened.
    pub event: RuntimeEvent,
    /// Indexing topics (unused, always empty).
    pub topics: Vec<H256>,
}

//! Event records stored in `System.Events`.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::{build::Fields, meta_type, Path, Type, TypeInfo, TypeParameter};
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
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct EventRecord {
    /// When it happened.
    pub phase: Phase,
    /// What happened.
    pub event: RuntimeEvent,
    /// Indexing topics (unused, always empty).
    pub topics: Vec<H256>,
}

/// Described as `frame_system::EventRecord<E, T>`: generic clients find the
/// runtime's event type through its `E` parameter.
impl TypeInfo for EventRecord {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("EventRecord", "frame_system"))
            .type_params([
                TypeParameter::new("E", Some(meta_type::<RuntimeEvent>())),
                TypeParameter::new("T", Some(meta_type::<H256>())),
            ])
            .composite(
                Fields::named()
                    .field(|f| f.ty::<Phase>().name("phase").type_name("Phase"))
                    .field(|f| f.ty::<RuntimeEvent>().name("event").type_name("E"))
                    .field(|f| f.ty::<Vec<H256>>().name("topics").type_name("Vec<T>")),
            )
    }
}

//! Gatekeeper (module 14): the gatekeeper set, master-key epochs and the
//! messages that move keys between TEEs.
//!
//! * The set is appointed by root for now (NPoS election comes with
//!   staking). Only registered gatekeeper-role workers whose attestation is
//!   current and passes the gatekeeper TCB policy can join; the last one
//!   cannot leave. The first gatekeeper (named in the chain spec, or the
//!   first appointed) creates epoch 0.
//! * The chain records each epoch's gatekeeper signing public key
//!   ([`keys::master_pubkey`]); messages on the shared `Gatekeeper` channel
//!   must be signed with the current epoch's key (MessageQueue checks).
//! * Everything gatekeepers must see is announced in `MessageQueue.Outbound`
//!   under [`TOPIC`] as a [`Notice`] sent by this module: additions (the
//!   handover trigger), removals, rotations, handovers and accepted rotation
//!   proposals. Cluster keys belong to the clusters' module (Contracts).
//! * Rotation: root (or a removal) locks epoch `e + 1`; each gatekeeper
//!   proposes a fresh secret encrypted to every gatekeeper of the set; the
//!   first valid proposal on chain wins and all adopt it.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_crypto::sr25519;
use umbra_trie::storage_key::{map_key, value_key, StorageHasher};

use crate::{
    error::{DispatchError, DispatchResult},
    modules::{
        message_queue::{self, MessageOrigin},
        registry::{self, WorkerRole},
    },
    state::Ext,
    weights::{DispatchInfo, Weight, WEIGHT_REF_TIME_PER_MICROS},
    Origin,
};

/// Module index.
pub const INDEX: u8 = 14;
/// Storage prefix and metadata name.
pub const NAME: &str = "Gatekeeper";
/// Most gatekeepers.
pub const MAX_GATEKEEPERS: usize = 16;
/// Largest encrypted key blob in a message.
pub const MAX_ENVELOPE_LEN: usize = 64 * 1024;
/// Topic of [`Notice`]s to gatekeepers and workers.
pub const TOPIC: &[u8] = b"umbra/gatekeeper";
/// Off-chain topic: the first gatekeeper publishes epoch 0's key.
pub const GENESIS_KEY_TOPIC: &[u8] = b"^umbra/gatekeeper/genesis-key";
/// Off-chain topic: a rotation proposal.
pub const ROTATION_TOPIC: &[u8] = b"^umbra/gatekeeper/rotation";
/// Off-chain topic (Gatekeeper origin): master key history for a newcomer.
pub const HANDOVER_TOPIC: &[u8] = b"^umbra/gatekeeper/handover";

mod calls;
mod errors;
mod events;
mod genesis;
mod messages;
mod storage;
mod types;

pub use calls::*;
pub use errors::*;
pub use events::*;
pub use genesis::*;
pub use messages::*;
pub use storage::*;
pub use types::*;

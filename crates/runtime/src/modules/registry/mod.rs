//! Registry (module 11): workers prove on chain that they run an allowed
//! pRuntime inside a genuine TEE.
//!
//! `register_worker(info, evidence, collateral)` verifies, in this order:
//!
//! 1. the info version and that `info.genesis_hash` is this chain's;
//! 2. the evidence with [`umbra_attestation::verify`] at the block time,
//!    under the governed [`AttestationConfig`] (accepted platforms, sim
//!    service keys, maximum age);
//! 3. the binding `report_data[0..32] == BLAKE2-256(SCALE(info))`, so
//!    evidence produced for one identity key cannot register another;
//! 4. that the evidence's platform is the one `info` names;
//! 5. the freshness of `info.attested_at_ms` (pRuntime's view of chain time
//!    when it attested; DCAP quotes carry no date of their own) and that a
//!    re-registration is not older than the record it replaces;
//! 6. the measurement allowlist [`keys::allowed_measurement`];
//! 7. the TCB policy of the requested role (confidence level, denied
//!    advisories).
//!
//! Only then it writes `Workers[identity]`. Every failure is its own
//! [`Error`] variant and leaves storage untouched (the dispatch is
//! transactional). Privileged calls (allowlist, policies, configuration)
//! need the root origin: Sudo on dev chains, governance later.

use alloc::{string::String, vec::Vec};

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_attestation::{DcapCollateral, Evidence, Measurement, PlatformKind, TcbStatus, Verified};
use umbra_crypto::sr25519;
use umbra_primitives::{AccountId32, BlockNumber, H256};
use umbra_trie::storage_key::{map_key, value_key, StorageHasher};

use crate::{
    error::{DispatchError, DispatchResult},
    modules::{message_queue, system, timestamp},
    state::Ext,
    weights::{DispatchInfo, Weight, WEIGHT_REF_TIME_PER_MICROS},
    Origin,
};

/// Module index.
pub const INDEX: u8 = 11;
/// Storage prefix and metadata name.
pub const NAME: &str = "Registry";
/// Notice topic: the Registry tells workers about registrations
/// ([`Notice`] payload).
pub const TOPIC: &[u8] = b"umbra/registry/worker";
/// On-chain topic: workers report liveness ([`Heartbeat`] payload, origin
/// `Worker`).
pub const HEARTBEAT_TOPIC: &[u8] = b"^umbra/registry/heartbeat";
/// The only [`WorkerRegistrationInfo::version`] this runtime accepts.
pub const INFO_VERSION: u32 = 1;
/// Longest endpoint URL in bytes.
pub const MAX_ENDPOINT_LEN: usize = 256;
/// Endpoint announcements older than this (block time) are refused.
pub const MAX_ENDPOINT_AGE_MS: u64 = 4 * 60 * 60 * 1000;
/// A dated message may be this far ahead of block time.
pub const MAX_FUTURE_SKEW_MS: u64 = 5 * 60 * 1000;
/// Most platforms in a configuration.
pub const MAX_PLATFORMS: usize = 4;
/// Most simulated attestation service keys in a configuration.
pub const MAX_SIM_KEYS: usize = 16;
/// Most denied advisories in a TCB policy.
pub const MAX_DENIED_ADVISORIES: usize = 64;
/// Most registered workers (bounds the pool random dispatch reads).
pub const MAX_WORKERS: usize = 4096;
/// Domain separation of endpoint announcements.
pub const ENDPOINT_CONTEXT: &[u8] = b"umbra/registry/endpoint/v1";

mod calls;
mod checks;
mod errors;
mod events;
mod genesis;
mod messages;
mod storage;
mod types;

pub use calls::*;
pub use checks::*;
pub use errors::*;
pub use events::*;
pub use genesis::*;
pub use messages::*;
pub use storage::*;
pub use types::*;

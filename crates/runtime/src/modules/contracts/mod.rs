//! Contracts (module 15): code upload with on-chain validation
//! (`umbra_vm::validate`), clusters (root-appointed or by **random
//! dispatch** from epoch randomness), instantiation, encrypted commands with
//! gas reserved up front, cluster commits (results, encrypted state deltas,
//! contract public keys) with replica acks and divergence detection, and
//! replacement of replicas that left.
//!
//! The chain never sees plaintext: constructor arguments are sealed to the
//! cluster's X25519 key, commands to the contract's, outputs to the caller's
//! ephemeral key, state deltas under each contract's state key. What it
//! checks is structure: that a commit covers exactly the queued commands,
//! is signed by the cluster key, and that every replica's ack agrees.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_crypto::sr25519;
use umbra_primitives::{AccountId32, Balance, BlockNumber, H256};
use umbra_trie::storage_key::{map_key, value_key, StorageHasher};

use crate::{
    error::{DispatchError, DispatchResult},
    modules::{
        balances, gatekeeper,
        message_queue::{self, MessageOrigin},
        randomness, registry, timestamp,
    },
    state::Ext,
    weights::{DispatchInfo, Weight, WEIGHT_REF_TIME_PER_MICROS},
    Origin,
};

/// Module index.
pub const INDEX: u8 = 15;
/// Storage prefix and metadata name.
pub const NAME: &str = "Contracts";
/// Most workers in a cluster.
pub const MAX_CLUSTER_WORKERS: usize = 16;
/// Replicas of a cluster created by random dispatch when not specified.
pub const DEFAULT_REPLICAS: u8 = 2;
/// Topic of [`Notice`]s.
pub const TOPIC: &[u8] = b"umbra/contracts";
/// On-chain topic of [`ClusterCommit`]s (origin `Cluster(id)`).
pub const COMMIT_TOPIC: &[u8] = b"^umbra/contracts/commit";
/// On-chain topic of [`Ack`]s (origin `Worker(identity)`).
pub const ACK_TOPIC: &[u8] = b"^umbra/contracts/ack";
/// On-chain topic of [`ClusterKeys`] (origin `Gatekeeper`): a cluster's
/// public keys and its key sealed to each eligible replica.
pub const CLUSTER_KEYS_TOPIC: &[u8] = b"^umbra/contracts/cluster-keys";
/// Largest sealed cluster key in a delivery.
pub const MAX_KEY_ENVELOPE_LEN: usize = 64 * 1024;
/// Largest command or constructor envelope.
pub const MAX_ENVELOPE_LEN: usize = 64 * 1024;
/// Largest salt.
pub const MAX_SALT_LEN: usize = 64;
/// Most commands queued per cluster in one block.
pub const MAX_COMMANDS_PER_BLOCK: usize = 4096;
/// Most commands waiting for a commit per cluster.
pub const MAX_QUEUE: usize = 4 * MAX_COMMANDS_PER_BLOCK;
/// Most envelope bytes waiting for a commit per cluster.
pub const MAX_QUEUE_BYTES: u64 = 16 * 1024 * 1024;
/// Largest gas limit of one command: about 1.7 s of the worst contract on
/// the reference machine (`cargo bench -p umbra-pruntime-core --bench
/// adversarial`; docs/BENCHMARKS.md), so a command can hold a worker only
/// that long.
pub const MAX_GAS_LIMIT: u64 = 1_000_000_000;
/// Most gas the commands one block queues for one cluster may reserve:
/// bounds the work a block can ask of a cluster's replicas.
pub const MAX_BLOCK_GAS: u64 = 8 * MAX_GAS_LIMIT;
/// Price of one unit of gas in planck, reserved up front, unused part
/// refunded at the commit.
pub const GAS_PRICE: Balance = 1;
/// Largest encrypted output of one command in a commit.
pub const MAX_OUTPUT_LEN: usize = 4 * 1024;
/// Largest encrypted state delta of one contract in one commit.
pub const MAX_DELTA_LEN: usize = 256 * 1024;
/// A worker whose last heartbeat landed longer ago than this many blocks
/// is not eligible (and can be replaced).
pub const HEARTBEAT_GRACE: BlockNumber = 60;

mod calls;
mod errors;
mod events;
mod messages;
mod selection;
mod storage;
mod types;

pub use calls::*;
pub use errors::*;
pub use events::*;
pub use messages::*;
pub use selection::*;
pub use storage::*;
pub use types::*;

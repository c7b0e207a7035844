//! Contracts (module 15), minimal: clusters of workers, created by root,
//! so gatekeepers can distribute cluster keys. Code, instances, commands
//! and random dispatch arrive with confidential contracts.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_crypto::sr25519;
use umbra_primitives::H256;
use umbra_trie::storage_key::{map_key, value_key, StorageHasher};

use crate::{
    error::{DispatchError, DispatchResult},
    modules::{
        gatekeeper,
        message_queue::{self, Message, MessageOrigin},
        registry,
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
/// Topic of [`Notice`]s.
pub const TOPIC: &[u8] = b"umbra/contracts";

/// A cluster.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct ClusterInfo {
    /// Its workers (identities), in order.
    pub workers: Vec<sr25519::Public>,
    /// The master-key epoch its key derives from.
    pub epoch: u32,
}

/// What workers and gatekeepers are told.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Notice {
    /// A cluster was created: gatekeepers send its key to its workers.
    #[codec(index = 0)]
    ClusterCreated {
        /// Its id.
        cluster: H256,
        /// Its workers.
        workers: Vec<sr25519::Public>,
        /// Its epoch.
        epoch: u32,
    },
}

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Contracts.Clusters(id)`.
    pub fn cluster(id: &H256) -> Vec<u8> {
        map_key(NAME, "Clusters", StorageHasher::Blake2_128Concat, id.as_bytes())
    }
    /// `Contracts.ClusterCount`.
    pub fn cluster_count() -> Vec<u8> {
        value_key(NAME, "ClusterCount")
    }
}

/// Calls.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Root: creates a cluster of these registered workers (random
    /// dispatch replaces this with contracts).
    #[codec(index = 0)]
    create_cluster {
        /// The workers.
        workers: Vec<sr25519::Public>,
    },
}

/// Events.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// A cluster was created.
    #[codec(index = 0)]
    ClusterCreated {
        /// Its id.
        cluster: H256,
        /// Its workers.
        workers: Vec<sr25519::Public>,
        /// Its epoch.
        epoch: u32,
    },
}

/// Errors. Indices are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Error {
    /// No workers, too many, or the same one twice.
    #[codec(index = 0)]
    InvalidWorkers,
    /// A worker is not registered.
    #[codec(index = 1)]
    WorkerNotRegistered,
    /// No master key yet: gatekeepers cannot derive cluster keys.
    #[codec(index = 2)]
    NoMasterKey,
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

impl Call {
    /// Weight, class and fee flag.
    pub fn info(&self) -> DispatchInfo {
        DispatchInfo { weight: Weight::from_parts(100 * WEIGHT_REF_TIME_PER_MICROS, 0), ..Default::default() }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        origin.ensure_root()?;
        match self {
            Call::create_cluster { workers } => create_cluster(ext, workers),
        }
    }
}

/// A cluster.
pub fn cluster(ext: &Ext<'_>, id: &H256) -> Option<ClusterInfo> {
    ext.get(&keys::cluster(id))
}

/// The id of the `n`-th cluster: `BLAKE2-256("umbra/cluster" ‖ n)`.
pub fn cluster_id(n: u64) -> H256 {
    let mut input = b"umbra/cluster".to_vec();
    input.extend_from_slice(&n.to_le_bytes());
    H256(umbra_crypto::hashing::blake2_256(&input))
}

fn create_cluster(ext: &mut Ext<'_>, workers: Vec<sr25519::Public>) -> DispatchResult {
    let mut sorted = workers.clone();
    sorted.sort();
    sorted.dedup();
    if workers.is_empty() || workers.len() > MAX_CLUSTER_WORKERS || sorted.len() != workers.len() {
        return Err(Error::InvalidWorkers.into());
    }
    if workers.iter().any(|w| registry::worker(ext, w).is_none()) {
        return Err(Error::WorkerNotRegistered.into());
    }
    let epoch = gatekeeper::current_epoch(ext).ok_or(Error::NoMasterKey)?;
    let n: u64 = ext.get_or_default(&keys::cluster_count());
    let id = cluster_id(n);
    ext.put(keys::cluster_count(), &n.saturating_add(1));
    ext.put(keys::cluster(&id), &ClusterInfo { workers: workers.clone(), epoch });
    ext.deposit_event(Event::ClusterCreated { cluster: id, workers: workers.clone(), epoch });
    message_queue::push(
        ext,
        Message {
            sender: MessageOrigin::Module(NAME.as_bytes().to_vec()),
            destination: TOPIC.to_vec(),
            payload: Notice::ClusterCreated { cluster: id, workers, epoch }.encode(),
        },
    )?;
    Ok(())
}

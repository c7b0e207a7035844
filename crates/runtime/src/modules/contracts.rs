//! Contracts (module 15), in progress: code upload with on-chain
//! validation (`umbra_vm::validate`), and clusters of workers created by
//! root so gatekeepers can distribute cluster keys. Instances, commands and
//! random dispatch arrive with confidential contracts.

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
    /// `Contracts.Code(hash)`: the wasm.
    pub fn code(hash: &H256) -> Vec<u8> {
        map_key(NAME, "Code", StorageHasher::Identity, hash.as_bytes())
    }
    /// `Contracts.CodeInfo(hash)`.
    pub fn code_info(hash: &H256) -> Vec<u8> {
        map_key(NAME, "CodeInfo", StorageHasher::Identity, hash.as_bytes())
    }
}

/// An uploaded code's record.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct CodeInfo {
    /// Who uploaded it.
    pub owner: umbra_primitives::AccountId32,
    /// Its size in bytes.
    pub len: u32,
    /// Block of the upload.
    pub uploaded_at: u32,
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
    /// Uploads contract code (wasm), validated on chain: size, imports of
    /// host ABI v1 only, exports, no floating point, memory and table
    /// limits, no start function.
    #[codec(index = 1)]
    upload_code {
        /// The wasm.
        code: Vec<u8>,
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
    /// Code was uploaded.
    #[codec(index = 1)]
    CodeUploaded {
        /// Its BLAKE2-256 hash.
        hash: H256,
        /// The uploader.
        owner: umbra_primitives::AccountId32,
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
    /// The code exceeds the size limit.
    #[codec(index = 3)]
    CodeTooLarge,
    /// Not valid wasm, or features outside the deterministic set.
    #[codec(index = 4)]
    InvalidWasm,
    /// An import outside host ABI v1 or with the wrong signature.
    #[codec(index = 5)]
    InvalidImport,
    /// `memory`, `deploy` or `call` missing or mistyped.
    #[codec(index = 6)]
    MissingExport,
    /// Floating-point types or instructions.
    #[codec(index = 7)]
    FloatingPoint,
    /// Memory or table declarations beyond the limits.
    #[codec(index = 8)]
    InvalidMemory,
    /// A start function.
    #[codec(index = 9)]
    StartFunction,
    /// The same code is already uploaded.
    #[codec(index = 10)]
    CodeExists,
}

impl From<umbra_vm::Error> for Error {
    fn from(e: umbra_vm::Error) -> Self {
        use umbra_vm::Error as V;
        match e {
            V::CodeTooLarge { .. } => Error::CodeTooLarge,
            V::InvalidImport(_) => Error::InvalidImport,
            V::MissingExport(_) => Error::MissingExport,
            V::FloatingPoint(_) => Error::FloatingPoint,
            V::InvalidMemory(_) | V::InvalidTable => Error::InvalidMemory,
            V::StartFunction => Error::StartFunction,
            _ => Error::InvalidWasm,
        }
    }
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

impl Call {
    /// Weight, class and fee flag. Upload validation is linear in the code
    /// size (bounded by `umbra_vm::limits::MAX_CODE_SIZE`).
    pub fn info(&self) -> DispatchInfo {
        let weight = match self {
            Call::create_cluster { .. } => Weight::from_parts(100 * WEIGHT_REF_TIME_PER_MICROS, 0),
            Call::upload_code { code } => {
                Weight::from_parts((200 + code.len() as u64 / 10) * WEIGHT_REF_TIME_PER_MICROS, 0)
            }
        };
        DispatchInfo { weight, ..Default::default() }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        match self {
            Call::create_cluster { workers } => {
                origin.ensure_root()?;
                create_cluster(ext, workers)
            }
            Call::upload_code { code } => {
                let owner = origin.ensure_signed()?;
                upload_code(ext, owner, code)
            }
        }
    }
}

fn upload_code(ext: &mut Ext<'_>, owner: umbra_primitives::AccountId32, code: Vec<u8>) -> DispatchResult {
    umbra_vm::validate::validate(&code).map_err(Error::from)?;
    let hash = H256(umbra_crypto::hashing::blake2_256(&code));
    if ext.exists(&keys::code_info(&hash)) {
        return Err(Error::CodeExists.into());
    }
    let info = CodeInfo { owner, len: code.len() as u32, uploaded_at: ext.env.number };
    ext.put(keys::code(&hash), &code);
    ext.put(keys::code_info(&hash), &info);
    ext.deposit_event(Event::CodeUploaded { hash, owner });
    Ok(())
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

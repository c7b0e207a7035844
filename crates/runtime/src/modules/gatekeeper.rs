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

/// What gatekeepers and workers are told (payload of [`TOPIC`] messages).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Notice {
    /// A gatekeeper joined: current gatekeepers hand it the master key history.
    #[codec(index = 0)]
    Added {
        /// Its identity.
        identity: sr25519::Public,
        /// Its X25519 key.
        ecdh_public: [u8; 32],
    },
    /// A gatekeeper left (a rotation follows).
    #[codec(index = 1)]
    Removed {
        /// Its identity.
        identity: sr25519::Public,
    },
    /// Rotation to `epoch` started: propose a secret for these gatekeepers.
    #[codec(index = 2)]
    RotationStarted {
        /// The new epoch.
        epoch: u32,
        /// The gatekeepers (identity, X25519 key), in set order.
        gatekeepers: Vec<(sr25519::Public, [u8; 32])>,
    },
    /// An epoch's gatekeeper signing key is on chain.
    #[codec(index = 3)]
    MasterKeyPublished {
        /// The epoch.
        epoch: u32,
        /// Its gatekeeper signing public key.
        pubkey: sr25519::Public,
    },
    /// The master key history for a newcomer.
    #[codec(index = 4)]
    Handover(Handover),
    /// The accepted rotation proposal.
    #[codec(index = 5)]
    Rotation(RotationProposal),
    // Index 6 (cluster keys) moved to `contracts::Notice::ClusterKeys`; it
    // is never reused.
}

/// `^umbra/gatekeeper/genesis-key` payload.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct GenesisKey {
    /// Epoch 0's gatekeeper signing public key.
    pub pubkey: sr25519::Public,
}

/// `^umbra/gatekeeper/rotation` payload (from a gatekeeper's identity).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct RotationProposal {
    /// The epoch being created.
    pub epoch: u32,
    /// Its gatekeeper signing public key.
    pub pubkey: sr25519::Public,
    /// Who proposed it.
    pub proposer: sr25519::Public,
    /// The new secret for each gatekeeper (identity, envelope bytes), in
    /// set order.
    pub envelopes: Vec<(sr25519::Public, Vec<u8>)>,
}

/// `^umbra/gatekeeper/handover` payload (Gatekeeper origin).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Handover {
    /// The new gatekeeper.
    pub newcomer: sr25519::Public,
    /// The master key history, in an envelope to its X25519 key.
    pub envelope: Vec<u8>,
}

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Gatekeeper.Gatekeepers`: the set, in order.
    pub fn gatekeepers() -> Vec<u8> {
        value_key(NAME, "Gatekeepers")
    }
    /// `Gatekeeper.CurrentEpoch`.
    pub fn current_epoch() -> Vec<u8> {
        value_key(NAME, "CurrentEpoch")
    }
    /// `Gatekeeper.MasterPubkeys(epoch)`.
    pub fn master_pubkey(epoch: u32) -> Vec<u8> {
        map_key(NAME, "MasterPubkeys", StorageHasher::Twox64Concat, &epoch.encode())
    }
    /// `Gatekeeper.RotationLock`: the epoch being created.
    pub fn rotation_lock() -> Vec<u8> {
        value_key(NAME, "RotationLock")
    }
}

/// Calls (root only, governance later).
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Appoints a gatekeeper.
    #[codec(index = 0)]
    add_gatekeeper {
        /// Its identity (a registered gatekeeper-role worker).
        identity: sr25519::Public,
    },
    /// Removes a gatekeeper and starts a rotation.
    #[codec(index = 1)]
    remove_gatekeeper {
        /// Its identity.
        identity: sr25519::Public,
    },
    /// Starts a rotation to a fresh epoch.
    #[codec(index = 2)]
    start_rotation {},
}

/// Events.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// A gatekeeper joined.
    #[codec(index = 0)]
    GatekeeperAdded {
        /// Its identity.
        identity: sr25519::Public,
    },
    /// A gatekeeper left.
    #[codec(index = 1)]
    GatekeeperRemoved {
        /// Its identity.
        identity: sr25519::Public,
    },
    /// A rotation started.
    #[codec(index = 2)]
    RotationStarted {
        /// The epoch being created.
        epoch: u32,
    },
    /// An epoch's key is on chain (genesis or accepted rotation).
    #[codec(index = 3)]
    MasterKeyPublished {
        /// The epoch.
        epoch: u32,
        /// Its gatekeeper signing public key.
        pubkey: sr25519::Public,
    },
    // Index 4 (`ClusterKeyPublished`) moved to Contracts; never reused.
}

/// Errors. Indices are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Error {
    /// Not a registered worker.
    #[codec(index = 0)]
    NotRegistered,
    /// Registered for another role than gatekeeper.
    #[codec(index = 1)]
    NotGatekeeperRole,
    /// Its attestation is too old, its measurement no longer allowed, or its
    /// TCB fails the gatekeeper policy.
    #[codec(index = 2)]
    PolicyNotMet,
    /// Already a gatekeeper.
    #[codec(index = 3)]
    AlreadyGatekeeper,
    /// Not a gatekeeper.
    #[codec(index = 4)]
    NotGatekeeper,
    /// The last gatekeeper cannot be removed.
    #[codec(index = 5)]
    LastGatekeeper,
    /// The set is full.
    #[codec(index = 6)]
    TooManyGatekeepers,
    /// A rotation is already in progress.
    #[codec(index = 7)]
    RotationInProgress,
    /// No master key yet (epoch 0 not published).
    #[codec(index = 8)]
    NoMasterKey,
    /// Epoch 0's key is already published, or the sender is not the first
    /// gatekeeper.
    #[codec(index = 9)]
    GenesisKeyRefused,
    /// No rotation to this epoch is open (or another proposal won).
    #[codec(index = 10)]
    NoSuchRotation,
    /// A proposal whose envelopes do not match the gatekeeper set.
    #[codec(index = 11)]
    BadEnvelopes,
    /// Retired (cluster key deliveries moved to Contracts); the index is
    /// never reused.
    #[codec(index = 12)]
    BadDelivery,
    /// The payload does not decode or is too large.
    #[codec(index = 13)]
    BadPayload,
    /// The sender may not send this message.
    #[codec(index = 14)]
    BadSender,
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

/// Weight of a root call.
pub const ADMIN_WEIGHT: Weight = Weight::from_parts(100 * WEIGHT_REF_TIME_PER_MICROS, 0);

impl Call {
    /// Weight, class and fee flag.
    pub fn info(&self) -> DispatchInfo {
        DispatchInfo { weight: ADMIN_WEIGHT, ..Default::default() }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        origin.ensure_root()?;
        match self {
            Call::add_gatekeeper { identity } => add_gatekeeper(ext, identity),
            Call::remove_gatekeeper { identity } => remove_gatekeeper(ext, identity),
            Call::start_rotation {} => start_rotation(ext),
        }
    }
}

/// The gatekeeper set.
pub fn gatekeepers(ext: &Ext<'_>) -> Vec<sr25519::Public> {
    ext.get_or_default(&keys::gatekeepers())
}

/// The current epoch, once epoch 0's key is published.
pub fn current_epoch(ext: &Ext<'_>) -> Option<u32> {
    let epoch: u32 = ext.get_or_default(&keys::current_epoch());
    master_pubkey(ext, epoch).map(|_| epoch)
}

/// An epoch's gatekeeper signing key.
pub fn master_pubkey(ext: &Ext<'_>, epoch: u32) -> Option<sr25519::Public> {
    ext.get(&keys::master_pubkey(epoch))
}

/// The key the `Gatekeeper` channel is signed with now.
pub fn channel_key(ext: &Ext<'_>) -> Option<sr25519::Public> {
    current_epoch(ext).and_then(|e| master_pubkey(ext, e))
}

/// Whether a worker may hold gatekeeper secrets now: registered as a
/// gatekeeper, attestation current, measurement allowed, TCB policy met.
pub fn eligible(ext: &Ext<'_>, identity: &sr25519::Public) -> Result<registry::WorkerInfo, Error> {
    let worker = registry::worker(ext, identity).ok_or(Error::NotRegistered)?;
    if worker.role != WorkerRole::Gatekeeper {
        return Err(Error::NotGatekeeperRole);
    }
    if !registry::passes_policy(ext, &worker) {
        return Err(Error::PolicyNotMet);
    }
    Ok(worker)
}

fn notify(ext: &mut Ext<'_>, notice: Notice) -> DispatchResult {
    Ok(message_queue::notify(ext, NAME, TOPIC, notice.encode())?)
}

fn add_gatekeeper(ext: &mut Ext<'_>, identity: sr25519::Public) -> DispatchResult {
    let worker = eligible(ext, &identity)?;
    let mut set = gatekeepers(ext);
    if set.contains(&identity) {
        return Err(Error::AlreadyGatekeeper.into());
    }
    if set.len() >= MAX_GATEKEEPERS {
        return Err(Error::TooManyGatekeepers.into());
    }
    set.push(identity);
    ext.put(keys::gatekeepers(), &set);
    ext.deposit_event(Event::GatekeeperAdded { identity });
    notify(ext, Notice::Added { identity, ecdh_public: worker.ecdh_public })
}

fn gatekeeper_keys(ext: &Ext<'_>, set: &[sr25519::Public]) -> Vec<(sr25519::Public, [u8; 32])> {
    set.iter().filter_map(|g| registry::worker(ext, g).map(|w| (*g, w.ecdh_public))).collect()
}

fn remove_gatekeeper(ext: &mut Ext<'_>, identity: sr25519::Public) -> DispatchResult {
    let mut set = gatekeepers(ext);
    let Some(position) = set.iter().position(|g| *g == identity) else { return Err(Error::NotGatekeeper.into()) };
    if set.len() == 1 {
        return Err(Error::LastGatekeeper.into());
    }
    set.remove(position);
    ext.put(keys::gatekeepers(), &set);
    ext.deposit_event(Event::GatekeeperRemoved { identity });
    notify(ext, Notice::Removed { identity })?;
    // The removed gatekeeper must get nothing of later epochs.
    if current_epoch(ext).is_some() && !ext.exists(&keys::rotation_lock()) {
        start_rotation(ext)?;
    }
    Ok(())
}

fn start_rotation(ext: &mut Ext<'_>) -> DispatchResult {
    let epoch = current_epoch(ext).ok_or(Error::NoMasterKey)?;
    if ext.exists(&keys::rotation_lock()) {
        return Err(Error::RotationInProgress.into());
    }
    let next = epoch.saturating_add(1);
    ext.put(keys::rotation_lock(), &next);
    ext.deposit_event(Event::RotationStarted { epoch: next });
    let set = gatekeepers(ext);
    let gatekeepers = gatekeeper_keys(ext, &set);
    notify(ext, Notice::RotationStarted { epoch: next, gatekeepers })
}

fn decode<T: Decode>(payload: &[u8]) -> Result<T, Error> {
    umbra_primitives::decode_bounded(payload, message_queue::MAX_PAYLOAD_LEN).map_err(|_| Error::BadPayload)
}

fn publish(ext: &mut Ext<'_>, epoch: u32, pubkey: sr25519::Public) -> DispatchResult {
    ext.put(keys::master_pubkey(epoch), &pubkey);
    ext.put(keys::current_epoch(), &epoch);
    ext.deposit_event(Event::MasterKeyPublished { epoch, pubkey });
    notify(ext, Notice::MasterKeyPublished { epoch, pubkey })
}

/// `^umbra/gatekeeper/genesis-key` (origin `Worker`, checked by the
/// router): the first gatekeeper publishes epoch 0's key, once.
pub fn handle_genesis_key(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    let MessageOrigin::Worker(identity) = sender else { return Err(Error::BadSender.into()) };
    let GenesisKey { pubkey } = decode(payload)?;
    let first = gatekeepers(ext).first().copied();
    if first != Some(*identity) || master_pubkey(ext, 0).is_some() {
        return Err(Error::GenesisKeyRefused.into());
    }
    eligible(ext, identity)?;
    publish(ext, 0, pubkey)
}

/// `^umbra/gatekeeper/rotation` (origin `Worker`): a gatekeeper's proposal
/// for the locked epoch, with an envelope for exactly the current set; the
/// first valid one wins.
pub fn handle_rotation(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    let MessageOrigin::Worker(identity) = sender else { return Err(Error::BadSender.into()) };
    let proposal: RotationProposal = decode(payload)?;
    let set = gatekeepers(ext);
    if proposal.proposer != *identity || !set.contains(identity) {
        return Err(Error::BadSender.into());
    }
    if ext.get::<u32>(&keys::rotation_lock()) != Some(proposal.epoch) {
        return Err(Error::NoSuchRotation.into());
    }
    let recipients: Vec<sr25519::Public> = proposal.envelopes.iter().map(|(g, _)| *g).collect();
    if recipients != set || proposal.envelopes.iter().any(|(_, e)| e.len() > MAX_ENVELOPE_LEN) {
        return Err(Error::BadEnvelopes.into());
    }
    ext.kill(keys::rotation_lock());
    publish(ext, proposal.epoch, proposal.pubkey)?;
    notify(ext, Notice::Rotation(proposal))
}

/// `^umbra/gatekeeper/handover` (origin `Gatekeeper`): the master key
/// history sealed to a newcomer of the set.
pub fn handle_handover(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    if *sender != MessageOrigin::Gatekeeper {
        return Err(Error::BadSender.into());
    }
    let handover: Handover = decode(payload)?;
    if !gatekeepers(ext).contains(&handover.newcomer) || handover.envelope.len() > MAX_ENVELOPE_LEN {
        return Err(Error::NotGatekeeper.into());
    }
    notify(ext, Notice::Handover(handover))
}

/// Genesis configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenesisConfig {
    /// The first gatekeeper's identity, if the chain spec names one.
    pub first_gatekeeper: Option<sr25519::Public>,
}

pub(crate) fn build_genesis(ext: &mut Ext<'_>, config: &GenesisConfig) {
    if let Some(first) = config.first_gatekeeper {
        ext.put(keys::gatekeepers(), &alloc::vec![first]);
    }
}

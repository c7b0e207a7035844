//! MessageQueue (module 12): messages between the chain and workers.
//!
//! * **Chain → workers.** Modules [`push`] messages during a block; they are
//!   stored in [`keys::outbound`] for that block only (cleared when the next
//!   block starts), so every worker reads them, in order, from its replica
//!   of the state.
//! * **Workers → chain.** pRuntime signs `SCALE(message, sequence)` (after a
//!   domain context and the genesis hash) with the origin's key; anyone may
//!   submit it with `sync_offchain_message` and pay the fee. The chain checks
//!   the signature against the origin's registered key and requires
//!   `sequence == NextSequence[origin]`, increments it, then hands the
//!   message to its topic: topics starting with `^` are handled on chain
//!   only ([`HEARTBEAT_TOPIC`] today), other topics are re-broadcast to
//!   workers through `Outbound`. A handler that refuses a message does not
//!   undo the sequence (the message is consumed and an event says why), so
//!   one bad message never blocks an origin's queue.
//! * The pool tags these transactions by `(origin, sequence)`: out-of-order
//!   submissions wait for their predecessor and identical messages from
//!   several submitters are one transaction.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_crypto::sr25519;
use umbra_primitives::{AccountId32, BlockNumber, H256};
use umbra_trie::storage_key::{map_key, value_key, StorageHasher};

use crate::{
    error::{DispatchError, DispatchResult, InvalidTransaction, TransactionValidityError},
    modules::{contracts, gatekeeper, registry, system},
    state::Ext,
    weights::{DispatchInfo, Weight, WEIGHT_REF_TIME_PER_MICROS},
    Origin,
};

/// Module index.
pub const INDEX: u8 = 12;
/// Storage prefix and metadata name.
pub const NAME: &str = "MessageQueue";
/// Longest topic in bytes.
pub const MAX_TOPIC_LEN: usize = 128;
/// Largest payload in bytes.
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024;
/// Largest payload of a cluster commit (results and encrypted deltas of a
/// block's commands).
pub const MAX_COMMIT_PAYLOAD_LEN: usize = 1024 * 1024;
/// Most messages in one block's `Outbound`.
pub const MAX_OUTBOUND: usize = 1024;
/// Sequences further ahead than this are refused by the pool.
pub const MAX_FUTURE_SEQUENCES: u64 = 64;
/// Domain separation of egress signatures.
pub const SIGNING_CONTEXT: &[u8] = b"umbra/mq/egress/v1";
/// Prefix of topics handled on chain only.
pub const ONCHAIN_PREFIX: u8 = b'^';
/// Workers report liveness on this topic ([`Heartbeat`] payload).
pub const HEARTBEAT_TOPIC: &[u8] = b"^umbra/registry/heartbeat";
/// The Registry announces registrations to workers on this topic
/// ([`RegistryNotice`] payload).
pub const REGISTRY_TOPIC: &[u8] = b"umbra/registry/worker";

/// Who sent a message.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, TypeInfo)]
pub enum MessageOrigin {
    /// A runtime module, by name.
    #[codec(index = 0)]
    Module(Vec<u8>),
    /// An account (signed transaction).
    #[codec(index = 1)]
    Account(AccountId32),
    /// A registered worker, by identity key.
    #[codec(index = 2)]
    Worker(sr25519::Public),
    /// The gatekeepers (master signing key).
    #[codec(index = 3)]
    Gatekeeper,
    /// A cluster.
    #[codec(index = 4)]
    Cluster(H256),
    /// A contract.
    #[codec(index = 5)]
    Contract(H256),
}

/// A message.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Message {
    /// Who sent it.
    pub sender: MessageOrigin,
    /// Its topic.
    pub destination: Vec<u8>,
    /// Its content.
    pub payload: Vec<u8>,
}

impl Message {
    /// Whether topic and payload are within bounds.
    pub fn check_bounds(&self) -> Result<(), Error> {
        if self.destination.is_empty() || self.destination.len() > MAX_TOPIC_LEN {
            return Err(Error::InvalidTopic);
        }
        let max = if self.destination.as_slice() == contracts::COMMIT_TOPIC {
            MAX_COMMIT_PAYLOAD_LEN
        } else {
            MAX_PAYLOAD_LEN
        };
        if self.payload.len() > max {
            return Err(Error::MessageTooLarge);
        }
        Ok(())
    }
}

/// A message signed by its origin, with the origin's sequence number.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct SignedMessage {
    /// The message.
    pub message: Message,
    /// The origin's sequence number of this message.
    pub sequence: u64,
    /// sr25519 signature over [`signing_payload`].
    pub signature: [u8; 64],
}

/// The bytes an origin signs: context ‖ genesis hash ‖ SCALE(message, sequence).
pub fn signing_payload(genesis_hash: &H256, message: &Message, sequence: u64) -> Vec<u8> {
    let mut out = SIGNING_CONTEXT.to_vec();
    out.extend_from_slice(genesis_hash.as_bytes());
    (message, sequence).encode_to(&mut out);
    out
}

/// A worker's liveness report.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Heartbeat {
    /// The finalized block pRuntime had processed when it emitted this.
    pub synced_block: BlockNumber,
}

/// What the Registry tells workers.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum RegistryNotice {
    /// A worker registered or re-attested.
    #[codec(index = 0)]
    Registered {
        /// Its identity.
        identity: sr25519::Public,
        /// Its role.
        role: registry::WorkerRole,
    },
}

/// Storage keys.
pub mod keys {
    use super::*;
    /// `MessageQueue.Outbound`: this block's messages to workers.
    pub fn outbound() -> Vec<u8> {
        value_key(NAME, "Outbound")
    }
    /// `MessageQueue.NextSequence(origin)`.
    pub fn next_sequence(origin: &MessageOrigin) -> Vec<u8> {
        map_key(NAME, "NextSequence", StorageHasher::Blake2_128Concat, &origin.encode())
    }
}

/// Calls.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Delivers a message signed by a worker-side origin. Any signed
    /// account may submit it (normally a relayer) and pays the fee.
    #[codec(index = 0)]
    sync_offchain_message {
        /// The signed message.
        signed: SignedMessage,
    },
}

/// Events.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// An off-chain message was accepted and handled.
    #[codec(index = 0)]
    MessageAccepted {
        /// Its origin.
        origin: MessageOrigin,
        /// Its sequence.
        sequence: u64,
        /// Its topic.
        topic: Vec<u8>,
    },
    /// An off-chain message was accepted (its sequence is consumed) but its
    /// on-chain handler refused it.
    #[codec(index = 1)]
    MessageRejected {
        /// Its origin.
        origin: MessageOrigin,
        /// Its sequence.
        sequence: u64,
        /// The handler's error.
        error: DispatchError,
    },
}

/// Errors. Indices are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Error {
    /// The signature does not verify for the origin's key.
    #[codec(index = 0)]
    BadSignature,
    /// The sequence is not the origin's next one.
    #[codec(index = 1)]
    BadSequence,
    /// The origin is a worker that is not registered.
    #[codec(index = 2)]
    UnknownWorker,
    /// Messages from this kind of origin cannot be submitted (modules and
    /// accounts never sign; gatekeeper, cluster and contract keys come with
    /// their modules).
    #[codec(index = 3)]
    UnsupportedOrigin,
    /// The payload exceeds [`MAX_PAYLOAD_LEN`].
    #[codec(index = 4)]
    MessageTooLarge,
    /// The topic is empty or longer than [`MAX_TOPIC_LEN`].
    #[codec(index = 5)]
    InvalidTopic,
    /// No on-chain handler for this `^` topic.
    #[codec(index = 6)]
    UnknownTopic,
    /// The payload does not decode for its topic.
    #[codec(index = 7)]
    BadPayload,
    /// This block's outbound queue is full.
    #[codec(index = 8)]
    OutboundFull,
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

/// Weight of a delivery: a heartbeat applied in a block measured 150 µs
/// (`cargo bench -p umbra-runtime --bench runtime -- message_queue`,
/// transaction and message signatures, registry read, handler); ~2.7×
/// margin.
pub const SYNC_WEIGHT: Weight = Weight::from_parts(400 * WEIGHT_REF_TIME_PER_MICROS, 0);

impl Call {
    /// Weight, class and fee flag.
    /// Large payloads (cluster commits: results, refunds, deltas) add a
    /// per-byte part.
    pub fn info(&self) -> DispatchInfo {
        let Call::sync_offchain_message { signed } = self;
        let extra = Weight::from_parts((signed.message.payload.len() as u64 / 64) * WEIGHT_REF_TIME_PER_MICROS, 0);
        DispatchInfo { weight: SYNC_WEIGHT.saturating_add(extra), ..Default::default() }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        match self {
            Call::sync_offchain_message { signed } => {
                origin.ensure_signed()?;
                sync_offchain_message(ext, signed)
            }
        }
    }
}

/// The next sequence expected from `origin`.
pub fn next_sequence(ext: &Ext<'_>, origin: &MessageOrigin) -> u64 {
    ext.get_or_default(&keys::next_sequence(origin))
}

/// This block's outbound messages.
pub fn outbound(ext: &Ext<'_>) -> Vec<Message> {
    ext.get_or_default(&keys::outbound())
}

/// Queues `message` for workers in this block.
pub fn push(ext: &mut Ext<'_>, message: Message) -> Result<(), Error> {
    message.check_bounds()?;
    let mut queue = outbound(ext);
    if queue.len() >= MAX_OUTBOUND {
        return Err(Error::OutboundFull);
    }
    queue.push(message);
    ext.put(keys::outbound(), &queue);
    Ok(())
}

/// Clears the previous block's outbound messages (block initialization).
pub(crate) fn initialize(ext: &mut Ext<'_>) {
    if ext.exists(&keys::outbound()) {
        ext.kill(keys::outbound());
    }
}

/// Checks bounds, origin and signature (not the sequence): what both the
/// pool and dispatch require.
pub fn check_message(ext: &Ext<'_>, signed: &SignedMessage) -> Result<(), Error> {
    signed.message.check_bounds()?;
    let key = match &signed.message.sender {
        MessageOrigin::Worker(identity) => {
            if registry::worker(ext, identity).is_none() {
                return Err(Error::UnknownWorker);
            }
            *identity
        }
        MessageOrigin::Gatekeeper => gatekeeper::channel_key(ext).ok_or(Error::UnsupportedOrigin)?,
        // Cluster commits: signed by the cluster key the gatekeepers published.
        MessageOrigin::Cluster(id) => gatekeeper::cluster_pubkey(ext, id).ok_or(Error::UnsupportedOrigin)?.1,
        _ => return Err(Error::UnsupportedOrigin),
    };
    let genesis = system::block_hash(ext, 0).unwrap_or_default();
    let payload = signing_payload(&genesis, &signed.message, signed.sequence);
    if !sr25519::verify(&sr25519::Signature(signed.signature), &payload, &key) {
        return Err(Error::BadSignature);
    }
    Ok(())
}

fn sync_offchain_message(ext: &mut Ext<'_>, signed: SignedMessage) -> DispatchResult {
    check_message(ext, &signed)?;
    let origin = signed.message.sender.clone();
    if signed.sequence != next_sequence(ext, &origin) {
        return Err(Error::BadSequence.into());
    }
    ext.put(keys::next_sequence(&origin), &signed.sequence.saturating_add(1));
    let topic = signed.message.destination.clone();
    ext.start_transaction();
    let handled = handle(ext, signed.message);
    match handled {
        Ok(()) => {
            ext.commit_transaction();
            ext.deposit_event(Event::MessageAccepted { origin, sequence: signed.sequence, topic });
        }
        Err(error) => {
            ext.rollback_transaction();
            ext.deposit_event(Event::MessageRejected { origin, sequence: signed.sequence, error });
        }
    }
    Ok(())
}

fn handle(ext: &mut Ext<'_>, message: Message) -> DispatchResult {
    if message.destination.first() != Some(&ONCHAIN_PREFIX) {
        return Ok(push(ext, message)?);
    }
    if message.destination.starts_with(gatekeeper::TOPIC_PREFIX) {
        return gatekeeper::handle_message(ext, &message.sender, &message.destination, &message.payload);
    }
    if message.destination.starts_with(contracts::TOPIC_PREFIX) {
        return contracts::handle_message(ext, &message.sender, &message.destination, &message.payload);
    }
    if message.destination.as_slice() == HEARTBEAT_TOPIC {
        let MessageOrigin::Worker(identity) = message.sender else { return Err(Error::UnsupportedOrigin.into()) };
        let heartbeat = umbra_primitives::decode_bounded::<Heartbeat>(&message.payload, MAX_PAYLOAD_LEN)
            .map_err(|_| Error::BadPayload)?;
        return registry::record_heartbeat(ext, &identity, heartbeat.synced_block);
    }
    Err(Error::UnknownTopic.into())
}

/// Pool tags: (requires, provides).
pub type PoolTags = (Vec<Vec<u8>>, Vec<Vec<u8>>);

/// Pool tags of a `sync_offchain_message`: provides `(origin, sequence)`,
/// requires `(origin, sequence - 1)` when it is ahead of the chain.
/// Refuses stale, too-far-ahead, unsigned-by-origin and oversized messages.
pub fn validate(ext: &Ext<'_>, signed: &SignedMessage) -> Result<PoolTags, TransactionValidityError> {
    check_message(ext, signed).map_err(|_| InvalidTransaction::BadProof)?;
    let origin = &signed.message.sender;
    let next = next_sequence(ext, origin);
    if signed.sequence < next {
        return Err(InvalidTransaction::Stale.into());
    }
    if signed.sequence - next > MAX_FUTURE_SEQUENCES {
        return Err(InvalidTransaction::Future.into());
    }
    let tag = |sequence: u64| (b"umbra/mq", origin, sequence).encode();
    let requires = if signed.sequence > next { alloc::vec![tag(signed.sequence - 1)] } else { Vec::new() };
    Ok((requires, alloc::vec![tag(signed.sequence)]))
}

//! MessageQueue (module 12): the transport between the chain and workers.
//! It owns two storage items and knows nothing of the topics it carries:
//! which topic exists, which module owns it and which origins may post to it
//! is the runtime root's routing table ([`crate::routing`]).
//!
//! * **Chain → workers.** A module announces something with [`notify`] on
//!   its own notice topic; the message is stored in [`keys::outbound`] for
//!   that block only (cleared when the next block starts), with the module
//!   as its sender, so every worker reads it, in order, from its replica of
//!   the state, and can tell who sent it.
//! * **Workers → chain.** pRuntime signs `SCALE(message, sequence)` (after a
//!   domain context and the genesis hash) with the origin's key; anyone may
//!   submit it with `sync_offchain_message` and pay the fee. The router
//!   checks that the topic accepts this origin, [`accept`] checks bounds,
//!   the signature against the origin's registered key and that
//!   `sequence == NextSequence[origin]`, and only then is the sequence
//!   consumed and the message handed to the topic's handler. A handler that
//!   refuses a message does not undo the sequence (the message is consumed
//!   and an event says why), so one bad message never blocks an origin's
//!   queue; a message the router refuses changes nothing.
//! * The pool tags these transactions by `(origin, sequence)`: out-of-order
//!   submissions wait for their predecessor and identical messages from
//!   several submitters are one transaction.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_crypto::sr25519;
use umbra_primitives::{AccountId32, H256};
use umbra_trie::storage_key::{map_key, value_key, StorageHasher};

use crate::{
    error::DispatchError,
    modules::system,
    state::Ext,
    weights::{DispatchInfo, Weight, WEIGHT_REF_TIME_PER_MICROS},
};

/// Module index.
pub const INDEX: u8 = 12;
/// Storage prefix and metadata name.
pub const NAME: &str = "MessageQueue";
/// Longest topic in bytes.
pub const MAX_TOPIC_LEN: usize = 128;
/// Largest payload in bytes (topics may allow more: cluster commits).
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024;
/// Largest payload of a cluster commit (results and encrypted deltas of a
/// block's commands).
pub const MAX_COMMIT_PAYLOAD_LEN: usize = 1024 * 1024;
/// Most messages in one block's `Outbound`.
pub const MAX_OUTBOUND: usize = 1024;
/// Most payload bytes in one block's `Outbound` (one storage value: it must
/// stay well inside what a sync answer carries, `SYNC_BYTE_BUDGET`).
pub const MAX_OUTBOUND_BYTES: usize = 2 << 20;
/// Sequences further ahead than this are refused by the pool.
pub const MAX_FUTURE_SEQUENCES: u64 = 64;
/// Domain separation of egress signatures.
pub const SIGNING_CONTEXT: &[u8] = b"umbra/mq/egress/v1";

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

impl MessageOrigin {
    /// The origin of messages a module sends.
    pub fn module(name: &str) -> Self {
        MessageOrigin::Module(name.as_bytes().to_vec())
    }
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
    /// Whether the topic is within bounds and the payload within `max`.
    pub fn check_bounds(&self, max_payload: usize) -> Result<(), Error> {
        if self.destination.is_empty() || self.destination.len() > MAX_TOPIC_LEN {
            return Err(Error::InvalidTopic);
        }
        if self.payload.len() > max_payload {
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

/// Calls. Dispatched by the runtime root's router ([`crate::routing`]),
/// which knows the topics.
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
    /// accounts never sign), or its key is not on chain yet (gatekeeper
    /// channel before epoch 0, a cluster before its key is published).
    #[codec(index = 3)]
    UnsupportedOrigin,
    /// The payload exceeds its topic's bound.
    #[codec(index = 4)]
    MessageTooLarge,
    /// The topic is empty or longer than [`MAX_TOPIC_LEN`].
    #[codec(index = 5)]
    InvalidTopic,
    /// No route for this topic.
    #[codec(index = 6)]
    UnknownTopic,
    /// The payload does not decode for its topic.
    #[codec(index = 7)]
    BadPayload,
    /// This block's outbound queue is full.
    #[codec(index = 8)]
    OutboundFull,
    /// The topic is a module's notice topic: only that module posts to it,
    /// never an off-chain origin.
    #[codec(index = 9)]
    TopicOwnedByModule,
    /// The topic does not accept messages from this kind of origin.
    #[codec(index = 10)]
    OriginNotAllowed,
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
}

/// The next sequence expected from `origin`.
pub fn next_sequence(ext: &Ext<'_>, origin: &MessageOrigin) -> u64 {
    ext.get_or_default(&keys::next_sequence(origin))
}

/// This block's outbound messages.
pub fn outbound(ext: &Ext<'_>) -> Vec<Message> {
    ext.get_or_default(&keys::outbound())
}

/// Announces `payload` on `topic` to workers in this block, as `module`.
/// Only the module that owns `topic` calls this (the routing table names
/// the owner; pRuntime acts only on notices whose sender is it).
pub fn notify(ext: &mut Ext<'_>, module: &str, topic: &[u8], payload: Vec<u8>) -> Result<(), Error> {
    let message = Message { sender: MessageOrigin::module(module), destination: topic.to_vec(), payload };
    message.check_bounds(MAX_PAYLOAD_LEN)?;
    let mut queue = outbound(ext);
    let bytes: usize = queue.iter().map(|m| m.payload.len()).sum::<usize>().saturating_add(message.payload.len());
    if queue.len() >= MAX_OUTBOUND || bytes > MAX_OUTBOUND_BYTES {
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

/// Checks bounds (`max_payload` from the topic's route) and the signature
/// against `key`, the origin's key (not the sequence): what both the pool
/// and dispatch require.
pub fn check_signed(
    ext: &Ext<'_>,
    signed: &SignedMessage,
    key: &sr25519::Public,
    max_payload: usize,
) -> Result<(), Error> {
    signed.message.check_bounds(max_payload)?;
    let genesis = system::block_hash(ext, 0).unwrap_or_default();
    let payload = signing_payload(&genesis, &signed.message, signed.sequence);
    if !sr25519::verify(&sr25519::Signature(signed.signature), &payload, key) {
        return Err(Error::BadSignature);
    }
    Ok(())
}

/// Consumes the origin's sequence: refuses anything but its next one.
pub fn consume_sequence(ext: &mut Ext<'_>, origin: &MessageOrigin, sequence: u64) -> Result<(), Error> {
    if sequence != next_sequence(ext, origin) {
        return Err(Error::BadSequence);
    }
    ext.put(keys::next_sequence(origin), &sequence.saturating_add(1));
    Ok(())
}

/// Pool tags: (requires, provides).
pub type PoolTags = (Vec<Vec<u8>>, Vec<Vec<u8>>);

/// Pool tags of a checked message: provides `(origin, sequence)`, requires
/// `(origin, sequence - 1)` when it is ahead of the chain. `Err(Stale)` /
/// `Err(Future)` when it is behind or too far ahead.
pub fn sequence_tags(ext: &Ext<'_>, signed: &SignedMessage) -> Result<PoolTags, SequenceError> {
    let origin = &signed.message.sender;
    let next = next_sequence(ext, origin);
    if signed.sequence < next {
        return Err(SequenceError::Stale);
    }
    if signed.sequence - next > MAX_FUTURE_SEQUENCES {
        return Err(SequenceError::Future);
    }
    let tag = |sequence: u64| (b"umbra/mq", origin, sequence).encode();
    let requires = if signed.sequence > next { alloc::vec![tag(signed.sequence - 1)] } else { Vec::new() };
    Ok((requires, alloc::vec![tag(signed.sequence)]))
}

/// Why a sequence is not acceptable to the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceError {
    /// Already consumed.
    Stale,
    /// More than [`MAX_FUTURE_SEQUENCES`] ahead.
    Future,
}

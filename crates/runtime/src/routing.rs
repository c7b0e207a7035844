//! The message router: one table, at the runtime root, of every topic the
//! chain knows, the module that owns it, and who may post to it.
//!
//! Two kinds of topic:
//!
//! * **Notice topics** (`umbra/registry/worker`, `umbra/gatekeeper`,
//!   `umbra/contracts`): a module announces something to workers through
//!   `MessageQueue.Outbound`, with itself as the sender. No off-chain origin
//!   may post to them (`MessageQueue.TopicOwnedByModule`), and pRuntime acts
//!   on a notice only when its sender is the topic's owner
//!   ([`is_authentic_notice`]).
//! * **On-chain topics** (`^…`): workers, the gatekeeper channel or a
//!   cluster post signed messages that the owning module's handler applies.
//!   Each names the kinds of origin it accepts; any other is refused
//!   (`MessageQueue.OriginNotAllowed`).
//!
//! A message the router refuses changes nothing: it is refused by the pool
//! (`InvalidTransaction::Custom(error index)`, or `BadProof` for a bad
//! signature) and, should it reach a block, by dispatch before its sequence
//! is consumed. MessageQueue itself is a transport and imports no module;
//! modules import MessageQueue, never each other in a circle.

use umbra_crypto::sr25519;

use crate::{
    error::{DispatchResult, InvalidTransaction, TransactionValidityError},
    modules::{
        contracts, gatekeeper,
        message_queue::{self, Error, Message, MessageOrigin, PoolTags, SequenceError, SignedMessage},
        registry,
    },
    state::Ext,
    Origin,
};

/// Kinds of off-chain origin a topic may accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poster {
    /// A registered worker (its identity key signs).
    Worker,
    /// The gatekeeper channel (the current epoch's gatekeeper key signs).
    Gatekeeper,
    /// A cluster (its published cluster key signs).
    Cluster,
}

impl Poster {
    fn of(origin: &MessageOrigin) -> Option<Self> {
        match origin {
            MessageOrigin::Worker(_) => Some(Poster::Worker),
            MessageOrigin::Gatekeeper => Some(Poster::Gatekeeper),
            MessageOrigin::Cluster(_) => Some(Poster::Cluster),
            MessageOrigin::Module(_) | MessageOrigin::Account(_) | MessageOrigin::Contract(_) => None,
        }
    }
}

/// Applies a message whose origin, signature and sequence are checked.
pub type Handler = fn(&mut Ext<'_>, &MessageOrigin, &[u8]) -> DispatchResult;

/// What a topic is.
#[derive(Clone, Copy)]
pub enum RouteKind {
    /// The owner's announcements to workers; nobody else posts.
    Notice,
    /// Handled on chain by the owner.
    OnChain {
        /// Origins that may post.
        posters: &'static [Poster],
        /// Largest payload.
        max_payload: usize,
        /// The owner's handler.
        handler: Handler,
    },
}

/// One topic.
#[derive(Clone, Copy)]
pub struct Route {
    /// The topic.
    pub topic: &'static [u8],
    /// The owning module's name (its `MessageOrigin::Module` name).
    pub owner: &'static str,
    /// Notice or on-chain.
    pub kind: RouteKind,
}

/// Every topic. Adding one is the only way a module gets a topic.
pub const ROUTES: &[Route] = &[
    Route { topic: registry::TOPIC, owner: registry::NAME, kind: RouteKind::Notice },
    Route { topic: gatekeeper::TOPIC, owner: gatekeeper::NAME, kind: RouteKind::Notice },
    Route { topic: contracts::TOPIC, owner: contracts::NAME, kind: RouteKind::Notice },
    Route {
        topic: registry::HEARTBEAT_TOPIC,
        owner: registry::NAME,
        kind: RouteKind::OnChain {
            posters: &[Poster::Worker],
            max_payload: message_queue::MAX_PAYLOAD_LEN,
            handler: registry::handle_heartbeat,
        },
    },
    Route {
        topic: gatekeeper::GENESIS_KEY_TOPIC,
        owner: gatekeeper::NAME,
        kind: RouteKind::OnChain {
            posters: &[Poster::Worker],
            max_payload: message_queue::MAX_PAYLOAD_LEN,
            handler: gatekeeper::handle_genesis_key,
        },
    },
    Route {
        topic: gatekeeper::ROTATION_TOPIC,
        owner: gatekeeper::NAME,
        kind: RouteKind::OnChain {
            posters: &[Poster::Worker],
            max_payload: message_queue::MAX_PAYLOAD_LEN,
            handler: gatekeeper::handle_rotation,
        },
    },
    Route {
        topic: gatekeeper::HANDOVER_TOPIC,
        owner: gatekeeper::NAME,
        kind: RouteKind::OnChain {
            posters: &[Poster::Gatekeeper],
            max_payload: message_queue::MAX_PAYLOAD_LEN,
            handler: gatekeeper::handle_handover,
        },
    },
    Route {
        topic: contracts::CLUSTER_KEYS_TOPIC,
        owner: contracts::NAME,
        kind: RouteKind::OnChain {
            posters: &[Poster::Gatekeeper],
            max_payload: message_queue::MAX_PAYLOAD_LEN,
            handler: contracts::handle_cluster_keys,
        },
    },
    Route {
        topic: contracts::COMMIT_TOPIC,
        owner: contracts::NAME,
        kind: RouteKind::OnChain {
            posters: &[Poster::Cluster],
            max_payload: message_queue::MAX_COMMIT_PAYLOAD_LEN,
            handler: contracts::handle_commit,
        },
    },
    Route {
        topic: contracts::ACK_TOPIC,
        owner: contracts::NAME,
        kind: RouteKind::OnChain {
            posters: &[Poster::Worker],
            max_payload: message_queue::MAX_PAYLOAD_LEN,
            handler: contracts::handle_ack,
        },
    },
];

/// The route of `topic`.
pub fn route(topic: &[u8]) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.topic == topic)
}

/// The module that owns notice topic `topic`.
pub fn notice_owner(topic: &[u8]) -> Option<&'static str> {
    route(topic).filter(|r| matches!(r.kind, RouteKind::Notice)).map(|r| r.owner)
}

/// Whether `message` (read from `Outbound`) is a notice its topic's owner
/// sent. pRuntime acts on nothing else.
pub fn is_authentic_notice(message: &Message) -> bool {
    notice_owner(&message.destination).is_some_and(|owner| message.sender == MessageOrigin::module(owner))
}

/// The key `origin` signs with, as the chain knows it now.
fn origin_key(ext: &Ext<'_>, origin: &MessageOrigin) -> Result<sr25519::Public, Error> {
    match origin {
        MessageOrigin::Worker(identity) => {
            registry::worker(ext, identity).map(|_| *identity).ok_or(Error::UnknownWorker)
        }
        MessageOrigin::Gatekeeper => gatekeeper::channel_key(ext).ok_or(Error::UnsupportedOrigin),
        MessageOrigin::Cluster(id) => {
            contracts::cluster_pubkey(ext, id).map(|(_, k)| k).ok_or(Error::UnsupportedOrigin)
        }
        MessageOrigin::Module(_) | MessageOrigin::Account(_) | MessageOrigin::Contract(_) => {
            Err(Error::UnsupportedOrigin)
        }
    }
}

/// Everything but the sequence: the topic exists and is open to this kind
/// of origin, the payload is within the topic's bound, and the origin's
/// current key signed it. Returns the handler.
pub fn check(ext: &Ext<'_>, signed: &SignedMessage) -> Result<Handler, Error> {
    let message = &signed.message;
    if message.destination.is_empty() || message.destination.len() > message_queue::MAX_TOPIC_LEN {
        return Err(Error::InvalidTopic);
    }
    let poster = Poster::of(&message.sender).ok_or(Error::UnsupportedOrigin)?;
    let route = route(&message.destination).ok_or(Error::UnknownTopic)?;
    let RouteKind::OnChain { posters, max_payload, handler } = route.kind else {
        return Err(Error::TopicOwnedByModule);
    };
    if !posters.contains(&poster) {
        return Err(Error::OriginNotAllowed);
    }
    let key = origin_key(ext, &message.sender)?;
    message_queue::check_signed(ext, signed, &key, max_payload)?;
    Ok(handler)
}

/// `MessageQueue.sync_offchain_message`: checks, consumes the sequence,
/// then runs the topic's handler in its own transactional layer (a handler
/// refusal keeps the sequence consumed and says why in an event). Anything
/// [`check`] or the sequence refuses changes nothing.
pub(crate) fn dispatch(ext: &mut Ext<'_>, call: message_queue::Call, origin: Origin) -> DispatchResult {
    let message_queue::Call::sync_offchain_message { signed } = call;
    origin.ensure_signed()?;
    let handler = check(ext, &signed)?;
    let sender = signed.message.sender.clone();
    message_queue::consume_sequence(ext, &sender, signed.sequence)?;
    ext.start_transaction();
    match handler(ext, &sender, &signed.message.payload) {
        Ok(()) => {
            ext.commit_transaction();
            ext.deposit_event(message_queue::Event::MessageAccepted {
                origin: sender,
                sequence: signed.sequence,
                topic: signed.message.destination,
            });
        }
        Err(error) => {
            ext.rollback_transaction();
            ext.deposit_event(message_queue::Event::MessageRejected {
                origin: sender,
                sequence: signed.sequence,
                error,
            });
        }
    }
    Ok(())
}

/// Pool validity of a `sync_offchain_message`: the same checks as dispatch
/// (a bad signature is `BadProof`, every other refusal
/// `Custom(MessageQueue error index)`), then tags by `(origin, sequence)`.
pub fn validate(ext: &Ext<'_>, signed: &SignedMessage) -> Result<PoolTags, TransactionValidityError> {
    check(ext, signed).map_err(|e| match e {
        Error::BadSignature => InvalidTransaction::BadProof,
        other => InvalidTransaction::Custom(other as u8),
    })?;
    message_queue::sequence_tags(ext, signed).map_err(|e| {
        match e {
            SequenceError::Stale => InvalidTransaction::Stale,
            SequenceError::Future => InvalidTransaction::Future,
        }
        .into()
    })
}

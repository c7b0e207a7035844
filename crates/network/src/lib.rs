//! umbra's peer-to-peer network on libp2p: TCP with Noise and Yamux,
//! identify and ping, a status handshake ([`status`]) that keeps only peers
//! of the same chain, gossipsub for block announcements, transactions and
//! GRANDPA messages (every message validated by the node before it is
//! passed on), bounded request-response protocols for blocks and GRANDPA
//! catch-up, warp proofs and state ([`wire`]), peer reputation with bans
//! ([`reputation`]), reserved peers and connection limits, and Kademlia
//! discovery (`/0x<genesis>/kad`) of peers of the same chain.
//!
//! [`start`] listens, dials the bootnodes and reserved peers and runs the
//! swarm on the current tokio runtime until told to stop. It returns a
//! [`NetworkHandle`] (the local peer id, listen addresses, peers with their
//! best blocks, and commands: publish, validate, request, report) and a
//! stream of [`Event`]s the node acts on. The network knows no chain logic:
//! what a message means, and whether it is valid, the node decides.

mod error;
pub mod reputation;
pub mod status;
pub mod wire;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::{stream::FuturesUnordered, StreamExt};
use libp2p::{
    core::ConnectedPoint,
    gossipsub, identify, identity, kad, noise, ping,
    request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel},
    swarm::{behaviour::toggle::Toggle, dial_opts::DialOpts, NetworkBehaviour, SwarmEvent},
    tcp, yamux, Swarm, SwarmBuilder,
};
use tokio::sync::{mpsc, oneshot, watch};
use umbra_primitives::{BlockNumber, H256};

pub use error::Error;
pub use gossipsub::MessageId;
pub use libp2p::{multiaddr::Protocol, Multiaddr, PeerId};
pub use reputation::Misbehaviour;
pub use status::Status;
pub use wire::RequestKind;

/// How long a connection with no open stream stays up: peers of one chain
/// keep their connections (gossip keeps them busy anyway).
const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// How long [`start`] waits for its listeners to report their addresses.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often bootnodes and reserved peers that are not connected are dialled again.
const REDIAL_PERIOD: Duration = Duration::from_secs(3);
/// Addresses of one peer taken from identify or discovery.
const MAX_ADDRESSES_PER_PEER: usize = 8;
/// How often Kademlia looks for more peers of the chain.
const DISCOVERY_PERIOD: Duration = Duration::from_secs(30);
/// How long an outbound request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Inbound requests per second per peer and protocol (bursts of twice that).
const REQUESTS_PER_SECOND: u32 = 50;
/// Largest gossip message (a transaction, an announcement, a GRANDPA message).
pub const MAX_GOSSIP_LEN: usize = 8 << 20;
/// Events buffered for the node before new gossip is ignored.
const EVENT_BUFFER: usize = 4096;

/// A gossip topic of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// Announcements of new best blocks (a SCALE header).
    Blocks,
    /// Transactions (a SCALE extrinsic).
    Transactions,
    /// GRANDPA votes and commits.
    Grandpa,
}

impl Topic {
    /// Every topic, in a fixed order.
    pub const ALL: [Topic; 3] = [Topic::Blocks, Topic::Transactions, Topic::Grandpa];

    fn name(self, genesis: &H256) -> gossipsub::IdentTopic {
        let suffix = match self {
            Topic::Blocks => "umbra/block-announces/1",
            Topic::Transactions => "umbra/transactions/1",
            Topic::Grandpa => "umbra/grandpa/1",
        };
        gossipsub::IdentTopic::new(format!("/0x{}/{suffix}", status::hex_of(genesis.as_bytes())))
    }
}

/// What the node decided about a gossip message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: deliver and pass on.
    Accept,
    /// Not passed on, no penalty (already known, not yet checkable, stale).
    Ignore,
    /// Invalid: not passed on, and the sender is penalised.
    Reject,
}

/// How the network starts.
pub struct Config {
    /// The node key's ed25519 secret seed (libp2p zeroizes its copy).
    pub secret: [u8; 32],
    /// Addresses to listen on (`/ip4/127.0.0.1/tcp/30333`; port 0 picks one).
    pub listen: Vec<Multiaddr>,
    /// Addresses this node is reachable at, told to peers (`--public-addr`).
    pub public: Vec<Multiaddr>,
    /// Peers to dial at start and whenever they are not connected
    /// (`/ip4/…/tcp/…/p2p/<peer id>`).
    pub bootnodes: Vec<Multiaddr>,
    /// Peers always kept connected, whatever the limits.
    pub reserved: Vec<Multiaddr>,
    /// Accept and keep only reserved peers.
    pub reserved_only: bool,
    /// Most inbound connections from non-reserved peers.
    pub in_peers: u32,
    /// Most outbound connections to non-reserved peers.
    pub out_peers: u32,
    /// The chain: only peers with this genesis are kept.
    pub genesis: H256,
}

impl Config {
    /// A configuration with Substrate's default limits (25 in, 8 out) and
    /// no bootnodes or reserved peers.
    pub fn new(secret: [u8; 32], genesis: H256, listen: Vec<Multiaddr>) -> Self {
        Config {
            secret,
            listen,
            public: Vec::new(),
            bootnodes: Vec::new(),
            reserved: Vec::new(),
            reserved_only: false,
            in_peers: 25,
            out_peers: 8,
            genesis,
        }
    }
}

/// A peer of this chain, as its last status or announcement described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its id.
    pub id: PeerId,
    /// Its best block number.
    pub best_number: BlockNumber,
    /// Its best block hash.
    pub best_hash: H256,
    /// Whether it dialled us.
    pub inbound: bool,
    /// Whether it says it authors and votes.
    pub authority: bool,
}

/// What the network tells the node.
#[derive(Debug)]
pub enum Event {
    /// A peer of this chain completed the handshake.
    Connected {
        /// The peer.
        peer: PeerId,
        /// Its status.
        status: Status,
    },
    /// A peer of this chain disconnected.
    Disconnected {
        /// The peer.
        peer: PeerId,
    },
    /// A gossip message, to be answered with [`NetworkHandle::validated`].
    Gossip {
        /// Its topic.
        topic: Topic,
        /// The peer that passed it to us.
        source: PeerId,
        /// Its id, for the verdict.
        id: MessageId,
        /// Its bytes (at most [`MAX_GOSSIP_LEN`]).
        data: Vec<u8>,
    },
    /// A request from a peer (within its rate and size bound); the answer
    /// goes to `reply` (dropping it refuses the request).
    Request {
        /// The peer.
        peer: PeerId,
        /// The protocol.
        kind: RequestKind,
        /// The request's bytes.
        data: Vec<u8>,
        /// Where the response goes.
        reply: oneshot::Sender<Vec<u8>>,
    },
}

/// Why an outbound request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The peer is not connected.
    #[error("peer not connected")]
    NotConnected,
    /// The request could not be sent or answered (timeout, refused, closed).
    #[error("request failed: {0}")]
    Failed(String),
    /// The network stopped.
    #[error("network stopped")]
    Stopped,
}

enum Command {
    Publish { topic: Topic, data: Vec<u8> },
    Validated { id: MessageId, source: PeerId, verdict: Verdict },
    Request { peer: PeerId, kind: RequestKind, data: Vec<u8>, reply: oneshot::Sender<Result<Vec<u8>, RequestError>> },
    Report { peer: PeerId, what: Misbehaviour },
    AddReserved { address: Multiaddr },
    RemoveReserved { peer: PeerId },
}

#[derive(Default)]
struct Shared {
    peers: BTreeMap<PeerId, Peer>,
    refused: BTreeMap<PeerId, String>,
    listening: Vec<Multiaddr>,
    banned: Vec<PeerId>,
    reserved: BTreeSet<PeerId>,
    gossip_in: u64,
    gossip_out: u64,
}

/// What the rest of the node sees of, and asks of, the network.
#[derive(Clone)]
pub struct NetworkHandle {
    local: PeerId,
    shared: Arc<Mutex<Shared>>,
    commands: mpsc::UnboundedSender<Command>,
}

impl NetworkHandle {
    fn with<T>(&self, f: impl FnOnce(&mut Shared) -> T) -> T {
        let mut shared = self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut shared)
    }

    fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// This node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local
    }

    /// The addresses listened on.
    pub fn listen_addresses(&self) -> Vec<Multiaddr> {
        self.with(|s| s.listening.clone())
    }

    /// Connected peers of this chain, by id.
    pub fn peers(&self) -> Vec<Peer> {
        self.with(|s| s.peers.values().cloned().collect())
    }

    /// Peers disconnected for not being of this chain, and why.
    pub fn refused(&self) -> Vec<(PeerId, String)> {
        self.with(|s| s.refused.iter().map(|(p, r)| (*p, r.clone())).collect())
    }

    /// Peers banned now for misbehaviour.
    pub fn banned(&self) -> Vec<PeerId> {
        self.with(|s| s.banned.clone())
    }

    /// Reserved peers.
    pub fn reserved(&self) -> Vec<PeerId> {
        self.with(|s| s.reserved.iter().copied().collect())
    }

    /// Gossip messages received and published so far.
    pub fn gossip_counts(&self) -> (u64, u64) {
        self.with(|s| (s.gossip_in, s.gossip_out))
    }

    /// Notes a peer's new best block (from an announcement it passed on).
    pub fn note_best(&self, peer: PeerId, number: BlockNumber, hash: H256) {
        self.with(|s| {
            if let Some(p) = s.peers.get_mut(&peer) {
                if number >= p.best_number {
                    p.best_number = number;
                    p.best_hash = hash;
                }
            }
        });
    }

    /// Publishes `data` on `topic` to the peers subscribed to it.
    pub fn publish(&self, topic: Topic, data: Vec<u8>) {
        self.send(Command::Publish { topic, data });
    }

    /// The node's verdict on a gossip message: only accepted ones are passed on.
    pub fn validated(&self, id: MessageId, source: PeerId, verdict: Verdict) {
        self.send(Command::Validated { id, source, verdict });
    }

    /// Sends a request to `peer` and waits for its answer.
    pub async fn request(&self, peer: PeerId, kind: RequestKind, data: Vec<u8>) -> Result<Vec<u8>, RequestError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Request { peer, kind, data, reply });
        answer.await.unwrap_or(Err(RequestError::Stopped))
    }

    /// Lowers `peer`'s reputation for `what` (a ban disconnects it).
    pub fn report(&self, peer: PeerId, what: Misbehaviour) {
        self.send(Command::Report { peer, what });
    }

    /// Adds a reserved peer (`/…/p2p/<peer id>`) and dials it.
    pub fn add_reserved(&self, address: Multiaddr) -> Result<PeerId, Error> {
        let peer = peer_of(&address)?;
        self.send(Command::AddReserved { address });
        Ok(peer)
    }

    /// Removes a reserved peer.
    pub fn remove_reserved(&self, peer: PeerId) {
        self.send(Command::RemoveReserved { peer });
    }
}

/// The peer id a `/…/p2p/<peer id>` address ends with.
pub fn peer_of(address: &Multiaddr) -> Result<PeerId, Error> {
    match address.iter().last() {
        Some(Protocol::P2p(peer)) => Ok(peer),
        _ => Err(Error::Address { address: address.to_string(), reason: "it must end with /p2p/<peer id>".into() }),
    }
}

/// The network shell's one clock read (reputation, bans, request budgets).
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// What identify says this node speaks: `/umbra/1/0x<genesis>`. A peer
/// whose identify names another genesis is refused as soon as it is heard.
fn identify_version(genesis: &H256) -> String {
    format!("/umbra/1/0x{}", status::hex_of(genesis.as_bytes()))
}

/// The peer id of the node key `secret`.
pub fn peer_id_of(secret: [u8; 32]) -> Result<PeerId, Error> {
    Ok(keypair(secret)?.public().to_peer_id())
}

fn keypair(mut secret: [u8; 32]) -> Result<identity::Keypair, Error> {
    identity::Keypair::ed25519_from_bytes(&mut secret).map_err(|e| Error::Key(e.to_string()))
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    /// Discovery; off on a reserved-only node.
    kad: Toggle<kad::Behaviour<kad::store::MemoryStore>>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    status: request_response::Behaviour<status::Codec>,
    gossip: gossipsub::Behaviour,
    blocks: request_response::Behaviour<wire::BytesCodec>,
    catch_up: request_response::Behaviour<wire::BytesCodec>,
    warp: request_response::Behaviour<wire::BytesCodec>,
    state: request_response::Behaviour<wire::BytesCodec>,
}

/// Our status, asked for at each handshake.
pub type StatusSource = Arc<dyn Fn() -> Status + Send + Sync>;

fn protocol_of(genesis: &H256, kind: RequestKind) -> Result<libp2p::StreamProtocol, Error> {
    let name = format!("/0x{}/{}", status::hex_of(genesis.as_bytes()), kind.suffix());
    libp2p::StreamProtocol::try_from_owned(name).map_err(|e| Error::Transport(e.to_string()))
}

fn requests(genesis: &H256, kind: RequestKind) -> Result<request_response::Behaviour<wire::BytesCodec>, Error> {
    Ok(request_response::Behaviour::with_codec(
        wire::BytesCodec::new(kind),
        [(protocol_of(genesis, kind)?, ProtocolSupport::Full)],
        request_response::Config::default().with_request_timeout(REQUEST_TIMEOUT),
    ))
}

/// Kademlia on `/0x<genesis>/kad`, so nodes of different chains keep
/// separate tables. Only peers that passed the handshake and named our
/// genesis in identify are put in the table (by us, not on connection), and
/// the node answers queries without a confirmed external address.
fn kademlia(local: PeerId, genesis: &H256) -> Result<kad::Behaviour<kad::store::MemoryStore>, Error> {
    let protocol = libp2p::StreamProtocol::try_from_owned(format!("/0x{}/kad", status::hex_of(genesis.as_bytes())))
        .map_err(|e| Error::Transport(e.to_string()))?;
    let mut config = kad::Config::new(protocol);
    config
        .set_kbucket_inserts(kad::BucketInserts::Manual)
        .set_record_filtering(kad::StoreInserts::FilterBoth)
        .set_periodic_bootstrap_interval(Some(DISCOVERY_PERIOD))
        .set_query_timeout(Duration::from_secs(20));
    let mut behaviour = kad::Behaviour::with_config(local, kad::store::MemoryStore::new(local), config);
    behaviour.set_mode(Some(kad::Mode::Server));
    Ok(behaviour)
}

fn gossip_config() -> Result<gossipsub::Config, Error> {
    gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .max_transmit_size(MAX_GOSSIP_LEN + 4096)
        .heartbeat_interval(Duration::from_millis(500))
        // Small networks: a mesh of whoever is there.
        .mesh_n_low(1)
        .mesh_outbound_min(0)
        // A message's id is its publisher, its sequence number and its
        // bytes: the same message from two peers is one, and a node may
        // publish the same bytes again (a GRANDPA vote repeated for a peer
        // that missed it, a block it imported announced by it too).
        .message_id_fn(|message: &gossipsub::Message| {
            let mut bytes = message.source.map(|p| p.to_bytes()).unwrap_or_default();
            bytes.extend_from_slice(&message.sequence_number.unwrap_or(0).to_le_bytes());
            bytes.extend_from_slice(message.topic.as_str().as_bytes());
            bytes.extend_from_slice(&message.data);
            MessageId::from(umbra_primitives::blake2_256(&bytes).0.to_vec())
        })
        .build()
        .map_err(|e| Error::Transport(e.to_string()))
}

/// Starts the network: listens on `config.listen` (returning once each
/// listener has reported its address), dials the bootnodes and reserved
/// peers, and runs the swarm until `shutdown` turns true. `status` gives
/// this node's status whenever a peer is greeted.
pub async fn start(
    config: Config,
    status: StatusSource,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(NetworkHandle, mpsc::Receiver<Event>, tokio::task::JoinHandle<()>), Error> {
    let key = keypair(config.secret)?;
    let local = key.public().to_peer_id();
    let genesis = config.genesis;
    let gossip_key = key.clone();
    let kad = if config.reserved_only { None } else { Some(kademlia(local, &genesis)?) };
    let behaviour = Behaviour {
        kad: Toggle::from(kad),
        identify: identify::Behaviour::new(identify::Config::new(identify_version(&genesis), key.public())),
        ping: ping::Behaviour::new(ping::Config::new()),
        status: request_response::Behaviour::new(
            [(status::protocol(&genesis), ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
        ),
        gossip: gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(gossip_key), gossip_config()?)
            .map_err(|e| Error::Transport(e.to_string()))?,
        blocks: requests(&genesis, RequestKind::Blocks)?,
        catch_up: requests(&genesis, RequestKind::CatchUp)?,
        warp: requests(&genesis, RequestKind::Warp)?,
        state: requests(&genesis, RequestKind::State)?,
    };
    let mut swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| Error::Transport(e.to_string()))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| Error::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    for topic in Topic::ALL {
        swarm.behaviour_mut().gossip.subscribe(&topic.name(&genesis)).map_err(|e| Error::Transport(e.to_string()))?;
    }
    for address in &config.listen {
        swarm
            .listen_on(address.clone())
            .map_err(|e| Error::Listen { address: address.to_string(), reason: e.to_string() })?;
    }
    for address in &config.public {
        swarm.add_external_address(address.clone());
    }
    let mut reserved = BTreeMap::new();
    for address in &config.reserved {
        reserved.insert(peer_of(address)?, address.clone());
    }
    let mut bootnodes = Vec::new();
    for address in &config.bootnodes {
        bootnodes.push((peer_of(address)?, address.clone()));
    }
    let shared = Arc::new(Mutex::new(Shared::default()));
    let (events, events_rx) = mpsc::channel(EVENT_BUFFER);
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let topics = Topic::ALL.into_iter().map(|t| (t.name(&genesis).hash(), t)).collect();
    let mut network = Network {
        swarm,
        shared: shared.clone(),
        genesis,
        status,
        events,
        topics,
        bootnodes,
        reserved,
        reserved_only: config.reserved_only,
        in_peers: config.in_peers,
        out_peers: config.out_peers,
        connected: BTreeMap::new(),
        reputation: reputation::Reputation::default(),
        budgets: BTreeMap::new(),
        pending: BTreeMap::new(),
        responses: FuturesUnordered::new(),
    };
    network.update(|s| s.reserved = network.reserved.keys().copied().collect());
    // The listeners' addresses first: a caller may hand them out at once.
    let wanted = config.listen.len();
    let listening = tokio::time::timeout(LISTEN_TIMEOUT, async {
        while network.listening() < wanted {
            let Some(event) = network.swarm.next().await else { break };
            network.on(event);
        }
    })
    .await;
    if listening.is_err() {
        return Err(Error::Listen { address: format!("{:?}", config.listen), reason: "no address reported".into() });
    }
    network.redial();
    tracing::info!(target: "umbra::network", peer_id = %local, "local node identity");
    let mut commands_rx = commands_rx;
    let task = tokio::spawn(async move {
        let mut redial = tokio::time::interval(REDIAL_PERIOD);
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                event = network.swarm.select_next_some() => network.on(event),
                Some(command) = commands_rx.recv() => network.command(command),
                Some((kind, channel, answer)) = network.responses.next(), if !network.responses.is_empty() => {
                    network.respond(kind, channel, answer);
                }
                _ = redial.tick() => network.redial(),
            }
        }
    });
    Ok((NetworkHandle { local, shared, commands }, events_rx, task))
}

type PendingResponse = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = (RequestKind, ResponseChannel<Vec<u8>>, Result<Vec<u8>, oneshot::error::RecvError>),
            > + Send,
    >,
>;

struct Network {
    swarm: Swarm<Behaviour>,
    shared: Arc<Mutex<Shared>>,
    genesis: H256,
    status: StatusSource,
    events: mpsc::Sender<Event>,
    topics: BTreeMap<gossipsub::TopicHash, Topic>,
    bootnodes: Vec<(PeerId, Multiaddr)>,
    reserved: BTreeMap<PeerId, Multiaddr>,
    reserved_only: bool,
    in_peers: u32,
    out_peers: u32,
    /// Connected peers (any chain, before the handshake too) and whether they dialled us.
    connected: BTreeMap<PeerId, bool>,
    reputation: reputation::Reputation,
    budgets: BTreeMap<RequestKind, reputation::RequestBudget>,
    pending: BTreeMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, RequestError>>>,
    responses: FuturesUnordered<PendingResponse>,
}

impl Network {
    fn update<T>(&self, f: impl FnOnce(&mut Shared) -> T) -> T {
        let mut shared = self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut shared)
    }

    fn listening(&self) -> usize {
        self.update(|s| s.listening.len())
    }

    fn emit(&self, event: Event) -> bool {
        self.events.try_send(event).is_ok()
    }

    /// Dials bootnodes and reserved peers that are not connected (nor banned).
    fn redial(&mut self) {
        let now = now();
        let wanted: Vec<(PeerId, Multiaddr)> =
            self.bootnodes.iter().cloned().chain(self.reserved.iter().map(|(p, a)| (*p, a.clone()))).collect();
        for (peer, address) in wanted {
            if peer == *self.swarm.local_peer_id()
                || self.connected.contains_key(&peer)
                || self.reputation.is_banned(&peer, now)
                || self.update(|s| s.refused.contains_key(&peer))
            {
                continue;
            }
            if self.reserved_only && !self.reserved.contains_key(&peer) {
                continue;
            }
            if let Err(e) = self.swarm.dial(address.clone()) {
                tracing::debug!(target: "umbra::network", %address, error = %e, "cannot dial");
            }
        }
        self.reputation.prune(now);
        let banned: Vec<PeerId> = self.reputation.banned().into_iter().map(|(p, _)| p).collect();
        self.update(|s| s.banned = banned);
    }

    /// A peer that is not of this chain: dropped and remembered as such.
    fn refuse(&mut self, peer: PeerId, reason: String) {
        tracing::info!(target: "umbra::network", %peer, %reason, "peer refused");
        if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
            kad.remove_peer(&peer);
        }
        let was_peer = self.update(|s| {
            s.refused.insert(peer, reason);
            s.peers.remove(&peer).is_some()
        });
        if was_peer {
            self.emit(Event::Disconnected { peer });
        }
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    /// A status from `peer`: kept if it is of this chain (and its
    /// connection was admitted: a refused one may still deliver a request
    /// before it closes).
    fn greeted(&mut self, peer: PeerId, status: Status) -> bool {
        if !self.connected.contains_key(&peer) {
            return false;
        }
        if status.genesis != self.genesis {
            self.refuse(peer, format!("another chain (genesis {:?})", status.genesis));
            return false;
        }
        let inbound = self.connected.get(&peer).copied().unwrap_or(false);
        let entry = Peer {
            id: peer,
            best_number: status.best_number,
            best_hash: status.best_hash,
            inbound,
            authority: status.authority,
        };
        let new = self.update(|s| {
            s.refused.remove(&peer);
            s.peers.insert(peer, entry).is_none()
        });
        if new {
            tracing::debug!(target: "umbra::network", %peer, best = status.best_number, "peer connected");
            self.emit(Event::Connected { peer, status });
        }
        true
    }

    /// Whether a new connection may stay: not banned, within the limits
    /// (reserved peers always may), reserved-only respected.
    fn admit(&mut self, peer: PeerId, inbound: bool) -> bool {
        if self.reputation.is_banned(&peer, now()) {
            return false;
        }
        let reserved = self.reserved.contains_key(&peer);
        if reserved {
            return true;
        }
        if self.reserved_only {
            return false;
        }
        let count = self.connected.iter().filter(|(p, i)| **i == inbound && !self.reserved.contains_key(p)).count();
        let limit = if inbound { self.in_peers } else { self.out_peers.max(self.bootnodes.len() as u32) };
        count < limit as usize
    }

    fn on(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(target: "umbra::network", %address, "listening");
                self.update(|s| s.listening.push(address));
            }
            // Any connection of a peer not admitted yet: a second,
            // simultaneous connection must not outlive the refusal of the
            // first and leave the peer connected but never greeted (its
            // redial would then be skipped while the stray connection lives).
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } if !self.connected.contains_key(&peer_id) => {
                let inbound = matches!(endpoint, ConnectedPoint::Listener { .. });
                if !self.admit(peer_id, inbound) {
                    tracing::debug!(target: "umbra::network", peer = %peer_id, inbound, "connection refused (banned, full or not reserved)");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                self.connected.insert(peer_id, inbound);
                let ours = (self.status)();
                self.swarm.behaviour_mut().status.send_request(&peer_id, ours);
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                self.connected.remove(&peer_id);
                for budget in self.budgets.values_mut() {
                    budget.forget(&peer_id);
                }
                if self.update(|s| s.peers.remove(&peer_id).is_some()) {
                    tracing::debug!(target: "umbra::network", peer = %peer_id, "peer disconnected");
                    self.emit(Event::Disconnected { peer: peer_id });
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Status(event)) => self.on_status(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                if info.protocol_version != identify_version(&self.genesis) {
                    self.refuse(peer_id, format!("another chain ({})", info.protocol_version));
                } else if self.connected.contains_key(&peer_id) {
                    // A peer of our chain: its listen addresses go into the
                    // table others discover it from.
                    if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
                        for address in info.listen_addrs.into_iter().take(MAX_ADDRESSES_PER_PEER) {
                            kad.add_address(&peer_id, address);
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => self.on_kad(event),
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(event)) => self.on_gossip(event),
            SwarmEvent::Behaviour(BehaviourEvent::Blocks(event)) => self.on_request(RequestKind::Blocks, event),
            SwarmEvent::Behaviour(BehaviourEvent::CatchUp(event)) => self.on_request(RequestKind::CatchUp, event),
            SwarmEvent::Behaviour(BehaviourEvent::Warp(event)) => self.on_request(RequestKind::Warp, event),
            SwarmEvent::Behaviour(BehaviourEvent::State(event)) => self.on_request(RequestKind::State, event),
            _ => {}
        }
    }

    /// A peer Kademlia found (in a query answer): dialled if we have room
    /// for another outbound peer and nothing against it.
    fn on_kad(&mut self, event: kad::Event) {
        let (peer, addresses) = match event {
            kad::Event::RoutablePeer { peer, address } => (peer, vec![address]),
            kad::Event::OutboundQueryProgressed {
                result: kad::QueryResult::GetClosestPeers(Ok(kad::GetClosestPeersOk { peers, .. })),
                ..
            } => {
                for info in peers {
                    self.discovered(info.peer_id, info.addrs);
                }
                return;
            }
            _ => return,
        };
        self.discovered(peer, addresses);
    }

    fn discovered(&mut self, peer: PeerId, addresses: Vec<Multiaddr>) {
        if self.reserved_only
            || addresses.is_empty()
            || peer == *self.swarm.local_peer_id()
            || self.connected.contains_key(&peer)
            || self.reputation.is_banned(&peer, now())
            || self.update(|s| s.refused.contains_key(&peer))
        {
            return;
        }
        let outbound =
            self.connected.iter().filter(|(p, inbound)| !**inbound && !self.reserved.contains_key(p)).count();
        if outbound >= self.out_peers as usize {
            return;
        }
        tracing::debug!(target: "umbra::network", %peer, "dialling a discovered peer");
        let addresses = addresses.into_iter().take(MAX_ADDRESSES_PER_PEER).collect();
        if let Err(e) = self.swarm.dial(DialOpts::peer_id(peer).addresses(addresses).build()) {
            tracing::debug!(target: "umbra::network", %peer, error = %e, "cannot dial a discovered peer");
        }
    }

    fn is_peer(&self, peer: &PeerId) -> bool {
        self.update(|s| s.peers.contains_key(peer))
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message { propagation_source, message_id, message } = event else { return };
        let topic = self.topics.get(&message.topic).copied();
        let verdict_now = match topic {
            // Gossip only from peers past the handshake, on our topics.
            Some(topic) if self.is_peer(&propagation_source) => {
                self.update(|s| s.gossip_in += 1);
                let event =
                    Event::Gossip { topic, source: propagation_source, id: message_id.clone(), data: message.data };
                if self.emit(event) {
                    return;
                }
                gossipsub::MessageAcceptance::Ignore
            }
            Some(_) => gossipsub::MessageAcceptance::Ignore,
            None => gossipsub::MessageAcceptance::Reject,
        };
        self.swarm.behaviour_mut().gossip.report_message_validation_result(
            &message_id,
            &propagation_source,
            verdict_now,
        );
    }

    fn behaviour_of(&mut self, kind: RequestKind) -> &mut request_response::Behaviour<wire::BytesCodec> {
        match kind {
            RequestKind::Blocks => &mut self.swarm.behaviour_mut().blocks,
            RequestKind::CatchUp => &mut self.swarm.behaviour_mut().catch_up,
            RequestKind::Warp => &mut self.swarm.behaviour_mut().warp,
            RequestKind::State => &mut self.swarm.behaviour_mut().state,
        }
    }

    fn on_request(&mut self, kind: RequestKind, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => {
                    let now = now();
                    let allowed = self
                        .budgets
                        .entry(kind)
                        .or_insert_with(|| reputation::RequestBudget::new(REQUESTS_PER_SECOND))
                        .take(peer, now);
                    if !allowed {
                        self.report(peer, Misbehaviour::RequestFlood);
                        return;
                    }
                    if !self.is_peer(&peer) {
                        return;
                    }
                    let (reply, answer) = oneshot::channel();
                    if self.emit(Event::Request { peer, kind, data: request, reply }) {
                        self.responses.push(Box::pin(async move { (kind, channel, answer.await) }));
                    }
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some(reply) = self.pending.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure { request_id, error, peer, .. } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(RequestError::Failed(error.to_string())));
                }
                if matches!(error, request_response::OutboundFailure::Io(_)) {
                    // An oversized or cut response.
                    self.report(peer, Misbehaviour::Oversized);
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(target: "umbra::network", %peer, %error, ?kind, "inbound request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn respond(
        &mut self,
        kind: RequestKind,
        channel: ResponseChannel<Vec<u8>>,
        answer: Result<Vec<u8>, oneshot::error::RecvError>,
    ) {
        if let Ok(data) = answer {
            let _ = self.behaviour_of(kind).send_response(channel, data);
        }
    }

    fn report(&mut self, peer: PeerId, what: Misbehaviour) {
        tracing::debug!(target: "umbra::network", %peer, ?what, "peer misbehaved");
        if self.reputation.report(peer, what, now()) {
            tracing::info!(target: "umbra::network", %peer, ?what, "peer banned");
            let _ = self.swarm.disconnect_peer_id(peer);
            if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
                kad.remove_peer(&peer);
            }
            self.update(|s| {
                if !s.banned.contains(&peer) {
                    s.banned.push(peer);
                }
            });
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data } => {
                if data.len() > MAX_GOSSIP_LEN {
                    tracing::warn!(target: "umbra::network", ?topic, len = data.len(), "message too large to gossip");
                    return;
                }
                let name = topic.name(&self.genesis);
                match self.swarm.behaviour_mut().gossip.publish(name, data) {
                    Ok(_) => self.update(|s| s.gossip_out += 1),
                    Err(e) => tracing::debug!(target: "umbra::network", ?topic, error = %e, "not published"),
                }
            }
            Command::Validated { id, source, verdict } => {
                let acceptance = match verdict {
                    Verdict::Accept => gossipsub::MessageAcceptance::Accept,
                    Verdict::Ignore => gossipsub::MessageAcceptance::Ignore,
                    Verdict::Reject => gossipsub::MessageAcceptance::Reject,
                };
                self.swarm.behaviour_mut().gossip.report_message_validation_result(&id, &source, acceptance);
            }
            Command::Request { peer, kind, data, reply } => {
                if !self.is_peer(&peer) {
                    let _ = reply.send(Err(RequestError::NotConnected));
                    return;
                }
                let id = self.behaviour_of(kind).send_request(&peer, data);
                self.pending.insert(id, reply);
            }
            Command::Report { peer, what } => self.report(peer, what),
            Command::AddReserved { address } => {
                if let Ok(peer) = peer_of(&address) {
                    self.reserved.insert(peer, address);
                    self.update(|s| s.reserved.insert(peer));
                    self.redial();
                }
            }
            Command::RemoveReserved { peer } => {
                self.reserved.remove(&peer);
                self.update(|s| s.reserved.remove(&peer));
                if self.reserved_only {
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
            }
        }
    }

    fn on_status(&mut self, event: request_response::Event<Status, Status>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => {
                    if self.greeted(peer, request) {
                        let ours = (self.status)();
                        let _ = self.swarm.behaviour_mut().status.send_response(channel, ours);
                    }
                }
                request_response::Message::Response { response, .. } => {
                    self.greeted(peer, response);
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                error: request_response::OutboundFailure::UnsupportedProtocols,
                ..
            } => self.refuse(peer, "another chain (no status protocol for this genesis)".into()),
            request_response::Event::OutboundFailure { peer, error, .. } => {
                tracing::debug!(target: "umbra::network", %peer, %error, "status request failed");
            }
            _ => {}
        }
    }
}

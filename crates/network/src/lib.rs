//! umbra's peer-to-peer network on libp2p (the first slice of the chain as
//! a network): TCP with Noise and Yamux, identify and ping, and a status
//! handshake ([`status`]) that keeps only peers of the same chain.
//!
//! [`start`] listens, dials the bootnodes and runs the swarm on the current
//! tokio runtime until told to stop; the [`NetworkHandle`] it returns shows
//! the local peer id, the addresses listened on, the peers of this chain
//! with their best blocks (what `system_peers` answers) and the peers
//! refused for being of another chain. Not yet here: block announcements,
//! sync, transaction and GRANDPA gossip, discovery and reputation.

mod error;
pub mod status;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt;
use libp2p::{
    identify, identity, noise, ping,
    request_response::{self, ProtocolSupport},
    swarm::{NetworkBehaviour, SwarmEvent},
    tcp, yamux, Swarm, SwarmBuilder,
};
use tokio::sync::watch;
use umbra_primitives::{BlockNumber, H256};

pub use error::Error;
pub use libp2p::{multiaddr::Protocol, Multiaddr, PeerId};
pub use status::Status;

/// How long a connection with no open stream stays up. Peers of one chain
/// keep talking once the chain protocols run over them; until then a long
/// idle time keeps the handshake's result visible.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// How long [`start`] waits for its listeners to report their addresses.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// How the network starts.
pub struct Config {
    /// The node key's ed25519 secret seed (libp2p zeroizes its copy).
    pub secret: [u8; 32],
    /// Addresses to listen on (`/ip4/127.0.0.1/tcp/30333`; port 0 picks one).
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start (`/ip4/…/tcp/…/p2p/<peer id>`).
    pub bootnodes: Vec<Multiaddr>,
    /// The chain: only peers with this genesis are kept.
    pub genesis: H256,
}

/// A peer of this chain, as its last status described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its id.
    pub id: PeerId,
    /// Its best block number.
    pub best_number: BlockNumber,
    /// Its best block hash.
    pub best_hash: H256,
}

#[derive(Default)]
struct Shared {
    peers: BTreeMap<PeerId, Peer>,
    refused: BTreeMap<PeerId, String>,
    listening: Vec<Multiaddr>,
}

/// What the rest of the node sees of the network.
#[derive(Clone)]
pub struct NetworkHandle {
    local: PeerId,
    shared: Arc<Mutex<Shared>>,
}

impl NetworkHandle {
    fn with<T>(&self, f: impl FnOnce(&Shared) -> T) -> T {
        let shared = self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&shared)
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
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    status: request_response::Behaviour<status::Codec>,
}

/// Our status, asked for at each handshake.
pub type StatusSource = Arc<dyn Fn() -> Status + Send + Sync>;

/// Starts the network: listens on `config.listen` (returning once each
/// listener has reported its address), dials the bootnodes, and runs the
/// swarm until `shutdown` turns true. `status` gives this node's status
/// whenever a peer is greeted.
pub async fn start(
    config: Config,
    status: StatusSource,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(NetworkHandle, tokio::task::JoinHandle<()>), Error> {
    let key = keypair(config.secret)?;
    let local = key.public().to_peer_id();
    let genesis = config.genesis;
    let mut swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| Error::Transport(e.to_string()))?
        .with_behaviour(|key| Behaviour {
            identify: identify::Behaviour::new(identify::Config::new(identify_version(&genesis), key.public())),
            ping: ping::Behaviour::new(ping::Config::new()),
            status: request_response::Behaviour::new(
                [(status::protocol(&genesis), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
            ),
        })
        .map_err(|e| Error::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    for address in &config.listen {
        swarm
            .listen_on(address.clone())
            .map_err(|e| Error::Listen { address: address.to_string(), reason: e.to_string() })?;
    }
    let shared = Arc::new(Mutex::new(Shared::default()));
    let mut network = Network { swarm, shared: shared.clone(), genesis, status };
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
    for address in config.bootnodes {
        if let Err(e) = network.swarm.dial(address.clone()) {
            tracing::warn!(target: "umbra::network", %address, error = %e, "cannot dial bootnode");
        }
    }
    tracing::info!(target: "umbra::network", peer_id = %local, "local node identity");
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                event = network.swarm.select_next_some() => network.on(event),
            }
        }
    });
    Ok((NetworkHandle { local, shared }, task))
}

struct Network {
    swarm: Swarm<Behaviour>,
    shared: Arc<Mutex<Shared>>,
    genesis: H256,
    status: StatusSource,
}

impl Network {
    fn update<T>(&self, f: impl FnOnce(&mut Shared) -> T) -> T {
        let mut shared = self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut shared)
    }

    fn listening(&self) -> usize {
        self.update(|s| s.listening.len())
    }

    /// A peer that is not of this chain: dropped and remembered as such.
    fn refuse(&mut self, peer: PeerId, reason: String) {
        tracing::debug!(target: "umbra::network", %peer, %reason, "peer refused");
        self.update(|s| {
            s.peers.remove(&peer);
            s.refused.insert(peer, reason);
        });
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    /// A status from `peer`: kept if it is of this chain.
    fn greeted(&mut self, peer: PeerId, status: Status) -> bool {
        if status.genesis != self.genesis {
            self.refuse(peer, format!("another chain (genesis {:?})", status.genesis));
            return false;
        }
        let entry = Peer { id: peer, best_number: status.best_number, best_hash: status.best_hash };
        self.update(|s| {
            s.refused.remove(&peer);
            s.peers.insert(peer, entry);
        });
        true
    }

    fn on(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(target: "umbra::network", %address, "listening");
                self.update(|s| s.listening.push(address));
            }
            SwarmEvent::ConnectionEstablished { peer_id, num_established, .. } if num_established.get() == 1 => {
                let ours = (self.status)();
                self.swarm.behaviour_mut().status.send_request(&peer_id, ours);
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                self.update(|s| {
                    s.peers.remove(&peer_id);
                });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Status(event)) => self.on_status(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }))
                if info.protocol_version != identify_version(&self.genesis) =>
            {
                self.refuse(peer_id, format!("another chain ({})", info.protocol_version));
            }
            _ => {}
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

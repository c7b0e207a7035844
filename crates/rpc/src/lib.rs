//! The node's JSON-RPC server: HTTP and WebSocket on one port (jsonrpsee),
//! Substrate's method names, parameter forms and error codes, so generic
//! clients (polkadot.js, subxt, py-substrate-interface) work unmodified.
//!
//! Limits: request and response size, connections, subscriptions per
//! connection, batch length ([`Config`]). Every parameter is parsed and
//! bounded; a bad one is a JSON-RPC error (`-32602` for malformed
//! parameters, Substrate's author `1001`–`1016`, state `4001`–`4003` and
//! chain `3001` codes otherwise) and changes nothing.

mod error;
pub mod json;
pub mod limits;
mod methods;
mod subscriptions;

use std::{net::SocketAddr, sync::Arc};

use jsonrpsee::server::{BatchRequestConfig, RandomStringIdProvider, RpcModule, Server, ServerConfig, ServerHandle};
use tokio::sync::mpsc::UnboundedReceiver;
use umbra_consensus::{grandpa::GrandpaHandle, Chain};
use umbra_primitives::{block::OpaqueExtrinsic, AccountId32, H256};
use umbra_txpool::{PoolError, TxStatus};

pub use error::{author_error, codes};

/// The transaction pool as RPC sees it.
pub trait PoolApi: Send + Sync {
    /// Submits on top of the best block.
    fn submit(&self, xt: OpaqueExtrinsic) -> Result<H256, PoolError>;
    /// Submits and watches.
    fn submit_and_watch(&self, xt: OpaqueExtrinsic) -> Result<(H256, UnboundedReceiver<TxStatus>), PoolError>;
    /// Everything in the pool.
    fn pending(&self) -> Vec<OpaqueExtrinsic>;
    /// (ready, future) counts.
    fn status(&self) -> (usize, usize);
    /// The next nonce of `who`, counting its pooled transactions after `state_nonce`.
    fn next_nonce(&self, who: &AccountId32, state_nonce: u32) -> u32;
}

/// A connected peer as `system_peers` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its libp2p peer id.
    pub peer_id: String,
    /// `FULL` or `AUTHORITY` (what Substrate's `system_peers` reports).
    pub roles: String,
    /// Its best block hash.
    pub best_hash: H256,
    /// Its best block number.
    pub best_number: u32,
}

/// The peer-to-peer network as RPC sees it.
pub trait NetworkApi: Send + Sync {
    /// Connected peers of this chain.
    fn peers(&self) -> Vec<PeerInfo>;
    /// Addresses listened on, each ending with `/p2p/<local peer id>`.
    fn listen_addresses(&self) -> Vec<String>;
    /// Whether the node is downloading blocks it is behind by.
    fn is_syncing(&self) -> bool;
    /// The best block number any peer has told of, if any.
    fn highest_block(&self) -> Option<u32>;
    /// The best block when the node started.
    fn starting_block(&self) -> u32;
    /// Adds a reserved peer (`/…/p2p/<peer id>`).
    fn add_reserved(&self, address: &str) -> Result<(), String>;
    /// Removes a reserved peer by id.
    fn remove_reserved(&self, peer_id: &str) -> Result<(), String>;
    /// `system_networkState`: peers, reserved and banned peers, addresses.
    fn network_state(&self) -> serde_json::Value;
}

/// Static facts about the node served by `system_*`.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// `system_name`.
    pub name: String,
    /// `system_version`.
    pub version: String,
    /// `system_chain`: the chain spec's name.
    pub chain_name: String,
    /// `system_chainType`.
    pub chain_type: String,
    /// `system_properties`.
    pub properties: serde_json::Value,
    /// `system_localPeerId`.
    pub peer_id: String,
    /// `system_nodeRoles`.
    pub is_authority: bool,
}

/// What the handlers share.
pub struct Context {
    /// The chain.
    pub chain: Arc<Chain>,
    /// The pool.
    pub pool: Arc<dyn PoolApi>,
    /// The GRANDPA voter.
    pub grandpa: Arc<GrandpaHandle>,
    /// Node facts.
    pub info: NodeInfo,
    /// Bytes of changes or state pairs one sync answer carries before it is
    /// cut (`umbra_getSyncBatch`, `umbra_getStatePairs`).
    pub sync_byte_budget: usize,
    /// The network, if the node runs one.
    pub network: Option<Arc<dyn NetworkApi>>,
    /// Whether unsafe methods (`system_addReservedPeer`, …) are served:
    /// on a loopback-only server, or with `--rpc-methods unsafe`.
    pub unsafe_methods: bool,
}

/// Server limits.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address.
    pub addr: SocketAddr,
    /// Largest request body (bytes).
    pub max_request_size: u32,
    /// Largest response body (bytes).
    pub max_response_size: u32,
    /// Most simultaneous connections.
    pub max_connections: u32,
    /// Most subscriptions per connection.
    pub max_subscriptions_per_connection: u32,
    /// Most calls in one batch.
    pub max_batch_len: u32,
    /// Bytes of changes or pairs per sync answer (at most
    /// [`umbra_primitives::sync::SYNC_BYTE_BUDGET`]).
    pub sync_byte_budget: u32,
    /// Heavy calls ([`limits::HEAVY_METHODS`]) per second per connection
    /// (bursts of twice that).
    pub heavy_calls_per_second: u32,
    /// Browser origins allowed (`--rpc-cors`).
    pub cors: limits::Cors,
    /// Accept only `Host` headers naming the server's own local address
    /// (`localhost`, `127.0.0.1`, `[::1]` with its bound port): DNS
    /// rebinding protection of a local-only server. An external server
    /// accepts any host.
    pub local_hosts_only: bool,
}

impl Config {
    /// Substrate's defaults on `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Config {
            addr,
            max_request_size: 15 * 1024 * 1024,
            max_response_size: 15 * 1024 * 1024,
            max_connections: 100,
            max_subscriptions_per_connection: 1024,
            max_batch_len: 256,
            sync_byte_budget: umbra_primitives::sync::SYNC_BYTE_BUDGET as u32,
            heavy_calls_per_second: 50,
            cors: limits::Cors::All,
            local_hosts_only: false,
        }
    }
}

/// Most blocks `umbra_getStorageChanges` returns in one call.
pub const MAX_CHANGES_RANGE: u32 = 256;
/// Most keys in one `state_queryStorageAt` / `state_subscribeStorage` / `state_getReadProof`.
pub const MAX_KEYS: usize = 1024;
/// Most keys `state_getKeysPaged` returns.
pub const MAX_PAGED_KEYS: u32 = 1000;

/// Builds the RPC module with every method.
pub fn module(ctx: Arc<Context>) -> RpcModule<Context> {
    let mut module = RpcModule::from_arc(ctx);
    methods::register(&mut module);
    subscriptions::register(&mut module);
    let mut names: Vec<String> = module.method_names().map(str::to_owned).collect();
    names.push("rpc_methods".into());
    names.sort();
    let _ = module.register_method("rpc_methods", move |_, _, _| serde_json::json!({ "methods": names }));
    module
}

/// Starts the server; it runs until the handle is stopped or dropped.
pub async fn start(config: Config, ctx: Arc<Context>) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_size)
        .max_response_body_size(config.max_response_size)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_len))
        .set_id_provider(RandomStringIdProvider::new(16))
        .build();
    let per_second = config.heavy_calls_per_second;
    let rpc_middleware = jsonrpsee::server::middleware::rpc::RpcServiceBuilder::new()
        .layer_fn(move |service| limits::HeavyLimit::new(service, per_second));
    // Bound first, so the host filter knows the port (0 picks one).
    let listener = std::net::TcpListener::bind(config.addr)?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let host_filter = if config.local_hosts_only {
        let hosts = [format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")];
        Some(
            jsonrpsee::server::middleware::http::HostFilterLayer::new(hosts.iter().map(String::as_str))
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?,
        )
    } else {
        None
    };
    let http_middleware =
        tower::ServiceBuilder::new().layer(limits::cors_layer(&config.cors)).option_layer(host_filter);
    let server = Server::builder()
        .set_config(server_config)
        .set_rpc_middleware(rpc_middleware)
        .set_http_middleware(http_middleware)
        .build_from_tcp(listener)?;
    let addr = server.local_addr()?;
    let handle = server.start(module(ctx));
    Ok((addr, handle))
}

//! Starting and stopping a node: database, chain, pool, authoring, GRANDPA,
//! RPC and metrics, and the tasks that connect them.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use tokio::{sync::watch, task::JoinHandle};
use umbra_consensus::{
    aura::{self, SystemClock},
    grandpa::{self, GrandpaHandle},
    Chain, ChainEvent,
};
use umbra_primitives::{block::OpaqueExtrinsic, H256};

use crate::{
    chain_spec::ChainSpec,
    keystore::{self, AuthorityKeys},
    metrics::{self, Metrics},
    pool::NodePool,
    Error,
};

/// Everything a node is started with.
pub struct NodeConfig {
    /// The chain.
    pub spec: ChainSpec,
    /// Base directory; the chain's data goes to `<base>/chains/<id>/`.
    pub base_path: PathBuf,
    /// Node name (`system_name` stays `umbra-node`; this names the node in logs).
    pub name: String,
    /// Authority keys, if this node authors and votes.
    pub authority: Option<AuthorityKeys>,
    /// RPC server settings, if any.
    pub rpc: Option<umbra_rpc::Config>,
    /// Prometheus address, if any.
    pub prometheus: Option<SocketAddr>,
    /// Database settings.
    pub db: umbra_storage::Config,
    /// Pool limits.
    pub pool: umbra_txpool::Limits,
    /// GRANDPA timing.
    pub grandpa: grandpa::Config,
    /// Network key file (default: `<chain dir>/network/secret_ed25519`).
    pub node_key_file: Option<PathBuf>,
    /// The peer-to-peer network, if the node joins one.
    pub network: Option<NetworkConfig>,
    /// Whether RPC serves unsafe methods (reserved peers, network state).
    pub rpc_unsafe: bool,
}

/// How the node joins the peer-to-peer network.
#[derive(Clone, Debug, Default)]
pub struct NetworkConfig {
    /// Addresses to listen on.
    pub listen: Vec<umbra_network::Multiaddr>,
    /// Addresses to tell peers.
    pub public: Vec<umbra_network::Multiaddr>,
    /// Bootnodes (with the chain spec's `bootNodes`).
    pub bootnodes: Vec<umbra_network::Multiaddr>,
    /// Reserved peers.
    pub reserved: Vec<umbra_network::Multiaddr>,
    /// Only reserved peers.
    pub reserved_only: bool,
    /// Most inbound peers.
    pub in_peers: u32,
    /// Most outbound peers.
    pub out_peers: u32,
    /// How a node with an empty database syncs.
    pub sync: crate::network::SyncMode,
}

/// The data directory of a chain under a base path.
pub fn chain_dir(base_path: &Path, spec: &ChainSpec) -> PathBuf {
    base_path.join("chains").join(&spec.id)
}

/// A running node.
pub struct Node {
    /// The chain.
    pub chain: Arc<Chain>,
    /// The pool.
    pub pool: Arc<NodePool>,
    /// The GRANDPA voter.
    pub grandpa: Arc<GrandpaHandle>,
    /// Where RPC listens.
    pub rpc_addr: Option<SocketAddr>,
    /// Where metrics are served.
    pub prometheus_addr: Option<SocketAddr>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Network identity.
    pub peer_id: String,
    /// The network, if the node joined one.
    pub network: Option<Arc<crate::network::NetworkStatus>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    rpc: Option<jsonrpsee::server::ServerHandle>,
}

/// Opens the chain of `spec` under `base_path` (database and genesis).
pub fn open_chain(spec: &ChainSpec, base_path: &Path, db: umbra_storage::Config) -> Result<Arc<Chain>, Error> {
    let (genesis_header, genesis_state) = spec.genesis_block()?;
    let dir = chain_dir(base_path, spec);
    let database = umbra_storage::Database::open(&dir.join("db").join("chain.redb"), db)?;
    Ok(Arc::new(Chain::new(database, &genesis_header, &genesis_state)?))
}

/// Starts a node.
pub async fn start(config: NodeConfig) -> Result<Node, Error> {
    let chain = open_chain(&config.spec, &config.base_path, config.db)?;
    let dir = chain_dir(&config.base_path, &config.spec);
    let node_key = keystore::node_key(
        &config.node_key_file.clone().unwrap_or_else(|| dir.join("network").join("secret_ed25519")),
    )?;
    let peer_id = keystore::peer_id(&node_key.public());
    let (shutdown, shutdown_rx) = watch::channel(false);
    let pool = Arc::new(NodePool::new(chain.clone(), config.pool));
    let metrics = Arc::new(Metrics::default());
    let grandpa_handle = grandpa::handle();
    let mut tasks = Vec::new();
    let genesis = chain.genesis();
    tracing::info!(target: "umbra::node", name = %config.name, chain = %config.spec.name, genesis = ?genesis.hash, %peer_id, "starting");

    // Chain events feed the pool and the metrics.
    tasks.push(tokio::spawn(follow_chain(chain.clone(), pool.clone(), metrics.clone(), shutdown_rx.clone())));

    let is_authority = config.authority.is_some();
    let (aura_key, grandpa_key) = match config.authority {
        Some(keys) => (Some(Arc::new(keys.aura)), Some(Arc::new(keys.grandpa))),
        None => (None, None),
    };
    // Warp sync only fills a database that holds nothing but genesis;
    // authoring and voting wait for it.
    let warp = match &config.network {
        Some(net) if net.sync == crate::network::SyncMode::Warp => {
            let fresh = chain.best()?.number == 0 && chain.finalized()?.number == 0;
            if !fresh {
                tracing::info!(target: "umbra::sync", "--sync warp: the database already holds blocks; syncing the rest in full");
            }
            fresh
        }
        _ => false,
    };
    let (ready, ready_rx) = watch::channel(!warp);
    if let Some(key) = aura_key {
        let (chain, pool, rx, ready) = (chain.clone(), pool.clone(), shutdown_rx.clone(), ready_rx.clone());
        tasks.push(tokio::spawn(async move {
            if !wait_ready(ready, rx.clone()).await {
                return;
            }
            if let Err(e) = aura::run(chain, key, pool, Arc::new(SystemClock), rx).await {
                tracing::error!(target: "umbra::aura", error = %e, "authoring stopped");
            }
        }));
    }
    {
        let (chain, handle, rx, cfg) = (chain.clone(), grandpa_handle.clone(), shutdown_rx.clone(), config.grandpa);
        let ready = ready_rx.clone();
        tasks.push(tokio::spawn(async move {
            if !wait_ready(ready, rx.clone()).await {
                return;
            }
            if let Err(e) = grandpa::run(chain, grandpa_key, cfg, handle, rx).await {
                tracing::error!(target: "umbra::grandpa", error = %e, "GRANDPA stopped");
            }
        }));
    }

    let network = match config.network {
        Some(net) => {
            let mut bootnodes = net.bootnodes;
            for address in &config.spec.boot_nodes {
                let address = address
                    .parse()
                    .map_err(|e| Error::ChainSpec(format!("bootNodes entry `{address}` is not a multiaddr: {e}")))?;
                if !bootnodes.contains(&address) {
                    bootnodes.push(address);
                }
            }
            let mut cfg = umbra_network::Config::new(*node_key.seed(), genesis.hash, net.listen);
            cfg.public = net.public;
            cfg.bootnodes = bootnodes;
            cfg.reserved = net.reserved;
            cfg.reserved_only = net.reserved_only;
            cfg.in_peers = net.in_peers;
            cfg.out_peers = net.out_peers;
            let status_chain = chain.clone();
            let status: umbra_network::StatusSource = Arc::new(move || {
                let best = status_chain.best().unwrap_or(genesis);
                umbra_network::Status {
                    genesis: genesis.hash,
                    best_number: best.number,
                    best_hash: best.hash,
                    authority: is_authority,
                }
            });
            let (handle, events, task) = umbra_network::start(cfg, status, shutdown_rx.clone()).await?;
            tasks.push(task);
            let status = crate::network::status(handle, &chain);
            let _ = metrics.network.set(status.clone());
            let parts = crate::network::Parts {
                chain: chain.clone(),
                pool: pool.clone(),
                grandpa: grandpa_handle.clone(),
                warp,
                ready,
            };
            tasks.push(tokio::spawn(crate::network::run(parts, status.clone(), events, shutdown_rx.clone())));
            Some(status)
        }
        None => None,
    };
    tasks.push(tokio::spawn(informant(chain.clone(), pool.clone(), network.clone(), shutdown_rx.clone())));

    let prometheus_addr = match config.prometheus {
        Some(addr) => {
            let (bound, task) = metrics::serve(addr, metrics.clone(), shutdown_rx.clone()).await?;
            tasks.push(task);
            tracing::info!(target: "umbra::node", addr = %bound, "Prometheus metrics on /metrics");
            Some(bound)
        }
        None => None,
    };

    let (rpc_addr, rpc) = match config.rpc {
        Some(rpc_config) => {
            let ctx = Arc::new(umbra_rpc::Context {
                chain: chain.clone(),
                pool: pool.clone(),
                grandpa: grandpa_handle.clone(),
                info: umbra_rpc::NodeInfo {
                    name: "umbra-node".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    chain_name: config.spec.name.clone(),
                    chain_type: config.spec.chain_type.clone(),
                    properties: config.spec.properties.clone(),
                    peer_id: peer_id.clone(),
                    is_authority,
                },
                sync_byte_budget: (rpc_config.sync_byte_budget as usize).min(umbra_primitives::sync::SYNC_BYTE_BUDGET),
                network: network.clone().map(|n| n as Arc<dyn umbra_rpc::NetworkApi>),
                unsafe_methods: config.rpc_unsafe,
            });
            let listen = rpc_config.addr;
            let (addr, handle) = umbra_rpc::start(rpc_config, ctx)
                .await
                .map_err(|e| Error::Listen { addr: listen, error: e.to_string() })?;
            tracing::info!(target: "umbra::node", %addr, "JSON-RPC (HTTP and WebSocket)");
            (Some(addr), Some(handle))
        }
        None => (None, None),
    };

    Ok(Node {
        chain,
        pool,
        grandpa: grandpa_handle,
        rpc_addr,
        prometheus_addr,
        metrics,
        peer_id,
        network,
        shutdown,
        tasks,
        rpc,
    })
}

impl Node {
    /// Stops every task and the servers; returns when they have ended.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        if let Some(rpc) = self.rpc {
            let _ = rpc.stop();
            rpc.stopped().await;
        }
        for task in self.tasks {
            let _ = task.await;
        }
        tracing::info!(target: "umbra::node", "stopped");
    }
}

/// Waits until the node may author and vote; false if it shuts down first.
async fn wait_ready(mut ready: watch::Receiver<bool>, mut shutdown: watch::Receiver<bool>) -> bool {
    tokio::select! {
        r = ready.wait_for(|r| *r) => r.is_ok(),
        _ = shutdown.changed() => false,
    }
}

fn body_of(chain: &Chain, hash: &H256) -> Vec<OpaqueExtrinsic> {
    chain.db().body(hash).ok().flatten().unwrap_or_default()
}

async fn follow_chain(
    chain: Arc<Chain>,
    pool: Arc<NodePool>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut events = chain.subscribe();
    if let (Ok(best), Ok(finalized)) = (chain.best(), chain.finalized()) {
        metrics.best_block.store(u64::from(best.number), Ordering::Relaxed);
        metrics.finalized_block.store(u64::from(finalized.number), Ordering::Relaxed);
    }
    loop {
        let event = tokio::select! {
            _ = shutdown.changed() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(ChainEvent::Imported { header, is_best, retracted }) => {
                metrics.blocks_imported.fetch_add(1, Ordering::Relaxed);
                if !is_best {
                    continue;
                }
                metrics.best_block.store(u64::from(header.number), Ordering::Relaxed);
                let (chain, pool) = (chain.clone(), pool.clone());
                let updated = tokio::task::spawn_blocking(move || {
                    let hash = header.hash();
                    let included = body_of(&chain, &hash);
                    let mut back = Vec::new();
                    for block in &retracted {
                        pool.inner().on_retracted(*block);
                        back.extend(body_of(&chain, block).into_iter().skip(1));
                    }
                    pool.inner().on_new_best(hash, header.number, &included, back);
                    pool.inner().status()
                })
                .await;
                if let Ok((ready, future)) = updated {
                    metrics.txpool_ready.store(ready as u64, Ordering::Relaxed);
                    metrics.txpool_future.store(future as u64, Ordering::Relaxed);
                }
            }
            Ok(ChainEvent::Finalized { blocks, head }) => {
                metrics.finalized_block.store(u64::from(head.number), Ordering::Relaxed);
                let hashes: Vec<H256> = blocks.iter().map(|b| b.hash).collect();
                pool.inner().on_finalized(&hashes);
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(target: "umbra::node", skipped = n, "chain event consumer lagged");
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn informant(
    chain: Arc<Chain>,
    pool: Arc<NodePool>,
    network: Option<Arc<crate::network::NetworkStatus>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        if let (Ok(best), Ok(finalized)) = (chain.best(), chain.finalized()) {
            let (ready, future) = pool.inner().status();
            let peers = network.as_ref().map(|n| n.handle().peers().len()).unwrap_or(0);
            let syncing = network.as_ref().is_some_and(|n| n.is_syncing());
            tracing::info!(
                target: "umbra::node",
                peers,
                syncing,
                best = best.number,
                best_hash = ?best.hash,
                finalized = finalized.number,
                txpool_ready = ready,
                txpool_future = future,
                "status"
            );
        }
    }
}

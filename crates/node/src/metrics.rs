//! Prometheus metrics over HTTP (`GET /metrics`, text exposition format).

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use http_body_util::Full;
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::Error;

/// Node metrics.
#[derive(Default)]
pub struct Metrics {
    /// Best block number.
    pub best_block: AtomicU64,
    /// Finalized block number.
    pub finalized_block: AtomicU64,
    /// Blocks imported since start.
    pub blocks_imported: AtomicU64,
    /// Blocks authored since start.
    pub blocks_authored: AtomicU64,
    /// Ready transactions in the pool.
    pub txpool_ready: AtomicU64,
    /// Future transactions in the pool.
    pub txpool_future: AtomicU64,
    /// The network, once started.
    pub network: std::sync::OnceLock<Arc<crate::network::NetworkStatus>>,
}

impl Metrics {
    /// The text exposition of all metrics.
    pub fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# HELP umbra_block_height Block height info of the chain\n\
             # TYPE umbra_block_height gauge\n\
             umbra_block_height{{status=\"best\"}} {}\n\
             umbra_block_height{{status=\"finalized\"}} {}\n\
             # HELP umbra_blocks_imported_total Blocks imported since start\n\
             # TYPE umbra_blocks_imported_total counter\n\
             umbra_blocks_imported_total {}\n\
             # HELP umbra_blocks_authored_total Blocks authored since start\n\
             # TYPE umbra_blocks_authored_total counter\n\
             umbra_blocks_authored_total {}\n\
             # HELP umbra_txpool_transactions Transactions in the pool\n\
             # TYPE umbra_txpool_transactions gauge\n\
             umbra_txpool_transactions{{status=\"ready\"}} {}\n\
             umbra_txpool_transactions{{status=\"future\"}} {}\n",
            get(&self.best_block),
            get(&self.finalized_block),
            get(&self.blocks_imported),
            get(&self.blocks_authored),
            get(&self.txpool_ready),
            get(&self.txpool_future),
        ) + &self.network.get().map(|n| render_network(n)).unwrap_or_default()
    }
}

/// The network's metrics: peers, bans, gossip traffic and sync progress.
fn render_network(net: &crate::network::NetworkStatus) -> String {
    let handle = net.handle();
    let (gossip_in, gossip_out) = handle.gossip_counts();
    format!(
        "# HELP umbra_network_peers Connected peers of this chain\n\
         # TYPE umbra_network_peers gauge\n\
         umbra_network_peers {}\n\
         # HELP umbra_network_banned_peers Peers banned for misbehaviour\n\
         # TYPE umbra_network_banned_peers gauge\n\
         umbra_network_banned_peers {}\n\
         # HELP umbra_network_gossip_messages_total Gossip messages received and published\n\
         # TYPE umbra_network_gossip_messages_total counter\n\
         umbra_network_gossip_messages_total{{direction=\"in\"}} {}\n\
         umbra_network_gossip_messages_total{{direction=\"out\"}} {}\n\
         # HELP umbra_sync_blocks_imported_total Blocks downloaded from peers and imported\n\
         # TYPE umbra_sync_blocks_imported_total counter\n\
         umbra_sync_blocks_imported_total {}\n\
         # HELP umbra_sync_highest_block The best block number any peer has told of\n\
         # TYPE umbra_sync_highest_block gauge\n\
         umbra_sync_highest_block {}\n\
         # HELP umbra_sync_is_syncing Whether the node is downloading blocks it is behind by\n\
         # TYPE umbra_sync_is_syncing gauge\n\
         umbra_sync_is_syncing {}\n",
        handle.peers().len(),
        handle.banned().len(),
        gossip_in,
        gossip_out,
        net.synced_blocks(),
        umbra_rpc::NetworkApi::highest_block(net).unwrap_or(0),
        u8::from(net.is_syncing()),
    )
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    metrics: Arc<Metrics>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = if req.uri().path() == "/metrics" {
        Response::builder()
            .header("content-type", "text/plain; version=0.0.4")
            .body(Full::new(Bytes::from(metrics.render())))
    } else {
        Response::builder().status(StatusCode::NOT_FOUND).body(Full::new(Bytes::from_static(b"not found\n")))
    };
    Ok(response.unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))))
}

/// Serves metrics on `addr` until `shutdown` changes; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), Error> {
    let listener = TcpListener::bind(addr).await.map_err(|e| Error::Listen { addr, error: e.to_string() })?;
    let local = listener.local_addr().map_err(|e| Error::Listen { addr, error: e.to_string() })?;
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let metrics = metrics.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| handle(req, metrics.clone()));
                        let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                    });
                }
            }
        }
    });
    Ok((local, task))
}

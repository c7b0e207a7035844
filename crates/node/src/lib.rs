//! A full umbra node, as a library: the binary `umbra-node` and the
//! end-to-end tests use it.
//!
//! * [`chain_spec`]: dev/local specs, JSON loading, raw conversion, genesis.
//! * [`keystore`]: authority keys and the network key.
//! * [`service`]: starts the database, chain, pool, Aura, GRANDPA, RPC and
//!   metrics, and stops them cleanly.
//! * [`blocks`]: `export-blocks` / `import-blocks`.
//! * [`metrics`]: Prometheus endpoint.
//! * [`network`]: the node on the peer-to-peer network: sync, gossip, requests.

pub mod blocks;
pub mod chain_spec;
mod error;
pub mod keystore;
pub mod metrics;
pub mod network;
pub mod pool;
pub mod service;

pub use error::Error;
pub use service::{start, NetworkConfig, Node, NodeConfig};

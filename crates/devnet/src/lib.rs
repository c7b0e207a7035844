//! A local umbra network, started and supervised.
//!
//! [`Network::start`] starts one `umbra-node --dev` (or, with
//! `validators` > 1, that many validator nodes of the `local-N` spec,
//! connected on loopback through the first), a gatekeeper pRuntime
//! and `workers` worker pRuntimes in a **SIMULATED TEE**, each with its
//! `umbra-relayer`, under one [`umbra_process::Supervisor`]: every process
//! runs in its own process group that dies with the network's owner (even
//! on SIGKILL), a process that exits is reported with its status and last
//! log lines and restarted with back-off (pRuntimes resume from their
//! checkpoints, relayers reconnect), and [`Network::stop`] ends everything
//! within its grace period. It allows the pRuntime measurement (Sudo),
//! appoints the gatekeeper, waits for its epoch-0 master key and for every
//! worker to sync and register, showing progress as it goes. With several
//! nodes the gatekeeper's relayer follows the first and the workers'
//! relayers the others in turn.
//!
//! `umbra devnet` is this library plus argument parsing and a status line;
//! the end-to-end tests start networks with it too.

mod error;
mod network;
mod ports;
mod progress;

pub use error::Error;
pub use network::{Binaries, Config, Network, Ports, WorkerPorts, MAX_VALIDATORS, MAX_WORKERS};
pub use ports::{holder_of, is_free};
pub use progress::{Progress, Spinner};

//! `umbra devnet`: argument parsing and the terminal around
//! [`umbra_devnet::Network`], which starts and supervises the processes.
//! SIGINT or SIGTERM (at any moment, start-up included) stops them all;
//! a child that exits is reported and restarted while the network keeps
//! running. Works without a terminal (status lines are then printed every
//! ten seconds instead of redrawn).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use umbra_devnet::{Binaries, Config, Network, Progress, MAX_VALIDATORS, MAX_WORKERS};
use umbra_process::ShutdownListener;

use crate::CliError;

#[derive(Args)]
pub(crate) struct DevnetArgs {
    /// Data directory (default: `$XDG_DATA_HOME/umbra/devnet` or `~/.local/share/umbra/devnet`).
    /// One devnet at a time uses it.
    #[arg(long)]
    base_path: Option<PathBuf>,
    /// JSON-RPC port of the node.
    #[arg(long, default_value_t = 9944)]
    rpc_port: u16,
    /// Prometheus port of the node (disabled unless given).
    #[arg(long)]
    prometheus_port: Option<u16>,
    /// Wipe the data directory first.
    #[arg(long)]
    fresh: bool,
    /// The `umbra-node` binary (default: next to this `umbra`).
    #[arg(long)]
    node_bin: Option<PathBuf>,
    /// The first worker pRuntime's private API port (public API: +1; the
    /// gatekeeper pRuntime uses +2 and +3, worker `i` ≥ 2 uses +2i and
    /// +2i+1). Default: that layout from 8100 when all its ports are free,
    /// else free ports (printed with the endpoints).
    #[arg(long)]
    pruntime_port: Option<u16>,
    /// Worker pRuntimes to start (1 to 6).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=MAX_WORKERS as i64))]
    workers: u16,
    /// Validator nodes (1 to 7): 1 runs the `dev` chain; more run
    /// `local-N` (Alice, Bob, … one process each, connected on loopback),
    /// with the gatekeeper on the first node and the workers on the others
    /// in turn.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=MAX_VALIDATORS as i64))]
    validators: u8,
    /// Start only the node (no pRuntime, no relayer).
    #[arg(long)]
    no_worker: bool,
    /// After start: build and deploy the confidential token into a
    /// 2-replica cluster, transfer, query, print `demo complete`, keep
    /// running.
    #[arg(long, conflicts_with = "no_worker")]
    demo: bool,
    /// Queries per second each client address may send to a worker
    /// (pRuntime `--query-rate`).
    #[arg(long, default_value_t = 2000)]
    query_rate: u32,
    /// TEST ONLY: start worker `N` with the pRuntime's divergence fault
    /// hook (its contract state differs on purpose).
    #[arg(long, hide = true)]
    test_fault_diverge: Option<u16>,
}

fn default_base_path() -> Result<PathBuf, CliError> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("umbra").join("devnet"));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| CliError::new("no HOME; pass --base-path"))?;
    Ok(PathBuf::from(home).join(".local").join("share").join("umbra").join("devnet"))
}

/// The binaries next to this executable (`--node-bin` overrides the node).
fn binaries(node: Option<PathBuf>, workers: bool) -> Result<Binaries, CliError> {
    let exe = std::env::current_exe().map_err(|e| CliError::new(format!("cannot locate this executable: {e}")))?;
    let dir = exe.parent().ok_or_else(|| CliError::new("this executable has no directory"))?;
    let check = |path: PathBuf, package: &str| {
        if path.is_file() {
            Ok(path)
        } else {
            Err(CliError::new(format!(
                "{} not found; build it with `cargo build --release -p {package}` or run ./scripts/devnet",
                path.display()
            )))
        }
    };
    let node = check(node.unwrap_or_else(|| dir.join("umbra-node")), "umbra-node-bin")?;
    let (pruntime, relayer) = if workers {
        (
            check(dir.join("umbra-pruntime"), "umbra-pruntime-bin")?,
            check(dir.join("umbra-relayer"), "umbra-relayer-bin")?,
        )
    } else {
        (dir.join("umbra-pruntime"), dir.join("umbra-relayer"))
    };
    Ok(Binaries { node, pruntime, relayer })
}

pub(crate) async fn run(args: DevnetArgs) -> Result<String, CliError> {
    // First, so that a signal at any later moment stops what was started.
    let mut shutdown = ShutdownListener::install().map_err(|e| CliError::new(format!("signal handlers: {e}")))?;
    if args.demo && args.workers < 2 {
        return Err(CliError::new("--demo needs at least 2 workers (a 2-replica cluster)"));
    }
    let base = match args.base_path {
        Some(p) => p,
        None => default_base_path()?,
    };
    let workers = if args.no_worker { 0 } else { args.workers };
    let config = Config {
        base,
        validators: args.validators,
        fresh: args.fresh,
        rpc_port: args.rpc_port,
        prometheus_port: args.prometheus_port,
        pruntime_port: args.pruntime_port,
        workers,
        query_rate: args.query_rate,
        test_fault_diverge: args.test_fault_diverge,
        binaries: binaries(args.node_bin, workers > 0)?,
        progress: Progress::stdout(),
    };
    // A signal during start-up drops the starting network: it stops what
    // it had started before this returns.
    let mut network = tokio::select! {
        started = Network::start(config) => started?,
        signal = shutdown.recv() => return Ok(format!("{} during start-up; devnet stopped", signal.name())),
    };
    println!("\nendpoints:");
    for line in network.endpoints() {
        println!("  {line}");
    }
    println!("press Ctrl-C to stop\n");
    let _ = std::io::stdout().flush();
    if args.demo {
        let ports = network.ports().clone();
        let (w1, w2) = match ports.workers.as_slice() {
            [w1, w2, ..] => (w1.public, w2.public),
            _ => return Err(CliError::new("--demo needs at least 2 workers")),
        };
        let demo = crate::demo::run(network.client(), w1, w2);
        let outcome = tokio::select! {
            outcome = demo => outcome,
            signal = shutdown.recv() => Err(CliError::new(format!("{} during the demo", signal.name()))),
        };
        if let Err(e) = outcome {
            stop(network);
            return Err(e);
        }
    }

    let tty = std::io::stdout().is_terminal();
    let mut ticks: u64 = 0;
    let signal = loop {
        tokio::select! {
            signal = shutdown.recv() => break signal,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        for event in network.events() {
            if tty {
                print!("\r\x1b[K");
            }
            println!("{event}");
        }
        ticks += 1;
        let line = match network.status_line().await {
            Some(line) => Some(line),
            // The node restarted: connect again (it answers once it is back).
            None if network.reconnect().await.is_ok() => network.status_line().await,
            None => None,
        };
        let line = line.unwrap_or_else(|| "node not answering (restarting?)".into());
        if tty {
            print!("\r\x1b[K{line}");
            let _ = std::io::stdout().flush();
        } else if ticks % 10 == 1 {
            println!("{line}");
        }
    };
    if tty {
        println!();
    }
    println!("{}: stopping", signal.name());
    Ok(stop(network))
}

/// Stops `network` and says how it went.
fn stop(network: Network) -> String {
    let report = network.stop();
    let ms = report.took.as_millis();
    if report.killed.is_empty() {
        format!("devnet stopped cleanly in {ms} ms ({} processes)", report.stopped.len())
    } else {
        format!(
            "devnet stopped in {ms} ms; killed after the grace period (they ignored SIGTERM): {}",
            report.killed.join(", ")
        )
    }
}

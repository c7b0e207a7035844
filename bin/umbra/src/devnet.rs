//! `umbra devnet`: starts a local network (today: one `umbra-node --dev`) in
//! a data directory, shows progress until blocks are finalized, then a live
//! status line and the endpoints; SIGINT or SIGTERM stops every process it
//! started. Works without a terminal (status lines are then printed every
//! ten seconds instead of redrawn).

use std::{
    fs,
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use clap::Args;
use umbra_client::Client;

use crate::CliError;

#[derive(Args)]
pub(crate) struct DevnetArgs {
    /// Data directory (default: `$XDG_DATA_HOME/umbra/devnet` or `~/.local/share/umbra/devnet`).
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
}

fn default_base_path() -> Result<PathBuf, CliError> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("umbra").join("devnet"));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| CliError::new("no HOME; pass --base-path"))?;
    Ok(PathBuf::from(home).join(".local").join("share").join("umbra").join("devnet"))
}

fn node_binary(explicit: Option<PathBuf>) -> Result<PathBuf, CliError> {
    let path = match explicit {
        Some(p) => p,
        None => std::env::current_exe()
            .map_err(|e| CliError::new(format!("cannot locate this executable: {e}")))?
            .with_file_name("umbra-node"),
    };
    if !path.is_file() {
        return Err(CliError::new(format!(
            "{} not found; build it with `cargo build --release -p umbra-node-bin` or run ./scripts/devnet",
            path.display()
        )));
    }
    Ok(path)
}

fn signal(child: &Child, sig: rustix::process::Signal) {
    let _ = rustix::process::kill_process(rustix::process::Pid::from_child(child), sig);
}

/// Stops `child`: SIGINT, then SIGKILL after `grace`.
fn stop(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    signal(child, rustix::process::Signal::INT);
    let step = Duration::from_millis(100);
    let mut waited = Duration::ZERO;
    while waited < grace {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(step);
        waited += step;
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

async fn wait_until<T, F, Fut>(
    what: &str,
    timeout: Duration,
    child: &mut Child,
    log: &Path,
    mut f: F,
) -> Result<T, CliError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(CliError::new(format!(
                "umbra-node exited ({status}) while {what}; last log lines:\n{}",
                tail(log, 15)
            )));
        }
        if let Some(v) = f().await {
            return Ok(v);
        }
        tokio::select! {
            _ = &mut deadline => return Err(CliError::new(format!("timed out {what}; see {}", log.display()))),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

async fn status_line(client: &Client) -> Option<String> {
    let best = client.best_header().await.ok()?;
    let finalized = client.finalized_hash().await.ok()?;
    let fin_number = client.header(finalized).await.ok().flatten()?.number;
    let health = client.call("system_health", vec![]).await.ok()?;
    let pending = client.call("author_pendingExtrinsics", vec![]).await.ok()?;
    Some(format!(
        "best #{} finalized #{} peers {} txpool {}",
        best.number,
        fin_number,
        health["peers"],
        pending.as_array().map(Vec::len).unwrap_or(0)
    ))
}

pub(crate) async fn run(args: DevnetArgs) -> Result<String, CliError> {
    let base = match args.base_path {
        Some(p) => p,
        None => default_base_path()?,
    };
    let node_bin = node_binary(args.node_bin)?;
    if args.fresh && base.exists() {
        fs::remove_dir_all(&base).map_err(|e| CliError::new(format!("cannot wipe {}: {e}", base.display())))?;
        println!("wiped {}", base.display());
    }
    fs::create_dir_all(&base).map_err(|e| CliError::new(format!("cannot create {}: {e}", base.display())))?;
    let log_path = base.join("node.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| CliError::new(format!("{}: {e}", log_path.display())))?;
    let log_err = log.try_clone().map_err(|e| CliError::new(e.to_string()))?;

    println!("umbra devnet: starting 1 node (chain dev, data in {})", base.display());
    let mut cmd = Command::new(&node_bin);
    cmd.args(["--dev", "--name", "devnet-node", "--rpc-port", &args.rpc_port.to_string()])
        .arg("--base-path")
        .arg(base.join("node"))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    if let Some(p) = args.prometheus_port {
        cmd.args(["--prometheus-port", &p.to_string()]);
    }
    let mut child = cmd.spawn().map_err(|e| CliError::new(format!("cannot start {}: {e}", node_bin.display())))?;
    println!("  node started (pid {}), logs in {}", child.id(), log_path.display());

    let url = format!("ws://127.0.0.1:{}", args.rpc_port);
    let result = async {
        let client = wait_until("waiting for JSON-RPC", Duration::from_secs(60), &mut child, &log_path, || async {
            Client::connect(&url).await.ok()
        })
        .await?;
        println!("  JSON-RPC ready");
        let first = wait_until(
            "waiting for the first finalized block",
            Duration::from_secs(60),
            &mut child,
            &log_path,
            || async {
                let hash = client.finalized_hash().await.ok()?;
                let number = client.header(hash).await.ok().flatten()?.number;
                (number > 0).then_some(number)
            },
        )
        .await?;
        println!("  blocks are produced and finalized (#{first} finalized)");
        println!("\nendpoints:");
        println!("  JSON-RPC (HTTP and WebSocket): http://127.0.0.1:{0}  ws://127.0.0.1:{0}", args.rpc_port);
        if let Some(p) = args.prometheus_port {
            println!("  Prometheus metrics:            http://127.0.0.1:{p}/metrics");
        }
        println!("  node log:                      {}", log_path.display());
        println!("press Ctrl-C to stop\n");
        let _ = std::io::stdout().flush();
        Ok::<Client, CliError>(client)
    }
    .await;
    let client = match result {
        Ok(c) => c,
        Err(e) => {
            stop(&mut child, Duration::from_secs(10));
            return Err(e);
        }
    };

    let tty = std::io::stdout().is_terminal();
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| CliError::new(e.to_string()))?;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| CliError::new(e.to_string()))?;
    let mut ticks: u64 = 0;
    let outcome = loop {
        tokio::select! {
            _ = sigint.recv() => break Ok(()),
            _ = sigterm.recv() => break Ok(()),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(CliError::new(format!(
                "umbra-node exited ({status}); last log lines:\n{}",
                tail(&log_path, 15)
            )));
        }
        ticks += 1;
        if let Some(line) = status_line(&client).await {
            if tty {
                print!("\r\x1b[K{line}");
                let _ = std::io::stdout().flush();
            } else if ticks % 10 == 1 {
                println!("{line}");
            }
        }
    };
    if tty {
        println!();
    }
    println!("stopping the devnet...");
    drop(client);
    stop(&mut child, Duration::from_secs(20));
    outcome?;
    Ok("devnet stopped".into())
}

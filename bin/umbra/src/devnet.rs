//! `umbra devnet`: starts a local network in a data directory — one
//! `umbra-node --dev`, a gatekeeper pRuntime and `--workers` worker
//! pRuntimes (default 2) in a SIMULATED TEE, each with its `umbra-relayer`
//! — allows the pRuntime measurement (Sudo), appoints the gatekeeper, waits
//! for its epoch-0 master key and for every worker to be synced and
//! registered, then shows a live status line and the endpoints; SIGINT or
//! SIGTERM stops every process it started. Works without a terminal
//! (status lines are then printed every ten seconds instead of redrawn).

use std::{
    fs,
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use clap::Args;
use umbra_client::Client;
use umbra_protocol::client::PruntimeClient;

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
    /// The first worker pRuntime's private API port (public API: +1; the
    /// gatekeeper pRuntime uses +2 and +3, worker `i` ≥ 2 uses +2i and
    /// +2i+1).
    #[arg(long, default_value_t = 8100)]
    pruntime_port: u16,
    /// Worker pRuntimes to start (1 to 6).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=MAX_WORKERS as i64))]
    workers: u16,
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

/// Most workers a devnet starts (one funded relayer account each).
const MAX_WORKERS: u16 = 6;

/// The relayer accounts of workers 1…6 (endowed in the dev chain spec).
const WORKER_SIGNERS: [&str; MAX_WORKERS as usize] =
    ["//Ferdie", "//Dave", "//Ferdie//stash", "//Dave//stash", "//Charlie//stash", "//Bob//stash"];

/// Worker `i`'s (1-based) private API port; its public API is one above.
pub(crate) fn worker_port(base: u16, i: u16) -> u16 {
    if i == 1 {
        base
    } else {
        base + 2 * i
    }
}

fn default_base_path() -> Result<PathBuf, CliError> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("umbra").join("devnet"));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| CliError::new("no HOME; pass --base-path"))?;
    Ok(PathBuf::from(home).join(".local").join("share").join("umbra").join("devnet"))
}

fn sibling_binary(explicit: Option<PathBuf>, name: &str, package: &str) -> Result<PathBuf, CliError> {
    let path = match explicit {
        Some(p) => p,
        None => std::env::current_exe()
            .map_err(|e| CliError::new(format!("cannot locate this executable: {e}")))?
            .with_file_name(name),
    };
    if !path.is_file() {
        return Err(CliError::new(format!(
            "{} not found; build it with `cargo build --release -p {package}` or run ./scripts/devnet",
            path.display()
        )));
    }
    Ok(path)
}

/// A child process with its log file.
struct Managed {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

/// Opens `path` for appending: one handle for stdout, one for stderr.
fn open_log(path: &Path) -> Result<(fs::File, fs::File), CliError> {
    let file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    let err = file.try_clone().map_err(|e| CliError::new(e.to_string()))?;
    Ok((file, err))
}

fn spawn(name: &'static str, bin: &Path, args: &[String], log: PathBuf) -> Result<Managed, CliError> {
    let (file, err) = open_log(&log)?;
    let child = Command::new(bin)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| CliError::new(format!("cannot start {}: {e}", bin.display())))?;
    println!("  {name} started (pid {}), logs in {}", child.id(), log.display());
    Ok(Managed { name, child, log })
}

/// pRuntime's status on loopback `port` (private API), or `None`.
async fn pruntime_status(port: u16) -> Option<umbra_protocol::api::Status> {
    use umbra_protocol::PrivateApi;
    PruntimeClient::new(&format!("127.0.0.1:{port}"), quick()).status().await.ok()
}

/// A client with short timeouts for the devnet's polling.
fn quick() -> umbra_protocol::client::ClientOptions {
    umbra_protocol::client::ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        ..umbra_protocol::client::ClientOptions::private()
    }
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
    let pruntime_port = args.pruntime_port;
    let base = match args.base_path.clone() {
        Some(p) => p,
        None => default_base_path()?,
    };
    let node_bin = sibling_binary(args.node_bin.clone(), "umbra-node", "umbra-node-bin")?;
    let worker_bins = if args.no_worker {
        None
    } else {
        Some((
            sibling_binary(None, "umbra-pruntime", "umbra-pruntime-bin")?,
            sibling_binary(None, "umbra-relayer", "umbra-relayer-bin")?,
        ))
    };
    if args.fresh && base.exists() {
        fs::remove_dir_all(&base).map_err(|e| CliError::new(format!("cannot wipe {}: {e}", base.display())))?;
        println!("wiped {}", base.display());
    }
    fs::create_dir_all(&base).map_err(|e| CliError::new(format!("cannot create {}: {e}", base.display())))?;
    let log_path = base.join("node.log");
    let (log, log_err) = open_log(&log_path)?;

    if args.demo && args.workers < 2 {
        return Err(CliError::new("--demo needs at least 2 workers (a 2-replica cluster)"));
    }
    let workers_text =
        format!(", a gatekeeper and {} worker pRuntime(s) (SIMULATED TEE) with their relayers", args.workers);
    println!(
        "umbra devnet: starting 1 node{} (chain dev, data in {})",
        if args.no_worker { "" } else { &workers_text },
        base.display()
    );
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
    let mut workers: Vec<Managed> = Vec::new();
    if let Some((pruntime_bin, relayer_bin)) = &worker_bins {
        let plan = Plan {
            base_port: pruntime_port,
            workers: args.workers,
            faulty: args.test_fault_diverge,
            query_rate: args.query_rate,
        };
        if let Err(e) = start_worker(&plan, &base, &url, pruntime_bin, relayer_bin, &client, &mut workers).await {
            for w in &mut workers {
                stop(&mut w.child, Duration::from_secs(5));
            }
            stop(&mut child, Duration::from_secs(10));
            return Err(e);
        }
    }
    let result = async {
        println!("\nendpoints:");
        println!("  JSON-RPC (HTTP and WebSocket): http://127.0.0.1:{0}  ws://127.0.0.1:{0}", args.rpc_port);
        if let Some(p) = args.prometheus_port {
            println!("  Prometheus metrics:            http://127.0.0.1:{p}/metrics");
        }
        println!("  node log:                      {}", log_path.display());
        if !workers.is_empty() {
            println!("  gatekeeper pRuntime:            http://127.0.0.1:{}/status", args.pruntime_port + 2);
            for i in 1..=args.workers {
                let port = worker_port(args.pruntime_port, i);
                println!(
                    "  worker {i} pRuntime:              http://127.0.0.1:{port}/status (public API http://127.0.0.1:{}/info)",
                    port + 1
                );
            }
        }
        println!("press Ctrl-C to stop\n");
        let _ = std::io::stdout().flush();
        Ok::<(), CliError>(())
    }
    .await;
    let result = match result {
        Ok(()) if args.demo => {
            crate::demo::run(&client, args.pruntime_port + 1, worker_port(args.pruntime_port, 2) + 1).await
        }
        other => other,
    };
    if let Err(e) = result {
        for w in workers.iter_mut().rev() {
            stop(&mut w.child, Duration::from_secs(5));
        }
        stop(&mut child, Duration::from_secs(10));
        return Err(e);
    }

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
        if let Some(w) = workers.iter_mut().find_map(|w| matches!(w.child.try_wait(), Ok(Some(_))).then_some(w)) {
            break Err(CliError::new(format!("{} exited; last log lines:\n{}", w.name, tail(&w.log, 15))));
        }
        ticks += 1;
        if let Some(mut line) = status_line(&client).await {
            if !workers.is_empty() {
                for i in 1..=args.workers {
                    line.push_str(&worker_status(worker_port(args.pruntime_port, i)).await);
                }
                line.push_str(&gatekeeper_status(args.pruntime_port + 2).await);
            }
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
    for w in workers.iter_mut().rev() {
        stop(&mut w.child, Duration::from_secs(10));
    }
    stop(&mut child, Duration::from_secs(20));
    outcome?;
    Ok("devnet stopped".into())
}

/// ` | worker #N synced, registered` for the status line.
async fn worker_status(port: u16) -> String {
    match pruntime_status(port).await {
        Some(s) => format!(
            " | worker synced #{} {}",
            s.core.synced_block.map_or("-".to_string(), |n| n.to_string()),
            if s.core.registered { "registered" } else { "unregistered" }
        ),
        None => " | worker unreachable".into(),
    }
}

/// One pRuntime + relayer pair of the devnet.
struct Pair<'a> {
    name: String,
    role: &'a str,
    port: u16,
    signer: &'a str,
    /// Extra pRuntime arguments.
    extra: Vec<String>,
}

/// What `start_worker` starts.
struct Plan {
    base_port: u16,
    workers: u16,
    /// The worker started with the test-only divergence fault hook.
    faulty: Option<u16>,
    /// Workers' per-address query rate.
    query_rate: u32,
}

/// Starts a pRuntime and its relayer, allows the measurement and waits for
/// the registration. Returns the pRuntime's identity (0x hex).
async fn start_pair(
    pair: &Pair<'_>,
    base: &Path,
    node_url: &str,
    pruntime_bin: &Path,
    relayer_bin: &Path,
    client: &Client,
    workers: &mut Vec<Managed>,
) -> Result<String, CliError> {
    let data = base.join(&pair.name);
    let mut pruntime_args: Vec<String> = vec![
        "--data-dir".into(),
        data.display().to_string(),
        "--private-addr".into(),
        format!("127.0.0.1:{}", pair.port),
        "--public-addr".into(),
        format!("127.0.0.1:{}", pair.port + 1),
        "--tee".into(),
        "sim".into(),
        "--role".into(),
        pair.role.into(),
    ];
    pruntime_args.extend(pair.extra.iter().cloned());
    workers.push(spawn("pRuntime", pruntime_bin, &pruntime_args, base.join(format!("{}.log", pair.name)))?);
    let relayer_args: Vec<String> = vec![
        "--node".into(),
        node_url.into(),
        "--pruntime".into(),
        format!("127.0.0.1:{}", pair.port),
        "--signer".into(),
        pair.signer.into(),
    ];
    workers.push(spawn("relayer", relayer_bin, &relayer_args, base.join(format!("{}-relayer.log", pair.name)))?);
    let public = PruntimeClient::new(&format!("127.0.0.1:{}", pair.port + 1), quick());
    let info = wait_for_worker("pRuntime to answer", workers, || async { public.info().await.ok() }).await?;
    let measurement = format!("0x{}", hex::encode(&info.measurement));
    let identity = format!("0x{}", hex::encode(info.identity));
    println!("  {} pRuntime identity {identity} (SIMULATED TEE)", pair.role);
    let allowed = client.allowed_measurements().await.map_err(CliError::from)?;
    if !allowed.iter().any(|(m, _)| format!("0x{}", hex::encode(m.as_bytes())) == measurement) {
        let args = crate::registry::SudoArgs { measurement: measurement.clone(), sudo: "//Alice".into() };
        crate::registry::measurement(client, crate::registry::MeasurementCommand::Add(args)).await?;
        println!("  measurement {measurement} allowed (Sudo //Alice)");
    }
    let status = wait_for_worker("the worker to sync and register", workers, || async {
        pruntime_status(pair.port).await.filter(|s| s.core.registered)
    })
    .await?;
    let synced = status.core.synced_block.map_or("-".to_string(), |n| n.to_string());
    println!("  {} synced to #{synced} and registered on chain", pair.role);
    Ok(identity)
}

/// ` | gatekeeper epoch N` for the status line.
async fn gatekeeper_status(port: u16) -> String {
    match pruntime_status(port).await {
        Some(s) => match s.core.epochs.last().map(|e| e.epoch) {
            Some(epoch) => format!(" | gatekeeper epoch {epoch}"),
            None => " | gatekeeper without key".into(),
        },
        None => " | gatekeeper unreachable".into(),
    }
}

/// Starts the gatekeeper and the worker, appoints the gatekeeper and waits
/// for the master key of epoch 0.
async fn start_worker(
    plan: &Plan,
    base: &Path,
    node_url: &str,
    pruntime_bin: &Path,
    relayer_bin: &Path,
    client: &Client,
    workers: &mut Vec<Managed>,
) -> Result<(), CliError> {
    let gatekeeper = Pair {
        name: "gatekeeper".into(),
        role: "gatekeeper",
        port: plan.base_port + 2,
        signer: "//Eve",
        extra: vec![],
    };
    let identity = start_pair(&gatekeeper, base, node_url, pruntime_bin, relayer_bin, client, workers).await?;
    let set: Vec<umbra_crypto::sr25519::Public> = client
        .storage(&umbra_runtime::modules::gatekeeper::keys::gatekeepers(), None)
        .await?
        .and_then(|raw| parity_scale_codec::Decode::decode(&mut &raw[..]).ok())
        .unwrap_or_default();
    if set.is_empty() {
        let id = crate::registry::parse_identity(&identity)?;
        let call = umbra_runtime::RuntimeCall::Gatekeeper(umbra_runtime::modules::gatekeeper::Call::add_gatekeeper {
            identity: id,
        });
        crate::registry::sudo(client, "//Alice", call).await?;
        println!("  gatekeeper appointed (Sudo //Alice)");
    }
    let key = umbra_runtime::modules::gatekeeper::keys::master_pubkey(0);
    for _ in 0..300 {
        if client.storage(&key, None).await?.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let published = client
        .storage(&key, None)
        .await?
        .ok_or_else(|| CliError::new("the gatekeeper did not publish epoch 0's key"))?;
    println!("  master key epoch 0 published: 0x{}", hex::encode(published));
    for (i, signer) in (1..=plan.workers).zip(WORKER_SIGNERS) {
        let faulty = plan.faulty == Some(i);
        if faulty {
            println!("  worker {i}: TEST FAULT HOOK — its contract state diverges on purpose");
        }
        let worker = Pair {
            name: if i == 1 { "pruntime".into() } else { format!("pruntime{i}") },
            role: "worker",
            port: worker_port(plan.base_port, i),
            signer,
            extra: [
                vec!["--query-rate".to_string(), plan.query_rate.to_string()],
                if faulty { vec!["--test-fault-diverge".to_string()] } else { vec![] },
            ]
            .concat(),
        };
        start_pair(&worker, base, node_url, pruntime_bin, relayer_bin, client, workers).await?;
    }
    Ok(())
}

async fn wait_for_worker<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    workers: &mut [Managed],
    mut f: impl FnMut() -> F,
) -> Result<T, CliError> {
    for _ in 0..600 {
        if let Some(w) = workers.iter_mut().find_map(|w| matches!(w.child.try_wait(), Ok(Some(_))).then_some(w)) {
            return Err(CliError::new(format!("{} exited while waiting for {what}:\n{}", w.name, tail(&w.log, 15))));
        }
        if let Some(v) = f().await {
            return Ok(v);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(CliError::new(format!("timed out waiting for {what}")))
}

//! `umbra-pruntime`: the worker runtime. With `--tee sim` it runs in a
//! clearly labelled SIMULATED TEE; with `--tee gramine-sgx` it uses
//! Gramine's `/dev/attestation` inside an SGX enclave.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use clap::{Parser, ValueEnum};
use umbra_pruntime::service::{Pruntime, Settings};
use umbra_pruntime_core::core::Config;
use umbra_runtime::modules::registry::{WorkerFeatures, WorkerRole};
use umbra_tee::Platform;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Tee {
    /// SIMULATED TEE: no hardware protection (development only).
    Sim,
    /// Gramine SGX (`/dev/attestation`).
    GramineSgx,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Role {
    Worker,
    Gatekeeper,
}

/// pRuntime: verified chain sync and confidential execution inside a TEE.
#[derive(Parser, Debug)]
#[command(name = "umbra-pruntime", version)]
struct Args {
    /// Directory for sealed identity and checkpoints.
    #[arg(long)]
    data_dir: PathBuf,
    /// Private API address (the relayer's; keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:8100")]
    private_addr: SocketAddr,
    /// Public API address (users' queries, info).
    #[arg(long, default_value = "127.0.0.1:8101")]
    public_addr: SocketAddr,
    /// TEE backend (required: `sim` is the SIMULATED TEE, development
    /// only; production chains refuse its evidence).
    #[arg(long, value_enum)]
    tee: Tee,
    /// Simulated attestation service key file (secret URI); the dev key when absent.
    #[arg(long)]
    sim_key_file: Option<PathBuf>,
    /// Gramine's attestation directory.
    #[arg(long, default_value = "/dev/attestation")]
    attestation_dir: PathBuf,
    /// Role to register for.
    #[arg(long, value_enum, default_value = "worker")]
    role: Role,
    /// Heartbeat every this many blocks.
    #[arg(long, default_value_t = 20)]
    heartbeat_interval: u32,
    /// Checkpoint every this many blocks.
    #[arg(long, default_value_t = 100)]
    checkpoint_interval: u32,
    /// Refuse queries after this many seconds without a finalized block.
    #[arg(long, default_value_t = 60)]
    max_staleness_secs: u64,
    /// CPU cores offered.
    #[arg(long, default_value_t = 1)]
    cores: u32,
    /// Memory offered (MiB).
    #[arg(long, default_value_t = 1024)]
    memory_mb: u64,
    /// Public requests (queries, info, state) per second each client
    /// address may send (burst: twice).
    #[arg(long, default_value_t = 2000)]
    query_rate: u32,
    /// `/info` renews its attestation at most every this many seconds.
    #[arg(long, default_value_t = 10)]
    info_refresh_secs: u64,
    /// Connections served at once per API (more wait in the backlog).
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// A query running longer than this (milliseconds of wall time) traps.
    #[arg(long, default_value_t = 2000)]
    query_deadline_ms: u64,
    /// TEST ONLY: make this replica's contract state diverge on purpose
    /// (shows the chain freezing the cluster). Never in production.
    #[arg(long, hide = true)]
    test_fault_diverge: bool,
}

fn platform(args: &Args) -> Result<Arc<dyn Platform>, String> {
    match args.tee {
        Tee::Sim => {
            let service_key = match &args.sim_key_file {
                Some(path) => umbra_tee::sim::load_service_key(path).map_err(|e| e.to_string())?,
                None => umbra_attestation::sim::dev_sim_service_pair(),
            };
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let binary = std::fs::read(&exe).map_err(|e| format!("{}: {e}", exe.display()))?;
            let config = umbra_tee::sim::SimConfig {
                measurement: umbra_tee::sim::measure(&binary, env!("CARGO_PKG_VERSION")),
                service_key,
                sealing_key_path: args.data_dir.join("sim-sealing.key"),
                tcb_status: umbra_attestation::TcbStatus::UpToDate,
                advisories: Vec::new(),
            };
            let platform =
                umbra_tee::sim::SimPlatform::open(config, umbra_tee::sim::system_clock()).map_err(|e| e.to_string())?;
            Ok(Arc::new(platform))
        }
        Tee::GramineSgx => {
            Ok(Arc::new(umbra_tee::gramine::GramineSgx::open(&args.attestation_dir).map_err(|e| e.to_string())?))
        }
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        // Colours only on a terminal (and never with NO_COLOR).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none())
        .init();
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("Error: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    // Installed first: a stop asked for during start-up is not lost.
    let mut shutdown = umbra_process::ShutdownListener::install().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&args.data_dir).map_err(|e| format!("{}: {e}", args.data_dir.display()))?;
    let platform = platform(&args)?;
    let settings = Settings {
        data_dir: args.data_dir.clone(),
        config: Config {
            role: match args.role {
                Role::Worker => WorkerRole::Worker,
                Role::Gatekeeper => WorkerRole::Gatekeeper,
            },
            heartbeat_interval: args.heartbeat_interval,
            caught_up_slack: 2,
            domain: platform.key_domain(),
            test_fault_diverge: args.test_fault_diverge,
        },
        checkpoint_interval: args.checkpoint_interval.max(1),
        max_staleness: Duration::from_secs(args.max_staleness_secs),
        features: WorkerFeatures { cores: args.cores, memory_mb: args.memory_mb },
        operator: None,
        query_rate: args.query_rate,
        info_refresh: Duration::from_secs(args.info_refresh_secs),
        max_connections: args.max_connections,
        query_deadline: Duration::from_millis(args.query_deadline_ms),
        header_timeout: umbra_pruntime::service::HEADER_TIMEOUT,
    };
    let pruntime = Pruntime::open(platform, settings).map_err(|e| e.to_string())?;
    let (private, public, task) =
        pruntime.serve(args.private_addr, args.public_addr).await.map_err(|e| e.to_string())?;
    // Machine-readable lines for scripts and tests.
    println!("private api: http://{private}");
    println!("public api: http://{public}");
    tokio::select! {
        _ = task => Err("server stopped".into()),
        signal = shutdown.recv() => {
            tracing::info!(signal = signal.name(), "stopping");
            Ok(())
        }
    }
}

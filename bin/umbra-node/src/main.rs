//! `umbra-node`: the chain node. Argument parsing only; the node is the
//! `umbra-node` library crate.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};
use umbra_node::{
    chain_spec::ChainSpec,
    keystore::{self, AuthorityKeys, KeyType},
    service::{self, chain_dir},
    NodeConfig,
};
use umbra_storage::Pruning;

/// The umbra chain node.
#[derive(Parser)]
#[command(name = "umbra-node", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Prints a chain spec as JSON.
    BuildSpec {
        /// `dev`, `local` or a spec file.
        #[arg(long, default_value = "local")]
        chain: String,
        /// Print the genesis as raw storage.
        #[arg(long)]
        raw: bool,
    },
    /// Manages the keystore.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Deletes the chain's database.
    PurgeChain {
        #[command(flatten)]
        shared: Shared,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Writes canonical blocks to a file.
    ExportBlocks {
        #[command(flatten)]
        shared: Shared,
        /// First block (default 1).
        #[arg(long, default_value_t = 1)]
        from: u32,
        /// Last block (default: best).
        #[arg(long)]
        to: Option<u32>,
        /// Output file.
        output: PathBuf,
    },
    /// Verifies and imports blocks from a file.
    ImportBlocks {
        #[command(flatten)]
        shared: Shared,
        /// Input file.
        input: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Stores an authority key (secret URI) in the keystore.
    Insert {
        #[command(flatten)]
        shared: Shared,
        /// Secret URI of the key.
        #[arg(long)]
        suri: String,
        /// `aura` (sr25519) or `gran` (ed25519).
        #[arg(long)]
        key_type: KeyType,
    },
}

#[derive(Args, Clone)]
struct Shared {
    /// `dev`, `local` or a spec file.
    #[arg(long, default_value = "local")]
    chain: String,
    /// Base directory of node data.
    #[arg(long, short = 'd')]
    base_path: PathBuf,
}

#[derive(Args)]
struct RunArgs {
    /// Development mode: the `dev` chain, Alice's keys, a temporary base path unless one is given.
    #[arg(long)]
    dev: bool,
    /// `dev`, `local` (Alice and Bob), `local-<n>` (the first n of Alice,
    /// Bob, Charlie, Dave, Eve, Ferdie, One; 1–7) or a spec file.
    #[arg(long)]
    chain: Option<String>,
    /// Base directory of node data.
    #[arg(long, short = 'd')]
    base_path: Option<PathBuf>,
    /// Use a temporary base path, deleted on exit.
    #[arg(long)]
    tmp: bool,
    /// Author blocks and vote with the keys in the keystore.
    #[arg(long)]
    validator: bool,
    /// Use a dev account's keys (alice, bob, charlie, dave, eve, ferdie, one) and act as a validator.
    #[arg(long, value_parser = ["alice", "bob", "charlie", "dave", "eve", "ferdie", "one"])]
    dev_account: Option<String>,
    /// Node name for logs.
    #[arg(long, default_value = "umbra")]
    name: String,
    /// JSON-RPC port (HTTP and WebSocket); 0 picks a free one.
    #[arg(long, default_value_t = 9944)]
    rpc_port: u16,
    /// Listen for RPC on all interfaces, not only localhost (then any `Host`
    /// header is accepted; locally only the node's own addresses are).
    #[arg(long)]
    rpc_external: bool,
    /// Browser origins allowed to call the RPC (comma-separated
    /// `protocol://host[:port]`, `*` as any port, or `all`). Default: all on
    /// development chains, else localhost and https://polkadot.js.org.
    #[arg(long)]
    rpc_cors: Option<String>,
    /// Heavy RPC calls (sync batches, state pages, proofs, runtime calls…)
    /// per second per connection; bursts of twice that.
    #[arg(long, default_value_t = 50)]
    rpc_heavy_rate: u32,
    /// Disable the RPC server.
    #[arg(long)]
    no_rpc: bool,
    /// Most RPC connections.
    #[arg(long, default_value_t = 100)]
    rpc_max_connections: u32,
    /// Largest RPC request, in MiB.
    #[arg(long, default_value_t = 15)]
    rpc_max_request_size: u32,
    /// KiB of changes or state pairs one worker-sync answer
    /// (`umbra_getSyncBatch`, `umbra_getStatePairs`) carries before it is
    /// cut and says where to continue (64..=4096).
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(64..=4096))]
    rpc_sync_budget_kib: u32,
    /// Most subscriptions per RPC connection.
    #[arg(long, default_value_t = 1024)]
    rpc_max_subscriptions_per_connection: u32,
    /// Serve Prometheus metrics on this port (localhost).
    #[arg(long)]
    prometheus_port: Option<u16>,
    /// File holding the 32-byte network key (generated on first start).
    #[arg(long)]
    node_key_file: Option<PathBuf>,
    /// Peer-to-peer port: listens on /ip4/0.0.0.0/tcp/PORT (127.0.0.1 on
    /// development chains). Default 30333; on development chains a free port.
    #[arg(long)]
    port: Option<u16>,
    /// Multiaddrs to listen on instead (`/ip4/127.0.0.1/tcp/30333`).
    #[arg(long, num_args = 1..)]
    listen_addr: Vec<String>,
    /// Multiaddrs this node is reachable at, told to peers.
    #[arg(long, num_args = 1..)]
    public_addr: Vec<String>,
    /// Peers to connect to at start (`/ip4/…/tcp/…/p2p/<peer id>`), with the
    /// chain spec's `bootNodes`.
    #[arg(long, num_args = 1..)]
    bootnodes: Vec<String>,
    /// Peers always kept connected (`/ip4/…/tcp/…/p2p/<peer id>`).
    #[arg(long, num_args = 1..)]
    reserved_nodes: Vec<String>,
    /// Connect to and accept only the reserved nodes.
    #[arg(long)]
    reserved_only: bool,
    /// Most inbound peers (reserved nodes not counted).
    #[arg(long, default_value_t = 25)]
    in_peers: u32,
    /// Most outbound peers (reserved nodes not counted).
    #[arg(long, default_value_t = 8)]
    out_peers: u32,
    /// How a node with an empty database syncs: `full` (every block from
    /// genesis) or `warp` (the finalized head proven by one justification
    /// per authority set, its state, then the rest in full).
    #[arg(long, default_value = "full")]
    sync: umbra_node::network::SyncMode,
    /// RPC methods served: `auto` (unsafe ones only on a loopback server),
    /// `safe` or `unsafe`.
    #[arg(long, default_value = "auto", value_parser = ["auto", "safe", "unsafe"])]
    rpc_methods: String,
    /// State pruning: `archive` or the number of finalized blocks to keep.
    #[arg(long, default_value = "256")]
    pruning: Pruning,
    /// Finalized blocks whose storage changes are kept for `umbra_getStorageChanges`.
    #[arg(long, default_value_t = 4096)]
    state_changes_window: u32,
    /// Most transactions in the pool.
    #[arg(long, default_value_t = 8192)]
    pool_limit: usize,
    /// Most bytes of transactions in the pool, in KiB.
    #[arg(long, default_value_t = 20480)]
    pool_kbytes: usize,
    /// GRANDPA gossip time estimate in milliseconds.
    #[arg(long)]
    gossip_duration_ms: Option<u64>,
    /// Log filter, e.g. `info,umbra::grandpa=debug`.
    #[arg(long, short = 'l', default_value = "info")]
    log: String,
}

fn init_logging(filter: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| format!("invalid --log filter: {e}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal (and never with NO_COLOR): log files
        // and pipes get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none())
        .with_target(true)
        .try_init()
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(command) => run_command(command),
        None => run_node(cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {}", message.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn run_command(command: Command) -> Result<(), String> {
    match command {
        Command::BuildSpec { chain, raw } => {
            let spec = ChainSpec::load(&chain).map_err(|e| e.to_string())?;
            let spec = if raw { spec.to_raw().map_err(|e| e.to_string())? } else { spec };
            println!("{}", serde_json::to_string_pretty(&spec).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Key(KeyCommand::Insert { shared, suri, key_type }) => {
            let spec = ChainSpec::load(&shared.chain).map_err(|e| e.to_string())?;
            let dir = chain_dir(&shared.base_path, &spec).join("keystore");
            let public = keystore::insert(&dir, key_type, &suri).map_err(|e| e.to_string())?;
            println!("inserted {} key 0x{}", key_type.id(), hex_string(&public));
            Ok(())
        }
        Command::PurgeChain { shared, yes } => {
            let spec = ChainSpec::load(&shared.chain).map_err(|e| e.to_string())?;
            let db = chain_dir(&shared.base_path, &spec).join("db");
            if !yes {
                return Err(format!("this deletes {}; run again with -y to confirm", db.display()));
            }
            match std::fs::remove_dir_all(&db) {
                Ok(()) => println!("{} removed", db.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => println!("{} does not exist", db.display()),
                Err(e) => return Err(format!("{}: {e}", db.display())),
            }
            Ok(())
        }
        Command::ExportBlocks { shared, from, to, output } => {
            let spec = ChainSpec::load(&shared.chain).map_err(|e| e.to_string())?;
            let chain = service::open_chain(&spec, &shared.base_path, umbra_storage::Config::default())
                .map_err(|e| e.to_string())?;
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(&output).map_err(|e| format!("{}: {e}", output.display()))?,
            );
            let n = umbra_node::blocks::export(&chain, from, to, &mut file).map_err(|e| e.to_string())?;
            std::io::Write::flush(&mut file).map_err(|e| e.to_string())?;
            println!("exported {n} blocks to {}", output.display());
            Ok(())
        }
        Command::ImportBlocks { shared, input } => {
            let spec = ChainSpec::load(&shared.chain).map_err(|e| e.to_string())?;
            let chain = service::open_chain(&spec, &shared.base_path, umbra_storage::Config::default())
                .map_err(|e| e.to_string())?;
            let mut file =
                std::io::BufReader::new(std::fs::File::open(&input).map_err(|e| format!("{}: {e}", input.display()))?);
            let (imported, known) = umbra_node::blocks::import(&chain, &mut file).map_err(|e| e.to_string())?;
            println!("imported {imported} blocks ({known} already known)");
            Ok(())
        }
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn run_node(args: RunArgs) -> Result<(), String> {
    init_logging(&args.log)?;
    let chain = match (&args.chain, args.dev) {
        (Some(c), _) => c.clone(),
        (None, true) => "dev".into(),
        (None, false) => "local".into(),
    };
    let spec = ChainSpec::load(&chain).map_err(|e| e.to_string())?;
    let tmp = if args.tmp || (args.dev && args.base_path.is_none()) {
        Some(tempfile::Builder::new().prefix("umbra-node").tempdir().map_err(|e| e.to_string())?)
    } else {
        None
    };
    let base_path = match (&args.base_path, &tmp) {
        (Some(p), _) => p.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => return Err("--base-path is required (or use --dev / --tmp)".into()),
    };
    let authority = match (&args.dev_account, args.dev, args.validator) {
        (Some(name), _, _) => Some(AuthorityKeys::dev(&capitalize(name)).map_err(|e| e.to_string())?),
        (None, true, _) => Some(AuthorityKeys::dev("Alice").map_err(|e| e.to_string())?),
        (None, false, true) => {
            let dir = chain_dir(&base_path, &spec).join("keystore");
            Some(keystore::load(&dir).map_err(|e| e.to_string())?.ok_or_else(|| {
                format!("--validator needs aura and gran keys in {} (umbra-node key insert)", dir.display())
            })?)
        }
        (None, false, false) => None,
    };
    let ip = if args.rpc_external { [0, 0, 0, 0] } else { [127, 0, 0, 1] };
    let rpc = (!args.no_rpc).then(|| {
        let mut config = umbra_rpc::Config::new(SocketAddr::from((ip, args.rpc_port)));
        config.max_connections = args.rpc_max_connections;
        config.max_request_size = args.rpc_max_request_size.saturating_mul(1024 * 1024);
        config.max_subscriptions_per_connection = args.rpc_max_subscriptions_per_connection;
        config.sync_byte_budget = args.rpc_sync_budget_kib.saturating_mul(1024);
        config.heavy_calls_per_second = args.rpc_heavy_rate;
        config
    });
    let rpc = match rpc {
        Some(mut config) => {
            config.cors = match &args.rpc_cors {
                Some(list) => umbra_rpc::limits::Cors::parse(list).map_err(|e| format!("--rpc-cors: {e}"))?,
                None if spec.chain_type == "Development" => umbra_rpc::limits::Cors::All,
                None => umbra_rpc::limits::Cors::default_list(),
            };
            // A local-only server answers only its own addresses (DNS
            // rebinding); an external one any host.
            config.local_hosts_only = !args.rpc_external;
            Some(config)
        }
        None => None,
    };
    let development = spec.chain_type == "Development";
    let multiaddrs = |flag: &str, list: &[String]| -> Result<Vec<umbra_network::Multiaddr>, String> {
        list.iter().map(|a| a.parse().map_err(|e| format!("--{flag} `{a}`: not a multiaddr ({e})"))).collect()
    };
    let listen = if args.listen_addr.is_empty() {
        let ip = if development { "127.0.0.1" } else { "0.0.0.0" };
        let port = args.port.unwrap_or(if development { 0 } else { 30333 });
        vec![format!("/ip4/{ip}/tcp/{port}")]
    } else {
        args.listen_addr.clone()
    };
    let network = umbra_node::NetworkConfig {
        listen: multiaddrs("listen-addr", &listen)?,
        public: multiaddrs("public-addr", &args.public_addr)?,
        bootnodes: multiaddrs("bootnodes", &args.bootnodes)?,
        reserved: multiaddrs("reserved-nodes", &args.reserved_nodes)?,
        reserved_only: args.reserved_only,
        in_peers: args.in_peers,
        out_peers: args.out_peers,
        sync: args.sync,
    };
    for address in network.bootnodes.iter().chain(&network.reserved) {
        umbra_network::peer_of(address).map_err(|e| e.to_string())?;
    }
    let rpc_unsafe = match args.rpc_methods.as_str() {
        "unsafe" => true,
        "safe" => false,
        _ => !args.rpc_external,
    };
    let gossip = args.gossip_duration_ms.unwrap_or(if spec.chain_type == "Development" { 200 } else { 1000 });
    let config = NodeConfig {
        spec,
        base_path,
        name: args.name,
        authority,
        rpc,
        prometheus: args.prometheus_port.map(|p| SocketAddr::from(([127, 0, 0, 1], p))),
        db: umbra_storage::Config { pruning: args.pruning, changes_window: args.state_changes_window },
        pool: umbra_txpool::Limits {
            max_count: args.pool_limit,
            max_bytes: args.pool_kbytes.saturating_mul(1024),
            ..Default::default()
        },
        grandpa: umbra_consensus::grandpa::Config { gossip_duration: Duration::from_millis(gossip) },
        node_key_file: args.node_key_file,
        network: Some(network),
        rpc_unsafe,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        // Installed first: a stop asked for during start-up is not lost.
        let mut shutdown = umbra_process::ShutdownListener::install().map_err(|e| e.to_string())?;
        let node = umbra_node::start(config).await.map_err(|e| e.to_string())?;
        let signal = shutdown.recv().await;
        tracing::info!(target: "umbra::node", signal = signal.name(), "shutting down");
        node.stop().await;
        Ok::<(), String>(())
    })?;
    drop(tmp);
    Ok(())
}

fn capitalize(name: &str) -> String {
    let mut c = name.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

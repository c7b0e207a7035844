//! `umbra-relayer`: follows an umbra node's finalized chain and feeds one
//! pRuntime; registers the worker and submits its signed messages.

use std::sync::Arc;

use clap::Parser;
use umbra_crypto::{suri::SecretUri, Pair, Scheme};
use umbra_relayer::{PruntimeClient, Relayer};

/// The relayer between an umbra node and a pRuntime.
#[derive(Parser, Debug)]
#[command(name = "umbra-relayer", version)]
struct Args {
    /// The node's WebSocket RPC.
    #[arg(long, default_value = "ws://127.0.0.1:9944")]
    node: String,
    /// pRuntime's private API (`host:port`).
    #[arg(long, default_value = "127.0.0.1:8100")]
    pruntime: String,
    /// The account paying for registrations and messages (secret URI; `-`
    /// reads it from stdin). Required: a dev account's well-known key is
    /// never a silent default.
    #[arg(long)]
    signer: String,
    /// Replay every block from genesis instead of loading a recent state
    /// (needs `--pruning archive` and a large `--state-changes-window` on the node).
    #[arg(long)]
    from_genesis: bool,
    /// DCAP collateral for registrations of SGX/TDX workers: a PCCS JSON
    /// file (as `umbra attestation verify --collateral` reads).
    #[arg(long)]
    collateral: Option<std::path::PathBuf>,
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
    // Installed first: a stop asked for while connecting is not lost.
    let mut shutdown = umbra_process::ShutdownListener::install().map_err(|e| e.to_string())?;
    let secret = if args.signer == "-" {
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
        zeroize::Zeroizing::new(line.trim().to_string())
    } else {
        zeroize::Zeroizing::new(args.signer.clone())
    };
    let uri = SecretUri::parse(&secret).map_err(|e| format!("--signer: {e}"))?;
    let signer = Pair::from_suri(Scheme::Sr25519, &uri).map_err(|e| format!("--signer: {e}"))?;
    let collateral = match &args.collateral {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Some(umbra_attestation::DcapCollateral::from_json(&bytes).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let relay = async {
        // The node may start after us: retry the connection.
        let node = loop {
            match umbra_client::Client::connect(&args.node).await {
                Ok(c) => break c,
                Err(e) => {
                    tracing::warn!(error = %e, "node not reachable yet");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        };
        println!("relaying {} -> {}", args.node, args.pruntime);
        Relayer::new(Arc::new(node), PruntimeClient::private(&args.pruntime), signer)
            .reconnect_to(args.node.clone())
            .from_genesis(args.from_genesis)
            .with_collateral(collateral)
            .run()
            .await;
    };
    // Everything the relayer holds is on chain or in pRuntime: stopping at
    // any await point loses nothing.
    tokio::select! {
        () = relay => Ok(()),
        signal = shutdown.recv() => {
            tracing::info!(signal = signal.name(), "stopping");
            Ok(())
        }
    }
}

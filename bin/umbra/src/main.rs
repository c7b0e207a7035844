//! `umbra`: the command-line tool of the umbra network.
//!
//! Argument parsing and dispatch only; the work happens in the library
//! crates. Every failure prints one line, `Error: <reason>`, on stderr and
//! exits with status 1 (usage errors: status 2, from clap). With
//! `--output json`, chain and contract commands print one JSON document
//! on stdout instead of text (a failure also as `{"error": "<reason>"}`).

mod attestation;
mod bench;
mod chain;
mod contract;
mod demo;
mod devnet;
mod gatekeeper;
mod key;
mod progress;
mod registry;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// umbra: confidential smart contracts on a Substrate-compatible chain.
#[derive(Parser)]
#[command(name = "umbra", version, about, propagate_version = true)]
struct Cli {
    /// Node to talk to (WebSocket JSON-RPC).
    #[arg(long, global = true, default_value = "ws://127.0.0.1:9944")]
    url: String,
    /// How results are printed: `text`, or `json` for scripts (chain,
    /// contract, cluster, worker, measurement, gatekeeper and bench
    /// commands).
    #[arg(long, global = true, value_enum, default_value_t = report::Format::Text)]
    output: report::Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a local network (today: one dev node) and show its status until Ctrl-C.
    Devnet(devnet::DevnetArgs),
    /// Generate, inspect and use keys (compatible with Substrate's `subkey`).
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Show an account's balances and nonce.
    Balance {
        /// SS58 address, 0x account id, or a dev URI like //Alice.
        account: String,
    },
    /// Transfer UMB; waits for inclusion and finality and shows the fee.
    Transfer(chain::TransferArgs),
    /// Chain information.
    #[command(subcommand)]
    Chain(chain::ChainCommand),
    /// Show a block by number or hash.
    Block {
        /// Block number or 0x hash.
        block: String,
    },
    /// Verify TEE evidence offline (DCAP quotes, IAS reports, sim evidence).
    #[command(subcommand)]
    Attestation(attestation::AttestationCommand),
    /// Registered workers.
    #[command(subcommand)]
    Worker(registry::WorkerCommand),
    /// The pRuntime measurement allowlist.
    #[command(subcommand)]
    Measurement(registry::MeasurementCommand),
    /// Gatekeepers: set, epochs, master public keys, rotation.
    #[command(subcommand)]
    Gatekeeper(gatekeeper::GatekeeperCommand),
    /// Clusters of workers.
    #[command(subcommand)]
    Cluster(gatekeeper::ClusterCommand),
    /// Confidential contracts: new, build, upload, instantiate, call, query.
    #[command(subcommand)]
    Contract(contract::ContractCommand),
    /// Measure a running network: confidential commands/s, queries/s.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// A failure to report to the user: one line, no secrets.
#[derive(Debug)]
pub(crate) struct CliError(String);

impl CliError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        CliError(message.into())
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))
}

async fn with_client<T, F, Fut>(url: &str, f: F) -> Result<T, CliError>
where
    F: FnOnce(umbra_client::Client) -> Fut,
    Fut: std::future::Future<Output = Result<T, CliError>>,
{
    let client = umbra_client::Client::connect(url).await?;
    f(client).await
}

/// A command's result: a report (text or JSON), or text only (keys,
/// attestation, devnet: not chain or contract commands).
enum Printed {
    Report(report::Report),
    Text(String),
}

fn run(command: Command, url: &str) -> Result<Printed, CliError> {
    match command {
        Command::Key(cmd) => key::run(cmd).map(Printed::Text),
        Command::Devnet(args) => runtime().and_then(|rt| rt.block_on(devnet::run(args))).map(Printed::Text),
        Command::Attestation(cmd) => attestation::run(cmd).map(Printed::Text),
        Command::Contract(contract::ContractCommand::New { name, dir }) => {
            contract::new_crate(&name, &dir).map(Printed::Report)
        }
        Command::Contract(contract::ContractCommand::Build { path, target_dir }) => {
            contract::build(&path, target_dir.as_deref()).map(Printed::Report)
        }
        command => runtime()
            .and_then(|rt| rt.block_on(with_client(url, |c| async move { on_chain_command(&c, command).await })))
            .map(Printed::Report),
    }
}

async fn on_chain_command(c: &umbra_client::Client, command: Command) -> Result<report::Report, CliError> {
    match command {
        Command::Balance { account } => chain::balance(c, &account).await,
        Command::Transfer(args) => chain::transfer(c, args).await,
        Command::Chain(chain::ChainCommand::Status) => chain::status(c).await,
        Command::Block { block } => chain::block(c, &block).await,
        Command::Worker(cmd) => registry::worker(c, cmd).await,
        Command::Measurement(cmd) => registry::measurement(c, cmd).await,
        Command::Gatekeeper(cmd) => gatekeeper::gatekeeper_command(c, cmd).await,
        Command::Cluster(cmd) => gatekeeper::cluster_command(c, cmd).await,
        Command::Contract(cmd) => contract::run(c, cmd).await,
        Command::Bench(cmd) => bench::run(c, cmd).await,
        Command::Key(_) | Command::Devnet(_) | Command::Attestation(_) => Err(CliError::new("not a chain command")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.output == report::Format::Json;
    match run(cli.command, &cli.url) {
        Ok(Printed::Report(report)) if json => {
            println!("{}", serde_json::to_string_pretty(&report.json).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(Printed::Report(report::Report { text: output, .. }) | Printed::Text(output)) => {
            if !output.is_empty() {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(CliError(message)) => {
            // One line, whatever the error text contains.
            let line = message.replace('\n', " ");
            if json {
                println!("{}", serde_json::json!({ "error": line }));
            }
            eprintln!("Error: {line}");
            ExitCode::FAILURE
        }
    }
}

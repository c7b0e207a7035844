//! `umbra bench`: end-to-end throughput of a running network, measured
//! from outside through its public APIs (`umbra_client::bench`).
//!
//! * `commands`: `--count` sealed commands to one contract, signed with
//!   consecutive nonces and submitted in nonce order; the rate is from the
//!   first submission to the finalized block holding the last commit.
//!   Statuses come from the public `CommandExecuted` events. Assumes no
//!   other traffic to the contract meanwhile.
//! * `queries`: `--count` encrypted, signed-answer queries to one worker
//!   over `--concurrency` kept-alive connections; rate, p50 and p99
//!   latency.
//! * `finality`: `--count` transfers, one every `--interval-ms`, each
//!   watched from submission to its block and to finality; p50 and p99 of
//!   both.

use std::time::Duration;

use clap::Subcommand;
use umbra_client::{
    bench::{self, CommandLoad, QueryLoad, Step},
    Client,
};
use umbra_primitives::H256;

use serde_json::json;

use crate::contract::{parse_h256, signer};
use crate::report::{hex0x, Report};
use crate::CliError;

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// Confidential commands per second, end to end: sealed, signed,
    /// submitted, executed by every replica, committed and finalized.
    Commands {
        /// Contract id (0x hex).
        #[arg(long)]
        contract: String,
        /// Method (a command of the contract's ABI).
        #[arg(long, default_value = "bump")]
        method: String,
        /// Arguments as a JSON array.
        #[arg(long, default_value = "[]")]
        args: String,
        /// Commands to send.
        #[arg(long, default_value_t = 1000)]
        count: u32,
        /// Gas limit of each.
        #[arg(long, default_value_t = 1_000_000)]
        gas: u64,
        /// Secret URI of the funding account; commands are sent by
        /// `--senders` accounts derived from it (`<from>//bench//<i>`),
        /// funded from it when short.
        #[arg(long, default_value = "//Alice")]
        from: String,
        /// Sending accounts (the pool parks at most 64 future nonces per
        /// account).
        #[arg(long, default_value_t = 32)]
        senders: u32,
        /// Give up waiting for commits after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout_secs: u64,
    },
    /// Encrypted queries per second against one worker, with latency
    /// percentiles.
    Queries {
        /// Contract id (0x hex).
        #[arg(long)]
        contract: String,
        /// Method (a query of the contract's ABI).
        #[arg(long)]
        method: String,
        /// Arguments as a JSON array.
        #[arg(long, default_value = "[]")]
        args: String,
        /// The worker's public API (`http://host:port`).
        #[arg(long)]
        worker: String,
        /// Queries to send.
        #[arg(long, default_value_t = 10_000)]
        count: u32,
        /// Concurrent connections.
        #[arg(long, default_value_t = 8)]
        concurrency: u32,
        /// Secret URI of the account the queries speak for; anonymous
        /// without.
        #[arg(long)]
        from: Option<String>,
    },
    /// Finality latency: transfers at a steady rate, each timed from
    /// submission to its block and to its finalized block.
    Finality {
        /// Transfers to send.
        #[arg(long, default_value_t = 200)]
        count: u32,
        /// Milliseconds between two submissions.
        #[arg(long, default_value_t = 250)]
        interval_ms: u64,
        /// Secret URI of the sender.
        #[arg(long, default_value = "//Alice")]
        from: String,
        /// Secret URI of the recipient (one planck each).
        #[arg(long, default_value = "//Ferdie")]
        to: String,
        /// Give up on a transfer not finalized after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout_secs: u64,
    },
    /// Block propagation: every block watched on several nodes, each
    /// node's delay after the first to have it.
    Propagation {
        /// WebSocket URLs of the nodes (the `--url` node is not added).
        #[arg(long, num_args = 2.., required = true)]
        nodes: Vec<String>,
        /// Blocks to watch.
        #[arg(long, default_value_t = 100)]
        blocks: u32,
        /// Stop after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout_secs: u64,
    },
}

pub(crate) async fn run(client: &Client, command: BenchCommand) -> Result<Report, CliError> {
    match command {
        BenchCommand::Commands { contract, method, args, count, gas, from, senders, timeout_secs } => {
            let contract = parse_h256(&contract, "contract id")?;
            let input = input_of(client, &contract, &method, &args).await?;
            let n = senders.clamp(1, 256).min(count.max(1));
            let senders = (0..n).map(|i| signer(&format!("{from}//bench//{i}"))).collect::<Result<Vec<_>, _>>()?;
            let load = CommandLoad {
                contract,
                input,
                count,
                gas,
                funder: signer(&from)?,
                senders,
                timeout: Duration::from_secs(timeout_secs),
            };
            let spinner = crate::progress::spinner(format!("{count} commands: funding the senders"));
            let report = bench::commands(client, &load, |step| match step {
                Step::Funded(n) => spinner.set_message(format!("{count} commands: funded {n} sending accounts")),
                Step::Sealed { done, total } => spinner.set_message(format!("sealed and signed {done}/{total}")),
                Step::Submitted { done, total } => spinner.set_message(format!("submitted {done}/{total}")),
                Step::Committed { done, queued } => spinner.set_message(format!("committed {done}/{queued}")),
            })
            .await?;
            spinner.done(format!("{} committed", report.committed));
            let json = json!({
                "contract": hex0x(&contract.0),
                "method": method,
                "count": count,
                "gas": gas,
                "committed": report.committed,
                "per_second": report.per_second().to_string(),
                "elapsed_ms": report.elapsed.as_millis().to_string(),
                "blocks": [report.blocks.0, report.blocks.1],
                "statuses": report.statuses,
                "refused": report.refused,
                "rejected": report.rejected,
                "unsent": report.unsent,
                "not_committed": report.not_committed,
            });
            Ok(Report::new(
                format!("{count} commands to 0x{} ({method}, gas {gas}): {report}", hex::encode(contract.0)),
                json,
            ))
        }
        BenchCommand::Queries { contract, method, args, worker, count, concurrency, from } => {
            let contract = parse_h256(&contract, "contract id")?;
            let input = input_of(client, &contract, &method, &args).await?;
            let from = from.as_deref().map(signer).transpose()?;
            let spinner = crate::progress::spinner(format!("{count} queries to {worker}"));
            let load = QueryLoad { contract, input, worker: worker.clone(), count, concurrency, from };
            let report = bench::queries(client, load).await?;
            spinner.done(format!("{} answered", report.answered));
            let json = json!({
                "contract": hex0x(&contract.0),
                "method": method,
                "worker": worker,
                "count": count,
                "concurrency": report.concurrency,
                "answered": report.answered,
                "errors": report.errors,
                "first_error": report.first_error,
                "elapsed_ms": report.elapsed.as_millis().to_string(),
                "p50_us": report.percentile(50),
                "p99_us": report.percentile(99),
            });
            Ok(Report::new(
                format!("{count} queries ({method}) to {worker} over {} connections: {report}", report.concurrency),
                json,
            ))
        }
        BenchCommand::Finality { count, interval_ms, from, to, timeout_secs } => {
            finality(client, count, interval_ms, &from, &to, timeout_secs).await
        }
        BenchCommand::Propagation { nodes, blocks, timeout_secs } => {
            let mut clients = Vec::new();
            for url in &nodes {
                clients.push(Client::connect(url).await?);
            }
            let spinner = crate::progress::spinner(format!("watching {blocks} blocks on {} nodes", nodes.len()));
            let report = bench::propagation(&clients, blocks, Duration::from_secs(timeout_secs)).await?;
            spinner.done(format!("{} blocks seen everywhere", report.blocks));
            let json = json!({
                "nodes": nodes,
                "blocks": report.blocks,
                "incomplete": report.incomplete,
                "p50_us": bench::percentile(&report.delays, 50),
                "p99_us": bench::percentile(&report.delays, 99),
                "max_us": report.delays.last(),
            });
            Ok(Report::new(report.to_string(), json))
        }
    }
}

async fn finality(
    client: &Client,
    count: u32,
    interval_ms: u64,
    from: &str,
    to: &str,
    timeout_secs: u64,
) -> Result<Report, CliError> {
    let to = umbra_primitives::AccountId32(signer(to)?.public());
    let load = bench::FinalityLoad {
        count,
        interval: Duration::from_millis(interval_ms),
        from: signer(from)?,
        to,
        timeout: Duration::from_secs(timeout_secs),
    };
    let spinner =
        crate::progress::spinner(format!("{count} transfers, one every {interval_ms} ms, watched to finality"));
    let report = bench::finality(client, load).await?;
    spinner.done(format!("{} finalized", report.finalized.len()));
    let json = json!({
        "count": count,
        "interval_ms": interval_ms,
        "finalized": report.finalized.len(),
        "failures": report.failures,
        "first_error": report.first_error,
        "included_p50_ms": bench::percentile(&report.included, 50),
        "included_p99_ms": bench::percentile(&report.included, 99),
        "finalized_p50_ms": bench::percentile(&report.finalized, 50),
        "finalized_p99_ms": bench::percentile(&report.finalized, 99),
    });
    Ok(Report::new(format!("{count} transfers, one every {interval_ms} ms: {report}"), json))
}

async fn input_of(client: &Client, contract: &H256, method: &str, args: &str) -> Result<Vec<u8>, CliError> {
    let info = client.contract_info(contract).await?.ok_or_else(|| CliError::new("no such contract"))?;
    Ok(crate::contract::method_input(client, &info.code_hash, method, args).await?.2)
}

//! `umbra bench`: end-to-end throughput of a running network, measured
//! from outside through its public APIs.
//!
//! * `commands`: `--count` sealed commands to one contract, signed with
//!   consecutive nonces and submitted in nonce order; the rate is from the
//!   first submission to the finalized block holding the last commit.
//!   Statuses come from the public `CommandExecuted` events. Assumes no
//!   other traffic to the contract meanwhile.
//! * `queries`: `--count` encrypted, signed-answer queries to one worker
//!   over `--concurrency` kept-alive connections; rate, p50 and p99
//!   latency.

use std::{collections::BTreeMap, sync::Arc, time::Duration, time::Instant};

use clap::Subcommand;
use umbra_client::{contracts::seal_command, Client};
use umbra_crypto::Pair;
use umbra_primitives::{block::OpaqueExtrinsic, extrinsic::MultiAddress, AccountId32, H256};
use umbra_runtime::{
    event::Phase,
    modules::{balances, contracts, system},
    RuntimeCall, RuntimeEvent,
};

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
}

pub(crate) async fn run(client: &Client, command: BenchCommand) -> Result<String, CliError> {
    match command {
        BenchCommand::Commands { contract, method, args, count, gas, from, senders, timeout_secs } => {
            let run = CommandRun { method, args, count, gas, from, senders: senders.clamp(1, 256) };
            commands(client, &contract, &run, Duration::from_secs(timeout_secs)).await
        }
        BenchCommand::Queries { contract, method, args, worker, count, concurrency, from } => {
            queries(client, &contract, &method, &args, &worker, count, concurrency, from.as_deref()).await
        }
    }
}

async fn input_of(client: &Client, contract: &H256, method: &str, args: &str) -> Result<Vec<u8>, CliError> {
    let info = client.contract_info(contract).await?.ok_or_else(|| CliError::new("no such contract"))?;
    Ok(crate::contract::method_input(client, &info.code_hash, method, args).await?.1)
}

/// What `bench commands` sends.
struct CommandRun {
    method: String,
    args: String,
    count: u32,
    gas: u64,
    from: String,
    senders: u32,
}

/// Balance each sending account is topped up to.
const SENDER_FUNDS: u128 = 100 * balances::UMB;

/// Derives the sending accounts and funds those below half of
/// [`SENDER_FUNDS`] from `from` (at most 64 transfers per block: the
/// pool's future-nonce bound).
async fn senders(client: &Client, from: &str, n: u32) -> Result<Vec<Pair>, CliError> {
    let funder = crate::contract::signer(from)?;
    let pairs =
        (0..n).map(|i| crate::contract::signer(&format!("{from}//bench//{i}"))).collect::<Result<Vec<_>, _>>()?;
    let mut short = Vec::new();
    for pair in &pairs {
        let who = AccountId32(pair.public());
        if client.account(&who, None).await?.data.free < SENDER_FUNDS / 2 {
            short.push(who);
        }
    }
    for chunk in short.chunks(64) {
        let nonce = client.next_nonce(&AccountId32(funder.public())).await?;
        let mut last = None;
        for (i, who) in chunk.iter().enumerate() {
            let call = RuntimeCall::Balances(balances::Call::transfer_allow_death {
                dest: MultiAddress::Id(*who),
                value: SENDER_FUNDS,
            });
            let xt = client.sign(call, &funder, nonce + i as u32, 0).await?;
            last = Some(xt);
            if i + 1 < chunk.len() {
                client.submit(last.as_ref().unwrap_or_else(|| unreachable!())).await?;
            }
        }
        if let Some(xt) = last {
            client.submit_and_finalize(&xt, Duration::from_secs(120), |_| {}).await?;
        }
        eprintln!("  funded {} sending accounts", chunk.len());
    }
    Ok(pairs)
}

async fn commands(client: &Client, contract: &str, run: &CommandRun, timeout: Duration) -> Result<String, CliError> {
    let CommandRun { method, args, count, gas, .. } = run;
    let (method, count, gas) = (method.as_str(), *count, *gas);
    let contract = crate::contract::parse_h256(contract, "contract id")?;
    let info = client.contract_info(&contract).await?.ok_or_else(|| CliError::new("no such contract"))?;
    let keys = info.pubkeys.ok_or_else(|| CliError::new("the contract's constructor has not committed"))?;
    let input = input_of(client, &contract, method, args).await?;
    let cluster = client.cluster_info(&info.cluster).await?.ok_or_else(|| CliError::new("no cluster"))?;
    let domain = client.cluster_domain(&cluster).await?;
    let pairs = senders(client, &run.from, run.senders.min(count.max(1))).await?;

    // Sealed and signed up front: sender i sends commands i, i + n, …
    let prepared = now();
    let mut queues: Vec<Vec<OpaqueExtrinsic>> = vec![Vec::new(); pairs.len()];
    for (s, pair) in pairs.iter().enumerate() {
        let account = AccountId32(pair.public());
        let nonce = client.next_nonce(&account).await?;
        let mut binding = client.command_binding(&account, &contract).await?;
        let mine = (count as usize).saturating_sub(s).div_ceil(pairs.len());
        for k in 0..mine {
            let (command, _) = seal_command(&keys.ecdh, binding, input.clone(), domain)?;
            binding.nonce += 1;
            let call = RuntimeCall::Contracts(contracts::Call::call { contract, command, gas_limit: gas });
            queues[s].push(client.sign(call, pair, nonce + k as u32, 0).await?);
        }
    }
    let prepare_secs = seconds(prepared.elapsed());

    let start_block = finalized_number(client).await?;
    let started = now();
    // Round-robin over the senders, each in nonce order; a sender at the
    // pool's future-nonce bound waits for its next block.
    let mut cursor = vec![0usize; queues.len()];
    let mut rejected = 0usize;
    let mut first_error = None;
    while cursor.iter().zip(&queues).any(|(c, q)| *c < q.len()) {
        let mut progressed = false;
        for (s, queue) in queues.iter().enumerate() {
            let Some(xt) = queue.get(cursor[s]) else { continue };
            match client.submit(xt).await {
                Ok(_) => {
                    cursor[s] += 1;
                    progressed = true;
                }
                Err(e) if e.to_string().contains("valid in the future") => {}
                Err(e) => {
                    cursor[s] += 1;
                    rejected += 1;
                    first_error.get_or_insert(e.to_string());
                }
            }
        }
        if !progressed {
            if started.elapsed() > timeout {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let submit_secs = seconds(started.elapsed());
    if let Some(e) = first_error {
        eprintln!("  {rejected} submissions rejected by the pool, e.g.: {e}");
    }
    let accepted = cursor.iter().sum::<usize>() - rejected;

    // Follow finality: queued → executed, by call id.
    let mut queued: BTreeMap<u64, Option<contracts::ExecStatus>> = BTreeMap::new();
    let mut refused = 0usize;
    let mut next = start_block + 1;
    let mut last_commit = None;
    while started.elapsed() < timeout {
        let head = finalized_number(client).await?;
        while next <= head {
            let hash = client.block_hash(next).await?.ok_or_else(|| CliError::new("finalized block vanished"))?;
            for record in client.events(hash).await? {
                match record.event {
                    RuntimeEvent::Contracts(contracts::Event::CommandQueued { call_id, contract: c })
                        if c == contract =>
                    {
                        queued.entry(call_id).or_insert(None);
                    }
                    RuntimeEvent::Contracts(contracts::Event::CommandExecuted { call_id, status, .. }) => {
                        if let Some(slot) = queued.get_mut(&call_id) {
                            *slot = Some(status);
                            last_commit = Some((next, started.elapsed()));
                        }
                    }
                    RuntimeEvent::System(system::Event::ExtrinsicFailed { ref dispatch_error, .. })
                        if matches!(record.phase, Phase::ApplyExtrinsic(_)) =>
                    {
                        let text = umbra_client::describe_error(dispatch_error);
                        if text.starts_with("Contracts.") {
                            refused += 1;
                        }
                    }
                    _ => {}
                }
            }
            next += 1;
        }
        let executed = queued.values().filter(|s| s.is_some()).count();
        if queued.len() + refused >= accepted && executed == queued.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let executed = queued.values().filter(|s| s.is_some()).count();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for status in queued.values().flatten() {
        *statuses.entry(format!("{status:?}")).or_default() += 1;
    }
    let (last_block, elapsed) = last_commit.unwrap_or((next.saturating_sub(1), started.elapsed()));
    let secs = seconds(elapsed);
    let statuses: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    Ok(format!(
        "{count} commands to 0x{} ({method}, gas {gas}): {executed} committed in {secs} s = {} commands/s \
         (blocks #{}..#{last_block}; sealing and signing {prepare_secs} s, submission {submit_secs} s)\n\
         statuses: {}\nrefused by the chain: {refused}; rejected by the pool: {rejected}; not committed: {}",
        hex::encode(contract.0),
        per_second(executed, elapsed),
        start_block + 1,
        if statuses.is_empty() { "none".to_string() } else { statuses.join(", ") },
        queued.len() - executed,
    ))
}

/// The wall clock: a benchmark's only use of time is to measure it.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// `d` as seconds with two decimals.
fn seconds(d: Duration) -> String {
    format!("{}.{:02}", d.as_secs(), d.subsec_millis() / 10)
}

/// Events per second over `d` (integer arithmetic).
fn per_second(n: usize, d: Duration) -> u128 {
    n as u128 * 1_000_000 / d.as_micros().max(1)
}

async fn finalized_number(client: &Client) -> Result<u32, CliError> {
    let hash = client.finalized_hash().await?;
    Ok(client.header(hash).await?.map(|h| h.number).unwrap_or(0))
}

#[allow(clippy::too_many_arguments)]
async fn queries(
    client: &Client,
    contract: &str,
    method: &str,
    args: &str,
    worker: &str,
    count: u32,
    concurrency: u32,
    from: Option<&str>,
) -> Result<String, CliError> {
    let contract = crate::contract::parse_h256(contract, "contract id")?;
    let input = input_of(client, &contract, method, args).await?;
    let target = Arc::new(client.query_target(worker, &contract).await?);
    let pair = from.map(crate::contract::signer).transpose()?.map(Arc::new);
    // As long as a query may stay valid (a worker remembers each nonce
    // for that long).
    let expires_at =
        client.best_header().await?.number.saturating_add(umbra_client::contracts::wire::MAX_QUERY_WINDOW - 10);
    let concurrency = concurrency.clamp(1, 256);
    let started = now();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..concurrency {
        let n = count / concurrency + u32::from(t < count % concurrency);
        let (target, pair, input) = (target.clone(), pair.clone(), input.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(n as usize);
            let mut errors = Vec::new();
            let mut connection = None;
            for _ in 0..n {
                let sent = now();
                let conn = connection.get_or_insert_with(|| target.connect());
                let answer = target.query_on(conn, input.clone(), pair.as_deref(), expires_at).await;
                if answer.is_err() {
                    // A broken connection is replaced on the next query.
                    connection = None;
                }
                match answer {
                    Ok(answer) if answer.response.status == contracts::ExecStatus::Success => {
                        latencies.push(sent.elapsed().as_micros() as u64)
                    }
                    Ok(answer) => errors.push(format!("{:?}", answer.response.status)),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            (latencies, errors)
        });
    }
    let mut latencies = Vec::with_capacity(count as usize);
    let mut errors = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (l, e) = done.map_err(|e| CliError::new(e.to_string()))?;
        latencies.extend(l);
        errors.extend(e);
    }
    let elapsed = started.elapsed();
    let secs = seconds(elapsed);
    latencies.sort_unstable();
    let pct = |p: usize| latencies.get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1))).copied();
    let ms = |v: Option<u64>| v.map_or("-".to_string(), |us| format!("{}.{:02} ms", us / 1000, us % 1000 / 10));
    let mut out = format!(
        "{count} queries ({method}) to {worker} over {concurrency} connections: {} answered in {secs} s = {} queries/s; \
         latency p50 {}, p99 {}, max {}; errors {}",
        latencies.len(),
        per_second(latencies.len(), elapsed),
        ms(pct(50)),
        ms(pct(99)),
        ms(latencies.last().copied()),
        errors.len()
    );
    if let Some(e) = errors.first() {
        out.push_str(&format!(" (first: {e})"));
    }
    Ok(out)
}

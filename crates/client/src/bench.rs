//! Load generation and measurement of a running network through its public
//! APIs (`umbra bench`).
//!
//! * [`commands`]: sealed commands to one contract, signed with consecutive
//!   nonces by several senders and submitted in nonce order; the rate is
//!   from the first submission to the finalized block holding the last
//!   commit, statuses from the public `CommandExecuted` events. Assumes no
//!   other traffic to the contract meanwhile.
//! * [`queries`]: encrypted, signed-answer queries to one worker over
//!   several kept-alive connections; rate and latency percentiles.
//! * [`finality`]: transfers timed from submission to block and finality.
//! * [`propagation`]: when each of several nodes first had each block.
//!
//! Time is read only to measure (the wall clock is this module's output,
//! never an input to what is sent).

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    sync::Arc,
    time::Duration,
    time::Instant,
};

use umbra_crypto::Pair;
use umbra_primitives::{block::OpaqueExtrinsic, extrinsic::MultiAddress, AccountId32, H256};
use umbra_runtime::{
    event::Phase,
    modules::{balances, contracts, system},
    RuntimeCall, RuntimeEvent,
};

use crate::{contracts::seal_command, Client, Error, Result};

/// Balance each sending account is topped up to.
pub const SENDER_FUNDS: u128 = 100 * balances::UMB;

/// What happened during a benchmark, for a progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `n` sending accounts were funded.
    Funded(usize),
    /// Commands sealed and signed so far.
    Sealed {
        /// So far.
        done: usize,
        /// In all.
        total: usize,
    },
    /// Commands accepted by the pool so far.
    Submitted {
        /// So far.
        done: usize,
        /// In all.
        total: usize,
    },
    /// Commands committed so far.
    Committed {
        /// So far.
        done: usize,
        /// Queued on chain.
        queued: usize,
    },
}

/// A load of commands.
pub struct CommandLoad {
    /// The contract.
    pub contract: H256,
    /// The method's input (selector and SCALE arguments).
    pub input: Vec<u8>,
    /// Commands to send.
    pub count: u32,
    /// Each command's gas limit.
    pub gas: u64,
    /// The account that funds the senders.
    pub funder: Pair,
    /// The sending accounts (funded when short of half [`SENDER_FUNDS`]).
    pub senders: Vec<Pair>,
    /// How long to wait for commits.
    pub timeout: Duration,
}

/// How a load of commands went.
#[derive(Clone, Debug)]
pub struct CommandReport {
    /// Commands requested.
    pub count: u32,
    /// Commands committed.
    pub committed: usize,
    /// Commands queued but not committed before the timeout.
    pub not_committed: usize,
    /// This load's extrinsics that the chain included but failed, by
    /// dispatch error (`Module.Error`).
    pub refused: BTreeMap<String, usize>,
    /// Submissions the pool rejected, by its reason.
    pub rejected: BTreeMap<String, usize>,
    /// Commands not submitted because an earlier one of the same sender
    /// was rejected (their nonces could never be included), or because
    /// the timeout passed first.
    pub unsent: usize,
    /// Execution statuses and how many had each.
    pub statuses: BTreeMap<String, usize>,
    /// First and last block the load touched.
    pub blocks: (u32, u32),
    /// From the first submission to the last commit.
    pub elapsed: Duration,
    /// Sealing and signing.
    pub prepare: Duration,
    /// Submission.
    pub submit: Duration,
}

impl CommandReport {
    /// Commits per second.
    pub fn per_second(&self) -> u128 {
        per_second(self.committed, self.elapsed)
    }
}

/// `{total} ({reason}: {n}, …)`, or `0`.
fn counted(reasons: &BTreeMap<String, usize>) -> String {
    let total: usize = reasons.values().sum();
    if total == 0 {
        return "0".into();
    }
    let each: Vec<String> = reasons.iter().map(|(r, n)| format!("{r}: {n}")).collect();
    format!("{total} ({})", each.join(", "))
}

impl fmt::Display for CommandReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statuses: Vec<String> = self.statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        write!(
            f,
            "{} committed in {} s = {} commands/s (blocks #{}..#{}; sealing and signing {} s, submission {} s)\n\
             statuses: {}\nrefused by the chain: {}\nrejected by the pool: {}\nnot sent: {}; not committed: {}",
            self.committed,
            seconds(self.elapsed),
            self.per_second(),
            self.blocks.0,
            self.blocks.1,
            seconds(self.prepare),
            seconds(self.submit),
            if statuses.is_empty() { "none".to_string() } else { statuses.join(", ") },
            counted(&self.refused),
            counted(&self.rejected),
            self.unsent,
            self.not_committed,
        )
    }
}

/// The wall clock: a benchmark's only use of time is to measure it.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// `d` as seconds with two decimals.
pub fn seconds(d: Duration) -> String {
    format!("{}.{:02}", d.as_secs(), d.subsec_millis() / 10)
}

/// Events per second over `d` (integer arithmetic).
pub fn per_second(n: usize, d: Duration) -> u128 {
    n as u128 * 1_000_000 / d.as_micros().max(1)
}

/// Whether the pool refused `e` only for now: a nonce past its future
/// bound (1010 "will be valid in the future"), or a full pool (1016
/// "Immediately Dropped").
fn back_pressure(e: &Error) -> bool {
    match e {
        Error::Node { code: 1016, .. } => true,
        Error::Node { code: 1010, data: Some(data), .. } => data.contains("valid in the future"),
        _ => false,
    }
}

async fn finalized_number(client: &Client) -> Result<u32> {
    let hash = client.finalized_hash().await?;
    Ok(client.header(hash).await?.map(|h| h.number).unwrap_or(0))
}

/// Funds the `senders` below half of [`SENDER_FUNDS`] from `funder` (at
/// most 64 transfers per block: the pool's future-nonce bound).
async fn fund(client: &Client, funder: &Pair, senders: &[Pair], progress: &mut impl FnMut(Step)) -> Result<()> {
    let mut short = Vec::new();
    for pair in senders {
        let who = AccountId32(pair.public());
        if client.account(&who, None).await?.data.free < SENDER_FUNDS / 2 {
            short.push(who);
        }
    }
    for chunk in short.chunks(64) {
        let nonce = client.next_nonce(&AccountId32(funder.public())).await?;
        let mut signed = Vec::with_capacity(chunk.len());
        for (i, who) in chunk.iter().enumerate() {
            let call = RuntimeCall::Balances(balances::Call::transfer_allow_death {
                dest: MultiAddress::Id(*who),
                value: SENDER_FUNDS,
            });
            signed.push(client.sign(call, funder, nonce + i as u32, 0).await?);
        }
        if let Some((last, rest)) = signed.split_last() {
            for xt in rest {
                client.submit(xt).await?;
            }
            client.submit_and_finalize(last, Duration::from_secs(120), |_| {}).await?;
        }
        progress(Step::Funded(chunk.len()));
    }
    Ok(())
}

/// Runs `load` and measures it; `progress` hears each step.
pub async fn commands(client: &Client, load: &CommandLoad, mut progress: impl FnMut(Step)) -> Result<CommandReport> {
    let CommandLoad { contract, count, gas, .. } = *load;
    let info = client.contract_info(&contract).await?.ok_or_else(|| Error::Missing("no such contract".into()))?;
    let keys = info.pubkeys.ok_or_else(|| Error::Missing("the contract's constructor has not committed".into()))?;
    let cluster = client
        .cluster_info(&info.cluster)
        .await?
        .ok_or_else(|| Error::Missing("the contract's cluster is not on chain".into()))?;
    let domain = client.cluster_domain(&cluster).await?;
    let senders = &load.senders[..load.senders.len().min(count.max(1) as usize)];
    if senders.is_empty() {
        return Err(Error::Missing("no sending accounts".into()));
    }
    fund(client, &load.funder, senders, &mut progress).await?;

    // Sealed and signed up front: sender i sends commands i, i + n, …
    let prepared = now();
    let mut queues: Vec<Vec<OpaqueExtrinsic>> = vec![Vec::new(); senders.len()];
    let mut sealed = 0;
    for (s, pair) in senders.iter().enumerate() {
        let account = AccountId32(pair.public());
        let nonce = client.next_nonce(&account).await?;
        let mut binding = client.command_binding(&account, &contract).await?;
        let mine = (count as usize).saturating_sub(s).div_ceil(senders.len());
        for k in 0..mine {
            let (command, _) = seal_command(&keys.ecdh, binding, load.input.clone(), domain)?;
            binding.nonce += 1;
            let call = RuntimeCall::Contracts(contracts::Call::call { contract, command, gas_limit: gas });
            // Immortal: a long load's last commands are submitted minutes
            // after they were signed, past any short era.
            queues[s].push(client.sign_immortal(call, pair, nonce + k as u32, 0));
            sealed += 1;
        }
        progress(Step::Sealed { done: sealed, total: count as usize });
    }
    let prepare = prepared.elapsed();
    let ours: BTreeSet<H256> = queues.iter().flatten().map(OpaqueExtrinsic::hash).collect();

    let start_block = finalized_number(client).await?;
    let started = now();
    // Round-robin over the senders, each in nonce order; a sender at the
    // pool's future-nonce bound, or any sender while the pool is full,
    // waits for the next block (a skipped nonce would strand every later
    // one of its sender).
    let mut cursor = vec![0usize; queues.len()];
    let mut rejected: BTreeMap<String, usize> = BTreeMap::new();
    let mut unsent = 0usize;
    while cursor.iter().zip(&queues).any(|(c, q)| *c < q.len()) {
        let mut progressed = false;
        for (s, queue) in queues.iter().enumerate() {
            let Some(xt) = queue.get(cursor[s]) else { continue };
            match client.submit(xt).await {
                Ok(_) => {
                    cursor[s] += 1;
                    progressed = true;
                }
                Err(e) if back_pressure(&e) => {}
                Err(e) => {
                    // Its later nonces could never be included: not sent.
                    *rejected.entry(e.to_string()).or_default() += 1;
                    unsent += queue.len() - cursor[s] - 1;
                    cursor[s] = queue.len();
                }
            }
        }
        progress(Step::Submitted { done: cursor.iter().sum(), total: count as usize });
        if !progressed {
            if started.elapsed() > load.timeout {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let submit = started.elapsed();
    let accepted = cursor.iter().sum::<usize>() - rejected.values().sum::<usize>() - unsent;
    unsent += queues.iter().zip(&cursor).map(|(q, c)| q.len() - c).sum::<usize>();

    // Follow finality: queued → executed, by call id.
    let mut queued: BTreeMap<u64, Option<contracts::ExecStatus>> = BTreeMap::new();
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    let mut next = start_block + 1;
    let mut last_commit = None;
    while started.elapsed() < load.timeout {
        let head = finalized_number(client).await?;
        while next <= head {
            let hash =
                client.block_hash(next).await?.ok_or_else(|| Error::Response("finalized block vanished".into()))?;
            let mut body = None;
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
                    RuntimeEvent::System(system::Event::ExtrinsicFailed { ref dispatch_error, .. }) => {
                        let Phase::ApplyExtrinsic(index) = record.phase else { continue };
                        if body.is_none() {
                            body = client.block(hash).await?;
                        }
                        let xt = body.as_ref().and_then(|b| b.extrinsics.get(index as usize));
                        if xt.is_some_and(|xt| ours.contains(&xt.hash())) {
                            *refused.entry(crate::describe_error(dispatch_error)).or_default() += 1;
                        }
                    }
                    _ => {}
                }
            }
            next += 1;
        }
        let executed = queued.values().filter(|s| s.is_some()).count();
        progress(Step::Committed { done: executed, queued: queued.len() });
        if queued.len() + refused.values().sum::<usize>() >= accepted && executed == queued.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let committed = queued.values().filter(|s| s.is_some()).count();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for status in queued.values().flatten() {
        *statuses.entry(format!("{status:?}")).or_default() += 1;
    }
    let (last_block, elapsed) = last_commit.unwrap_or((next.saturating_sub(1), started.elapsed()));
    Ok(CommandReport {
        count,
        committed,
        not_committed: queued.len() - committed,
        refused,
        rejected,
        unsent,
        statuses,
        blocks: (start_block + 1, last_block),
        elapsed,
        prepare,
        submit,
    })
}

/// A load of queries.
pub struct QueryLoad {
    /// The contract.
    pub contract: H256,
    /// The query's input (selector and SCALE arguments).
    pub input: Vec<u8>,
    /// The worker's public API (`http://host:port`).
    pub worker: String,
    /// Queries to send.
    pub count: u32,
    /// Concurrent connections (1–256).
    pub concurrency: u32,
    /// The account the queries speak for (anonymous without).
    pub from: Option<Pair>,
}

/// How a load of queries went.
#[derive(Clone, Debug)]
pub struct QueryReport {
    /// Queries sent.
    pub count: u32,
    /// Connections used.
    pub concurrency: u32,
    /// Answered with `Success`.
    pub answered: usize,
    /// Latencies of the answered, in microseconds, sorted.
    pub latencies: Vec<u64>,
    /// Failures (transport errors or other statuses) and the first.
    pub errors: usize,
    /// The first failure.
    pub first_error: Option<String>,
    /// The whole run.
    pub elapsed: Duration,
}

impl QueryReport {
    /// The `p`-th percentile latency in microseconds.
    pub fn percentile(&self, p: usize) -> Option<u64> {
        let l = &self.latencies;
        l.get((l.len() * p / 100).min(l.len().saturating_sub(1))).copied()
    }
}

impl fmt::Display for QueryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |v: Option<u64>| v.map_or("-".to_string(), |us| format!("{}.{:02} ms", us / 1000, us % 1000 / 10));
        write!(
            f,
            "{} answered in {} s = {} queries/s; latency p50 {}, p99 {}, max {}; errors {}",
            self.answered,
            seconds(self.elapsed),
            per_second(self.answered, self.elapsed),
            ms(self.percentile(50)),
            ms(self.percentile(99)),
            ms(self.latencies.last().copied()),
            self.errors
        )?;
        if let Some(e) = &self.first_error {
            write!(f, " (first: {e})")?;
        }
        Ok(())
    }
}

/// Runs `load` and measures it.
pub async fn queries(client: &Client, load: QueryLoad) -> Result<QueryReport> {
    let target = Arc::new(client.query_target(&load.worker, &load.contract).await?);
    let pair = load.from.map(Arc::new);
    // As long as a query may stay valid (a worker remembers each nonce
    // for that long).
    let expires_at = client.best_header().await?.number.saturating_add(crate::contracts::wire::MAX_QUERY_WINDOW - 10);
    let (count, concurrency) = (load.count, load.concurrency.clamp(1, 256));
    let started = now();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..concurrency {
        let n = count / concurrency + u32::from(t < count % concurrency);
        let (target, pair, input) = (target.clone(), pair.clone(), load.input.clone());
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
        let (l, e) = done.map_err(|e| Error::Response(e.to_string()))?;
        latencies.extend(l);
        errors.extend(e);
    }
    latencies.sort_unstable();
    Ok(QueryReport {
        count,
        concurrency,
        answered: latencies.len(),
        latencies,
        errors: errors.len(),
        first_error: errors.into_iter().next(),
        elapsed: started.elapsed(),
    })
}

/// A load of transfers whose finality latency is measured.
pub struct FinalityLoad {
    /// Transfers to send.
    pub count: u32,
    /// Time between two submissions.
    pub interval: Duration,
    /// The sender (consecutive nonces).
    pub from: Pair,
    /// The recipient.
    pub to: AccountId32,
    /// Give up on a transfer not finalized after this long.
    pub timeout: Duration,
}

/// How a load of transfers went: latencies from submission to inclusion in
/// a block and to finality, in milliseconds, sorted.
#[derive(Clone, Debug, Default)]
pub struct FinalityReport {
    /// Transfers sent.
    pub count: u32,
    /// Submission to the first block holding it.
    pub included: Vec<u64>,
    /// Submission to the finalized block holding it.
    pub finalized: Vec<u64>,
    /// Transfers refused, failed or not finalized in time.
    pub failures: usize,
    /// The first failure.
    pub first_error: Option<String>,
}

/// The `p`-th percentile of sorted `values`.
pub fn percentile(values: &[u64], p: usize) -> Option<u64> {
    values.get((values.len() * p / 100).min(values.len().saturating_sub(1))).copied()
}

impl fmt::Display for FinalityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |v: Option<u64>| v.map_or("-".to_string(), |ms| format!("{}.{:03} s", ms / 1000, ms % 1000));
        write!(
            f,
            "{} finalized; submission to block p50 {}, p99 {}; to finality p50 {}, p99 {}, max {}; failures {}",
            self.finalized.len(),
            ms(percentile(&self.included, 50)),
            ms(percentile(&self.included, 99)),
            ms(percentile(&self.finalized, 50)),
            ms(percentile(&self.finalized, 99)),
            ms(self.finalized.last().copied()),
            self.failures
        )?;
        if let Some(e) = &self.first_error {
            write!(f, " (first: {e})")?;
        }
        Ok(())
    }
}

/// Sends `load.count` transfers of one planck, one every `load.interval`,
/// each watched to finality, and measures how long each took.
pub async fn finality(client: &Client, load: FinalityLoad) -> Result<FinalityReport> {
    let who = AccountId32(load.from.public());
    let first_nonce = client.next_nonce(&who).await?;
    let mut tasks = tokio::task::JoinSet::new();
    let mut ticker = tokio::time::interval(load.interval.max(Duration::from_millis(1)));
    for i in 0..load.count {
        ticker.tick().await;
        let call =
            RuntimeCall::Balances(balances::Call::transfer_keep_alive { dest: MultiAddress::Id(load.to), value: 1 });
        let xt = client.sign_immortal(call, &load.from, first_nonce.wrapping_add(i), 0);
        let sent = now();
        let sub = client.submit_and_watch(&xt).await;
        let timeout = load.timeout;
        tasks.spawn(async move {
            let mut sub = sub?;
            let mut included = None;
            let watched = tokio::time::timeout(timeout, async {
                while let Some(next) = sub.next().await {
                    let status = crate::parse_status(&next.map_err(|e| Error::Response(e.to_string()))?)?;
                    match status {
                        crate::Status::InBlock(_) => {
                            included.get_or_insert(sent.elapsed().as_millis() as u64);
                        }
                        crate::Status::Finalized(_) => {
                            let finalized = sent.elapsed().as_millis() as u64;
                            return Ok((included.unwrap_or(finalized), finalized));
                        }
                        crate::Status::Failed(why) => return Err(Error::Transaction(why)),
                        _ => {}
                    }
                }
                Err(Error::Transaction("watch ended before finality".into()))
            })
            .await;
            watched.map_err(|_| Error::Timeout("not finalized in time".into()))?
        });
    }
    let mut report = FinalityReport { count: load.count, ..Default::default() };
    while let Some(done) = tasks.join_next().await {
        match done.map_err(|e| Error::Response(e.to_string()))? {
            Ok((included, finalized)) => {
                report.included.push(included);
                report.finalized.push(finalized);
            }
            Err(e) => {
                report.failures += 1;
                report.first_error.get_or_insert(e.to_string());
            }
        }
    }
    report.included.sort_unstable();
    report.finalized.sort_unstable();
    Ok(report)
}

/// Block propagation across nodes: when each node first reported each block.
#[derive(Clone, Debug, Default)]
pub struct PropagationReport {
    /// Nodes watched.
    pub nodes: usize,
    /// Blocks seen by every node.
    pub blocks: u32,
    /// For each block and each node but the first to report it (its
    /// author, or the closest to it): microseconds after the first, sorted.
    pub delays: Vec<u64>,
    /// Blocks not seen by every node before the end.
    pub incomplete: u32,
}

impl fmt::Display for PropagationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |v: Option<u64>| v.map_or("-".to_string(), |us| format!("{}.{:03} ms", us / 1000, us % 1000));
        write!(
            f,
            "{} blocks on {} nodes; propagation after the first node p50 {}, p99 {}, max {}; {} blocks not seen everywhere",
            self.blocks,
            self.nodes,
            ms(percentile(&self.delays, 50)),
            ms(percentile(&self.delays, 99)),
            ms(self.delays.last().copied()),
            self.incomplete
        )
    }
}

/// Watches every imported block (`chain_subscribeAllHeads`) on each of
/// `clients` until `blocks` blocks have been seen by all of them (or
/// `timeout` passes), and measures how long after the first node each
/// other node had each block. On one machine the subscriptions' own
/// latency is the same for every node, so the differences are the
/// network's (gossip of the announcement, request, verification, import).
pub async fn propagation(clients: &[Client], blocks: u32, timeout: Duration) -> Result<PropagationReport> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, H256, Instant)>();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, client) in clients.iter().enumerate() {
        let mut sub = client.subscribe_all_heads().await?;
        let tx = tx.clone();
        tasks.spawn(async move {
            while let Some(Ok(head)) = sub.next().await {
                let seen = now();
                if let Ok(header) = crate::parse_header(&head) {
                    if tx.send((i, header.hash(), seen)).is_err() {
                        return;
                    }
                }
            }
        });
    }
    drop(tx);
    let n = clients.len();
    let mut seen: BTreeMap<H256, Vec<Option<Instant>>> = BTreeMap::new();
    let mut report = PropagationReport { nodes: n, ..Default::default() };
    let deadline = tokio::time::Instant::now() + timeout;
    while report.blocks < blocks {
        let Ok(Some((i, hash, at))) = tokio::time::timeout_at(deadline, rx.recv()).await else { break };
        let times = seen.entry(hash).or_insert_with(|| vec![None; n]);
        if times[i].is_none() {
            times[i] = Some(at);
        }
        if times.iter().all(Option::is_some) {
            let times: Vec<Instant> = times.iter().flatten().copied().collect();
            let first = times.iter().min().copied().unwrap_or(at);
            let mut delays: Vec<u64> = times.iter().map(|t| t.duration_since(first).as_micros() as u64).collect();
            delays.sort_unstable();
            report.delays.extend(delays.into_iter().skip(1));
            report.blocks += 1;
            seen.remove(&hash);
        }
    }
    tasks.abort_all();
    report.incomplete = seen.len() as u32;
    report.delays.sort_unstable();
    Ok(report)
}

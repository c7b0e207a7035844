//! The relayer: carries finalized chain data from a node to a pRuntime and
//! the worker's signed messages back. It is untrusted by both sides: the
//! node checks every transaction, pRuntime checks every header, state and
//! block. It only has to be live.
//!
//! One [`Relayer::step`] does the next useful thing:
//!
//! 1. `init` pRuntime with the node's genesis anchor;
//! 2. without state: header batches (no changes) up to the finalized head,
//!    then the state at the last verified block (`load_state`, fast sync);
//! 3. with state: batches of headers + storage changes, the next batch
//!    prefetched while the current one is applied (pipelining);
//! 4. once caught up: registration (evidence from pRuntime) when the worker
//!    is not registered, and every egress message the chain has not
//!    accepted yet (`MessageQueue.sync_offchain_message`).
//!
//! Errors (node or pRuntime restarts, refused input) are logged and the
//! loop retries with a back-off; nothing is lost because both sides keep
//! their own progress.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use parity_scale_codec::{Decode, Encode};
use serde_json::{json, Value};
use umbra_client::Client;
use umbra_crypto::Pair;
use umbra_primitives::{
    sync::{GenesisAnchor, StatePage, SyncBatch, MAX_HEADER_BATCH},
    BlockNumber, H256,
};
use umbra_protocol::api::{DispatchRequest, HeadersRequest, LoadStateRequest};
pub use umbra_protocol::{client::PruntimeClient, PrivateApi};
use umbra_runtime::{
    modules::{
        message_queue::{self, MessageOrigin},
        registry,
    },
    RuntimeCall,
};

/// Blocks per sync batch.
pub const BATCH_BLOCKS: u32 = 1024;
/// Largest node response the relayer decodes (the node's RPC cap).
pub const MAX_NODE_RESPONSE: usize = 16 << 20;

/// What went wrong in a step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The node.
    #[error("node: {0}")]
    Node(#[from] umbra_client::Error),
    /// pRuntime's API.
    #[error(transparent)]
    Pruntime(#[from] umbra_protocol::Error),
    /// A malformed node response.
    #[error("malformed response: {0}")]
    Malformed(String),
}

type Result<T> = std::result::Result<T, Error>;

fn hex_bytes(v: &Value) -> Result<Vec<u8>> {
    let s = v.as_str().ok_or_else(|| Error::Malformed(format!("expected hex, got {v}")))?;
    let digits = s.strip_prefix("0x").ok_or_else(|| Error::Malformed("hex without 0x".into()))?;
    if digits.len() > 2 * MAX_NODE_RESPONSE {
        return Err(Error::Malformed(format!("{} hex digits, over the bound", digits.len())));
    }
    hex::decode(digits).map_err(|e| Error::Malformed(e.to_string()))
}

/// Decodes a node response with the node response bound and no trailing
/// bytes.
fn decode<T: Decode>(bytes: &[u8]) -> Result<T> {
    umbra_primitives::decode_bounded(bytes, MAX_NODE_RESPONSE).map_err(|e| Error::Malformed(e.to_string()))
}

/// Relayer progress, for logs and the devnet status line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The chain's finalized head.
    pub finalized: BlockNumber,
    /// pRuntime's synced block.
    pub synced: Option<BlockNumber>,
    /// Whether the worker is registered.
    pub registered: bool,
    /// Egress messages submitted so far.
    pub messages_submitted: u64,
}

/// The relayer, driving a pRuntime through its private API `P`.
pub struct Relayer<P: PrivateApi = PruntimeClient> {
    node: Arc<Client>,
    node_url: Option<String>,
    from_genesis: bool,
    collateral: Option<umbra_attestation::DcapCollateral>,
    pruntime: P,
    signer: Pair,
    registration_sent_at: Option<BlockNumber>,
    submitted_up_to: std::collections::BTreeMap<Vec<u8>, u64>,
    submitted_at: BlockNumber,
    /// What it has done.
    pub progress: Progress,
}

impl<P: PrivateApi> Relayer<P> {
    /// A relayer between `node` and pRuntime's private API `pruntime`,
    /// paying fees with `signer`.
    pub fn new(node: Arc<Client>, pruntime: P, signer: Pair) -> Self {
        Self {
            node,
            node_url: None,
            from_genesis: false,
            collateral: None,
            pruntime,
            signer,
            registration_sent_at: None,
            submitted_up_to: std::collections::BTreeMap::new(),
            submitted_at: 0,
            progress: Progress::default(),
        }
    }

    /// Replays every block from genesis instead of loading a recent state
    /// (gatekeepers; needs an archive node that keeps every block's
    /// changes).
    pub fn from_genesis(mut self, yes: bool) -> Self {
        self.from_genesis = yes;
        self
    }

    /// DCAP collateral (PCCS data) to send with DCAP registrations.
    pub fn with_collateral(mut self, collateral: Option<umbra_attestation::DcapCollateral>) -> Self {
        self.collateral = collateral;
        self
    }

    /// Reconnects to `url` after node errors (node restarts).
    pub fn reconnect_to(mut self, url: impl Into<String>) -> Self {
        self.node_url = Some(url.into());
        self
    }

    async fn finalized(&self) -> Result<(H256, BlockNumber)> {
        let hash = self.node.finalized_hash().await?;
        let header =
            self.node.header(hash).await?.ok_or_else(|| Error::Malformed("finalized header missing".into()))?;
        Ok((hash, header.number))
    }

    /// Does the next useful thing; `Ok(true)` when it did something.
    pub async fn step(&mut self) -> Result<bool> {
        let status = self.pruntime.status().await?.core;
        if !status.initialized {
            let anchor: GenesisAnchor = decode(&hex_bytes(&self.node.call("umbra_getGenesisAnchor", vec![]).await?)?)?;
            self.pruntime.init(&anchor).await?;
            tracing::info!("pRuntime initialized with the chain's genesis anchor");
            return Ok(true);
        }
        let (_, finalized) = self.finalized().await?;
        self.progress.finalized = finalized;
        let headers_finalized = status.headers_finalized;
        let synced = status.synced_block;
        self.progress.synced = synced;
        self.progress.registered = status.registered;

        if synced.is_none() && self.from_genesis {
            self.load_state(0).await?;
            return Ok(true);
        }
        // 1. Headers: verified finality up to the node's finalized head.
        if headers_finalized < finalized {
            if let Some(batch) = sync_batch(&self.node, headers_finalized + 1, MAX_HEADER_BATCH, false, None).await? {
                if let Some(justification) = batch.justification {
                    let request = HeadersRequest { headers: batch.headers, justification };
                    self.pruntime.sync_headers(&request).await?;
                    return Ok(true);
                }
            }
        }
        // 2. State: loaded once at the last verified block (fast sync)...
        let Some(synced) = synced else {
            self.load_state(headers_finalized).await?;
            return Ok(true);
        };
        // 3. ...then every block's changes.
        if synced < headers_finalized {
            self.dispatch(synced, headers_finalized, finalized).await?;
            return Ok(true);
        }
        if !status.caught_up {
            return Ok(false);
        }
        let mut did = false;
        if !self.progress.registered {
            did |= self.register(finalized).await?;
        }
        did |= self.submit_egress(finalized).await?;
        Ok(did)
    }

    async fn load_state(&self, at: BlockNumber) -> Result<()> {
        let hash = self.node.block_hash(at).await?.ok_or_else(|| Error::Malformed(format!("no block {at}")))?;
        let mut pairs = Vec::new();
        let mut start_after: Option<Vec<u8>> = None;
        loop {
            let mut params = vec![json!(format!("0x{}", hex::encode(hash.0)))];
            params.push(start_after.as_ref().map_or(Value::Null, |k| json!(format!("0x{}", hex::encode(k)))));
            let page: StatePage = decode(&hex_bytes(&self.node.call("umbra_getStatePairs", params).await?)?)?;
            start_after = page.pairs.last().map(|(k, _)| k.clone());
            pairs.extend(page.pairs);
            if !page.more || start_after.is_none() {
                break;
            }
        }
        let count = pairs.len();
        self.pruntime.load_state(&LoadStateRequest { block: at, pairs }).await?;
        tracing::info!(block = at, keys = count, "fast sync: state loaded into pRuntime");
        Ok(())
    }

    /// Dispatches blocks `synced + 1 ..= to`, prefetching the next batch
    /// while the current one is applied. Batches the node cut at its byte
    /// budget are followed: a block cut inside its changes is completed
    /// from the next answers before it is dispatched.
    async fn dispatch(&mut self, synced: BlockNumber, to: BlockNumber, finalized: BlockNumber) -> Result<()> {
        let started = clock_now();
        let fetch = |node: Arc<Client>, from: BlockNumber, after: Option<Vec<u8>>| {
            let max = (to - from + 1).min(BATCH_BLOCKS);
            tokio::spawn(async move { sync_batch(&node, from, max, true, after).await })
        };
        let mut next = Some(fetch(self.node.clone(), synced + 1, None));
        let mut applied_total = 0u64;
        let mut at = synced;
        // A block whose changes arrived in part, waiting for the rest.
        let mut carry: Option<(BlockNumber, umbra_primitives::sync::StorageChanges)> = None;
        while let Some(handle) = next.take() {
            let Some(batch) = handle.await.map_err(|e| Error::Malformed(e.to_string()))?? else { break };
            let Some(last) = batch.headers.last().map(|h| h.number) else { break };
            let changes = batch.changes.unwrap_or_default();
            if changes.len() != batch.headers.len() {
                return Err(Error::Malformed("a batch's changes do not match its headers".into()));
            }
            let mut blocks: Vec<(BlockNumber, umbra_primitives::sync::StorageChanges)> =
                batch.headers.iter().map(|h| h.number).zip(changes).filter(|(n, _)| *n <= to).collect();
            if let Some((number, mut head)) = carry.take() {
                match blocks.first_mut() {
                    Some((first, rest)) if *first == number => {
                        head.append(rest);
                        *rest = head;
                    }
                    _ => return Err(Error::Malformed(format!("the rest of block {number} did not come"))),
                }
            }
            let partial = batch.partial.filter(|_| last <= to);
            if partial.is_some() {
                carry = blocks.pop();
            }
            match (&partial, last < to) {
                (Some(after), _) => next = Some(fetch(self.node.clone(), last, Some(after.clone()))),
                (None, true) => next = Some(fetch(self.node.clone(), last + 1, None)),
                (None, false) => {}
            }
            if blocks.is_empty() {
                continue;
            }
            at = blocks.last().map_or(at, |(n, _)| *n);
            let result = self.pruntime.dispatch_blocks(&DispatchRequest { blocks }).await?;
            applied_total += result.applied as u64;
            self.progress.synced = Some(at);
        }
        let elapsed = started.elapsed().as_millis().max(1) as u64;
        if applied_total >= 100 {
            tracing::info!(
                synced = at,
                finalized,
                lag = finalized.saturating_sub(at),
                blocks = applied_total,
                blocks_per_s = applied_total * 1000 / elapsed,
                "catch-up"
            );
        } else {
            tracing::debug!(synced = at, finalized, blocks = applied_total, "sync");
        }
        Ok(())
    }

    async fn register(&mut self, finalized: BlockNumber) -> Result<bool> {
        if self.registration_sent_at.is_some_and(|at| finalized < at + 8) {
            return Ok(false);
        }
        let registration = self.pruntime.registration().await?;
        let call = RuntimeCall::Registry(Box::new(registry::Call::register_worker {
            info: registration.info,
            evidence: registration.evidence,
            collateral: self.collateral.clone(),
        }));
        self.submit(call).await?;
        self.registration_sent_at = Some(finalized);
        tracing::info!("registration submitted");
        Ok(true)
    }

    async fn submit(&self, call: RuntimeCall) -> Result<H256> {
        let account = umbra_primitives::AccountId32(self.signer.public());
        let nonce = self.node.next_nonce(&account).await?;
        let xt = self.node.sign(call, &self.signer, nonce, 0).await?;
        Ok(self.node.submit(&xt).await?)
    }

    async fn submit_egress(&mut self, finalized: BlockNumber) -> Result<bool> {
        let messages = self.pruntime.egress().await?;
        let mut did = false;
        // Resubmit what the chain has not taken after a while (lost in a
        // node restart, say).
        if finalized > self.submitted_at + 10 {
            self.submitted_up_to.clear();
        }
        // Per origin (worker identity, gatekeeper channel, clusters): the
        // chain's next sequence, once per step.
        let mut chain_next: std::collections::BTreeMap<Vec<u8>, u64> = std::collections::BTreeMap::new();
        let mut refused: std::collections::BTreeSet<Vec<u8>> = std::collections::BTreeSet::new();
        for signed in messages {
            let origin = signed.message.sender.clone();
            let key = origin.encode();
            if refused.contains(&key) {
                continue;
            }
            let next = match chain_next.get(&key) {
                Some(n) => *n,
                None => {
                    let n = self.next_sequence(&origin).await?;
                    chain_next.insert(key.clone(), n);
                    n
                }
            };
            if signed.sequence < next || self.submitted_up_to.get(&key).is_some_and(|s| signed.sequence <= *s) {
                continue;
            }
            let sequence = signed.sequence;
            let call = RuntimeCall::MessageQueue(message_queue::Call::sync_offchain_message { signed });
            match self.submit(call).await {
                Ok(_) => {
                    self.submitted_up_to.insert(key, sequence);
                    self.submitted_at = finalized;
                    self.progress.messages_submitted += 1;
                    did = true;
                }
                Err(e) => {
                    // Another replica's relayer may have submitted the same
                    // cluster commit: the pool keeps one.
                    tracing::debug!(sequence, error = %e, "egress message refused by the node");
                    refused.insert(key);
                }
            }
        }
        Ok(did)
    }

    async fn next_sequence(&self, origin: &MessageOrigin) -> Result<u64> {
        let v = self
            .node
            .call("umbra_getMqNextSequence", vec![json!(format!("0x{}", hex::encode(origin.encode())))])
            .await?;
        v.as_u64().ok_or_else(|| Error::Malformed(format!("sequence {v}")))
    }

    /// Runs forever: steps while there is work, and when idle waits for the
    /// node's next finalized head (subscription; a 2 s poll as fallback).
    pub async fn run(mut self) {
        let mut backoff = Duration::from_millis(200);
        let mut last_report = clock_now();
        let mut heads = self.node.subscribe_finalized_heads().await.ok();
        loop {
            match self.step().await {
                Ok(true) => backoff = Duration::from_millis(200),
                Ok(false) => {
                    let next = async {
                        match heads.as_mut() {
                            Some(sub) => sub.next().await.is_some_and(|r| r.is_ok()),
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        alive = next => if !alive { heads = self.node.subscribe_finalized_heads().await.ok() },
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "relayer step failed; retrying");
                    if let (Error::Node(_), Some(url)) = (&e, &self.node_url) {
                        match Client::connect(url).await {
                            Ok(client) => {
                                self.node = Arc::new(client);
                                heads = self.node.subscribe_finalized_heads().await.ok();
                            }
                            Err(e) => tracing::warn!(error = %e, "node not reachable"),
                        }
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            if last_report.elapsed() > Duration::from_secs(10) {
                last_report = clock_now();
                let p = &self.progress;
                tracing::info!(
                    finalized = p.finalized,
                    synced = ?p.synced,
                    lag = p.synced.map(|s| p.finalized.saturating_sub(s)),
                    registered = p.registered,
                    messages = p.messages_submitted,
                    "relayer progress"
                );
            }
        }
    }
}

async fn sync_batch(
    node: &Client,
    from: BlockNumber,
    max: u32,
    with_changes: bool,
    start_after: Option<Vec<u8>>,
) -> Result<Option<SyncBatch>> {
    let after = start_after.map_or(Value::Null, |k| json!(format!("0x{}", hex::encode(k))));
    let v = node.call("umbra_getSyncBatch", vec![json!(from), json!(max), json!(with_changes), after]).await?;
    if v.is_null() {
        return Ok(None);
    }
    decode(&hex_bytes(&v)?).map(Some)
}

/// The relayer's clock: only progress reports and rates read it.
fn clock_now() -> Instant {
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_responses_are_decoded_with_bounds() {
        assert!(hex_bytes(&json!("0x0102")).is_ok());
        assert!(hex_bytes(&json!("0102")).is_err(), "hex without 0x");
        assert!(hex_bytes(&json!(7)).is_err(), "not a string");
        let huge = format!("0x{}", "00".repeat(MAX_NODE_RESPONSE + 1));
        assert!(hex_bytes(&json!(huge)).is_err(), "over the bound");
        assert_eq!(decode::<u32>(&7u32.encode()).ok(), Some(7));
        assert!(decode::<u32>(&[7, 0, 0, 0, 1]).is_err(), "trailing bytes");
        assert!(decode::<SyncBatch>(&[0xff; 3]).is_err(), "garbage");
    }
}

//! The node on the network: what each gossip message and request means and
//! whether it is valid, and what the node tells its peers.
//!
//! * Block announcements (a header): the announcing peer's best is noted
//!   and the downloader ([`sync`]) fetches what we lack; each node
//!   announces its own new best blocks, so announcements travel hop by hop
//!   only through nodes that have verified and imported the block.
//! * Transactions: validated by the pool (the runtime) before they are
//!   passed on; local submissions are published.
//! * GRANDPA: votes are checked (voter of the set, signature for the round)
//!   before they reach the voter or are passed on; a node that sees votes
//!   two or more rounds ahead of its own asks the sender for a catch-up;
//!   each finalization is published with its full justification, which any
//!   node verifies on its own before finalizing.
//! * Requests: blocks (served from the database within a byte budget),
//!   catch-ups (our last completed round), warp proofs and state pages
//!   ([`warp`]).
//! * Equivocations: every header seen (announced or imported) has its seal
//!   checked and is remembered by slot; a second header of one slot by the
//!   same author, and every double vote the GRANDPA voter sees, is reported
//!   on chain in an unsigned transaction with its proof.
//!
//! Everything wrong a peer sends is reported to the network's reputation,
//! which bans it past a threshold.

pub mod sync;
pub mod warp;

pub use warp::SyncMode;

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc,
    },
    time::Duration,
};

use parity_scale_codec::Encode;
use tokio::sync::{mpsc, watch};
use umbra_consensus::{
    aura::{Clock, SystemClock},
    grandpa::{self, GossipMessage, GrandpaHandle, VoteOutcome},
    warp as warp_proof, Chain, ChainEvent,
};
use umbra_network::{Event, Misbehaviour, NetworkHandle, PeerId, RequestKind, Topic, Verdict};
use umbra_primitives::{block::OpaqueExtrinsic, header::Header, H256};
use umbra_txpool::PoolError;

use crate::pool::NodePool;

/// Largest announced header.
const MAX_HEADER_LEN: usize = 64 << 10;
/// Justifications kept while their block is being fetched.
const MAX_PENDING_JUSTIFICATIONS: usize = 16;
/// Transactions from peers waiting for validation before new ones are ignored.
const TX_QUEUE: usize = 1024;
/// Least time between two catch-up requests.
const CATCH_UP_INTERVAL: Duration = Duration::from_secs(2);
/// How often our votes of the latest rounds are published again, for peers
/// that connected or came back after they were first sent.
const VOTE_REPEAT: Duration = Duration::from_secs(2);
/// Rounds whose votes are repeated.
const REPEATED_ROUNDS: usize = 2;
/// Slots whose headers are remembered for double-seal detection.
const SLOTS_KEPT: usize = 256;
/// Checked votes kept until the block they vote for is imported.
const MAX_HELD_VOTES: usize = 1024;

/// The network as RPC and the node's status see it.
pub struct NetworkStatus {
    handle: NetworkHandle,
    syncing: AtomicBool,
    highest: AtomicU32,
    starting: u32,
    synced: std::sync::atomic::AtomicU64,
}

impl NetworkStatus {
    /// The network handle.
    pub fn handle(&self) -> &NetworkHandle {
        &self.handle
    }

    /// Whether blocks are being downloaded.
    pub fn is_syncing(&self) -> bool {
        self.syncing.load(Ordering::Relaxed)
    }

    /// Blocks downloaded from peers and imported since start.
    pub fn synced_blocks(&self) -> u64 {
        self.synced.load(Ordering::Relaxed)
    }
}

impl umbra_rpc::NetworkApi for NetworkStatus {
    fn peers(&self) -> Vec<umbra_rpc::PeerInfo> {
        self.handle
            .peers()
            .into_iter()
            .map(|p| umbra_rpc::PeerInfo {
                peer_id: p.id.to_string(),
                roles: if p.authority { "AUTHORITY" } else { "FULL" }.into(),
                best_hash: p.best_hash,
                best_number: p.best_number,
            })
            .collect()
    }

    fn listen_addresses(&self) -> Vec<String> {
        let local = self.handle.local_peer_id();
        self.handle
            .listen_addresses()
            .into_iter()
            .map(|a| a.with(umbra_network::Protocol::P2p(local)).to_string())
            .collect()
    }

    fn is_syncing(&self) -> bool {
        NetworkStatus::is_syncing(self)
    }

    fn highest_block(&self) -> Option<u32> {
        match self.highest.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }

    fn starting_block(&self) -> u32 {
        self.starting
    }

    fn add_reserved(&self, address: &str) -> Result<(), String> {
        let address: umbra_network::Multiaddr = address.parse().map_err(|e| format!("invalid multiaddr: {e}"))?;
        self.handle.add_reserved(address).map(|_| ()).map_err(|e| e.to_string())
    }

    fn remove_reserved(&self, peer_id: &str) -> Result<(), String> {
        let peer: PeerId = peer_id.parse().map_err(|e| format!("invalid peer id: {e}"))?;
        self.handle.remove_reserved(peer);
        Ok(())
    }

    fn network_state(&self) -> serde_json::Value {
        let peers: Vec<serde_json::Value> = self
            .handle
            .peers()
            .into_iter()
            .map(|p| {
                serde_json::json!({
                    "peerId": p.id.to_string(),
                    "bestNumber": p.best_number,
                    "bestHash": format!("{:?}", p.best_hash),
                    "endpoint": if p.inbound { "listener" } else { "dialer" },
                })
            })
            .collect();
        let (gossip_in, gossip_out) = self.handle.gossip_counts();
        serde_json::json!({
            "peerId": self.handle.local_peer_id().to_string(),
            "listenedAddresses": self.handle.listen_addresses().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "connectedPeers": peers,
            "reservedPeers": self.handle.reserved().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "bannedPeers": self.handle.banned().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "gossipReceived": gossip_in,
            "gossipPublished": gossip_out,
        })
    }
}

/// The parts of the node the network serves and feeds.
pub struct Parts {
    /// The chain.
    pub chain: Arc<Chain>,
    /// The pool.
    pub pool: Arc<NodePool>,
    /// The GRANDPA voter.
    pub grandpa: Arc<GrandpaHandle>,
    /// Whether to warp sync (only a database holding nothing but genesis
    /// does).
    pub warp: bool,
    /// Set once the node may author and vote (at once, or when the warp
    /// sync is done).
    pub ready: watch::Sender<bool>,
}

/// Wraps a started network's handle for RPC and the status line.
pub fn status(handle: NetworkHandle, chain: &Chain) -> Arc<NetworkStatus> {
    let starting = chain.best().map(|b| b.number).unwrap_or(0);
    Arc::new(NetworkStatus {
        handle,
        syncing: AtomicBool::new(false),
        highest: AtomicU32::new(0),
        starting,
        synced: std::sync::atomic::AtomicU64::new(0),
    })
}

enum Done {
    Sync(sync::Imported),
    SyncFailed(String),
    CatchUp(PeerId, Result<Vec<u8>, String>),
    Warp(Result<Vec<u8>, String>),
    /// The warp target stored, or why not (and whether the downloaded state
    /// was at fault).
    WarpImported(Result<umbra_storage::BlockRef, (String, bool)>),
    /// The answer to a fetch of a block a vote names.
    Fork(PeerId, H256, Result<sync::Imported, String>),
}

struct Service {
    parts: Parts,
    net: Arc<NetworkStatus>,
    downloader: sync::Downloader,
    pending: BTreeMap<H256, (u64, Vec<u8>)>,
    done: mpsc::UnboundedSender<Done>,
    txs: mpsc::Sender<(umbra_network::MessageId, PeerId, OpaqueExtrinsic)>,
    catch_up_at: Option<tokio::time::Instant>,
    slot_duration: u64,
    /// Our votes of the latest rounds, by (set id, round).
    recent_votes: BTreeMap<(u64, u64), Vec<grandpa::SignedVote>>,
    /// Headers seen by slot, to catch an author sealing two for one slot.
    slots: BTreeMap<u64, (umbra_crypto::sr25519::Public, Header)>,
    /// The warp sync, until it is done.
    warp: Option<warp::WarpSync>,
    /// Checked votes for blocks not imported yet, by block: the voter
    /// cannot count a vote whose block it does not know, so each is given
    /// to it again once the block is here.
    held_votes: BTreeMap<H256, Vec<(u64, u64, grandpa::SignedVote)>>,
    /// The block a vote names that is being fetched, if any.
    fork_fetch: Option<H256>,
}

/// Runs the node's side of the network until `shutdown` changes.
pub async fn run(
    parts: Parts,
    net: Arc<NetworkStatus>,
    mut events: mpsc::Receiver<Event>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut chain_events = parts.chain.subscribe();
    let mut votes = parts.grandpa.outgoing();
    let mut finalized = parts.grandpa.finalized();
    let mut local_txs = parts.pool.local_transactions();
    let (done, mut done_rx) = mpsc::unbounded_channel();
    let (txs, txs_rx) = mpsc::channel(TX_QUEUE);
    tokio::spawn(validate_transactions(parts.pool.clone(), net.handle.clone(), txs_rx));
    let slot_duration = parts.chain.slot_duration().unwrap_or(0).max(1);
    let warp = if parts.warp {
        match grandpa::load_set(&parts.chain) {
            Ok(set) => {
                tracing::info!(target: "umbra::sync", "warp sync: waiting for a peer");
                Some(warp::WarpSync::new(set))
            }
            Err(e) => {
                tracing::error!(target: "umbra::sync", error = %e, "warp sync cannot start; syncing in full");
                let _ = parts.ready.send(true);
                None
            }
        }
    } else {
        None
    };
    let mut service = Service {
        parts,
        net,
        downloader: sync::Downloader::default(),
        pending: BTreeMap::new(),
        done,
        txs,
        catch_up_at: None,
        slot_duration,
        recent_votes: BTreeMap::new(),
        slots: BTreeMap::new(),
        warp,
        held_votes: BTreeMap::new(),
        fork_fetch: None,
    };
    let mut equivocations = service.parts.grandpa.equivocations();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut repeat = tokio::time::interval(VOTE_REPEAT);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            Some(event) = events.recv() => service.on_network(event).await,
            Some(done) = done_rx.recv() => service.on_done(done).await,
            event = chain_events.recv() => {
                if let Ok(ChainEvent::Imported { header, is_best, .. }) = event {
                    service.on_imported(header, is_best).await;
                }
            }
            vote = votes.recv() => {
                if let Ok((set_id, round, vote)) = vote {
                    service.remember_vote(set_id, round, vote.clone());
                    service.net.handle.publish(Topic::Grandpa, GossipMessage::Vote { set_id, round, vote }.encode());
                }
            }
            latest = finalized.recv() => {
                if let Ok(latest) = latest {
                    let message = GossipMessage::Commit {
                        set_id: latest.set_id,
                        block: latest.block,
                        justification: latest.justification,
                    };
                    service.net.handle.publish(Topic::Grandpa, message.encode());
                }
            }
            xt = local_txs.recv() => {
                if let Ok(xt) = xt {
                    service.net.handle.publish(Topic::Transactions, xt.encode());
                }
            }
            _ = tick.tick() => {
                service.prune_held_votes();
                service.drive();
            }
            _ = repeat.tick() => service.repeat_votes(),
            proof = equivocations.recv() => {
                if let Ok(proof) = proof {
                    let call = umbra_runtime::modules::grandpa::Call::report_equivocation_unsigned {
                        equivocation_proof: Box::new(proof),
                    };
                    service.report_offence(umbra_runtime::RuntimeCall::Grandpa(call));
                }
            }
        }
    }
}

/// Validates peers' transactions one at a time through the pool; only
/// those the pool takes are passed on.
async fn validate_transactions(
    pool: Arc<NodePool>,
    net: NetworkHandle,
    mut queue: mpsc::Receiver<(umbra_network::MessageId, PeerId, OpaqueExtrinsic)>,
) {
    while let Some((id, source, xt)) = queue.recv().await {
        let pool = pool.clone();
        let result = tokio::task::spawn_blocking(move || pool.submit_external(xt)).await;
        let verdict = match result {
            Ok(Ok(_)) => Verdict::Accept,
            Ok(Err(PoolError::Invalid(_))) => {
                net.report(source, Misbehaviour::BadTransaction);
                Verdict::Reject
            }
            _ => Verdict::Ignore,
        };
        net.validated(id, source, verdict);
    }
}

impl Service {
    fn remember_vote(&mut self, set_id: u64, round: u64, vote: grandpa::SignedVote) {
        self.recent_votes.entry((set_id, round)).or_default().push(vote);
        while self.recent_votes.len() > REPEATED_ROUNDS {
            self.recent_votes.pop_first();
        }
    }

    /// Publishes our votes of the latest rounds again: a peer that missed
    /// them (it connected later, or was away) cannot finish those rounds
    /// without them.
    fn repeat_votes(&self) {
        if self.net.handle.peers().is_empty() {
            return;
        }
        for ((set_id, round), votes) in &self.recent_votes {
            for vote in votes {
                let message = GossipMessage::Vote { set_id: *set_id, round: *round, vote: vote.clone() };
                self.net.handle.publish(Topic::Grandpa, message.encode());
            }
        }
    }

    fn now_slot(&self) -> u64 {
        SystemClock.now_ms() / self.slot_duration
    }

    /// Starts the next block request if a peer is ahead of us (or the
    /// warp sync's next request while it runs).
    fn drive(&mut self) {
        if self.warp.is_some() {
            self.drive_warp();
            return;
        }
        let chain = &self.parts.chain;
        let (Ok(best), Ok(finalized)) = (chain.best(), chain.finalized()) else { return };
        let highest = self.downloader.highest().unwrap_or(0);
        self.net.highest.store(highest, Ordering::Relaxed);
        let next = self.downloader.next(best.number, finalized.number);
        self.net.syncing.store(self.downloader.in_flight.is_some() && highest > best.number + 1, Ordering::Relaxed);
        let Some((peer, request)) = next else { return };
        tracing::debug!(target: "umbra::sync", %peer, from = request.from, max = request.max, "requesting blocks");
        let (net, chain, done, now_slot) = (self.net.handle.clone(), chain.clone(), self.done.clone(), self.now_slot());
        tokio::spawn(async move {
            let outcome = match net.request(peer, RequestKind::Blocks, sync::Request::Range(request).encode()).await {
                Ok(bytes) => {
                    match tokio::task::spawn_blocking(move || sync::import(&chain, request, &bytes, now_slot)).await {
                        Ok(imported) => Done::Sync(imported),
                        Err(e) => Done::SyncFailed(e.to_string()),
                    }
                }
                Err(e) => Done::SyncFailed(e.to_string()),
            };
            let _ = done.send(outcome);
        });
    }

    fn drive_warp(&mut self) {
        let Some(warp) = self.warp.as_mut() else { return };
        self.net.syncing.store(true, Ordering::Relaxed);
        self.net.highest.store(warp.highest().unwrap_or(0), Ordering::Relaxed);
        let Some((peer, kind, data)) = warp.next_request() else { return };
        tracing::debug!(target: "umbra::sync", %peer, phase = warp.phase(), "warp request");
        let (net, done) = (self.net.handle.clone(), self.done.clone());
        tokio::spawn(async move {
            let answer = net.request(peer, kind, data).await.map_err(|e| e.to_string());
            let _ = done.send(Done::Warp(answer));
        });
    }

    fn on_warp(&mut self, answer: Result<Vec<u8>, String>) {
        let Some(warp) = self.warp.as_mut() else { return };
        let bytes = match answer {
            Ok(bytes) => bytes,
            Err(reason) => {
                tracing::debug!(target: "umbra::sync", %reason, phase = warp.phase(), "warp request failed");
                warp.failed();
                return;
            }
        };
        match warp.on_answer(&bytes) {
            warp::Outcome::Continue => {}
            warp::Outcome::Bad(peer, what, reason) => {
                tracing::info!(target: "umbra::sync", %peer, ?what, %reason, "bad warp answer");
                self.net.handle.report(peer, what);
            }
            warp::Outcome::Import(import) => {
                let (chain, done) = (self.parts.chain.clone(), self.done.clone());
                tokio::spawn(async move {
                    let result = match tokio::task::spawn_blocking(move || chain.import_warp(*import)).await {
                        Ok(Ok(block)) => Ok(block),
                        Ok(Err(e)) => {
                            let state_at_fault = matches!(e, umbra_consensus::Error::StateRootMismatch { .. });
                            Err((e.to_string(), state_at_fault))
                        }
                        Err(e) => Err((e.to_string(), false)),
                    };
                    let _ = done.send(Done::WarpImported(result));
                });
            }
        }
    }

    fn on_warp_imported(&mut self, result: Result<umbra_storage::BlockRef, (String, bool)>) {
        match result {
            Ok(block) => {
                tracing::info!(target: "umbra::sync", number = block.number, hash = ?block.hash, "warp sync done; syncing the rest in full");
                self.warp = None;
                // The warp's peers are the downloader's now.
                for peer in self.net.handle.peers() {
                    self.downloader.note(peer.id, peer.best_number, peer.best_hash);
                }
                self.parts.grandpa.notify_set_changed();
                let _ = self.parts.ready.send(true);
            }
            Err((reason, state_at_fault)) => {
                tracing::warn!(target: "umbra::sync", %reason, "warp target not stored");
                if let Some((peer, what)) = self.warp.as_mut().and_then(|w| w.import_failed(state_at_fault)) {
                    self.net.handle.report(peer, what);
                }
            }
        }
    }

    async fn on_done(&mut self, done: Done) {
        match done {
            Done::Warp(answer) => self.on_warp(answer),
            Done::Fork(peer, hash, outcome) => self.on_fork(peer, hash, outcome),
            Done::WarpImported(result) => self.on_warp_imported(result),
            Done::Sync(outcome) => {
                if let sync::Imported::Bad(what, reason) = &outcome {
                    tracing::info!(target: "umbra::sync", ?what, %reason, "bad block answer");
                }
                if let sync::Imported::Blocks { imported, set_changed } = &outcome {
                    if *set_changed {
                        self.parts.grandpa.notify_set_changed();
                    }
                    self.net.synced.fetch_add(u64::from(*imported), Ordering::Relaxed);
                    tracing::debug!(target: "umbra::sync", imported, "blocks imported");
                }
                if let Some((peer, what)) = self.downloader.done(&outcome) {
                    self.net.handle.report(peer, what);
                }
                self.apply_pending().await;
            }
            Done::SyncFailed(reason) => {
                tracing::debug!(target: "umbra::sync", %reason, "block request failed");
                self.downloader.failed();
            }
            Done::CatchUp(peer, answer) => self.on_catch_up(peer, answer),
        }
        self.drive();
    }

    /// Submits an unsigned equivocation report to the pool, which passes it
    /// on to the other nodes; any author includes it once.
    fn report_offence(&self, call: umbra_runtime::RuntimeCall) {
        let xt = umbra_runtime::extrinsic::RuntimeExtrinsic::new_unsigned(call).to_opaque();
        match umbra_rpc::PoolApi::submit(self.parts.pool.as_ref(), xt) {
            Ok(hash) => tracing::warn!(target: "umbra::offences", ?hash, "equivocation reported"),
            Err(e) => tracing::debug!(target: "umbra::offences", error = %e, "equivocation report not submitted"),
        }
    }

    /// Checks a header's seal (its parent must be here) and remembers it by
    /// slot; a second header of the same slot by the same author is an
    /// equivocation, reported with both headers.
    fn observe_header(&mut self, header: &Header) {
        // Only recent slots: an old block seen while catching up is not
        // checked again (its import checked its seal; a double seal that
        // old is remembered by no one anyway).
        let recent = umbra_runtime::modules::aura::slot_from_digest(&header.digest)
            .is_some_and(|slot| slot + SLOTS_KEPT as u64 >= self.now_slot());
        if !recent {
            return;
        }
        let chain = &self.parts.chain;
        let Ok(Some(parent)) = chain.header(&header.parent_hash) else { return };
        let Ok(state) = chain.db().state_at(parent.state_root) else { return };
        let origin = umbra_consensus::Origin::External { now_slot: self.now_slot() };
        let Ok((_, slot)) = chain.verify_seal(header, &parent, &state, origin) else { return };
        let ext = umbra_runtime::state::Ext::new(&state);
        let Some(author) =
            umbra_runtime::modules::aura::slot_author(slot, &umbra_runtime::modules::aura::authorities(&ext))
        else {
            return;
        };
        match self.slots.get(&slot) {
            Some((seen_author, seen)) if *seen_author == author && seen.hash() != header.hash() => {
                tracing::warn!(target: "umbra::offences", slot, ?author, "two blocks sealed for one slot");
                let proof = umbra_runtime::modules::aura::EquivocationProof {
                    offender: author,
                    slot,
                    first_header: seen.clone(),
                    second_header: header.clone(),
                };
                let call = umbra_runtime::modules::aura::Call::report_equivocation_unsigned {
                    equivocation_proof: Box::new(proof),
                };
                self.report_offence(umbra_runtime::RuntimeCall::Aura(call));
            }
            Some(_) => {}
            None => {
                self.slots.insert(slot, (author, header.clone()));
                while self.slots.len() > SLOTS_KEPT {
                    self.slots.pop_first();
                }
            }
        }
    }

    async fn on_imported(&mut self, header: Header, is_best: bool) {
        self.observe_header(&header);
        let hash = header.hash();
        self.release_votes(&hash);
        if is_best {
            // Announce only near the tip: not every block of a long sync.
            let highest = self.downloader.highest().unwrap_or(0);
            if header.number + 16 >= highest {
                self.net.handle.publish(Topic::Blocks, header.encode());
            }
        }
        if self.pending.contains_key(&hash) {
            self.apply_pending().await;
        }
    }

    /// Applies stashed justifications whose blocks are now here.
    async fn apply_pending(&mut self) {
        let chain = self.parts.chain.clone();
        let ready: Vec<(H256, Vec<u8>)> = self
            .pending
            .iter()
            .filter(|(h, _)| matches!(chain.db().contains(h), Ok(true)))
            .map(|(h, (_, j))| (*h, j.clone()))
            .collect();
        for (hash, justification) in ready {
            self.pending.remove(&hash);
            let chain = chain.clone();
            let result =
                tokio::task::spawn_blocking(move || grandpa::import_justification(&chain, hash, &justification)).await;
            if let Ok(Ok(grandpa::JustificationImport::Finalized { set_changed: true })) = result {
                self.parts.grandpa.notify_set_changed();
            }
        }
        if let Ok(finalized) = chain.finalized() {
            self.pending.retain(|_, (number, _)| *number > u64::from(finalized.number));
        }
    }

    async fn on_network(&mut self, event: Event) {
        match event {
            Event::Connected { peer, status } => {
                self.downloader.note(peer, status.best_number, status.best_hash);
                if let Some(warp) = self.warp.as_mut() {
                    warp.note(peer, status.best_number);
                }
                self.drive();
            }
            Event::Disconnected { peer } => {
                self.downloader.remove(&peer);
                if let Some(warp) = self.warp.as_mut() {
                    if warp.in_flight() == Some(peer) {
                        warp.failed();
                    }
                    warp.remove(&peer);
                }
                if matches!(self.downloader.in_flight, Some((p, _)) if p == peer) {
                    self.downloader.failed();
                }
            }
            Event::Gossip { topic, source, id, data } => {
                let verdict = match topic {
                    Topic::Blocks => self.on_announcement(source, &data),
                    Topic::Transactions => {
                        match OpaqueExtrinsic::from_encoded(&data, umbra_runtime::weights::limits::MAX_EXTRINSIC_LEN) {
                            Ok(xt) => {
                                if self.txs.try_send((id.clone(), source, xt)).is_ok() {
                                    return;
                                }
                                Verdict::Ignore
                            }
                            Err(_) => {
                                self.net.handle.report(source, Misbehaviour::Undecodable);
                                Verdict::Reject
                            }
                        }
                    }
                    Topic::Grandpa => self.on_grandpa(source, &data).await,
                };
                self.net.handle.validated(id, source, verdict);
            }
            Event::Request { peer, kind, data, reply } => self.on_request(peer, kind, data, reply),
        }
    }

    fn on_announcement(&mut self, source: PeerId, data: &[u8]) -> Verdict {
        let header: Header = match grandpa::decode_exact(data, MAX_HEADER_LEN) {
            Ok(h) => h,
            Err(_) => {
                self.net.handle.report(source, Misbehaviour::Undecodable);
                return Verdict::Reject;
            }
        };
        self.observe_header(&header);
        let hash = header.hash();
        self.net.handle.note_best(source, header.number, hash);
        self.downloader.note(source, header.number, hash);
        if let Some(warp) = self.warp.as_mut() {
            warp.note(source, header.number);
        }
        self.drive();
        // Not passed on: each node announces what it has imported itself.
        Verdict::Ignore
    }

    async fn on_grandpa(&mut self, source: PeerId, data: &[u8]) -> Verdict {
        let message = match GossipMessage::decode_bounded(data) {
            Ok(m) => m,
            Err(_) => {
                self.net.handle.report(source, Misbehaviour::Undecodable);
                return Verdict::Reject;
            }
        };
        match message {
            GossipMessage::Vote { set_id, round, vote } => {
                match self.parts.grandpa.import_vote(set_id, round, vote.clone()) {
                    Ok(VoteOutcome::Imported) => {
                        if self.hold_if_unknown(set_id, round, vote) {
                            self.fetch_fork(source);
                        }
                        Verdict::Accept
                    }
                    Ok(VoteOutcome::Buffered { behind }) => {
                        if behind {
                            self.request_catch_up(source, set_id);
                        }
                        Verdict::Accept
                    }
                    Ok(VoteOutcome::Stale) => Verdict::Ignore,
                    Err(e) => {
                        tracing::debug!(target: "umbra::grandpa", %source, error = %e, "vote refused");
                        self.net.handle.report(source, Misbehaviour::BadVote);
                        Verdict::Reject
                    }
                }
            }
            GossipMessage::Commit { set_id, block, justification } => {
                let chain = self.parts.chain.clone();
                let Ok(finalized) = chain.finalized() else { return Verdict::Ignore };
                let current = grandpa::load_set(&chain).map(|s| s.set_id).ok();
                if block.number <= finalized.number || current != Some(set_id) {
                    return Verdict::Ignore;
                }
                self.downloader.note(source, block.number, block.hash);
                if !matches!(chain.db().contains(&block.hash), Ok(true)) {
                    if self.pending.len() < MAX_PENDING_JUSTIFICATIONS {
                        self.pending.insert(block.hash, (u64::from(block.number), justification));
                    }
                    self.drive();
                    return Verdict::Ignore;
                }
                let hash = block.hash;
                let result =
                    tokio::task::spawn_blocking(move || grandpa::import_justification(&chain, hash, &justification))
                        .await;
                match result {
                    Ok(Ok(grandpa::JustificationImport::Finalized { set_changed })) => {
                        if set_changed {
                            self.parts.grandpa.notify_set_changed();
                        }
                        Verdict::Accept
                    }
                    Ok(Ok(grandpa::JustificationImport::AlreadyFinal)) => Verdict::Ignore,
                    Ok(Err(umbra_consensus::Error::BadJustification(reason))) => {
                        tracing::info!(target: "umbra::grandpa", %source, %reason, "bad justification");
                        self.net.handle.report(source, Misbehaviour::BadJustification);
                        Verdict::Reject
                    }
                    _ => Verdict::Ignore,
                }
            }
        }
    }

    /// Keeps a checked vote whose block is not here yet, to give it to the
    /// voter again when the block is imported.
    /// Returns whether it was held.
    fn hold_if_unknown(&mut self, set_id: u64, round: u64, vote: grandpa::SignedVote) -> bool {
        let target = *vote.message.target().0;
        if matches!(self.parts.chain.db().contains(&target), Ok(true)) {
            return false;
        }
        let held: usize = self.held_votes.values().map(Vec::len).sum();
        if held >= MAX_HELD_VOTES {
            return false;
        }
        let votes = self.held_votes.entry(target).or_default();
        if !votes.iter().any(|(_, _, v)| *v == vote) {
            votes.push((set_id, round, vote));
        }
        true
    }

    /// Fetches, from `peer`, a block that held votes name (with its
    /// ancestors back to one we know): the downloader follows only the best
    /// chain, and a vote cast on another fork (during a partition, say)
    /// counts only once its block is here. One fetch at a time.
    fn fetch_fork(&mut self, peer: PeerId) {
        if self.fork_fetch.is_some() || self.warp.is_some() {
            return;
        }
        let Some(hash) = self.held_votes.keys().next().copied() else { return };
        self.fork_fetch = Some(hash);
        tracing::debug!(target: "umbra::sync", %peer, ?hash, "fetching a block a vote names");
        let (net, chain, done, now_slot) =
            (self.net.handle.clone(), self.parts.chain.clone(), self.done.clone(), self.now_slot());
        tokio::spawn(async move {
            let request = sync::Request::Ancestry { hash, max: sync::MAX_BLOCKS };
            let outcome = match net.request(peer, RequestKind::Blocks, request.encode()).await {
                Ok(bytes) => tokio::task::spawn_blocking(move || sync::import_ancestry(&chain, hash, &bytes, now_slot))
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let _ = done.send(Done::Fork(peer, hash, outcome));
        });
    }

    fn on_fork(&mut self, peer: PeerId, hash: H256, outcome: Result<sync::Imported, String>) {
        self.fork_fetch = None;
        match outcome {
            Ok(sync::Imported::Bad(what, reason)) => {
                tracing::info!(target: "umbra::sync", %peer, ?what, %reason, "bad fork answer");
                self.net.handle.report(peer, what);
                self.held_votes.remove(&hash);
            }
            Ok(sync::Imported::Blocks { imported, .. }) => {
                tracing::debug!(target: "umbra::sync", %peer, ?hash, imported, "fork block fetched");
                // Votes for a block that is now known were released on its
                // import; for one that cannot be imported, dropped.
                self.held_votes.remove(&hash);
            }
            Ok(sync::Imported::UnknownParent) | Err(_) => {
                // The peer lacks it or its ancestry: another vote's sender
                // is asked next.
                self.held_votes.remove(&hash);
            }
        }
    }

    /// Drops held votes for blocks at or below the finalized one: they can
    /// no longer matter.
    fn prune_held_votes(&mut self) {
        if let Ok(finalized) = self.parts.chain.finalized() {
            self.held_votes.retain(|_, votes| {
                votes.retain(|(_, _, v)| v.message.target().1 > finalized.number);
                !votes.is_empty()
            });
        }
    }

    /// Gives the voter the held votes for a block just imported.
    fn release_votes(&mut self, block: &H256) {
        for (set_id, round, vote) in self.held_votes.remove(block).unwrap_or_default() {
            let _ = self.parts.grandpa.import_vote(set_id, round, vote);
        }
    }

    fn request_catch_up(&mut self, peer: PeerId, set_id: u64) {
        let now = tokio::time::Instant::now();
        if self.catch_up_at.is_some_and(|at| now < at + CATCH_UP_INTERVAL) {
            return;
        }
        self.catch_up_at = Some(now);
        let request = grandpa::CatchUpRequest { set_id, round: self.parts.grandpa.best_round() };
        tracing::debug!(target: "umbra::grandpa", %peer, round = request.round, "asking for a catch-up");
        let (net, done) = (self.net.handle.clone(), self.done.clone());
        tokio::spawn(async move {
            let answer = net.request(peer, RequestKind::CatchUp, request.encode()).await.map_err(|e| e.to_string());
            let _ = done.send(Done::CatchUp(peer, answer));
        });
    }

    fn on_catch_up(&mut self, peer: PeerId, answer: Result<Vec<u8>, String>) {
        let bytes = match answer {
            Ok(b) => b,
            Err(reason) => {
                tracing::debug!(target: "umbra::grandpa", %peer, %reason, "catch-up request failed");
                return;
            }
        };
        let message: Option<grandpa::CatchUpMessage> =
            match grandpa::decode_exact(&bytes, RequestKind::CatchUp.max_response()) {
                Ok(m) => m,
                Err(_) => {
                    self.net.handle.report(peer, Misbehaviour::Undecodable);
                    return;
                }
            };
        let Some(message) = message else { return };
        let round = message.round;
        match self.parts.grandpa.import_catch_up(message) {
            Ok(true) => tracing::info!(target: "umbra::grandpa", %peer, round, "caught up"),
            Ok(false) => {}
            Err(e) => {
                tracing::info!(target: "umbra::grandpa", %peer, error = %e, "bad catch-up");
                self.net.handle.report(peer, Misbehaviour::BadVote);
            }
        }
    }

    fn on_request(
        &mut self,
        peer: PeerId,
        kind: RequestKind,
        data: Vec<u8>,
        reply: tokio::sync::oneshot::Sender<Vec<u8>>,
    ) {
        let chain = self.parts.chain.clone();
        let net = self.net.handle.clone();
        tokio::task::spawn_blocking(move || {
            let answer = match kind {
                RequestKind::Blocks => answer(&net, peer, kind, &data, |r: sync::Request| sync::serve(&chain, r)),
                RequestKind::Warp => {
                    answer(&net, peer, kind, &data, |r: warp_proof::WarpRequest| warp_proof::prove(&chain, r))
                }
                RequestKind::State => {
                    answer(&net, peer, kind, &data, |r: warp_proof::StateRequest| warp_proof::serve_state(&chain, &r))
                }
                RequestKind::CatchUp => answer(&net, peer, kind, &data, |r: grandpa::CatchUpRequest| {
                    GrandpaHandle::catch_up_answer(&chain, r.set_id, r.round)
                }),
            };
            if let Some(answer) = answer {
                let _ = reply.send(answer);
            }
        });
    }
}

/// Decodes a request of `kind` within its bound (an undecodable one costs
/// its peer) and answers it with `serve`; a request that cannot be served
/// gets no answer.
fn answer<Q: parity_scale_codec::Decode, A: Encode, E: std::fmt::Display>(
    net: &NetworkHandle,
    peer: PeerId,
    kind: RequestKind,
    data: &[u8],
    serve: impl FnOnce(Q) -> Result<A, E>,
) -> Option<Vec<u8>> {
    let Ok(request) = grandpa::decode_exact::<Q>(data, kind.max_request()) else {
        net.report(peer, Misbehaviour::Undecodable);
        return None;
    };
    match serve(request) {
        Ok(answer) => Some(answer.encode()),
        Err(e) => {
            tracing::debug!(target: "umbra::network", %peer, ?kind, error = %e, "request not served");
            None
        }
    }
}

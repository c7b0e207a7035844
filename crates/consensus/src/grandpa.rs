//! GRANDPA finality with the `finality-grandpa` crate's voter.
//!
//! This module implements the voter's `Environment`: ancestry and best-chain
//! queries from the database, round communication, signing and durable
//! recording of our votes, and finalization. Communication is written for
//! `N` voters: every vote we sign is recorded (fsync) before it leaves,
//! looped back to our own round input, and published on
//! [`GrandpaHandle::outgoing`] for a network layer to gossip; votes from the
//! network enter through [`GrandpaHandle::import_vote`] after their
//! signature is checked. With a single authority (`--dev`) the loop-back is
//! the whole network and every block is finalized within a round.
//!
//! Restart safety: the last completed round and any votes cast in the round
//! after it are stored (fsync) before a vote leaves; after a restart the
//! voter resumes after the completed round, and any vote it casts in a round
//! it already voted in is replaced by the recorded vote of the same kind, so
//! it never equivocates.
//!
//! Authority-set changes: votes never go past an unfinalized block that
//! schedules a change, so the change block itself is finalized (and its
//! justification stored); the voter then restarts with the new set.

use std::{
    collections::BTreeMap,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use finality_grandpa::{
    voter::{CommunicationIn, CommunicationOut, Environment, RoundData, Voter},
    voter_set::VoterSet,
    BlockNumberOps, Chain as GrandpaChain, Equivocation, HistoricalVotes, Message, SignedMessage,
};
use futures::{channel::mpsc, Future, FutureExt, Sink, Stream, StreamExt};
use parity_scale_codec::{Decode, Encode};
use tokio::sync::{broadcast, Notify};
use umbra_crypto::ed25519;
use umbra_primitives::{
    grandpa::{AuthorityList, ConsensusLog, Precommit, Prevote, SetId},
    BlockNumber, H256,
};
use umbra_runtime::modules::grandpa as grandpa_module;
use umbra_storage::BlockRef;

use crate::{chain::Chain, justification, Error};

/// A signed vote as it travels between voters.
pub type SignedVote = SignedMessage<H256, BlockNumber, ed25519::Signature, ed25519::Public>;

/// Justifications are kept for every block whose number crosses a multiple of this.
pub const JUSTIFICATION_PERIOD: BlockNumber = 256;

const AUX_SET: &str = "grandpa:set";
const AUX_COMPLETED: &str = "grandpa:completed";
const AUX_VOTED: &str = "grandpa:voted";
const AUX_LATEST: &str = "grandpa:latest-justification";

/// GRANDPA timing.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Estimated time for a message to reach every voter.
    pub gossip_duration: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config { gossip_duration: Duration::from_millis(1000) }
    }
}

/// The current authority set and where it started.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct AuthoritySet {
    /// Set id (0 at genesis, +1 per change).
    pub set_id: SetId,
    /// Voters and weights.
    pub authorities: AuthorityList,
    /// The block that enacted the set (genesis for set 0).
    pub base: BlockRef,
}

/// The last completed round, stored to resume after a restart.
#[derive(Clone, Debug, Encode, Decode)]
struct CompletedRound {
    set_id: SetId,
    round: u64,
    base: (H256, BlockNumber),
    votes: Vec<SignedVote>,
}

/// Our votes in one round, stored before they are sent.
#[derive(Clone, Debug, Default, Encode, Decode)]
struct Voted {
    set_id: SetId,
    round: u64,
    votes: Vec<SignedVote>,
}

/// The latest justification produced by the voter.
#[derive(Clone, Debug, Encode, Decode)]
pub struct LatestJustification {
    /// The justified block.
    pub block: BlockRef,
    /// Encoded `GrandpaJustification`.
    pub justification: Vec<u8>,
    /// Set id it was produced in.
    pub set_id: SetId,
}

/// A summary of the voter's current round (`grandpa_roundState`).
#[derive(Clone, Debug, Default)]
pub struct RoundSummary {
    /// Set id.
    pub set_id: SetId,
    /// Round number.
    pub round: u64,
    /// Total voter weight.
    pub total_weight: u64,
    /// Weight needed for supermajority.
    pub threshold_weight: u64,
    /// Prevote weight seen.
    pub prevote_weight: u64,
    /// Voters that have not prevoted.
    pub missing_prevotes: Vec<ed25519::Public>,
    /// Precommit weight seen.
    pub precommit_weight: u64,
    /// Voters that have not precommitted.
    pub missing_precommits: Vec<ed25519::Public>,
}

/// Reads the running voter's round state.
type VoterStateReader = Box<dyn finality_grandpa::voter::VoterState<ed25519::Public> + Send + Sync>;

/// Shared access to the running voter: votes in and out, state for RPC.
pub struct GrandpaHandle {
    outgoing: broadcast::Sender<(SetId, u64, SignedVote)>,
    rounds: Mutex<BTreeMap<u64, mpsc::UnboundedSender<SignedVote>>>,
    current: Mutex<Option<(AuthoritySet, VoterStateReader)>>,
}

impl GrandpaHandle {
    fn new() -> Self {
        let (outgoing, _) = broadcast::channel(1024);
        GrandpaHandle { outgoing, rounds: Mutex::new(BTreeMap::new()), current: Mutex::new(None) }
    }

    /// Votes this node signs, for a network layer to gossip.
    pub fn outgoing(&self) -> broadcast::Receiver<(SetId, u64, SignedVote)> {
        self.outgoing.subscribe()
    }

    /// A vote from another voter: checked against the current set and round
    /// signature payload, then fed to the round.
    pub fn import_vote(&self, set_id: SetId, round: u64, vote: SignedVote) -> Result<(), Error> {
        let set = self.current_set().ok_or_else(|| Error::Grandpa("voter not running".into()))?;
        if set.set_id != set_id {
            return Err(Error::Grandpa(format!("vote for set {set_id}, current set is {}", set.set_id)));
        }
        if !set.authorities.iter().any(|(id, _)| *id == vote.id) {
            return Err(Error::Grandpa("vote from a non-voter".into()));
        }
        let payload = umbra_primitives::grandpa::localized_payload(round, set_id, &vote.message);
        if !ed25519::verify(&vote.signature, &payload, &vote.id) {
            return Err(Error::Grandpa("bad vote signature".into()));
        }
        if let Ok(rounds) = self.rounds.lock() {
            if let Some(sender) = rounds.get(&round) {
                let _ = sender.unbounded_send(vote);
            }
        }
        Ok(())
    }

    /// The current authority set, if the voter runs.
    pub fn current_set(&self) -> Option<AuthoritySet> {
        self.current.lock().ok().and_then(|c| c.as_ref().map(|(s, _)| s.clone()))
    }

    /// The voter's best round, for `grandpa_roundState`.
    pub fn round_summary(&self) -> Option<RoundSummary> {
        let current = self.current.lock().ok()?;
        let (set, state) = current.as_ref()?;
        let report = state.get();
        let (round, best) = report.best_round;
        let missing = |seen: &std::collections::HashSet<ed25519::Public>| {
            let mut v: Vec<ed25519::Public> =
                set.authorities.iter().map(|(id, _)| *id).filter(|id| !seen.contains(id)).collect();
            v.sort();
            v
        };
        Some(RoundSummary {
            set_id: set.set_id,
            round,
            total_weight: best.total_weight.get(),
            threshold_weight: best.threshold_weight.get(),
            prevote_weight: best.prevote_current_weight.0,
            missing_prevotes: missing(&best.prevote_ids),
            precommit_weight: best.precommit_current_weight.0,
            missing_precommits: missing(&best.precommit_ids),
        })
    }
}

/// Whether finalizing block `number` (the previous finalized block being
/// `previous`) keeps its justification in the database: at authority-set
/// changes, and whenever finality crosses a multiple of
/// [`JUSTIFICATION_PERIOD`] (finality may jump over the multiple itself).
pub fn should_store_justification(previous: BlockNumber, number: BlockNumber, enacts_set_change: bool) -> bool {
    enacts_set_change || number / JUSTIFICATION_PERIOD > previous / JUSTIFICATION_PERIOD
}

/// The authority set stored in the database, or the genesis set.
pub fn load_set(chain: &Chain) -> Result<AuthoritySet, Error> {
    if let Some(bytes) = chain.db().aux(AUX_SET)? {
        return AuthoritySet::decode(&mut &bytes[..])
            .map_err(|_| Error::Grandpa("corrupt stored authority set".into()));
    }
    let genesis = chain.genesis();
    let state = chain.state(&genesis.hash)?;
    let authorities = grandpa_module::authorities(&umbra_runtime::state::Ext::new(&state));
    Ok(AuthoritySet { set_id: 0, authorities, base: genesis })
}

/// The latest justification the voter produced.
pub fn latest_justification(chain: &Chain) -> Result<Option<LatestJustification>, Error> {
    Ok(chain.db().aux(AUX_LATEST)?.and_then(|b| LatestJustification::decode(&mut &b[..]).ok()))
}

/// A finality proof for block `number` (`grandpa_proveFinality`): the first
/// stored justification at or after it, or the latest one.
pub fn prove_finality(chain: &Chain, number: BlockNumber) -> Result<Option<justification::FinalityProof>, Error> {
    let finalized = chain.finalized()?;
    if number > finalized.number {
        return Ok(None);
    }
    let found = match chain.db().next_justified(number)? {
        Some((block, j)) => Some((block, j)),
        None => latest_justification(chain)?.filter(|l| l.block.number >= number).map(|l| (l.block, l.justification)),
    };
    let Some((block, justification)) = found else { return Ok(None) };
    let mut unknown_headers = Vec::new();
    for n in number.saturating_add(1)..=block.number {
        if let Some(hash) = chain.db().hash_at(n)? {
            unknown_headers.push(chain.expect_header(&hash)?);
        }
    }
    Ok(Some(justification::FinalityProof { block: block.hash, justification, unknown_headers }))
}

type Timer = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

fn timer(after: Duration) -> Timer {
    Box::pin(tokio::time::sleep(after).map(Ok))
}

/// The voter's view of the world for one authority set.
struct Env {
    chain: Arc<Chain>,
    key: Option<Arc<ed25519::Pair>>,
    set: AuthoritySet,
    config: Config,
    handle: Arc<GrandpaHandle>,
    set_changed: Arc<Notify>,
}

/// Round input: the votes of the round.
struct Incoming(mpsc::UnboundedReceiver<SignedVote>);

impl Stream for Incoming {
    type Item = Result<SignedVote, Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_next_unpin(cx).map(|m| m.map(Ok))
    }
}

/// Round output: signs, records, loops back and publishes our votes.
struct Outgoing {
    chain: Arc<Chain>,
    key: Option<Arc<ed25519::Pair>>,
    set_id: SetId,
    round: u64,
    loopback: mpsc::UnboundedSender<SignedVote>,
    publish: broadcast::Sender<(SetId, u64, SignedVote)>,
}

impl Sink<Message<H256, BlockNumber>> for Outgoing {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, message: Message<H256, BlockNumber>) -> Result<(), Error> {
        let Some(key) = &self.key else { return Ok(()) };
        let mut voted: Voted = self
            .chain
            .db()
            .aux(AUX_VOTED)?
            .and_then(|b| Voted::decode(&mut &b[..]).ok())
            .filter(|v| v.set_id == self.set_id && v.round == self.round)
            .unwrap_or(Voted { set_id: self.set_id, round: self.round, votes: Vec::new() });
        let same_kind = |a: &Message<H256, BlockNumber>, b: &Message<H256, BlockNumber>| {
            core::mem::discriminant(a) == core::mem::discriminant(b)
        };
        // A vote of this kind was already cast in this round (before a
        // restart): send that one again, never a different one.
        let vote = match voted.votes.iter().find(|v| same_kind(&v.message, &message)) {
            Some(previous) => previous.clone(),
            None => {
                let payload = umbra_primitives::grandpa::localized_payload(self.round, self.set_id, &message);
                let vote = SignedMessage { message, signature: key.sign(&payload), id: key.public() };
                // Record before sending: after a crash we must not vote differently.
                voted.votes.push(vote.clone());
                self.chain.db().put_aux(AUX_VOTED, &voted.encode())?;
                vote
            }
        };
        let _ = self.loopback.unbounded_send(vote.clone());
        let _ = self.publish.send((self.set_id, self.round, vote));
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }
}

/// Commits to other nodes (gossip arrives with the network layer; dropped here).
struct CommitSink;

impl Sink<CommunicationOut<H256, BlockNumber, ed25519::Signature, ed25519::Public>> for CommitSink {
    type Error = Error;
    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(
        self: Pin<&mut Self>,
        _item: CommunicationOut<H256, BlockNumber, ed25519::Signature, ed25519::Public>,
    ) -> Result<(), Error> {
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }
}

type CommitsIn =
    futures::stream::Pending<Result<CommunicationIn<H256, BlockNumber, ed25519::Signature, ed25519::Public>, Error>>;

impl GrandpaChain<H256, BlockNumber> for Env {
    fn ancestry(&self, base: H256, block: H256) -> Result<Vec<H256>, finality_grandpa::Error> {
        match self.chain.ancestry(base, block) {
            Ok(Some(v)) => Ok(v),
            _ => Err(finality_grandpa::Error::NotDescendent),
        }
    }
}

impl Env {
    /// The block to vote for: the best block if it descends from `base`,
    /// but never past an unfinalized block that schedules a set change.
    fn best_containing(&self, base: H256) -> Result<Option<(H256, BlockNumber)>, Error> {
        let Some(base_header) = self.chain.header(&base)? else { return Ok(None) };
        let best = self.chain.best()?;
        if self.chain.ancestry(base, best.hash)?.is_none() && best.hash != base {
            return Ok(Some((base, base_header.number)));
        }
        let finalized = self.chain.finalized()?;
        let mut target = (best.hash, best.number);
        for n in finalized.number + 1..=best.number {
            let Some(hash) = self.chain.db().hash_at(n)? else { break };
            let header = self.chain.expect_header(&hash)?;
            let changes = header.grandpa_logs().any(|l| matches!(l, Ok(ConsensusLog::ScheduledChange(_))));
            if changes {
                target = (hash, n);
                break;
            }
        }
        if target.1 < base_header.number {
            return Ok(Some((base, base_header.number)));
        }
        Ok(Some(target))
    }

    fn finalize(
        &self,
        hash: H256,
        number: BlockNumber,
        round: u64,
        commit: umbra_primitives::grandpa::Commit,
    ) -> Result<(), Error> {
        let finalized = self.chain.finalized()?;
        if number <= finalized.number {
            return Ok(());
        }
        let justification = justification::build(&self.chain, round, commit)?;
        justification::verify(&justification, hash, number, self.set.set_id, &self.set.authorities)
            .map_err(|e| Error::Grandpa(format!("own justification invalid: {e}")))?;
        let encoded = justification.encode();
        let header = self.chain.expect_header(&hash)?;
        let change = header.grandpa_logs().find_map(|l| match l {
            Ok(ConsensusLog::ScheduledChange(c)) => Some(c),
            _ => None,
        });
        let store = should_store_justification(finalized.number, number, change.is_some());
        self.chain.finalize(hash, store.then_some(encoded.as_slice()))?;
        let latest =
            LatestJustification { block: BlockRef { hash, number }, justification: encoded, set_id: self.set.set_id };
        self.chain.db().put_aux(AUX_LATEST, &latest.encode())?;
        if let Some(change) = change {
            let next = AuthoritySet {
                set_id: self.set.set_id + 1,
                authorities: change.next_authorities,
                base: BlockRef { hash, number },
            };
            tracing::info!(target: "umbra::grandpa", set_id = next.set_id, voters = next.authorities.len(), number, "authority set changed");
            self.chain.db().put_aux(AUX_SET, &next.encode())?;
            self.set_changed.notify_one();
        }
        Ok(())
    }
}

impl Environment<H256, BlockNumber> for Env {
    type Timer = Timer;
    type BestChain = futures::future::Ready<Result<Option<(H256, BlockNumber)>, Error>>;
    type Id = ed25519::Public;
    type Signature = ed25519::Signature;
    type In = Incoming;
    type Out = Outgoing;
    type Error = Error;

    fn best_chain_containing(&self, base: H256) -> Self::BestChain {
        futures::future::ready(self.best_containing(base))
    }

    fn round_data(&self, round: u64) -> RoundData<Self::Id, Self::Timer, Self::In, Self::Out> {
        let (sender, receiver) = mpsc::unbounded();
        let voter_id = match &self.key {
            Some(key) if self.set.authorities.iter().any(|(id, _)| *id == key.public()) => Some(key.public()),
            _ => None,
        };
        if let Ok(mut rounds) = self.handle.rounds.lock() {
            rounds.insert(round, sender.clone());
            // Keep the two latest rounds reachable for network votes.
            while rounds.len() > 2 {
                rounds.pop_first();
            }
        }
        let gossip = self.config.gossip_duration;
        RoundData {
            voter_id,
            prevote_timer: timer(gossip * 2),
            precommit_timer: timer(gossip * 4),
            incoming: Incoming(receiver),
            outgoing: Outgoing {
                chain: self.chain.clone(),
                key: self.key.clone(),
                set_id: self.set.set_id,
                round,
                loopback: sender,
                publish: self.handle.outgoing.clone(),
            },
        }
    }

    fn round_commit_timer(&self) -> Self::Timer {
        timer(self.config.gossip_duration / 2)
    }

    fn proposed(
        &self,
        _round: u64,
        _propose: finality_grandpa::PrimaryPropose<H256, BlockNumber>,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn prevoted(&self, _round: u64, _prevote: Prevote) -> Result<(), Error> {
        Ok(())
    }

    fn precommitted(&self, _round: u64, _precommit: Precommit) -> Result<(), Error> {
        Ok(())
    }

    fn completed(
        &self,
        round: u64,
        _state: finality_grandpa::round::State<H256, BlockNumber>,
        base: (H256, BlockNumber),
        votes: &HistoricalVotes<H256, BlockNumber, ed25519::Signature, ed25519::Public>,
    ) -> Result<(), Error> {
        let completed = CompletedRound { set_id: self.set.set_id, round, base, votes: votes.seen().to_vec() };
        self.chain.db().put_aux(AUX_COMPLETED, &completed.encode())?;
        tracing::debug!(target: "umbra::grandpa", round, "round completed");
        Ok(())
    }

    fn concluded(
        &self,
        round: u64,
        state: finality_grandpa::round::State<H256, BlockNumber>,
        base: (H256, BlockNumber),
        votes: &HistoricalVotes<H256, BlockNumber, ed25519::Signature, ed25519::Public>,
    ) -> Result<(), Error> {
        self.completed(round, state, base, votes)
    }

    fn finalize_block(
        &self,
        hash: H256,
        number: BlockNumber,
        round: u64,
        commit: umbra_primitives::grandpa::Commit,
    ) -> Result<(), Error> {
        match self.finalize(hash, number, round, commit) {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::error!(target: "umbra::grandpa", number, ?hash, error = %e, "finalization failed");
                Err(e)
            }
        }
    }

    fn prevote_equivocation(
        &self,
        round: u64,
        equivocation: Equivocation<ed25519::Public, Prevote, ed25519::Signature>,
    ) {
        tracing::warn!(target: "umbra::grandpa", round, voter = ?equivocation.identity, "prevote equivocation");
    }

    fn precommit_equivocation(
        &self,
        round: u64,
        equivocation: Equivocation<ed25519::Public, Precommit, ed25519::Signature>,
    ) {
        tracing::warn!(target: "umbra::grandpa", round, voter = ?equivocation.identity, "precommit equivocation");
    }
}

/// Creates the handle shared with RPC and the network layer.
pub fn handle() -> Arc<GrandpaHandle> {
    Arc::new(GrandpaHandle::new())
}

/// Runs the GRANDPA voter (restarting it at each authority-set change) until
/// `shutdown` changes. `key` is this node's GRANDPA key, if it votes.
pub async fn run(
    chain: Arc<Chain>,
    key: Option<Arc<ed25519::Pair>>,
    config: Config,
    handle: Arc<GrandpaHandle>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    loop {
        let set = load_set(&chain)?;
        let voters = VoterSet::new(set.authorities.iter().cloned())
            .ok_or_else(|| Error::Grandpa("empty or invalid authority set".into()))?;
        let completed = chain
            .db()
            .aux(AUX_COMPLETED)?
            .and_then(|b| CompletedRound::decode(&mut &b[..]).ok())
            .filter(|c| c.set_id == set.set_id);
        let (last_round, last_votes, last_base) = match completed {
            Some(c) => (c.round, c.votes, c.base),
            None => (0, Vec::new(), (set.base.hash, set.base.number)),
        };
        let finalized = chain.finalized()?;
        let set_changed = Arc::new(Notify::new());
        let env = Arc::new(Env {
            chain: chain.clone(),
            key: key.clone(),
            set: set.clone(),
            config,
            handle: handle.clone(),
            set_changed: set_changed.clone(),
        });
        let commits_in: CommitsIn = futures::stream::pending();
        let voter = Voter::new(
            env,
            voters,
            (commits_in, CommitSink),
            last_round,
            last_votes,
            last_base,
            (finalized.hash, finalized.number),
        );
        if let Ok(mut current) = handle.current.lock() {
            *current = Some((set.clone(), voter.voter_state()));
        }
        tracing::info!(target: "umbra::grandpa", set_id = set.set_id, round = last_round + 1, voting = key.is_some(), "voter started");
        tokio::select! {
            result = voter => {
                match result {
                    Ok(()) => tracing::warn!(target: "umbra::grandpa", "voter stopped"),
                    Err(e) => tracing::error!(target: "umbra::grandpa", error = %e, "voter failed; restarting"),
                }
                tokio::time::sleep(config.gossip_duration).await;
            }
            _ = set_changed.notified() => {}
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

// Compile-time check that the block number type satisfies the voter.
const _: fn() = || {
    fn assert_ops<N: BlockNumberOps>() {}
    assert_ops::<BlockNumber>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn justification_storage_rule() {
        assert!(!should_store_justification(0, 1, false));
        assert!(!should_store_justification(254, 255, false));
        assert!(should_store_justification(255, 256, false));
        assert!(should_store_justification(250, 260, false), "jumping over 256 still stores");
        assert!(!should_store_justification(256, 300, false));
        assert!(should_store_justification(300, 512, false));
        assert!(should_store_justification(3, 4, true), "set changes always store");
    }
}

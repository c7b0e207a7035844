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

pub(crate) const AUX_SET: &str = "grandpa:set";
const AUX_COMPLETED: &str = "grandpa:completed";
const AUX_VOTED: &str = "grandpa:voted";
pub(crate) const AUX_LATEST: &str = "grandpa:latest-justification";

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

/// Rounds ahead of the voter's best round whose votes are kept until the
/// round starts (a faster voter's votes arrive before ours begins).
pub const FUTURE_ROUNDS: u64 = 8;
/// Most buffered future votes.
const MAX_FUTURE_VOTES: usize = 4096;

/// What became of a vote from the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteOutcome {
    /// Fed to its round.
    Imported,
    /// For a round that has not started here: kept until it does. `behind`
    /// says the round is far enough ahead that this node should catch up.
    Buffered {
        /// Whether to ask for a catch-up.
        behind: bool,
    },
    /// For a round this node has left, another set, or before the voter runs.
    Stale,
}

/// Why a vote, a catch-up or a justification from the network was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Signed by a key that is not a voter of the set.
    #[error("not a voter of the set")]
    NotAVoter,
    /// The signature does not verify for the round and set.
    #[error("bad signature")]
    BadSignature,
    /// The message does not decode or exceeds its bounds.
    #[error("undecodable: {0}")]
    Undecodable(String),
    /// The justification does not verify.
    #[error("bad justification: {0}")]
    BadJustification(String),
}

type GlobalIn = CommunicationIn<H256, BlockNumber, ed25519::Signature, ed25519::Public>;

/// Shared access to the running voter: votes in and out, state for RPC.
pub struct GrandpaHandle {
    outgoing: broadcast::Sender<(SetId, u64, SignedVote)>,
    equivocations: broadcast::Sender<grandpa_module::EquivocationProof>,
    finalized: broadcast::Sender<LatestJustification>,
    rounds: Mutex<BTreeMap<u64, mpsc::UnboundedSender<SignedVote>>>,
    future: Mutex<BTreeMap<u64, Vec<SignedVote>>>,
    global: Mutex<Option<mpsc::UnboundedSender<GlobalIn>>>,
    current: Mutex<Option<(AuthoritySet, VoterStateReader)>>,
    set_changed: Notify,
}

impl GrandpaHandle {
    fn new() -> Self {
        let (outgoing, _) = broadcast::channel(1024);
        let (finalized, _) = broadcast::channel(64);
        let (equivocations, _) = broadcast::channel(64);
        GrandpaHandle {
            outgoing,
            equivocations,
            finalized,
            rounds: Mutex::new(BTreeMap::new()),
            future: Mutex::new(BTreeMap::new()),
            global: Mutex::new(None),
            current: Mutex::new(None),
            set_changed: Notify::new(),
        }
    }

    /// Votes this node signs, for a network layer to gossip.
    pub fn outgoing(&self) -> broadcast::Receiver<(SetId, u64, SignedVote)> {
        self.outgoing.subscribe()
    }

    /// Justifications of the blocks this node's voter finalizes, for a
    /// network layer to gossip as commits.
    pub fn finalized(&self) -> broadcast::Receiver<LatestJustification> {
        self.finalized.subscribe()
    }

    /// Double votes the voter saw, with their proof, for a report on chain.
    pub fn equivocations(&self) -> broadcast::Receiver<grandpa_module::EquivocationProof> {
        self.equivocations.subscribe()
    }

    /// Tells the voter that the authority set changed under it (a
    /// justification imported from the network enacted a change).
    pub fn notify_set_changed(&self) {
        self.set_changed.notify_one();
    }

    /// The voter's best round (0 before it runs).
    pub fn best_round(&self) -> u64 {
        self.rounds.lock().ok().and_then(|r| r.keys().next_back().copied()).unwrap_or(0)
    }

    /// Checks `vote` (voter of `set`, signature for `round`).
    fn check_vote(set: &AuthoritySet, round: u64, vote: &SignedVote) -> Result<(), Refused> {
        if !set.authorities.iter().any(|(id, _)| *id == vote.id) {
            return Err(Refused::NotAVoter);
        }
        let payload = umbra_primitives::grandpa::localized_payload(round, set.set_id, &vote.message);
        if !ed25519::verify(&vote.signature, &payload, &vote.id) {
            return Err(Refused::BadSignature);
        }
        Ok(())
    }

    /// A vote from another voter: checked against the current set and the
    /// round's signature payload, then fed to its round, or kept if the
    /// round has not started here yet.
    pub fn import_vote(&self, set_id: SetId, round: u64, vote: SignedVote) -> Result<VoteOutcome, Refused> {
        let Some(set) = self.current_set() else { return Ok(VoteOutcome::Stale) };
        if set.set_id != set_id {
            return Ok(VoteOutcome::Stale);
        }
        Self::check_vote(&set, round, &vote)?;
        let Ok(rounds) = self.rounds.lock() else { return Ok(VoteOutcome::Stale) };
        if let Some(sender) = rounds.get(&round) {
            let _ = sender.unbounded_send(vote);
            return Ok(VoteOutcome::Imported);
        }
        let best = rounds.keys().next_back().copied().unwrap_or(0);
        drop(rounds);
        if round <= best {
            return Ok(VoteOutcome::Stale);
        }
        let behind = round >= best + 2;
        if round <= best + FUTURE_ROUNDS {
            if let Ok(mut future) = self.future.lock() {
                let held: usize = future.values().map(Vec::len).sum();
                let entry = future.entry(round).or_default();
                if held < MAX_FUTURE_VOTES && !entry.contains(&vote) {
                    entry.push(vote);
                }
            }
        }
        Ok(VoteOutcome::Buffered { behind })
    }

    /// Answers a catch-up request: our last completed round of `set_id`,
    /// if it is after `round`.
    pub fn catch_up_answer(chain: &Chain, set_id: SetId, round: u64) -> Result<Option<CatchUpMessage>, Error> {
        let completed = chain.db().aux(AUX_COMPLETED)?.and_then(|b| CompletedRound::decode(&mut &b[..]).ok());
        Ok(completed.filter(|c| c.set_id == set_id && c.round > round).map(|c| CatchUpMessage {
            set_id: c.set_id,
            round: c.round,
            base: c.base,
            votes: c.votes,
        }))
    }

    /// A catch-up from the network: every vote checked, then given to the
    /// voter, which moves on to the round after it if the votes make that
    /// round completable.
    pub fn import_catch_up(&self, message: CatchUpMessage) -> Result<bool, Refused> {
        let Some(set) = self.current_set() else { return Ok(false) };
        if set.set_id != message.set_id || message.round <= self.best_round() {
            return Ok(false);
        }
        let (mut prevotes, mut precommits) = (Vec::new(), Vec::new());
        for vote in &message.votes {
            Self::check_vote(&set, message.round, vote)?;
            match &vote.message {
                Message::Prevote(p) => prevotes.push(finality_grandpa::SignedPrevote {
                    prevote: p.clone(),
                    signature: vote.signature,
                    id: vote.id,
                }),
                Message::Precommit(p) => precommits.push(finality_grandpa::SignedPrecommit {
                    precommit: p.clone(),
                    signature: vote.signature,
                    id: vote.id,
                }),
                Message::PrimaryPropose(_) => {}
            }
        }
        let catch_up = finality_grandpa::CatchUp {
            round_number: message.round,
            prevotes,
            precommits,
            base_hash: message.base.0,
            base_number: message.base.1,
        };
        let Ok(global) = self.global.lock() else { return Ok(false) };
        match global.as_ref() {
            Some(sender) => {
                let sent =
                    sender.unbounded_send(CommunicationIn::CatchUp(catch_up, finality_grandpa::voter::Callback::Blank));
                Ok(sent.is_ok())
            }
            None => Ok(false),
        }
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
    // From memory: the genesis state is pruned once 256 blocks are final,
    // and a set read from a pruned state would be empty.
    Ok(AuthoritySet { set_id: 0, authorities: chain.genesis_authorities().clone(), base: chain.genesis() })
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

/// The voter's commits: dropped, because each finalization is published
/// with its full justification instead ([`GrandpaHandle::finalized`]),
/// which any node verifies alone, as a light client does.
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

/// Catch-ups from the network, checked by [`GrandpaHandle::import_catch_up`].
struct GlobalStream(mpsc::UnboundedReceiver<GlobalIn>);

impl Stream for GlobalStream {
    type Item = Result<GlobalIn, Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_next_unpin(cx).map(|m| m.map(Ok))
    }
}

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
        let latest = enact(&self.chain, &self.set, BlockRef { hash, number }, justification.encode())?;
        let changed = latest.1;
        let _ = self.handle.finalized.send(latest.0);
        if changed {
            self.set_changed.notify_one();
        }
        Ok(())
    }
}

/// Finalizes `block` with its verified `justification` under `set`: stores
/// the justification by the storage rule, records it as the latest, and
/// enacts a set change the block schedules. Returns the latest justification
/// and whether the set changed.
fn enact(
    chain: &Chain,
    set: &AuthoritySet,
    block: BlockRef,
    justification: Vec<u8>,
) -> Result<(LatestJustification, bool), Error> {
    let finalized = chain.finalized()?;
    let header = chain.expect_header(&block.hash)?;
    let change = header.grandpa_logs().find_map(|l| match l {
        Ok(ConsensusLog::ScheduledChange(c)) => Some(c),
        _ => None,
    });
    let store = should_store_justification(finalized.number, block.number, change.is_some());
    chain.finalize(block.hash, store.then_some(justification.as_slice()))?;
    let latest = LatestJustification { block, justification, set_id: set.set_id };
    chain.db().put_aux(AUX_LATEST, &latest.encode())?;
    let changed = match change {
        Some(change) => {
            let next = AuthoritySet { set_id: set.set_id + 1, authorities: change.next_authorities, base: block };
            tracing::info!(target: "umbra::grandpa", set_id = next.set_id, voters = next.authorities.len(), number = block.number, "authority set changed");
            chain.db().put_aux(AUX_SET, &next.encode())?;
            true
        }
        None => false,
    };
    Ok((latest, changed))
}

/// What importing a justification from elsewhere did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JustificationImport {
    /// The block is now finalized (`set_changed`: it enacted a set change).
    Finalized {
        /// Whether the authority set changed.
        set_changed: bool,
    },
    /// The block is already final.
    AlreadyFinal,
}

/// Imports a justification of `hash` from the network or a file: verified
/// against the authority set in force (as the light client verifies), the
/// block must descend from the finalized block; then it is finalized as if
/// this node's voter had finalized it. The caller tells the voter of a set
/// change ([`GrandpaHandle::notify_set_changed`]).
pub fn import_justification(chain: &Chain, hash: H256, bytes: &[u8]) -> Result<JustificationImport, Error> {
    let header = chain.expect_header(&hash)?;
    let finalized = chain.finalized()?;
    if header.number <= finalized.number {
        return Ok(JustificationImport::AlreadyFinal);
    }
    let set = load_set(chain)?;
    justification::decode_and_verify(bytes, hash, header.number, set.set_id, &set.authorities)
        .map_err(|e| Error::BadJustification(e.to_string()))?;
    let (_, set_changed) = enact(chain, &set, BlockRef { hash, number: header.number }, bytes.to_vec())?;
    Ok(JustificationImport::Finalized { set_changed })
}

/// A catch-up: the last completed round of a set with its votes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CatchUpMessage {
    /// Set id.
    pub set_id: SetId,
    /// The completed round.
    pub round: u64,
    /// The round's base.
    pub base: (H256, BlockNumber),
    /// Its votes (prevotes and precommits).
    pub votes: Vec<SignedVote>,
}

/// A catch-up request: the asker's set and best round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CatchUpRequest {
    /// Set id.
    pub set_id: SetId,
    /// The asker's best round.
    pub round: u64,
}

/// A GRANDPA message as gossiped between nodes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum GossipMessage {
    /// A vote of a round.
    #[codec(index = 0)]
    Vote {
        /// Set id.
        set_id: SetId,
        /// Round.
        round: u64,
        /// The signed vote.
        vote: SignedVote,
    },
    /// A finalized block's justification.
    #[codec(index = 1)]
    Commit {
        /// Set id the justification is of.
        set_id: SetId,
        /// The justified block.
        block: BlockRef,
        /// Encoded `GrandpaJustification`.
        justification: Vec<u8>,
    },
}

/// Largest gossiped GRANDPA message: a justification of many voters with
/// its ancestry headers.
pub const MAX_GOSSIP_MESSAGE: usize = 1 << 20;

impl GossipMessage {
    /// Decodes a message exactly (no trailing bytes), within
    /// [`MAX_GOSSIP_MESSAGE`].
    pub fn decode_bounded(bytes: &[u8]) -> Result<Self, Refused> {
        decode_exact(bytes, MAX_GOSSIP_MESSAGE)
    }
}

/// Decodes a SCALE value exactly and within `bound` bytes.
pub fn decode_exact<T: Decode>(bytes: &[u8], bound: usize) -> Result<T, Refused> {
    if bytes.len() > bound {
        return Err(Refused::Undecodable(format!("{} bytes, at most {bound}", bytes.len())));
    }
    let mut input = bytes;
    let value = T::decode(&mut input).map_err(|e| Refused::Undecodable(e.to_string()))?;
    if !input.is_empty() {
        return Err(Refused::Undecodable("trailing bytes".into()));
    }
    Ok(value)
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
            // Votes that arrived before the round started here.
            if let Ok(mut future) = self.handle.future.lock() {
                if let Some(votes) = future.remove(&round) {
                    for vote in votes {
                        let _ = sender.unbounded_send(vote);
                    }
                }
                future.retain(|r, _| *r > round);
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
        let proof = grandpa_module::EquivocationProof {
            set_id: self.set.set_id,
            equivocation: grandpa_module::Equivocation::Prevote(equivocation),
        };
        let _ = self.handle.equivocations.send(proof);
    }

    fn precommit_equivocation(
        &self,
        round: u64,
        equivocation: Equivocation<ed25519::Public, Precommit, ed25519::Signature>,
    ) {
        tracing::warn!(target: "umbra::grandpa", round, voter = ?equivocation.identity, "precommit equivocation");
        let proof = grandpa_module::EquivocationProof {
            set_id: self.set.set_id,
            equivocation: grandpa_module::Equivocation::Precommit(equivocation),
        };
        let _ = self.handle.equivocations.send(proof);
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
        let (global, global_rx) = mpsc::unbounded();
        if let Ok(mut slot) = handle.global.lock() {
            *slot = Some(global);
        }
        if let Ok(mut rounds) = handle.rounds.lock() {
            rounds.clear();
        }
        let voter = Voter::new(
            env,
            voters,
            (GlobalStream(global_rx), CommitSink),
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
            _ = handle.set_changed.notified() => {}
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

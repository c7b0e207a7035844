//! Warp sync on the network (`--sync warp`): which peer to ask for what,
//! and what each answer means. The proofs and the state download are
//! verified by [`umbra_consensus::warp`]; this is the sequence around them.
//!
//! 1. **Proof**: ask the highest peer for the set changes after the last
//!    verified one (genesis at first); verify each answer against the set in
//!    force; continue until a finished answer names the finalized head.
//! 2. **Block**: fetch the head's body, checked against its header's
//!    extrinsics root (a wrong one costs the peer that sent it).
//! 3. **State**: download the head's state page by page; once complete it
//!    must give the head's state root, or the peer is reported and the
//!    download starts over with another.
//!
//! Only a node whose database holds nothing but genesis warp syncs; it does
//! not author or vote until the warp is done, and then syncs normally.

use std::collections::{BTreeMap, BTreeSet};

use parity_scale_codec::Encode;
use umbra_consensus::{
    grandpa::{self, AuthoritySet},
    warp::{self, StateDownload, StateResponse, Target, WarpFragment, WarpImport, WarpProof, WarpRequest},
};
use umbra_network::{Misbehaviour, PeerId, RequestKind};
use umbra_primitives::{
    block::{extrinsics_root, OpaqueExtrinsic},
    BlockNumber,
};

use super::sync::{BlockData, BlockRequest, Request};

/// How a node syncs when it starts with an empty database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// Download and execute every block from genesis.
    #[default]
    Full,
    /// Prove the finalized head with one justification per authority set,
    /// download its state, then sync normally.
    Warp,
}

impl std::str::FromStr for SyncMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(SyncMode::Full),
            "warp" => Ok(SyncMode::Warp),
            other => Err(format!("sync mode must be `full` or `warp`, not `{other}`")),
        }
    }
}

enum Phase {
    Proof,
    Block(Target),
    State {
        target: Target,
        body: Vec<OpaqueExtrinsic>,
        download: StateDownload,
    },
    /// The import is running.
    Importing {
        target: Target,
        body: Vec<OpaqueExtrinsic>,
    },
}

/// What to do with an answer.
#[derive(Debug)]
pub enum Outcome {
    /// Ask again (the next request comes from [`WarpSync::next_request`]).
    Continue,
    /// Everything is verified but the state root: store it.
    Import(Box<WarpImport>),
    /// The peer's answer is wrong.
    Bad(PeerId, Misbehaviour, String),
}

/// The warp sync in progress.
pub struct WarpSync {
    phase: Phase,
    set: AuthoritySet,
    changes: Vec<WarpFragment>,
    peers: BTreeMap<PeerId, BlockNumber>,
    /// Peers that had nothing newer to offer, asked again once they announce more.
    exhausted: BTreeSet<PeerId>,
    in_flight: Option<PeerId>,
}

impl WarpSync {
    /// Starts from the genesis set.
    pub fn new(genesis_set: AuthoritySet) -> Self {
        WarpSync {
            phase: Phase::Proof,
            set: genesis_set,
            changes: Vec::new(),
            peers: BTreeMap::new(),
            exhausted: BTreeSet::new(),
            in_flight: None,
        }
    }

    /// Notes a peer's best block.
    pub fn note(&mut self, peer: PeerId, best: BlockNumber) {
        let known = self.peers.entry(peer).or_insert(best);
        if best > *known {
            *known = best;
            self.exhausted.remove(&peer);
        }
    }

    /// Forgets a peer.
    pub fn remove(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
        self.exhausted.remove(peer);
    }

    /// The highest best block a peer told of.
    pub fn highest(&self) -> Option<BlockNumber> {
        self.peers.values().copied().max()
    }

    /// The peer asked last, whose answer is awaited.
    pub fn in_flight(&self) -> Option<PeerId> {
        self.in_flight
    }

    /// A description of the phase, for logs and status.
    pub fn phase(&self) -> &'static str {
        match self.phase {
            Phase::Proof => "proof",
            Phase::Block(_) => "block",
            Phase::State { .. } => "state",
            Phase::Importing { .. } => "importing",
        }
    }

    /// The next request, if none is in flight and a peer is ahead of the
    /// last verified set change. Ties go to the lowest peer id.
    pub fn next_request(&mut self) -> Option<(PeerId, RequestKind, Vec<u8>)> {
        if self.in_flight.is_some() || matches!(self.phase, Phase::Importing { .. }) {
            return None;
        }
        let floor = self.set.base.number;
        let peer = self
            .peers
            .iter()
            .filter(|(p, best)| **best > floor && !self.exhausted.contains(*p))
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(p, _)| *p)?;
        let (kind, data) = match &self.phase {
            Phase::Proof => (RequestKind::Warp, WarpRequest { begin: self.set.base.hash }.encode()),
            Phase::Block(target) => {
                let range = BlockRequest { from: target.fragment.header.number, max: 1 };
                (RequestKind::Blocks, Request::Range(range).encode())
            }
            Phase::State { download, .. } => (RequestKind::State, download.request().encode()),
            Phase::Importing { .. } => return None,
        };
        self.in_flight = Some(peer);
        Some((peer, kind, data))
    }

    /// The request in flight failed (timeout, disconnect, no answer): the
    /// peer is not asked again until it announces a newer block.
    pub fn failed(&mut self) {
        if let Some(peer) = self.in_flight.take() {
            self.exhausted.insert(peer);
        }
    }

    /// Takes the answer to the request in flight.
    pub fn on_answer(&mut self, bytes: &[u8]) -> Outcome {
        let Some(peer) = self.in_flight.take() else { return Outcome::Continue };
        match std::mem::replace(&mut self.phase, Phase::Proof) {
            Phase::Proof => {
                let proof: WarpProof = match grandpa::decode_exact(bytes, RequestKind::Warp.max_response()) {
                    Ok(p) => p,
                    Err(e) => return self.bad(peer, Misbehaviour::Undecodable, e.to_string()),
                };
                let verified = match warp::verify(&proof, &self.set) {
                    Ok(v) => v,
                    Err(e) => return self.bad(peer, Misbehaviour::BadJustification, e.to_string()),
                };
                let finished = proof.is_finished;
                self.set = verified.set;
                self.changes.extend(verified.changes);
                let target = verified.target.or_else(|| {
                    // A finished answer with nothing after the last change
                    // we verified: that change is the head.
                    let last = self.changes.last().filter(|_| finished)?;
                    Some(Target { fragment: last.clone(), signed_by: self.set.set_id.saturating_sub(1) })
                });
                match target {
                    Some(target) => {
                        tracing::info!(target: "umbra::sync", %peer, number = target.fragment.header.number, set_id = self.set.set_id, "warp proof verified");
                        self.phase = Phase::Block(target);
                    }
                    None if finished => {
                        // Nothing finalized beyond genesis yet.
                        self.exhausted.insert(peer);
                    }
                    None => {}
                }
                Outcome::Continue
            }
            Phase::Block(target) => {
                let blocks: Vec<BlockData> =
                    match grandpa::decode_exact(bytes, umbra_network::wire::MAX_BLOCKS_RESPONSE) {
                        Ok(b) => b,
                        Err(e) => {
                            self.phase = Phase::Block(target);
                            return self.bad(peer, Misbehaviour::Undecodable, e.to_string());
                        }
                    };
                match blocks.into_iter().next() {
                    Some(block)
                        if block.header.hash() == target.fragment.header.hash()
                            && extrinsics_root(&block.body, umbra_runtime::STATE_VERSION)
                                == target.fragment.header.extrinsics_root =>
                    {
                        let download = StateDownload::new(target.fragment.header.hash());
                        self.phase = Phase::State { target, body: block.body, download };
                        Outcome::Continue
                    }
                    _ => {
                        self.phase = Phase::Block(target);
                        self.bad(peer, Misbehaviour::UselessResponse, "not the warp target's block or body".into())
                    }
                }
            }
            Phase::State { target, body, mut download } => {
                let page: StateResponse = match grandpa::decode_exact(bytes, RequestKind::State.max_response()) {
                    Ok(p) => p,
                    Err(e) => {
                        self.phase = Phase::State { target, body, download };
                        return self.bad(peer, Misbehaviour::Undecodable, e.to_string());
                    }
                };
                match download.apply(page) {
                    Ok(true) => {
                        self.phase = Phase::Importing { target: target.clone(), body: body.clone() };
                        self.in_flight = Some(peer);
                        Outcome::Import(Box::new(WarpImport {
                            target,
                            body,
                            changes: self.changes.clone(),
                            set: self.set.clone(),
                            state: download.into_pairs(),
                        }))
                    }
                    Ok(false) => {
                        self.phase = Phase::State { target, body, download };
                        Outcome::Continue
                    }
                    Err(e) => {
                        let download = StateDownload::new(target.fragment.header.hash());
                        self.phase = Phase::State { target, body, download };
                        self.bad(peer, Misbehaviour::BadBlock, e.to_string())
                    }
                }
            }
            importing @ Phase::Importing { .. } => {
                self.phase = importing;
                self.in_flight = Some(peer);
                Outcome::Continue
            }
        }
    }

    /// The import of a downloaded state failed: the download starts over.
    /// If the state was at fault (its root is not the target's), the peer
    /// that sent it is returned to be reported and is not asked again.
    pub fn import_failed(&mut self, state_at_fault: bool) -> Option<(PeerId, Misbehaviour)> {
        if let Phase::Importing { target, body } = std::mem::replace(&mut self.phase, Phase::Proof) {
            let download = StateDownload::new(target.fragment.header.hash());
            self.phase = Phase::State { target, body, download };
        }
        let peer = self.in_flight.take()?;
        if !state_at_fault {
            return None;
        }
        self.peers.remove(&peer);
        Some((peer, Misbehaviour::BadBlock))
    }

    fn bad(&mut self, peer: PeerId, what: Misbehaviour, reason: String) -> Outcome {
        self.peers.remove(&peer);
        Outcome::Bad(peer, what, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use umbra_primitives::{header::Header, H256};
    use umbra_storage::BlockRef;

    fn in_block_phase() -> (WarpSync, PeerId, Header) {
        let header = Header {
            parent_hash: H256::repeat_byte(1),
            number: 7,
            state_root: H256::repeat_byte(2),
            extrinsics_root: extrinsics_root(&[], umbra_runtime::STATE_VERSION),
            digest: Default::default(),
        };
        let set = AuthoritySet { set_id: 0, authorities: Vec::new(), base: BlockRef { hash: H256::zero(), number: 0 } };
        let mut warp = WarpSync::new(set);
        let fragment = WarpFragment { header: header.clone(), justification: Vec::new() };
        warp.phase = Phase::Block(Target { fragment, signed_by: 0 });
        let peer = PeerId::random();
        warp.note(peer, 9);
        (warp, peer, header)
    }

    fn answer(header: &Header, body: Vec<OpaqueExtrinsic>) -> Vec<u8> {
        vec![BlockData { header: header.clone(), body, justification: None }].encode()
    }

    #[test]
    fn a_body_that_is_not_the_targets_costs_its_sender_and_is_asked_again() {
        let (mut warp, peer, header) = in_block_phase();
        let (asked, kind, _) = warp.next_request().unwrap();
        assert_eq!((asked, kind), (peer, RequestKind::Blocks));
        let wrong = answer(&header, vec![OpaqueExtrinsic(vec![4, 1, 2, 3])]);
        assert!(matches!(warp.on_answer(&wrong), Outcome::Bad(p, Misbehaviour::UselessResponse, _) if p == peer));
        assert_eq!(warp.phase(), "block", "still waiting for the right body");
        let other = PeerId::random();
        warp.note(other, 9);
        assert_eq!(warp.next_request().unwrap().0, other, "the reported peer is not asked again");
        assert!(matches!(warp.on_answer(&answer(&header, Vec::new())), Outcome::Continue));
        assert_eq!(warp.phase(), "state");
    }

    #[test]
    fn only_a_state_at_fault_costs_its_sender() {
        let (mut warp, peer, header) = in_block_phase();
        warp.next_request().unwrap();
        warp.on_answer(&answer(&header, Vec::new()));
        for state_at_fault in [false, true] {
            let (asked, kind, _) = warp.next_request().unwrap();
            assert_eq!((asked, kind), (peer, RequestKind::State));
            let page = StateResponse { pairs: vec![(vec![1], vec![2])], more: false };
            assert!(matches!(warp.on_answer(&page.encode()), Outcome::Import(_)));
            assert_eq!(warp.phase(), "importing");
            let blamed = warp.import_failed(state_at_fault);
            assert_eq!(blamed, state_at_fault.then_some((peer, Misbehaviour::BadBlock)));
            assert_eq!(warp.phase(), "state", "the download starts over");
        }
        assert!(warp.next_request().is_none(), "the peer whose state was wrong is not asked again");
    }
}

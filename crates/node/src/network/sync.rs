//! Block sync: the request and response of `/…/umbra/sync/2`, serving it
//! from the database, and the downloader that brings a node that is behind
//! up to its best peer.
//!
//! A request names a first block number and a count; the answer is the
//! serving node's canonical blocks from there, each with its body and, if
//! it has one, its justification, cut at [`RESPONSE_BUDGET`] bytes. The
//! downloader asks the peer with the highest best block for the blocks
//! after our best; if the first of them does not build on a block we know
//! (our best is on a fork), it asks again from after our finalized block,
//! which every honest peer shares. Every block is verified and executed on
//! import (seal, slot, state root), every justification is verified against
//! the authority set in force before it finalizes anything; a peer whose
//! answer fails either is reported.

use std::collections::{BTreeMap, BTreeSet};

use parity_scale_codec::{Decode, Encode};
use umbra_consensus::{grandpa, Chain, Origin};
use umbra_network::{Misbehaviour, PeerId};
use umbra_primitives::{block::OpaqueExtrinsic, header::Header, BlockNumber, H256};

/// Most blocks one request asks for.
pub const MAX_BLOCKS: u32 = 512;
/// Bytes of blocks after which the serving side cuts its answer (at least
/// one block is always sent).
pub const RESPONSE_BUDGET: usize = 8 << 20;

/// A request for canonical blocks `from..from + max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BlockRequest {
    /// The first block number.
    pub from: BlockNumber,
    /// How many blocks (at most [`MAX_BLOCKS`] are served).
    pub max: u32,
}

/// What `/…/umbra/sync/2` carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Request {
    /// Canonical blocks by number.
    #[codec(index = 0)]
    Range(BlockRequest),
    /// Block `hash` and its ancestors (canonical or not), at most `max`,
    /// answered oldest first: how a node fetches a fork block a GRANDPA
    /// vote names.
    #[codec(index = 1)]
    Ancestry {
        /// The newest block wanted.
        hash: H256,
        /// How many blocks back (at most [`MAX_BLOCKS`]).
        max: u32,
    },
}

/// One block of an answer.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BlockData {
    /// The header.
    pub header: Header,
    /// The body.
    pub body: Vec<OpaqueExtrinsic>,
    /// Its justification, if the serving node keeps one.
    pub justification: Option<Vec<u8>>,
}

/// Answers a request from the database.
pub fn serve(chain: &Chain, request: Request) -> Result<Vec<BlockData>, umbra_consensus::Error> {
    match request {
        Request::Range(range) => serve_range(chain, range),
        Request::Ancestry { hash, max } => serve_ancestry(chain, hash, max),
    }
}

fn serve_ancestry(chain: &Chain, hash: H256, max: u32) -> Result<Vec<BlockData>, umbra_consensus::Error> {
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    let mut current = hash;
    while blocks.len() < max.min(MAX_BLOCKS) as usize {
        let Some(header) = chain.header(&current)? else { break };
        if header.number == 0 {
            break;
        }
        let body = chain.db().body(&current)?.unwrap_or_default();
        let justification = chain.db().justification(&current)?;
        current = header.parent_hash;
        let block = BlockData { header, body, justification };
        bytes += block.encoded_size();
        if bytes > RESPONSE_BUDGET && !blocks.is_empty() {
            break;
        }
        blocks.push(block);
    }
    blocks.reverse();
    Ok(blocks)
}

fn serve_range(chain: &Chain, request: BlockRequest) -> Result<Vec<BlockData>, umbra_consensus::Error> {
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    let last = request.from.saturating_add(request.max.min(MAX_BLOCKS)).saturating_sub(1);
    for n in request.from.max(1)..=last {
        let Some(hash) = chain.db().hash_at(n)? else { break };
        let header = chain.expect_header(&hash)?;
        let body = chain.db().body(&hash)?.unwrap_or_default();
        let justification = chain.db().justification(&hash)?;
        let block = BlockData { header, body, justification };
        bytes += block.encoded_size();
        if bytes > RESPONSE_BUDGET && !blocks.is_empty() {
            break;
        }
        blocks.push(block);
    }
    Ok(blocks)
}

/// What importing an answer did.
#[derive(Debug, PartialEq, Eq)]
pub enum Imported {
    /// Blocks were imported (or already known), up to `best`.
    Blocks {
        /// Blocks newly imported.
        imported: u32,
        /// Whether a justification in the answer changed the authority set.
        set_changed: bool,
    },
    /// The first new block's parent is unknown here: ask from further back.
    UnknownParent,
    /// The peer's answer is wrong in the way named.
    Bad(Misbehaviour, String),
}

/// Decodes and imports an answer to an ancestry request for `hash`: a
/// chain of blocks, oldest first, ending at `hash`, whose first block's
/// parent is known. Blocks already here are skipped.
pub fn import_ancestry(chain: &Chain, hash: H256, bytes: &[u8], now_slot: u64) -> Imported {
    let blocks: Vec<BlockData> = match grandpa::decode_exact(bytes, umbra_network::wire::MAX_BLOCKS_RESPONSE) {
        Ok(b) => b,
        Err(e) => return Imported::Bad(Misbehaviour::Undecodable, e.to_string()),
    };
    if blocks.len() > MAX_BLOCKS as usize {
        return Imported::Bad(Misbehaviour::Oversized, format!("{} blocks", blocks.len()));
    }
    if blocks.last().map(|b| b.header.hash()) != Some(hash) {
        return Imported::Bad(Misbehaviour::UselessResponse, "not the asked block".into());
    }
    if blocks.windows(2).any(|w| w[1].header.parent_hash != w[0].header.hash()) {
        return Imported::Bad(Misbehaviour::UselessResponse, "not a chain".into());
    }
    // Start after the newest block we already have.
    let known = blocks.iter().rposition(|b| matches!(chain.db().contains(&b.header.hash()), Ok(true)));
    let start = known.map_or(0, |i| i + 1);
    let Some(first) = blocks.get(start) else { return Imported::Blocks { imported: 0, set_changed: false } };
    if !matches!(chain.db().contains(&first.header.parent_hash), Ok(true)) {
        return Imported::UnknownParent;
    }
    let last = blocks.len() - 1;
    let mut imported = 0;
    for (i, block) in blocks.into_iter().enumerate().skip(start) {
        let number = block.header.number;
        match chain.import_with(block.header, block.body, None, Origin::External { now_slot }, i == last) {
            Ok(_) | Err(umbra_consensus::Error::AlreadyKnown(_)) => imported += 1,
            // A fork below our finalized block: not wrong, just of no use.
            Err(umbra_consensus::Error::Storage(
                umbra_storage::Error::BelowFinalized { .. } | umbra_storage::Error::NotOnFinalizedChain(_),
            )) => return Imported::Blocks { imported, set_changed: false },
            Err(e) => return Imported::Bad(Misbehaviour::BadBlock, format!("block #{number}: {e}")),
        }
    }
    Imported::Blocks { imported, set_changed: false }
}

/// Decodes and imports an answer to `request`, in order. Stops at the first
/// block that fails (its peer is reported); blocks before it stay imported.
pub fn import(chain: &Chain, request: BlockRequest, bytes: &[u8], now_slot: u64) -> Imported {
    let blocks: Vec<BlockData> = match grandpa::decode_exact(bytes, umbra_network::wire::MAX_BLOCKS_RESPONSE) {
        Ok(b) => b,
        Err(e) => return Imported::Bad(Misbehaviour::Undecodable, e.to_string()),
    };
    if blocks.is_empty() {
        return Imported::Bad(Misbehaviour::UselessResponse, "no blocks".into());
    }
    if blocks.len() > MAX_BLOCKS as usize {
        return Imported::Bad(Misbehaviour::Oversized, format!("{} blocks", blocks.len()));
    }
    let (mut imported, mut set_changed) = (0, false);
    let last = blocks.len() - 1;
    for (i, block) in blocks.into_iter().enumerate() {
        let expected = request.from.saturating_add(i as u32);
        if block.header.number != expected {
            return Imported::Bad(
                Misbehaviour::UselessResponse,
                format!("block #{} where #{expected} was asked", block.header.number),
            );
        }
        let hash = block.header.hash();
        match chain.db().contains(&hash) {
            Ok(true) => {}
            Ok(false) => {
                if i == 0 && !matches!(chain.db().contains(&block.header.parent_hash), Ok(true)) {
                    return Imported::UnknownParent;
                }
                // One fsync per answer: the last block's commit makes the
                // ones before it durable too. A failure stops the answer, and
                // the next durable commit (or nothing, after a crash) follows.
                let durable = i == last || block.justification.is_some();
                match chain.import_with(block.header, block.body, None, Origin::External { now_slot }, durable) {
                    Ok(_) | Err(umbra_consensus::Error::AlreadyKnown(_)) => imported += 1,
                    Err(e) => return Imported::Bad(Misbehaviour::BadBlock, format!("block #{expected}: {e}")),
                }
            }
            Err(e) => return Imported::Bad(Misbehaviour::UselessResponse, format!("database: {e}")),
        }
        if let Some(justification) = block.justification {
            match grandpa::import_justification(chain, hash, &justification) {
                Ok(grandpa::JustificationImport::Finalized { set_changed: changed }) => set_changed |= changed,
                Ok(grandpa::JustificationImport::AlreadyFinal) => {}
                Err(e) => {
                    return Imported::Bad(Misbehaviour::BadJustification, format!("justification of #{expected}: {e}"))
                }
            }
        }
    }
    Imported::Blocks { imported, set_changed }
}

/// The downloader's view of its peers.
#[derive(Debug, Default)]
pub struct Downloader {
    peers: BTreeMap<PeerId, (BlockNumber, H256)>,
    /// Peers whose chain does not hold our best block: asked from after
    /// our finalized block.
    forked: BTreeSet<PeerId>,
    /// The request in flight, if any.
    pub in_flight: Option<(PeerId, BlockRequest)>,
}

impl Downloader {
    /// Notes a peer's best block (kept if higher than what it said before).
    pub fn note(&mut self, peer: PeerId, number: BlockNumber, hash: H256) {
        let entry = self.peers.entry(peer).or_insert((number, hash));
        if number >= entry.0 {
            *entry = (number, hash);
        }
    }

    /// Forgets a peer.
    pub fn remove(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
        self.forked.remove(peer);
    }

    /// The highest best block any peer has told of.
    pub fn highest(&self) -> Option<BlockNumber> {
        self.peers.values().map(|(n, _)| *n).max()
    }

    /// The next request to make, if a peer is ahead of `best` and none is
    /// in flight. Ties between peers go to the lowest peer id.
    pub fn next(&mut self, best: BlockNumber, finalized: BlockNumber) -> Option<(PeerId, BlockRequest)> {
        if self.in_flight.is_some() {
            return None;
        }
        let (peer, (number, _)) = self
            .peers
            .iter()
            .filter(|(_, (n, _))| *n > best)
            .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.0.cmp(a.0)))
            .map(|(p, v)| (*p, *v))?;
        let from = if self.forked.contains(&peer) { finalized + 1 } else { best + 1 };
        let request = BlockRequest { from, max: (number - from + 1).min(MAX_BLOCKS) };
        self.in_flight = Some((peer, request));
        Some((peer, request))
    }

    /// The answer of the request in flight was handled. Returns the peer to
    /// report, if its answer was wrong.
    pub fn done(&mut self, outcome: &Imported) -> Option<(PeerId, Misbehaviour)> {
        let (peer, request) = self.in_flight.take()?;
        match outcome {
            Imported::Blocks { .. } => {
                self.forked.remove(&peer);
                None
            }
            Imported::UnknownParent if !self.forked.contains(&peer) => {
                self.forked.insert(peer);
                None
            }
            Imported::UnknownParent => {
                // Even from after our finalized block its chain does not
                // connect: it is on another finalized chain, or lying.
                tracing::debug!(target: "umbra::sync", %peer, from = request.from, "peer's chain does not connect");
                self.peers.remove(&peer);
                Some((peer, Misbehaviour::UselessResponse))
            }
            Imported::Bad(what, _) => {
                self.peers.remove(&peer);
                Some((peer, *what))
            }
        }
    }

    /// The request in flight failed (timeout, disconnect).
    pub fn failed(&mut self) {
        if let Some((peer, _)) = self.in_flight.take() {
            self.peers.remove(&peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_downloader_asks_the_highest_peer_and_falls_back_to_the_finalized_block() {
        let mut d = Downloader::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        assert_eq!(d.next(10, 5), None, "no peers");
        d.note(a, 12, H256([1; 32]));
        d.note(b, 2000, H256([2; 32]));
        let (peer, request) = d.next(10, 5).unwrap();
        assert_eq!((peer, request), (b, BlockRequest { from: 11, max: MAX_BLOCKS }));
        assert_eq!(d.next(10, 5), None, "one request at a time");
        assert_eq!(d.done(&Imported::UnknownParent), None);
        let (_, request) = d.next(10, 5).unwrap();
        assert_eq!(request.from, 6, "a fork: from after the finalized block");
        assert_eq!(d.done(&Imported::UnknownParent), Some((b, Misbehaviour::UselessResponse)));
        let (peer, request) = d.next(10, 5).unwrap();
        assert_eq!((peer, request), (a, BlockRequest { from: 11, max: 2 }), "the next peer");
        assert_eq!(d.done(&Imported::Blocks { imported: 2, set_changed: false }), None);
        assert_eq!(d.next(12, 5), None, "caught up");
    }
}

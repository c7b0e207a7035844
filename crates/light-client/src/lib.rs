//! The GRANDPA light client: which headers are final, proven from a trust
//! anchor alone.
//!
//! A [`LightClient`] starts from a trusted genesis header and authority set
//! and accepts **batches** of consecutive headers whose last header carries
//! a GRANDPA justification of the current set. [`LightClient::import`]
//! checks, before changing anything:
//!
//! * the batch is bounded ([`MAX_BATCH_HEADERS`], [`MAX_JUSTIFICATION_BYTES`])
//!   and continues the finalized chain exactly (parent hash and number of the
//!   first header, then of every next one): replayed, skipped, reordered and
//!   forked headers are refused with their own error;
//! * the justification ([`verify_justification`]): for the last header, in
//!   its round and the current set id, every precommit signed by a distinct
//!   voter of the set, every precommit target a descendant of the commit
//!   target through `votes_ancestries` (numbers included), no unused
//!   ancestry header, and the signers' weight at least the GRANDPA threshold
//!   `total - (total - 1) / 3` (more than two thirds);
//! * GRANDPA digests: a `ScheduledChange` with delay 0 may only appear in the
//!   batch's last (justified) header and switches the set to `set_id + 1`
//!   from the next header on; forced changes, delayed changes, pauses and
//!   resumes are refused (v1 does not need them, and accepting them would
//!   widen what a relayer can make the client believe).
//!
//! On any error the client is unchanged. It verifies Substrate's own
//! justification encoding and signing payload (tested with a real Polkadot
//! justification), not only ours. No clock, no randomness, no IO.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

use alloc::{collections::BTreeMap, collections::BTreeSet, vec::Vec};

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_crypto::ed25519;
use umbra_primitives::{
    grandpa::{precommit_payload, AuthorityList, ConsensusLog, GrandpaJustification, SetId},
    header::Header,
    BlockNumber, H256,
};

/// Most headers in one batch.
pub const MAX_BATCH_HEADERS: usize = 16_384;
/// Largest encoded justification accepted.
pub const MAX_JUSTIFICATION_BYTES: usize = 4 << 20;
/// Most authorities in a set.
pub const MAX_AUTHORITIES: usize = 10_000;

/// Why a batch, a justification or a set is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The batch has no headers.
    #[error("empty header batch")]
    EmptyBatch,
    /// The batch has too many headers.
    #[error("batch of {len} headers, at most {max}")]
    BatchTooLarge {
        /// Headers sent.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The first header is already final here (a replay).
    #[error("block {number} is already finalized (finalized head is {finalized})")]
    AlreadyFinalized {
        /// Its number.
        number: BlockNumber,
        /// The finalized head's number.
        finalized: BlockNumber,
    },
    /// The batch skips blocks.
    #[error("expected block {expected}, got {found}")]
    Gap {
        /// The next expected number.
        expected: BlockNumber,
        /// What came.
        found: BlockNumber,
    },
    /// A header does not build on the previous one (a fork or a reordering).
    #[error("block {number} does not build on the previous header")]
    NotContiguous {
        /// The header's number.
        number: BlockNumber,
    },
    /// The justification does not decode or is too large.
    #[error("justification does not decode")]
    JustificationDecode,
    /// The justification is for another block.
    #[error("justification targets {found:?} #{found_number}, not {expected:?}")]
    WrongTarget {
        /// The block it had to justify.
        expected: H256,
        /// Its target.
        found: H256,
        /// Its target number.
        found_number: BlockNumber,
    },
    /// A precommit signature does not verify (forged, or signed for
    /// another round or set id).
    #[error("precommit signature of {0:?} does not verify for this round and set")]
    BadSignature(ed25519::Public),
    /// A signer is not in the current set.
    #[error("{0:?} is not a voter of the current set")]
    UnknownVoter(ed25519::Public),
    /// A voter appears twice.
    #[error("{0:?} appears twice")]
    DuplicateVoter(ed25519::Public),
    /// A precommit target is not a descendant of the commit target.
    #[error("precommit target {0:?} is not a descendant of the commit target")]
    NotDescendant(H256),
    /// `votes_ancestries` holds headers no precommit needs.
    #[error("votes_ancestries contains unused headers")]
    UnusedAncestry,
    /// The signers do not weigh enough.
    #[error("precommits weigh {weight}, {threshold} needed")]
    InsufficientWeight {
        /// Weight of the signers.
        weight: u64,
        /// The GRANDPA threshold.
        threshold: u64,
    },
    /// A GRANDPA digest item does not decode.
    #[error("block {number} has an undecodable GRANDPA digest")]
    BadDigest {
        /// The header's number.
        number: BlockNumber,
    },
    /// A forced authority-set change (not supported in v1).
    #[error("block {number} carries a forced authority-set change")]
    ForcedChange {
        /// The header's number.
        number: BlockNumber,
    },
    /// A scheduled change with a delay (v1 enacts changes at once).
    #[error("block {number} schedules a change with delay {delay}")]
    DelayedChange {
        /// The header's number.
        number: BlockNumber,
        /// Its delay.
        delay: BlockNumber,
    },
    /// A pause or resume signal (not supported in v1).
    #[error("block {number} pauses or resumes finality")]
    PauseOrResume {
        /// The header's number.
        number: BlockNumber,
    },
    /// A set change in a header that is not the batch's justified one.
    #[error("block {number} changes the authority set but is not the justified header of the batch")]
    UnjustifiedSetChange {
        /// The header's number.
        number: BlockNumber,
    },
    /// Two set changes in one header.
    #[error("block {number} schedules more than one change")]
    MultipleChanges {
        /// The header's number.
        number: BlockNumber,
    },
    /// An authority set that is empty, too large, has a zero weight, a
    /// duplicate key or a total weight that overflows.
    #[error("invalid authority set")]
    InvalidAuthoritySet,
}

/// A GRANDPA authority set.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct AuthoritySet {
    /// Its id: 0 at genesis, +1 at every change.
    pub set_id: SetId,
    /// Voters and weights.
    pub authorities: AuthorityList,
}

impl AuthoritySet {
    /// Checks bounds: non-empty, at most [`MAX_AUTHORITIES`], weights
    /// non-zero, keys distinct, total weight representable.
    pub fn validate(&self) -> Result<(), Error> {
        if self.authorities.is_empty() || self.authorities.len() > MAX_AUTHORITIES {
            return Err(Error::InvalidAuthoritySet);
        }
        let mut keys = BTreeSet::new();
        let mut total = 0u64;
        for (key, weight) in &self.authorities {
            if *weight == 0 || !keys.insert(*key) {
                return Err(Error::InvalidAuthoritySet);
            }
            total = total.checked_add(*weight).ok_or(Error::InvalidAuthoritySet)?;
        }
        Ok(())
    }

    /// Total weight (saturating; [`AuthoritySet::validate`] rules out overflow).
    pub fn total_weight(&self) -> u64 {
        self.authorities.iter().fold(0u64, |a, (_, w)| a.saturating_add(*w))
    }

    /// The weight a justification needs: `total - (total - 1) / 3`, as
    /// `finality-grandpa` computes it.
    pub fn threshold(&self) -> u64 {
        let total = self.total_weight();
        total - total.saturating_sub(1) / 3
    }
}

/// Decodes a justification (bounded, no trailing bytes).
pub fn decode_justification(bytes: &[u8]) -> Result<GrandpaJustification, Error> {
    umbra_primitives::decode_bounded(bytes, MAX_JUSTIFICATION_BYTES).map_err(|_| Error::JustificationDecode)
}

/// Verifies `justification` finalizes block (`target`, `number`) under `set`.
///
/// Signatures are checked in one deterministic batch; when the batch fails
/// each is checked alone to name the bad one.
pub fn verify_justification(
    justification: &GrandpaJustification,
    target: H256,
    number: BlockNumber,
    set: &AuthoritySet,
) -> Result<(), Error> {
    let commit = &justification.commit;
    if commit.target_hash != target || commit.target_number != number {
        return Err(Error::WrongTarget {
            expected: target,
            found: commit.target_hash,
            found_number: commit.target_number,
        });
    }
    let weights: BTreeMap<ed25519::Public, u64> = set.authorities.iter().cloned().collect();
    let ancestry: BTreeMap<H256, &Header> = justification.votes_ancestries.iter().map(|h| (h.hash(), h)).collect();
    if ancestry.len() != justification.votes_ancestries.len() {
        return Err(Error::UnusedAncestry);
    }
    let mut used: BTreeSet<H256> = BTreeSet::new();
    let mut seen: BTreeSet<ed25519::Public> = BTreeSet::new();
    let mut weight = 0u64;
    let mut payloads = Vec::with_capacity(commit.precommits.len());
    for signed in &commit.precommits {
        let voter_weight = *weights.get(&signed.id).ok_or(Error::UnknownVoter(signed.id))?;
        if !seen.insert(signed.id) {
            return Err(Error::DuplicateVoter(signed.id));
        }
        // Walk from the precommit target back to the commit target, checking
        // numbers as well as hashes.
        let vote = &signed.precommit;
        let not_descendant = Error::NotDescendant(vote.target_hash);
        let (mut current, mut current_number) = (vote.target_hash, vote.target_number);
        while current != target {
            let header = ancestry.get(&current).ok_or_else(|| not_descendant.clone())?;
            if header.number != current_number || current_number <= number {
                return Err(not_descendant);
            }
            used.insert(current);
            current = header.parent_hash;
            current_number -= 1;
        }
        if current_number != number {
            return Err(not_descendant);
        }
        payloads.push(precommit_payload(justification.round, set.set_id, vote));
        weight = weight.saturating_add(voter_weight);
    }
    if used.len() != ancestry.len() {
        return Err(Error::UnusedAncestry);
    }
    let threshold = set.threshold();
    if weight < threshold {
        return Err(Error::InsufficientWeight { weight, threshold });
    }
    let items: Vec<ed25519::BatchItem<'_>> =
        commit.precommits.iter().zip(&payloads).map(|(s, p)| (p.as_slice(), &s.signature, &s.id)).collect();
    if !ed25519::batch_verify(&items) {
        for (message, signature, id) in items {
            if !ed25519::verify(signature, message, id) {
                return Err(Error::BadSignature(*id));
            }
        }
        // Batch and single verification agree (ZIP-215), so this is not
        // reached; refused anyway, naming the first signer.
        if let Some(first) = commit.precommits.first() {
            return Err(Error::BadSignature(first.id));
        }
    }
    Ok(())
}

/// The authority-set change a finalized header enacts, if any.
///
/// Refuses what v1 does not support: forced changes, delays, pauses.
pub fn scheduled_change(header: &Header) -> Result<Option<AuthorityList>, Error> {
    let number = header.number;
    let mut change = None;
    for log in header.grandpa_logs() {
        match log.map_err(|_| Error::BadDigest { number })? {
            ConsensusLog::ScheduledChange(c) => {
                if c.delay != 0 {
                    return Err(Error::DelayedChange { number, delay: c.delay });
                }
                if change.replace(c.next_authorities).is_some() {
                    return Err(Error::MultipleChanges { number });
                }
            }
            ConsensusLog::ForcedChange(..) => return Err(Error::ForcedChange { number }),
            ConsensusLog::Pause(_) | ConsensusLog::Resume(_) => return Err(Error::PauseOrResume { number }),
            ConsensusLog::OnDisabled(_) => {}
        }
    }
    Ok(change)
}

/// What an accepted batch finalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// First newly final block.
    pub from: BlockNumber,
    /// Last newly final block (the justified one).
    pub to: BlockNumber,
    /// Its hash.
    pub hash: H256,
    /// The new set id, when the last header changed the set.
    pub new_set_id: Option<SetId>,
}

/// The light client's whole state: serialisable for checkpoints.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct LightClient {
    genesis_hash: H256,
    finalized: Header,
    set: AuthoritySet,
}

impl LightClient {
    /// Starts from a trusted genesis header and its authority set (id 0 on a
    /// fresh chain).
    pub fn new(genesis: Header, set: AuthoritySet) -> Result<Self, Error> {
        set.validate()?;
        Ok(Self { genesis_hash: genesis.hash(), finalized: genesis, set })
    }

    /// Resumes from a trusted finalized header and the set that finalizes
    /// its successors (a checkpoint).
    pub fn resume(genesis_hash: H256, finalized: Header, set: AuthoritySet) -> Result<Self, Error> {
        set.validate()?;
        Ok(Self { genesis_hash, finalized, set })
    }

    /// The genesis hash this client follows.
    pub fn genesis_hash(&self) -> H256 {
        self.genesis_hash
    }

    /// The newest finalized header.
    pub fn finalized(&self) -> &Header {
        &self.finalized
    }

    /// The current authority set.
    pub fn authority_set(&self) -> &AuthoritySet {
        &self.set
    }

    /// Checks a batch without changing anything; returns the new state.
    pub fn check(&self, headers: &[Header], justification: &[u8]) -> Result<(LightClient, Imported), Error> {
        let (first, last) = match (headers.first(), headers.last()) {
            (Some(f), Some(l)) => (f, l),
            _ => return Err(Error::EmptyBatch),
        };
        if headers.len() > MAX_BATCH_HEADERS {
            return Err(Error::BatchTooLarge { len: headers.len(), max: MAX_BATCH_HEADERS });
        }
        let expected = self.finalized.number.saturating_add(1);
        if first.number <= self.finalized.number {
            return Err(Error::AlreadyFinalized { number: first.number, finalized: self.finalized.number });
        }
        if first.number != expected {
            return Err(Error::Gap { expected, found: first.number });
        }
        let mut parent = self.finalized.hash();
        let mut parent_number = self.finalized.number;
        let mut change = None;
        for (i, header) in headers.iter().enumerate() {
            if header.parent_hash != parent || Some(header.number) != parent_number.checked_add(1) {
                return Err(Error::NotContiguous { number: header.number });
            }
            if let Some(next) = scheduled_change(header)? {
                if i + 1 != headers.len() {
                    return Err(Error::UnjustifiedSetChange { number: header.number });
                }
                change = Some(next);
            }
            parent = header.hash();
            parent_number = header.number;
        }
        let justification = decode_justification(justification)?;
        verify_justification(&justification, parent, last.number, &self.set)?;
        let mut next = self.clone();
        next.finalized = last.clone();
        let mut new_set_id = None;
        if let Some(authorities) = change {
            let set = AuthoritySet { set_id: self.set.set_id.saturating_add(1), authorities };
            set.validate()?;
            new_set_id = Some(set.set_id);
            next.set = set;
        }
        Ok((next, Imported { from: first.number, to: last.number, hash: parent, new_set_id }))
    }

    /// Imports a batch: all of it or nothing.
    pub fn import(&mut self, headers: &[Header], justification: &[u8]) -> Result<Imported, Error> {
        let (next, imported) = self.check(headers, justification)?;
        *self = next;
        Ok(imported)
    }
}

#[cfg(any(test, feature = "test-utils"))]
pub mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    fn set(weights: &[u64]) -> AuthoritySet {
        AuthoritySet {
            set_id: 0,
            authorities: weights
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let mut seed = [1u8; 32];
                    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    (ed25519::Pair::from_seed(&seed).public(), *w)
                })
                .collect(),
        }
    }

    #[test]
    fn threshold_matches_finality_grandpa() {
        // finality-grandpa: threshold = total - (total - 1) / 3.
        for (n, expected) in [(1u64, 1u64), (3, 3), (4, 3), (6, 5), (7, 5), (10, 7), (100, 67), (1000, 667)] {
            let weights: Vec<u64> = (0..n).map(|_| 1).collect();
            assert_eq!(set(&weights).threshold(), expected, "{n}");
        }
    }

    #[test]
    fn invalid_sets_refused() {
        assert_eq!(set(&[]).validate(), Err(Error::InvalidAuthoritySet));
        assert_eq!(set(&[1, 0]).validate(), Err(Error::InvalidAuthoritySet));
        assert_eq!(set(&[u64::MAX, 1]).validate(), Err(Error::InvalidAuthoritySet));
        let mut dup = set(&[1, 1]);
        dup.authorities[1].0 = dup.authorities[0].0;
        assert_eq!(dup.validate(), Err(Error::InvalidAuthoritySet));
    }
}

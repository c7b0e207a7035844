//! GRANDPA justifications: building them from the voter's commits and
//! verifying them (the same rules a light client applies).
//!
//! A justification for block `B` in round `r` of set `s` is valid when every
//! precommit is signed by a distinct voter of the set over
//! `(Precommit, r, s)`, every precommit target is `B` or a descendant of `B`
//! reachable through `votes_ancestries`, every ancestry header is used, and
//! the voters' total weight exceeds two thirds of the set's.

use std::collections::{BTreeMap, BTreeSet};

use parity_scale_codec::Encode;
use umbra_crypto::ed25519;
use umbra_primitives::{
    grandpa::{precommit_payload, AuthorityList, Commit, GrandpaJustification, SetId},
    header::Header,
    BlockNumber, H256,
};

use crate::chain::Chain;

/// Why a justification is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JustificationError {
    /// It does not decode.
    #[error("justification does not decode")]
    Decode,
    /// It justifies another block.
    #[error("justification is for block {found:?}, not {expected:?}")]
    WrongTarget {
        /// Expected target.
        expected: H256,
        /// Its target.
        found: H256,
    },
    /// A signature does not verify.
    #[error("precommit signature of {0:?} does not verify")]
    BadSignature(ed25519::Public),
    /// A voter is not in the set.
    #[error("{0:?} is not a voter of this set")]
    UnknownVoter(ed25519::Public),
    /// A voter signed twice.
    #[error("{0:?} appears twice")]
    DuplicateVoter(ed25519::Public),
    /// A precommit target does not descend from the commit target.
    #[error("precommit target {0:?} is not a descendant of the commit target")]
    NotDescendant(H256),
    /// An ancestry header is not needed by any precommit.
    #[error("votes_ancestries contains unused headers")]
    UnusedAncestry,
    /// Not enough weight.
    #[error("precommits weigh {weight}, more than {threshold} needed")]
    InsufficientWeight {
        /// Weight of valid precommits.
        weight: u64,
        /// Threshold: two thirds of the total.
        threshold: u64,
    },
}

/// Builds the justification of `commit` (round `round`) from the chain's headers.
pub fn build(chain: &Chain, round: u64, commit: Commit) -> Result<GrandpaJustification, crate::Error> {
    let mut ancestries: BTreeMap<H256, Header> = BTreeMap::new();
    for signed in &commit.precommits {
        let mut current = signed.precommit.target_hash;
        while current != commit.target_hash {
            if ancestries.contains_key(&current) {
                break;
            }
            let header = chain.expect_header(&current)?;
            if header.number <= commit.target_number {
                break;
            }
            current = header.parent_hash;
            ancestries.insert(header.hash(), header);
        }
    }
    Ok(GrandpaJustification { round, commit, votes_ancestries: ancestries.into_values().collect() })
}

/// Verifies `justification` for block (`target`, `number`) against set
/// `set_id` with `authorities`.
pub fn verify(
    justification: &GrandpaJustification,
    target: H256,
    number: BlockNumber,
    set_id: SetId,
    authorities: &AuthorityList,
) -> Result<(), JustificationError> {
    let commit = &justification.commit;
    if commit.target_hash != target || commit.target_number != number {
        return Err(JustificationError::WrongTarget { expected: target, found: commit.target_hash });
    }
    let weights: BTreeMap<ed25519::Public, u64> = authorities.iter().cloned().collect();
    let total: u64 = weights.values().fold(0u64, |a, w| a.saturating_add(*w));
    let threshold = total.saturating_mul(2) / 3;
    let ancestry: BTreeMap<H256, &Header> = justification.votes_ancestries.iter().map(|h| (h.hash(), h)).collect();
    let mut used: BTreeSet<H256> = BTreeSet::new();
    let mut seen: BTreeSet<ed25519::Public> = BTreeSet::new();
    let mut weight = 0u64;
    for signed in &commit.precommits {
        let voter_weight = *weights.get(&signed.id).ok_or(JustificationError::UnknownVoter(signed.id))?;
        if !seen.insert(signed.id) {
            return Err(JustificationError::DuplicateVoter(signed.id));
        }
        let payload = precommit_payload(justification.round, set_id, &signed.precommit);
        if !ed25519::verify(&signed.signature, &payload, &signed.id) {
            return Err(JustificationError::BadSignature(signed.id));
        }
        // Walk from the precommit target back to the commit target.
        let mut current = signed.precommit.target_hash;
        let mut steps = 0usize;
        while current != target {
            let header =
                ancestry.get(&current).ok_or(JustificationError::NotDescendant(signed.precommit.target_hash))?;
            used.insert(current);
            current = header.parent_hash;
            steps += 1;
            if steps > ancestry.len() {
                return Err(JustificationError::NotDescendant(signed.precommit.target_hash));
            }
        }
        weight = weight.saturating_add(voter_weight);
    }
    if used.len() != ancestry.len() {
        return Err(JustificationError::UnusedAncestry);
    }
    if weight <= threshold {
        return Err(JustificationError::InsufficientWeight { weight, threshold });
    }
    Ok(())
}

/// Decodes and verifies an encoded justification (bounded).
pub fn decode_and_verify(
    bytes: &[u8],
    target: H256,
    number: BlockNumber,
    set_id: SetId,
    authorities: &AuthorityList,
) -> Result<GrandpaJustification, JustificationError> {
    let justification: GrandpaJustification =
        umbra_primitives::decode_bounded(bytes, 16 << 20).map_err(|_| JustificationError::Decode)?;
    verify(&justification, target, number, set_id, authorities)?;
    Ok(justification)
}

/// A finality proof (`sc_consensus_grandpa::FinalityProof`): the justified
/// block, its justification, and the headers from the requested block up to it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, parity_scale_codec::Decode)]
pub struct FinalityProof {
    /// The justified block.
    pub block: H256,
    /// Its encoded justification.
    pub justification: Vec<u8>,
    /// Headers after the requested block up to the justified one.
    pub unknown_headers: Vec<Header>,
}

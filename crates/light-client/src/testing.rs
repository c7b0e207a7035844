//! Test voters: an authority set whose keys we hold, signing justifications
//! exactly as `finality-grandpa` voters do (test builds only).

use alloc::vec::Vec;

use parity_scale_codec::Encode;
use umbra_crypto::ed25519;
use umbra_primitives::{
    grandpa::{precommit_payload, Commit, GrandpaJustification, Precommit, SignedPrecommit},
    header::Header,
};

use crate::AuthoritySet;

/// Voters with known keys.
pub struct Voters {
    /// Their key pairs, in set order.
    pub pairs: Vec<ed25519::Pair>,
    /// The set id they vote in.
    pub set_id: u64,
}

impl Voters {
    /// `n` voters of weight 1 derived from `seed` (distinct per index).
    pub fn new(n: usize, seed: u8, set_id: u64) -> Self {
        let pairs = (0..n)
            .map(|i| {
                let mut s = [seed; 32];
                s[..8].copy_from_slice(&(i as u64).to_le_bytes());
                ed25519::Pair::from_seed(&s)
            })
            .collect();
        Self { pairs, set_id }
    }

    /// Their authority set.
    pub fn set(&self) -> AuthoritySet {
        AuthoritySet { set_id: self.set_id, authorities: self.pairs.iter().map(|p| (p.public(), 1)).collect() }
    }

    /// A justification of `header` in `round`, signed by the first `signers`
    /// voters over (`round`, `set_id`).
    pub fn justify_with(&self, header: &Header, round: u64, set_id: u64, signers: usize) -> GrandpaJustification {
        let precommit = Precommit { target_hash: header.hash(), target_number: header.number };
        let payload = precommit_payload(round, set_id, &precommit);
        let precommits = self
            .pairs
            .iter()
            .take(signers)
            .map(|p| SignedPrecommit { precommit: precommit.clone(), signature: p.sign(&payload), id: p.public() })
            .collect();
        GrandpaJustification {
            round,
            commit: Commit { target_hash: header.hash(), target_number: header.number, precommits },
            votes_ancestries: Vec::new(),
        }
    }

    /// An encoded justification of `header` signed by every voter.
    pub fn justify(&self, header: &Header) -> Vec<u8> {
        self.justify_with(header, 1, self.set_id, self.pairs.len()).encode()
    }
}

/// An encoded justification of `header` in round 1 of set `set_id`,
/// signed by each of `signers` (any keys: dev accounts, a chain's voters).
pub fn justify_by(header: &Header, set_id: u64, signers: &[&ed25519::Pair]) -> Vec<u8> {
    let precommit = Precommit { target_hash: header.hash(), target_number: header.number };
    let payload = precommit_payload(1, set_id, &precommit);
    let precommits = signers
        .iter()
        .map(|p| SignedPrecommit { precommit: precommit.clone(), signature: p.sign(&payload), id: p.public() })
        .collect();
    GrandpaJustification {
        round: 1,
        commit: Commit { target_hash: header.hash(), target_number: header.number, precommits },
        votes_ancestries: Vec::new(),
    }
    .encode()
}

/// A header at `number` on `parent` with an empty digest; `salt` varies the
/// state root so sibling forks differ.
pub fn header(parent: &Header, salt: u8) -> Header {
    Header {
        parent_hash: parent.hash(),
        number: parent.number + 1,
        state_root: umbra_primitives::H256::repeat_byte(salt),
        extrinsics_root: umbra_primitives::H256::zero(),
        digest: Default::default(),
    }
}

/// A genesis header (number 0).
pub fn genesis() -> Header {
    Header {
        parent_hash: umbra_primitives::H256::zero(),
        number: 0,
        state_root: umbra_primitives::H256::repeat_byte(0xee),
        extrinsics_root: umbra_primitives::H256::zero(),
        digest: Default::default(),
    }
}

/// `count` headers after `parent`.
pub fn chain(parent: &Header, count: usize, salt: u8) -> Vec<Header> {
    let mut out: Vec<Header> = Vec::with_capacity(count);
    for _ in 0..count {
        let next = header(out.last().unwrap_or(parent), salt);
        out.push(next);
    }
    out
}

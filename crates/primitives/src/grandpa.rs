//! GRANDPA finality data, as Substrate encodes it.
//!
//! The vote types are the `finality-grandpa` crate's own (`derive-codec`),
//! instantiated with our hash, number, ed25519 signature and authority id.
//! A precommit is signed over `SCALE((Message::Precommit(precommit), round,
//! set_id))`; a justification is `{ round, commit, votes_ancestries }`.
//! Authority-set changes travel as `Consensus(*b"FRNK", ConsensusLog)`
//! digests, so light clients follow them from headers alone.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_crypto::ed25519;

use crate::{
    header::{Header, GRANDPA_ENGINE_ID},
    BlockNumber, H256,
};

/// A GRANDPA voter's id: an ed25519 public key.
pub type AuthorityId = ed25519::Public;
/// A GRANDPA vote signature.
pub type AuthoritySignature = ed25519::Signature;
/// A voter's weight.
pub type AuthorityWeight = u64;
/// The authority set: voters and weights, in order.
pub type AuthorityList = Vec<(AuthorityId, AuthorityWeight)>;
/// Authority set counter.
pub type SetId = u64;
/// Voting round counter.
pub type RoundNumber = u64;

/// A precommit vote for a block.
pub type Precommit = finality_grandpa::Precommit<H256, BlockNumber>;
/// A prevote.
pub type Prevote = finality_grandpa::Prevote<H256, BlockNumber>;
/// A vote message (prevote, precommit or primary proposal).
pub type Message = finality_grandpa::Message<H256, BlockNumber>;
/// A precommit with its signature and voter.
pub type SignedPrecommit = finality_grandpa::SignedPrecommit<H256, BlockNumber, AuthoritySignature, AuthorityId>;
/// A commit: a target and the precommits that finalize it.
pub type Commit = finality_grandpa::Commit<H256, BlockNumber, AuthoritySignature, AuthorityId>;

/// The bytes a voter signs for `message` in `round` of set `set_id`.
pub fn localized_payload(round: RoundNumber, set_id: SetId, message: &Message) -> Vec<u8> {
    (message, round, set_id).encode()
}

/// The bytes a voter signs for a precommit.
pub fn precommit_payload(round: RoundNumber, set_id: SetId, precommit: &Precommit) -> Vec<u8> {
    localized_payload(round, set_id, &Message::Precommit(precommit.clone()))
}

/// A finality proof for one block: Substrate's `GrandpaJustification`.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct GrandpaJustification {
    /// The round in which the commit was made.
    pub round: RoundNumber,
    /// The commit.
    pub commit: Commit,
    /// Headers between the commit target and each precommit's target.
    pub votes_ancestries: Vec<Header>,
}

impl core::fmt::Debug for GrandpaJustification {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GrandpaJustification")
            .field("round", &self.round)
            .field("target_hash", &self.commit.target_hash)
            .field("target_number", &self.commit.target_number)
            .field("precommits", &self.commit.precommits.len())
            .field("votes_ancestries", &self.votes_ancestries.len())
            .finish()
    }
}

/// An authority-set change scheduled by the runtime.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct ScheduledChange {
    /// The new authorities.
    pub next_authorities: AuthorityList,
    /// Blocks after the announcing block before the change applies
    /// (umbra always uses 0).
    pub delay: BlockNumber,
}

/// GRANDPA's consensus digest payloads. Indices are Substrate's.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum ConsensusLog {
    /// A standard change, enacted once the announcing block is finalized
    /// and `delay` blocks have passed.
    #[codec(index = 1)]
    ScheduledChange(ScheduledChange),
    /// A forced change (median last finalized block, change); light clients
    /// reject it.
    #[codec(index = 2)]
    ForcedChange(BlockNumber, ScheduledChange),
    /// The authority with this index is disabled.
    #[codec(index = 3)]
    OnDisabled(u64),
    /// Pause finality after the given delay.
    #[codec(index = 4)]
    Pause(BlockNumber),
    /// Resume finality after the given delay.
    #[codec(index = 5)]
    Resume(BlockNumber),
}

impl ConsensusLog {
    /// As a header digest item.
    pub fn to_digest(&self) -> crate::header::DigestItem {
        crate::header::DigestItem::Consensus(GRANDPA_ENGINE_ID, self.encode())
    }
}

impl Header {
    /// The GRANDPA consensus logs in this header, decoded. A log that does
    /// not decode is returned as an error item (never skipped silently).
    pub fn grandpa_logs(&self) -> impl Iterator<Item = crate::Result<ConsensusLog>> + '_ {
        self.consensus_logs(&GRANDPA_ENGINE_ID).map(|data| crate::decode_bounded::<ConsensusLog>(data, data.len()))
    }
}

//! GRANDPA justifications: building them from the voter's commits and
//! verifying them (the same rules a light client applies).
//!
//! Verification is the light client's (`umbra-light-client`): the node
//! checks imported justifications with exactly the rules pRuntime applies.

use std::collections::BTreeMap;

use parity_scale_codec::Encode;
use umbra_primitives::{
    grandpa::{AuthorityList, Commit, GrandpaJustification, SetId},
    header::Header,
    BlockNumber, H256,
};

use crate::chain::Chain;

/// Why a justification is invalid: the light client's error, so the node and
/// pRuntime apply the same rules with the same code.
pub use umbra_light_client::Error as JustificationError;

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
/// `set_id` with `authorities` ([`umbra_light_client::verify_justification`]).
pub fn verify(
    justification: &GrandpaJustification,
    target: H256,
    number: BlockNumber,
    set_id: SetId,
    authorities: &AuthorityList,
) -> Result<(), JustificationError> {
    let set = umbra_light_client::AuthoritySet { set_id, authorities: authorities.clone() };
    umbra_light_client::verify_justification(justification, target, number, &set)
}

/// Decodes and verifies an encoded justification (bounded).
pub fn decode_and_verify(
    bytes: &[u8],
    target: H256,
    number: BlockNumber,
    set_id: SetId,
    authorities: &AuthorityList,
) -> Result<GrandpaJustification, JustificationError> {
    let justification = umbra_light_client::decode_justification(bytes)?;
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

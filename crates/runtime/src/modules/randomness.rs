//! Randomness (module 16): epoch randomness from the authors' VRF outputs.
//!
//! Every header carries `PreRuntime(*b"rand", (vrf_output, vrf_proof))`: a
//! schnorrkel VRF by the slot's author over `SCALE((epoch_randomness, slot))`
//! under the label `umbra-vrf`. The runtime verifies it (a wrong or missing
//! proof makes the block invalid) and folds the output into
//! `NextRandomness`; every `EPOCH_LENGTH` blocks `NextRandomness` becomes
//! the epoch's `Randomness`. An author cannot grind: its VRF output is unique
//! for the slot, and it can only choose not to author.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode};
use umbra_crypto::sr25519;
use umbra_primitives::header::{Digest, RANDOMNESS_ENGINE_ID};
use umbra_primitives::H256;
use umbra_trie::storage_key::value_key;

use crate::{error::Error, state::Ext};

/// Module index.
pub const INDEX: u8 = 16;
/// Storage prefix and metadata name.
pub const NAME: &str = "Randomness";
/// Blocks per randomness epoch.
pub const EPOCH_LENGTH: u32 = 100;
/// VRF signing label.
pub const VRF_LABEL: &[u8] = b"umbra-vrf";
/// Context for turning a VRF output into 32 random bytes.
pub const VRF_OUTPUT_CONTEXT: &[u8] = b"umbra-vrf-randomness";

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Randomness.EpochIndex`.
    pub fn epoch_index() -> Vec<u8> {
        value_key(NAME, "EpochIndex")
    }
    /// `Randomness.Randomness`: this epoch's randomness.
    pub fn randomness() -> Vec<u8> {
        value_key(NAME, "Randomness")
    }
    /// `Randomness.NextRandomness`: accumulator for the next epoch.
    pub fn next_randomness() -> Vec<u8> {
        value_key(NAME, "NextRandomness")
    }
    /// `Randomness.AuthorVrfRandomness`: this block's VRF randomness.
    pub fn author_vrf_randomness() -> Vec<u8> {
        value_key(NAME, "AuthorVrfRandomness")
    }
}

/// The VRF pre-digest data: output and proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct VrfPreDigest {
    /// VRF pre-output.
    pub output: [u8; 32],
    /// DLEQ proof.
    pub proof: [u8; 64],
}

/// This epoch's randomness.
pub fn randomness(ext: &Ext<'_>) -> H256 {
    ext.get_or_default(&keys::randomness())
}

/// The epoch randomness block `number` must use, read from its parent's
/// state (the rotation happens at the block's own initialization).
pub fn epoch_randomness_for(ext: &Ext<'_>, number: u32) -> H256 {
    if number.is_multiple_of(EPOCH_LENGTH) {
        ext.get_or_default(&keys::next_randomness())
    } else {
        randomness(ext)
    }
}

/// The VRF transcript bytes of `slot` under `epoch_randomness`.
pub fn vrf_transcript(epoch_randomness: &H256, slot: u64) -> Vec<u8> {
    (epoch_randomness, slot).encode()
}

/// Starts a block: rotates the epoch if due, verifies the author's VRF and
/// folds it into the accumulator.
pub(crate) fn initialize(ext: &mut Ext<'_>, digest: &Digest, slot: u64, author: &sr25519::Public) -> Result<(), Error> {
    let number = ext.env.number;
    if number.is_multiple_of(EPOCH_LENGTH) {
        let next: H256 = ext.get_or_default(&keys::next_randomness());
        let index: u64 = ext.get_or_default(&keys::epoch_index());
        ext.put(keys::epoch_index(), &index.saturating_add(1));
        ext.put(keys::randomness(), &next);
        ext.put(keys::next_randomness(), &umbra_primitives::blake2_256(&(next, b"next").encode()));
    }
    let pre: VrfPreDigest = digest
        .logs
        .iter()
        .find_map(|d| d.pre_runtime(&RANDOMNESS_ENGINE_ID))
        .and_then(|mut data| VrfPreDigest::decode(&mut data).ok())
        .ok_or(Error::BadVrf)?;
    let transcript = vrf_transcript(&randomness(ext), slot);
    let out = sr25519::vrf_verify(author, VRF_LABEL, &transcript, &pre.output, &pre.proof, VRF_OUTPUT_CONTEXT)
        .map_err(|_| Error::BadVrf)?;
    let out = H256(out);
    ext.put(keys::author_vrf_randomness(), &out);
    let next: H256 = ext.get_or_default(&keys::next_randomness());
    ext.put(keys::next_randomness(), &umbra_primitives::blake2_256(&(next, out).encode()));
    Ok(())
}

//! Warp sync: a new node proves the finalized head from genesis with one
//! GRANDPA justification per authority set, downloads the state at that
//! head, and continues with normal sync from there.
//!
//! * A [`WarpProof`] is the list of blocks that enacted a set change, each
//!   with the justification the outgoing set signed (every node stores
//!   those), then the latest finalized block with its justification. The
//!   verifier ([`verify`]) starts from the genesis set and checks each
//!   justification against the set in force, taking the next set only from
//!   a justified header's `ScheduledChange` (delay 0, as the light client);
//!   a proof longer than one answer is continued from its last change.
//! * The state of the target block is downloaded in key order in bounded
//!   pages ([`StateDownload`]); the whole of it must give the target's state
//!   root before anything is stored, so a peer can waste a download but
//!   never plant a value.
//! * [`Chain::import_warp`](crate::Chain::import_warp) writes the target,
//!   its state and the GRANDPA set in force in one commit. A node that warp
//!   synced keeps the proof's change fragments and serves warp proofs from
//!   them; it holds no blocks between genesis and the target.

use std::collections::BTreeMap;

use parity_scale_codec::{Decode, Encode};
use umbra_primitives::{
    block::{extrinsics_root, OpaqueExtrinsic},
    grandpa::SetId,
    header::Header,
    H256,
};
use umbra_storage::BlockRef;

use crate::{
    chain::Chain,
    grandpa::{self, AuthoritySet, LatestJustification},
    justification, Error,
};

/// Bytes of fragments after which a proof answer is cut (and continued).
pub const PROOF_BUDGET: usize = 8 << 20;
/// Bytes of key-value pairs per state answer.
pub const STATE_BUDGET: usize = 4 << 20;
/// Most bytes of state a warp download holds before it gives up.
pub const MAX_STATE_BYTES: usize = 1 << 30;
/// Longest storage key accepted in a state request or answer.
pub const MAX_KEY_LEN: usize = 2048;

/// The warp fragments a warp-synced node keeps (and serves).
const AUX_WARP: &str = "warp:fragments";

/// Asks for the set changes after block `begin` (genesis, or the last
/// change the asker has verified) and the latest finalized block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct WarpRequest {
    /// The block after which fragments are wanted.
    pub begin: H256,
}

/// A finalized block and its justification.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct WarpFragment {
    /// The header.
    pub header: Header,
    /// Its encoded GRANDPA justification.
    pub justification: Vec<u8>,
}

/// An answer to a [`WarpRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct WarpProof {
    /// Set-change blocks in order, then (when finished) the latest
    /// finalized block if it is not the last change.
    pub fragments: Vec<WarpFragment>,
    /// Whether the fragments reach the serving node's finalized head.
    pub is_finished: bool,
}

/// Asks for the target block's state after a key.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StateRequest {
    /// The block whose state is wanted.
    pub block: H256,
    /// Pairs strictly after this key (from the first when `None`).
    pub start_after: Option<Vec<u8>>,
}

/// A page of state.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StateResponse {
    /// Key-value pairs in key order.
    pub pairs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether pairs remain after the last one.
    pub more: bool,
}

fn stored_fragments(chain: &Chain) -> Result<Vec<WarpFragment>, Error> {
    match chain.db().aux(AUX_WARP)? {
        Some(bytes) => {
            Vec::<WarpFragment>::decode(&mut &bytes[..]).map_err(|_| Error::Grandpa("corrupt warp fragments".into()))
        }
        None => Ok(Vec::new()),
    }
}

/// Answers a warp request from the database: the set changes after
/// `begin` (from the kept warp fragments, then from the stored
/// justifications), cut at [`PROOF_BUDGET`], then the latest justification.
pub fn prove(chain: &Chain, request: WarpRequest) -> Result<WarpProof, Error> {
    let stored = stored_fragments(chain)?;
    let begin_number = if request.begin == chain.genesis().hash {
        0
    } else if let Some(header) = chain.header(&request.begin)? {
        header.number
    } else if let Some(f) = stored.iter().find(|f| f.header.hash() == request.begin) {
        f.header.number
    } else {
        return Err(Error::UnknownBlock(request.begin));
    };
    let mut proof = WarpProof { fragments: Vec::new(), is_finished: false };
    let mut bytes = 0usize;
    let mut last = begin_number;
    let mut push = |fragment: WarpFragment, proof: &mut WarpProof, last: &mut u32| -> bool {
        bytes += fragment.encoded_size();
        if bytes > PROOF_BUDGET && !proof.fragments.is_empty() {
            return false;
        }
        *last = fragment.header.number;
        proof.fragments.push(fragment);
        true
    };
    for fragment in stored.into_iter().filter(|f| f.header.number > begin_number) {
        if !push(fragment, &mut proof, &mut last) {
            return Ok(proof);
        }
    }
    let mut next = last.saturating_add(1);
    while let Some((block, justification)) = chain.db().next_justified(next)? {
        next = block.number.saturating_add(1);
        let header = chain.expect_header(&block.hash)?;
        if !matches!(umbra_light_client::scheduled_change(&header), Ok(Some(_))) {
            continue;
        }
        if !push(WarpFragment { header, justification }, &mut proof, &mut last) {
            return Ok(proof);
        }
    }
    if let Some(latest) = grandpa::latest_justification(chain)? {
        if latest.block.number > last {
            let header = chain.expect_header(&latest.block.hash)?;
            if !push(WarpFragment { header, justification: latest.justification }, &mut proof, &mut last) {
                return Ok(proof);
            }
        }
    }
    proof.is_finished = true;
    Ok(proof)
}

/// The finalized block a proof reaches, with the set that signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The block and its justification.
    pub fragment: WarpFragment,
    /// The set whose justification finalized it.
    pub signed_by: SetId,
}

/// What a verified proof answer gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The set in force after the answer's last fragment.
    pub set: AuthoritySet,
    /// The answer's set-change fragments (kept by the warped node).
    pub changes: Vec<WarpFragment>,
    /// The finalized head, when the proof is finished and reaches one.
    pub target: Option<Target>,
}

/// Verifies a proof answer starting from `set` (the genesis set, or the set
/// a previous answer ended with): each fragment is newer than the last and
/// finalized by the set in force; a fragment either enacts a set change
/// (delay 0, read from its justified header) or is the finished proof's
/// last one.
pub fn verify(proof: &WarpProof, set: &AuthoritySet) -> Result<Verified, Error> {
    let mut set = set.clone();
    let mut changes = Vec::new();
    let mut target = None;
    if proof.fragments.is_empty() && !proof.is_finished {
        return Err(Error::BadWarp("an unfinished proof without fragments".into()));
    }
    let count = proof.fragments.len();
    for (i, fragment) in proof.fragments.iter().enumerate() {
        let header = &fragment.header;
        if header.number <= set.base.number {
            return Err(Error::BadWarp(format!("fragment #{} is not after block #{}", header.number, set.base.number)));
        }
        let hash = header.hash();
        justification::decode_and_verify(&fragment.justification, hash, header.number, set.set_id, &set.authorities)
            .map_err(|e| Error::BadWarp(format!("justification of #{}: {e}", header.number)))?;
        let is_last = i + 1 == count;
        if is_last && proof.is_finished {
            target = Some(Target { fragment: fragment.clone(), signed_by: set.set_id });
        }
        match umbra_light_client::scheduled_change(header)
            .map_err(|e| Error::BadWarp(format!("block #{}: {e}", header.number)))?
        {
            Some(next) => {
                changes.push(fragment.clone());
                set = AuthoritySet {
                    set_id: set.set_id + 1,
                    authorities: next,
                    base: BlockRef { hash, number: header.number },
                };
            }
            None if is_last && proof.is_finished => {}
            None => {
                return Err(Error::BadWarp(format!("fragment #{} enacts no set change", header.number)));
            }
        }
    }
    Ok(Verified { set, changes, target })
}

/// Answers a state request: pairs of the block's state after the asked key,
/// up to [`STATE_BUDGET`] bytes.
pub fn serve_state(chain: &Chain, request: &StateRequest) -> Result<StateResponse, Error> {
    let state = chain.state(&request.block)?;
    let (pairs, more) = state.pairs_after(request.start_after.as_deref(), STATE_BUDGET)?;
    Ok(StateResponse { pairs, more })
}

/// The state of the target, page by page.
#[derive(Debug)]
pub struct StateDownload {
    block: H256,
    pairs: BTreeMap<Vec<u8>, Vec<u8>>,
    last: Option<Vec<u8>>,
    bytes: usize,
    complete: bool,
}

impl StateDownload {
    /// Starts downloading the state of `block`.
    pub fn new(block: H256) -> Self {
        StateDownload { block, pairs: BTreeMap::new(), last: None, bytes: 0, complete: false }
    }

    /// The next page to ask for.
    pub fn request(&self) -> StateRequest {
        StateRequest { block: self.block, start_after: self.last.clone() }
    }

    /// Takes a page: its keys must be in strictly increasing order after
    /// the last key taken, within the key and total size bounds. Returns
    /// whether the state is complete. A refused page changes nothing.
    pub fn apply(&mut self, page: StateResponse) -> Result<bool, Error> {
        if self.complete {
            return Err(Error::BadWarp("a page after the last one".into()));
        }
        if page.pairs.is_empty() && page.more {
            return Err(Error::BadWarp("an empty page that says more follow".into()));
        }
        let mut previous = self.last.clone();
        let mut bytes = self.bytes;
        for (key, value) in &page.pairs {
            if key.len() > MAX_KEY_LEN {
                return Err(Error::BadWarp(format!("a key of {} bytes", key.len())));
            }
            if previous.as_ref().is_some_and(|p| key <= p) {
                return Err(Error::BadWarp("keys out of order".into()));
            }
            bytes = bytes.saturating_add(key.len() + value.len());
            if bytes > MAX_STATE_BYTES {
                return Err(Error::BadWarp(format!("state over {MAX_STATE_BYTES} bytes")));
            }
            previous = Some(key.clone());
        }
        self.bytes = bytes;
        self.last = previous;
        self.pairs.extend(page.pairs);
        self.complete = !page.more;
        Ok(self.complete)
    }

    /// Pairs taken so far.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no pair is taken yet.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The downloaded state (complete or not).
    pub fn into_pairs(self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        self.pairs
    }
}

/// Everything verified for the warp target, ready to store.
#[derive(Debug)]
pub struct WarpImport {
    /// The target and the set that signed it.
    pub target: Target,
    /// Its body (checked against the header's extrinsics root here).
    pub body: Vec<OpaqueExtrinsic>,
    /// Every set-change fragment from genesis to the target.
    pub changes: Vec<WarpFragment>,
    /// The set in force after the target.
    pub set: AuthoritySet,
    /// The target's full state (checked against its state root here).
    pub state: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Chain {
    /// Stores a warp target in a database that holds only genesis: checks
    /// the body against the header's extrinsics root and the state against
    /// its state root, then writes the block as best and finalized with its
    /// justification, the GRANDPA set in force and the change fragments, in
    /// one commit; notifies an import and a finalization.
    pub fn import_warp(&self, warp: WarpImport) -> Result<BlockRef, Error> {
        let header = &warp.target.fragment.header;
        if extrinsics_root(&warp.body, umbra_runtime::STATE_VERSION) != header.extrinsics_root {
            return Err(Error::BadWarp(format!("the body of #{} does not match its header", header.number)));
        }
        let changes: umbra_runtime::state::Changes = warp.state.into_iter().map(|(k, v)| (k, Some(v))).collect();
        let delta = self.db().compute_state(umbra_trie::EMPTY_ROOT, &changes)?;
        if delta.root != header.state_root {
            return Err(Error::StateRootMismatch { expected: header.state_root, computed: delta.root });
        }
        let block = BlockRef { hash: header.hash(), number: header.number };
        let latest = LatestJustification {
            block,
            justification: warp.target.fragment.justification.clone(),
            set_id: warp.target.signed_by,
        };
        let (set, latest, fragments) = (warp.set.encode(), latest.encode(), warp.changes.encode());
        let aux: [(&str, &[u8]); 3] =
            [(grandpa::AUX_SET, &set), (grandpa::AUX_LATEST, &latest), (AUX_WARP, &fragments)];
        self.store_warp(header, &warp.body, &warp.target.fragment.justification, &delta, &aux)?;
        tracing::info!(target: "umbra::sync", number = block.number, hash = ?block.hash, set_id = warp.set.set_id, "warp sync reached its target");
        Ok(block)
    }
}

//! The chain: verified block import over the database, and notifications.
//!
//! Import of a block from elsewhere verifies, in order: the parent is known
//! and the block is new; the Aura seal (slot after the parent's, not in the
//! future, signed by the slot's author over the pre-seal header hash); then
//! the runtime executes the block against the parent's state (VRF,
//! timestamp, every extrinsic, digest, extrinsics root); the resulting trie
//! delta must give the header's state root; finally one atomic, durable
//! database commit and the fork-choice update. Imports are serialized.

use std::sync::{Arc, Mutex};

use parity_scale_codec::Encode;
use tokio::sync::broadcast;
use umbra_crypto::sr25519;
use umbra_primitives::{
    block::OpaqueExtrinsic,
    header::{Header, AURA_ENGINE_ID},
    H256,
};
use umbra_runtime::{
    api, executive,
    modules::aura,
    state::{Changes, StateRead},
};
use umbra_storage::{BlockRef, Database, ImportBlock, ImportOutcome, StateDelta, StateView};

use crate::Error;

/// Slots a block's slot may be ahead of our clock (clock drift allowance).
pub const MAX_SLOT_DRIFT: u64 = 2;

/// Something that happened to the chain.
#[derive(Clone, Debug)]
pub enum ChainEvent {
    /// A block was imported.
    Imported {
        /// Its header.
        header: Header,
        /// Whether it is the new best block.
        is_best: bool,
        /// Blocks that left the best chain (reorg).
        retracted: Vec<H256>,
    },
    /// Blocks were finalized (oldest first; the last is the new finalized head).
    Finalized {
        /// The newly finalized blocks.
        blocks: Vec<BlockRef>,
        /// The new finalized head's header.
        head: Header,
    },
}

/// Where a block to import comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Built and executed by this node.
    Own,
    /// Received from outside (network, import file): fully verified.
    External {
        /// The current slot by our clock, for the drift check.
        now_slot: u64,
    },
}

/// The chain: the database, the import pipeline and event notifications.
pub struct Chain {
    db: Database,
    genesis: BlockRef,
    import_lock: Mutex<()>,
    events: broadcast::Sender<ChainEvent>,
    metadata: Mutex<Option<(u64, Arc<Vec<u8>>)>>,
    anchor: umbra_primitives::sync::GenesisAnchor,
    genesis_authorities: umbra_primitives::grandpa::AuthorityList,
}

impl Chain {
    /// Opens the chain on `db`, writing the genesis block if the database is
    /// new (and checking it is the same chain otherwise).
    pub fn new(
        db: Database,
        genesis_header: &Header,
        genesis_state: &std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    ) -> Result<Self, Error> {
        let genesis = db.initialize(genesis_header, genesis_state)?;
        let (events, _) = broadcast::channel(1024);
        let anchor = genesis_anchor(genesis_header, genesis_state)?;
        let genesis_authorities = genesis_state
            .get(&umbra_runtime::modules::grandpa::keys::authorities())
            .map(|bytes| parity_scale_codec::Decode::decode(&mut &bytes[..]))
            .transpose()
            .map_err(|_| Error::Grandpa("undecodable genesis GRANDPA authorities".into()))?
            .unwrap_or_default();
        Ok(Chain {
            db,
            genesis,
            import_lock: Mutex::new(()),
            events,
            metadata: Mutex::new(None),
            anchor,
            genesis_authorities,
        })
    }

    /// The GRANDPA authorities of the genesis state (kept in memory: the
    /// genesis state is pruned like any other).
    pub fn genesis_authorities(&self) -> &umbra_primitives::grandpa::AuthorityList {
        &self.genesis_authorities
    }

    /// The chain's trust anchor for light clients: the genesis header and a
    /// proof of the genesis GRANDPA set (kept in memory: the genesis state
    /// itself is pruned like any other).
    pub fn genesis_anchor(&self) -> &umbra_primitives::sync::GenesisAnchor {
        &self.anchor
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The genesis block.
    pub fn genesis(&self) -> BlockRef {
        self.genesis
    }

    /// Subscribes to chain events.
    pub fn subscribe(&self) -> broadcast::Receiver<ChainEvent> {
        self.events.subscribe()
    }

    /// The best block.
    pub fn best(&self) -> Result<BlockRef, Error> {
        Ok(self.db.best()?)
    }

    /// The finalized block.
    pub fn finalized(&self) -> Result<BlockRef, Error> {
        Ok(self.db.finalized()?)
    }

    /// A header.
    pub fn header(&self, hash: &H256) -> Result<Option<Header>, Error> {
        Ok(self.db.header(hash)?)
    }

    /// The header of a known block (error if unknown).
    pub fn expect_header(&self, hash: &H256) -> Result<Header, Error> {
        self.db.header(hash)?.ok_or(Error::UnknownBlock(*hash))
    }

    /// The state of a block.
    pub fn state(&self, hash: &H256) -> Result<StateView, Error> {
        Ok(self.db.state_at(self.expect_header(hash)?.state_root)?)
    }

    /// The slot duration in milliseconds (from the finalized state).
    pub fn slot_duration(&self) -> Result<u64, Error> {
        // The finalized state: always kept (the genesis state is pruned).
        let state = self.state(&self.finalized()?.hash)?;
        let ext = umbra_runtime::state::Ext::new(&state);
        let duration = aura::slot_duration(&ext);
        if let Some(e) = state.take_error() {
            return Err(e.into());
        }
        Ok(duration)
    }

    /// Runs a runtime API at block `hash`.
    pub fn runtime_call(&self, hash: &H256, method: &str, data: &[u8]) -> Result<Vec<u8>, Error> {
        let header = self.expect_header(hash)?;
        let state = self.db.state_at(header.state_root)?;
        if method == "Metadata_metadata" && data.is_empty() {
            return Ok(self.metadata_at(&state)?.as_ref().encode());
        }
        let result = api::call(&state, api::At { hash: *hash, number: header.number }, method, data);
        if let Some(e) = state.take_error() {
            return Err(e.into());
        }
        Ok(result?)
    }

    /// The encoded metadata of the runtime at a state (cached: it depends
    /// only on the code and on the slot duration).
    pub fn metadata_at(&self, state: &StateView) -> Result<Arc<Vec<u8>>, Error> {
        let slot = aura::slot_duration(&umbra_runtime::state::Ext::new(state));
        if let Ok(cache) = self.metadata.lock() {
            if let Some((s, m)) = cache.as_ref() {
                if *s == slot {
                    return Ok(m.clone());
                }
            }
        }
        let encoded = Arc::new(umbra_runtime::metadata::encoded(state));
        if let Ok(mut cache) = self.metadata.lock() {
            *cache = Some((slot, encoded.clone()));
        }
        Ok(encoded)
    }

    /// Verifies the Aura seal of `header` on top of `parent`; returns the
    /// pre-seal header and the slot.
    pub fn verify_seal(
        &self,
        header: &Header,
        parent: &Header,
        parent_state: &dyn StateRead,
        origin: Origin,
    ) -> Result<(Header, u64), Error> {
        let (pre, seal) = header.split_seal(&AURA_ENGINE_ID).ok_or(Error::MissingSeal)?;
        let slot = aura::slot_from_digest(&pre.digest).ok_or(Error::MissingSlot)?;
        let parent_slot = aura::slot_from_digest(&parent.digest).unwrap_or(0);
        if slot <= parent_slot {
            return Err(Error::SlotNotIncreasing { parent_slot, slot });
        }
        if let Origin::External { now_slot } = origin {
            if slot > now_slot.saturating_add(MAX_SLOT_DRIFT) {
                return Err(Error::FutureSlot { slot, now_slot });
            }
        }
        let ext = umbra_runtime::state::Ext::new(parent_state);
        let author = aura::slot_author(slot, &aura::authorities(&ext)).ok_or(Error::NoAuthorities)?;
        let signature: [u8; 64] = seal.as_slice().try_into().map_err(|_| Error::BadSeal)?;
        if !sr25519::verify(&sr25519::Signature(signature), pre.hash().as_bytes(), &author) {
            return Err(Error::BadSeal);
        }
        Ok((pre, slot))
    }

    /// Verifies, executes and stores a block from outside. A justification
    /// given with it is verified (against the GRANDPA set in force at the
    /// parent, which finalizes this block) before anything is stored; an
    /// invalid one refuses the whole import.
    pub fn import(
        &self,
        header: Header,
        body: Vec<OpaqueExtrinsic>,
        justification: Option<Vec<u8>>,
        origin: Origin,
    ) -> Result<ImportOutcome, Error> {
        self.import_with(header, body, justification, origin, true)
    }

    /// As [`Chain::import`]; with `durable` false the block is stored at
    /// once but reaches the disk with the next durable commit (sync makes
    /// the last block of each downloaded batch durable).
    pub fn import_with(
        &self,
        header: Header,
        body: Vec<OpaqueExtrinsic>,
        justification: Option<Vec<u8>>,
        origin: Origin,
        durable: bool,
    ) -> Result<ImportOutcome, Error> {
        let _guard = self.import_lock.lock().map_err(|_| Error::Poisoned)?;
        let hash = header.hash();
        if self.db.contains(&hash)? {
            return Err(Error::AlreadyKnown(hash));
        }
        let parent = self.db.header(&header.parent_hash)?.ok_or(Error::UnknownParent(header.parent_hash))?;
        let state = self.db.state_at(parent.state_root)?;
        let (pre, _slot) = self.verify_seal(&header, &parent, &state, origin)?;
        let changes = executive::execute_block(&state, &pre, &body)?;
        if let Some(e) = state.take_error() {
            return Err(e.into());
        }
        if let Some(bytes) = &justification {
            let ext = umbra_runtime::state::Ext::new(&state);
            let set_id = umbra_runtime::modules::grandpa::current_set_id(&ext);
            let authorities = umbra_runtime::modules::grandpa::authorities(&ext);
            crate::justification::decode_and_verify(bytes, hash, header.number, set_id, &authorities)
                .map_err(|e| Error::BadJustification(e.to_string()))?;
        }
        let delta = self.db.compute_state(parent.state_root, &changes)?;
        if delta.root != header.state_root {
            return Err(Error::StateRootMismatch { expected: header.state_root, computed: delta.root });
        }
        self.store(header, body, changes, delta, justification, durable)
    }

    /// Stores a block this node built and executed (its seal and state root
    /// are set by the author).
    pub fn import_own(
        &self,
        header: Header,
        body: Vec<OpaqueExtrinsic>,
        changes: Changes,
        delta: StateDelta,
    ) -> Result<ImportOutcome, Error> {
        let _guard = self.import_lock.lock().map_err(|_| Error::Poisoned)?;
        self.store(header, body, changes, delta, None, true)
    }

    fn store(
        &self,
        header: Header,
        body: Vec<OpaqueExtrinsic>,
        changes: Changes,
        delta: StateDelta,
        justification: Option<Vec<u8>>,
        durable: bool,
    ) -> Result<ImportOutcome, Error> {
        let block = ImportBlock { header: header.clone(), body, changes, delta, justification };
        let outcome = self.db.import_block_with(block, durable)?;
        tracing::debug!(target: "umbra::import", number = header.number, hash = ?header.hash(), best = outcome.is_new_best, "imported");
        let _ = self.events.send(ChainEvent::Imported {
            header,
            is_best: outcome.is_new_best,
            retracted: outcome.retracted.clone(),
        });
        Ok(outcome)
    }

    /// Writes a verified warp target (see [`crate::warp`]) under the import
    /// lock and notifies it as imported (best) and finalized.
    pub(crate) fn store_warp(
        &self,
        header: &Header,
        body: &[OpaqueExtrinsic],
        justification: &[u8],
        delta: &StateDelta,
        aux: &[(&str, &[u8])],
    ) -> Result<BlockRef, Error> {
        let _guard = self.import_lock.lock().map_err(|_| Error::Poisoned)?;
        let block = self.db.warp_to(header, body, justification, delta, aux)?;
        let _ = self.events.send(ChainEvent::Imported { header: header.clone(), is_best: true, retracted: Vec::new() });
        let _ = self.events.send(ChainEvent::Finalized { blocks: vec![block], head: header.clone() });
        Ok(block)
    }

    /// Finalizes `hash`, storing `justification` with it.
    pub fn finalize(&self, hash: H256, justification: Option<&[u8]>) -> Result<Vec<BlockRef>, Error> {
        let _guard = self.import_lock.lock().map_err(|_| Error::Poisoned)?;
        let blocks = self.db.finalize(hash, justification)?;
        if !blocks.is_empty() {
            let head = self.expect_header(&hash)?;
            tracing::debug!(target: "umbra::finality", number = head.number, ?hash, "finalized");
            let _ = self.events.send(ChainEvent::Finalized { blocks: blocks.clone(), head });
        }
        Ok(blocks)
    }

    /// Hashes from `block` back to (excluding) `base`, newest first, or
    /// `None` if `block` does not descend from `base`.
    pub fn ancestry(&self, base: H256, block: H256) -> Result<Option<Vec<H256>>, Error> {
        let base_number = match self.header(&base)? {
            Some(h) => h.number,
            None => return Ok(None),
        };
        let mut out = Vec::new();
        let mut current = block;
        loop {
            if current == base {
                return Ok(Some(out));
            }
            let Some(header) = self.header(&current)? else { return Ok(None) };
            if header.number <= base_number {
                return Ok(None);
            }
            if current != block {
                out.push(current);
            }
            current = header.parent_hash;
        }
    }
}

/// Proves `Grandpa.Authorities` and `Grandpa.CurrentSetId` in the genesis state.
fn genesis_anchor(
    header: &Header,
    state: &std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
) -> Result<umbra_primitives::sync::GenesisAnchor, Error> {
    use umbra_runtime::modules::grandpa::keys;
    let trie = umbra_trie::MemoryTrie::new(umbra_runtime::STATE_VERSION, state.iter())
        .map_err(|e| Error::Grandpa(format!("genesis trie: {e}")))?;
    let proof = trie
        .read_proof([keys::authorities(), keys::current_set_id()])
        .map_err(|e| Error::Grandpa(format!("genesis proof: {e}")))?;
    Ok(umbra_primitives::sync::GenesisAnchor {
        header: header.clone(),
        proof: proof.nodes().map(<[u8]>::to_vec).collect(),
    })
}

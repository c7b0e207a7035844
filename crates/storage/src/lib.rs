//! The node database.
//!
//! One [redb](https://docs.rs/redb) file holds headers, bodies,
//! justifications, the canonical chain index, reference-counted state trie
//! nodes with their per-block journals, per-block storage changes, and the
//! best/finalized pointers. redb is a copy-on-write B-tree: a commit is
//! atomic and durable when [`Database::import_block`] or
//! [`Database::finalize`] returns (fsync), so a `kill -9` at any moment loses
//! nothing that was reported as imported or finalized. (parity-db, the
//! design's first choice, acknowledges a commit before its write-ahead log is
//! written, which breaks that guarantee.)
//!
//! State pruning keeps the states of the last `N` finalized blocks plus all
//! unfinalized ones (`--pruning N`), or everything (`--pruning archive`).
//! Each imported block records which nodes it added and which nodes of its
//! parent's trie it stopped referencing; finalization discards forks (their
//! added nodes are dereferenced) and, `N` blocks later, dereferences what the
//! canonical chain stopped referencing. A node whose count reaches zero is
//! deleted.

mod error;
mod state;

use std::{collections::BTreeMap, path::Path};

use parity_scale_codec::{Decode, Encode};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use umbra_primitives::{block::OpaqueExtrinsic, header::Header, H256};
use umbra_runtime::state::Changes;

pub use error::Error;
pub use state::{KeyValue, StateDelta, StateView};

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const HEADERS: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("headers");
const BODIES: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("bodies");
const JUSTIFICATIONS: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("justifications");
const CANONICAL: TableDefinition<'_, u32, [u8; 32]> = TableDefinition::new("canonical");
/// Every stored block by (number, hash): big-endian number first, so blocks sort by height.
const BY_NUMBER: TableDefinition<'_, [u8; 36], ()> = TableDefinition::new("by_number");
pub(crate) const STATE: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("state");
const INSERTED: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("journal_inserted");
const REMOVED: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("journal_removed");
const CHANGES: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("changes");

const SCHEMA_VERSION: u32 = 1;
const KEY_SCHEMA: &str = "schema";
const KEY_GENESIS: &str = "genesis";
const KEY_BEST: &str = "best";
const KEY_FINALIZED: &str = "finalized";
const KEY_PRUNED_TO: &str = "pruned_to";

/// How much old state to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pruning {
    /// Keep every state.
    Archive,
    /// Keep the states of the last `n` finalized blocks (and all unfinalized).
    Keep(u32),
}

impl std::str::FromStr for Pruning {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "archive" => Ok(Pruning::Archive),
            n => n
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .map(Pruning::Keep)
                .ok_or_else(|| format!("pruning must be `archive` or a number of blocks >= 1, not `{n}`")),
        }
    }
}

/// Database settings.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// State pruning.
    pub pruning: Pruning,
    /// Finalized blocks whose storage changes are kept (`umbra_getStorageChanges`).
    pub changes_window: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config { pruning: Pruning::Keep(256), changes_window: 4096 }
    }
}

/// A block's hash and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct BlockRef {
    /// Hash.
    pub hash: H256,
    /// Number.
    pub number: u32,
}

/// A block to import, with what executing it produced.
pub struct ImportBlock {
    /// Header (with seal).
    pub header: Header,
    /// Body.
    pub body: Vec<OpaqueExtrinsic>,
    /// Storage changes of executing it.
    pub changes: Changes,
    /// The node delta (from [`Database::compute_state`]); its root must be the header's.
    pub delta: StateDelta,
    /// A finality justification to store with it.
    pub justification: Option<Vec<u8>>,
}

/// What an import did to the best chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Whether the block is the new best.
    pub is_new_best: bool,
    /// Blocks that left the best chain (reorg), newest first.
    pub retracted: Vec<H256>,
    /// Blocks that joined the best chain, oldest first (the new block last).
    pub enacted: Vec<H256>,
}

/// The node database.
pub struct Database {
    db: redb::Database,
    config: Config,
}

fn key36(number: u32, hash: &H256) -> [u8; 36] {
    let mut k = [0u8; 36];
    k[..4].copy_from_slice(&number.to_be_bytes());
    k[4..].copy_from_slice(&hash.0);
    k
}

fn decode<T: Decode>(bytes: &[u8], what: &'static str) -> Result<T> {
    T::decode(&mut &bytes[..]).map_err(|_| Error::Corrupt(what))
}

impl Database {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path, config: Config) -> Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::Io(e.to_string()))?;
        }
        let db = redb::Database::create(path)?;
        let this = Database { db, config };
        let txn = this.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let schema = meta.get(KEY_SCHEMA)?.map(|g| decode::<u32>(g.value(), "schema")).transpose()?;
            match schema {
                None => {
                    meta.insert(KEY_SCHEMA, SCHEMA_VERSION.encode().as_slice())?;
                }
                Some(v) if v == SCHEMA_VERSION => {}
                Some(v) => return Err(Error::Schema { found: v, expected: SCHEMA_VERSION }),
            }
            for table in [HEADERS, BODIES, JUSTIFICATIONS, STATE, INSERTED, REMOVED, CHANGES] {
                txn.open_table(table)?;
            }
            txn.open_table(CANONICAL)?;
            txn.open_table(BY_NUMBER)?;
        }
        txn.commit()?;
        Ok(this)
    }

    /// The settings.
    pub fn config(&self) -> Config {
        self.config
    }

    fn meta<T: Decode>(&self, key: &str) -> Result<Option<T>> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        meta.get(key)?.map(|g| decode(g.value(), "meta")).transpose()
    }

    /// Reads an opaque value stored by another component (e.g. GRANDPA's state).
    pub fn aux(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        Ok(meta.get(format!("aux:{key}").as_str())?.map(|g| g.value().to_vec()))
    }

    /// Stores an opaque value durably.
    pub fn put_aux(&self, key: &str, value: &[u8]) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(META)?.insert(format!("aux:{key}").as_str(), value)?;
        txn.commit()?;
        Ok(())
    }

    /// The genesis block, if the database is initialized.
    pub fn genesis(&self) -> Result<Option<BlockRef>> {
        self.meta(KEY_GENESIS)
    }

    /// The best block.
    pub fn best(&self) -> Result<BlockRef> {
        self.meta(KEY_BEST)?.ok_or(Error::NotInitialized)
    }

    /// The last finalized block.
    pub fn finalized(&self) -> Result<BlockRef> {
        self.meta(KEY_FINALIZED)?.ok_or(Error::NotInitialized)
    }

    /// Writes the genesis block and state. The header's state root must be
    /// the root of `state`.
    pub fn initialize(&self, header: &Header, state: &BTreeMap<Vec<u8>, Vec<u8>>) -> Result<BlockRef> {
        if let Some(genesis) = self.genesis()? {
            return if genesis.hash == header.hash() { Ok(genesis) } else { Err(Error::GenesisMismatch) };
        }
        let changes: Changes = state.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
        let delta = self.compute_state(umbra_trie::EMPTY_ROOT, &changes)?;
        if delta.root != header.state_root {
            return Err(Error::StateRootMismatch { expected: header.state_root, computed: delta.root });
        }
        let hash = header.hash();
        let genesis = BlockRef { hash, number: header.number };
        let txn = self.db.begin_write()?;
        {
            txn.open_table(HEADERS)?.insert(hash.0, header.encode().as_slice())?;
            txn.open_table(BODIES)?.insert(hash.0, Vec::<OpaqueExtrinsic>::new().encode().as_slice())?;
            txn.open_table(CANONICAL)?.insert(header.number, hash.0)?;
            txn.open_table(BY_NUMBER)?.insert(key36(header.number, &hash), ())?;
            let mut nodes = txn.open_table(STATE)?;
            for (node_hash, node) in &delta.inserted {
                reference(&mut nodes, node_hash, node)?;
            }
            let mut meta = txn.open_table(META)?;
            for key in [KEY_GENESIS, KEY_BEST, KEY_FINALIZED] {
                meta.insert(key, genesis.encode().as_slice())?;
            }
        }
        txn.commit()?;
        Ok(genesis)
    }

    /// Writes a warp-sync target into a database that holds only its
    /// genesis: the block `header` (verified by the caller through a chain
    /// of GRANDPA justifications) with its `body`, its `justification` and
    /// its full state as `delta` (computed from the empty root), as the best
    /// and finalized block, with the `aux` values of other components (the
    /// GRANDPA set in force), in one durable commit. The blocks between
    /// genesis and the target are not stored (nothing below the target is
    /// served); the state root must be the header's.
    pub fn warp_to(
        &self,
        header: &Header,
        body: &[OpaqueExtrinsic],
        justification: &[u8],
        delta: &StateDelta,
        aux: &[(&str, &[u8])],
    ) -> Result<BlockRef> {
        if delta.root != header.state_root {
            return Err(Error::StateRootMismatch { expected: header.state_root, computed: delta.root });
        }
        let (best, finalized) = (self.best()?, self.finalized()?);
        if best.number != 0 || finalized.number != 0 {
            return Err(Error::NotFresh { best: best.number });
        }
        if header.number == 0 {
            return Err(Error::BadNumber { parent: 0, number: 0 });
        }
        let hash = header.hash();
        let target = BlockRef { hash, number: header.number };
        let txn = self.db.begin_write()?;
        {
            let mut by_number = txn.open_table(BY_NUMBER)?;
            // Unfinalized blocks on top of genesis (none on a fresh node,
            // which waits for the warp before authoring) would be orphans.
            if by_number.len()? > 1 {
                return Err(Error::NotFresh { best: best.number });
            }
            txn.open_table(HEADERS)?.insert(hash.0, header.encode().as_slice())?;
            txn.open_table(BODIES)?.insert(hash.0, body.encode().as_slice())?;
            txn.open_table(JUSTIFICATIONS)?.insert(hash.0, justification)?;
            txn.open_table(CANONICAL)?.insert(header.number, hash.0)?;
            by_number.insert(key36(header.number, &hash), ())?;
            let mut nodes = txn.open_table(STATE)?;
            for (node_hash, node) in &delta.inserted {
                reference(&mut nodes, node_hash, node)?;
            }
            let mut meta = txn.open_table(META)?;
            for key in [KEY_BEST, KEY_FINALIZED] {
                meta.insert(key, target.encode().as_slice())?;
            }
            // Nothing below the target has a journal to prune.
            meta.insert(KEY_PRUNED_TO, header.number.encode().as_slice())?;
            for (key, value) in aux {
                meta.insert(format!("aux:{key}").as_str(), *value)?;
            }
        }
        txn.commit()?;
        Ok(target)
    }

    /// A header by hash.
    pub fn header(&self, hash: &H256) -> Result<Option<Header>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(HEADERS)?;
        table.get(hash.0)?.map(|g| decode(g.value(), "header")).transpose()
    }

    /// A body by hash.
    pub fn body(&self, hash: &H256) -> Result<Option<Vec<OpaqueExtrinsic>>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BODIES)?;
        table.get(hash.0)?.map(|g| decode(g.value(), "body")).transpose()
    }

    /// The stored justification of a block.
    pub fn justification(&self, hash: &H256) -> Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(JUSTIFICATIONS)?;
        Ok(table.get(hash.0)?.map(|g| g.value().to_vec()))
    }

    /// The first block at or after `number` on the finalized chain that has
    /// a stored justification.
    pub fn next_justified(&self, number: u32) -> Result<Option<(BlockRef, Vec<u8>)>> {
        let finalized = self.finalized()?;
        let txn = self.db.begin_read()?;
        let canonical = txn.open_table(CANONICAL)?;
        let justifications = txn.open_table(JUSTIFICATIONS)?;
        for entry in canonical.range(number..=finalized.number)? {
            let (n, hash) = entry?;
            if let Some(j) = justifications.get(hash.value())? {
                return Ok(Some((BlockRef { hash: H256(hash.value()), number: n.value() }, j.value().to_vec())));
            }
        }
        Ok(None)
    }

    /// The canonical (best-chain) block at `number`.
    pub fn hash_at(&self, number: u32) -> Result<Option<H256>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CANONICAL)?;
        Ok(table.get(number)?.map(|g| H256(g.value())))
    }

    /// The storage changes of a block (kept for the last `changes_window`
    /// finalized blocks and all unfinalized ones).
    pub fn changes(&self, hash: &H256) -> Result<Option<Changes>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CHANGES)?;
        table.get(hash.0)?.map(|g| decode(g.value(), "changes")).transpose()
    }

    /// A consistent view of the state at `root`.
    pub fn state_at(&self, root: H256) -> Result<StateView> {
        let txn = self.db.begin_read()?;
        StateView::new(&txn, root)
    }

    /// The state of block `hash`.
    pub fn state_of(&self, hash: &H256) -> Result<StateView> {
        let header = self.header(hash)?.ok_or(Error::UnknownBlock(*hash))?;
        self.state_at(header.state_root)
    }

    /// The trie delta of applying `changes` on top of `parent_root`.
    pub fn compute_state(&self, parent_root: H256, changes: &Changes) -> Result<StateDelta> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(STATE)?;
        state::compute_delta(&table, parent_root, changes)
    }

    /// Whether a block is stored.
    pub fn contains(&self, hash: &H256) -> Result<bool> {
        Ok(self.header(hash)?.is_some())
    }

    /// Stores an executed block in one atomic, durable commit and updates the
    /// best chain (longest chain containing the finalized block; ties keep
    /// the current best).
    pub fn import_block(&self, block: ImportBlock) -> Result<ImportOutcome> {
        self.import_block_with(block, true)
    }

    /// As [`Database::import_block`]; with `durable` false the commit is
    /// atomic and visible at once but reaches the disk only with the next
    /// durable commit (sync imports a batch of blocks and makes only its
    /// last one durable: after a crash the database is at the last durable
    /// commit, consistent, and the rest is downloaded again).
    pub fn import_block_with(&self, block: ImportBlock, durable: bool) -> Result<ImportOutcome> {
        let header = &block.header;
        if block.delta.root != header.state_root {
            return Err(Error::StateRootMismatch { expected: header.state_root, computed: block.delta.root });
        }
        let hash = header.hash();
        let finalized = self.finalized()?;
        let best = self.best()?;
        let mut txn = self.db.begin_write()?;
        if !durable {
            txn.set_durability(redb::Durability::None).map_err(|e| Error::Database(e.to_string()))?;
        }
        let outcome;
        {
            let mut headers = txn.open_table(HEADERS)?;
            if headers.get(hash.0)?.is_some() {
                return Err(Error::AlreadyImported(hash));
            }
            let parent: Header = headers
                .get(header.parent_hash.0)?
                .map(|g| decode(g.value(), "header"))
                .transpose()?
                .ok_or(Error::UnknownParent(header.parent_hash))?;
            if parent.number.checked_add(1) != Some(header.number) {
                return Err(Error::BadNumber { parent: parent.number, number: header.number });
            }
            if header.number <= finalized.number {
                return Err(Error::BelowFinalized { number: header.number, finalized: finalized.number });
            }
            // A parent on the canonical chain descends from the finalized
            // block (the canonical chain always holds it): no walk back.
            let canonical_parent = txn.open_table(CANONICAL)?.get(parent.number)?.map(|g| H256(g.value()));
            let finalized_ancestor = if canonical_parent == Some(header.parent_hash) {
                finalized.hash
            } else {
                ancestor_at(&headers, header.parent_hash, parent.number, finalized.number)?
            };
            if finalized_ancestor != finalized.hash {
                return Err(Error::NotOnFinalizedChain(hash));
            }
            headers.insert(hash.0, header.encode().as_slice())?;
            txn.open_table(BODIES)?.insert(hash.0, block.body.encode().as_slice())?;
            txn.open_table(CHANGES)?.insert(hash.0, block.changes.encode().as_slice())?;
            txn.open_table(BY_NUMBER)?.insert(key36(header.number, &hash), ())?;
            if let Some(j) = &block.justification {
                txn.open_table(JUSTIFICATIONS)?.insert(hash.0, j.as_slice())?;
            }
            let mut nodes = txn.open_table(STATE)?;
            for (node_hash, node) in &block.delta.inserted {
                reference(&mut nodes, node_hash, node)?;
            }
            let inserted: Vec<H256> = block.delta.inserted.iter().map(|(h, _)| *h).collect();
            txn.open_table(INSERTED)?.insert(hash.0, inserted.encode().as_slice())?;
            txn.open_table(REMOVED)?.insert(hash.0, block.delta.removed.encode().as_slice())?;

            if header.number > best.number {
                let mut canonical = txn.open_table(CANONICAL)?;
                let (retracted, enacted) = set_canonical(&headers, &mut canonical, hash, header.number, best)?;
                txn.open_table(META)?.insert(KEY_BEST, BlockRef { hash, number: header.number }.encode().as_slice())?;
                outcome = ImportOutcome { is_new_best: true, retracted, enacted };
            } else {
                outcome = ImportOutcome::default();
            }
        }
        txn.commit()?;
        Ok(outcome)
    }

    /// Finalizes `hash` (a descendant of the last finalized block), storing
    /// `justification` with it; discards forks, prunes old state and changes.
    /// Returns the blocks newly finalized, oldest first.
    pub fn finalize(&self, hash: H256, justification: Option<&[u8]>) -> Result<Vec<BlockRef>> {
        let finalized = self.finalized()?;
        let best = self.best()?;
        if hash == finalized.hash {
            if let Some(j) = justification {
                let txn = self.db.begin_write()?;
                txn.open_table(JUSTIFICATIONS)?.insert(hash.0, j)?;
                txn.commit()?;
            }
            return Ok(Vec::new());
        }
        let txn = self.db.begin_write()?;
        let newly;
        {
            let mut headers = txn.open_table(HEADERS)?;
            let target: Header = headers
                .get(hash.0)?
                .map(|g| decode(g.value(), "header"))
                .transpose()?
                .ok_or(Error::UnknownBlock(hash))?;
            if target.number <= finalized.number {
                return Err(Error::BelowFinalized { number: target.number, finalized: finalized.number });
            }
            if ancestor_at(&headers, hash, target.number, finalized.number)? != finalized.hash {
                return Err(Error::NotOnFinalizedChain(hash));
            }
            let mut canonical = txn.open_table(CANONICAL)?;
            // Finalizing a block off the best chain makes it the best chain.
            let on_best = ancestor_at(&headers, best.hash, best.number, target.number).ok() == Some(hash);
            let mut meta = txn.open_table(META)?;
            if !on_best {
                set_canonical(&headers, &mut canonical, hash, target.number, best)?;
                for n in target.number + 1..=best.number {
                    canonical.remove(n)?;
                }
                meta.insert(KEY_BEST, BlockRef { hash, number: target.number }.encode().as_slice())?;
            }
            newly = (finalized.number + 1..=target.number)
                .map(|n| {
                    let h = canonical.get(n)?.map(|g| H256(g.value())).ok_or(Error::Corrupt("canonical index"))?;
                    Ok(BlockRef { hash: h, number: n })
                })
                .collect::<Result<Vec<_>>>()?;
            if let Some(j) = justification {
                txn.open_table(JUSTIFICATIONS)?.insert(hash.0, j)?;
            }
            meta.insert(KEY_FINALIZED, BlockRef { hash, number: target.number }.encode().as_slice())?;

            let mut by_number = txn.open_table(BY_NUMBER)?;
            let mut bodies = txn.open_table(BODIES)?;
            let mut changes = txn.open_table(CHANGES)?;
            let mut justifications = txn.open_table(JUSTIFICATIONS)?;
            let mut inserted = txn.open_table(INSERTED)?;
            let mut removed = txn.open_table(REMOVED)?;
            let mut nodes = txn.open_table(STATE)?;

            // Discard every block that is not on the finalized chain, from
            // the old finalized height up to the new best.
            let top = best.number.max(target.number);
            let mut discarded: Vec<H256> = Vec::new();
            for n in finalized.number + 1..=top {
                let at: Vec<H256> = by_number
                    .range(key36(n, &H256::zero())..=key36(n, &H256::repeat_byte(0xff)))?
                    .map(|e| e.map(|(k, _)| H256::from_slice(&k.value()[4..])))
                    .collect::<std::result::Result<_, _>>()?;
                for h in at {
                    let keep = if n <= target.number {
                        canonical.get(n)?.map(|g| H256(g.value())) == Some(h)
                    } else {
                        // Above the new finalized block: keep descendants of it.
                        ancestor_at(&headers, h, n, target.number).ok() == Some(hash)
                    };
                    if keep {
                        continue;
                    }
                    if let Some(list) = inserted.remove(h.0)? {
                        for node in decode::<Vec<H256>>(list.value(), "journal")? {
                            dereference(&mut nodes, &node)?;
                        }
                    }
                    removed.remove(h.0)?;
                    headers.remove(h.0)?;
                    bodies.remove(h.0)?;
                    changes.remove(h.0)?;
                    justifications.remove(h.0)?;
                    by_number.remove(key36(n, &h))?;
                    discarded.push(h);
                }
            }
            // The finalized chain's additions are permanent now.
            for b in &newly {
                inserted.remove(b.hash.0)?;
            }
            // Prune state older than the window: the nodes block m+1 stopped
            // referencing die with block m's state.
            let pruned_to: u32 = meta.get(KEY_PRUNED_TO)?.map(|g| decode(g.value(), "meta")).transpose()?.unwrap_or(0);
            let prune_below = match self.config.pruning {
                Pruning::Archive => None,
                Pruning::Keep(keep) => Some(target.number.saturating_sub(keep)),
            };
            if let Some(limit) = prune_below {
                for m in pruned_to..limit {
                    let Some(next) = canonical.get(m + 1)?.map(|g| H256(g.value())) else { continue };
                    if let Some(list) = removed.remove(next.0)? {
                        for node in decode::<Vec<H256>>(list.value(), "journal")? {
                            dereference(&mut nodes, &node)?;
                        }
                    }
                }
                meta.insert(KEY_PRUNED_TO, limit.max(pruned_to).encode().as_slice())?;
            } else {
                for b in &newly {
                    removed.remove(b.hash.0)?;
                }
            }
            // Storage changes of finalized blocks older than the window.
            if let Some(old) = target.number.checked_sub(self.config.changes_window) {
                for n in finalized.number.saturating_sub(self.config.changes_window)..=old {
                    if let Some(h) = canonical.get(n)?.map(|g| H256(g.value())) {
                        changes.remove(h.0)?;
                    }
                }
            }
        }
        txn.commit()?;
        Ok(newly)
    }

    /// Blocks stored above the finalized one that are not on the best chain.
    pub fn stored_block_count(&self) -> Result<u64> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(BY_NUMBER)?.len()?)
    }

    /// Number of distinct state nodes stored (for tests and metrics).
    pub fn state_node_count(&self) -> Result<u64> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(STATE)?.len()?)
    }
}

/// The ancestor of `hash` (at `number`) at height `at`.
fn ancestor_at<T: ReadableTable<[u8; 32], &'static [u8]>>(
    headers: &T,
    mut hash: H256,
    mut number: u32,
    at: u32,
) -> Result<H256> {
    while number > at {
        let header: Header =
            headers.get(hash.0)?.map(|g| decode(g.value(), "header")).transpose()?.ok_or(Error::UnknownBlock(hash))?;
        hash = header.parent_hash;
        number -= 1;
    }
    Ok(hash)
}

/// Makes `hash` (at `number`) the head of the canonical index; returns the
/// retracted (newest first) and enacted (oldest first) blocks.
fn set_canonical<T: ReadableTable<[u8; 32], &'static [u8]>>(
    headers: &T,
    canonical: &mut redb::Table<'_, u32, [u8; 32]>,
    hash: H256,
    number: u32,
    old_best: BlockRef,
) -> Result<(Vec<H256>, Vec<H256>)> {
    let mut enacted = Vec::new();
    let mut h = hash;
    let mut n = number;
    loop {
        let current = canonical.get(n)?.map(|g| H256(g.value()));
        if current == Some(h) {
            break;
        }
        canonical.insert(n, h.0)?;
        enacted.push(h);
        if n == 0 {
            break;
        }
        let header: Header =
            headers.get(h.0)?.map(|g| decode(g.value(), "header")).transpose()?.ok_or(Error::UnknownBlock(h))?;
        h = header.parent_hash;
        n -= 1;
    }
    let fork_point = n;
    let mut retracted = Vec::new();
    let mut r = old_best.hash;
    let mut rn = old_best.number;
    while rn > fork_point {
        if !enacted.contains(&r) {
            retracted.push(r);
        }
        let header: Header =
            headers.get(r.0)?.map(|g| decode(g.value(), "header")).transpose()?.ok_or(Error::UnknownBlock(r))?;
        r = header.parent_hash;
        rn -= 1;
    }
    enacted.reverse();
    Ok((retracted, enacted))
}

/// The reference count stored before a state node (4 bytes, LE); a value
/// shorter than that is a corrupt database, never a panic.
fn node_count(raw: &[u8]) -> Result<u32> {
    let count: [u8; 4] = raw.get(..4).and_then(|c| c.try_into().ok()).ok_or(Error::Corrupt("state node"))?;
    Ok(u32::from_le_bytes(count))
}

fn reference(nodes: &mut redb::Table<'_, [u8; 32], &[u8]>, hash: &H256, node: &[u8]) -> Result<()> {
    let existing = nodes.get(hash.0)?.map(|g| node_count(g.value())).transpose()?;
    let count = existing.unwrap_or(0).saturating_add(1);
    let mut value = Vec::with_capacity(4 + node.len());
    value.extend_from_slice(&count.to_le_bytes());
    value.extend_from_slice(node);
    nodes.insert(hash.0, value.as_slice())?;
    Ok(())
}

fn dereference(nodes: &mut redb::Table<'_, [u8; 32], &[u8]>, hash: &H256) -> Result<()> {
    let existing = nodes.get(hash.0)?.map(|g| g.value().to_vec());
    let Some(mut raw) = existing else {
        return Ok(());
    };
    let count = node_count(&raw)?;
    if count <= 1 {
        nodes.remove(hash.0)?;
    } else {
        raw[..4].copy_from_slice(&(count - 1).to_le_bytes());
        nodes.insert(hash.0, raw.as_slice())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_state_node_is_a_corrupt_database_not_a_panic() {
        assert_eq!(node_count(&[1, 0, 0, 0, 9]), Ok(1));
        for short in [&[][..], &[1][..], &[1, 0, 0][..]] {
            assert_eq!(node_count(short), Err(Error::Corrupt("state node")));
        }
    }
}

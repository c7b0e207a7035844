//! The state trie over the database: reading at a root, and computing the
//! node delta a block's storage changes produce.
//!
//! Trie nodes live in the `STATE` table keyed by their BLAKE2b-256 hash, with
//! a 4-byte little-endian reference count in front of the node bytes. A node
//! inserted by two blocks (or twice in one trie) is stored once with count 2.

use std::sync::Mutex;

use hash_db::{AsHashDB, HashDB, HashDBRef, Prefix};
use redb::{ReadOnlyTable, ReadableTable};
use sp_core::Blake2Hasher;
use sp_trie::{LayoutV1, MemoryDB, Trie, TrieDBBuilder, TrieDBMutBuilder, TrieMut};
use umbra_primitives::H256;
use umbra_runtime::state::{Changes, StateRead};
use umbra_trie::StorageProof;

use crate::{Error, Result, STATE};

type Layout = LayoutV1<Blake2Hasher>;

/// Reads trie nodes from a table (any transaction).
pub(crate) struct NodeSource<'t, T: ReadableTable<[u8; 32], &'static [u8]> + Sync> {
    pub(crate) table: &'t T,
    pub(crate) error: &'t Mutex<Option<Error>>,
}

/// Remembers the first read error in `slot`.
fn record(slot: &Mutex<Option<Error>>, e: Error) {
    if let Ok(mut slot) = slot.lock() {
        slot.get_or_insert(e);
    }
}

fn node_value(raw: &[u8]) -> Option<Vec<u8>> {
    raw.get(4..).map(<[u8]>::to_vec)
}

impl<T: ReadableTable<[u8; 32], &'static [u8]> + Sync> NodeSource<'_, T> {
    fn read(&self, key: &H256) -> Option<Vec<u8>> {
        match self.table.get(&key.0) {
            Ok(Some(guard)) => node_value(guard.value()),
            Ok(None) => None,
            Err(e) => {
                record(self.error, Error::Database(e.to_string()));
                None
            }
        }
    }
}

impl<T: ReadableTable<[u8; 32], &'static [u8]> + Sync> HashDBRef<Blake2Hasher, Vec<u8>> for NodeSource<'_, T> {
    fn get(&self, key: &H256, _prefix: Prefix<'_>) -> Option<Vec<u8>> {
        self.read(key)
    }

    fn contains(&self, key: &H256, _prefix: Prefix<'_>) -> bool {
        self.read(key).is_some()
    }
}

/// Nodes being written by one block: the database below, an in-memory
/// overlay with signed reference counts on top.
pub(crate) struct Overlay<'s, T: ReadableTable<[u8; 32], &'static [u8]> + Sync> {
    pub(crate) source: NodeSource<'s, T>,
    pub(crate) memory: MemoryDB<Blake2Hasher>,
}

impl<T: ReadableTable<[u8; 32], &'static [u8]> + Sync> HashDB<Blake2Hasher, Vec<u8>> for Overlay<'_, T> {
    fn get(&self, key: &H256, prefix: Prefix<'_>) -> Option<Vec<u8>> {
        HashDB::get(&self.memory, key, prefix).or_else(|| self.source.read(key))
    }

    fn contains(&self, key: &H256, prefix: Prefix<'_>) -> bool {
        HashDB::get(self, key, prefix).is_some()
    }

    fn insert(&mut self, prefix: Prefix<'_>, value: &[u8]) -> H256 {
        HashDB::insert(&mut self.memory, prefix, value)
    }

    fn emplace(&mut self, key: H256, prefix: Prefix<'_>, value: Vec<u8>) {
        HashDB::emplace(&mut self.memory, key, prefix, value)
    }

    fn remove(&mut self, key: &H256, prefix: Prefix<'_>) {
        HashDB::remove(&mut self.memory, key, prefix)
    }
}

impl<T: ReadableTable<[u8; 32], &'static [u8]> + Sync> HashDBRef<Blake2Hasher, Vec<u8>> for Overlay<'_, T> {
    fn get(&self, key: &H256, prefix: Prefix<'_>) -> Option<Vec<u8>> {
        HashDB::get(self, key, prefix)
    }

    fn contains(&self, key: &H256, prefix: Prefix<'_>) -> bool {
        HashDB::contains(self, key, prefix)
    }
}

impl<T: ReadableTable<[u8; 32], &'static [u8]> + Sync> AsHashDB<Blake2Hasher, Vec<u8>> for Overlay<'_, T> {
    fn as_hash_db(&self) -> &dyn HashDB<Blake2Hasher, Vec<u8>> {
        self
    }

    fn as_hash_db_mut<'b>(&'b mut self) -> &'b mut (dyn HashDB<Blake2Hasher, Vec<u8>> + 'b) {
        self
    }
}

/// A storage key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// What a block does to the node store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateDelta {
    /// The new state root.
    pub root: H256,
    /// Nodes the new trie references once more (stored or counted up).
    pub inserted: Vec<(H256, Vec<u8>)>,
    /// Nodes of the parent trie the new trie no longer references (counted
    /// down when the parent's state is pruned).
    pub removed: Vec<H256>,
}

/// Applies `changes` to the trie at `parent_root` read from `table`.
pub(crate) fn compute_delta<T: ReadableTable<[u8; 32], &'static [u8]> + Sync>(
    table: &T,
    parent_root: H256,
    changes: &Changes,
) -> Result<StateDelta> {
    let error = Mutex::new(None);
    let mut overlay = Overlay { source: NodeSource { table, error: &error }, memory: MemoryDB::new(&[0u8]) };
    let mut root = parent_root;
    {
        let mut trie = if parent_root == umbra_trie::EMPTY_ROOT {
            TrieDBMutBuilder::<Layout>::new(&mut overlay, &mut root).build()
        } else {
            TrieDBMutBuilder::<Layout>::from_existing(&mut overlay, &mut root).build()
        };
        for (key, value) in changes {
            let result = match value {
                Some(v) => trie.insert(key, v).map(|_| ()),
                None => trie.remove(key).map(|_| ()),
            };
            result.map_err(|e| Error::Trie(format!("{e:?}")))?;
        }
        trie.commit();
    }
    let failed = error.lock().map(|mut e| e.take()).unwrap_or(None);
    if let Some(e) = failed {
        return Err(e);
    }
    let mut delta = StateDelta { root, ..Default::default() };
    for (hash, (value, rc)) in overlay.memory.drain() {
        // `drain` yields the key function's keys, which for `HashKey` are the hashes.
        let hash = H256::from_slice(hash.as_ref());
        for _ in 0..rc.max(0) {
            delta.inserted.push((hash, value.clone()));
        }
        for _ in 0..(-rc).max(0) {
            delta.removed.push(hash);
        }
    }
    delta.inserted.sort_by_key(|a| a.0);
    delta.removed.sort();
    Ok(delta)
}

/// The state at one root, read from a consistent snapshot.
///
/// Implements the runtime's [`StateRead`]. A read that fails (a missing node
/// of a pruned state, a database error) returns `None` to the runtime and is
/// remembered: callers must check [`StateView::take_error`] before trusting
/// what the runtime computed.
pub struct StateView {
    table: ReadOnlyTable<[u8; 32], &'static [u8]>,
    root: H256,
    error: Mutex<Option<Error>>,
}

impl StateView {
    pub(crate) fn new(txn: &redb::ReadTransaction, root: H256) -> Result<Self> {
        let table = txn.open_table(STATE)?;
        Ok(StateView { table, root, error: Mutex::new(None) })
    }

    /// The root this view reads.
    pub fn root(&self) -> H256 {
        self.root
    }

    /// The first error a read hit, if any (and clears it).
    pub fn take_error(&self) -> Option<Error> {
        self.error.lock().map(|mut e| e.take()).unwrap_or(None)
    }

    fn source(&self) -> NodeSource<'_, ReadOnlyTable<[u8; 32], &'static [u8]>> {
        NodeSource { table: &self.table, error: &self.error }
    }

    /// The value at `key`; missing nodes are an error, not an absence.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let source = self.source();
        let trie = TrieDBBuilder::<Layout>::new(&source, &self.root).build();
        let value = trie.get(key).map_err(trie_error)?;
        match self.take_error() {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }

    /// Up to `count` keys starting with `prefix`, strictly after `start_after`
    /// when given (`state_getKeysPaged`).
    pub fn keys_paged(&self, prefix: &[u8], count: usize, start_after: Option<&[u8]>) -> Result<Vec<Vec<u8>>> {
        let source = self.source();
        let trie = TrieDBBuilder::<Layout>::new(&source, &self.root).build();
        let mut iter = trie.key_iter().map_err(trie_error)?;
        let seek = match start_after {
            Some(start) if start > prefix => start,
            _ => prefix,
        };
        trie_db::TrieIterator::seek(&mut *iter, seek).map_err(trie_error)?;
        let mut out = Vec::new();
        for key in iter {
            let key = key.map_err(trie_error)?;
            if !key.starts_with(prefix) {
                break;
            }
            if start_after.is_some_and(|s| key.as_slice() <= s) {
                continue;
            }
            out.push(key);
            if out.len() >= count {
                break;
            }
        }
        match self.take_error() {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Key-value pairs in key order, strictly after `start_after` when
    /// given, until their encoded size passes `byte_budget` (at least one
    /// pair if any is left); the flag says whether pairs remain after the
    /// last one returned (warp sync's state download).
    pub fn pairs_after(&self, start_after: Option<&[u8]>, byte_budget: usize) -> Result<(Vec<KeyValue>, bool)> {
        let source = self.source();
        let trie = TrieDBBuilder::<Layout>::new(&source, &self.root).build();
        let mut iter = trie.iter().map_err(trie_error)?;
        if let Some(start) = start_after {
            trie_db::TrieIterator::seek(&mut *iter, start).map_err(trie_error)?;
        }
        let (mut out, mut bytes, mut more) = (Vec::new(), 0usize, false);
        for pair in iter {
            let (key, value) = pair.map_err(trie_error)?;
            if start_after.is_some_and(|s| key.as_slice() <= s) {
                continue;
            }
            if bytes >= byte_budget && !out.is_empty() {
                more = true;
                break;
            }
            bytes += key.len() + value.len() + 8;
            out.push((key, value));
        }
        match self.take_error() {
            Some(e) => Err(e),
            None => Ok((out, more)),
        }
    }

    /// A read proof of `keys` under this root.
    pub fn read_proof(&self, keys: &[Vec<u8>]) -> Result<StorageProof> {
        let source = self.source();
        let mut recorder = sp_trie::Recorder::<Layout>::new();
        {
            let trie = TrieDBBuilder::<Layout>::new(&source, &self.root).with_recorder(&mut recorder).build();
            for key in keys {
                trie.get(key).map_err(trie_error)?;
            }
        }
        if let Some(e) = self.take_error() {
            return Err(e);
        }
        Ok(StorageProof::new(recorder.drain().into_iter().map(|r| r.data)))
    }
}

impl StateRead for StateView {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let source = self.source();
        let trie = TrieDBBuilder::<Layout>::new(&source, &self.root).build();
        match trie.get(key) {
            Ok(value) => value,
            Err(e) => {
                record(&self.error, trie_error(e));
                None
            }
        }
    }
}

#[allow(clippy::boxed_local)] // the exact type trie-db returns, passed to `map_err`
fn trie_error(e: Box<sp_trie::TrieError<Layout>>) -> Error {
    match *e {
        trie_db::TrieError::IncompleteDatabase(hash) | trie_db::TrieError::InvalidStateRoot(hash) => {
            Error::MissingNode(hash)
        }
        other => Error::Trie(format!("{other:?}")),
    }
}

//! An in-memory trie: read values and produce read proofs.

use alloc::vec::Vec;

use hash_db::Hasher;
use sp_core::Blake2Hasher;
use sp_trie::{MemoryDB, Recorder, Trie, TrieDBBuilder, TrieDBMutBuilder, TrieLayout, TrieMut};

use crate::{error::from_trie_error, Result, StateVersion, StorageProof, H256, V0, V1};

/// A complete trie held in memory.
///
/// Used to produce read proofs and as the reference against which other
/// state back-ends are tested. The node's persistent state lives in the
/// storage crate.
pub struct MemoryTrie {
    db: MemoryDB<Blake2Hasher>,
    root: H256,
    version: StateVersion,
}

fn build<L, I, K, V>(db: &mut MemoryDB<Blake2Hasher>, entries: I) -> Result<H256>
where
    L: TrieLayout<Hash = Blake2Hasher, Codec = sp_trie::NodeCodec<Blake2Hasher>>,
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut root = H256::default();
    {
        let mut trie = TrieDBMutBuilder::<L>::new(db, &mut root).build();
        for (k, v) in entries {
            trie.insert(k.as_ref(), v.as_ref()).map_err(from_trie_error)?;
        }
        trie.commit();
    }
    Ok(root)
}

impl MemoryTrie {
    /// Builds the trie of `entries` (duplicate keys: the last wins).
    pub fn new<I, K, V>(version: StateVersion, entries: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut db = empty_db();
        let root = match version {
            StateVersion::V0 => build::<V0, _, _, _>(&mut db, entries)?,
            StateVersion::V1 => build::<V1, _, _, _>(&mut db, entries)?,
        };
        Ok(MemoryTrie { db, root, version })
    }

    /// The state root.
    pub fn root(&self) -> H256 {
        self.root
    }

    /// The layout version.
    pub fn version(&self) -> StateVersion {
        self.version
    }

    /// The value at `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let trie = TrieDBBuilder::<V1>::new(&self.db, &self.root).build();
        trie.get(key).map_err(from_trie_error)
    }

    /// A proof of the values (or absence) of `keys`: every node on their
    /// paths, including V1 value nodes.
    pub fn read_proof<I, K>(&self, keys: I) -> Result<StorageProof>
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        let mut recorder = Recorder::<V1>::new();
        {
            let trie = TrieDBBuilder::<V1>::new(&self.db, &self.root).with_recorder(&mut recorder).build();
            for key in keys {
                trie.get(key.as_ref()).map_err(from_trie_error)?;
            }
        }
        Ok(StorageProof::new(recorder.drain().into_iter().map(|record| record.data)))
    }

    /// Hash of a node, as the trie addresses it.
    pub fn node_hash(node: &[u8]) -> H256 {
        Blake2Hasher::hash(node)
    }
}

/// An empty node store whose null node is the empty trie node `0x00`.
pub(crate) fn empty_db() -> MemoryDB<Blake2Hasher> {
    MemoryDB::<Blake2Hasher>::new(&[0u8])
}

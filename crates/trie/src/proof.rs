//! Read proofs: the set of trie nodes on the paths to some keys.
//!
//! Encoded as Substrate's raw `StorageProof`: a SCALE `Vec<Vec<u8>>` of
//! nodes. Verification hashes every node, starts at the trusted root and
//! follows child hashes; it never trusts an order, a count or a claimed hash.

use alloc::{collections::BTreeMap, collections::BTreeSet, vec::Vec};

use parity_scale_codec::{Compact, Decode, Encode};
use sp_core::Blake2Hasher;
use sp_trie::{MemoryDB, Trie, TrieDBBuilder};

use crate::{error::from_trie_error, Error, Result, H256, V1};

/// Bounds on a proof accepted from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProofLimits {
    /// Most nodes accepted.
    pub max_nodes: usize,
    /// Most encoded bytes accepted.
    pub max_bytes: usize,
}

impl Default for ProofLimits {
    /// 16,384 nodes and 16 MiB: far above any single-key proof, low enough to
    /// bound memory.
    fn default() -> Self {
        ProofLimits { max_nodes: 16_384, max_bytes: 16 << 20 }
    }
}

/// A set of encoded trie nodes, kept sorted and free of duplicates so that the
/// encoding is canonical.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageProof {
    nodes: BTreeSet<Vec<u8>>,
}

impl StorageProof {
    /// A proof made of `nodes` (duplicates are merged).
    pub fn new<I: IntoIterator<Item = Vec<u8>>>(nodes: I) -> Self {
        StorageProof { nodes: nodes.into_iter().collect() }
    }

    /// Decodes a SCALE `Vec<Vec<u8>>` within `limits`, rejecting trailing bytes.
    pub fn decode_bounded(bytes: &[u8], limits: ProofLimits) -> Result<Self> {
        let mut input = bytes;
        let declared = Compact::<u32>::decode(&mut input).map_err(|_| Error::ProofEncoding)?.0 as usize;
        if declared > limits.max_nodes || bytes.len() > limits.max_bytes {
            return Err(Error::ProofTooLarge {
                nodes: declared,
                bytes: bytes.len(),
                max_nodes: limits.max_nodes,
                max_bytes: limits.max_bytes,
            });
        }
        let mut input = bytes;
        let nodes = Vec::<Vec<u8>>::decode(&mut input).map_err(|_| Error::ProofEncoding)?;
        if !input.is_empty() {
            return Err(Error::ProofTrailingBytes);
        }
        Ok(StorageProof::new(nodes))
    }

    /// The canonical encoding (sorted nodes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let nodes: Vec<&Vec<u8>> = self.nodes.iter().collect();
        nodes.encode()
    }

    /// Number of distinct nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the proof has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The nodes, in canonical order.
    pub fn nodes(&self) -> impl Iterator<Item = &[u8]> {
        self.nodes.iter().map(Vec::as_slice)
    }

    /// Indexes the nodes by hash and checks that the trusted `root` is among
    /// them (an empty-trie root needs no node).
    pub fn check(&self, root: &H256) -> Result<ProofReader> {
        let mut db = crate::memory::empty_db();
        for node in &self.nodes {
            hash_db::HashDB::insert(&mut db, hash_db::EMPTY_PREFIX, node);
        }
        if *root != crate::EMPTY_ROOT && !hash_db::HashDB::contains(&db, root, hash_db::EMPTY_PREFIX) {
            return Err(Error::RootNotInProof(*root));
        }
        Ok(ProofReader { db, root: *root })
    }

    /// The value at `key` (or its proven absence) under `root`.
    pub fn read(&self, root: &H256, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check(root)?.read(key)
    }
}

/// A proof checked against a root, ready for reads.
pub struct ProofReader {
    db: MemoryDB<Blake2Hasher>,
    root: H256,
}

impl ProofReader {
    /// The value at `key`: `Ok(None)` is a proof of absence; a node missing
    /// from the proof is [`Error::IncompleteProof`].
    pub fn read(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let trie = TrieDBBuilder::<V1>::new(&self.db, &self.root).build();
        trie.get(key).map_err(from_trie_error)
    }

    /// Reads several keys; fails if any of them is not covered.
    pub fn read_many<'k, I: IntoIterator<Item = &'k [u8]>>(
        &self,
        keys: I,
    ) -> Result<BTreeMap<Vec<u8>, Option<Vec<u8>>>> {
        keys.into_iter().map(|k| Ok((k.to_vec(), self.read(k)?))).collect()
    }

    /// The smallest key strictly greater than `key` under the root, if the
    /// proof covers the path to it.
    pub fn next_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let trie = TrieDBBuilder::<V1>::new(&self.db, &self.root).build();
        let mut iter = trie.key_iter().map_err(from_trie_error)?;
        trie_db::TrieIterator::seek(&mut *iter, key).map_err(from_trie_error)?;
        for item in iter {
            let found = item.map_err(from_trie_error)?;
            if found.as_slice() != key {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

//! The chain-state replica: every key-value of the chain's state at one
//! finalized block, with its trie, so each block's storage changes can be
//! applied and the resulting root compared with the header's.
//!
//! Memory is bounded by the state itself: one ordered map of values for
//! reads and checkpoints, and one reference-counted node set (only the
//! current trie; nodes a block replaces are dropped), never a copy per
//! block. A block whose changes do not produce the expected root is undone
//! exactly (the previous values are written back, giving back the previous
//! root), so a lying relayer changes nothing.

use std::collections::BTreeMap;

use memory_db::{HashKey, MemoryDB};
use sp_core::Blake2Hasher;
use sp_trie::{LayoutV1, TrieDBMutBuilder, TrieMut};
use umbra_primitives::{sync::StorageChanges, H256};

use crate::Error;

type Layout = LayoutV1<Blake2Hasher>;
type Nodes = MemoryDB<Blake2Hasher, HashKey<Blake2Hasher>, Vec<u8>>;

/// Longest storage key accepted in changes or loaded state.
pub const MAX_KEY_LEN: usize = 4096;
/// Most changes in one block.
pub const MAX_CHANGES_PER_BLOCK: usize = 200_000;

impl umbra_runtime::state::StateRead for Replica {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.values.get(key).cloned()
    }
}

/// A full copy of the chain state at one block.
pub struct Replica {
    values: BTreeMap<Vec<u8>, Vec<u8>>,
    nodes: Nodes,
    root: H256,
    bytes: usize,
}

fn empty_root() -> H256 {
    umbra_trie::state_root(umbra_trie::StateVersion::V1, std::iter::empty::<(Vec<u8>, Vec<u8>)>())
}

impl Replica {
    /// An empty state.
    pub fn empty() -> Self {
        Self { values: BTreeMap::new(), nodes: Nodes::default(), root: empty_root(), bytes: 0 }
    }

    /// Builds the state of `pairs` (keys must be distinct and bounded).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<Self, Error> {
        let mut replica = Self::empty();
        let changes: Vec<(Vec<u8>, Option<Vec<u8>>)> = pairs.into_iter().map(|(k, v)| (k, Some(v))).collect();
        replica.write(&changes)?;
        replica.nodes.purge();
        Ok(replica)
    }

    /// The state root.
    pub fn root(&self) -> H256 {
        self.root
    }

    /// A value.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.values.get(key).map(Vec::as_slice)
    }

    /// Decodes a value (`None` when absent or undecodable).
    pub fn decode<T: parity_scale_codec::Decode>(&self, key: &[u8]) -> Option<T> {
        self.get(key).and_then(|v| T::decode(&mut &v[..]).ok())
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the state is empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Bytes of keys and values held.
    pub fn size_bytes(&self) -> usize {
        self.bytes
    }

    /// Every pair, in key order (checkpoints).
    pub fn pairs(&self) -> impl Iterator<Item = (&Vec<u8>, &Vec<u8>)> {
        self.values.iter()
    }

    /// Applies one block's changes and requires the new root to be
    /// `expected`; on any error the replica is as before.
    pub fn apply_checked(&mut self, changes: &StorageChanges, expected: H256) -> Result<(), Error> {
        check_changes(changes)?;
        let undo: Vec<(Vec<u8>, Option<Vec<u8>>)> =
            changes.iter().map(|(k, _)| (k.clone(), self.values.get(k).cloned())).collect();
        let before = self.root;
        let found = self.write(changes)?;
        if found != expected {
            let restored = self.write(&undo)?;
            if restored != before {
                return Err(Error::Internal(format!("undo gave root {restored:?}, expected {before:?}")));
            }
            return Err(Error::StateRootMismatch { expected, found });
        }
        Ok(())
    }

    /// Drops trie nodes no longer referenced (after a batch).
    pub fn compact(&mut self) {
        self.nodes.purge();
    }

    fn write(&mut self, changes: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<H256, Error> {
        let mut root = self.root;
        {
            let mut trie = TrieDBMutBuilder::<Layout>::from_existing(&mut self.nodes, &mut root).build();
            for (key, value) in changes {
                let result = match value {
                    Some(v) => trie.insert(key, v).map(|_| ()),
                    None => trie.remove(key).map(|_| ()),
                };
                result.map_err(|e| Error::Internal(format!("replica trie: {e:?}")))?;
            }
            trie.commit();
        }
        for (key, value) in changes {
            let old = match value {
                Some(v) => {
                    self.bytes = self.bytes.saturating_add(key.len() + v.len());
                    self.values.insert(key.clone(), v.clone())
                }
                None => self.values.remove(key),
            };
            if let Some(old) = old {
                self.bytes = self.bytes.saturating_sub(key.len() + old.len());
            }
        }
        self.root = root;
        Ok(root)
    }
}

/// Changes must be bounded, with strictly ascending keys.
fn check_changes(changes: &StorageChanges) -> Result<(), Error> {
    if changes.len() > MAX_CHANGES_PER_BLOCK {
        return Err(Error::BadChanges(format!("{} changes, at most {MAX_CHANGES_PER_BLOCK}", changes.len())));
    }
    let mut previous: Option<&[u8]> = None;
    for (key, _) in changes {
        if key.len() > MAX_KEY_LEN {
            return Err(Error::BadChanges(format!("a key of {} bytes", key.len())));
        }
        if previous.is_some_and(|p| p >= key.as_slice()) {
            return Err(Error::BadChanges("keys are not strictly ascending".into()));
        }
        previous = Some(key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rand_chacha::{rand_core::RngCore, rand_core::SeedableRng, ChaCha8Rng};

    use super::*;

    fn reference_root(values: &BTreeMap<Vec<u8>, Vec<u8>>) -> H256 {
        umbra_trie::state_root(umbra_trie::StateVersion::V1, values.iter())
    }

    #[test]
    fn roots_match_a_fresh_build_after_random_blocks_and_undo() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut replica = Replica::empty();
        assert_eq!(replica.root(), reference_root(&model));
        for block in 0..200 {
            let mut changes = BTreeMap::new();
            for _ in 0..(rng.next_u32() % 20) {
                let key = vec![(rng.next_u32() % 4) as u8, (rng.next_u32() % 64) as u8];
                let value = if rng.next_u32() % 4 == 0 {
                    None
                } else {
                    Some(vec![block as u8; (rng.next_u32() % 70) as usize])
                };
                changes.insert(key, value);
            }
            let changes: StorageChanges = changes.into_iter().collect();
            let mut next = model.clone();
            for (k, v) in &changes {
                match v {
                    Some(v) => next.insert(k.clone(), v.clone()),
                    None => next.remove(k),
                };
            }
            let expected = reference_root(&next);
            // A wrong root first: refused, nothing changes.
            let before = replica.root();
            assert!(matches!(
                replica.apply_checked(&changes, H256::repeat_byte(9)),
                Err(Error::StateRootMismatch { .. })
            ));
            assert_eq!(replica.root(), before);
            replica.apply_checked(&changes, expected).expect("right root");
            model = next;
            if block % 16 == 0 {
                replica.compact();
            }
        }
        assert_eq!(replica.pairs().map(|(k, v)| (k.clone(), v.clone())).collect::<BTreeMap<_, _>>(), model);
        let rebuilt = Replica::from_pairs(model.clone()).expect("rebuild");
        assert_eq!(rebuilt.root(), replica.root());
    }

    #[test]
    fn malformed_changes_refused() {
        let mut replica = Replica::empty();
        let unsorted: StorageChanges = vec![(vec![2], None), (vec![1], None)];
        assert!(matches!(replica.apply_checked(&unsorted, H256::zero()), Err(Error::BadChanges(_))));
        let long: StorageChanges = vec![(vec![0; MAX_KEY_LEN + 1], None)];
        assert!(matches!(replica.apply_checked(&long, H256::zero()), Err(Error::BadChanges(_))));
    }
}

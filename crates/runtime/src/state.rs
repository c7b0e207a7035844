//! State access for the runtime: a read-only backend plus a transactional
//! overlay of changes, and the per-block environment.
//!
//! The runtime never writes to a database. It reads through [`StateRead`]
//! (implemented by the node's trie backend, or a map in tests) and records
//! every write in an [`Overlay`]. Nested transactions let a failed dispatch
//! revert its own writes and events while the fee and nonce stay charged.
//! The block's result is the ordered map of changes ([`Changes`]), which the
//! node applies to the trie to get the state root.

use alloc::{collections::BTreeMap, vec::Vec};

use parity_scale_codec::{Decode, Encode};

use crate::{
    event::{EventRecord, Phase, RuntimeEvent},
    weights::Weight,
};

/// Read access to the state the block builds on.
pub trait StateRead {
    /// The value at `key`, if any.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
}

impl StateRead for BTreeMap<Vec<u8>, Vec<u8>> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        BTreeMap::get(self, key).cloned()
    }
}

impl<T: StateRead + ?Sized> StateRead for &T {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        (**self).get(key)
    }
}

/// An ordered set of storage changes: `None` deletes the key.
pub type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Writes layered by transaction depth. Layer 0 holds the committed changes.
#[derive(Default)]
pub(crate) struct Overlay {
    layers: Vec<Changes>,
}

impl Overlay {
    fn new() -> Self {
        Overlay { layers: alloc::vec![Changes::new()] }
    }

    fn get(&self, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        self.layers.iter().rev().find_map(|layer| layer.get(key))
    }

    fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        if let Some(top) = self.layers.last_mut() {
            top.insert(key, value);
        }
    }

    fn start(&mut self) {
        self.layers.push(Changes::new());
    }

    fn commit(&mut self) {
        if self.layers.len() > 1 {
            if let Some(top) = self.layers.pop() {
                if let Some(below) = self.layers.last_mut() {
                    below.extend(top);
                }
            }
        }
    }

    fn rollback(&mut self) {
        if self.layers.len() > 1 {
            self.layers.pop();
        }
    }

    fn into_changes(mut self) -> Changes {
        while self.layers.len() > 1 {
            self.commit();
        }
        self.layers.pop().unwrap_or_default()
    }
}

/// What the block being built or executed is.
#[derive(Clone, Debug, Default)]
pub struct BlockEnv {
    /// Number of the block being built.
    pub number: u32,
    /// Hash of its parent.
    pub parent_hash: umbra_primitives::H256,
    /// Index of the extrinsic being applied, if any.
    pub extrinsic_index: Option<u32>,
    /// Weight consumed so far, per class: normal, operational, mandatory.
    pub weight: [Weight; 3],
    /// Bytes of extrinsics so far.
    pub length: u32,
    /// Account of the block's author (receives its share of fees).
    pub author: Option<umbra_primitives::AccountId32>,
}

/// The runtime's externalities: backend, overlay, events and block
/// environment. All module code runs against an `Ext`.
pub struct Ext<'a> {
    backend: &'a dyn StateRead,
    overlay: Overlay,
    events: Vec<EventRecord>,
    event_marks: Vec<usize>,
    /// The current block.
    pub env: BlockEnv,
}

impl<'a> Ext<'a> {
    /// Externalities over `backend` with no changes yet.
    pub fn new(backend: &'a dyn StateRead) -> Self {
        Ext { backend, overlay: Overlay::new(), events: Vec::new(), event_marks: Vec::new(), env: BlockEnv::default() }
    }

    /// Raw read through the overlay.
    pub fn get_raw(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.overlay.get(key) {
            Some(value) => value.clone(),
            None => self.backend.get(key),
        }
    }

    /// Raw write.
    pub fn set_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.overlay.set(key, Some(value));
    }

    /// Raw delete.
    pub fn kill(&mut self, key: Vec<u8>) {
        self.overlay.set(key, None);
    }

    /// Typed read; a value that fails to decode reads as absent.
    pub fn get<T: Decode>(&self, key: &[u8]) -> Option<T> {
        self.get_raw(key).and_then(|bytes| T::decode(&mut &bytes[..]).ok())
    }

    /// Typed read with the type's default for absent values.
    pub fn get_or_default<T: Decode + Default>(&self, key: &[u8]) -> T {
        self.get(key).unwrap_or_default()
    }

    /// Typed write.
    pub fn put<T: Encode>(&mut self, key: Vec<u8>, value: &T) {
        self.overlay.set(key, Some(value.encode()));
    }

    /// Whether `key` has a value.
    pub fn exists(&self, key: &[u8]) -> bool {
        match self.overlay.get(key) {
            Some(value) => value.is_some(),
            None => self.backend.get(key).is_some(),
        }
    }

    /// Starts a nested transaction (writes and events).
    pub fn start_transaction(&mut self) {
        self.overlay.start();
        self.event_marks.push(self.events.len());
    }

    /// Keeps the innermost transaction's writes and events.
    pub fn commit_transaction(&mut self) {
        self.overlay.commit();
        self.event_marks.pop();
    }

    /// Drops the innermost transaction's writes and events.
    pub fn rollback_transaction(&mut self) {
        self.overlay.rollback();
        if let Some(mark) = self.event_marks.pop() {
            self.events.truncate(mark);
        }
    }

    /// Records an event in the current phase.
    pub fn deposit_event(&mut self, event: impl Into<RuntimeEvent>) {
        let phase = match self.env.extrinsic_index {
            Some(i) => Phase::ApplyExtrinsic(i),
            None => Phase::Finalization,
        };
        self.deposit_event_in(phase, event.into());
    }

    /// Records an event in an explicit phase.
    pub fn deposit_event_in(&mut self, phase: Phase, event: RuntimeEvent) {
        self.events.push(EventRecord { phase, event, topics: Vec::new() });
    }

    /// Events recorded so far in this block.
    pub fn events(&self) -> &[EventRecord] {
        &self.events
    }

    /// Takes the recorded events (used when writing `System.Events`).
    pub(crate) fn take_events(&mut self) -> Vec<EventRecord> {
        core::mem::take(&mut self.events)
    }

    /// The accumulated changes.
    pub fn into_changes(self) -> Changes {
        self.overlay.into_changes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_transactions() {
        let backend: BTreeMap<Vec<u8>, Vec<u8>> = [(b"a".to_vec(), b"1".to_vec())].into_iter().collect();
        let mut ext = Ext::new(&backend);
        ext.set_raw(b"b".to_vec(), b"2".to_vec());
        ext.start_transaction();
        ext.kill(b"a".to_vec());
        ext.set_raw(b"c".to_vec(), b"3".to_vec());
        assert!(!ext.exists(b"a"));
        ext.start_transaction();
        ext.set_raw(b"d".to_vec(), b"4".to_vec());
        ext.rollback_transaction();
        assert!(!ext.exists(b"d"));
        ext.commit_transaction();
        ext.start_transaction();
        ext.set_raw(b"e".to_vec(), b"5".to_vec());
        ext.rollback_transaction();
        let changes = ext.into_changes();
        let expected: Changes =
            [(b"a".to_vec(), None), (b"b".to_vec(), Some(b"2".to_vec())), (b"c".to_vec(), Some(b"3".to_vec()))]
                .into_iter()
                .collect();
        assert_eq!(changes, expected);
    }
}

//! The native test environment: a thread-local in-memory host, so contract
//! code runs in ordinary `#[test]`s. Not built for wasm32.

use std::{cell::RefCell, collections::BTreeMap};

/// The state a native test sees and sets.
#[derive(Clone, Debug, Default)]
pub struct TestEnv {
    /// Committed storage.
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The current call's input.
    pub input: Vec<u8>,
    /// The current call's output.
    pub output: Vec<u8>,
    /// Events emitted.
    pub events: Vec<Vec<u8>>,
    /// The caller.
    pub caller: Option<[u8; 32]>,
    /// The contract id.
    pub contract_id: [u8; 32],
    /// Block number.
    pub block_number: u32,
    /// Block timestamp (ms).
    pub block_timestamp: u64,
    counter: u64,
}

/// Payload of the panic `revert` raises natively.
#[derive(Debug)]
pub struct Reverted(pub Vec<u8>);

thread_local! {
    static ENV: RefCell<TestEnv> = RefCell::new(TestEnv::default());
}

/// Runs `f` on this thread's environment.
pub fn with<R>(f: impl FnOnce(&mut TestEnv) -> R) -> R {
    ENV.with(|e| f(&mut e.borrow_mut()))
}

/// Resets the environment.
pub fn reset() {
    with(|e| *e = TestEnv::default());
}

/// Runs `f` as a call by `caller` with `input`; returns the output, or the
/// revert reason (storage rolled back).
pub fn call(
    caller: Option<[u8; 32]>,
    input: Vec<u8>,
    f: impl FnOnce() + std::panic::UnwindSafe,
) -> Result<Vec<u8>, Vec<u8>> {
    let before = with(|e| {
        e.caller = caller;
        e.input = input;
        e.output.clear();
        e.storage.clone()
    });
    match std::panic::catch_unwind(f) {
        Ok(()) => Ok(with(|e| e.output.clone())),
        Err(panic) => {
            with(|e| e.storage = before);
            match panic.downcast::<Reverted>() {
                Ok(reverted) => Err(reverted.0),
                Err(other) => std::panic::resume_unwind(other),
            }
        }
    }
}

impl TestEnv {
    pub(crate) fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.storage.get(key).cloned()
    }

    pub(crate) fn set(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        match value {
            Some(v) => self.storage.insert(key.to_vec(), v),
            None => self.storage.remove(key),
        };
    }

    pub(crate) fn next_key(&self, prefix: &[u8], after: Option<&[u8]>) -> Option<Vec<u8>> {
        let start = after.map_or_else(|| prefix.to_vec(), <[u8]>::to_vec);
        self.storage
            .range(start..)
            .map(|(k, _)| k)
            .find(|k| after.is_none_or(|a| k.as_slice() > a))
            .filter(|k| k.starts_with(prefix))
            .cloned()
    }

    pub(crate) fn random(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            self.counter += 1;
            out.extend_from_slice(&sp_crypto_hashing::blake2_256(&self.counter.to_le_bytes()));
        }
        out.truncate(len);
        out
    }
}

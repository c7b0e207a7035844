//! Execution: a deterministic wasmtime engine, compiled modules cached by
//! code hash, one store per call with fuel, memory/table limits and a fixed
//! wasm stack, and the host ABI over an overlay of the contract's storage.
//!
//! Sans-IO: committed storage is read through [`StateReader`]; writes go to
//! an overlay returned as [`Effects`] only when the call succeeds.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use wasmtime::{
    Caller, Config, Engine, InstancePre, Linker, Memory, Module, Store, StoreLimits, StoreLimitsBuilder, Trap,
};

use crate::{abi, abi::cost, limits, validate, Error};

/// What the VM needs from its environment: the contract's committed
/// storage (read only; writes come back as [`Effects`]) and randomness.
pub trait Host: Send {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// The first key with `prefix` strictly after `after` (or the first key
    /// with `prefix` when `after` is `None`).
    fn next_key(&self, prefix: &[u8], after: Option<&[u8]>) -> Option<Vec<u8>>;
    /// Random bytes: deterministic per command (same on every replica),
    /// fresh in queries.
    fn random(&mut self, out: &mut [u8]);
    /// 32 contract-private bytes for `salt`.
    fn derive_secret(&mut self, salt: &[u8]) -> [u8; 32];
    /// Runs another contract of the cluster (`call_contract`); `None`
    /// refuses (unknown contract, re-entry, depth, or a host without
    /// other contracts). The callee's writes are the host's to keep: they
    /// apply only if the whole outer call succeeds.
    fn call_contract(&mut self, call: NestedCall) -> Option<NestedResult> {
        let _ = call;
        None
    }
}

/// A contract-to-contract call, as the host receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NestedCall {
    /// The calling contract (the callee's `caller`).
    pub caller: [u8; 32],
    /// The contract called.
    pub callee: [u8; 32],
    /// Its input (selector ‖ arguments).
    pub input: Vec<u8>,
    /// Gas it may use (at most what the caller has left).
    pub gas_limit: u64,
    /// Whether it may write (false inside queries).
    pub writable: bool,
    /// Block context, inherited.
    pub block_number: u32,
    /// Block timestamp, inherited.
    pub block_timestamp: u64,
}

/// How a contract-to-contract call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NestedResult {
    /// Its status.
    pub status: Status,
    /// Its output (or revert reason).
    pub output: Vec<u8>,
    /// Gas it used.
    pub gas_used: u64,
}

/// [`Host::next_key`] over an ordered map: the first key with `prefix`
/// strictly after `after` (or the first with `prefix`).
pub fn next_key_in(storage: &BTreeMap<Vec<u8>, Vec<u8>>, prefix: &[u8], after: Option<&[u8]>) -> Option<Vec<u8>> {
    let start = after.map_or_else(|| prefix.to_vec(), <[u8]>::to_vec);
    storage
        .range(start..)
        .map(|(k, _)| k)
        .find(|k| after.is_none_or(|a| k.as_slice() > a))
        .filter(|k| k.starts_with(prefix))
        .cloned()
}

/// A host over an in-memory map with a seeded random stream (tests, the
/// native harness, benchmarks).
pub struct MemoryHost {
    /// Committed storage.
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Seed of `random` and `derive_secret`.
    pub seed: [u8; 32],
    counter: u64,
}

impl MemoryHost {
    /// Empty storage, `seed` for randomness.
    pub fn new(seed: [u8; 32]) -> Self {
        Self { storage: BTreeMap::new(), seed, counter: 0 }
    }

    /// Applies a successful call's writes.
    pub fn apply(&mut self, effects: &Effects) {
        for (k, v) in &effects.writes {
            match v {
                Some(v) => self.storage.insert(k.clone(), v.clone()),
                None => self.storage.remove(k),
            };
        }
    }
}

impl Host for MemoryHost {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.storage.get(key).cloned()
    }

    fn next_key(&self, prefix: &[u8], after: Option<&[u8]>) -> Option<Vec<u8>> {
        next_key_in(&self.storage, prefix, after)
    }

    fn random(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            self.counter += 1;
            let mut input = self.seed.to_vec();
            input.extend_from_slice(&self.counter.to_le_bytes());
            let block = umbra_crypto::hashing::blake2_256(&input);
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }

    fn derive_secret(&mut self, salt: &[u8]) -> [u8; 32] {
        let mut input = b"derive".to_vec();
        input.extend_from_slice(&self.seed);
        input.extend_from_slice(salt);
        umbra_crypto::hashing::blake2_256(&input)
    }
}

/// Which entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// The constructor (`deploy`).
    Deploy,
    /// A command or query (`call`).
    Call,
}

/// Who and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallContext {
    /// The caller (account), `None` for anonymous queries.
    pub caller: Option<[u8; 32]>,
    /// The contract.
    pub contract_id: [u8; 32],
    /// Block of the command (or the synced block, for queries).
    pub block_number: u32,
    /// Its timestamp (ms).
    pub block_timestamp: u64,
    /// Whether `debug_log` output is kept.
    pub debug: bool,
    /// Whether storage writes are allowed (false for queries).
    pub writable: bool,
    /// Queries only: trap after this many epoch ticks of wall time
    /// ([`Vm::tick`]); `None` for commands, which must stay deterministic.
    pub deadline_ticks: Option<u64>,
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Returned normally; effects apply.
    Success,
    /// The contract reverted; output is its reason; no effects.
    Reverted,
    /// Out of gas; no effects.
    OutOfGas,
    /// A trap or limit (stack, memory, bounds, unreachable…); no effects.
    Trapped(String),
}

/// State changes and events of a successful call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Writes (`None` removes), in key order.
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Events, in order.
    pub events: Vec<Vec<u8>>,
}

/// The result of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// Output (`return_value` or `revert` data).
    pub output: Vec<u8>,
    /// Gas used.
    pub gas_used: u64,
    /// Effects (empty unless `Success`).
    pub effects: Effects,
    /// Debug log lines (dev/query only).
    pub logs: Vec<String>,
}

struct CallState {
    input: Vec<u8>,
    output: Vec<u8>,
    reverted: bool,
    context: CallContext,
    host: Box<dyn Host>,
    /// Pending writes (`None` removes), bounded by [`limits::MAX_WRITES`].
    overlay: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The overlay's keys with a value: `storage_next_key` finds the next
    /// one in O(log n), never scanning removals.
    live: std::collections::BTreeSet<Vec<u8>>,
    events: Vec<Vec<u8>>,
    logs: Vec<String>,
    limits: StoreLimits,
}

/// The VM: a deterministic engine and a cache of compiled modules.
pub struct Vm {
    engine: Engine,
    /// Epoch ticks so far (mirrors the engine's epoch, which wasmtime does
    /// not expose): absolute deadlines for nested calls of a query.
    epoch: std::sync::atomic::AtomicU64,
    cache: Mutex<HashMap<[u8; 32], InstancePre<CallState>>>,
    linker: Arc<Linker<CallState>>,
}

/// The deterministic engine configuration.
pub fn engine_config() -> Config {
    let mut config = Config::new();
    config.consume_fuel(true);
    config.wasm_backtrace_max_frames(None);
    config.wasm_simd(false);
    config.wasm_relaxed_simd(false);
    config.wasm_multi_memory(false);
    config.wasm_memory64(false);
    config.wasm_bulk_memory(true);
    config.cranelift_nan_canonicalization(true);
    // Threads, GC and reference types are not compiled in (crate features).
    config.max_wasm_stack(limits::MAX_WASM_STACK);
    // Wall-clock deadlines for queries only (commands never get one, so
    // their execution stays a function of gas alone): the shell ticks the
    // epoch ([`Vm::tick`]).
    config.epoch_interruption(true);
    config
}

/// Marker error stopping execution after `revert`.
#[derive(Debug)]
struct RevertExit;

impl std::fmt::Display for RevertExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("revert")
    }
}

impl std::error::Error for RevertExit {}

fn fail(error: Error) -> wasmtime::Error {
    wasmtime::Error::msg(error.to_string())
}

fn memory(caller: &mut Caller<'_, CallState>) -> wasmtime::Result<Memory> {
    caller
        .get_export(abi::EXPORT_MEMORY)
        .and_then(|e| e.into_memory())
        .ok_or_else(|| fail(Error::MissingExport(abi::EXPORT_MEMORY)))
}

fn charge(caller: &mut Caller<'_, CallState>, amount: u64) -> wasmtime::Result<()> {
    let left = caller.get_fuel()?;
    if left < amount {
        caller.set_fuel(0)?;
        return Err(wasmtime::Error::new(Trap::OutOfFuel));
    }
    caller.set_fuel(left - amount)?;
    Ok(())
}

fn read(caller: &mut Caller<'_, CallState>, ptr: u32, len: u32, max: usize) -> wasmtime::Result<Vec<u8>> {
    if len as usize > max {
        return Err(fail(Error::HostLimit(format!("{len} bytes, at most {max}"))));
    }
    charge(caller, cost::PER_BYTE * u64::from(len))?;
    let memory = memory(caller)?;
    let mut buf = vec![0u8; len as usize];
    memory.read(&*caller, ptr as usize, &mut buf).map_err(|_| fail(Error::OutOfBounds))?;
    Ok(buf)
}

fn write(caller: &mut Caller<'_, CallState>, ptr: u32, data: &[u8]) -> wasmtime::Result<()> {
    charge(caller, cost::PER_BYTE * data.len() as u64)?;
    let memory = memory(caller)?;
    memory.write(&mut *caller, ptr as usize, data).map_err(|_| fail(Error::OutOfBounds))
}

/// Writes `data` into (`out_ptr`, `out_cap`) as far as it fits; returns the full length.
fn write_capped(caller: &mut Caller<'_, CallState>, out_ptr: u32, out_cap: u32, data: &[u8]) -> wasmtime::Result<i64> {
    let n = data.len().min(out_cap as usize);
    write(caller, out_ptr, &data[..n])?;
    Ok(data.len() as i64)
}

fn storage_get(state: &CallState, key: &[u8]) -> Option<Vec<u8>> {
    match state.overlay.get(key) {
        Some(v) => v.clone(),
        None => state.host.get(key),
    }
}

/// The next key with `prefix` after `after`, over the host's committed
/// storage and the overlay. Each committed key the overlay removed costs a
/// storage read to skip (at most [`limits::MAX_WRITES`] of them), so the
/// work is paid for: O((1 + skipped) · log n), never a scan.
fn storage_next(
    caller: &mut Caller<'_, CallState>,
    prefix: &[u8],
    after: Option<&[u8]>,
) -> wasmtime::Result<Option<Vec<u8>>> {
    use std::ops::Bound;
    let mut cursor = after.map(<[u8]>::to_vec);
    loop {
        let state = caller.data();
        let committed = state.host.next_key(prefix, cursor.as_deref());
        let lower = match &cursor {
            Some(c) => Bound::Excluded(c.clone()),
            None => Bound::Included(prefix.to_vec()),
        };
        let overlaid = state.live.range((lower, Bound::Unbounded)).next().filter(|k| k.starts_with(prefix)).cloned();
        let candidate = match (committed, overlaid) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(k) => k,
                None => return Ok(None),
            },
        };
        // A committed key removed in the overlay is skipped, at a price.
        if matches!(state.overlay.get(&candidate), Some(None)) {
            charge(caller, cost::STORAGE_READ)?;
            cursor = Some(candidate);
            continue;
        }
        return Ok(Some(candidate));
    }
}

/// Records a pending write, within the bound on writes and removals.
fn stage(caller: &mut Caller<'_, CallState>, key: Vec<u8>, value: Option<Vec<u8>>) -> wasmtime::Result<()> {
    let state = caller.data_mut();
    if !state.overlay.contains_key(&key) && state.overlay.len() >= limits::MAX_WRITES {
        return Err(fail(Error::HostLimit("too many storage writes and removals".into())));
    }
    if value.is_some() {
        state.live.insert(key.clone());
    } else {
        state.live.remove(&key);
    }
    state.overlay.insert(key, value);
    Ok(())
}

fn link(linker: &mut Linker<CallState>) -> Result<(), Error> {
    let e = |r: wasmtime::Result<&mut Linker<CallState>>| r.map(|_| ()).map_err(|e| Error::Engine(e.to_string()));
    e(linker.func_wrap(
        abi::MODULE,
        "input",
        |mut c: Caller<'_, CallState>, ptr: u32, cap: u32| -> wasmtime::Result<u32> {
            charge(&mut c, cost::HOST_CALL)?;
            let input = c.data().input.clone();
            write_capped(&mut c, ptr, cap, &input).map(|n| n as u32)
        },
    ))?;
    e(linker.func_wrap(
        abi::MODULE,
        "return_value",
        |mut c: Caller<'_, CallState>, ptr: u32, len: u32| -> wasmtime::Result<()> {
            charge(&mut c, cost::HOST_CALL)?;
            let data = read(&mut c, ptr, len, limits::MAX_OUTPUT)?;
            c.data_mut().output = data;
            Ok(())
        },
    ))?;
    e(linker.func_wrap(
        abi::MODULE,
        "revert",
        |mut c: Caller<'_, CallState>, ptr: u32, len: u32| -> wasmtime::Result<()> {
            charge(&mut c, cost::HOST_CALL)?;
            let data = read(&mut c, ptr, len, limits::MAX_OUTPUT)?;
            c.data_mut().output = data;
            c.data_mut().reverted = true;
            Err(wasmtime::Error::new(RevertExit))
        },
    ))?;
    e(linker.func_wrap(
        abi::MODULE,
        "storage_get",
        |mut c: Caller<'_, CallState>, kp: u32, kl: u32, op: u32, cap: u32| -> wasmtime::Result<i64> {
            charge(&mut c, cost::HOST_CALL + cost::STORAGE_READ)?;
            let key = read(&mut c, kp, kl, limits::MAX_KEY_LEN)?;
            match storage_get(c.data(), &key) {
                Some(v) => write_capped(&mut c, op, cap, &v),
                None => Ok(-1),
            }
        },
    ))?;
    e(linker.func_wrap(
        abi::MODULE,
        "storage_set",
        |mut c: Caller<'_, CallState>, kp: u32, kl: u32, vp: u32, vl: u32| -> wasmtime::Result<()> {
            charge(&mut c, cost::HOST_CALL + cost::STORAGE_WRITE)?;
            if !c.data().context.writable {
                return Err(fail(Error::ReadOnly));
            }
            let key = read(&mut c, kp, kl, limits::MAX_KEY_LEN)?;
            let value = read(&mut c, vp, vl, limits::MAX_VALUE_LEN)?;
            stage(&mut c, key, Some(value))
        },
    ))?;
    e(linker.func_wrap(
        abi::MODULE,
        "storage_remove",
        |mut c: Caller<'_, CallState>, kp: u32, kl: u32| -> wasmtime::Result<()> {
            charge(&mut c, cost::HOST_CALL + cost::STORAGE_WRITE)?;
            if !c.data().context.writable {
                return Err(fail(Error::ReadOnly));
            }
            let key = read(&mut c, kp, kl, limits::MAX_KEY_LEN)?;
            stage(&mut c, key, None)
        },
    ))?;
    e(linker.func_wrap(
        abi::MODULE,
        "storage_next_key",
        |mut c: Caller<'_, CallState>,
         pp: u32,
         pl: u32,
         ap: u32,
         al: i32,
         op: u32,
         cap: u32|
         -> wasmtime::Result<i64> {
            charge(&mut c, cost::HOST_CALL + cost::STORAGE_READ)?;
            let prefix = read(&mut c, pp, pl, limits::MAX_KEY_LEN)?;
            let after = if al < 0 { None } else { Some(read(&mut c, ap, al as u32, limits::MAX_KEY_LEN)?) };
            match storage_next(&mut c, &prefix, after.as_deref())? {
                Some(k) => write_capped(&mut c, op, cap, &k),
                None => Ok(-1),
            }
        },
    ))?;
    e(linker.func_wrap(abi::MODULE, "caller", |mut c: Caller<'_, CallState>, op: u32| -> wasmtime::Result<u32> {
        charge(&mut c, cost::HOST_CALL)?;
        match c.data().context.caller {
            Some(who) => write(&mut c, op, &who).map(|_| 1),
            None => Ok(0),
        }
    }))?;
    e(linker.func_wrap(abi::MODULE, "contract_id", |mut c: Caller<'_, CallState>, op: u32| -> wasmtime::Result<()> {
        charge(&mut c, cost::HOST_CALL)?;
        let id = c.data().context.contract_id;
        write(&mut c, op, &id)
    }))?;
    e(linker.func_wrap(abi::MODULE, "block_number", |mut c: Caller<'_, CallState>| -> wasmtime::Result<u32> {
        charge(&mut c, cost::HOST_CALL)?;
        Ok(c.data().context.block_number)
    }))?;
    e(linker.func_wrap(abi::MODULE, "block_timestamp", |mut c: Caller<'_, CallState>| -> wasmtime::Result<u64> {
        charge(&mut c, cost::HOST_CALL)?;
        Ok(c.data().context.block_timestamp)
    }))?;
    e(linker.func_wrap(
        abi::MODULE,
        "emit_event",
        |mut c: Caller<'_, CallState>, ptr: u32, len: u32| -> wasmtime::Result<()> {
            charge(&mut c, cost::HOST_CALL + cost::EVENT)?;
            let data = read(&mut c, ptr, len, limits::MAX_EVENT_LEN)?;
            if c.data().events.len() >= limits::MAX_EVENTS {
                return Err(fail(Error::HostLimit("too many events".into())));
            }
            c.data_mut().events.push(data);
            Ok(())
        },
    ))?;
    e(linker.func_wrap(
        abi::MODULE,
        "hash_blake2_256",
        |mut c: Caller<'_, CallState>, ptr: u32, len: u32, op: u32| -> wasmtime::Result<()> {
            charge(&mut c, cost::HOST_CALL + cost::HASH)?;
            let data = read(&mut c, ptr, len, limits::MAX_VALUE_LEN)?;
            write(&mut c, op, &umbra_crypto::hashing::blake2_256(&data))
        },
    ))?;
    e(linker.func_wrap(
        abi::MODULE,
        "hash_sha256",
        |mut c: Caller<'_, CallState>, ptr: u32, len: u32, op: u32| -> wasmtime::Result<()> {
            use sha2::Digest;
            charge(&mut c, cost::HOST_CALL + cost::HASH)?;
            let data = read(&mut c, ptr, len, limits::MAX_VALUE_LEN)?;
            let digest: [u8; 32] = sha2::Sha256::digest(&data).into();
            write(&mut c, op, &digest)
        },
    ))?;
    e(linker.func_wrap(
        abi::MODULE,
        "random",
        |mut c: Caller<'_, CallState>, op: u32, len: u32| -> wasmtime::Result<()> {
            charge(&mut c, cost::HOST_CALL)?;
            if len as usize > limits::MAX_VALUE_LEN {
                return Err(fail(Error::HostLimit("random: too many bytes".into())));
            }
            let mut buf = vec![0u8; len as usize];
            c.data_mut().host.random(&mut buf);
            write(&mut c, op, &buf)
        },
    ))?;
    e(linker.func_wrap(
        abi::MODULE,
        "derive_secret",
        |mut c: Caller<'_, CallState>, sp: u32, sl: u32, op: u32| -> wasmtime::Result<()> {
            charge(&mut c, cost::HOST_CALL + cost::HASH)?;
            let salt = read(&mut c, sp, sl, limits::MAX_KEY_LEN)?;
            let secret = c.data_mut().host.derive_secret(&salt);
            write(&mut c, op, &secret)
        },
    ))?;
    e(linker.func_wrap(
        abi::MODULE,
        "call_contract",
        |mut c: Caller<'_, CallState>,
         cp: u32,
         ip: u32,
         il: u32,
         gas: u64,
         op: u32,
         cap: u32|
         -> wasmtime::Result<i64> {
            charge(&mut c, cost::HOST_CALL + cost::CALL_CONTRACT)?;
            let callee: [u8; 32] = read(&mut c, cp, 32, 32)?.try_into().map_err(|_| fail(Error::OutOfBounds))?;
            let input = read(&mut c, ip, il, limits::MAX_INPUT)?;
            let left = c.get_fuel()?;
            let context = &c.data().context;
            let call = NestedCall {
                caller: context.contract_id,
                callee,
                input,
                gas_limit: gas.min(left),
                writable: context.writable,
                block_number: context.block_number,
                block_timestamp: context.block_timestamp,
            };
            let Some(result) = c.data_mut().host.call_contract(call) else { return Ok(-1) };
            c.set_fuel(left.saturating_sub(result.gas_used))?;
            let code: i64 = match result.status {
                Status::Success => 0,
                Status::Reverted => 1,
                Status::OutOfGas => 2,
                Status::Trapped(_) => 3,
            };
            let len = write_capped(&mut c, op, cap, &result.output)?;
            Ok((code << 32) | len)
        },
    ))?;
    e(linker.func_wrap(abi::MODULE, "gas_left", |mut c: Caller<'_, CallState>| -> wasmtime::Result<u64> {
        charge(&mut c, cost::HOST_CALL)?;
        c.get_fuel()
    }))?;
    e(linker.func_wrap(
        abi::MODULE,
        "debug_log",
        |mut c: Caller<'_, CallState>, ptr: u32, len: u32| -> wasmtime::Result<()> {
            charge(&mut c, cost::HOST_CALL)?;
            let data = read(&mut c, ptr, len, limits::MAX_EVENT_LEN)?;
            if c.data().context.debug && c.data().logs.len() < limits::MAX_EVENTS {
                c.data_mut().logs.push(String::from_utf8_lossy(&data).into_owned());
            }
            Ok(())
        },
    ))?;
    Ok(())
}

impl Vm {
    /// A VM with the deterministic engine.
    pub fn new() -> Result<Self, Error> {
        let engine = Engine::new(&engine_config()).map_err(|e| Error::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        link(&mut linker)?;
        Ok(Self { engine, epoch: Default::default(), cache: Mutex::new(HashMap::new()), linker: Arc::new(linker) })
    }

    /// Advances the engine's epoch: a query whose deadline is `n` ticks
    /// traps after `n` more calls (the shell calls this on a timer).
    pub fn tick(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.engine.increment_epoch();
    }

    /// Ticks so far.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether `code_hash` is compiled and cached.
    pub fn is_prepared(&self, code_hash: &[u8; 32]) -> bool {
        self.cache.lock().is_ok_and(|c| c.contains_key(code_hash))
    }

    /// Like [`Vm::prepare`] for code known to hash to `code_hash`: nothing
    /// is hashed or compiled when it is cached.
    pub fn prepare_known(&self, code_hash: &[u8; 32], code: &[u8]) -> Result<(), Error> {
        if self.is_prepared(code_hash) {
            return Ok(());
        }
        self.prepare(code).map(|_| ())
    }

    /// Validates and compiles `code` (cached by its BLAKE2-256 hash);
    /// returns the hash.
    pub fn prepare(&self, code: &[u8]) -> Result<[u8; 32], Error> {
        let hash = umbra_crypto::hashing::blake2_256(code);
        let mut cache = self.cache.lock().map_err(|_| Error::Engine("cache lock poisoned".into()))?;
        if !cache.contains_key(&hash) {
            validate::validate(code)?;
            let module = Module::new(&self.engine, code).map_err(|e| Error::InvalidWasm(e.to_string()))?;
            // Imports resolved once per code: instantiation is then cheap.
            let pre = self.linker.instantiate_pre(&module).map_err(|e| Error::InvalidWasm(e.to_string()))?;
            if cache.len() >= limits::MAX_CACHED_MODULES {
                cache.clear();
            }
            cache.insert(hash, pre);
        }
        Ok(hash)
    }

    /// Runs `entry` of prepared code `code_hash` with `input` and
    /// `gas_limit` over `host`; returns the outcome and the host.
    pub fn execute(
        &self,
        code_hash: &[u8; 32],
        entry: Entry,
        input: &[u8],
        gas_limit: u64,
        context: CallContext,
        host: Box<dyn Host>,
    ) -> Result<(Outcome, Box<dyn Host>), Error> {
        if input.len() > limits::MAX_INPUT {
            return Err(Error::HostLimit(format!("input of {} bytes", input.len())));
        }
        let pre = {
            let cache = self.cache.lock().map_err(|_| Error::Engine("cache lock poisoned".into()))?;
            cache.get(code_hash).cloned().ok_or(Error::UnknownCode)?
        };
        let limits = StoreLimitsBuilder::new()
            .memory_size(limits::MAX_MEMORY_PAGES as usize * 65_536)
            .table_elements(limits::MAX_TABLE_ELEMENTS as usize)
            .instances(1)
            .memories(1)
            .tables(1)
            .trap_on_grow_failure(true)
            .build();
        let deadline = context.deadline_ticks;
        let call_state = CallState {
            input: input.to_vec(),
            output: Vec::new(),
            reverted: false,
            context,
            host,
            overlay: BTreeMap::new(),
            live: Default::default(),
            events: Vec::new(),
            logs: Vec::new(),
            limits,
        };
        let mut store = Store::new(&self.engine, call_state);
        store.limiter(|s| &mut s.limits);
        store.set_fuel(gas_limit).map_err(|e| Error::Engine(e.to_string()))?;
        // Commands: no deadline (gas alone ends them); queries: ticks.
        store.set_epoch_deadline(deadline.unwrap_or(u64::MAX / 2));
        store.epoch_deadline_trap();
        let result = pre.instantiate(&mut store).and_then(|instance| {
            let name = match entry {
                Entry::Deploy => abi::EXPORT_DEPLOY,
                Entry::Call => abi::EXPORT_CALL,
            };
            instance.get_typed_func::<(), ()>(&mut store, name)?.call(&mut store, ())
        });
        let gas_used = gas_limit.saturating_sub(store.get_fuel().unwrap_or(0));
        let data = store.into_data();
        let status = match result {
            Ok(()) => Status::Success,
            Err(e) if e.downcast_ref::<RevertExit>().is_some() || data.reverted => Status::Reverted,
            Err(e) => match e.downcast_ref::<Trap>() {
                Some(Trap::OutOfFuel) => Status::OutOfGas,
                Some(Trap::Interrupt) => Status::Trapped("query deadline passed".into()),
                Some(trap) => Status::Trapped(trap.to_string()),
                None => Status::Trapped(e.root_cause().to_string()),
            },
        };
        let effects = if status == Status::Success {
            Effects { writes: data.overlay, events: data.events }
        } else {
            Effects::default()
        };
        let output = if matches!(status, Status::Success | Status::Reverted) { data.output } else { Vec::new() };
        Ok((Outcome { status, output, gas_used, effects, logs: data.logs }, data.host))
    }
}

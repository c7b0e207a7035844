//! Confidential contract execution inside pRuntime: a deterministic
//! function of finalized chain data and the cluster keys this worker holds.
//!
//! Per verified block, for every cluster whose key this worker holds and
//! whose replica set names it, [`Executor::observe`]:
//!
//! 1. **rebuilds from the chain**: applies the cluster's delta records
//!    (`Contracts.Deltas`) it has not executed itself, decrypting each
//!    contract's changes with the contract's state key, and checks the state
//!    root each record commits to (a replacement replica, or one restarted
//!    without contract state, gets its state from the chain alone);
//! 2. **acks** every commit that landed in this block with its own root;
//! 3. **executes** queued commands of blocks it has not executed, in block
//!    then queue order: opens each envelope (constructors sealed to the
//!    cluster's X25519 key, commands to the contract's), runs the VM with
//!    per-command randomness from the contract key, seals the output to the
//!    caller's ephemeral key (reply key of its envelope), encrypts the
//!    block's state changes per contract, and signs one [`ClusterCommit`]
//!    with the cluster key. Every replica produces byte-identical commits
//!    with identical sequences (derived from chain state), so whichever
//!    lands first is the one all agree on.
//!
//! Queries ([`Executor::snapshot`]) run read-only against an immutable
//! snapshot outside the core's lock.

use std::collections::BTreeMap;
use std::sync::Arc;

use parity_scale_codec::{Compact, CompactLen, Decode, Encode};
use umbra_crypto::{
    aead,
    envelope::{self, Envelope, Purpose, Recipient},
    hierarchy::{ClusterKey, ContractKey},
    labels::{Domain, Label},
    sr25519, x25519,
};
use umbra_primitives::{BlockNumber, H256};
use umbra_runtime::{
    modules::{
        contracts::{
            self, Ack, CallResult, ClusterCommit, Command, CommandKind, ContractPubkeys, DeltaRecord, ExecStatus,
        },
        message_queue::{self, Message, MessageOrigin, SignedMessage},
    },
    state::Ext,
};
use umbra_vm::{CallContext, Entry, Host, NestedCall, NestedResult, Status, Vm};

use umbra_protocol::{api::ExecStats, wire};

use crate::replica::Replica;

/// Gas of one query.
pub const QUERY_GAS: u64 = 1_000_000_000;
/// Encoded commit bytes kept free for the commit's own fields.
const COMMIT_HEADROOM: usize = 8 * 1024;
/// Test-only fault: the key a faulty replica writes (`--test-fault-diverge`).
const FAULT_KEY: &[u8] = b"__umbra_test_fault__";

type Storage = BTreeMap<Vec<u8>, Vec<u8>>;

/// One contract's plaintext state.
#[derive(Clone)]
pub struct ContractState {
    /// Its code.
    pub code_hash: H256,
    /// Its storage (shared with query snapshots; copied on write).
    pub storage: Arc<Storage>,
    /// BLAKE2-256 of its SCALE-encoded storage.
    pub hash: H256,
}

impl ContractState {
    fn new(code_hash: H256) -> Self {
        let storage = Arc::new(Storage::new());
        let hash = storage_hash(&storage);
        Self { code_hash, storage, hash }
    }

    fn apply(&mut self, writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        let storage = Arc::make_mut(&mut self.storage);
        for (k, v) in writes {
            match v {
                Some(v) => storage.insert(k.clone(), v.clone()),
                None => storage.remove(k),
            };
        }
        self.hash = storage_hash(&self.storage);
    }
}

fn storage_hash(storage: &Storage) -> H256 {
    H256(umbra_crypto::hashing::blake2_256(&storage.encode()))
}

/// A hosted cluster.
#[derive(Clone)]
pub struct HostedCluster {
    /// Commands of blocks up to this one are executed (or applied from
    /// deltas).
    pub executed_block: BlockNumber,
    /// Delta records processed.
    pub applied_deltas: u64,
    /// Contracts by id.
    pub contracts: BTreeMap<H256, ContractState>,
    /// Own roots of blocks not yet acked.
    pub roots: BTreeMap<BlockNumber, H256>,
    /// Current root.
    pub root: H256,
}

impl HostedCluster {
    fn new() -> Self {
        let mut this = Self {
            executed_block: 0,
            applied_deltas: 0,
            contracts: BTreeMap::new(),
            roots: BTreeMap::new(),
            root: H256::default(),
        };
        this.root = this.compute_root();
        this
    }

    /// `BLAKE2-256(SCALE(Vec<(contract, storage hash)>))` in id order.
    fn compute_root(&self) -> H256 {
        let entries: Vec<(&H256, &H256)> = self.contracts.iter().map(|(id, c)| (id, &c.hash)).collect();
        H256(umbra_crypto::hashing::blake2_256(&entries.encode()))
    }
}

/// What the core hands to [`Executor::observe`].
pub struct Context<'a> {
    /// The verified state at `number`.
    pub replica: &'a Replica,
    /// The block.
    pub number: BlockNumber,
    /// Its `Outbound` messages.
    pub outbound: &'a [Message],
    /// Genesis hash.
    pub genesis: H256,
    /// Key domain.
    pub domain: Domain,
    /// This worker.
    pub me: sr25519::Public,
    /// Cluster keys held: (cluster, epoch, key).
    pub cluster_keys: &'a [(H256, u32, [u8; 32])],
}

/// What [`Executor::observe`] wants emitted.
#[derive(Default)]
pub struct Output {
    /// Messages from the worker identity (acks).
    pub as_worker: Vec<(Vec<u8>, Vec<u8>)>,
    /// Signed cluster commits.
    pub as_cluster: Vec<SignedMessage>,
}

/// The executor's state as queries see it, published by the shell after
/// every dispatch so queries never wait for command execution.
#[derive(Clone)]
pub struct QueryView {
    clusters: BTreeMap<H256, Arc<HostedCluster>>,
    codes: BTreeMap<H256, Arc<Vec<u8>>>,
    vm: Option<Arc<Vm>>,
}

impl QueryView {
    /// A read-only view of `contract` for a query (`None`: not hosted).
    pub fn snapshot(
        &self,
        synced_block: BlockNumber,
        contract: &H256,
        cluster_keys: &[(H256, u32, [u8; 32])],
        domain: Domain,
    ) -> Option<Snapshot> {
        let (cluster_id, hosted) = self.clusters.iter().find(|(_, c)| c.contracts.contains_key(contract))?;
        let state = hosted.contracts.get(contract)?;
        let (_, _, key) = cluster_keys.iter().find(|(c, _, _)| c == cluster_id)?;
        Some(Snapshot {
            vm: self.vm.clone()?,
            contract: *contract,
            code_hash: state.code_hash,
            storage: state.storage.clone(),
            block_number: hosted.executed_block,
            synced_block,
            state_root: hosted.root,
            contract_key: ClusterKey::from_bytes(*key).contract_key(domain, &contract.0),
            domain,
            nest: self.vm.clone().map(|vm| Nest::new(vm, hosted, &self.codes, &ClusterKey::from_bytes(*key))),
        })
    }

    /// The VM (ticked by the shell for query deadlines).
    pub fn vm(&self) -> Option<&Arc<Vm>> {
        self.vm.as_ref()
    }
}

/// A read-only view of one contract for a query.
pub struct Snapshot {
    /// The VM.
    pub vm: Arc<Vm>,
    /// The contract.
    pub contract: H256,
    /// Its code.
    pub code_hash: H256,
    /// Its storage.
    pub storage: Arc<Storage>,
    /// The cluster state's block (commands up to it executed).
    pub block_number: BlockNumber,
    /// The finalized block the worker's replica is at.
    pub synced_block: BlockNumber,
    /// The cluster root.
    pub state_root: H256,
    /// Its key (for `derive_secret`).
    pub contract_key: ContractKey,
    /// Key domain.
    pub domain: Domain,
    /// The cluster's other contracts, for read-only nested calls (`None`:
    /// calls to other contracts are refused).
    pub nest: Option<Arc<Nest>>,
}

/// The executor.
pub struct Executor {
    /// `None` when the engine could not start (every command then fails
    /// with `Trapped` and the error is counted).
    vm: Option<Arc<Vm>>,
    /// Shared with published query views; copied on write only while a
    /// view still holds the previous state.
    clusters: BTreeMap<H256, Arc<HostedCluster>>,
    stats: ExecStats,
    fault_diverge: bool,
    /// Code read from the chain, by hash (for nested calls, which cannot
    /// read the chain: a module evicted from the VM's cache is prepared
    /// again from here, so every replica runs the same).
    codes: BTreeMap<H256, Arc<Vec<u8>>>,
}

struct ContractHost {
    /// The contract's storage as of before this command (shared, never
    /// copied).
    storage: Arc<Storage>,
    /// This contract, when nested calls of this command may have written
    /// to it (their writes are read through the nest's shared overlay).
    contract: Option<H256>,
    seed: [u8; 32],
    counter: u64,
    key: ContractKey,
    domain: Domain,
    /// Contract-to-contract calls (shared by every host of one command).
    nest: Option<Arc<Nest>>,
    /// Contracts on the call stack, this one last (re-entry is refused).
    stack: Vec<H256>,
    /// Queries: the VM epoch after which execution traps (wall clock).
    deadline_at: Option<u64>,
}

type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// (contract, key, the pending value before: `None` when there was none).
type JournalEntry = (H256, Vec<u8>, Option<Option<Vec<u8>>>);

/// Writes and events of the nested calls of one command, shared by all its
/// hosts, with a journal to undo a failed nested call: no copy of any
/// storage or pending write is ever made, so the work of a nested call is
/// the work its gas paid for.
#[derive(Default)]
struct NestState {
    /// Pending writes per contract.
    writes: BTreeMap<H256, Writes>,
    /// Live (non-removed) pending keys per contract, for `next_key`.
    live: BTreeMap<H256, std::collections::BTreeSet<Vec<u8>>>,
    /// Events of successful nested calls, in order.
    events: Vec<Vec<u8>>,
    /// Every write, to undo.
    journal: Vec<JournalEntry>,
}

impl NestState {
    fn write(&mut self, contract: H256, key: Vec<u8>, value: Option<Vec<u8>>) {
        let live = self.live.entry(contract).or_default();
        if value.is_some() {
            live.insert(key.clone());
        } else {
            live.remove(&key);
        }
        let before = self.writes.entry(contract).or_default().insert(key.clone(), value);
        self.journal.push((contract, key, before));
    }

    /// Undoes every write after journal position `mark`, newest first.
    fn undo_to(&mut self, mark: usize) {
        while self.journal.len() > mark {
            let Some((contract, key, before)) = self.journal.pop() else { break };
            let writes = self.writes.entry(contract).or_default();
            let live = self.live.entry(contract).or_default();
            match before {
                Some(value) => {
                    if value.is_some() {
                        live.insert(key.clone());
                    } else {
                        live.remove(&key);
                    }
                    writes.insert(key, value);
                }
                None => {
                    live.remove(&key);
                    writes.remove(&key);
                }
            }
        }
    }
}

/// What contract-to-contract calls of one command or query need: the
/// cluster's contracts as they were before it, the VM, the cluster key to
/// derive callees' keys, and the writes and events of nested calls so far
/// (kept only if the outer call succeeds).
pub struct Nest {
    vm: Arc<Vm>,
    contracts: BTreeMap<H256, (H256, Arc<Storage>)>,
    codes: BTreeMap<H256, Arc<Vec<u8>>>,
    cluster_key: ClusterKey,
    state: std::sync::Mutex<NestState>,
}

impl Nest {
    fn new(
        vm: Arc<Vm>,
        hosted: &HostedCluster,
        codes: &BTreeMap<H256, Arc<Vec<u8>>>,
        cluster_key: &ClusterKey,
    ) -> Arc<Self> {
        Arc::new(Self {
            vm,
            contracts: hosted.contracts.iter().map(|(id, c)| (*id, (c.code_hash, c.storage.clone()))).collect(),
            codes: hosted
                .contracts
                .values()
                .filter_map(|c| codes.get(&c.code_hash).map(|code| (c.code_hash, code.clone())))
                .collect(),
            cluster_key: ClusterKey::from_bytes(*cluster_key.expose()),
            state: Default::default(),
        })
    }

    /// The nested calls' writes per contract, and their events.
    fn take(&self) -> (BTreeMap<H256, Writes>, Vec<Vec<u8>>) {
        match self.state.lock() {
            Ok(mut state) => {
                let state = std::mem::take(&mut *state);
                (state.writes, state.events)
            }
            Err(_) => Default::default(),
        }
    }
}

impl ContractHost {
    /// A pending nested write to this contract, if any: `Some(None)` is a
    /// removal.
    fn nested(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        let (nest, contract) = (self.nest.as_ref()?, self.contract.as_ref()?);
        let state = nest.state.lock().ok()?;
        state.writes.get(contract)?.get(key).cloned()
    }
}

impl Host for ContractHost {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.nested(key) {
            Some(value) => value,
            None => self.storage.get(key).cloned(),
        }
    }

    fn next_key(&self, prefix: &[u8], after: Option<&[u8]>) -> Option<Vec<u8>> {
        use std::ops::Bound;
        let (Some(nest), Some(contract)) = (&self.nest, &self.contract) else {
            return umbra_vm::next_key_in(&self.storage, prefix, after);
        };
        let state = nest.state.lock().ok()?;
        let (Some(writes), Some(live)) = (state.writes.get(contract), state.live.get(contract)) else {
            return umbra_vm::next_key_in(&self.storage, prefix, after);
        };
        // Committed keys merged with live pending ones; removed ones are
        // skipped (at most MAX_WRITES per nested call, each paid for).
        let mut cursor = after.map(<[u8]>::to_vec);
        loop {
            let committed = umbra_vm::next_key_in(&self.storage, prefix, cursor.as_deref());
            let lower = match &cursor {
                Some(c) => Bound::Excluded(c.clone()),
                None => Bound::Included(prefix.to_vec()),
            };
            let pending = live.range((lower, Bound::Unbounded)).next().filter(|k| k.starts_with(prefix)).cloned();
            let candidate = match (committed, pending) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b)?,
            };
            if matches!(writes.get(&candidate), Some(None)) {
                cursor = Some(candidate);
                continue;
            }
            return Some(candidate);
        }
    }

    fn random(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            self.counter += 1;
            let block = umbra_crypto::hashing::blake2_256(&(self.seed, self.counter).encode());
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }

    fn derive_secret(&mut self, salt: &[u8]) -> [u8; 32] {
        *self.key.app_secret(self.domain, salt)
    }

    fn call_contract(&mut self, call: NestedCall) -> Option<NestedResult> {
        let nest = self.nest.clone()?;
        let callee = H256(call.callee);
        if self.stack.len() >= umbra_vm::abi::MAX_CALL_DEPTH || self.stack.contains(&callee) {
            return None;
        }
        let (code_hash, base) = nest.contracts.get(&callee)?.clone();
        // Where to roll back to if the callee fails.
        let (mark, events_mark) = {
            let state = nest.state.lock().ok()?;
            (state.journal.len(), state.events.len())
        };
        // Deterministic per (command seed, position of this nested call).
        self.counter += 1;
        let seed = umbra_crypto::hashing::blake2_256(&(b"nested", self.seed, self.counter, callee).encode());
        let mut stack = self.stack.clone();
        stack.push(callee);
        let child = ContractHost {
            storage: base,
            contract: Some(callee),
            seed,
            counter: 0,
            key: nest.cluster_key.contract_key(self.domain, &callee.0),
            domain: self.domain,
            nest: Some(nest.clone()),
            stack,
            deadline_at: self.deadline_at,
        };
        let context = CallContext {
            caller: Some(call.caller),
            contract_id: call.callee,
            block_number: call.block_number,
            block_timestamp: call.block_timestamp,
            debug: false,
            writable: call.writable,
            // A query's nested calls share its absolute deadline.
            deadline_ticks: self.deadline_at.map(|at| at.saturating_sub(nest.vm.epoch()).max(1)),
        };
        // Evicted from the VM's cache: prepared again from the code kept
        // (nothing is hashed or compiled while it is cached).
        if let Some(code) = nest.codes.get(&code_hash) {
            if nest.vm.prepare_known(&code_hash.0, code).is_err() {
                return None;
            }
        }
        let executed =
            nest.vm.execute(&code_hash.0, Entry::Call, &call.input, call.gas_limit, context, Box::new(child));
        let mut state = nest.state.lock().ok()?;
        let (outcome, _) = match executed {
            Ok(done) => done,
            Err(_) => {
                // Roll back what the callee's own nested calls wrote.
                state.undo_to(mark);
                state.events.truncate(events_mark);
                return Some(NestedResult { status: Status::Trapped("refused".into()), output: vec![], gas_used: 0 });
            }
        };
        if outcome.status == Status::Success {
            for (key, value) in outcome.effects.writes {
                state.write(callee, key, value);
            }
            state.events.extend(outcome.effects.events);
        } else {
            state.undo_to(mark);
            state.events.truncate(events_mark);
        }
        Some(NestedResult { status: outcome.status, output: outcome.output, gas_used: outcome.gas_used })
    }
}

fn exec_status(status: &Status) -> ExecStatus {
    match status {
        Status::Success => ExecStatus::Success,
        Status::Reverted => ExecStatus::Reverted,
        Status::OutOfGas => ExecStatus::OutOfGas,
        Status::Trapped(_) => ExecStatus::Trapped,
    }
}

/// The authenticated context of a queued command's envelope: the binding
/// the chain recorded (caller, contract, genesis, nonce) — an envelope
/// sealed for another caller or nonce does not open.
fn command_context(genesis: &H256, command: &Command) -> Vec<u8> {
    let binding = contracts::CommandBinding {
        genesis: *genesis,
        contract: command.contract,
        caller: command.caller,
        nonce: command.nonce,
    };
    envelope::context(&genesis.0, Purpose::Command, &binding.subject())
}

/// Encoded bytes of one `(contract, ContractPubkeys)` entry of a commit.
const CONTRACT_KEYS_ENTRY_LEN: usize = 32 + 32 + 32;
/// The largest delta plaintext whose sealed form fits `MAX_DELTA_LEN`.
const MAX_DELTA_PLAINTEXT: usize = contracts::MAX_DELTA_LEN - aead::TAG_LEN;

/// The length a delta plaintext of `len` bytes is padded to before sealing:
/// the next power of two (at least 64), so that the ciphertext shows its
/// size only within a factor of two, capped where the sealed delta would
/// pass the chain's bound. Never shorter than `len`.
fn padded_delta_len(len: usize) -> usize {
    len.max(64).next_power_of_two().min(MAX_DELTA_PLAINTEXT).max(len)
}

fn compact_len(n: usize) -> usize {
    Compact::<u64>::compact_len(&(n as u64))
}

/// One contract's delta in the commit being built.
#[derive(Clone, Copy, Default, Debug)]
struct DeltaSize {
    /// Distinct keys written.
    entries: usize,
    /// Σ encoded `(key, value)` of the merged writes.
    bytes: usize,
}

impl DeltaSize {
    fn plaintext(&self) -> usize {
        compact_len(self.entries) + self.bytes
    }

    fn sealed(&self) -> usize {
        padded_delta_len(self.plaintext()) + aead::TAG_LEN
    }

    /// Its `(contract, ciphertext)` entry in the encoded commit.
    fn in_commit(&self) -> usize {
        32 + compact_len(self.sealed()) + self.sealed()
    }
}

/// The encoded length of a refused command's result (call id, status,
/// gas, empty output): what every command after the current one needs at
/// least, so that refusing them can never push the commit past its bound.
const REFUSED_RESULT_LEN: usize = 8 + 1 + 8 + 1;

/// Why a command's result and writes were not admitted to its commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// The commit would pass its payload budget.
    Commit { size: usize, budget: usize },
    /// One contract's sealed delta would pass `MAX_DELTA_LEN`.
    Delta { contract: H256, sealed: usize },
}

/// The exact encoded size of the commit being built, tracked as commands
/// are admitted. Writes to a key already written in this commit cost only
/// the change in the value's length (the commit carries each key once), so
/// the same command repeated costs the same each time. Deterministic: every
/// replica admits and refuses the same commands, and an admitted set always
/// gives a commit within the chain's bounds (payload ≤ budget, each sealed
/// delta ≤ `MAX_DELTA_LEN`).
#[derive(Clone, Debug)]
struct CommitSize {
    budget: usize,
    /// Encoded cluster, block and state root.
    fixed: usize,
    results: usize,
    result_bytes: usize,
    contract_keys: usize,
    deltas: BTreeMap<H256, DeltaSize>,
}

impl CommitSize {
    fn new(budget: usize, fixed: usize) -> Self {
        Self { budget, fixed, results: 0, result_bytes: 0, contract_keys: 0, deltas: BTreeMap::new() }
    }

    /// The encoded commit's length so far.
    fn total(&self) -> usize {
        self.fixed
            + compact_len(self.results)
            + self.result_bytes
            + compact_len(self.deltas.len())
            + self.deltas.values().map(DeltaSize::in_commit).sum::<usize>()
            + compact_len(self.contract_keys)
            + self.contract_keys * CONTRACT_KEYS_ENTRY_LEN
    }

    fn add_result(&mut self, result: &CallResult) {
        self.results += 1;
        self.result_bytes += result.encoded_size();
    }

    /// Admits `result` with its `effects` (merged into `merged`, the writes
    /// admitted so far) and, for a constructor that succeeded, its contract
    /// keys, keeping room for `later` refused results after it; or changes
    /// nothing and says why not.
    fn admit(
        &mut self,
        result: &CallResult,
        effects: Option<&BTreeMap<H256, Writes>>,
        merged: &BTreeMap<H256, Writes>,
        deploys: bool,
        later: usize,
    ) -> Result<(), Refusal> {
        let mut next = self.clone();
        next.add_result(result);
        next.contract_keys += usize::from(deploys);
        for (contract, changes) in effects.into_iter().flatten() {
            let delta = next.deltas.entry(*contract).or_default();
            let before = merged.get(contract);
            for (key, value) in changes {
                match before.and_then(|writes| writes.get(key)) {
                    Some(old) => {
                        delta.bytes = delta.bytes - (key, old).encoded_size() + (key, value).encoded_size();
                    }
                    None => {
                        delta.entries += 1;
                        delta.bytes += (key, value).encoded_size();
                    }
                }
            }
            if delta.sealed() > contracts::MAX_DELTA_LEN {
                return Err(Refusal::Delta { contract: *contract, sealed: delta.sealed() });
            }
        }
        // The results count's own prefix may grow by the later ones too.
        let size =
            next.total() + later * REFUSED_RESULT_LEN + compact_len(next.results + later) - compact_len(next.results);
        if size > self.budget {
            return Err(Refusal::Commit { size, budget: self.budget });
        }
        *self = next;
        Ok(())
    }
}

/// Seals a delta: `SCALE(Vec<(key, Option<value>)>)` padded with zeros to
/// [`padded_delta_len`], AES-256-GCM under the contract's state key, nonce
/// from (cluster, block, contract).
fn seal_delta(
    key: &ContractKey,
    domain: Domain,
    cluster: &H256,
    block: BlockNumber,
    contract: &H256,
    writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
) -> Result<Vec<u8>, umbra_crypto::Error> {
    let mut plaintext = writes.iter().collect::<Vec<_>>().encode();
    plaintext.resize(padded_delta_len(plaintext.len()), 0);
    aead::Key::new(&key.state_key(domain)).seal(&wire::delta_nonce(cluster, block, contract), &contract.0, &plaintext)
}

fn open_delta(
    key: &ContractKey,
    domain: Domain,
    cluster: &H256,
    block: BlockNumber,
    contract: &H256,
    ciphertext: &[u8],
) -> Option<BTreeMap<Vec<u8>, Option<Vec<u8>>>> {
    let plaintext = aead::Key::new(&key.state_key(domain))
        .open(&wire::delta_nonce(cluster, block, contract), &contract.0, ciphertext)
        .ok()?;
    let writes = Vec::<(Vec<u8>, Option<Vec<u8>>)>::decode(&mut &plaintext[..]).ok()?;
    Some(writes.into_iter().collect())
}

impl Executor {
    /// An executor with a fresh VM. `fault_diverge` is a test-only fault
    /// hook: every executed block gets an extra write, so this replica's
    /// roots differ from honest replicas'.
    pub fn new(fault_diverge: bool) -> Self {
        if fault_diverge {
            tracing::warn!("TEST FAULT HOOK ENABLED: this replica's contract state diverges on purpose");
        }
        let vm = match Vm::new() {
            Ok(vm) => Some(Arc::new(vm)),
            Err(e) => {
                tracing::error!(error = %e, "the contract VM does not start");
                None
            }
        };
        Self { vm, clusters: BTreeMap::new(), stats: ExecStats::default(), fault_diverge, codes: BTreeMap::new() }
    }

    /// Counters.
    pub fn stats(&self) -> ExecStats {
        self.stats
    }

    /// Hosted clusters: (id, executed block, contracts, root).
    pub fn hosted(&self) -> Vec<(H256, BlockNumber, usize, H256)> {
        self.clusters.iter().map(|(id, c)| (*id, c.executed_block, c.contracts.len(), c.root)).collect()
    }

    /// Forgets every hosted cluster (after a restore: state is rebuilt
    /// from the chain).
    pub fn reset(&mut self) {
        self.clusters.clear();
    }

    /// What queries need, detached from the executor (shared states: cheap
    /// to take after every dispatch).
    pub fn query_view(&self) -> QueryView {
        QueryView { clusters: self.clusters.clone(), codes: self.codes.clone(), vm: self.vm.clone() }
    }

    fn prepare(&mut self, ext: &Ext<'_>, code_hash: &H256) -> bool {
        let Some(vm) = &self.vm else { return false };
        let code = match self.codes.get(code_hash) {
            Some(code) => code.clone(),
            None => {
                let Some(code) = ext.get::<Vec<u8>>(&contracts::keys::code(code_hash)) else { return false };
                let code = Arc::new(code);
                self.codes.insert(*code_hash, code.clone());
                code
            }
        };
        vm.prepare_known(&code_hash.0, &code).is_ok()
    }

    /// The VM (the shell ticks its epoch for query deadlines).
    pub fn vm(&self) -> Option<&Arc<Vm>> {
        self.vm.as_ref()
    }

    /// Processes one verified block.
    pub fn observe(&mut self, ctx: &Context<'_>) -> Output {
        let mut out = Output::default();
        let ext = Ext::new(ctx.replica);
        for (cluster_id, _, key) in ctx.cluster_keys {
            let Some(info) = contracts::cluster(&ext, cluster_id) else { continue };
            if !info.workers.contains(&ctx.me) {
                // Replaced: stop hosting.
                self.clusters.remove(cluster_id);
                continue;
            }
            let key = ClusterKey::from_bytes(*key);
            let mut hosted = self
                .clusters
                .remove(cluster_id)
                .map(|shared| Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone()))
                .unwrap_or_else(HostedCluster::new);
            self.sync_deltas(ctx, &ext, cluster_id, &key, &mut hosted);
            self.ack(ctx, cluster_id, &mut hosted, &mut out);
            if !contracts::frozen(&ext, cluster_id) {
                self.execute_queue(ctx, &ext, cluster_id, &key, &mut hosted, &mut out);
            }
            self.clusters.insert(*cluster_id, Arc::new(hosted));
        }
        out
    }

    fn sync_deltas(
        &mut self,
        ctx: &Context<'_>,
        ext: &Ext<'_>,
        cluster_id: &H256,
        key: &ClusterKey,
        hosted: &mut HostedCluster,
    ) {
        let state = contracts::commit_state(ext, cluster_id);
        while hosted.applied_deltas < state.deltas {
            let index = hosted.applied_deltas;
            let Some(record) = ext.get::<DeltaRecord>(&contracts::keys::delta(cluster_id, index)) else {
                self.stats.errors += 1;
                tracing::error!(cluster = ?cluster_id, index, "delta record missing");
                return;
            };
            hosted.applied_deltas += 1;
            if record.block <= hosted.executed_block {
                // Executed here: compare.
                if let Some(mine) = hosted.roots.get(&record.block) {
                    if *mine != record.state_root {
                        self.stats.divergences += 1;
                        tracing::error!(cluster = ?cluster_id, block = record.block, "committed root differs from ours");
                    }
                }
                continue;
            }
            // Not executed here: rebuild from the chain.
            for contract in &record.created {
                let Some(info) = contracts::contract(ext, contract) else {
                    self.stats.errors += 1;
                    continue;
                };
                if !self.prepare(ext, &info.code_hash) {
                    self.stats.errors += 1;
                }
                hosted.contracts.entry(*contract).or_insert_with(|| ContractState::new(info.code_hash));
            }
            for (contract, ciphertext) in &record.deltas {
                let ck = key.contract_key(ctx.domain, &contract.0);
                let writes = open_delta(&ck, ctx.domain, cluster_id, record.block, contract, ciphertext);
                match (writes, hosted.contracts.get_mut(contract)) {
                    (Some(writes), Some(state)) => state.apply(&writes),
                    _ => {
                        self.stats.errors += 1;
                        tracing::error!(cluster = ?cluster_id, block = record.block, "a delta does not open");
                    }
                }
            }
            hosted.executed_block = record.block;
            hosted.root = hosted.compute_root();
            hosted.roots.insert(record.block, hosted.root);
            self.stats.deltas_applied += 1;
            if hosted.root != record.state_root {
                self.stats.divergences += 1;
                tracing::error!(cluster = ?cluster_id, block = record.block, "state rebuilt from the chain does not match the committed root");
            }
        }
    }

    fn ack(&mut self, ctx: &Context<'_>, cluster_id: &H256, hosted: &mut HostedCluster, out: &mut Output) {
        for message in ctx.outbound {
            if message.destination.as_slice() != contracts::TOPIC {
                continue;
            }
            let Ok(contracts::Notice::Committed { cluster, block, state_root }) =
                contracts::Notice::decode(&mut &message.payload[..])
            else {
                continue;
            };
            if cluster != *cluster_id {
                continue;
            }
            let Some(mine) = hosted.roots.get(&block).copied() else { continue };
            if mine != state_root {
                tracing::error!(cluster = ?cluster_id, block, "our root differs from the commit: acking ours");
            }
            out.as_worker.push((contracts::ACK_TOPIC.to_vec(), Ack { cluster, block, state_root: mine }.encode()));
            hosted.roots.retain(|b, _| *b > block);
        }
    }

    fn execute_queue(
        &mut self,
        ctx: &Context<'_>,
        ext: &Ext<'_>,
        cluster_id: &H256,
        key: &ClusterKey,
        hosted: &mut HostedCluster,
        out: &mut Output,
    ) {
        let queue = contracts::queue(ext, cluster_id);
        let mut blocks: Vec<BlockNumber> = queue.iter().map(|c| c.block).collect();
        blocks.dedup();
        let chain_next = message_queue::next_sequence(ext, &MessageOrigin::Cluster(*cluster_id));
        for (position, block) in blocks.iter().enumerate() {
            if *block <= hosted.executed_block {
                continue;
            }
            let group: Vec<&Command> = queue.iter().filter(|c| c.block == *block).collect();
            let commit = self.execute_group(ctx, ext, cluster_id, key, hosted, *block, &group);
            let message = Message {
                sender: MessageOrigin::Cluster(*cluster_id),
                destination: contracts::COMMIT_TOPIC.to_vec(),
                payload: commit.encode(),
            };
            // Identical on every replica: the chain's next sequence plus the
            // uncommitted blocks queued before this one.
            let sequence = chain_next + position as u64;
            let signature = key.signing(ctx.domain).sign_deterministic(&message_queue::signing_payload(
                &ctx.genesis,
                &message,
                sequence,
            ));
            out.as_cluster.push(SignedMessage { message, sequence, signature: signature.0 });
            self.stats.commits += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn execute_group(
        &mut self,
        ctx: &Context<'_>,
        ext: &Ext<'_>,
        cluster_id: &H256,
        key: &ClusterKey,
        hosted: &mut HostedCluster,
        block: BlockNumber,
        group: &[&Command],
    ) -> ClusterCommit {
        let mut results = Vec::with_capacity(group.len());
        let mut writes: BTreeMap<H256, BTreeMap<Vec<u8>, Option<Vec<u8>>>> = BTreeMap::new();
        let mut contract_keys = Vec::new();
        let mut size = CommitSize::new(
            message_queue::MAX_COMMIT_PAYLOAD_LEN - COMMIT_HEADROOM,
            (cluster_id, block, H256::default()).encoded_size(),
        );
        for (index, command) in group.iter().enumerate() {
            self.stats.commands += 1;
            let ck = key.contract_key(ctx.domain, &command.contract.0);
            let (result, effects) = self.execute_command(ctx, ext, cluster_id, key, &ck, hosted, command);
            let deploys = command.kind == CommandKind::Deploy && effects.is_some();
            let later = group.len() - index - 1;
            let (result, effects) = match size.admit(&result, effects.as_ref(), &writes, deploys, later) {
                Ok(()) => (result, effects),
                // Would not fit in this commit: refused, identically on every replica.
                Err(refusal) => {
                    tracing::debug!(cluster = ?cluster_id, block, call_id = command.call_id, ?refusal, "command does not fit its commit");
                    let refused = CallResult { status: ExecStatus::TooLarge, output: Vec::new(), ..result };
                    // Its room was kept by every command admitted before it.
                    size.add_result(&refused);
                    (refused, None)
                }
            };
            if let Some(effects) = effects {
                if command.kind == CommandKind::Deploy {
                    let code_hash =
                        contracts::contract(ext, &command.contract).map(|i| i.code_hash).unwrap_or_default();
                    hosted.contracts.insert(command.contract, ContractState::new(code_hash));
                    contract_keys.push((
                        command.contract,
                        ContractPubkeys {
                            ecdh: ck.ecdh(ctx.domain).public().0,
                            signing: ck.signing(ctx.domain).public(),
                        },
                    ));
                }
                for (contract, changes) in effects {
                    if let Some(state) = hosted.contracts.get_mut(&contract) {
                        state.apply(&changes);
                    }
                    writes.entry(contract).or_default().extend(changes);
                }
            }
            results.push(result);
        }
        if self.fault_diverge {
            if let Some((id, state)) = hosted.contracts.iter_mut().next() {
                let fault: BTreeMap<Vec<u8>, Option<Vec<u8>>> =
                    [(FAULT_KEY.to_vec(), Some(block.encode()))].into_iter().collect();
                state.apply(&fault);
                writes.entry(*id).or_default().extend(fault);
            }
        }
        let mut deltas = Vec::with_capacity(writes.len());
        for (contract, changes) in &writes {
            let ck = key.contract_key(ctx.domain, &contract.0);
            match seal_delta(&ck, ctx.domain, cluster_id, block, contract, changes) {
                Ok(ciphertext) => deltas.push((*contract, ciphertext)),
                Err(_) => self.stats.errors += 1,
            }
        }
        hosted.executed_block = block;
        hosted.root = hosted.compute_root();
        hosted.roots.insert(block, hosted.root);
        ClusterCommit { cluster: *cluster_id, block, state_root: hosted.root, results, deltas, contract_keys }
    }

    /// Runs one command; when it succeeded, its writes per contract (its
    /// own and those of the contracts it called).
    #[allow(clippy::too_many_arguments)]
    fn execute_command(
        &mut self,
        ctx: &Context<'_>,
        ext: &Ext<'_>,
        cluster_id: &H256,
        cluster_key: &ClusterKey,
        ck: &ContractKey,
        hosted: &HostedCluster,
        command: &Command,
    ) -> (CallResult, Option<BTreeMap<H256, Writes>>) {
        let bad =
            CallResult { call_id: command.call_id, status: ExecStatus::BadEnvelope, gas_used: 0, output: Vec::new() };
        let secret = match command.kind {
            CommandKind::Deploy => cluster_key.ecdh(ctx.domain),
            CommandKind::Call => ck.ecdh(ctx.domain),
        };
        let Ok(envelope) = Envelope::from_bytes(&command.envelope, contracts::MAX_ENVELOPE_LEN) else {
            return (bad, None);
        };
        let label = Label::Envelope.in_domain(ctx.domain);
        let Ok(session) = Recipient::new(secret).session(&envelope, label) else { return (bad, None) };
        let Ok(plaintext) = session.open(&envelope, &command_context(&ctx.genesis, command)) else {
            return (bad, None);
        };
        let Ok(payload) =
            umbra_primitives::decode_bounded::<wire::CommandPayload>(&plaintext, contracts::MAX_ENVELOPE_LEN)
        else {
            return (bad, None);
        };
        let (entry, storage, code_hash) = match command.kind {
            CommandKind::Deploy => {
                let Some(info) = contracts::contract(ext, &command.contract) else { return (bad, None) };
                if hosted.contracts.contains_key(&command.contract) || !self.prepare(ext, &info.code_hash) {
                    return (bad, None);
                }
                (Entry::Deploy, Arc::new(Storage::new()), info.code_hash)
            }
            CommandKind::Call => {
                let Some(state) = hosted.contracts.get(&command.contract) else { return (bad, None) };
                if !self.prepare(ext, &state.code_hash) {
                    return (bad, None);
                }
                (Entry::Call, state.storage.clone(), state.code_hash)
            }
        };
        let Some(vm) = self.vm.clone() else { return (bad, None) };
        // Every contract of the cluster callable: code known.
        let hashes: Vec<H256> = hosted.contracts.values().map(|c| c.code_hash).collect();
        for hash in &hashes {
            if !self.codes.contains_key(hash) {
                self.prepare(ext, hash);
            }
        }
        let nest = Nest::new(vm.clone(), hosted, &self.codes, cluster_key);
        let host = ContractHost {
            storage,
            contract: None,
            seed: *ck.command_seed(ctx.domain, command.call_id),
            counter: 0,
            key: ContractKey::from_bytes(*ck.expose()),
            domain: ctx.domain,
            nest: Some(nest.clone()),
            stack: vec![command.contract],
            // Commands have no wall-clock deadline: gas alone ends them.
            deadline_at: None,
        };
        let context = CallContext {
            caller: Some(command.caller.0),
            contract_id: command.contract.0,
            block_number: command.block,
            block_timestamp: command.timestamp,
            debug: false,
            writable: true,
            deadline_ticks: None,
        };
        let outcome = vm.execute(&code_hash.0, entry, &payload.input, command.gas_limit, context, Box::new(host));
        let (nested_writes, nested_events) = nest.take();
        let (status, output, gas_used, effects, events) = match outcome {
            Ok((o, _)) => {
                let status = exec_status(&o.status);
                if status == ExecStatus::Success {
                    // The command's writes, then its nested calls'; events
                    // of nested calls follow the command's own.
                    let mut writes = nested_writes;
                    writes.entry(command.contract).or_default().extend(o.effects.writes);
                    let mut events = o.effects.events;
                    events.extend(nested_events);
                    (status, o.output, o.gas_used, Some(writes), events)
                } else {
                    (status, o.output, o.gas_used, None, Vec::new())
                }
            }
            Err(e) => {
                // Input over the VM's bound, or an engine error.
                tracing::warn!(call_id = command.call_id, error = %e, "command refused by the VM");
                (ExecStatus::Trapped, Vec::new(), 0, None, Vec::new())
            }
        };
        // Output and events travel sealed to the caller; together they must
        // fit a result's bound.
        let size = output.len() + events.iter().map(|e| e.len() + 4).sum::<usize>();
        let (status, output, effects, events) = if size > contracts::MAX_OUTPUT_LEN - 128 {
            (ExecStatus::TooLarge, Vec::new(), None, Vec::new())
        } else {
            (status, output, effects, events)
        };
        // Bound to this call: no other reply ever uses this key.
        let binding = wire::command_reply_binding(cluster_id, command.call_id);
        let sealed = session.reply_key(&envelope, &binding).seal(
            &envelope::context(
                &ctx.genesis.0,
                Purpose::CommandOutput,
                &wire::output_subject(&command.contract, command.call_id),
            ),
            &wire::CommandOutput { status, output, events }.encode(),
        );
        let output = sealed.map(|e| e.to_bytes()).unwrap_or_default();
        (CallResult { call_id: command.call_id, status, gas_used, output }, effects)
    }
}

/// Why a query is refused.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request or envelope is malformed or does not open.
    #[error("bad query: {0}")]
    Bad(String),
    /// This worker does not host the contract.
    #[error("contract not hosted here")]
    NotHosted,
    /// The certificate's signature or expiry is invalid.
    #[error("invalid certificate: {0}")]
    Certificate(String),
    /// The query expired (its `expires_at` is below the worker's block).
    #[error("query expired at block {expires_at} (state at {block})")]
    Expired {
        /// The query's last block.
        expires_at: BlockNumber,
        /// The worker's block.
        block: BlockNumber,
    },
    /// This query (its nonce) was answered already within its window.
    #[error("query replayed: its nonce was answered already")]
    Replayed,
    /// Too many queries in flight in their windows: retry later.
    #[error("too many recent queries to remember; retry later")]
    Busy,
}

/// The nonces of queries answered, each kept until its expiry block: a
/// replayed query is refused within its window (after it, the query is
/// refused as expired). Memory is bounded: when full, new queries wait.
pub struct QueryReplayGuard {
    by_expiry: BTreeMap<BlockNumber, Vec<[u8; 16]>>,
    seen: std::collections::BTreeSet<[u8; 16]>,
    max: usize,
}

impl QueryReplayGuard {
    /// A guard remembering at most `max` nonces.
    pub fn new(max: usize) -> Self {
        Self { by_expiry: BTreeMap::new(), seen: Default::default(), max }
    }

    /// Admits `nonce` (valid until `expires_at`) at the worker's `block`.
    pub fn admit(&mut self, nonce: &[u8; 16], expires_at: BlockNumber, block: BlockNumber) -> Result<(), QueryError> {
        // Forget what has expired.
        let live = self.by_expiry.split_off(&block);
        for nonces in std::mem::replace(&mut self.by_expiry, live).into_values() {
            for n in nonces {
                self.seen.remove(&n);
            }
        }
        if self.seen.contains(nonce) {
            return Err(QueryError::Replayed);
        }
        if self.seen.len() >= self.max {
            return Err(QueryError::Busy);
        }
        self.seen.insert(*nonce);
        self.by_expiry.entry(expires_at).or_default().push(*nonce);
        Ok(())
    }

    /// Nonces remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// A query's sealed answer and the salt in its reply key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryAnswer {
    /// The reply envelope.
    pub envelope: Vec<u8>,
    /// The worker's fresh salt (sent in the clear with the answer).
    pub salt: [u8; 32],
}

/// Runs a query on `snapshot`: opens the envelope with the worker's X25519
/// key, checks the query's window (`expires_at` not passed and at most
/// [`wire::MAX_QUERY_WINDOW`] ahead) and, through `admit`, that its nonce
/// was not answered within it, checks the certificate (caller = its
/// account, else anonymous), runs the contract read-only with fresh
/// randomness, and seals the response to the query's ephemeral key under a
/// reply key bound to this worker (`responder`), the query's nonce and a
/// fresh salt — a replay that got through would still never reuse a key.
/// Queries are not replicated, so they also get a wall-clock deadline:
/// `deadline_ticks` ticks of the VM's epoch ([`umbra_vm::Vm::tick`]).
#[allow(clippy::too_many_arguments)]
pub fn run_query(
    snapshot: &Snapshot,
    worker_ecdh: &x25519::Secret,
    responder: &[u8; 32],
    genesis: &H256,
    envelope_bytes: &[u8],
    entropy: [u8; 32],
    deadline_ticks: u64,
    admit: impl FnOnce(&[u8; 16], BlockNumber) -> Result<(), QueryError>,
) -> Result<QueryAnswer, QueryError> {
    let envelope = Envelope::from_bytes(envelope_bytes, contracts::MAX_ENVELOPE_LEN)
        .map_err(|e| QueryError::Bad(e.to_string()))?;
    let label = Label::Envelope.in_domain(snapshot.domain);
    let session = Recipient::new(x25519::Secret::from_bytes(*worker_ecdh.to_bytes()))
        .session(&envelope, label)
        .map_err(|e| QueryError::Bad(e.to_string()))?;
    let context = envelope::context(&genesis.0, Purpose::Query, &snapshot.contract.0);
    let plaintext = session.open(&envelope, &context).map_err(|e| QueryError::Bad(e.to_string()))?;
    let payload = umbra_primitives::decode_bounded::<wire::QueryPayload>(&plaintext, contracts::MAX_ENVELOPE_LEN)
        .map_err(|e| QueryError::Bad(e.to_string()))?;
    let block = snapshot.synced_block;
    if payload.expires_at < block {
        return Err(QueryError::Expired { expires_at: payload.expires_at, block });
    }
    if payload.expires_at > block.saturating_add(wire::MAX_QUERY_WINDOW) {
        return Err(QueryError::Bad(format!(
            "expires at block {}, more than {} blocks after {block}",
            payload.expires_at,
            wire::MAX_QUERY_WINDOW
        )));
    }
    admit(&payload.nonce, payload.expires_at)?;
    let salt = umbra_crypto::hashing::blake2_256(&(b"umbra/query-salt", entropy).encode());
    let seed = umbra_crypto::hashing::blake2_256(&(b"umbra/query-seed", entropy).encode());
    let caller = match &payload.certificate {
        None => None,
        Some(cert) => {
            if cert.expires_at < block {
                return Err(QueryError::Certificate(format!(
                    "expired at block {} (synced to {block})",
                    cert.expires_at
                )));
            }
            let message = wire::Certificate::message(genesis, &envelope.ephemeral.0, cert.expires_at);
            if !sr25519::verify(&sr25519::Signature(cert.signature), &message, &sr25519::Public(cert.account.0)) {
                return Err(QueryError::Certificate("signature does not verify".into()));
            }
            Some(cert.account.0)
        }
    };
    let host = ContractHost {
        storage: snapshot.storage.clone(),
        contract: None,
        seed,
        counter: 0,
        key: ContractKey::from_bytes(*snapshot.contract_key.expose()),
        domain: snapshot.domain,
        nest: snapshot.nest.clone(),
        stack: vec![snapshot.contract],
        deadline_at: Some(snapshot.vm.epoch().saturating_add(deadline_ticks.max(1))),
    };
    let call_context = CallContext {
        caller,
        contract_id: snapshot.contract.0,
        block_number: snapshot.block_number,
        block_timestamp: 0,
        debug: false,
        writable: false,
        deadline_ticks: Some(deadline_ticks.max(1)),
    };
    let (status, gas_used, output) = match snapshot.vm.execute(
        &snapshot.code_hash.0,
        Entry::Call,
        &payload.input,
        QUERY_GAS,
        call_context,
        Box::new(host),
    ) {
        Ok((o, _)) => (exec_status(&o.status), o.gas_used, o.output),
        Err(e) => return Err(QueryError::Bad(e.to_string())),
    };
    let response = wire::QueryResponse {
        block_number: snapshot.block_number,
        state_root: snapshot.state_root,
        synced_block: block,
        status,
        gas_used,
        output,
    };
    let binding = wire::query_reply_binding(responder, &payload.nonce, &salt);
    let reply = session
        .reply_key(&envelope, &binding)
        .seal(&envelope::context(&genesis.0, Purpose::QueryResponse, &snapshot.contract.0), &response.encode())
        .map_err(|e| QueryError::Bad(e.to_string()))?;
    Ok(QueryAnswer { envelope: reply.to_bytes(), salt })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`CommitSize`] tracks is the length of the commit actually
    /// built: results, sealed deltas (padded) and contract keys, with
    /// repeated, replaced and removed keys.
    #[test]
    fn commit_size_is_the_encoded_commit_length() {
        let cluster = H256([1; 32]);
        let block: BlockNumber = 7;
        let key = ContractKey::from_bytes([3; 32]);
        let mut size = CommitSize::new(usize::MAX, (cluster, block, H256::default()).encoded_size());
        let mut merged: BTreeMap<H256, Writes> = BTreeMap::new();
        let mut results = Vec::new();
        for i in 0..200u32 {
            let contract = H256([(i % 3) as u8; 32]);
            let value = (i % 5 != 0).then(|| vec![i as u8; (i as usize * 37) % 700]);
            let changes: Writes = [(format!("key-{}", i % 40).into_bytes(), value)].into_iter().collect();
            let effects: BTreeMap<H256, Writes> = [(contract, changes)].into_iter().collect();
            let result = CallResult {
                call_id: u64::from(i),
                status: ExecStatus::Success,
                gas_used: 1,
                output: vec![0; i as usize % 90],
            };
            size.admit(&result, Some(&effects), &merged, i % 50 == 0, 0).unwrap();
            for (contract, changes) in effects {
                merged.entry(contract).or_default().extend(changes);
            }
            results.push(result);
        }
        let deltas = merged
            .iter()
            .map(|(c, w)| (*c, seal_delta(&key, Domain::Insecure, &cluster, block, c, w).unwrap()))
            .collect();
        let pubkeys = ContractPubkeys { ecdh: [0; 32], signing: sr25519::Public([0; 32]) };
        let contract_keys = (0..4).map(|i| (H256([i; 32]), pubkeys)).collect();
        let commit = ClusterCommit { cluster, block, state_root: H256::default(), results, deltas, contract_keys };
        assert_eq!(size.total(), commit.encoded_size());
    }

    /// Large results fill the commit; every command after them is refused,
    /// and the refused results still fit: room for them was kept.
    #[test]
    fn refusals_after_a_full_commit_still_fit() {
        let budget = 100_000;
        let mut size = CommitSize::new(budget, 68);
        let n = 3_000;
        let mut admitted = 0;
        for i in 0..n {
            let big = CallResult { call_id: i, status: ExecStatus::Success, gas_used: 1, output: vec![0; 20_000] };
            match size.admit(&big, None, &BTreeMap::new(), false, (n - i - 1) as usize) {
                Ok(()) => admitted += 1,
                Err(_) => size.add_result(&CallResult { output: vec![], status: ExecStatus::TooLarge, ..big }),
            }
        }
        assert!(admitted >= 1, "the first ones fit");
        assert!(size.total() <= budget, "{} > {budget}", size.total());
        let refused = CallResult { call_id: 0, status: ExecStatus::TooLarge, gas_used: 0, output: vec![] };
        assert_eq!(refused.encoded_size(), REFUSED_RESULT_LEN);
    }

    /// A delta plaintext is padded to a power of two, never past what fits
    /// `MAX_DELTA_LEN` sealed, and never truncated.
    #[test]
    fn delta_padding() {
        assert_eq!(padded_delta_len(0), 64);
        assert_eq!(padded_delta_len(65), 128);
        assert_eq!(padded_delta_len(200_000), MAX_DELTA_PLAINTEXT);
        assert_eq!(padded_delta_len(MAX_DELTA_PLAINTEXT + 5), MAX_DELTA_PLAINTEXT + 5);
    }
}

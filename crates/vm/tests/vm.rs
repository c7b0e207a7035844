//! The VM on hand-written wasm: a storage-backed counter, reverts, queries,
//! determinism, every resource abuse stopped with its status, and every
//! kind of code refused at upload with its own error.
#![allow(clippy::unwrap_used)]

use umbra_vm::{validate::validate, CallContext, Entry, Error, MemoryHost, Outcome, Status, Vm};

const IMPORTS: &str = r#"
  (import "umbra" "input" (func $input (param i32 i32) (result i32)))
  (import "umbra" "return_value" (func $ret (param i32 i32)))
  (import "umbra" "revert" (func $revert (param i32 i32)))
  (import "umbra" "storage_get" (func $get (param i32 i32 i32 i32) (result i64)))
  (import "umbra" "storage_set" (func $set (param i32 i32 i32 i32)))
"#;

/// `call` input byte: 0 increment, 1 read, 2 increment then revert,
/// 3 loop forever, 4 grow memory past the limit, 5 recurse forever,
/// 6 return 1 MiB, 7 read memory out of bounds.
fn counter() -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module {IMPORTS}
  (memory (export "memory") 1)
  (data (i32.const 0) "count")
  (func $load (result i64)
    (drop (call $get (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8)))
    (i64.load (i32.const 16)))
  (func $store (param i64)
    (i64.store (i32.const 16) (local.get 0))
    (call $set (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8)))
  (func $recurse (call $recurse))
  (func (export "deploy") (call $store (i64.const 0)))
  (func (export "call")
    (local $op i32)
    (drop (call $input (i32.const 100) (i32.const 1)))
    (local.set $op (i32.load8_u (i32.const 100)))
    (if (i32.eq (local.get $op) (i32.const 0)) (then (call $store (i64.add (call $load) (i64.const 1)))))
    (if (i32.eq (local.get $op) (i32.const 1)) (then
      (i64.store (i32.const 16) (call $load))
      (call $ret (i32.const 16) (i32.const 8))))
    (if (i32.eq (local.get $op) (i32.const 2)) (then
      (call $store (i64.add (call $load) (i64.const 1)))
      (call $revert (i32.const 0) (i32.const 5))))
    (if (i32.eq (local.get $op) (i32.const 3)) (then (loop $l (br $l))))
    (if (i32.eq (local.get $op) (i32.const 4)) (then (drop (memory.grow (i32.const 300)))))
    (if (i32.eq (local.get $op) (i32.const 5)) (then (call $recurse)))
    (if (i32.eq (local.get $op) (i32.const 6)) (then (call $ret (i32.const 0) (i32.const 1048576))))
    (if (i32.eq (local.get $op) (i32.const 7)) (then (call $ret (i32.const 65530) (i32.const 100))))
  )
)"#
    ))
    .unwrap()
}

fn context(writable: bool) -> CallContext {
    CallContext {
        caller: Some([1; 32]),
        contract_id: [2; 32],
        block_number: 7,
        block_timestamp: 1_000,
        debug: false,
        writable,
        deadline_ticks: None,
    }
}

fn run(
    vm: &Vm,
    hash: &[u8; 32],
    entry: Entry,
    input: &[u8],
    host: &mut Option<Box<MemoryHost>>,
    writable: bool,
) -> Outcome {
    let boxed: Box<dyn umbra_vm::Host> = host.take().unwrap();
    let (outcome, back) = vm.execute(hash, entry, input, 10_000_000, context(writable), boxed).unwrap();
    // The host comes back; downcast is not needed: rebuild from storage.
    let _ = back;
    outcome
}

#[test]
fn counter_commands_queries_reverts_and_determinism() {
    let vm = Vm::new().unwrap();
    let hash = vm.prepare(&counter()).unwrap();
    let mut storage = MemoryHost::new([0; 32]);
    let exec = |storage: &MemoryHost, entry, input: &[u8], writable| {
        let mut copy = MemoryHost::new([0; 32]);
        copy.storage = storage.storage.clone();
        let mut slot = Some(Box::new(copy));
        run(&vm, &hash, entry, input, &mut slot, writable)
    };
    let deployed = exec(&storage, Entry::Deploy, &[], true);
    assert_eq!(deployed.status, Status::Success);
    storage.apply(&deployed.effects);
    for _ in 0..3 {
        let out = exec(&storage, Entry::Call, &[0], true);
        assert_eq!(out.status, Status::Success);
        storage.apply(&out.effects);
    }
    let read = exec(&storage, Entry::Call, &[1], false);
    assert_eq!(read.status, Status::Success);
    assert_eq!(read.output, 3u64.to_le_bytes());
    assert!(read.effects.writes.is_empty());
    // A revert keeps nothing and returns its reason.
    let reverted = exec(&storage, Entry::Call, &[2], true);
    assert_eq!(reverted.status, Status::Reverted);
    assert_eq!(reverted.output, b"count");
    assert!(reverted.effects.writes.is_empty());
    // A query cannot write.
    let query_write = exec(&storage, Entry::Call, &[0], false);
    assert!(matches!(query_write.status, Status::Trapped(ref m) if m.contains("read-only")), "{query_write:?}");
    // Deterministic: the same call twice gives the same outcome, gas included.
    assert_eq!(exec(&storage, Entry::Call, &[0], true), exec(&storage, Entry::Call, &[0], true));
}

#[test]
fn abuse_is_stopped_with_a_clear_status_and_no_effects() {
    let vm = Vm::new().unwrap();
    let hash = vm.prepare(&counter()).unwrap();
    let status_of = |op: u8| {
        let mut slot = Some(Box::new(MemoryHost::new([0; 32])));
        run(&vm, &hash, Entry::Call, &[op], &mut slot, true)
    };
    let looped = status_of(3);
    assert_eq!(looped.status, Status::OutOfGas);
    assert_eq!(looped.gas_used, 10_000_000);
    assert!(looped.effects.writes.is_empty());
    assert!(matches!(status_of(4).status, Status::Trapped(_)), "memory growth past the limit");
    assert!(matches!(status_of(5).status, Status::Trapped(ref m) if m.contains("stack")), "{:?}", status_of(5).status);
    assert!(
        matches!(status_of(6).status, Status::Trapped(ref m) if m.contains("host limit")),
        "{:?}",
        status_of(6).status
    );
    assert!(
        matches!(status_of(7).status, Status::Trapped(ref m) if m.contains("out of bounds")),
        "{:?}",
        status_of(7).status
    );
    // The VM still serves correct calls afterwards.
    assert_eq!(status_of(1).status, Status::Success);
}

fn module(body: &str) -> Vec<u8> {
    wat::parse_str(body).unwrap()
}

#[test]
fn upload_validation_refuses_precisely() {
    let ok = |extra: &str| {
        module(&format!(
            r#"(module {extra} (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#
        ))
    };
    validate(&ok("")).unwrap();
    assert!(matches!(validate(&ok(r#"(func (drop (f32.const 1.5)))"#)), Err(Error::FloatingPoint(_))));
    assert!(matches!(validate(&ok(r#"(func (param f64))"#)), Err(Error::FloatingPoint(_))));
    assert!(matches!(validate(&ok(r#"(global f32 (f32.const 0))"#)), Err(Error::FloatingPoint(_))));
    assert!(matches!(validate(&ok(r#"(func (local f64))"#)), Err(Error::FloatingPoint(_))));
    assert!(matches!(validate(&ok(r#"(func (drop (i32.trunc_f32_s (f32.const 1))))"#)), Err(Error::FloatingPoint(_))));
    assert!(matches!(validate(&ok(r#"(import "env" "x" (func))"#)), Err(Error::InvalidImport(_))));
    assert!(matches!(validate(&ok(r#"(import "umbra" "nope" (func))"#)), Err(Error::InvalidImport(_))));
    assert!(matches!(validate(&ok(r#"(import "umbra" "input" (func (param i32)))"#)), Err(Error::InvalidImport(_))));
    assert!(matches!(validate(&ok(r#"(func $s) (start $s)"#)), Err(Error::StartFunction)));
    assert_eq!(
        validate(&module(r#"(module (memory (export "memory") 1) (func (export "deploy")))"#)),
        Err(Error::MissingExport("call"))
    );
    assert_eq!(
        validate(&module(
            r#"(module (memory (export "memory") 1) (func (export "deploy")) (func (export "call") (param i32)))"#
        )),
        Err(Error::MissingExport("call"))
    );
    assert!(matches!(
        validate(&module(r#"(module (memory (export "memory") 300) (func (export "deploy")) (func (export "call")))"#)),
        Err(Error::InvalidMemory(_))
    ));
    assert!(matches!(validate(b"\0asm\x01\0\0\0garbage"), Err(Error::InvalidWasm(_))));
    assert!(matches!(validate(&vec![0u8; umbra_vm::limits::MAX_CODE_SIZE + 1]), Err(Error::CodeTooLarge { .. })));
    // Preparing refuses the same way.
    let vm = Vm::new().unwrap();
    assert!(matches!(vm.prepare(&ok(r#"(func (drop (f64.const 1)))"#)), Err(Error::FloatingPoint(_))));
}

/// A host whose `call_contract` answers with a fixed result and records
/// what it was asked.
struct Calls {
    seen: std::sync::Arc<std::sync::Mutex<Vec<umbra_vm::NestedCall>>>,
}

impl umbra_vm::Host for Calls {
    fn get(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn next_key(&self, _: &[u8], _: Option<&[u8]>) -> Option<Vec<u8>> {
        None
    }
    fn random(&mut self, out: &mut [u8]) {
        out.fill(0);
    }
    fn derive_secret(&mut self, _: &[u8]) -> [u8; 32] {
        [0; 32]
    }
    fn call_contract(&mut self, call: umbra_vm::NestedCall) -> Option<umbra_vm::NestedResult> {
        self.seen.lock().unwrap().push(call);
        Some(umbra_vm::NestedResult { status: Status::Reverted, output: b"nope".to_vec(), gas_used: 5_000 })
    }
}

#[test]
fn call_contract_passes_caller_input_and_gas_and_charges_the_callee() {
    // Calls contract [9; 32] with input "hi" and 1 billion gas; returns the
    // i64 result followed by the (capped) output.
    let code = module(&format!(
        r#"(module {IMPORTS}
  (import "umbra" "call_contract" (func $cc (param i32 i32 i32 i64 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09hi")
  (func (export "deploy"))
  (func (export "call")
    (i64.store (i32.const 100) (call $cc (i32.const 0) (i32.const 32) (i32.const 2) (i64.const 1000000000) (i32.const 108) (i32.const 2)))
    (call $ret (i32.const 100) (i32.const 10))))"#
    ));
    let vm = Vm::new().unwrap();
    let hash = vm.prepare(&code).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let host = Box::new(Calls { seen: seen.clone() });
    let (out, _) = vm.execute(&hash, Entry::Call, &[], 10_000_000, context(true), host).unwrap();
    assert_eq!(out.status, Status::Success);
    // Reverted (1) << 32 | full length 4; two bytes fit the buffer.
    assert_eq!(i64::from_le_bytes(out.output[..8].try_into().unwrap()), (1 << 32) | 4);
    assert_eq!(&out.output[8..], b"no");
    let calls = seen.lock().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].caller, [2; 32], "the callee's caller is the calling contract");
    assert_eq!(calls[0].callee, [9; 32]);
    assert_eq!(calls[0].input, b"hi");
    assert!(calls[0].gas_limit < 10_000_000, "capped at what the caller has left");
    assert!(calls[0].writable);
    assert!(out.gas_used > 5_000 + umbra_vm::abi::cost::CALL_CONTRACT, "the callee's gas is charged");

    // A host without other contracts refuses: -1.
    let (refused, _) =
        vm.execute(&hash, Entry::Call, &[], 10_000_000, context(true), Box::new(MemoryHost::new([0; 32]))).unwrap();
    assert_eq!(i64::from_le_bytes(refused.output[..8].try_into().unwrap()), -1);
}

/// Input: op (0 = remove keys, 1 = remove keys then `next_key` from the
/// start) ‖ count (u32 LE): removes the 4-byte keys `0..count` (LE), and
/// for op 1 returns the first key left.
fn remover() -> Vec<u8> {
    module(
        r#"(module
  (import "umbra" "input" (func $input (param i32 i32) (result i32)))
  (import "umbra" "return_value" (func $ret (param i32 i32)))
  (import "umbra" "storage_remove" (func $remove (param i32 i32)))
  (import "umbra" "storage_next_key" (func $next (param i32 i32 i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (func (export "deploy"))
  (func (export "call") (local $n i32) (local $i i32)
    (drop (call $input (i32.const 0) (i32.const 5)))
    (local.set $n (i32.load (i32.const 1)))
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store (i32.const 100) (local.get $i))
      (call $remove (i32.const 100) (i32.const 4))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 1))
      (then
        (drop (call $next (i32.const 200) (i32.const 0) (i32.const 0) (i32.const -1) (i32.const 300) (i32.const 4)))
        (call $ret (i32.const 300) (i32.const 4))))))"#,
    )
}

/// Section 4: removals are bounded like writes, and `next_key` over many
/// removed committed keys pays for every key it skips (it never scans).
#[test]
fn removals_are_bounded_and_skipping_them_is_paid_for() {
    let vm = Vm::new().unwrap();
    let hash = vm.prepare(&remover()).unwrap();
    let max = umbra_vm::limits::MAX_WRITES as u32;
    let mut committed = MemoryHost::new([0; 32]);
    for i in 0..max {
        committed.storage.insert(i.to_le_bytes().to_vec(), vec![1]);
    }
    committed.storage.insert(vec![0xff; 4], vec![2]);
    let exec = |op: u8, count: u32, gas: u64| {
        let mut host = MemoryHost::new([0; 32]);
        host.storage = committed.storage.clone();
        let input = [vec![op], count.to_le_bytes().to_vec()].concat();
        vm.execute(&hash, Entry::Call, &input, gas, context(true), Box::new(host)).unwrap().0
    };
    // One removal beyond the bound: refused.
    let over = exec(0, max + 1, 1_000_000_000);
    assert!(matches!(over.status, Status::Trapped(ref m) if m.contains("too many storage writes")), "{over:?}");
    // At the bound, next_key skips every removed key to the one left, and
    // the skips are charged: at least a storage read each.
    let removals_only = exec(0, max, 1_000_000_000);
    assert_eq!(removals_only.status, Status::Success);
    let with_next = exec(1, max, 1_000_000_000);
    assert_eq!(with_next.status, Status::Success, "{with_next:?}");
    assert_eq!(with_next.output, vec![0xff; 4]);
    let skipped = with_next.gas_used - removals_only.gas_used;
    assert!(skipped >= u64::from(max) * umbra_vm::abi::cost::STORAGE_READ, "{skipped} gas for {max} skips");
    // With too little gas for the skips, it runs out of gas instead.
    let starved = exec(1, max, removals_only.gas_used + 1_000_000);
    assert_eq!(starved.status, Status::OutOfGas);
}

/// Section 4: a query (and only a query) has a wall-clock deadline: an
/// endless loop with gas to spare traps when the VM's epoch passes it.
#[test]
fn queries_trap_at_their_deadline() {
    let vm = std::sync::Arc::new(Vm::new().unwrap());
    let spin = module(
        r#"(module (memory (export "memory") 1) (func (export "deploy"))
  (func (export "call") (loop $forever (br $forever))))"#,
    );
    let hash = vm.prepare(&spin).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let (vm, done) = (vm.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(10));
                vm.tick();
            }
        })
    };
    let query = CallContext { writable: false, deadline_ticks: Some(5), ..context(false) };
    let (out, _) =
        vm.execute(&hash, Entry::Call, &[], u64::MAX / 4, query, Box::new(MemoryHost::new([0; 32]))).unwrap();
    assert!(matches!(out.status, Status::Trapped(ref m) if m.contains("deadline")), "{out:?}");
    // A command has none: it ends by gas.
    let (out, _) =
        vm.execute(&hash, Entry::Call, &[], 50_000_000, context(true), Box::new(MemoryHost::new([0; 32]))).unwrap();
    assert_eq!(out.status, Status::OutOfGas);
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    ticker.join().unwrap();
}

//! VM benchmarks: the overhead of a trivial call (instantiate, run,
//! collect effects), and a compute-heavy loop in wasm against the same Rust
//! code compiled natively.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use umbra_vm::{CallContext, Entry, MemoryHost, Vm};

const ITERATIONS: u64 = 1_000_000;

fn trivial() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "umbra" "return_value" (func $ret (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "deploy"))
  (func (export "call") (call $ret (i32.const 0) (i32.const 8))))"#,
    )
    .unwrap()
}

/// xorshift64* over `ITERATIONS` rounds, returning the state.
fn compute() -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
  (import "umbra" "return_value" (func $ret (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "deploy"))
  (func (export "call")
    (local $x i64) (local $i i64)
    (local.set $x (i64.const 88172645463325252))
    (loop $l
      (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 12))))
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 25))))
      (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 27))))
      (local.set $x (i64.mul (local.get $x) (i64.const 2685821657736338717)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $l (i64.lt_u (local.get $i) (i64.const {ITERATIONS}))))
    (i64.store (i32.const 0) (local.get $x))
    (call $ret (i32.const 0) (i32.const 8))))"#
    ))
    .unwrap()
}

fn native(iterations: u64) -> u64 {
    let mut x: u64 = 88172645463325252;
    let mut i = 0;
    while i < iterations {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x = x.wrapping_mul(2685821657736338717);
        i += 1;
    }
    x
}

fn context() -> CallContext {
    CallContext {
        caller: None,
        contract_id: [0; 32],
        block_number: 1,
        block_timestamp: 0,
        debug: false,
        writable: true,
        deadline_ticks: None,
    }
}

fn bench(c: &mut Criterion) {
    let vm = Vm::new().unwrap();
    let trivial = vm.prepare(&trivial()).unwrap();
    let compute = vm.prepare(&compute()).unwrap();
    // Same result in wasm and natively.
    let (out, _) =
        vm.execute(&compute, Entry::Call, &[], u64::MAX / 2, context(), Box::new(MemoryHost::new([0; 32]))).unwrap();
    assert_eq!(out.output, native(ITERATIONS).to_le_bytes());

    let mut g = c.benchmark_group("vm");
    g.bench_function("trivial_call", |b| {
        b.iter(|| {
            vm.execute(&trivial, Entry::Call, &[], 1_000_000, context(), Box::new(MemoryHost::new([0; 32]))).unwrap()
        })
    });
    g.sample_size(20);
    g.bench_function("xorshift_1m_wasm", |b| {
        b.iter(|| {
            vm.execute(&compute, Entry::Call, &[], u64::MAX / 2, context(), Box::new(MemoryHost::new([0; 32]))).unwrap()
        })
    });
    g.bench_function("xorshift_1m_native", |b| b.iter(|| native(black_box(ITERATIONS))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

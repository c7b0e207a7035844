//! Adversarial contracts at the maximum gas limit: how long one command
//! holds a worker, through the real executor (a cluster on an in-memory
//! chain, the command's block verified and executed by a worker core).
//!
//! Scenarios (each one command of `MAX_GAS_LIMIT` that never stops on its
//! own): a plain loop (the fuel rate); `next_key` from the start, forever,
//! after removing the most committed keys a command may stage (4,096, each
//! skip paid for); a removal storm;
//! nested calls that each write 16 KiB to the callee (the "clone storm" of
//! old: every nested call used to copy every pending write); a storm of
//! empty cross-contract calls; the largest events and output.
//!
//! `cargo bench -p umbra-pruntime-core --bench adversarial` (results in
//! docs/BENCHMARKS.md; target: every scenario ≤ 2 s).
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use umbra_pruntime_core::testing::{feed, Net};
use umbra_runtime::modules::contracts;

const IMPORTS: &str = r#"
  (import "umbra" "input" (func $input (param i32 i32) (result i32)))
  (import "umbra" "return_value" (func $ret (param i32 i32)))
  (import "umbra" "storage_get" (func $get (param i32 i32 i32 i32) (result i64)))
  (import "umbra" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "umbra" "storage_remove" (func $remove (param i32 i32)))
  (import "umbra" "storage_next_key" (func $next (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "umbra" "call_contract" (func $cc (param i32 i32 i32 i64 i32 i32) (result i64)))
  (import "umbra" "emit_event" (func $event (param i32 i32)))
"#;

/// Input byte 0 picks the scenario; bytes 1..33 name the callee.
fn attacker() -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module {IMPORTS}
  (memory (export "memory") 1)
  (func (export "deploy")
    ;; 4096 committed keys 0..4096 (u32 LE) the next_key scenario removes.
    (local $i i32)
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (i32.const 4096)))
      (i32.store (i32.const 100) (local.get $i))
      (call $set (i32.const 100) (i32.const 4) (i32.const 100) (i32.const 4))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again))))
  (func (export "call") (local $i i32) (local $op i32)
    (drop (call $input (i32.const 0) (i32.const 33)))
    (local.set $op (i32.load8_u (i32.const 0)))
    ;; 0: spin.
    (if (i32.eq (local.get $op) (i32.const 0)) (then (loop $forever (br $forever))))
    ;; 1: remove 4096 committed keys, then next_key from the start forever.
    (if (i32.eq (local.get $op) (i32.const 1)) (then
      (block $done (loop $again
        (br_if $done (i32.ge_u (local.get $i) (i32.const 4096)))
        (i32.store (i32.const 100) (local.get $i))
        (call $remove (i32.const 100) (i32.const 4))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
      (loop $forever
        (drop (call $next (i32.const 200) (i32.const 0) (i32.const 0) (i32.const -1) (i32.const 300) (i32.const 4)))
        (br $forever))))
    ;; 2: removal storm over 4096 keys.
    (if (i32.eq (local.get $op) (i32.const 2)) (then
      (loop $forever
        (i32.store (i32.const 100) (i32.and (local.get $i) (i32.const 4095)))
        (call $remove (i32.const 100) (i32.const 4))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $forever))))
    ;; 3 and 4: call the callee forever (it writes 16 KiB, or nothing).
    (if (i32.ge_u (local.get $op) (i32.const 3)) (then (if (i32.le_u (local.get $op) (i32.const 4)) (then
      (i32.store8 (i32.const 400) (i32.sub (local.get $op) (i32.const 3)))
      (loop $forever
        (drop (call $cc (i32.const 1) (i32.const 400) (i32.const 1) (i64.const 1000000000) (i32.const 500) (i32.const 8)))
        (br $forever))))))
    ;; 5: the largest events and output, then spin.
    (if (i32.eq (local.get $op) (i32.const 5)) (then
      (block $done (loop $again
        (br_if $done (i32.ge_u (local.get $i) (i32.const 64)))
        (call $event (i32.const 1024) (i32.const 16384))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
      (call $ret (i32.const 0) (i32.const 65536))
      (loop $forever (br $forever))))))"#
    ))
    .unwrap()
}

/// Input 0: writes 16 KiB under key (counter mod 4096) and bumps the
/// counter; input 1: returns at once.
fn callee() -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module {IMPORTS}
  (memory (export "memory") 1)
  (data (i32.const 0) "n")
  (func (export "deploy"))
  (func (export "call")
    (drop (call $input (i32.const 64) (i32.const 1)))
    (if (i32.eqz (i32.load8_u (i32.const 64))) (then
      (drop (call $get (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 4)))
      (i32.store (i32.const 32) (i32.and (i32.load (i32.const 16)) (i32.const 4095)))
      (call $set (i32.const 32) (i32.const 4) (i32.const 1024) (i32.const 16384))
      (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
      (call $set (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 4))))))"#
    ))
    .unwrap()
}

fn adversarial(c: &mut Criterion) {
    let scenarios = [
        (0u8, "spin"),
        (1, "next_key_after_max_removals"),
        (2, "removal_storm"),
        (3, "nested_write_storm"),
        (4, "call_storm"),
        (5, "largest_events_and_output"),
    ];
    let mut group = c.benchmark_group("adversarial_command_at_max_gas");
    group.sample_size(10);
    for (op, name) in scenarios {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iterations {
                    // Setup (not measured): a cluster of one worker with
                    // both contracts deployed.
                    let (mut net, cluster) = Net::with_cluster(1);
                    let target = net.deploy("Charlie", &cluster, attacker(), b"a");
                    let victim = net.deploy("Charlie", &cluster, callee(), b"b");
                    let input = [vec![op], victim.0.to_vec()].concat();
                    let (xt, _) = net.command("Charlie", &target, input, contracts::MAX_GAS_LIMIT, 0);
                    let (header, changes) = net.f.produce(vec![xt]);
                    let justification = net.f.justify(&header);
                    let worker = &mut net.nodes[1];
                    let before = worker.status().contracts.commits;
                    #[allow(clippy::disallowed_methods)]
                    let started = std::time::Instant::now();
                    feed(worker, &header, &justification, &changes, [7; 32]);
                    total += started.elapsed();
                    assert_eq!(worker.status().contracts.commits, before + 1, "{name}: the command's block committed");
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, adversarial);
criterion_main!(benches);

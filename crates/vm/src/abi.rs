//! Host ABI v1: the functions contracts import from module `umbra`, their
//! exact signatures and their gas costs. Versioned: a new ABI is a new
//! module name, never a changed signature.
//!
//! Pointers and lengths are `i32` offsets into the contract's memory.
//! Functions that return a variable-length value take an output buffer
//! (`out_ptr`, `out_cap`), write at most `out_cap` bytes and return the full
//! length (`-1` for "none"), so a contract can retry with a larger buffer.

use wasmparser::ValType::{self, I32, I64};

/// The import module of ABI v1.
pub const MODULE: &str = "umbra";
/// Exported linear memory.
pub const EXPORT_MEMORY: &str = "memory";
/// Constructor entry point (`() -> ()`).
pub const EXPORT_DEPLOY: &str = "deploy";
/// Command and query entry point (`() -> ()`).
pub const EXPORT_CALL: &str = "call";

/// Every host function: (name, params, results).
pub const FUNCTIONS: &[(&str, &[ValType], &[ValType])] = &[
    // input(out_ptr, out_cap) -> full length
    ("input", &[I32, I32], &[I32]),
    // return_value(ptr, len): the call's output
    ("return_value", &[I32, I32], &[]),
    // revert(ptr, len): stop, discard state changes, output = data
    ("revert", &[I32, I32], &[]),
    // storage_get(key_ptr, key_len, out_ptr, out_cap) -> length or -1
    ("storage_get", &[I32, I32, I32, I32], &[I64]),
    // storage_set(key_ptr, key_len, value_ptr, value_len)
    ("storage_set", &[I32, I32, I32, I32], &[]),
    // storage_remove(key_ptr, key_len)
    ("storage_remove", &[I32, I32], &[]),
    // storage_next_key(prefix_ptr, prefix_len, after_ptr, after_len, out_ptr, out_cap) -> length or -1
    // (after_len = -1: from the start of the prefix)
    ("storage_next_key", &[I32, I32, I32, I32, I32, I32], &[I64]),
    // caller(out_ptr) -> 1 and 32 bytes written, or 0 (anonymous)
    ("caller", &[I32], &[I32]),
    // contract_id(out_ptr): 32 bytes
    ("contract_id", &[I32], &[]),
    ("block_number", &[], &[I32]),
    ("block_timestamp", &[], &[I64]),
    // emit_event(ptr, len)
    ("emit_event", &[I32, I32], &[]),
    // hash_*(ptr, len, out_ptr): 32 bytes
    ("hash_blake2_256", &[I32, I32, I32], &[]),
    ("hash_sha256", &[I32, I32, I32], &[]),
    // random(out_ptr, len): deterministic per command, fresh in queries
    ("random", &[I32, I32], &[]),
    // derive_secret(salt_ptr, salt_len, out_ptr): 32 contract-private bytes
    ("derive_secret", &[I32, I32, I32], &[]),
    ("gas_left", &[], &[I64]),
    // debug_log(ptr, len): kept on dev chains and in queries only
    ("debug_log", &[I32, I32], &[]),
    // call_contract(callee_ptr, input_ptr, input_len, gas, out_ptr, out_cap)
    //   -> status << 32 | full output length, or -1 when refused (no such
    //   contract in the cluster, re-entry, depth); status 0 success,
    //   1 reverted, 2 out of gas, 3 trapped. The callee sees the calling
    //   contract as its caller; its gas is charged to the caller.
    ("call_contract", &[I32, I32, I32, I64, I32, I32], &[I64]),
];

/// The signature of host function `name`.
pub fn signature(name: &str) -> Option<(&'static [ValType], &'static [ValType])> {
    FUNCTIONS.iter().find(|(n, _, _)| *n == name).map(|(_, p, r)| (*p, *r))
}

/// Gas (fuel) costs, from `cargo bench -p umbra-vm` (docs/BENCHMARKS.md):
/// one unit per wasm instruction; host calls cost a base plus bytes moved.
pub mod cost {
    /// Any host call.
    pub const HOST_CALL: u64 = 200;
    /// Per byte copied in or out of memory, hashed or stored.
    pub const PER_BYTE: u64 = 1;
    /// A storage read (plus bytes).
    pub const STORAGE_READ: u64 = 2_000;
    /// A storage write or removal (plus bytes).
    pub const STORAGE_WRITE: u64 = 5_000;
    /// A hash (plus bytes).
    pub const HASH: u64 = 500;
    /// An event (plus bytes).
    pub const EVENT: u64 = 1_000;
    /// A call into another contract (plus bytes, plus the callee's gas).
    pub const CALL_CONTRACT: u64 = 20_000;
}

/// Deepest chain of contract-to-contract calls.
pub const MAX_CALL_DEPTH: usize = 4;

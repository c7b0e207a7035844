//! The confidential contract VM (`05-contracts.md`).
//!
//! * [`validate`]: upload validation with `wasmparser` — size, imports
//!   only from the versioned host module with exact signatures, required
//!   exports, no floating point anywhere, one bounded memory, no start
//!   function.
//! * [`Vm`]: wasmtime with Cranelift in a deterministic configuration (no
//!   threads, SIMD, reference types, multi-memory or memory64; NaN
//!   canonicalization; fixed wasm stack), modules compiled once per code
//!   hash and cached, fuel metering per instruction plus host-call costs
//!   ([`abi::cost`]), memory and table limits per call.
//! * [`abi`]: host ABI v1 under module `umbra`.
//!
//! Sans-IO with respect to storage: a call reads committed storage through
//! [`Host`], writes to an overlay, and returns [`Effects`] only when it
//! succeeds; out of gas, a revert or a trap change nothing.
#![cfg_attr(not(feature = "engine"), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::string::String;

pub mod abi;
#[cfg(feature = "engine")]
mod exec;
pub mod validate;

#[cfg(feature = "engine")]
pub use exec::{
    engine_config, next_key_in, CallContext, Effects, Entry, Host, MemoryHost, NestedCall, NestedResult, Outcome,
    Status, Vm,
};

/// Limits of contract code and execution.
pub mod limits {
    /// Largest contract code.
    pub const MAX_CODE_SIZE: usize = 512 * 1024;
    /// Most 64 KiB memory pages (16 MiB).
    pub const MAX_MEMORY_PAGES: u64 = 256;
    /// Most table elements.
    pub const MAX_TABLE_ELEMENTS: u64 = 4096;
    /// The wasm stack (deep recursion traps).
    pub const MAX_WASM_STACK: usize = 256 * 1024;
    /// Largest input.
    pub const MAX_INPUT: usize = 64 * 1024;
    /// Largest output.
    pub const MAX_OUTPUT: usize = 64 * 1024;
    /// Longest storage key.
    pub const MAX_KEY_LEN: usize = 256;
    /// Largest storage value (and hashed buffer).
    pub const MAX_VALUE_LEN: usize = 64 * 1024;
    /// Most storage writes in one call.
    pub const MAX_WRITES: usize = 4096;
    /// Most events in one call.
    pub const MAX_EVENTS: usize = 64;
    /// Largest event.
    pub const MAX_EVENT_LEN: usize = 16 * 1024;
    /// Compiled modules kept in memory.
    pub const MAX_CACHED_MODULES: usize = 256;
}

/// Why code is refused or a call could not run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The code exceeds its size bound.
    #[error("code of {len} bytes, at most {max}")]
    CodeTooLarge {
        /// Its size.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Not valid wasm, or uses features outside the deterministic set.
    #[error("invalid wasm: {0}")]
    InvalidWasm(String),
    /// An import that is not a host function of ABI v1 with its signature.
    #[error("invalid import: {0}")]
    InvalidImport(String),
    /// A required export is missing or has the wrong type.
    #[error("missing or mistyped export `{0}`")]
    MissingExport(&'static str),
    /// Floating point is not deterministic enough for consensus.
    #[error("floating point is not allowed: {0}")]
    FloatingPoint(String),
    /// Memory declarations out of bounds.
    #[error("invalid memory: {0}")]
    InvalidMemory(String),
    /// A table beyond the element limit.
    #[error("table larger than the limit")]
    InvalidTable,
    /// A start function (runs at instantiation, unmetered intent).
    #[error("start functions are not allowed")]
    StartFunction,
    /// Code not prepared.
    #[error("unknown code hash")]
    UnknownCode,
    /// A host call exceeded a size bound.
    #[error("host limit: {0}")]
    HostLimit(String),
    /// A pointer outside the contract's memory.
    #[error("memory access out of bounds")]
    OutOfBounds,
    /// A storage write in a query.
    #[error("storage is read-only in queries")]
    ReadOnly,
    /// The engine failed.
    #[error("engine: {0}")]
    Engine(String),
}

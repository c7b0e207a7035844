//! Host ABI v1. On wasm32 these call the VM's imports (module `umbra`);
//! natively they use the thread-local [`crate::test_env`].

use alloc::vec::Vec;

#[cfg(target_arch = "wasm32")]
mod host {
    #[link(wasm_import_module = "umbra")]
    extern "C" {
        pub(super) fn input(out: *mut u8, cap: u32) -> u32;
        pub(super) fn return_value(ptr: *const u8, len: u32);
        pub(super) fn revert(ptr: *const u8, len: u32);
        pub(super) fn storage_get(key: *const u8, key_len: u32, out: *mut u8, cap: u32) -> i64;
        pub(super) fn storage_set(key: *const u8, key_len: u32, value: *const u8, value_len: u32);
        pub(super) fn storage_remove(key: *const u8, key_len: u32);
        pub(super) fn storage_next_key(
            prefix: *const u8,
            prefix_len: u32,
            after: *const u8,
            after_len: i32,
            out: *mut u8,
            cap: u32,
        ) -> i64;
        pub(super) fn caller(out: *mut u8) -> u32;
        pub(super) fn contract_id(out: *mut u8);
        pub(super) fn block_number() -> u32;
        pub(super) fn block_timestamp() -> u64;
        pub(super) fn emit_event(ptr: *const u8, len: u32);
        pub(super) fn random(out: *mut u8, len: u32);
        pub(super) fn derive_secret(salt: *const u8, salt_len: u32, out: *mut u8);
        pub(super) fn gas_left() -> u64;
        pub(super) fn call_contract(
            callee: *const u8,
            input: *const u8,
            input_len: u32,
            gas: u64,
            out: *mut u8,
            cap: u32,
        ) -> i64;
    }
}

/// Reads a variable-length result: try a buffer, grow it if the host says
/// the value is longer.
#[cfg(target_arch = "wasm32")]
fn read_var(mut f: impl FnMut(*mut u8, u32) -> i64) -> Option<Vec<u8>> {
    let mut buf = alloc::vec![0u8; 256];
    loop {
        let n = f(buf.as_mut_ptr(), buf.len() as u32);
        if n < 0 {
            return None;
        }
        let n = n as usize;
        if n <= buf.len() {
            buf.truncate(n);
            return Some(buf);
        }
        buf.resize(n, 0);
    }
}

macro_rules! host_call {
    ($wasm:expr, $native:expr) => {{
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        // SAFETY: host ABI v1 calls with pointers into our own live buffers
        // and their exact lengths; the VM bounds-checks every access.
        let result = unsafe { $wasm };
        #[cfg(not(target_arch = "wasm32"))]
        let result = $native;
        result
    }};
}

/// This invocation's input.
pub fn input() -> Vec<u8> {
    host_call!(
        read_var(|p, c| host::input(p, c) as i64).unwrap_or_default(),
        crate::test_env::with(|e| e.input.clone())
    )
}

/// Sets the output.
pub fn return_value(data: &[u8]) {
    host_call!(
        host::return_value(data.as_ptr(), data.len() as u32),
        crate::test_env::with(|e| e.output = data.to_vec())
    )
}

/// Stops with `reason`; nothing of this call is kept.
pub fn revert(reason: &[u8]) -> ! {
    #[cfg(target_arch = "wasm32")]
    #[allow(unsafe_code)]
    // SAFETY: see `host_call!`; the host does not return from `revert`.
    unsafe {
        host::revert(reason.as_ptr(), reason.len() as u32);
        core::arch::wasm32::unreachable()
    }
    #[cfg(not(target_arch = "wasm32"))]
    std::panic::panic_any(crate::test_env::Reverted(reason.to_vec()))
}

/// A storage value.
pub fn storage_get(key: &[u8]) -> Option<Vec<u8>> {
    host_call!(
        read_var(|p, c| host::storage_get(key.as_ptr(), key.len() as u32, p, c)),
        crate::test_env::with(|e| e.get(key))
    )
}

/// Writes a storage value.
pub fn storage_set(key: &[u8], value: &[u8]) {
    host_call!(
        host::storage_set(key.as_ptr(), key.len() as u32, value.as_ptr(), value.len() as u32),
        crate::test_env::with(|e| e.set(key, Some(value.to_vec())))
    )
}

/// Removes a storage value.
pub fn storage_remove(key: &[u8]) {
    host_call!(host::storage_remove(key.as_ptr(), key.len() as u32), crate::test_env::with(|e| e.set(key, None)))
}

/// The first key with `prefix` after `after`.
pub fn storage_next_key(prefix: &[u8], after: Option<&[u8]>) -> Option<Vec<u8>> {
    host_call!(
        read_var(|p, c| {
            let (ap, al) = after.map_or((core::ptr::null(), -1), |a| (a.as_ptr(), a.len() as i32));
            host::storage_next_key(prefix.as_ptr(), prefix.len() as u32, ap, al, p, c)
        }),
        crate::test_env::with(|e| e.next_key(prefix, after))
    )
}

/// The caller (account), `None` for an anonymous query.
pub fn caller() -> Option<[u8; 32]> {
    host_call!(
        {
            let mut out = [0u8; 32];
            (host::caller(out.as_mut_ptr()) == 1).then_some(out)
        },
        crate::test_env::with(|e| e.caller)
    )
}

/// This contract's id.
pub fn contract_id() -> [u8; 32] {
    host_call!(
        {
            let mut out = [0u8; 32];
            host::contract_id(out.as_mut_ptr());
            out
        },
        crate::test_env::with(|e| e.contract_id)
    )
}

/// The block number of this command (or the synced block, in queries).
pub fn block_number() -> u32 {
    host_call!(host::block_number(), crate::test_env::with(|e| e.block_number))
}

/// The block timestamp (ms).
pub fn block_timestamp() -> u64 {
    host_call!(host::block_timestamp(), crate::test_env::with(|e| e.block_timestamp))
}

/// Emits `event`, a value of the contract's `#[event]` enum, SCALE-encoded:
/// clients decode it by name through the ABI. Like every event, it
/// travels sealed to the caller with the command's output.
pub fn emit<E: crate::Encode>(event: &E) {
    emit_event(&event.encode());
}

/// Emits an event (raw bytes; [`emit`] sends a typed one).
pub fn emit_event(data: &[u8]) {
    host_call!(
        host::emit_event(data.as_ptr(), data.len() as u32),
        crate::test_env::with(|e| e.events.push(data.to_vec()))
    )
}

/// `len` random bytes (deterministic per command, same on every replica).
pub fn random(len: usize) -> Vec<u8> {
    host_call!(
        {
            let mut out = alloc::vec![0u8; len];
            host::random(out.as_mut_ptr(), len as u32);
            out
        },
        crate::test_env::with(|e| e.random(len))
    )
}

/// 32 contract-private bytes for `salt`.
pub fn derive_secret(salt: &[u8]) -> [u8; 32] {
    host_call!(
        {
            let mut out = [0u8; 32];
            host::derive_secret(salt.as_ptr(), salt.len() as u32, out.as_mut_ptr());
            out
        },
        crate::test_env::with(|e| sp_crypto_hashing::blake2_256(&[&e.contract_id[..], salt].concat()))
    )
}

/// Gas left.
pub fn gas_left() -> u64 {
    host_call!(host::gas_left(), u64::MAX)
}

/// Largest output a contract-to-contract call returns to its caller.
pub const MAX_CALL_OUTPUT: usize = 16 * 1024;

/// Why a call to another contract gave no output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The callee reverted with this reason (its writes are discarded).
    Reverted(Vec<u8>),
    /// The callee ran out of the gas it was given.
    OutOfGas,
    /// The callee trapped.
    Trapped,
    /// Refused: no such contract in this cluster, a call back into a
    /// contract already on the call stack, more than four levels deep, or
    /// (natively) no VM.
    Refused,
    /// Its output was longer than [`MAX_CALL_OUTPUT`].
    OutputTooLarge,
}

/// Calls `contract` (of the same cluster) with `input` (a SCALE
/// [`crate::Call`]) and at most `gas`; the callee sees this contract as its
/// caller. Its writes apply only if this whole call succeeds. Natively
/// (`cargo test`) there is no other contract: always `Refused`.
pub fn call_contract(contract: &[u8; 32], input: &[u8], gas: u64) -> Result<Vec<u8>, CallError> {
    host_call!(
        {
            let mut out = alloc::vec![0u8; MAX_CALL_OUTPUT];
            let r = host::call_contract(
                contract.as_ptr(),
                input.as_ptr(),
                input.len() as u32,
                gas,
                out.as_mut_ptr(),
                out.len() as u32,
            );
            if r < 0 {
                return Err(CallError::Refused);
            }
            let len = (r & 0xffff_ffff) as usize;
            if len > MAX_CALL_OUTPUT {
                return Err(CallError::OutputTooLarge);
            }
            out.truncate(len);
            match r >> 32 {
                0 => Ok(out),
                1 => Err(CallError::Reverted(out)),
                2 => Err(CallError::OutOfGas),
                _ => Err(CallError::Trapped),
            }
        },
        {
            let _ = (contract, input, gas);
            Err(CallError::Refused)
        }
    )
}

/// Calls `method` of `contract` with SCALE-encoded `args` (see
/// [`call_contract`]).
pub fn invoke(contract: &[u8; 32], method: &str, args: Vec<u8>, gas: u64) -> Result<Vec<u8>, CallError> {
    use parity_scale_codec::Encode;
    call_contract(contract, &crate::Call { selector: crate::selector(method), args }.encode(), gas)
}

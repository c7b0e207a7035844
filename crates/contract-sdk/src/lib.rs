//! The umbra contract SDK: what a contract (a `wasm32-unknown-unknown`
//! `cdylib`) uses to talk to the VM through host ABI v1.
//!
//! * [`env`]: the host functions — input and output, storage, caller,
//!   contract id, block, events, hashes, randomness, secrets, gas.
//! * [`Value`] and [`Map`]: typed storage cells (SCALE-encoded values under
//!   a prefix).
//! * [`selector`] and [`Call`]: SCALE dispatch by selector (the first four
//!   bytes of BLAKE2-256 of the method name).
//! * [`contract`]: the attribute generating storage, dispatch, the ABI
//!   JSON and the wasm exports from a module of `#[storage]`,
//!   `#[constructor]`, `#[command]` and `#[query]` items, and an optional
//!   `#[event]` enum whose values [`env::emit`] sends to the caller.
//!
//! Built natively (not wasm32), the same functions run against a
//! thread-local in-memory environment ([`test_env`]), so a contract's Rust
//! code can be unit-tested without the VM; built for wasm32 they call the
//! real host.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::vec::Vec;

pub use parity_scale_codec::{self as codec, Decode, Encode};
pub use umbra_contract_macro::contract;

pub mod env;
#[cfg(not(target_arch = "wasm32"))]
pub mod test_env;

/// An account (32 bytes). Arguments, results and event fields of this type
/// are shown by clients as SS58 addresses; `[u8; 32]` stays hex.
pub type AccountId = [u8; 32];

/// A method selector: the first four bytes of BLAKE2-256 of its name.
pub fn selector(name: &str) -> [u8; 4] {
    let hash = sp_crypto_hashing::blake2_256(name.as_bytes());
    [hash[0], hash[1], hash[2], hash[3]]
}

/// Exports the contract's entry points: `entry!(deploy_fn, call_fn)` (two
/// functions of the calling module) defines the wasm exports `deploy` and
/// `call` the VM runs.
#[macro_export]
macro_rules! entry {
    ($deploy:ident, $call:ident) => {
        #[cfg(target_arch = "wasm32")]
        mod __umbra_entry {
            #[allow(unsafe_code)] // the VM finds entry points by their export names
            #[no_mangle]
            pub extern "C" fn deploy() {
                super::$deploy()
            }

            #[allow(unsafe_code)]
            #[no_mangle]
            pub extern "C" fn call() {
                super::$call()
            }
        }
    };
}

/// A decoded call: selector and SCALE-encoded arguments.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Call {
    /// Which method.
    pub selector: [u8; 4],
    /// Its arguments, SCALE-encoded.
    pub args: Vec<u8>,
}

impl Call {
    /// The call in this invocation's input; `None` if it does not decode.
    pub fn from_input() -> Option<Self> {
        let input = env::input();
        Self::decode(&mut &input[..]).ok()
    }

    /// Decodes the arguments as `T` (all bytes consumed).
    pub fn args<T: Decode>(&self) -> Option<T> {
        let mut input = &self.args[..];
        let value = T::decode(&mut input).ok()?;
        input.is_empty().then_some(value)
    }
}

/// A single storage value under `key`.
pub struct Value<T> {
    key: &'static [u8],
    _marker: core::marker::PhantomData<T>,
}

impl<T: Encode + Decode> Value<T> {
    /// The cell at `key`.
    pub const fn new(key: &'static [u8]) -> Self {
        Self { key, _marker: core::marker::PhantomData }
    }

    /// The value, if set and decodable.
    pub fn get(&self) -> Option<T> {
        env::storage_get(self.key).and_then(|v| T::decode(&mut &v[..]).ok())
    }

    /// Sets the value.
    pub fn set(&self, value: &T) {
        env::storage_set(self.key, &value.encode());
    }

    /// Removes the value.
    pub fn clear(&self) {
        env::storage_remove(self.key);
    }
}

/// A map from `K` to `V`: entries under `prefix ‖ SCALE(key)`.
pub struct Map<K, V> {
    prefix: &'static [u8],
    _marker: core::marker::PhantomData<(K, V)>,
}

impl<K: Encode + Decode, V: Encode + Decode> Map<K, V> {
    /// The map under `prefix` (must not be a prefix of another cell's key).
    pub const fn new(prefix: &'static [u8]) -> Self {
        Self { prefix, _marker: core::marker::PhantomData }
    }

    fn key(&self, key: &K) -> Vec<u8> {
        let mut out = self.prefix.to_vec();
        key.encode_to(&mut out);
        out
    }

    /// The value at `key`.
    pub fn get(&self, key: &K) -> Option<V> {
        env::storage_get(&self.key(key)).and_then(|v| V::decode(&mut &v[..]).ok())
    }

    /// Sets the value at `key`.
    pub fn insert(&self, key: &K, value: &V) {
        env::storage_set(&self.key(key), &value.encode());
    }

    /// Removes `key`.
    pub fn remove(&self, key: &K) {
        env::storage_remove(&self.key(key));
    }

    /// Every key, in storage order (SCALE order of the keys).
    pub fn keys(&self) -> Vec<K> {
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        while let Some(next) = env::storage_next_key(self.prefix, after.as_deref()) {
            if let Ok(k) = K::decode(&mut &next[self.prefix.len()..]) {
                out.push(k);
            }
            after = Some(next);
        }
        out
    }
}

/// The wasm32 runtime support every contract needs: a panic handler (a
/// panic traps; the VM reports it and keeps nothing) and a bump allocator
/// over pages grown past the module's initial memory (a call is short and
/// its instance discarded, so memory is never freed; the VM's memory limit
/// bounds it).
#[cfg(target_arch = "wasm32")]
mod wasm_rt {
    use core::alloc::{GlobalAlloc, Layout};
    use core::sync::atomic::{AtomicUsize, Ordering};

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }

    struct Bump {
        next: AtomicUsize,
        end: AtomicUsize,
    }

    const PAGE: usize = 65_536;

    #[allow(unsafe_code)]
    // SAFETY: returns fresh, aligned, never-aliased memory from pages grown
    // for it (or null when the VM refuses to grow); wasm32 contracts are
    // single-threaded.
    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let mut next = self.next.load(Ordering::Relaxed);
            let mut end = self.end.load(Ordering::Relaxed);
            let start = (next + layout.align() - 1) & !(layout.align() - 1);
            let Some(stop) = start.checked_add(layout.size()) else { return core::ptr::null_mut() };
            if next == 0 || stop > end {
                let needed = layout.size() + layout.align();
                let pages = needed.div_ceil(PAGE).max(1);
                let old = core::arch::wasm32::memory_grow(0, pages);
                if old == usize::MAX {
                    return core::ptr::null_mut();
                }
                let base = old * PAGE;
                if next == 0 || base != end {
                    next = base;
                }
                end = base + pages * PAGE;
                self.end.store(end, Ordering::Relaxed);
                return self.alloc_from(next, layout);
            }
            self.next.store(stop, Ordering::Relaxed);
            start as *mut u8
        }

        unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
    }

    impl Bump {
        fn alloc_from(&self, next: usize, layout: Layout) -> *mut u8 {
            let start = (next + layout.align() - 1) & !(layout.align() - 1);
            self.next.store(start + layout.size(), Ordering::Relaxed);
            start as *mut u8
        }
    }

    #[global_allocator]
    static ALLOCATOR: Bump = Bump { next: AtomicUsize::new(0), end: AtomicUsize::new(0) };
}

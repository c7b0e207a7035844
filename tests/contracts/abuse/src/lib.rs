//! Test fixture, not an example: a contract whose methods abuse the VM so
//! the e2e tests can show each abuse is stopped (gas, memory limit, stack
//! limit, output bounds) while the worker keeps serving.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

/// The abusive contract.
#[umbra_contract_sdk::contract]
pub mod abuse {
    use alloc::vec::Vec;
    use core::hint::black_box;

    use umbra_contract_sdk::Value;

    /// A counter, so honest commands change state.
    #[storage]
    pub struct Abuse {
        count: Value<u64>,
    }

    impl Abuse {
        /// Starts the counter at zero.
        #[constructor]
        pub fn open() -> Self {
            let this = Self::storage();
            this.count.set(&0);
            this
        }

        /// Never returns: only gas stops it.
        #[command]
        pub fn spin(&mut self) -> u64 {
            let mut n: u64 = 0;
            loop {
                n = black_box(n.wrapping_add(1));
                if black_box(n) == u64::MAX {
                    return n;
                }
            }
        }

        /// Allocates 64 KiB blocks until memory runs out.
        #[command]
        pub fn hog(&mut self) -> u32 {
            let mut blocks: Vec<Vec<u8>> = Vec::new();
            loop {
                blocks.push(black_box(alloc::vec![1u8; 64 * 1024]));
                if black_box(blocks.len()) == usize::MAX {
                    return 0;
                }
            }
        }

        /// Recurses `depth` frames deep (not a tail call).
        #[command]
        pub fn recurse(&mut self, depth: u32) -> u64 {
            deep(black_box(depth))
        }

        /// Returns `len` bytes.
        #[command]
        pub fn flood(&mut self, len: u32) -> Vec<u8> {
            alloc::vec![0x5a; len as usize]
        }

        /// An honest command: adds one.
        #[command]
        pub fn bump(&mut self) -> u64 {
            let n = self.count.get().unwrap_or(0) + 1;
            self.count.set(&n);
            n
        }

        /// The counter.
        #[query]
        pub fn count(&self) -> u64 {
            self.count.get().unwrap_or(0)
        }

        /// `len` bytes, as a query.
        #[query]
        pub fn flood_query(&self, len: u32) -> Vec<u8> {
            alloc::vec![0x5a; len as usize]
        }
    }

    fn deep(depth: u32) -> u64 {
        if depth == 0 {
            return 0;
        }
        let below = deep(black_box(depth - 1));
        black_box(below).wrapping_add(u64::from(depth))
    }
}

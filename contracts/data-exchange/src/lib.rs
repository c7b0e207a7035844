//! A confidential data exchange written with `#[contract]`. A seller
//! stores a dataset in the contract's (encrypted) storage with a price; a
//! buyer pays and the contract releases the data to that buyer only. The
//! chain sees sealed commands and encrypted state deltas, never the data.
//!
//! Payment uses credits the market operator (the deployer) grants —
//! contracts do not hold chain balances yet, so credits stand in for a
//! token transfer.
//!
//! * constructor `open()`: the deployer operates the market;
//! * command `grant(to: [u8; 32], amount: u128)`: operator only;
//! * command `list(price: u128, data: Vec<u8>) -> u32`: a new listing;
//! * command `buy(listing: u32)`: pays the seller, grants access;
//! * query `read(listing: u32) -> Vec<u8>`: seller and buyers only;
//! * query `listing(listing: u32) -> u128`: the price (anyone);
//! * query `credits() -> u128`: the caller's own credits.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

/// The data exchange contract.
#[umbra_contract_sdk::contract]
pub mod data_exchange {
    use alloc::vec::Vec;

    use umbra_contract_sdk::{codec, env, Decode, Encode, Map, Value};

    /// Largest dataset one listing holds (bytes).
    pub const MAX_DATA: usize = 16 * 1024;

    /// Why a call is refused (the revert reason, SCALE-encoded).
    #[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
    #[codec(crate = codec)]
    pub enum Error {
        /// Anonymous callers cannot list, buy or read.
        #[codec(index = 0)]
        Anonymous,
        /// Only the operator grants credits.
        #[codec(index = 1)]
        NotOperator,
        /// No such listing.
        #[codec(index = 2)]
        NoSuchListing,
        /// Not enough credits.
        #[codec(index = 3)]
        InsufficientCredits,
        /// Neither the seller nor a buyer of the listing.
        #[codec(index = 4)]
        NotABuyer,
        /// Already bought (or one's own listing).
        #[codec(index = 5)]
        AlreadyOwned,
        /// The dataset is larger than `MAX_DATA`.
        #[codec(index = 6)]
        TooLarge,
    }

    /// The exchange's state.
    #[storage]
    pub struct Exchange {
        operator: Value<[u8; 32]>,
        credits: Map<[u8; 32], u128>,
        listings: Value<u32>,
        sellers: Map<u32, ([u8; 32], u128)>,
        data: Map<u32, Vec<u8>>,
        access: Map<(u32, [u8; 32]), bool>,
    }

    impl Exchange {
        /// Opens the exchange, operated by the deployer.
        #[constructor]
        pub fn open() -> Self {
            let this = Self::storage();
            this.operator.set(&env::caller().unwrap_or_default());
            this.listings.set(&0);
            this
        }

        /// Grants `amount` credits to `to` (operator only).
        #[command]
        pub fn grant(&mut self, to: [u8; 32], amount: u128) -> Result<(), Error> {
            if env::caller() != self.operator.get() {
                return Err(Error::NotOperator);
            }
            self.credits.insert(&to, &self.credits.get(&to).unwrap_or(0).saturating_add(amount));
            Ok(())
        }

        /// Lists `data` for sale at `price`; returns the listing number.
        #[command]
        pub fn list(&mut self, price: u128, data: Vec<u8>) -> Result<u32, Error> {
            let seller = env::caller().ok_or(Error::Anonymous)?;
            if data.len() > MAX_DATA {
                return Err(Error::TooLarge);
            }
            let id = self.listings.get().unwrap_or(0);
            self.listings.set(&(id + 1));
            self.sellers.insert(&id, &(seller, price));
            self.data.insert(&id, &data);
            Ok(id)
        }

        /// Buys access to `listing`: the price moves from the caller's
        /// credits to the seller's.
        #[command]
        pub fn buy(&mut self, listing: u32) -> Result<(), Error> {
            let buyer = env::caller().ok_or(Error::Anonymous)?;
            let (seller, price) = self.sellers.get(&listing).ok_or(Error::NoSuchListing)?;
            if buyer == seller || self.access.get(&(listing, buyer)).is_some() {
                return Err(Error::AlreadyOwned);
            }
            let left = self.credits.get(&buyer).unwrap_or(0).checked_sub(price).ok_or(Error::InsufficientCredits)?;
            self.credits.insert(&buyer, &left);
            self.credits.insert(&seller, &self.credits.get(&seller).unwrap_or(0).saturating_add(price));
            self.access.insert(&(listing, buyer), &true);
            Ok(())
        }

        /// The dataset, to its seller and buyers only.
        #[query]
        pub fn read(&self, listing: u32) -> Result<Vec<u8>, Error> {
            let reader = env::caller().ok_or(Error::Anonymous)?;
            let (seller, _) = self.sellers.get(&listing).ok_or(Error::NoSuchListing)?;
            if reader != seller && self.access.get(&(listing, reader)).is_none() {
                return Err(Error::NotABuyer);
            }
            Ok(self.data.get(&listing).unwrap_or_default())
        }

        /// A listing's price (public, so buyers can decide).
        #[query]
        pub fn listing(&self, listing: u32) -> Result<u128, Error> {
            self.sellers.get(&listing).map(|(_, price)| price).ok_or(Error::NoSuchListing)
        }

        /// The caller's own credits.
        #[query]
        pub fn credits(&self) -> Result<u128, Error> {
            let who = env::caller().ok_or(Error::Anonymous)?;
            Ok(self.credits.get(&who).unwrap_or(0))
        }
    }
}

#[cfg(test)]
mod tests {
    use umbra_contract_sdk::{selector, test_env, Call, Encode};

    use super::data_exchange::{self, Error, MAX_DATA};

    const OPERATOR: [u8; 32] = [1; 32];
    const SELLER: [u8; 32] = [2; 32];
    const BUYER: [u8; 32] = [3; 32];
    const OTHER: [u8; 32] = [4; 32];

    fn invoke(caller: Option<[u8; 32]>, method: &str, args: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        test_env::call(caller, Call { selector: selector(method), args }.encode(), data_exchange::call)
    }

    #[test]
    fn data_reaches_paying_buyers_only() {
        test_env::reset();
        test_env::call(Some(OPERATOR), vec![], data_exchange::deploy).unwrap();
        let data = b"patient cohort 7: 412 cases".to_vec();
        assert_eq!(invoke(Some(SELLER), "list", (40u128, data.clone()).encode()).unwrap(), 0u32.encode());
        assert_eq!(invoke(None, "listing", 0u32.encode()).unwrap(), 40u128.encode());
        assert_eq!(invoke(Some(BUYER), "read", 0u32.encode()), Err(Error::NotABuyer.encode()));
        assert_eq!(invoke(Some(BUYER), "buy", 0u32.encode()), Err(Error::InsufficientCredits.encode()));
        assert_eq!(invoke(Some(SELLER), "grant", (BUYER, 100u128).encode()), Err(Error::NotOperator.encode()));
        invoke(Some(OPERATOR), "grant", (BUYER, 100u128).encode()).unwrap();
        invoke(Some(BUYER), "buy", 0u32.encode()).unwrap();
        assert_eq!(invoke(Some(BUYER), "buy", 0u32.encode()), Err(Error::AlreadyOwned.encode()));
        assert_eq!(invoke(Some(SELLER), "buy", 0u32.encode()), Err(Error::AlreadyOwned.encode()));
        assert_eq!(invoke(Some(BUYER), "read", 0u32.encode()).unwrap(), data.encode());
        assert_eq!(invoke(Some(SELLER), "read", 0u32.encode()).unwrap(), data.encode());
        assert_eq!(invoke(Some(OTHER), "read", 0u32.encode()), Err(Error::NotABuyer.encode()));
        assert_eq!(invoke(None, "read", 0u32.encode()), Err(Error::Anonymous.encode()));
        assert_eq!(invoke(Some(BUYER), "credits", vec![]).unwrap(), 60u128.encode());
        assert_eq!(invoke(Some(SELLER), "credits", vec![]).unwrap(), 40u128.encode());
        assert_eq!(invoke(Some(BUYER), "read", 9u32.encode()), Err(Error::NoSuchListing.encode()));
        let huge = vec![0u8; MAX_DATA + 1];
        assert_eq!(invoke(Some(SELLER), "list", (1u128, huge).encode()), Err(Error::TooLarge.encode()));
        assert_eq!(invoke(Some(SELLER), "list", (1u128, vec![7u8]).encode()).unwrap(), 1u32.encode());
    }
}

//! A sealed-bid second-price (Vickrey) auction written with `#[contract]`.
//! Bids live in the contract's (encrypted) storage: while the auction is
//! open nobody — not the seller, not the chain — learns a bid except its
//! own bidder. After the seller closes it, anyone may read the winner and
//! the price (the second-highest bid, or the reserve with one bidder); the
//! losing bids are never revealed.
//!
//! * constructor `new(reserve: u128)`: the deployer is the seller;
//! * command `bid(amount: u128)`: one bid per account, at least the
//!   reserve, raising allowed while open;
//! * command `close()`: seller only;
//! * query `my_bid() -> Option<u128>`: the caller's own bid;
//! * queries `winner() -> [u8; 32]` and `price() -> u128`: once closed.
#![cfg_attr(target_arch = "wasm32", no_std)]

/// The auction contract.
#[umbra_contract_sdk::contract]
pub mod auction {
    use umbra_contract_sdk::{codec, env, Decode, Encode, Map, Value};

    /// Why a call is refused (the revert reason, SCALE-encoded).
    #[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
    #[codec(crate = codec)]
    pub enum Error {
        /// Anonymous callers cannot bid or read their bid.
        #[codec(index = 0)]
        Anonymous,
        /// The bid is below the reserve, or does not raise the caller's
        /// earlier bid.
        #[codec(index = 1)]
        BidTooLow,
        /// The auction is closed (for bids) or still open (for results).
        #[codec(index = 2)]
        WrongPhase,
        /// Only the seller may close.
        #[codec(index = 3)]
        NotSeller,
        /// Closed without any bid.
        #[codec(index = 4)]
        NoBids,
    }

    /// The auction's state. `first`/`second` track the two highest bids so
    /// closing costs O(1) whatever the number of bidders.
    #[storage]
    pub struct Auction {
        seller: Value<[u8; 32]>,
        reserve: Value<u128>,
        closed: Value<bool>,
        bids: Map<[u8; 32], u128>,
        first: Value<([u8; 32], u128)>,
        second: Value<u128>,
    }

    impl Auction {
        /// Opens an auction with a reserve price; the deployer sells.
        #[constructor]
        pub fn new(reserve: u128) -> Self {
            let this = Self::storage();
            this.seller.set(&env::caller().unwrap_or_default());
            this.reserve.set(&reserve);
            this.closed.set(&false);
            this
        }

        /// Places (or raises) the caller's sealed bid.
        #[command]
        pub fn bid(&mut self, amount: u128) -> Result<(), Error> {
            let bidder = env::caller().ok_or(Error::Anonymous)?;
            if self.closed.get().unwrap_or(true) {
                return Err(Error::WrongPhase);
            }
            let earlier = self.bids.get(&bidder);
            if amount < self.reserve.get().unwrap_or(0) || earlier.is_some_and(|b| amount <= b) {
                return Err(Error::BidTooLow);
            }
            self.bids.insert(&bidder, &amount);
            match self.first.get() {
                Some((leader, top)) if amount > top => {
                    // A leader raising its own bid keeps the runner-up.
                    if leader != bidder {
                        self.second.set(&top);
                    }
                    self.first.set(&(bidder, amount));
                }
                Some(_) => {
                    if amount > self.second.get().unwrap_or(0) {
                        self.second.set(&amount);
                    }
                }
                None => self.first.set(&(bidder, amount)),
            }
            Ok(())
        }

        /// Closes the auction (seller only).
        #[command]
        pub fn close(&mut self) -> Result<(), Error> {
            if env::caller() != self.seller.get() {
                return Err(Error::NotSeller);
            }
            if self.closed.get().unwrap_or(false) {
                return Err(Error::WrongPhase);
            }
            self.closed.set(&true);
            Ok(())
        }

        /// The caller's own bid.
        #[query]
        pub fn my_bid(&self) -> Result<Option<u128>, Error> {
            let bidder = env::caller().ok_or(Error::Anonymous)?;
            Ok(self.bids.get(&bidder))
        }

        /// The winner, once closed.
        #[query]
        pub fn winner(&self) -> Result<[u8; 32], Error> {
            self.result().map(|(w, _)| w)
        }

        /// The price the winner pays (second-highest bid, at least the
        /// reserve), once closed.
        #[query]
        pub fn price(&self) -> Result<u128, Error> {
            self.result().map(|(_, p)| p)
        }
    }

    impl Auction {
        fn result(&self) -> Result<([u8; 32], u128), Error> {
            if !self.closed.get().unwrap_or(false) {
                return Err(Error::WrongPhase);
            }
            let (winner, _) = self.first.get().ok_or(Error::NoBids)?;
            let reserve = self.reserve.get().unwrap_or(0);
            Ok((winner, self.second.get().unwrap_or(0).max(reserve)))
        }
    }
}

#[cfg(test)]
mod tests {
    use umbra_contract_sdk::{selector, test_env, Call, Encode};

    use super::auction::{self, Error};

    const SELLER: [u8; 32] = [1; 32];
    const A: [u8; 32] = [2; 32];
    const B: [u8; 32] = [3; 32];
    const C: [u8; 32] = [4; 32];

    fn invoke(caller: Option<[u8; 32]>, method: &str, args: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        test_env::call(caller, Call { selector: selector(method), args }.encode(), auction::call)
    }

    fn open(reserve: u128) {
        test_env::reset();
        test_env::call(Some(SELLER), reserve.encode(), auction::deploy).unwrap();
    }

    #[test]
    fn second_price_to_the_highest_bidder() {
        open(100);
        invoke(Some(A), "bid", 300u128.encode()).unwrap();
        invoke(Some(B), "bid", 500u128.encode()).unwrap();
        invoke(Some(C), "bid", 200u128.encode()).unwrap();
        // Sealed while open: only one's own bid, no results.
        assert_eq!(invoke(Some(A), "my_bid", vec![]).unwrap(), Some(300u128).encode());
        assert_eq!(invoke(Some(SELLER), "my_bid", vec![]).unwrap(), None::<u128>.encode());
        assert_eq!(invoke(None, "my_bid", vec![]), Err(Error::Anonymous.encode()));
        assert_eq!(invoke(Some(SELLER), "winner", vec![]), Err(Error::WrongPhase.encode()));
        assert_eq!(invoke(Some(A), "close", vec![]), Err(Error::NotSeller.encode()));
        invoke(Some(SELLER), "close", vec![]).unwrap();
        assert_eq!(invoke(None, "winner", vec![]).unwrap(), B.encode());
        assert_eq!(invoke(None, "price", vec![]).unwrap(), 300u128.encode());
        assert_eq!(invoke(Some(C), "bid", 900u128.encode()), Err(Error::WrongPhase.encode()));
        assert_eq!(invoke(Some(SELLER), "close", vec![]), Err(Error::WrongPhase.encode()));
    }

    #[test]
    fn reserve_raises_and_single_bidder() {
        open(100);
        assert_eq!(invoke(Some(A), "bid", 99u128.encode()), Err(Error::BidTooLow.encode()));
        invoke(Some(A), "bid", 150u128.encode()).unwrap();
        assert_eq!(invoke(Some(A), "bid", 150u128.encode()), Err(Error::BidTooLow.encode()));
        // The leader raising its own bid does not become its own runner-up.
        invoke(Some(A), "bid", 400u128.encode()).unwrap();
        invoke(Some(SELLER), "close", vec![]).unwrap();
        assert_eq!(invoke(None, "winner", vec![]).unwrap(), A.encode());
        assert_eq!(invoke(None, "price", vec![]).unwrap(), 100u128.encode());
    }

    #[test]
    fn overtaken_leader_becomes_runner_up() {
        open(0);
        invoke(Some(A), "bid", 10u128.encode()).unwrap();
        invoke(Some(B), "bid", 20u128.encode()).unwrap();
        invoke(Some(A), "bid", 30u128.encode()).unwrap();
        invoke(Some(SELLER), "close", vec![]).unwrap();
        assert_eq!(invoke(None, "winner", vec![]).unwrap(), A.encode());
        assert_eq!(invoke(None, "price", vec![]).unwrap(), 20u128.encode());
    }

    #[test]
    fn no_bids_no_winner() {
        open(5);
        invoke(Some(SELLER), "close", vec![]).unwrap();
        assert_eq!(invoke(None, "winner", vec![]), Err(Error::NoBids.encode()));
    }
}

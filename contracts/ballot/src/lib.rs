//! A secret ballot written with `#[contract]`: each account votes once;
//! votes stay in the contract's (encrypted) storage; a voter can read back
//! only its own vote; the tally is readable only after the owner closes the
//! ballot.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

/// The ballot contract.
#[umbra_contract_sdk::contract]
pub mod ballot {
    use alloc::vec::Vec;

    use umbra_contract_sdk::{codec, env, Decode, Encode, Map, Value};

    /// Why a call is refused (the revert reason, SCALE-encoded).
    #[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
    #[codec(crate = codec)]
    pub enum Error {
        /// Anonymous callers cannot vote or read.
        #[codec(index = 0)]
        Anonymous,
        /// Already voted.
        #[codec(index = 1)]
        AlreadyVoted,
        /// No such option.
        #[codec(index = 2)]
        NoSuchOption,
        /// The ballot is closed (or still open, for the tally).
        #[codec(index = 3)]
        WrongPhase,
        /// Only the owner may close.
        #[codec(index = 4)]
        NotOwner,
    }

    /// The ballot's state.
    #[storage]
    pub struct Ballot {
        owner: Value<[u8; 32]>,
        options: Value<u8>,
        closed: Value<bool>,
        votes: Map<[u8; 32], u8>,
        tally: Map<u8, u32>,
    }

    impl Ballot {
        /// Opens a ballot with `options` choices, owned by the deployer.
        #[constructor]
        pub fn new(options: u8) -> Self {
            let this = Self::storage();
            this.owner.set(&env::caller().unwrap_or_default());
            this.options.set(&options);
            this.closed.set(&false);
            this
        }

        /// Casts the caller's vote.
        #[command]
        pub fn vote(&mut self, choice: u8) -> Result<(), Error> {
            let voter = env::caller().ok_or(Error::Anonymous)?;
            if self.closed.get().unwrap_or(true) {
                return Err(Error::WrongPhase);
            }
            if choice >= self.options.get().unwrap_or(0) {
                return Err(Error::NoSuchOption);
            }
            if self.votes.get(&voter).is_some() {
                return Err(Error::AlreadyVoted);
            }
            self.votes.insert(&voter, &choice);
            self.tally.insert(&choice, &(self.tally.get(&choice).unwrap_or(0) + 1));
            Ok(())
        }

        /// Closes the ballot (owner only).
        #[command]
        pub fn close(&mut self) -> Result<(), Error> {
            if env::caller() != self.owner.get() {
                return Err(Error::NotOwner);
            }
            self.closed.set(&true);
            Ok(())
        }

        /// The caller's own vote.
        #[query]
        pub fn my_vote(&self) -> Result<Option<u8>, Error> {
            let voter = env::caller().ok_or(Error::Anonymous)?;
            Ok(self.votes.get(&voter))
        }

        /// Votes per option, once closed.
        #[query]
        pub fn results(&self) -> Result<Vec<u32>, Error> {
            if !self.closed.get().unwrap_or(false) {
                return Err(Error::WrongPhase);
            }
            Ok((0..self.options.get().unwrap_or(0)).map(|o| self.tally.get(&o).unwrap_or(0)).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use umbra_contract_sdk::{selector, test_env, Call, Encode};

    use super::ballot::{self, Error};

    const A: [u8; 32] = [1; 32];
    const B: [u8; 32] = [2; 32];
    const C: [u8; 32] = [3; 32];

    fn invoke(caller: Option<[u8; 32]>, method: &str, args: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        test_env::call(caller, Call { selector: selector(method), args }.encode(), ballot::call)
    }

    #[test]
    fn votes_are_secret_until_the_tally() {
        test_env::reset();
        test_env::call(Some(A), (3u8,).encode(), ballot::deploy).unwrap();
        invoke(Some(A), "vote", (2u8,).encode()).unwrap();
        invoke(Some(B), "vote", (2u8,).encode()).unwrap();
        invoke(Some(C), "vote", (0u8,).encode()).unwrap();
        assert_eq!(invoke(Some(B), "vote", (1u8,).encode()), Err(Error::AlreadyVoted.encode()));
        assert_eq!(invoke(Some(B), "vote", (7u8,).encode()), Err(Error::NoSuchOption.encode()));
        assert_eq!(invoke(None, "vote", (1u8,).encode()), Err(Error::Anonymous.encode()));
        assert_eq!(invoke(Some(B), "my_vote", vec![]).unwrap(), Some(2u8).encode());
        assert_eq!(invoke(Some(A), "results", vec![]), Err(Error::WrongPhase.encode()));
        assert_eq!(invoke(Some(B), "close", vec![]), Err(Error::NotOwner.encode()));
        invoke(Some(A), "close", vec![]).unwrap();
        assert_eq!(invoke(Some(C), "results", vec![]).unwrap(), vec![1u32, 0, 2].encode());
        assert_eq!(invoke(Some(C), "vote", (1u8,).encode()), Err(Error::WrongPhase.encode()));
        assert_eq!(invoke(Some(A), "nope", vec![]), Err(b"unknown method".to_vec()));
    }

    #[test]
    fn abi_describes_the_methods() {
        let abi = ballot::ABI;
        assert!(
            abi.contains("\"constructor\":{\"name\":\"new\",\"args\":[{\"name\":\"options\",\"type\":\"u8\"}]}"),
            "{abi}"
        );
        let sel = selector("vote");
        let hex: String = sel.iter().map(|b| format!("{b:02x}")).collect();
        assert!(abi.contains(&format!("{{\"name\":\"vote\",\"kind\":\"command\",\"selector\":\"0x{hex}\"")), "{abi}");
        assert!(abi.contains("\"name\":\"results\",\"kind\":\"query\""), "{abi}");
    }
}

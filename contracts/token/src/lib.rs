//! A confidential token written with `#[contract]`. Balances live in the
//! contract's (encrypted) storage; `balance_of` answers only the caller's
//! own balance, anonymous callers nothing.
//!
//! * constructor `new(supply: u128)`: the supply, credited to the deployer;
//! * command `transfer(to: AccountId, amount: u128)`, telling the caller
//!   `Event::Transfer { to, amount }`;
//! * query `balance_of(who: AccountId) -> u128`, only `who == caller`;
//! * query `total_supply() -> u128`.
#![cfg_attr(target_arch = "wasm32", no_std)]

/// The token contract.
#[umbra_contract_sdk::contract]
pub mod token {
    use umbra_contract_sdk::{codec, env, AccountId, Decode, Encode, Map, Value};

    /// Why a call fails (the revert reason, SCALE-encoded).
    #[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
    #[codec(crate = codec)]
    pub enum Error {
        /// Undecodable input or unknown method.
        #[codec(index = 0)]
        BadInput,
        /// Not enough balance.
        #[codec(index = 1)]
        InsufficientBalance,
        /// Only the owner may read a balance; anonymous callers nothing.
        #[codec(index = 2)]
        Forbidden,
    }

    /// What the token tells the caller of a command.
    #[event]
    #[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
    #[codec(crate = codec)]
    pub enum Event {
        /// `amount` moved from the caller to `to`.
        #[codec(index = 0)]
        Transfer {
            /// The recipient.
            to: AccountId,
            /// How much.
            amount: u128,
        },
    }

    /// The token's state.
    #[storage]
    pub struct Token {
        balances: Map<AccountId, u128>,
        supply: Value<u128>,
    }

    impl Token {
        /// Mints `supply` to the deployer.
        #[constructor]
        pub fn new(supply: u128) -> Self {
            let this = Self::storage();
            this.balances.insert(&env::caller().unwrap_or_default(), &supply);
            this.supply.set(&supply);
            this
        }

        /// Moves `amount` from the caller to `to`.
        #[command]
        pub fn transfer(&mut self, to: AccountId, amount: u128) -> Result<(), Error> {
            let from = env::caller().ok_or(Error::Forbidden)?;
            let left = self.balances.get(&from).unwrap_or(0).checked_sub(amount).ok_or(Error::InsufficientBalance)?;
            self.balances.insert(&from, &left);
            let credited = self.balances.get(&to).unwrap_or(0).saturating_add(amount);
            self.balances.insert(&to, &credited);
            env::emit(&Event::Transfer { to, amount });
            Ok(())
        }

        /// The caller's own balance.
        #[query]
        pub fn balance_of(&self, who: AccountId) -> Result<u128, Error> {
            if env::caller() != Some(who) {
                return Err(Error::Forbidden);
            }
            Ok(self.balances.get(&who).unwrap_or(0))
        }

        /// The total supply.
        #[query]
        pub fn total_supply(&self) -> u128 {
            self.supply.get().unwrap_or(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use umbra_contract_sdk::{selector, test_env, Call, Encode};

    use super::token::{self, Error};

    const ALICE: [u8; 32] = [1; 32];
    const BOB: [u8; 32] = [2; 32];

    fn invoke(caller: Option<[u8; 32]>, method: &str, args: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        test_env::call(caller, Call { selector: selector(method), args }.encode(), token::call)
    }

    #[test]
    fn transfers_and_private_balances() {
        test_env::reset();
        test_env::call(Some(ALICE), 1_000u128.encode(), token::deploy).unwrap();
        invoke(Some(ALICE), "transfer", (BOB, 300u128).encode()).unwrap();
        assert_eq!(invoke(Some(BOB), "balance_of", BOB.encode()).unwrap(), 300u128.encode());
        assert_eq!(invoke(Some(ALICE), "balance_of", ALICE.encode()).unwrap(), 700u128.encode());
        // Nobody reads someone else's balance; anonymous callers read nothing.
        assert_eq!(invoke(Some(BOB), "balance_of", ALICE.encode()), Err(Error::Forbidden.encode()));
        assert_eq!(invoke(None, "balance_of", ALICE.encode()), Err(Error::Forbidden.encode()));
        // Overspending reverts and changes nothing.
        assert_eq!(invoke(Some(BOB), "transfer", (ALICE, 301u128).encode()), Err(Error::InsufficientBalance.encode()));
        assert_eq!(invoke(Some(BOB), "balance_of", BOB.encode()).unwrap(), 300u128.encode());
        assert_eq!(invoke(None, "total_supply", vec![]).unwrap(), 1_000u128.encode());
        assert_eq!(invoke(Some(ALICE), "mint", vec![]), Err(b"unknown method".to_vec()));
    }

    #[test]
    fn abi_names_the_methods() {
        assert!(token::ABI.contains("\"name\":\"transfer\",\"kind\":\"command\""), "{}", token::ABI);
        assert!(token::ABI.contains("{\"name\":\"who\",\"type\":\"AccountId\"}"), "{}", token::ABI);
        assert!(token::ABI.contains("\"event\":\"Event\""), "{}", token::ABI);
        assert!(
            token::ABI.contains(
                "\"Error\":{\"kind\":\"enum\",\"variants\":[{\"name\":\"BadInput\",\"index\":0,\"fields\":[]}"
            ),
            "{}",
            token::ABI
        );
    }
}

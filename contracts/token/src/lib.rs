//! A confidential token. Balances live in the contract's (encrypted)
//! storage; `balance_of` answers only the caller's own balance.
//!
//! * deploy: `SCALE(u128)` total supply, credited to the deployer;
//! * `transfer(to: [u8; 32], amount: u128)`: command;
//! * `balance_of(who: [u8; 32]) -> u128`: query, only `who == caller`;
//! * `total_supply() -> u128`: query.
#![cfg_attr(target_arch = "wasm32", no_std)]

use umbra_contract_sdk::{env, selector, Call, Decode, Encode, Map, Value};

/// Balances by account.
const BALANCES: Map<[u8; 32], u128> = Map::new(b"b/");
/// Total supply.
const SUPPLY: Value<u128> = Value::new(b"supply");

/// Why a call fails (the revert reason, SCALE-encoded).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[codec(crate = umbra_contract_sdk::codec)]
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

fn fail(e: Error) -> ! {
    env::revert(&e.encode())
}

/// Constructor.
pub fn deploy() {
    let supply = u128::decode(&mut &env::input()[..]).unwrap_or_else(|_| fail(Error::BadInput));
    let owner = env::caller().unwrap_or_else(|| fail(Error::Forbidden));
    BALANCES.insert(&owner, &supply);
    SUPPLY.set(&supply);
}

/// Commands and queries.
pub fn call() {
    let call = Call::from_input().unwrap_or_else(|| fail(Error::BadInput));
    let caller = env::caller();
    if call.selector == selector("transfer") {
        let (to, amount): ([u8; 32], u128) = call.args().unwrap_or_else(|| fail(Error::BadInput));
        let from = caller.unwrap_or_else(|| fail(Error::Forbidden));
        let balance = BALANCES.get(&from).unwrap_or(0);
        let left = balance.checked_sub(amount).unwrap_or_else(|| fail(Error::InsufficientBalance));
        BALANCES.insert(&from, &left);
        let credited = BALANCES.get(&to).unwrap_or(0).saturating_add(amount);
        BALANCES.insert(&to, &credited);
        env::emit_event(&(b"transfer", amount).encode());
    } else if call.selector == selector("balance_of") {
        let who: [u8; 32] = call.args().unwrap_or_else(|| fail(Error::BadInput));
        if caller != Some(who) {
            fail(Error::Forbidden);
        }
        env::return_value(&BALANCES.get(&who).unwrap_or(0).encode());
    } else if call.selector == selector("total_supply") {
        env::return_value(&SUPPLY.get().unwrap_or(0).encode());
    } else {
        fail(Error::BadInput);
    }
}

umbra_contract_sdk::entry!(deploy, call);

#[cfg(test)]
mod tests {
    use umbra_contract_sdk::test_env;

    use super::*;

    const ALICE: [u8; 32] = [1; 32];
    const BOB: [u8; 32] = [2; 32];

    fn invoke(caller: Option<[u8; 32]>, method: &str, args: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        test_env::call(caller, Call { selector: selector(method), args }.encode(), call)
    }

    #[test]
    fn transfers_and_private_balances() {
        test_env::reset();
        test_env::call(Some(ALICE), 1_000u128.encode(), deploy).unwrap();
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
        assert_eq!(invoke(Some(ALICE), "mint", vec![]), Err(Error::BadInput.encode()));
    }
}

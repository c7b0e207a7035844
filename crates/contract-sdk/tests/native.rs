//! The native environment: storage rolled back on revert, and calls to
//! other contracts refused (there is no VM natively).

use umbra_contract_sdk::{
    env::{self, CallError},
    test_env,
};

#[test]
fn revert_rolls_back_and_cross_contract_calls_are_refused_natively() {
    test_env::reset();
    let ok = test_env::call(Some([1; 32]), vec![], || env::storage_set(b"k", b"v"));
    assert_eq!(ok, Ok(vec![]));
    let reverted = test_env::call(Some([1; 32]), vec![], || {
        env::storage_set(b"k", b"changed");
        env::revert(b"no")
    });
    assert_eq!(reverted, Err(b"no".to_vec()));
    assert_eq!(env::storage_get(b"k"), Some(b"v".to_vec()));
    assert_eq!(env::call_contract(&[2; 32], b"input", 1_000), Err(CallError::Refused));
    assert_eq!(env::invoke(&[2; 32], "method", vec![], 1_000), Err(CallError::Refused));
}

//! Secret-holding types must not be printable: no `Debug`, no `Display`.
//! (Zeroize-on-drop is provided by the wrapped `Zeroizing`/`ZeroizeOnDrop`
//! fields and the explicit `Drop` impls.)
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use core::fmt::{Debug, Display};

use static_assertions::assert_not_impl_any;
use umbra_crypto::{aead, ed25519, envelope, sr25519, suri, x25519, Pair};

assert_not_impl_any!(Pair: Debug, Display);
assert_not_impl_any!(sr25519::Pair: Debug, Display);
assert_not_impl_any!(umbra_crypto::hierarchy::MasterSecret: Debug, Display);
assert_not_impl_any!(umbra_crypto::hierarchy::ClusterKey: Debug, Display);
assert_not_impl_any!(umbra_crypto::hierarchy::ContractKey: Debug, Display);
assert_not_impl_any!(ed25519::Pair: Debug, Display);
assert_not_impl_any!(x25519::Secret: Debug, Display);
assert_not_impl_any!(x25519::SharedSecret: Debug, Display);
assert_not_impl_any!(suri::SecretUri: Debug, Display);
assert_not_impl_any!(suri::RootSecret: Debug, Display);
assert_not_impl_any!(aead::Key: Debug, Display);
assert_not_impl_any!(envelope::SealingSession: Debug, Display);
assert_not_impl_any!(envelope::OpeningSession: Debug, Display);
assert_not_impl_any!(envelope::Recipient: Debug, Display);
assert_not_impl_any!(envelope::Opened: Debug, Display);
assert_not_impl_any!(envelope::ReplyKey: Debug, Display);
assert_not_impl_any!(envelope::ReplyOpener: Debug, Display);
assert_not_impl_any!(envelope::ReplyBase: Debug, Display);

#[test]
fn error_messages_carry_no_secret() {
    // A bad phrase error names the problem, not the phrase.
    let uri = suri::SecretUri::parse("correct horse battery staple").unwrap();
    let err = match umbra_crypto::Pair::from_suri(umbra_crypto::Scheme::Sr25519, &uri) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("not a BIP-39 phrase"),
    };
    assert!(!err.contains("horse"), "{err}");
}

//! Envelope parsing and opening must never panic on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use umbra_crypto::{
    envelope::{Envelope, Recipient, DEFAULT_MAX_ENCODED_LEN},
    labels::{Domain, Label},
    x25519,
};

fuzz_target!(|data: &[u8]| {
    let recipient = Recipient::new(x25519::Secret::from_bytes([7u8; 32]));
    let label = Label::Envelope.in_domain(Domain::Production);
    if let Ok(env) = Envelope::from_bytes(data, DEFAULT_MAX_ENCODED_LEN) {
        assert_eq!(env.to_bytes(), data, "canonical round trip");
        let _ = recipient.open(&env, label, b"context");
        if let Ok(session) = recipient.session(&env, label) {
            let _ = session.open(&env, b"");
        }
    }
});

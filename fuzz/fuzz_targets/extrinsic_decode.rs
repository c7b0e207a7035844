//! Extrinsic decoding and signature checking must never panic, and whatever
//! decodes must re-encode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use umbra_primitives::{
    extrinsic::{AdditionalSigned, EncodedCall, UncheckedExtrinsic},
    H256,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(xt) = UncheckedExtrinsic::<EncodedCall>::decode_bounded(data, 1 << 20) {
        assert_eq!(xt.to_bytes(), data, "canonical round trip");
        let additional = AdditionalSigned {
            spec_version: 1,
            transaction_version: 1,
            genesis_hash: H256::zero(),
            era_block_hash: H256::zero(),
        };
        let _ = xt.verify_signature(&additional);
    }
});

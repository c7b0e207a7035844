//! Arbitrary bytes as SCALE-encoded evidence, as a raw DCAP quote against
//! real collateral, as collateral in every accepted form and as an IAS
//! report: verification must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parity_scale_codec::Decode;
use umbra_attestation::{verify, DcapCollateral, Evidence, IasReport, PlatformKind, Policy};

const NOW: u64 = 1_751_328_000;

fuzz_target!(|data: &[u8]| {
    let policy = Policy::new(&PlatformKind::ALL, &[[7u8; 32]], 3_600);
    let collateral = DcapCollateral::decode(&mut &data[..]).ok();
    if let Ok(evidence) = Evidence::decode(&mut &data[..]) {
        let _ = verify(&evidence, collateral.as_ref(), NOW, &policy);
    }
    let _ = DcapCollateral::from_json(data);
    let _ = DcapCollateral::from_scale(data);
    if let Ok(report) = IasReport::from_json(data) {
        let _ = verify(&Evidence::Ias(report), None, NOW, &policy);
    }
    let (quote, rest) = data.split_at(data.len() / 2);
    if let Ok(collateral) = DcapCollateral::decode(&mut &rest[..]) {
        let _ = verify(&Evidence::Dcap(quote.to_vec()), Some(&collateral), NOW, &policy);
    }
});

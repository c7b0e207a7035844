//! Bounded property tests (the CI counterpart of `fuzz/fuzz_targets/
//! attestation_verify.rs`): no input makes parsing or verification panic,
//! and mutated real evidence never verifies.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::path::PathBuf;
use std::sync::OnceLock;

use parity_scale_codec::Decode;
use proptest::prelude::*;
use umbra_attestation::{time, verify, DcapCollateral, Evidence, IasReport, PlatformKind, Policy};

fn testdata(rel: &str) -> Vec<u8> {
    let root = std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    std::fs::read(root.join(rel)).unwrap()
}

struct Samples {
    quote: Vec<u8>,
    collateral: DcapCollateral,
    ias: IasReport,
}

fn samples() -> &'static Samples {
    static SAMPLES: OnceLock<Samples> = OnceLock::new();
    SAMPLES.get_or_init(|| Samples {
        quote: testdata("sgx/dcap-qvl/sgx_quote"),
        collateral: DcapCollateral::from_json(&testdata("sgx/dcap-qvl/sgx_quote_collateral.json")).unwrap(),
        ias: IasReport::from_json(&testdata("sgx/phala/ias_attestation_2021.json")).unwrap(),
    })
}

const NOW: u64 = 1_751_328_000; // 2025-07-01T00:00:00Z, inside the SGX sample's window

fn policy() -> Policy<'static> {
    Policy::new(&PlatformKind::ALL, &[[7u8; 32]], 3_600)
}

/// Applies edits (position, new byte) and an optional truncation.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    let len = bytes.len();
    for &(at, value) in edits {
        bytes[at % len] = value;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut % (len + 1));
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Evidence::decode(&mut bytes.as_slice());
        let _ = DcapCollateral::decode(&mut bytes.as_slice());
        let _ = DcapCollateral::from_json(&bytes);
        let _ = DcapCollateral::from_scale(&bytes);
        let _ = DcapCollateral::from_bytes(&bytes);
        let _ = IasReport::from_json(&bytes);
        let _ = umbra_attestation::dcap::platform_of(&bytes);
        let _ = verify(&Evidence::Dcap(bytes.clone()), Some(&samples().collateral), NOW, &policy());
        let ias = IasReport { report: bytes.clone(), ..samples().ias.clone() };
        let _ = verify(&Evidence::Ias(ias), None, NOW, &policy());
        let ias = IasReport { signing_cert: bytes.clone(), ..samples().ias.clone() };
        let _ = verify(&Evidence::Ias(ias), None, NOW, &policy());
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = time::parse_rfc3339(text);
            let _ = time::parse_ias_timestamp(text);
        }
    }

    #[test]
    fn decoded_evidence_verifies_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        if let Ok(evidence) = Evidence::decode(&mut bytes.as_slice()) {
            let _ = verify(&evidence, None, NOW, &policy());
        }
    }

    #[test]
    fn mutated_quotes_never_verify(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let s = samples();
        let quote = mutate(s.quote.clone(), &edits, cut);
        let result = verify(&Evidence::Dcap(quote.clone()), Some(&s.collateral), NOW, &policy());
        // Only the untouched quote (or one with extra zero padding removed) may verify.
        if result.is_ok() {
            prop_assert!(s.quote.starts_with(&quote) || quote == s.quote);
        }
    }

    #[test]
    fn mutated_collateral_never_verifies(
        field in 0usize..9,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let s = samples();
        let mut collateral = s.collateral.clone();
        let target = match field {
            0 => &mut collateral.pck_crl_issuer_chain,
            1 => &mut collateral.root_ca_crl,
            2 => &mut collateral.pck_crl,
            3 => &mut collateral.tcb_info_issuer_chain,
            4 => &mut collateral.tcb_info,
            5 => &mut collateral.tcb_info_signature,
            6 => &mut collateral.qe_identity_issuer_chain,
            7 => &mut collateral.qe_identity,
            _ => &mut collateral.qe_identity_signature,
        };
        *target = mutate(std::mem::take(target), &edits, cut);
        let result = verify(&Evidence::Dcap(s.quote.clone()), Some(&collateral), NOW, &policy());
        prop_assert!(result.is_err() || collateral == s.collateral);
    }
}

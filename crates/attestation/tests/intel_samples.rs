//! Real Intel evidence from `../shared/testdata/sgx` (never produced by our
//! code): DCAP SGX and TDX quotes with their collateral, Phala's SCALE
//! collateral, and two IAS reports. Each must verify with the documented
//! status inside its window and fail with a precise error outside it, with a
//! swapped root, or with any byte flipped.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::path::PathBuf;

use umbra_attestation::{
    dcap::INTEL_SGX_ROOT_CA_DER, ias, time::parse_rfc3339, verify, DcapCollateral, Error, Evidence, IasReport,
    PlatformKind, Policy, TcbStatus,
};

fn testdata(rel: &str) -> Vec<u8> {
    let root = std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    let path = root.join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const ALL: &[PlatformKind] = &PlatformKind::ALL;
const DAY: u64 = 86_400;

fn at(text: &str) -> u64 {
    parse_rfc3339(text).unwrap()
}

fn sgx() -> (Evidence, DcapCollateral) {
    let quote = testdata("sgx/dcap-qvl/sgx_quote");
    let collateral = DcapCollateral::from_json(&testdata("sgx/dcap-qvl/sgx_quote_collateral.json")).unwrap();
    (Evidence::Dcap(quote), collateral)
}

fn tdx() -> (Evidence, DcapCollateral) {
    let quote = testdata("sgx/dcap-qvl/tdx_quote");
    let collateral = DcapCollateral::from_json(&testdata("sgx/dcap-qvl/tdx_quote_collateral.json")).unwrap();
    (Evidence::Dcap(quote), collateral)
}

/// Inside the SGX sample's window (2025-06-19T10:56:11Z .. 2025-07-19T10:01:18Z).
fn sgx_now() -> u64 {
    at("2025-07-01T00:00:00Z")
}

/// Inside the TDX sample's window (2025-06-19T10:32:27Z .. 2025-07-19T10:00:35Z).
fn tdx_now() -> u64 {
    at("2025-07-01T00:00:00Z")
}

fn policy() -> Policy<'static> {
    Policy::new(ALL, &[], 3_600)
}

#[test]
fn embedded_roots_are_intels() {
    assert_eq!(INTEL_SGX_ROOT_CA_DER, testdata("sgx/dcap-qvl/TrustedRootCA.der").as_slice());
    assert_eq!(
        ias::INTEL_IAS_ROOT_CA_PEM.as_bytes(),
        testdata("sgx/phala/intel_sgx_attestation_report_signing_ca.pem").as_slice()
    );
}

#[test]
fn sgx_quote_verifies_with_expected_fields() {
    let (evidence, collateral) = sgx();
    let verified = verify(&evidence, Some(&collateral), sgx_now(), &policy()).unwrap();
    assert_eq!(verified.platform, PlatformKind::SgxDcap);
    assert_eq!(verified.tcb_status, TcbStatus::ConfigurationAndSwHardeningNeeded);
    assert_eq!(verified.confidence_level(), 4);
    assert_eq!(verified.advisories, ["INTEL-SA-00289", "INTEL-SA-00615"]);
    let m = verified.measurement.as_bytes();
    assert_eq!(m.len(), 68);
    let mrenclave = hex::encode(&m[..32]);
    let mrsigner = hex::encode(&m[36..]);
    assert!(mrenclave.starts_with("33d8736d") && mrenclave.ends_with("2fbb"), "{mrenclave}");
    assert!(mrsigner.starts_with("815f42f1") && mrsigner.ends_with("e0e6"), "{mrsigner}");
    let mut expected = [0u8; 64];
    expected[..13].copy_from_slice(b"Hello, world!");
    assert_eq!(verified.report_data, expected);
    assert_eq!(verified.issued_at_secs, None);
}

#[test]
fn tdx_quote_verifies_up_to_date() {
    let (evidence, collateral) = tdx();
    let verified = verify(&evidence, Some(&collateral), tdx_now(), &policy()).unwrap();
    assert_eq!(verified.platform, PlatformKind::TdxDcap);
    assert_eq!(verified.tcb_status, TcbStatus::UpToDate);
    assert_eq!(verified.confidence_level(), 1);
    assert!(verified.advisories.is_empty());
    assert_eq!(verified.measurement.as_bytes().len(), 5 * 48);
}

#[test]
fn windows_are_enforced_at_both_ends() {
    let (evidence, collateral) = sgx();
    // First and last second of the window verify.
    for now in [at("2025-06-19T10:56:11Z"), at("2025-07-19T10:01:18Z")] {
        verify(&evidence, Some(&collateral), now, &policy()).unwrap();
    }
    for now in [at("2025-07-19T10:01:19Z"), at("2025-07-19T10:01:18Z") + 30 * DAY, at("2030-01-01T00:00:00Z")] {
        let err = verify(&evidence, Some(&collateral), now, &policy()).unwrap_err();
        assert!(matches!(err, Error::CollateralNotValidAt(_)), "{now}: {err}");
    }
    for now in [at("2025-06-19T10:56:10Z"), at("2024-01-01T00:00:00Z")] {
        let err = verify(&evidence, Some(&collateral), now, &policy()).unwrap_err();
        assert!(matches!(err, Error::CollateralNotValidAt(_)), "{now}: {err}");
    }
    let (evidence, collateral) = tdx();
    let err = verify(&evidence, Some(&collateral), at("2025-07-19T10:00:36Z"), &policy()).unwrap_err();
    assert!(matches!(err, Error::CollateralNotValidAt(_)), "{err}");
}

#[test]
fn phala_scale_collateral_decodes_and_has_its_own_window() {
    let collateral = DcapCollateral::from_bytes(&testdata("sgx/phala/dcap_quote_collateral.scale")).unwrap();
    // The same collateral re-encoded in our form (DER CRLs) reads back equal.
    assert_eq!(DcapCollateral::from_bytes(&parity_scale_codec::Encode::encode(&collateral)).unwrap(), collateral);
    assert_eq!(DcapCollateral::from_bytes(&testdata("sgx/dcap-qvl/sgx_quote_collateral.json")).unwrap(), sgx().1);
    let (evidence, _) = sgx();
    let verified = verify(&evidence, Some(&collateral), at("2023-12-01T00:00:00Z"), &policy()).unwrap();
    assert_eq!(verified.platform, PlatformKind::SgxDcap);
    // The 2023 collateral is expired in 2025 and not yet issued in early 2023.
    for now in [sgx_now(), at("2023-11-21T00:39:25Z")] {
        let err = verify(&evidence, Some(&collateral), now, &policy()).unwrap_err();
        assert!(matches!(err, Error::CollateralNotValidAt(_)), "{err}");
    }
}

#[test]
fn swapped_root_is_rejected() {
    let other_root = ias::intel_ias_root_der().unwrap();
    let mut swapped = policy();
    swapped.dcap_root_der = Some(&other_root);
    for (evidence, collateral, now) in [(sgx().0, sgx().1, sgx_now()), (tdx().0, tdx().1, tdx_now())] {
        let err = verify(&evidence, Some(&collateral), now, &swapped).unwrap_err();
        assert!(matches!(err, Error::CertificateChain { .. }), "{err}");
    }
}

#[test]
fn platform_policy_and_missing_collateral() {
    let (evidence, collateral) = sgx();
    let only_tdx = Policy::new(&[PlatformKind::TdxDcap], &[], 0);
    assert_eq!(verify(&evidence, Some(&collateral), sgx_now(), &only_tdx), Err(Error::PlatformNotAccepted("sgx-dcap")));
    assert_eq!(verify(&evidence, None, sgx_now(), &policy()), Err(Error::MissingCollateral));
    let Evidence::Dcap(quote) = &evidence else { unreachable!() };
    let mut long = quote.clone();
    long.push(1);
    let err = verify(&Evidence::Dcap(long), Some(&collateral), sgx_now(), &policy()).unwrap_err();
    assert!(matches!(err, Error::Malformed { what: "DCAP quote", .. }), "{err}");
}

fn ias_2021() -> IasReport {
    IasReport::from_json(&testdata("sgx/phala/ias_attestation_2021.json")).unwrap()
}

fn ias_2023() -> IasReport {
    IasReport::from_json(&testdata("sgx/phala/ias_attestation_2023.json")).unwrap()
}

#[test]
fn ias_reports_verify_with_expected_fields() {
    let issued_2021 = at("2021-09-12T18:06:20Z");
    let verified = verify(&Evidence::Ias(ias_2021()), None, issued_2021 + 60, &policy()).unwrap();
    assert_eq!(verified.platform, PlatformKind::SgxIas);
    assert_eq!(verified.tcb_status, TcbStatus::SwHardeningNeeded);
    assert_eq!(verified.confidence_level(), 2);
    assert_eq!(verified.advisories, ["INTEL-SA-00334"]);
    assert_eq!(verified.issued_at_secs, Some(issued_2021));
    let m = verified.measurement.as_bytes();
    let mrenclave = hex::encode(&m[..32]);
    assert!(mrenclave.starts_with("518422fa") && mrenclave.ends_with("d0f3"), "{mrenclave}");
    let mrsigner = hex::encode(&m[36..]);
    assert!(mrsigner.starts_with("815f42f1") && mrsigner.ends_with("e0e6"), "{mrsigner}");

    let issued_2023 = at("2023-10-18T09:01:15Z");
    let verified = verify(&Evidence::Ias(ias_2023()), None, issued_2023 + 60, &policy()).unwrap();
    assert_eq!(verified.tcb_status, TcbStatus::OutOfDate);
    assert_eq!(verified.confidence_level(), 5);
    let mut expected = [0u8; 64];
    expected[..11].copy_from_slice(b"Hello World");
    assert_eq!(verified.report_data, expected);
}

#[test]
fn ias_reports_too_old_or_from_the_future_are_rejected() {
    let issued = at("2023-10-18T09:01:15Z");
    let report = Evidence::Ias(ias_2023());
    assert_eq!(
        verify(&report, None, issued + 3_601, &policy()),
        Err(Error::TooOld { age_secs: 3_601, max_secs: 3_600 })
    );
    assert_eq!(verify(&report, None, issued - 301, &policy()), Err(Error::FromFuture { ahead_secs: 301 }));
    // After the signing certificate expired (2026-11-20) even a lenient age
    // limit does not help.
    let lenient = Policy::new(ALL, &[], u64::MAX / 2);
    assert_eq!(verify(&report, None, at("2026-11-21T00:00:00Z"), &lenient), Err(Error::IasCertificateExpired));
}

#[test]
fn ias_with_a_foreign_root_is_untrusted() {
    let mut swapped = policy();
    swapped.ias_root_der = Some(INTEL_SGX_ROOT_CA_DER);
    let err = verify(&Evidence::Ias(ias_2021()), None, at("2021-09-12T18:07:00Z"), &swapped).unwrap_err();
    // The SGX root is an ECDSA certificate: refused before any RSA check.
    assert!(matches!(err, Error::Malformed { what: "IAS CA certificate", .. }), "{err}");
    // An RSA certificate that did not issue the signing certificate.
    let signer = ias_2021().signing_cert;
    let mut self_signed = policy();
    self_signed.ias_root_der = Some(&signer);
    assert_eq!(
        verify(&Evidence::Ias(ias_2021()), None, at("2021-09-12T18:07:00Z"), &self_signed),
        Err(Error::IasCertificateUntrusted)
    );
}

//! `umbra attestation verify` on Intel's real samples: the verdict inside
//! the collateral window, a one-line precise rejection outside it, for a
//! tampered quote, and for input that is not evidence.
#![allow(clippy::unwrap_used)] // test code

use std::path::PathBuf;
use std::process::{Command, Output};

fn testdata(rel: &str) -> String {
    let root = std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    root.join(rel).to_string_lossy().into_owned()
}

fn umbra(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_umbra")).args(args).output().unwrap()
}

fn rejected(args: &[&str]) -> String {
    let out = umbra(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn dcap_sample_verdict_and_rejections() {
    let quote = testdata("sgx/dcap-qvl/sgx_quote");
    let collateral = testdata("sgx/dcap-qvl/sgx_quote_collateral.json");
    let out = umbra(&["attestation", "verify", &quote, "--collateral", &collateral, "--now", "2025-07-01T00:00:00Z"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "VALID at 2025-07-01T00:00:00Z",
        "platform:         sgx-dcap",
        "mrenclave:      0x33d8736d",
        "TCB status:       ConfigurationAndSWHardeningNeeded",
        "advisories:       INTEL-SA-00289, INTEL-SA-00615",
        "confidence level: 4",
    ] {
        assert!(text.contains(expected), "{expected} missing in {text}");
    }

    let err =
        rejected(&["attestation", "verify", &quote, "--collateral", &collateral, "--now", "2025-08-01T00:00:00Z"]);
    assert!(err.contains("REJECTED") && err.contains("collateral is not valid at the given time"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(&quote).unwrap();
    bytes[100] ^= 1; // inside the enclave report: the quote signature no longer matches
    let tampered = dir.path().join("tampered");
    std::fs::write(&tampered, &bytes).unwrap();
    let tampered = tampered.to_string_lossy().into_owned();
    let err =
        rejected(&["attestation", "verify", &tampered, "--collateral", &collateral, "--now", "2025-07-01T00:00:00Z"]);
    assert!(err.contains("REJECTED") && err.contains("DCAP verification failed"), "{err}");

    let err = rejected(&["attestation", "verify", &quote, "--now", "2025-07-01T00:00:00Z"]);
    assert!(err.contains("needs collateral"), "{err}");
    let err = rejected(&["attestation", "verify", &quote, "--collateral", &collateral, "--now", "July 2025"]);
    assert!(err.contains("--now"), "{err}");
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"\x09not evidence").unwrap();
    let err = rejected(&["attestation", "verify", &junk.to_string_lossy()]);
    assert!(err.contains("neither a DCAP quote"), "{err}");
}

#[test]
fn ias_sample_verdict_and_age_limit() {
    let report = testdata("sgx/phala/ias_attestation_2021.json");
    let out = umbra(&["attestation", "verify", &report, "--now", "2021-09-12T18:10:00Z"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("platform:         sgx-ias") && text.contains("TCB status:       SWHardeningNeeded"),
        "{text}"
    );
    assert!(
        text.contains("advisories:       INTEL-SA-00334") && text.contains("issued at:        2021-09-12T18:06:20Z")
    );
    let err = rejected(&["attestation", "verify", &report, "--now", "2021-09-12T23:00:00Z"]);
    assert!(err.contains("attestation is") && err.contains("s old"), "{err}");
}

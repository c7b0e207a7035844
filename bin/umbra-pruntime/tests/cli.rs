//! The binary's argument handling (also makes `cargo test` build it for the
//! end-to-end tests).
#![allow(clippy::unwrap_used)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_umbra-pruntime");

#[test]
fn help_and_bad_arguments() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--tee"));
    // Missing --data-dir: usage error.
    let out = Command::new(BIN).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // No default TEE: the SIMULATED one is never chosen silently.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN).arg("--data-dir").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tee"), "{}", String::from_utf8_lossy(&out.stderr));
    // Gramine without /dev/attestation: one error line, status 1.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--tee", "gramine-sgx", "--attestation-dir"])
        .arg(dir.path().join("missing"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Error:"), "{}", String::from_utf8_lossy(&out.stderr));
}

//! The binary's argument handling (also makes `cargo test` build it for the
//! end-to-end tests).
#![allow(clippy::unwrap_used)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_umbra-relayer");

#[test]
fn help_and_bad_arguments() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--from-genesis"));
    let out = Command::new(BIN).args(["--signer", "not a secret uri //"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Error: --signer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(BIN)
        .args(["--signer", "//Ferdie", "--collateral", "/nonexistent/collateral.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // No default payer: a well-known dev key is never used silently.
    let out = Command::new(BIN).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--signer"), "{}", String::from_utf8_lossy(&out.stderr));
}

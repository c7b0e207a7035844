//! The `umbra-node` command line: specs, bad flags and bad files give one
//! clear line and a non-zero exit. (Also makes `cargo test` build the
//! binary that the end-to-end suite drives.)
#![allow(clippy::unwrap_used)] // test code

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_umbra-node")).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn build_spec_and_errors() {
    let (code, out, _) = run(&["build-spec", "--chain", "local"]);
    assert_eq!(code, Some(0));
    let spec: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(spec["chainType"], "Local");
    assert_eq!(spec["genesis"]["runtime"]["auraAuthorities"].as_array().unwrap().len(), 2);

    let (code, out, _) = run(&["build-spec", "--chain", "dev", "--raw"]);
    assert_eq!(code, Some(0));
    let raw: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(raw["genesis"]["raw"]["top"].as_object().unwrap().len() > 10);

    let (code, _, err) = run(&["build-spec", "--chain", "/nonexistent/spec.json"]);
    assert_eq!(code, Some(1));
    assert!(err.starts_with("Error: chain spec: cannot open"), "{err}");
    assert_eq!(err.lines().count(), 1);

    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, b"{not json").unwrap();
    let (code, _, err) = run(&["build-spec", "--chain", garbage.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("is not a valid chain spec"), "{err}");

    // Usage errors exit with 2.
    let (code, _, _) = run(&["--pruning", "sometimes"]);
    assert_eq!(code, Some(2));
    let (code, _, _) = run(&["--rpc-port", "99999"]);
    assert_eq!(code, Some(2));
    // A validator without keys is refused before anything starts.
    let (code, _, err) = run(&["--validator", "--base-path", dir.path().to_str().unwrap(), "--no-rpc"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("needs aura and gran keys"), "{err}");
    // purge-chain asks for confirmation.
    let (code, _, err) = run(&["purge-chain", "--base-path", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("-y"), "{err}");
    let (code, _, err) = run(&[
        "key",
        "insert",
        "--base-path",
        dir.path().to_str().unwrap(),
        "--key-type",
        "aura",
        "--suri",
        "not a phrase",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.starts_with("Error: key:"), "{err}");
}

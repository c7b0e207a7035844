//! An unmodified subxt (0.51.1, the newest on crates.io; dynamic API)
//! against a running node: a balance read, a transfer signed with subxt's
//! own keys watched to finality, its events decoded, balances checked
//! (tests/subxt). subxt is built here, once, in its own crate and target
//! directory (`target/subxt`), so the workspace's clean build never pays
//! for it.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::{path::PathBuf, process::Command};

use umbra_e2e::NodeProcess;

#[test]
fn subxt_reads_transfers_and_decodes_events() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let manifest = root.join("tests/subxt/Cargo.toml");
    let target = root.join("target/subxt");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--locked", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "building tests/subxt: {}", String::from_utf8_lossy(&out.stderr));

    let base = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(base.path(), &[]);
    let out = Command::new(target.join("debug/umbra-subxt-check")).arg(node.ws_url()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "subxt check failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().last(), Some("OK"), "{stdout}");
}

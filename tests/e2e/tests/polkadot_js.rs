//! An unmodified generic client, `@polkadot/api` from npm, against a running
//! node: metadata, `System.Account`, a `balances.transferKeepAlive` signed by
//! Alice with `@polkadot/keyring`, finality, balances (tests/polkadot-js).
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::{path::PathBuf, process::Command};

use umbra_e2e::NodeProcess;

#[test]
fn polkadot_js_transfer() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../polkadot-js");
    if !dir.join("node_modules/@polkadot/api/package.json").is_file() {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("npm is installed");
        assert!(out.status.success(), "npm ci failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let base = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(base.path(), &[]);
    let out = Command::new("node")
        .arg("transfer.mjs")
        .arg(node.ws_url())
        .current_dir(&dir)
        .output()
        .expect("node is installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "polkadot.js test failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().last() == Some("OK"), "{stdout}");
}

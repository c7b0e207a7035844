//! An unmodified generic client, `@polkadot/api` from npm, against a running
//! node: metadata V16, `System.Account`, a `balances.transferKeepAlive`
//! signed by Alice with `@polkadot/keyring`, `paymentInfo`, finality,
//! balances, `derive.balances.all`, `derive.chain.bestNumberFinalized`,
//! `subscribeFinalizedHeads`, `System.Events` with phases
//! (tests/polkadot-js); and `umbra key inspect` agreeing with
//! `@polkadot/util-crypto` on keys and SS58 addresses.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::{path::PathBuf, process::Command};

use umbra_e2e::NodeProcess;

/// tests/polkadot-js with its npm packages installed (`npm ci` once).
fn scripts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../polkadot-js");
    if !dir.join("node_modules/@polkadot/util-crypto/package.json").is_file() {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("npm is installed");
        assert!(out.status.success(), "npm ci failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    dir
}

#[test]
fn polkadot_js_transfer() {
    let dir = scripts();
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

#[test]
fn umbra_key_agrees_with_polkadot_util_crypto() {
    let dir = scripts();
    let phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
    let seed = format!("0x{}", "5a".repeat(32));
    let mut cases = Vec::new();
    for prefix in [0u16, 2, 30, 42, 1000] {
        for suri in ["//Alice", "//Bob//stash", "//Alice/soft", &format!("{phrase}//hard/soft///secret"), &seed] {
            cases.push(serde_json::json!({ "suri": suri, "scheme": "sr25519", "prefix": prefix }));
        }
        // ed25519 has hard derivation only.
        for suri in ["//Alice", "//Bob//stash", &format!("{phrase}//hard///secret"), &seed] {
            cases.push(serde_json::json!({ "suri": suri, "scheme": "ed25519", "prefix": prefix }));
        }
    }
    let out = Command::new("node")
        .arg("keys.mjs")
        .arg(serde_json::Value::Array(cases.clone()).to_string())
        .current_dir(&dir)
        .output()
        .expect("node is installed");
    assert!(out.status.success(), "keys.mjs: {}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(theirs.len(), cases.len());
    for case in &theirs {
        let (suri, scheme, prefix) =
            (case["suri"].as_str().unwrap(), case["scheme"].as_str().unwrap(), &case["prefix"]);
        let out = Command::new(umbra_e2e::binary("umbra"))
            .args(["key", "inspect", "--output-type", "json", "--scheme", scheme, "-n", &prefix.to_string(), "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(suri.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success(), "umbra key inspect {scheme} {suri}");
        let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(ours["publicKey"], case["publicKey"], "{scheme} {suri}");
        assert_eq!(ours["ss58Address"], case["address"], "{scheme} {suri} prefix {prefix}");
    }
}

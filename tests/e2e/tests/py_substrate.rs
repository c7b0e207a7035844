//! An unmodified generic Python client, py-substrate-interface from PyPI
//! (pinned in tests/py-substrate/requirements.txt), installed into a
//! virtual environment this test creates, against a running node: full
//! metadata, blocks and digests, events, `System.Account` pages, payment
//! info, signed mortal transfers with a tip to inclusion and to finality
//! with exact fees, header subscriptions, runtime calls and a tampered
//! extrinsic refused with code 1010 (tests/py-substrate/check.py).
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::{path::PathBuf, process::Command};

use umbra_e2e::NodeProcess;

#[test]
fn py_substrate_interface_works_unmodified() {
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../py-substrate");
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let out = Command::new("python3").arg("-m").arg("venv").arg(&venv).output().expect("python3 is installed");
    assert!(out.status.success(), "python3 -m venv: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(scripts.join("requirements.txt"))
        .output()
        .unwrap();
    assert!(out.status.success(), "pip install: {}", String::from_utf8_lossy(&out.stderr));

    let node = NodeProcess::start(&dir.path().join("node"), &[]);
    let out = Command::new(venv.join("bin/python")).arg(scripts.join("check.py")).arg(node.ws_url()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "check.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().last(), Some("OK"), "{stdout}");
}

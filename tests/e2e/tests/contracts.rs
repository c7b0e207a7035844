//! Contract code upload through the CLI on a real dev node: valid code is
//! stored under its hash (readable over RPC); a float-using module, an
//! import outside the host ABI and a re-upload are refused with their own
//! error names and store nothing.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::process::Command;

use umbra_e2e::{binary, NodeProcess};
use umbra_runtime::modules::contracts;

fn module(extra: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module {extra} (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#
    ))
    .unwrap()
}

#[test]
fn upload_validates_on_chain() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&dir.path().join("node"), &[]);
    let upload = |name: &str, code: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, code).unwrap();
        Command::new(binary("umbra")).args(["--url", &node.ws_url(), "contract", "upload"]).arg(&path).output().unwrap()
    };
    let stored = |code: &[u8]| {
        let hash = umbra_primitives::H256(umbra_crypto::hashing::blake2_256(code));
        let key = format!("0x{}", hex::encode(contracts::keys::code(&hash)));
        node.rpc("state_getStorage", serde_json::json!([key]))["result"].as_str().map(str::to_string)
    };

    let good = module("");
    let out = upload("good.wasm", &good);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("code 0x{}", hex::encode(umbra_crypto::hashing::blake2_256(&good)))));
    // SCALE Vec<u8>: compact length, then the code.
    assert!(stored(&good).unwrap().ends_with(&hex::encode(&good)));

    for (name, code, error) in [
        ("float.wasm", module(r#"(func (drop (f64.const 2.5)))"#), "Contracts.FloatingPoint"),
        ("import.wasm", module(r#"(import "env" "fd_write" (func))"#), "Contracts.InvalidImport"),
        ("again.wasm", good.clone(), "Contracts.CodeExists"),
    ] {
        let out = upload(name, &code);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(error), "{name}: {stderr}");
        if name != "again.wasm" {
            assert!(stored(&code).is_none(), "{name} stored");
        }
    }
}

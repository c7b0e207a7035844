//! End-to-end tests of `umbra key …`: the real binary, its stdout, stderr
//! and exit status. Expected keys come from `../shared/testdata`.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Output, Stdio},
};

use serde_json::Value;

fn umbra(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_umbra"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start umbra");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = umbra(args, None);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a failing command; returns its single stderr line.
fn fails(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = umbra(args, stdin);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail with status 1");
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("Error: "), "{err}");
    err
}

fn vectors() -> Value {
    let root = std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    serde_json::from_str(&std::fs::read_to_string(root.join("vectors/known-answer-vectors.json")).unwrap()).unwrap()
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .map(|rest| rest.trim_start_matches(':').trim())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[test]
fn inspect_alice() {
    let out = ok(&["key", "inspect", "//Alice"]);
    assert!(out.starts_with("Secret Key URI `//Alice` is account:"));
    assert_eq!(field(&out, "Account ID"), "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
    assert_eq!(field(&out, "SS58 Address"), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
    assert_eq!(field(&out, "Network ID"), "substrate");
}

#[test]
fn inspect_every_dev_key_both_schemes() {
    let v = vectors();
    for (scheme, table) in [("sr25519", "sr25519_hard"), ("sr25519", "sr25519_soft"), ("ed25519", "ed25519_hard")] {
        for (uri, public) in v["dev_keys"][table].as_object().unwrap() {
            let out = ok(&["key", "inspect", "--scheme", scheme, "--output-type", "json", uri]);
            let json: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(
                json["publicKey"].as_str().unwrap(),
                format!("0x{}", public.as_str().unwrap()),
                "{scheme} {uri}"
            );
            assert_eq!(json["secretKeyUri"].as_str().unwrap(), uri);
            // Soft derivation forgets the seed, as subkey prints it.
            assert_eq!(json["secretSeed"].as_str().unwrap() == "n/a", table == "sr25519_soft");
        }
    }
}

#[test]
fn inspect_phrase_networks_and_json_field_order() {
    let v = vectors();
    let phrase = v["dev_keys"]["dev_phrase"].as_str().unwrap();
    let out = ok(&["key", "inspect", phrase, "--output-type", "json"]);
    let keys: Vec<&str> = out.lines().filter_map(|l| l.trim().split('"').nth(1)).collect();
    assert_eq!(
        keys,
        ["secretPhrase", "networkId", "secretSeed", "publicKey", "ss58PublicKey", "accountId", "ss58Address"]
    );
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["secretSeed"],
        format!("0x{}", v["dev_keys"]["mini_secret_from_phrase_no_password"].as_str().unwrap())
    );
    assert_eq!(json["ss58Address"], v["dev_keys"]["sr25519_root_ss58_42"]);
    for (network, address) in v["dev_keys"]["alice_sr25519_ss58"].as_object().unwrap() {
        let prefix = network.split_whitespace().next().unwrap();
        let out = ok(&["key", "inspect", "//Alice", "--network", prefix]);
        assert_eq!(field(&out, "SS58 Address"), address.as_str().unwrap());
    }
    assert_eq!(
        field(&ok(&["key", "inspect", "//Alice", "-n", "polkadot"]), "SS58 Address"),
        "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"
    );
}

#[test]
fn inspect_public_inputs() {
    let out = ok(&["key", "inspect", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"]);
    assert!(out.starts_with("Public Key URI"));
    assert_eq!(field(&out, "Account ID"), "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
    // A Polkadot address keeps its network.
    let out = ok(&["key", "inspect", "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"]);
    assert_eq!(field(&out, "Network ID/Version"), "polkadot");
    let out = ok(&["key", "inspect", "--public", "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"]);
    assert_eq!(field(&out, "SS58 Address"), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
}

#[test]
fn secret_from_stdin_and_password() {
    let out = umbra(&["key", "inspect", "-"], Some(b"//Alice\n"));
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"));
    // ///password and --password give the same key; it differs from no password.
    let a = ok(&["key", "inspect", "//Alice///secret"]);
    let b = ok(&["key", "inspect", "//Alice", "--password", "secret"]);
    assert_eq!(field(&a, "Account ID"), field(&b, "Account ID"));
    assert_ne!(field(&a, "Account ID"), "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
}

#[test]
fn generate_then_inspect() {
    for (words, scheme) in [("12", "sr25519"), ("24", "ed25519")] {
        let out = ok(&["key", "generate", "--words", words, "--scheme", scheme, "--output-type", "json"]);
        let json: Value = serde_json::from_str(&out).unwrap();
        let phrase = json["secretPhrase"].as_str().unwrap();
        assert_eq!(phrase.split(' ').count(), words.parse::<usize>().unwrap());
        let again: Value =
            serde_json::from_str(&ok(&["key", "inspect", "--scheme", scheme, "--output-type", "json", phrase]))
                .unwrap();
        assert_eq!(again["accountId"], json["accountId"]);
    }
    // Two runs give different phrases.
    assert_ne!(ok(&["key", "generate"]), ok(&["key", "generate"]));
}

#[test]
fn sign_and_verify() {
    for scheme in ["sr25519", "ed25519"] {
        let sig = ok(&["key", "sign", "--scheme", scheme, "--suri", "//Alice", "--message", "hello"]);
        let sig = sig.trim();
        assert_eq!(sig.len(), 128);
        let alice = field(&ok(&["key", "inspect", "--scheme", scheme, "//Alice"]), "SS58 Address").to_string();
        let out = ok(&["key", "verify", "--scheme", scheme, sig, &alice, "--message", "hello"]);
        assert_eq!(out.trim(), "Signature verifies correctly.");
        // From stdin, and with the secret URI as the signer.
        let out = umbra(&["key", "verify", "--scheme", scheme, sig, "//Alice"], Some(b"hello"));
        assert!(out.status.success());
        // Wrong message, wrong signer, forged signature.
        fails(&["key", "verify", "--scheme", scheme, sig, &alice, "--message", "hellp"], None);
        fails(&["key", "verify", "--scheme", scheme, sig, "//Bob", "--message", "hello"], None);
        let mut forged = sig.to_string();
        forged.replace_range(0..2, if &sig[0..2] == "00" { "01" } else { "00" });
        fails(&["key", "verify", "--scheme", scheme, &forged, &alice, "--message", "hello"], None);
    }
    // --hex messages.
    let sig = ok(&["key", "sign", "--suri", "//Bob", "--hex", "--message", "0x68656c6c6f"]);
    ok(&["key", "verify", sig.trim(), "//Bob", "--message", "hello"]);
}

#[test]
fn verify_known_signature_vector() {
    let v = vectors();
    let good = &v["sr25519"]["valid_signature"];
    let public = format!("0x{}", good["public"].as_str().unwrap());
    let sig = good["signature"].as_str().unwrap();
    let msg = good["message_utf8"].as_str().unwrap();
    ok(&["key", "verify", sig, &public, "--message", msg]);
    let legacy = &v["sr25519"]["legacy_unmarked_signature_must_be_rejected"];
    let err = fails(
        &[
            "key",
            "verify",
            legacy["signature"].as_str().unwrap(),
            &format!("0x{}", legacy["public"].as_str().unwrap()),
            "--message",
            legacy["message_utf8"].as_str().unwrap(),
        ],
        None,
    );
    assert!(err.contains("Signature invalid"));
}

#[test]
fn bad_input_is_one_clear_line() {
    assert!(fails(&["key", "inspect", "not a phrase at all"], None).contains("BIP-39"));
    assert!(fails(&["key", "inspect", "5GoKvZWG5ZPYL1WUovuHW3zJBWBP5eT8CbqjdRY4Q6iMa9cj"], None).contains("checksum"));
    assert!(fails(&["key", "inspect", "0x1234"], None).contains("seed"));
    assert!(fails(&["key", "inspect", "--scheme", "ed25519", "//Alice/soft"], None).contains("soft"));
    assert!(fails(&["key", "inspect", "--public", "0xzz"], None).contains("64 hex"));
    assert!(fails(&["key", "inspect", &"a".repeat(5000)], None).contains("too long"));
    assert!(fails(&["key", "verify", "abcd", "//Alice", "--message", "x"], None).contains("64 bytes"));
    assert!(fails(&["key", "sign", "--suri", "//Alice", "--hex", "--message", "xyz"], None).contains("hex"));
    // A failing command never echoes the secret it was given.
    let err = fails(&["key", "inspect", "correct horse battery staple"], None);
    assert!(!err.contains("horse"));
    // Usage errors come from clap with status 2.
    let out = umbra(&["key", "inspect", "//Alice", "--network", "46"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = umbra(&["key", "generate", "--words", "13"], None);
    assert_eq!(out.status.code(), Some(2));
}

//! The Gramine manifest template renders to valid TOML whose security
//! settings are the ones docs/TEE.md promises: production mode, DCAP
//! attestation, the pRuntime binary as a trusted (measured) file and never
//! an allowed (unmeasured) one.
#![allow(clippy::unwrap_used)] // test code

use std::path::PathBuf;

fn rendered() -> toml_edit::DocumentMut {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/gramine/umbra-pruntime.manifest.template");
    let template = std::fs::read_to_string(&path).unwrap();
    // What gramine-manifest's Jinja substitutes.
    let text = template
        .replace("{{ gramine.libos }}", "/usr/lib/x86_64-linux-gnu/gramine/libsysdb.so")
        .replace("{{ gramine.runtimedir() }}", "/usr/lib/x86_64-linux-gnu/gramine/runtime/glibc")
        .replace("{{ arch_libdir }}", "/lib/x86_64-linux-gnu")
        .replace("{{ pruntime }}", "/build/umbra-pruntime")
        .replace("{{ data_dir }}", "/var/lib/umbra-pruntime");
    assert!(!text.contains("{{"), "every placeholder is known");
    text.parse().unwrap()
}

#[test]
fn manifest_is_production_dcap_with_a_measured_binary() {
    let doc = rendered();
    let sgx = doc["sgx"].as_table().unwrap();
    assert_eq!(sgx["debug"].as_bool(), Some(false));
    assert_eq!(sgx["remote_attestation"].as_str(), Some("dcap"));
    assert!(sgx["isvprodid"].as_integer().is_some() && sgx["isvsvn"].as_integer().is_some());
    let trusted: Vec<&str> = sgx["trusted_files"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(trusted.contains(&"file:/build/umbra-pruntime"));
    let allowed: Vec<&str> = sgx["allowed_files"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(allowed.iter().all(|f| !f.contains("umbra-pruntime\"") && !f.ends_with("/umbra-pruntime")));
    assert_eq!(doc["libos"]["entrypoint"].as_str(), Some("/umbra-pruntime"));
    let argv: Vec<&str> = doc["loader"]["argv"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(argv.windows(2).any(|w| w == ["--tee", "gramine-sgx"]));
}

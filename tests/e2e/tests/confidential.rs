//! `umbra devnet --demo`: the confidential token deployed into a 2-replica
//! cluster by random dispatch; a sealed transfer; signed balance queries on
//! both replicas answer only the caller's own balance with the same state
//! root; an anonymous query is refused; and a chain observer (block bodies
//! and the Contracts storage) never sees the transfer's plaintext.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::time::Duration;

use parity_scale_codec::Encode;
use umbra_e2e::{free_port, http_rpc, Devnet};
use umbra_primitives::AccountId32;

const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn demo_token_is_confidential() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut devnet = Devnet::start(&dir.path().join("devnet"), port, &["--demo"]);
    devnet.wait_line("the demo to complete", Duration::from_secs(300), |l| l.starts_with("demo complete"));
    let seen = &devnet.seen;
    let line = |prefix: &str| {
        seen.iter().map(|l| l.trim_start()).find(|l| l.starts_with(prefix)).unwrap_or_default().to_string()
    };
    assert!(line("cluster 0x").contains("created by random dispatch"), "{seen:#?}");
    assert!(line("contract 0x").contains("ready"), "{seen:#?}");
    assert!(line("transfer:").starts_with("transfer: ()"), "{seen:#?}");
    let bob = line("Bob on replica 1:");
    let alice = line("Alice on replica 2:");
    assert!(bob.contains("\"250\" (block"), "{bob}");
    assert!(alice.contains("\"999750\" (block"), "{alice}");
    // Both replicas answer from the same committed state.
    let root = |l: &str| l.split("state root ").nth(1).and_then(|r| r.split(',').next()).unwrap_or("").to_string();
    let anonymous = line("anonymous:");
    assert!(anonymous.contains("reverted with error 0x02"), "{anonymous}");
    assert_eq!(root(&bob).len(), 66, "{bob}");
    assert_eq!(root(&alice), root(&bob), "{alice} {bob}");

    // A chain observer: no block body and no Contracts value holds the
    // transfer's arguments (Bob's account followed by 250u128) or the
    // supply.
    let bob_id = AccountId32::parse(BOB).unwrap();
    let transfer_args = (bob_id.0, 250u128).encode();
    let supply = 1_000_000u128.encode();
    let finalized = http_rpc(port, "chain_getFinalizedHead", serde_json::json!([]));
    let head = http_rpc(port, "chain_getHeader", serde_json::json!([finalized["result"]]));
    let top = u32::from_str_radix(head["result"]["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let mut extrinsics = 0;
    for n in 1..=top {
        let hash = http_rpc(port, "chain_getBlockHash", serde_json::json!([n]));
        let block = http_rpc(port, "chain_getBlock", serde_json::json!([hash["result"]]));
        for xt in block["result"]["block"]["extrinsics"].as_array().unwrap() {
            let bytes = hex::decode(xt.as_str().unwrap().trim_start_matches("0x")).unwrap();
            assert!(!contains(&bytes, &transfer_args), "block {n} carries the transfer in plaintext");
            assert!(!contains(&bytes, &supply[..12]), "block {n} carries the supply in plaintext");
            extrinsics += 1;
        }
    }
    assert!(extrinsics > 5);
    let prefix = format!("0x{}", hex::encode(umbra_crypto::hashing::twox_128(b"Contracts")));
    let keys = http_rpc(port, "state_getKeysPaged", serde_json::json!([prefix, 1000]));
    let keys = keys["result"].as_array().unwrap();
    assert!(keys.len() > 5, "{keys:?}");
    for key in keys {
        let value = http_rpc(port, "state_getStorage", serde_json::json!([key]));
        let Some(hex_value) = value["result"].as_str() else { continue };
        let bytes = hex::decode(hex_value.trim_start_matches("0x")).unwrap();
        assert!(!contains(&bytes, &transfer_args), "Contracts storage {key} holds the transfer");
    }
    let _ = std::process::Command::new("kill").args(["-INT", &devnet.child.id().to_string()]).status();
    let _ = devnet.child.wait();
}

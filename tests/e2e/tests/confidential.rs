//! `umbra devnet --demo`: the confidential token deployed into a 2-replica
//! cluster by random dispatch; a sealed transfer; signed balance queries on
//! both replicas answer only the caller's own balance with the same state
//! root; an anonymous query is refused; and a chain observer (block bodies
//! and the Contracts storage) never sees the transfer's plaintext.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::time::Duration;

use parity_scale_codec::Encode;
use umbra_e2e::{free_port, Devnet};
use umbra_primitives::AccountId32;

const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

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
    assert!(bob.contains(" 250 (block"), "{bob}");
    assert!(alice.contains(" 999750 (block"), "{alice}");
    // Both replicas answer from the same committed state.
    let root = |l: &str| l.split("state root ").nth(1).and_then(|r| r.split(',').next()).unwrap_or("").to_string();
    let anonymous = line("anonymous:");
    assert!(anonymous.contains("anonymous: Err(Forbidden) (block"), "{anonymous}");
    assert_eq!(root(&bob).len(), 66, "{bob}");
    assert_eq!(root(&alice), root(&bob), "{alice} {bob}");

    // A chain observer: no block body and no Contracts value holds the
    // transfer's arguments (Bob's account followed by 250u128) or the
    // supply.
    let bob_id = AccountId32::parse(BOB).unwrap();
    let observed = devnet.observed();
    assert!(observed.extrinsics.len() > 5 && observed.storage.len() > 5);
    observed.assert_hidden("the transfer's arguments", &(bob_id.0, 250u128).encode());
    let supply = 1_000_000u128.encode();
    assert!(!observed.extrinsics.iter().any(|x| x.windows(12).any(|w| w == &supply[..12])), "the supply in a block");

    // Section 5: the client checks every answer against the chain. The
    // token's cluster has a committed root; an answer claiming another root
    // for that block, or from a worker far behind the finalized head, is
    // refused; the true one passes.
    let contract = line("contract 0x").split_whitespace().nth(1).unwrap().to_string();
    let contract = umbra_primitives::H256(hex::decode(&contract[2..]).unwrap().try_into().unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use umbra_runtime::modules::contracts;
        let client = umbra_client::Client::connect(&devnet.ws_url()).await.unwrap();
        let cluster = client.contract_info(&contract).await.unwrap().unwrap().cluster;
        let state: contracts::CommitState =
            client.storage_value(&contracts::keys::commit_state(&cluster)).await.unwrap().unwrap();
        let finalized = client.finalized_hash().await.unwrap();
        let head = client.header(finalized).await.unwrap().unwrap().number;
        let honest = umbra_client::contracts::wire::QueryResponse {
            block_number: state.block,
            state_root: state.state_root,
            synced_block: head,
            status: contracts::ExecStatus::Success,
            gas_used: 0,
            output: vec![],
        };
        let timeout = Duration::from_secs(10);
        client.check_fresh(&cluster, &honest, 5, timeout).await.unwrap();
        let forged_root = umbra_client::contracts::wire::QueryResponse {
            state_root: umbra_primitives::H256([0x5a; 32]),
            ..honest.clone()
        };
        let refused = client.check_fresh(&cluster, &forged_root, 5, timeout).await.unwrap_err();
        assert!(matches!(refused, umbra_client::Error::Stale(ref m) if m.contains("not the committed")), "{refused}");
        let behind = umbra_client::contracts::wire::QueryResponse { synced_block: head.saturating_sub(50), ..honest };
        let refused = client.check_fresh(&cluster, &behind, 5, timeout).await.unwrap_err();
        assert!(
            matches!(refused, umbra_client::Error::Stale(ref m) if m.contains("behind the finalized head")),
            "{refused}"
        );
    });
}

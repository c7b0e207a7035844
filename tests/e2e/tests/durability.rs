//! Durability: SIGKILL the node while transfers are flowing, restart it on
//! the same base path; every block reported finalized before the kill is
//! still there with the same hash, and the chain continues.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use umbra_client::Client;
use umbra_crypto::{suri::SecretUri, Pair, Scheme};
use umbra_e2e::{wait_for, NodeProcess};
use umbra_primitives::{extrinsic::MultiAddress, AccountId32};
use umbra_runtime::{modules::balances, RuntimeCall};

fn dev(name: &str) -> Pair {
    Pair::from_suri(Scheme::Sr25519, &SecretUri::parse(&format!("//{name}")).unwrap()).unwrap()
}

#[test]
fn sigkill_loses_nothing_finalized() {
    let base = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(base.path(), &[]);
    let url = node.ws_url();

    // Transfers flow from Bob and Charlie in the background.
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let stop = stop.clone();
        let url = url.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let Ok(client) = Client::connect(&url).await else { return 0u32 };
                let mut sent = 0;
                let signers = [dev("Bob"), dev("Charlie")];
                let mut nonces = [0u32, 0u32];
                while !stop.load(Ordering::Relaxed) {
                    for (i, signer) in signers.iter().enumerate() {
                        let call = RuntimeCall::Balances(balances::Call::transfer_keep_alive {
                            dest: MultiAddress::Id(AccountId32(dev("Dave").public())),
                            value: 1_000_000_000 + u128::from(sent),
                        });
                        let Ok(xt) = client.sign(call, signer, nonces[i], 0).await else { return sent };
                        if client.submit(&xt).await.is_ok() {
                            nonces[i] += 1;
                            sent += 1;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                sent
            })
        })
    };

    // Record every finalized block the node reports.
    let mut reported: BTreeMap<u32, String> = BTreeMap::new();
    wait_for("8 finalized blocks with transfers", Duration::from_secs(120), || {
        let hash = node.rpc("chain_getFinalizedHead", serde_json::json!([]))["result"].as_str()?.to_string();
        let header = node.rpc("chain_getHeader", serde_json::json!([hash]))["result"].clone();
        let number = u32::from_str_radix(header["number"].as_str()?.trim_start_matches("0x"), 16).ok()?;
        reported.insert(number, hash);
        (number >= 8).then_some(())
    });
    // Fill in every finalized number below the head from the node itself.
    let head = *reported.keys().last().unwrap();
    for n in 1..=head {
        let h = node.rpc("chain_getBlockHash", serde_json::json!([n]))["result"].as_str().unwrap().to_string();
        reported.insert(n, h);
    }
    let body_count: usize = (1..=head)
        .map(|n| {
            node.rpc("chain_getBlock", serde_json::json!([reported[&n]]))["result"]["block"]["extrinsics"]
                .as_array()
                .unwrap()
                .len()
                - 1
        })
        .sum();
    assert!(body_count > 0, "transfers were flowing");

    node.kill9();
    stop.store(true, Ordering::Relaxed);
    let sent = sender.join().unwrap();
    assert!(sent > 0);

    let node = NodeProcess::start(base.path(), &[]);
    for (n, hash) in &reported {
        let now = node.rpc("chain_getBlockHash", serde_json::json!([n]))["result"].clone();
        assert_eq!(now.as_str(), Some(hash.as_str()), "finalized block #{n} changed after SIGKILL");
    }
    let (_, finalized) = node.heads();
    assert!(finalized >= head, "finalized went back from #{head} to #{finalized}");
    wait_for("the chain to continue after restart", Duration::from_secs(60), || {
        (node.heads().1 >= head + 3).then_some(())
    });
}

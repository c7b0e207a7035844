//! Node features through their public interfaces: chain spec files (raw and
//! readable), keystore + `--validator`, export/import of blocks, Prometheus
//! metrics, finality and read proofs, storage changes, subscriptions.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::{process::Command, time::Duration};

use jsonrpsee::{core::client::SubscriptionClientT, rpc_params, ws_client::WsClientBuilder};
use parity_scale_codec::Decode;
use serde_json::{json, Value};
use umbra_client::Client;
use umbra_consensus::justification::{self, FinalityProof};
use umbra_crypto::{ed25519, suri::SecretUri, Pair, Scheme};
use umbra_e2e::{binary, wait_for, NodeProcess};
use umbra_primitives::{extrinsic::MultiAddress, AccountId32, H256};
use umbra_runtime::{modules::balances, modules::system, RuntimeCall};

fn node_cmd(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(binary("umbra-node")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn hash_of(v: &Value) -> H256 {
    H256::from_slice(&hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap())
}

fn alice_grandpa() -> ed25519::Public {
    ed25519::Pair::from_suri(&SecretUri::parse("//Alice").unwrap()).unwrap().public()
}

#[test]
fn chain_specs_keystore_and_block_export() {
    let dir = tempfile::tempdir().unwrap();
    // build-spec: readable and raw forms give the same genesis.
    let (ok, readable, _) = node_cmd(&["build-spec", "--chain", "dev"]);
    assert!(ok);
    let spec: Value = serde_json::from_str(&readable).unwrap();
    assert_eq!(spec["id"], "dev");
    assert!(spec["genesis"]["runtime"]["balances"].as_array().unwrap().len() >= 11);
    let (ok, raw, _) = node_cmd(&["build-spec", "--chain", "dev", "--raw"]);
    assert!(ok);
    let raw_path = dir.path().join("dev-raw.json");
    std::fs::write(&raw_path, &raw).unwrap();
    // A spec file that is not JSON, or has a bad account, is refused with one line.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, readable.replace("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "5Notanaddress"))
        .unwrap();
    let (ok, _, err) = node_cmd(&["build-spec", "--chain", bad.to_str().unwrap()]);
    assert!(!ok && err.starts_with("Error: chain spec:"), "{err}");

    // Keys inserted into the keystore make `--validator` author and finalize.
    let base = dir.path().join("validator");
    for (kind, suri) in [("aura", "//Alice"), ("gran", "//Alice")] {
        let (ok, out, err) = node_cmd(&[
            "key",
            "insert",
            "--chain",
            raw_path.to_str().unwrap(),
            "--base-path",
            base.to_str().unwrap(),
            "--key-type",
            kind,
            "--suri",
            suri,
        ]);
        assert!(ok, "{err}");
        assert!(out.contains(&format!("inserted {kind} key")));
    }
    let node =
        NodeProcess::start(&base, &["--chain", raw_path.to_str().unwrap(), "--validator", "--prometheus-port", "0"]);
    let dev_genesis = {
        let other = tempfile::tempdir().unwrap();
        let dev = NodeProcess::start(other.path(), &[]);
        dev.rpc("chain_getBlockHash", json!([0]))["result"].clone()
    };
    assert_eq!(node.rpc("chain_getBlockHash", json!([0]))["result"], dev_genesis, "raw spec = built-in dev spec");
    wait_for("6 finalized blocks", Duration::from_secs(90), || (node.heads().1 >= 6).then_some(()));

    // Metrics.
    let log = std::fs::read_to_string(&node.log).unwrap();
    let metrics_port: u16 = log
        .lines()
        .find(|l| l.contains("Prometheus"))
        .and_then(|l| l.split("addr=").nth(1))
        .and_then(|a| a.split_whitespace().next())
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("metrics address in the log");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", metrics_port)).unwrap();
    std::io::Write::write_all(&mut stream, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    std::io::Read::read_to_string(&mut stream, &mut body).unwrap();
    assert!(body.contains("umbra_block_height{status=\"finalized\"}"), "{body}");

    // A finality proof for block 2 verifies against the dev authority set.
    let proof = node.rpc("grandpa_proveFinality", json!([2]))["result"].clone();
    let proof = FinalityProof::decode(&mut &hex::decode(proof.as_str().unwrap().trim_start_matches("0x")).unwrap()[..])
        .unwrap();
    let target = proof.unknown_headers.last().unwrap();
    assert_eq!(target.hash(), proof.block);
    justification::decode_and_verify(&proof.justification, proof.block, target.number, 0, &vec![(alice_grandpa(), 1)])
        .unwrap();
    let round = node.rpc("grandpa_roundState", json!([]))["result"].clone();
    assert_eq!(round["setId"], 0);

    // Export the chain, import it into a fresh base path: same blocks.
    let (best, finalized) = node.heads();
    drop(node);
    let export = dir.path().join("blocks.bin");
    let (ok, out, err) = node_cmd(&[
        "export-blocks",
        "--chain",
        raw_path.to_str().unwrap(),
        "--base-path",
        base.to_str().unwrap(),
        export.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    // Every block of the stopped node's chain: at least the best block seen
    // before it stopped (it may have authored more since).
    let exported: u32 = umbra_e2e::word_after(&out, "exported ").parse().unwrap();
    assert!(exported >= best, "exported {exported} blocks, the node was at #{best}: {out}");
    let fresh = dir.path().join("imported");
    let (ok, out, err) = node_cmd(&[
        "import-blocks",
        "--chain",
        raw_path.to_str().unwrap(),
        "--base-path",
        fresh.to_str().unwrap(),
        export.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("imported {exported} blocks (0 already known)"), "every exported block imports");
    // A tampered file is refused.
    let mut bytes = std::fs::read(&export).unwrap();
    let n = bytes.len();
    bytes[n - 50] ^= 1;
    let tampered = dir.path().join("tampered.bin");
    std::fs::write(&tampered, bytes).unwrap();
    let (ok, _, err) = node_cmd(&[
        "import-blocks",
        "--chain",
        raw_path.to_str().unwrap(),
        "--base-path",
        dir.path().join("t").to_str().unwrap(),
        tampered.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("Error: import"), "{err}");
    // The imported blocks are the chain a validator on it extends and finalizes.
    let node = NodeProcess::start(&fresh, &["--chain", raw_path.to_str().unwrap()]);
    let original = node.rpc("chain_getBlockHash", json!([best]))["result"].clone();
    assert!(original.is_string(), "imported chain has block #{best}");
    wait_for("finality past the imported blocks", Duration::from_secs(60), || {
        (node.heads().1 > finalized.max(best)).then_some(())
    });
    assert_eq!(node.rpc("chain_getBlockHash", json!([best]))["result"], original, "imported blocks stay canonical");
}

#[test]
fn proofs_changes_and_subscriptions() {
    let base = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(base.path(), &[]);
    wait_for("a finalized block", Duration::from_secs(60), || (node.heads().1 >= 1).then_some(()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(Client::connect(&node.ws_url())).unwrap();
    let bob = AccountId32(Pair::from_suri(Scheme::Sr25519, &SecretUri::parse("//Bob").unwrap()).unwrap().public());
    let bob_key = format!("0x{}", hex::encode(system::keys::account(&bob)));

    rt.block_on(async {
        let ws = WsClientBuilder::default().build(&node.ws_url()).await.unwrap();
        let mut finalized: jsonrpsee::core::client::Subscription<Value> = ws
            .subscribe("chain_subscribeFinalizedHeads", rpc_params![], "chain_unsubscribeFinalizedHeads")
            .await
            .unwrap();
        let mut storage: jsonrpsee::core::client::Subscription<Value> = ws
            .subscribe("state_subscribeStorage", rpc_params![vec![bob_key.clone()]], "state_unsubscribeStorage")
            .await
            .unwrap();
        let initial = storage.next().await.unwrap().unwrap();
        assert_eq!(initial["changes"][0][0], bob_key);

        let alice = Pair::from_suri(Scheme::Sr25519, &SecretUri::parse("//Alice").unwrap()).unwrap();
        let call = RuntimeCall::Balances(balances::Call::transfer_keep_alive {
            dest: MultiAddress::Id(bob),
            value: 7 * balances::UMB,
        });
        let xt = client.sign(call, &alice, 0, 0).await.unwrap();
        let included = client.submit_and_finalize(&xt, Duration::from_secs(60), |_| {}).await.unwrap();

        // The storage subscription reported Bob's new balance.
        let update = tokio::time::timeout(Duration::from_secs(30), storage.next()).await.unwrap().unwrap().unwrap();
        let raw = hex::decode(update["changes"][0][1].as_str().unwrap().trim_start_matches("0x")).unwrap();
        let info = system::AccountInfo::decode(&mut &raw[..]).unwrap();
        assert_eq!(info.data.free, 1_000_007 * balances::UMB);

        // Finalized heads arrive in order, without gaps.
        let mut last: Option<u32> = None;
        for _ in 0..3 {
            let h = tokio::time::timeout(Duration::from_secs(30), finalized.next()).await.unwrap().unwrap().unwrap();
            let n = u32::from_str_radix(h["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
            if let Some(prev) = last {
                assert_eq!(n, prev + 1);
            }
            last = Some(n);
        }

        // umbra_getStorageChanges of the transfer's block contains Bob's account.
        let block = format!("0x{}", hex::encode(included.block_hash.as_bytes()));
        let changes: Value = node.rpc("umbra_getStorageChanges", json!([block, block]))["result"].clone();
        let entries = changes[0]["changes"].as_array().unwrap();
        assert!(entries.iter().any(|c| c[0] == bob_key), "Bob's account changed in that block");
        // Ranges are bounded and ordered.
        let genesis = node.rpc("chain_getBlockHash", json!([0]))["result"].clone();
        let err = node.rpc("umbra_getStorageChanges", json!([block, genesis]))["error"].clone();
        assert_eq!(err["code"], 4001);

        // A read proof of Bob's account verifies against the block's state root.
        let proof = node.rpc("state_getReadProof", json!([[bob_key.clone()], block]))["result"].clone();
        let nodes: Vec<Vec<u8>> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| hex::decode(n.as_str().unwrap().trim_start_matches("0x")).unwrap())
            .collect();
        let header = client.header(included.block_hash).await.unwrap().unwrap();
        let value = umbra_trie::StorageProof::new(nodes)
            .read(&header.state_root, &system::keys::account(&bob))
            .unwrap()
            .unwrap();
        assert_eq!(system::AccountInfo::decode(&mut &value[..]).unwrap().data.free, 1_000_007 * balances::UMB);
        assert_eq!(hash_of(&proof["at"]), included.block_hash);
    });
}

#[test]
fn logs_to_a_file_carry_no_colour_codes() {
    // stderr is a file here, not a terminal, and NO_COLOR is not set.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("node.log");
    let mut child = Command::new(binary("umbra-node"))
        .args(["--dev", "--tmp", "--rpc-port", "0"])
        .env_remove("NO_COLOR")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let text = wait_for("the node's RPC line", Duration::from_secs(60), || {
        let text = std::fs::read_to_string(&log).ok()?;
        text.contains("JSON-RPC").then_some(text)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!text.contains('\u{1b}'), "colour codes in a log file: {text}");
}

//! `umbra devnet` from the README reaches a finalized block, starts a
//! pRuntime (SIMULATED TEE) and its relayer and gets the worker registered,
//! shows the worker in its status line; `umbra transfer` moves funds
//! between dev accounts with balances, fee and nonce correct, and the
//! chain commands' `--output json` says the same to scripts; SIGINT stops
//! everything the devnet started.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::{process::Command, time::Duration};

use umbra_e2e::{binary, free_port, http_rpc, wait_for, Devnet};
use umbra_primitives::AccountId32;
use umbra_runtime::modules::system;

fn account(port: u16, ss58: &str) -> (u128, u32) {
    let who = AccountId32::parse(ss58).unwrap();
    let key = format!("0x{}", hex::encode(system::keys::account(&who)));
    let v = http_rpc(port, "state_getStorage", serde_json::json!([key]));
    let raw = hex::decode(v["result"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    let info: system::AccountInfo = parity_scale_codec::Decode::decode(&mut &raw[..]).unwrap();
    (info.data.free, info.nonce)
}

const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
const CHARLIE: &str = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y";

#[test]
fn devnet_then_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The pRuntime ports must not overlap the node's RPC port.
    let mut devnet = Devnet::start(&dir.path().join("devnet"), port, &["--fresh"]);
    devnet.wait_line("the devnet to report finality", Duration::from_secs(120), |l| l.contains("press Ctrl-C to stop"));
    assert!(devnet.seen.iter().any(|l| l.contains("blocks are produced and finalized")), "{:?}", devnet.seen);
    assert!(
        devnet.seen.iter().any(|l| l.contains("worker synced to #") && l.contains("registered on chain")),
        "{:?}",
        devnet.seen
    );
    assert!(devnet.seen.iter().any(|l| l.contains("master key epoch 0 published")), "{:?}", devnet.seen);
    // The status line (printed every 10 s without a terminal) shows the worker.
    devnet.wait_line("a status line with the worker", Duration::from_secs(60), |l| {
        l.contains("| worker synced #") && l.contains("| gatekeeper epoch 0")
    });
    let out = Command::new(binary("umbra"))
        .args(["--url", &format!("ws://127.0.0.1:{port}"), "gatekeeper", "status"])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("gatekeepers (1):") && status.contains("epoch 0: 0x"), "{status}");
    let out = Command::new(binary("umbra"))
        .args(["--url", &format!("ws://127.0.0.1:{port}"), "worker", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 worker(s)"));
    assert!(
        devnet.seen.iter().any(|l| l.contains(&format!("ws://127.0.0.1:{port}"))),
        "endpoints printed: {:?}",
        devnet.seen
    );

    // Bob pays Charlie: neither authors blocks nor relays, so nothing else
    // touches their balances meanwhile.
    let (bob_before, bob_nonce) = account(port, BOB);
    let (charlie_before, _) = account(port, CHARLIE);
    let out = Command::new(binary("umbra"))
        .args(["--url", &format!("ws://127.0.0.1:{port}"), "transfer", "--from", "//Bob", "--to", CHARLIE, "1.25"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "transfer failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("finalized in block #"), "{stdout}");
    let fee_line = stdout.lines().find(|l| l.contains("fee paid:")).unwrap();
    let fee = umbra_client::amount::parse(fee_line.split(':').nth(1).unwrap().trim().trim_end_matches(" UMB")).unwrap();
    assert!(fee > 0);
    let block = stdout.split("finalized in block #").nth(1).unwrap().split_whitespace().next().unwrap().to_string();

    // Balances at the transfer's block: Charlie +1.25 UMB, Bob -1.25 UMB - fee, nonce +1.
    let hash =
        http_rpc(port, "chain_getBlockHash", serde_json::json!([block.parse::<u32>().unwrap()]))["result"].clone();
    let at = |who: &str| {
        let id = AccountId32::parse(who).unwrap();
        let key = format!("0x{}", hex::encode(system::keys::account(&id)));
        let v = http_rpc(port, "state_getStorage", serde_json::json!([key, hash]));
        let raw = hex::decode(v["result"].as_str().unwrap().trim_start_matches("0x")).unwrap();
        let info: system::AccountInfo = parity_scale_codec::Decode::decode(&mut &raw[..]).unwrap();
        (info.data.free, info.nonce)
    };
    let amount = 1_250_000_000_000u128;
    assert_eq!(at(CHARLIE).0, charlie_before + amount);
    assert_eq!(at(BOB).0, bob_before - amount - fee);
    assert_eq!(at(BOB).1, bob_nonce + 1);

    // The same through `--output json`, as a script reads it.
    let json = |args: &[&str]| -> serde_json::Value {
        let out = Command::new(binary("umbra"))
            .args(["--url", &format!("ws://127.0.0.1:{port}"), "--output", "json"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let plancks = |v: &serde_json::Value| v.as_str().unwrap().parse::<u128>().unwrap();
    let sent = json(&["transfer", "--from", "//Bob", "--to", CHARLIE, "0.5"]);
    let half = 500_000_000_000u128;
    assert_eq!(plancks(&sent["value"]), half);
    let fee = plancks(&sent["fee"]);
    assert_eq!(plancks(&sent["from"]["free_before"]) - plancks(&sent["from"]["free_after"]), half + fee, "{sent}");
    assert_eq!(plancks(&sent["to"]["free_after"]) - plancks(&sent["to"]["free_before"]), half, "{sent}");
    assert_eq!(sent["from"]["nonce_after"], bob_nonce + 2);
    let balance = json(&["balance", CHARLIE]);
    assert_eq!((balance["account"].as_str(), plancks(&balance["free"])), (Some(CHARLIE), at(CHARLIE).0 + half));
    let number = sent["block"].as_u64().unwrap();
    let shown = json(&["block", &number.to_string()]);
    assert_eq!(shown["hash"], sent["block_hash"]);
    let index = sent["index"].as_u64().unwrap() as usize;
    assert_eq!(shown["extrinsics"][index]["signer"], BOB, "{shown}");
    assert_eq!(shown["extrinsics"][index]["outcome"], "ok", "{shown}");
    assert!(
        shown["events"].as_array().unwrap().iter().any(|e| e["pallet"] == "Balances" && e["name"] == "Transfer"),
        "{shown}"
    );
    let chain = json(&["chain", "status"]);
    assert!(chain["finalized"]["number"].as_u64().unwrap() >= number, "{chain}");
    assert_eq!(json(&["worker", "list"]).as_array().unwrap().len(), 3);
    assert_eq!(json(&["gatekeeper", "status"])["master_keys"][0]["epoch"], 0);

    // Bad input to the CLI: one line, non-zero exit, nothing sent.
    let out = Command::new(binary("umbra"))
        .args([
            "--url",
            &format!("ws://127.0.0.1:{port}"),
            "transfer",
            "--from",
            "//Alice",
            "--to",
            BOB,
            "1.0000000000001",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("decimal places"));
    // With `--output json`, the error is a JSON document on stdout too.
    let out = Command::new(binary("umbra"))
        .args(["--url", &format!("ws://127.0.0.1:{port}"), "--output", "json", "transfer", "--from", "//Alice"])
        .args(["--to", BOB, "1.0000000000001"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(error["error"].as_str().unwrap().contains("decimal places"), "{error}");

    // SIGINT stops the devnet and its node.
    devnet.process.signal(umbra_process::Signal::INT);
    let status = devnet.process.wait_exit(Duration::from_secs(10)).expect("the devnet stops within 10 s");
    assert_eq!(status, "exit status: 0");
    devnet.refresh();
    assert!(devnet.seen.iter().any(|l| l.starts_with("devnet stopped cleanly")), "{:#?}", devnet.seen);
    wait_for("the node's RPC port to close", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err().then_some(())
    });
}

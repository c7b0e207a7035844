//! Bad input through RPC gets the JSON-RPC error a Substrate node gives
//! (code and readable message) and changes nothing; the node keeps running.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::time::Duration;

use jsonrpsee::{
    core::client::{ClientT, SubscriptionClientT},
    rpc_params,
    ws_client::WsClientBuilder,
};
use parity_scale_codec::Encode;
use serde_json::{json, Value};
use umbra_client::Client;
use umbra_crypto::{suri::SecretUri, Pair, Scheme};
use umbra_e2e::{http_post, wait_for, NodeProcess};
use umbra_primitives::{
    extrinsic::{AdditionalSigned, Era, MultiAddress, SignedExtra, UncheckedExtrinsic},
    AccountId32, H256,
};
use umbra_runtime::{modules::balances, RuntimeCall};

fn dev(name: &str) -> Pair {
    Pair::from_suri(Scheme::Sr25519, &SecretUri::parse(&format!("//{name}")).unwrap()).unwrap()
}

fn error_of(v: &Value) -> (i64, String, String) {
    let e = &v["error"];
    assert!(!e.is_null(), "expected an error, got {v}");
    (e["code"].as_i64().unwrap(), e["message"].as_str().unwrap().to_string(), e["data"].to_string())
}

fn transfer(to: &str, value: u128) -> RuntimeCall {
    RuntimeCall::Balances(balances::Call::transfer_keep_alive {
        dest: MultiAddress::Id(AccountId32(dev(to).public())),
        value,
    })
}

fn hex(xt: &umbra_primitives::block::OpaqueExtrinsic) -> String {
    format!("0x{}", hex::encode(xt.encode()))
}

#[test]
fn bad_rpc_input_is_refused_precisely() {
    let base = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(
        base.path(),
        &["--rpc-max-request-size", "1", "--rpc-max-subscriptions-per-connection", "4"],
    );
    wait_for("a finalized block", Duration::from_secs(60), || (node.heads().1 >= 2).then_some(()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(Client::connect(&node.ws_url())).unwrap();
    let dave = AccountId32(dev("Dave").public());
    let dave_before = rt.block_on(client.account(&dave, None)).unwrap();
    let submit = |raw: String| node.rpc("author_submitExtrinsic", json!([raw]));

    // Malformed hex: invalid params.
    let (code, _, data) = error_of(&submit("0xzz".into()));
    assert_eq!(code, -32602);
    assert!(data.contains("hex"), "{data}");
    let (code, _, _) = error_of(&submit("1234".into()));
    assert_eq!(code, -32602);
    // Undecodable and truncated extrinsics: 1001 "Extrinsic has invalid format".
    let (code, message, _) = error_of(&submit("0x0c840102".into()));
    assert_eq!((code, message.starts_with("Extrinsic has invalid format")), (1001, true), "{message}");
    let good = rt.block_on(client.sign(transfer("Eve", 1_000_000_000), &dev("Dave"), 0, 0)).unwrap();
    let encoded = good.encode();
    let truncated = format!("0x{}", hex::encode(&encoded[..encoded.len() - 3]));
    assert_eq!(error_of(&submit(truncated)).0, 1001);

    // A forged signature: 1010 "Invalid Transaction", "Transaction has a bad signature".
    let mut forged = good.clone();
    forged.0[40] ^= 1;
    let (code, message, data) = error_of(&submit(hex(&forged)));
    assert_eq!((code, message.as_str()), (1010, "Invalid Transaction"));
    assert!(data.contains("bad signature"), "{data}");

    // Stale nonce (Alice has used nonce 0 once we send one) and far-future nonce.
    let alice_first = rt.block_on(client.sign(transfer("Eve", 1_000_000_000), &dev("Alice"), 0, 0)).unwrap();
    let included = rt.block_on(client.submit_and_finalize(&alice_first, Duration::from_secs(60), |_| {})).unwrap();
    assert!(included.success);
    let (code, _, data) = error_of(&submit(hex(&alice_first)));
    assert_eq!(code, 1010);
    assert!(data.contains("outdated"), "{data}");
    let far = rt.block_on(client.sign(transfer("Eve", 1), &dev("Alice"), 1000, 0)).unwrap();
    let (code, _, data) = error_of(&submit(hex(&far)));
    assert_eq!(code, 1010);
    assert!(data.contains("future"), "{data}");
    // A nonce just ahead is accepted into the future queue, as in Substrate.
    let next = rt.block_on(client.sign(transfer("Eve", 1), &dev("Alice"), 2, 0)).unwrap();
    assert!(submit(hex(&next))["result"].is_string());
    // Resubmitting it: 1013 "Transaction Already Imported".
    assert_eq!(error_of(&submit(hex(&next))).0, 1013);

    // An account that cannot pay the fee: 1010, "Inability to pay some fees".
    let nobody = Pair::from_suri(Scheme::Sr25519, &SecretUri::parse("//Nobody").unwrap()).unwrap();
    let broke = rt.block_on(client.sign(transfer("Eve", 1), &nobody, 0, 0)).unwrap();
    let (code, _, data) = error_of(&submit(hex(&broke)));
    assert_eq!(code, 1010);
    assert!(data.contains("Inability to pay some fees"), "{data}");

    // An expired mortal era: signed for a 4-block window that has passed.
    let genesis = client.genesis_hash();
    let birth_hash: H256 = {
        let v = node.rpc("chain_getBlockHash", json!([1]));
        H256::from_slice(&hex::decode(v["result"].as_str().unwrap().trim_start_matches("0x")).unwrap())
    };
    wait_for("the era to expire", Duration::from_secs(60), || (node.heads().0 >= 8).then_some(()));
    let additional =
        AdditionalSigned { spec_version: 1, transaction_version: 1, genesis_hash: genesis, era_block_hash: birth_hash };
    let expired = UncheckedExtrinsic::new_signed(
        transfer("Eve", 1),
        &dev("Dave"),
        SignedExtra { era: Era::mortal(4, 1), nonce: 0, tip: 0 },
        &additional,
        &mut rand_core_rng(),
    )
    .to_opaque();
    // As in Substrate, the pool validates at best + 1 and recomputes the
    // era's birth from it: when that birth is best + 1 itself its hash is
    // unknown ("ancient birth block"), otherwise it is another block's hash
    // and the signature fails. The expected reason follows from the best
    // block, read before and after (retried if a block landed meanwhile).
    let (code, data, expected) = loop {
        let before = node.heads().0;
        let (code, _, data) = error_of(&submit(hex(&expired)));
        if node.heads().0 == before {
            let validated_at = u64::from(before) + 1;
            let birth = Era::mortal(4, 1).birth(validated_at);
            let expected = if birth == validated_at { "ancient birth block" } else { "bad signature" };
            break (code, data, expected);
        }
    };
    assert_eq!(code, 1010);
    assert!(data.contains(expected), "expected {expected}: {data}");

    // A transfer above the balance pays its fee but fails in the block (as Substrate).
    let too_much =
        rt.block_on(client.sign(transfer("Eve", 10_000_000 * 1_000_000_000_000), &dev("Ferdie"), 0, 0)).unwrap();
    let outcome = rt.block_on(client.submit_and_finalize(&too_much, Duration::from_secs(60), |_| {})).unwrap();
    assert!(!outcome.success && outcome.fee > 0);

    // Unknown method: -32601.
    let (code, message, _) = error_of(&node.rpc("state_doesNotExist", json!([])));
    assert_eq!((code, message.as_str()), (-32601, "Method not found"));
    // Invalid params to a known method.
    assert_eq!(error_of(&node.rpc("chain_getBlockHash", json!(["nope"]))).0, -32602);
    assert_eq!(error_of(&node.rpc("state_getKeysPaged", json!(["0x", 100000]))).0, 4002);
    assert_eq!(error_of(&node.rpc("state_call", json!(["Nope_nope", "0x"]))).0, 4003);
    assert_eq!(error_of(&node.rpc("state_getStorage", json!(["0x00", format!("0x{}", "11".repeat(32))]))).0, 4003);

    // An oversized request (limit 1 MiB): HTTP 413, nothing processed.
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"author_submitExtrinsic\",\"params\":[\"0x{}\"]}}",
        "00".repeat(1024 * 1024)
    );
    let (status, _) = http_post(node.rpc_port, big.as_bytes());
    assert_eq!(status, 413);

    // Too many subscriptions on one connection (limit 4): -32006.
    rt.block_on(async {
        let ws = WsClientBuilder::default().build(&node.ws_url()).await.unwrap();
        let mut subs = Vec::new();
        for _ in 0..4 {
            let s: jsonrpsee::core::client::Subscription<Value> =
                ws.subscribe("chain_subscribeNewHeads", rpc_params![], "chain_unsubscribeNewHeads").await.unwrap();
            subs.push(s);
        }
        let fifth: Result<jsonrpsee::core::client::Subscription<Value>, _> =
            ws.subscribe("chain_subscribeNewHeads", rpc_params![], "chain_unsubscribeNewHeads").await;
        let err = match fifth {
            Ok(_) => panic!("a fifth subscription was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("-32006") || err.to_lowercase().contains("too many subscriptions"), "{err}");
        // The connection still works.
        let _: String = ws.request("system_chain", rpc_params![]).await.unwrap();
    });

    // Dave's account is untouched by all of it, and the node keeps going.
    let dave_after = rt.block_on(client.account(&dave, None)).unwrap();
    assert_eq!(dave_after, dave_before);
    let (best, _) = node.heads();
    wait_for("more blocks", Duration::from_secs(30), || (node.heads().1 > best).then_some(()));
}

fn rand_core_rng() -> impl rand_core::RngCore + rand_core::CryptoRng {
    rand_core::OsRng
}

/// A raw HTTP JSON-RPC request with chosen `Host` and `Origin` headers;
/// returns the status line's code and the headers (lower-cased names).
fn raw_request(port: u16, host: &str, origin: Option<&str>, method: &str) -> (u16, Vec<(String, String)>) {
    use std::io::{Read, Write};
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "system_name", "params": [] }).to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let origin = origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default();
    let request = if method == "OPTIONS" {
        format!(
            "OPTIONS / HTTP/1.1\r\nHost: {host}\r\n{origin}Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n"
        )
    } else {
        format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\n{origin}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let mut lines = response.lines();
    let code = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (code, headers)
}

/// Section 6: the node's RPC refuses heavy calls beyond the per-connection
/// rate (-32029, the rest keep working), `Host` headers other than its own
/// local address (DNS rebinding), and browser origins outside `--rpc-cors`.
#[test]
fn rpc_rate_limits_hosts_and_origins() {
    let base = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(base.path(), &["--rpc-heavy-rate", "1", "--rpc-cors", "http://localhost:*"]);
    let port = node.ws_url().rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ws = WsClientBuilder::default().build(&node.ws_url()).await.unwrap();
        // A burst of two heavy calls, then the third on the same
        // connection is refused; light calls are not limited.
        let mut refused = None;
        for _ in 0..3 {
            let result: Result<String, _> = ws.request("state_getMetadata", rpc_params![]).await;
            if let Err(e) = result {
                refused = Some(e.to_string());
            }
        }
        let refused = refused.expect("a heavy call beyond the rate");
        assert!(refused.contains("-32029") || refused.contains("Too many requests"), "{refused}");
        let name: String = ws.request("system_name", rpc_params![]).await.unwrap();
        assert_eq!(name, "umbra-node");
        // Another connection has its own bucket.
        let other = WsClientBuilder::default().build(&node.ws_url()).await.unwrap();
        let metadata: Result<String, _> = other.request("state_getMetadata", rpc_params![]).await;
        assert!(metadata.is_ok());
    });
    // Hosts: the node's own addresses only.
    assert_eq!(raw_request(port, &format!("127.0.0.1:{port}"), None, "POST").0, 200);
    assert_eq!(raw_request(port, &format!("localhost:{port}"), None, "POST").0, 200);
    assert_eq!(raw_request(port, &format!("evil.example:{port}"), None, "POST").0, 403);
    // Origins: an allowed one gets the CORS header (and a preflight
    // answer), another does not.
    let host = format!("127.0.0.1:{port}");
    let (code, headers) = raw_request(port, &host, Some("http://localhost:3000"), "POST");
    assert_eq!(code, 200);
    let allow = |headers: &[(String, String)]| {
        headers.iter().find(|(k, _)| k == "access-control-allow-origin").map(|(_, v)| v.clone())
    };
    assert_eq!(allow(&headers).as_deref(), Some("http://localhost:3000"));
    let (_, headers) = raw_request(port, &host, Some("http://evil.example"), "POST");
    assert_eq!(allow(&headers), None, "{headers:?}");
    let (_, headers) = raw_request(port, &host, Some("http://localhost:3000"), "OPTIONS");
    assert_eq!(allow(&headers).as_deref(), Some("http://localhost:3000"), "{headers:?}");
    let (_, headers) = raw_request(port, &host, Some("http://evil.example"), "OPTIONS");
    assert_eq!(allow(&headers), None, "{headers:?}");
}

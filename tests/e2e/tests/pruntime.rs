//! pRuntime and its relayer against a real dev node: verified sync to the
//! finalized head, registration on chain, `info`, heartbeats accepted on
//! chain, SIGKILL of pRuntime and relayer at seeded random points (same
//! identity, resumes from its newest checkpoint, catches up), a rolled-back
//! checkpoint that stays silent until re-synced, a SIGKILLed and restarted
//! node (the relayer reconnects), and staleness.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::{path::Path, process::Command, time::Duration};

use serde_json::Value;
use umbra_e2e::{binary, free_port, http_get, http_post_to, wait_for, NodeProcess, Process};

const TIMEOUT: Duration = Duration::from_secs(120);

struct Worker {
    private: u16,
    public: u16,
    dir: std::path::PathBuf,
}

impl Worker {
    fn start_pruntime(&self, n: usize) -> Process {
        let args: Vec<String> = [
            "--data-dir",
            self.dir.join("data").to_str().unwrap(),
            "--private-addr",
            &format!("127.0.0.1:{}", self.private),
            "--public-addr",
            &format!("127.0.0.1:{}", self.public),
            "--heartbeat-interval",
            "5",
            "--checkpoint-interval",
            "4",
            "--max-staleness-secs",
            "4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        Process::start("umbra-pruntime", &args, self.dir.join(format!("pruntime-{n}.log")))
    }

    fn start_relayer(&self, node: &NodeProcess, n: usize) -> Process {
        let args = vec![
            "--node".to_string(),
            node.ws_url(),
            "--pruntime".to_string(),
            format!("127.0.0.1:{}", self.private),
            "--signer".to_string(),
            "//Ferdie".to_string(),
        ];
        Process::start("umbra-relayer", &args, self.dir.join(format!("relayer-{n}.log")))
    }

    fn status(&self) -> Option<Value> {
        let (code, _, body) = http_get(self.private, "/status")?;
        (code == 200).then(|| serde_json::from_str(&body).unwrap())
    }

    fn info(&self) -> Value {
        let (code, headers, body) = http_get(self.public, "/info").unwrap();
        assert_eq!(code, 200, "{body}");
        // Every response is signed by the identity key.
        let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
        let identity: [u8; 32] =
            hex::decode(get("x-umbra-identity").trim_start_matches("0x")).unwrap().try_into().unwrap();
        let signature: [u8; 64] =
            hex::decode(get("x-umbra-signature").trim_start_matches("0x")).unwrap().try_into().unwrap();
        let mut message = b"umbra/pruntime/response/v1".to_vec();
        message.extend_from_slice(&umbra_crypto::hashing::blake2_256(body.as_bytes()));
        assert!(umbra_crypto::sr25519::verify(
            &umbra_crypto::sr25519::Signature(signature),
            &message,
            &umbra_crypto::sr25519::Public(identity)
        ));
        let info: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(info["identity"].as_str().unwrap(), get("x-umbra-identity"));
        info
    }

    /// Waits until pRuntime is caught up with the node's finalized head.
    fn wait_synced(&self, node: &NodeProcess) -> Value {
        wait_for("pRuntime to catch up", TIMEOUT, || {
            let (_, finalized) = node.heads();
            let status = self.status()?;
            let synced = status["synced_block"].as_u64()?;
            (status["caught_up"] == Value::Bool(true) && synced + 2 >= u64::from(finalized)).then_some(status)
        })
    }
}

fn umbra(url: &str, args: &[&str]) -> String {
    let out = Command::new(binary("umbra")).args(["--url", url]).args(args).output().unwrap();
    assert!(out.status.success(), "umbra {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn checkpoints(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("checkpoint-")))
        .collect();
    files.sort();
    files
}

#[test]
fn pruntime_syncs_registers_survives_kills_and_refuses_when_stale() {
    let dir = tempfile::tempdir().unwrap();
    let node_port = free_port();
    let node = NodeProcess::start_on(&dir.path().join("node"), node_port, &[]);
    let w = Worker { private: free_port(), public: free_port(), dir: dir.path().to_path_buf() };
    let pruntime = w.start_pruntime(0);
    let relayer = w.start_relayer(&node, 0);

    // Sync to the finalized head.
    w.wait_synced(&node);
    let info = w.info();
    let identity = info["identity"].as_str().unwrap().to_string();
    let measurement = info["measurement"].as_str().unwrap().to_string();
    assert_eq!(info["simulated"], Value::Bool(true));
    assert!(info["banner"].as_str().unwrap().contains("SIMULATED TEE"));
    assert_eq!(info["ecdh_public"].as_str().unwrap().len(), 66);
    assert!(info["evidence"].as_str().is_some_and(|e| e.len() > 100), "{info}");
    assert!(info["synced_block"].as_u64().unwrap() > 0);
    let genesis = node.rpc("chain_getBlockHash", serde_json::json!([0]))["result"].clone();
    assert_eq!(info["genesis_hash"], genesis);

    // Garbage on the private API: a precise 400, nothing changes.
    let before = w.status().unwrap();
    for path in ["/init", "/sync_headers", "/load_state", "/dispatch_blocks"] {
        let (code, _, body) = http_post_to(w.private, path, b"\xff\x00garbage").unwrap();
        assert!(code == 400 || code == 200 && path == "/init", "{path}: {code} {body}");
        assert!(code == 200 || body.contains("does not decode"), "{path}: {body}");
    }
    let after = w.status().unwrap();
    assert_eq!(before["genesis_hash"], after["genesis_hash"]);
    assert!(after["synced_block"].as_u64() >= before["synced_block"].as_u64());
    let (code, _, _) = http_get(w.public, "/no/such/route").unwrap();
    assert_eq!(code, 404);

    // Allow its measurement; the relayer registers it.
    umbra(&node.ws_url(), &["measurement", "add", &measurement]);
    wait_for("registration", TIMEOUT, || (w.status()?["registered"] == Value::Bool(true)).then_some(()));
    let shown = umbra(&node.ws_url(), &["worker", "show", &identity]);
    assert!(shown.contains(&measurement[2..10]), "{shown}");
    // Heartbeats reach the chain (MessageQueue egress, signed, sequenced).
    let key = umbra_runtime::modules::registry::keys::last_heartbeat(&umbra_crypto::sr25519::Public(
        hex::decode(&identity[2..]).unwrap().try_into().unwrap(),
    ));
    let key = format!("0x{}", hex::encode(key));
    wait_for("a heartbeat on chain", TIMEOUT, || {
        node.rpc("state_getStorage", serde_json::json!([key]))["result"].as_str().map(|_| ())
    });

    // SIGKILL both at seeded pseudo-random points; each restart keeps the
    // identity, resumes from a checkpoint and catches up.
    let mut pruntime = pruntime;
    let mut relayer = relayer;
    let mut seed = 0x5eed_u64;
    for round in 1..=3 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(200 + (seed >> 33) % 1500));
        if round % 2 == 1 {
            pruntime.kill9();
            relayer.kill9();
        } else {
            relayer.kill9();
            pruntime.kill9();
        }
        pruntime = w.start_pruntime(round);
        relayer = w.start_relayer(&node, round);
        wait_for("restarted pRuntime", TIMEOUT, || w.status());
        w.wait_synced(&node);
        assert_eq!(w.info()["identity"].as_str().unwrap(), identity, "identity changed after SIGKILL");
        assert!(pruntime.log_text().contains("resumed from checkpoint"), "{}", pruntime.log_text());
    }
    let status = w.status().unwrap();
    assert_eq!(status["registered"], Value::Bool(true));

    // The node restarts (SIGKILL): the relayer reconnects and pRuntime
    // follows the chain again.
    node.kill9();
    let node = NodeProcess::start_on(&dir.path().join("node"), node_port, &[]);
    let before = w.status().unwrap()["synced_block"].as_u64().unwrap();
    wait_for("sync after the node restarted", TIMEOUT, || {
        (w.status()?["synced_block"].as_u64()? > before + 2).then_some(())
    });
    w.wait_synced(&node);

    // Staleness: without a relayer, queries are refused after 4 s; they
    // come back when input resumes.
    let state_path = format!("/state?key={key}");
    let (code, _, _) = http_get(w.public, &state_path).unwrap();
    assert_eq!(code, 200);
    relayer.kill9();
    wait_for("staleness", TIMEOUT, || {
        let (code, _, body) = http_get(w.public, &state_path)?;
        (code == 503 && body.contains("stale")).then_some(())
    });
    let relayer = w.start_relayer(&node, 10);
    wait_for("fresh again", TIMEOUT, || (http_get(w.public, &state_path)?.0 == 200).then_some(()));

    // Rollback: restore only the oldest checkpoint. pRuntime comes back
    // behind the chain and neither signs nor answers until it re-synced.
    relayer.kill9();
    pruntime.kill9();
    let files = checkpoints(&dir.path().join("data"));
    assert!(files.len() >= 2, "{files:?}");
    for newer in &files[1..] {
        std::fs::remove_file(newer).unwrap();
    }
    let pruntime = w.start_pruntime(20);
    let status = wait_for("rolled-back pRuntime", TIMEOUT, || w.status());
    assert_eq!(status["caught_up"], Value::Bool(false), "{status}");
    let (code, _, body) = http_get(w.public, &state_path).unwrap();
    assert_eq!(code, 503, "{body}");
    let (_, _, egress) = http_get(w.private, "/egress").unwrap();
    assert_eq!(serde_json::from_str::<Value>(&egress).unwrap()["messages"], serde_json::json!([]));
    let _relayer = w.start_relayer(&node, 21);
    w.wait_synced(&node);
    assert_eq!(http_get(w.public, &state_path).unwrap().0, 200);
    drop(pruntime);
}

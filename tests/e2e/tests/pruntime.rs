//! pRuntime and its relayer against a real dev node: verified sync to the
//! finalized head, registration on chain, `info`, heartbeats accepted on
//! chain, SIGKILL of pRuntime and relayer at seeded random points (same
//! identity, resumes from its newest checkpoint, catches up), a rolled-back
//! checkpoint that stays silent until re-synced, a SIGKILLed and restarted
//! node (the relayer reconnects), and staleness.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::{path::Path, process::Command, time::Duration};

use umbra_e2e::{binary, free_port, http_get, http_post_to, wait_for, NodeProcess, Process, Pruntime};
use umbra_protocol::api::{Info, Status};

const TIMEOUT: Duration = Duration::from_secs(120);

struct Worker {
    private: u16,
    public: u16,
    dir: std::path::PathBuf,
    api: Pruntime,
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
            "--tee",
            "sim",
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

    fn status(&self) -> Option<Status> {
        self.api.status()
    }

    /// `/info`, through a client that checks every response's signature
    /// against the identity the worker names.
    fn info(&self) -> Info {
        let info = self.api.info().unwrap();
        let signed = umbra_protocol::client::PruntimeClient::public(&format!("127.0.0.1:{}", self.public))
            .expecting(umbra_crypto::sr25519::Public(info.identity));
        self.api.run(signed.info()).expect("a response signed by the worker's identity")
    }

    /// Waits until pRuntime is caught up with the node's finalized head.
    fn wait_synced(&self, node: &NodeProcess) -> Status {
        wait_for("pRuntime to catch up", TIMEOUT, || {
            let (_, finalized) = node.heads();
            let status = self.status()?;
            let synced = status.core.synced_block?;
            (status.core.caught_up && synced + 2 >= finalized).then_some(status)
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
    let (private, public) = (free_port(), free_port());
    let w = Worker { private, public, dir: dir.path().to_path_buf(), api: Pruntime::at(private, public) };
    let pruntime = w.start_pruntime(0);
    let relayer = w.start_relayer(&node, 0);

    // Sync to the finalized head.
    w.wait_synced(&node);
    let info = w.info();
    let identity = format!("0x{}", hex::encode(info.identity));
    let measurement = format!("0x{}", hex::encode(&info.measurement));
    assert!(info.simulated);
    assert!(info.banner.contains("SIMULATED TEE"));
    assert!(info.evidence.as_ref().is_some_and(|e| e.len() > 50), "{info:?}");
    assert!(info.synced_block.unwrap() > 0);
    let genesis = node.rpc("chain_getBlockHash", serde_json::json!([0]))["result"].clone();
    assert_eq!(info.genesis_hash.map(|h| format!("0x{}", hex::encode(h.0))), genesis.as_str().map(str::to_string));

    // Garbage on the private API: exactly a 400 that names the decoding
    // failure, and nothing changes.
    let before = w.status().unwrap();
    for path in ["/init", "/sync_headers", "/load_state", "/dispatch_blocks"] {
        let (code, _, body) = http_post_to(w.private, path, b"\xff\x00garbage").unwrap();
        assert_eq!(code, 400, "{path}: {body}");
        assert!(body.contains("does not decode"), "{path}: {body}");
    }
    let after = w.status().unwrap();
    assert_eq!(before.core.genesis_hash, after.core.genesis_hash);
    assert!(after.core.synced_block >= before.core.synced_block);
    let (code, _, _) = http_get(w.public, "/no/such/route").unwrap();
    assert_eq!(code, 404);

    // Allow its measurement; the relayer registers it.
    umbra(&node.ws_url(), &["measurement", "add", &measurement]);
    wait_for("registration", TIMEOUT, || w.status()?.core.registered.then_some(()));
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
        assert_eq!(format!("0x{}", hex::encode(w.info().identity)), identity, "identity changed after SIGKILL");
        assert!(pruntime.log_text().contains("resumed from checkpoint"), "{}", pruntime.log_text());
    }
    assert!(w.status().unwrap().core.registered);

    // The node restarts (SIGKILL): the relayer reconnects and pRuntime
    // follows the chain again.
    node.kill9();
    let node = NodeProcess::start_on(&dir.path().join("node"), node_port, &[]);
    let before = w.status().unwrap().core.synced_block.unwrap();
    wait_for("sync after the node restarted", TIMEOUT, || (w.status()?.core.synced_block? > before + 2).then_some(()));
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
    assert!(!status.core.caught_up, "{status:?}");
    let (code, _, body) = http_get(w.public, &state_path).unwrap();
    assert_eq!(code, 503, "{body}");
    assert_eq!(w.api.egress().unwrap(), vec![], "a rolled-back pRuntime releases nothing");
    let _relayer = w.start_relayer(&node, 21);
    w.wait_synced(&node);
    assert_eq!(http_get(w.public, &state_path).unwrap().0, 200);
    drop(pruntime);
}

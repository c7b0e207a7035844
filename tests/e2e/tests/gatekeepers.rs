//! Gatekeepers on a real dev node with three pRuntimes (two gatekeepers,
//! one worker) and their relayers, driven through the CLI: epoch 0 from the
//! first gatekeeper, handover to a second one (same keys), a cluster whose
//! worker receives the key the chain shows, a rotation both adopt, a
//! removal that cuts the removed gatekeeper off, and a SIGKILLed gatekeeper
//! that keeps its sealed history without diverging.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::{process::Command, time::Duration};

use umbra_e2e::{binary, free_port, wait_for, NodeProcess, Process, Pruntime};
use umbra_protocol::api::{EpochHeld, Status};

const TIMEOUT: Duration = Duration::from_secs(180);

struct Node {
    private: u16,
    data: std::path::PathBuf,
    role: &'static str,
    signer: &'static str,
    api: Pruntime,
    public: u16,
}

impl Node {
    fn new(dir: &std::path::Path, name: &str, role: &'static str, signer: &'static str) -> Self {
        let (private, public) = (free_port(), free_port());
        Node { private, public, data: dir.join(name), role, signer, api: Pruntime::at(private, public) }
    }

    fn pruntime(&self, n: usize) -> Process {
        let args: Vec<String> = [
            "--data-dir",
            self.data.to_str().unwrap(),
            "--private-addr",
            &format!("127.0.0.1:{}", self.private),
            "--public-addr",
            &format!("127.0.0.1:{}", self.public),
            "--tee",
            "sim",
            "--role",
            self.role,
            "--checkpoint-interval",
            "5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        Process::start("umbra-pruntime", &args, self.data.with_extension(format!("{n}.log")))
    }

    fn relayer(&self, node: &NodeProcess) -> Process {
        let args = vec![
            "--node".into(),
            node.ws_url(),
            "--pruntime".into(),
            format!("127.0.0.1:{}", self.private),
            "--signer".into(),
            self.signer.into(),
        ];
        Process::start("umbra-relayer", &args, self.data.with_extension("relayer.log"))
    }

    fn status(&self) -> Option<Status> {
        self.api.status()
    }

    fn identity(&self) -> String {
        format!("0x{}", hex::encode(self.api.info().unwrap().identity))
    }

    fn epochs(&self) -> Vec<EpochHeld> {
        self.status().map(|s| s.core.epochs).unwrap_or_default()
    }
}

fn hex32(bytes: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn umbra(url: &str, args: &[&str]) -> String {
    let out = Command::new(binary("umbra")).args(["--url", url]).args(args).output().unwrap();
    assert!(out.status.success(), "umbra {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn gatekeepers_hand_over_rotate_remove_and_distribute() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&dir.path().join("node"), &[]);
    let url = node.ws_url();
    let g1 = Node::new(dir.path(), "g1", "gatekeeper", "//Eve");
    let g2 = Node::new(dir.path(), "g2", "gatekeeper", "//Dave");
    let w = Node::new(dir.path(), "w", "worker", "//Ferdie");
    let _p1 = g1.pruntime(0);
    let mut p2 = g2.pruntime(0);
    let _pw = w.pruntime(0);
    let _r1 = g1.relayer(&node);
    let _r2 = g2.relayer(&node);
    let _rw = w.relayer(&node);

    // Allow the (common) measurement; all three register.
    let info = wait_for("pRuntime info", TIMEOUT, || g1.api.info());
    let measurement = format!("0x{}", hex::encode(&info.measurement));
    umbra(&url, &["measurement", "add", &measurement]);
    for n in [&g1, &g2, &w] {
        wait_for("registration", TIMEOUT, || n.status()?.core.registered.then_some(()));
    }
    let (id1, id2, idw) = (g1.identity(), g2.identity(), w.identity());

    // Epoch 0 from the first gatekeeper.
    umbra(&url, &["gatekeeper", "add", &id1]);
    wait_for("epoch 0", TIMEOUT, || (g1.epochs().len() == 1).then_some(()));
    let epoch0 = hex32(&g1.epochs()[0].pubkey);
    wait_for("epoch 0 on chain", TIMEOUT, || {
        umbra(&url, &["gatekeeper", "status"]).contains(&format!("epoch 0: {epoch0}")).then_some(())
    });

    // A second gatekeeper receives the same master secret.
    umbra(&url, &["gatekeeper", "add", &id2]);
    wait_for("handover", TIMEOUT, || (g2.epochs() == g1.epochs()).then_some(()));

    // A cluster: the worker receives the key whose public part the chain shows.
    let created = umbra(&url, &["cluster", "create", &idw]);
    let cluster = created.split_whitespace().nth(1).unwrap().to_string();
    let clusters = wait_for("cluster key", TIMEOUT, || {
        let c = w.status()?.core.clusters;
        (!c.is_empty()).then_some(c)
    });
    assert_eq!(hex32(&clusters[0].cluster.0), cluster);
    let shown = wait_for("cluster key on chain", TIMEOUT, || {
        let s = umbra(&url, &["cluster", "show", &cluster]);
        (!s.contains("not published")).then_some(s)
    });
    assert!(shown.contains(&hex32(&clusters[0].pubkey)), "{shown} vs {clusters:?}");

    // Rotation: both adopt epoch 1.
    umbra(&url, &["gatekeeper", "rotate"]);
    wait_for("rotation", TIMEOUT, || (g1.epochs().len() == 2 && g2.epochs() == g1.epochs()).then_some(()));
    let epoch1 = hex32(&g1.epochs()[1].pubkey);
    wait_for("epoch 1 on chain", TIMEOUT, || {
        umbra(&url, &["gatekeeper", "status"]).contains(&format!("epoch 1: {epoch1}")).then_some(())
    });

    // Removal: g1 gets nothing of epoch 2.
    umbra(&url, &["gatekeeper", "remove", &id1]);
    wait_for("rotation after removal", TIMEOUT, || (g2.epochs().len() == 3).then_some(()));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(g1.epochs().len(), 2, "a removed gatekeeper cannot derive the new epoch");

    // SIGKILL the remaining gatekeeper: its sealed history survives, no divergence.
    let before = g2.epochs();
    p2.kill9();
    p2 = g2.pruntime(1);
    wait_for("restarted gatekeeper", TIMEOUT, || g2.status()?.core.caught_up.then_some(()));
    assert_eq!(g2.epochs(), before);
    for n in [&g1, &g2, &w] {
        assert_eq!(n.status().unwrap().core.divergences, 0, "{}", n.role);
    }
    drop(p2);
}

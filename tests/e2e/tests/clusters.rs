//! Clusters under faults, on `umbra devnet`, through the CLI:
//!
//! * a replica whose execution differs (the pRuntime's test-only fault
//!   hook) makes the chain raise `ReplicaDiverged` and freeze the cluster;
//! * data availability: a replica stops (SIGSTOP: a hung machine), the
//!   chain replaces it after the heartbeat grace, and the new worker
//!   rebuilds the state from the chain alone and answers with the same
//!   state root;
//! * resource abuse: an endless loop, memory growth, deep recursion, a
//!   huge output and a burst of commands are each stopped with a clear
//!   status while the worker keeps answering.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::time::Duration;

use umbra_e2e::{free_port, wait_for, word_after, Devnet};

const CHARLIE: &str = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y";

fn identity(devnet: &Devnet, i: u16) -> String {
    devnet.worker_identity(i).unwrap()
}

/// Starts a devnet with `extra` flags and waits for it.
fn devnet(dir: &tempfile::TempDir, extra: &[&str]) -> Devnet {
    let mut devnet = Devnet::start(&dir.path().join("devnet"), free_port(), extra);
    devnet.wait_line("the devnet to start", Duration::from_secs(300), |l| l.starts_with("press Ctrl-C"));
    devnet
}

/// A cluster of the named workers (Sudo), once its key is published.
fn named_cluster(devnet: &Devnet, workers: &[u16]) -> String {
    let ids: Vec<String> = workers.iter().map(|i| identity(devnet, *i)).collect();
    let mut args = vec!["cluster", "create"];
    args.extend(ids.iter().map(String::as_str));
    let created = devnet.umbra_ok(&args);
    let cluster = word_after(&created, "cluster ");
    wait_for("the cluster key", Duration::from_secs(60), || {
        devnet.umbra_ok(&["cluster", "show", &cluster]).contains("x25519 key: 0x").then_some(())
    });
    cluster
}

/// Builds, uploads and instantiates `krate` (a path under the repository)
/// into `cluster`; returns the instantiate command's output.
fn deploy(devnet: &Devnet, krate: &str, cluster: &str, args: &str) -> std::process::Output {
    let code = devnet.upload_crate(krate);
    devnet.umbra(&["contract", "instantiate", &code, "--cluster", cluster, "--args", args])
}

fn ready(output: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout} {}", String::from_utf8_lossy(&output.stderr));
    word_after(&stdout, "contract ")
}

#[test]
fn diverging_replica_freezes_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = devnet(&dir, &["--test-fault-diverge", "2"]);
    assert!(devnet.seen.iter().any(|l| l.contains("TEST FAULT HOOK")), "{:#?}", devnet.seen);
    let cluster = named_cluster(&devnet, &[1, 2]);
    // The constructor's commit already differs between the replicas: one
    // commit lands, the other replica's acknowledgement disagrees.
    let _ = deploy(&devnet, "contracts/token", &cluster, "[1000]");
    let frozen = wait_for("the cluster to freeze", Duration::from_secs(120), || {
        let shown = devnet.umbra_ok(&["cluster", "show", &cluster]);
        shown.contains("FROZEN since block").then_some(shown)
    });
    // The chain raised ReplicaDiverged in the block that froze it.
    let block: u32 = word_after(&frozen, "FROZEN since block #").parse().unwrap();
    let events = devnet.umbra_ok(&["block", &block.to_string()]);
    assert!(events.contains("ReplicaDiverged"), "{events}");
    // Nothing more runs in a frozen cluster.
    let contracts: Vec<&str> = frozen.lines().filter(|l| l.starts_with("    0x")).map(str::trim).collect();
    let contract = contracts.last().unwrap();
    let refused = devnet.umbra(&["contract", "call", contract, "transfer", "--args", &format!("[\"{CHARLIE}\", 1]")]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("Contracts.ClusterFrozen"), "{stderr}");
}

#[test]
fn replaced_replica_rebuilds_state_from_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = devnet(&dir, &["--workers", "3"]);
    let cluster = named_cluster(&devnet, &[1, 2]);
    let token = ready(&deploy(&devnet, "contracts/token", &cluster, "[1000000]"));
    let sent = devnet.umbra_ok(&["contract", "call", &token, "transfer", "--args", &format!("[\"{CHARLIE}\", 777]")]);
    assert!(sent.starts_with("()"), "{sent}");
    let balance =
        ["contract", "query", &token, "balance_of", "--args", &format!("[\"{CHARLIE}\"]"), "--from", "//Charlie"];
    let query = |worker: u16| {
        let url = devnet.worker_url(worker);
        let mut args = balance.to_vec();
        args.extend(["--worker", &url]);
        devnet.umbra(&args)
    };
    let before = String::from_utf8(query(2).stdout).unwrap();
    assert!(before.starts_with("777 (block"), "{before}");

    // Worker 1 hangs (its process stopped, not exited): no heartbeats.
    let stopped = identity(&devnet, 1);
    let pid = Devnet::pid_of(&format!("--private-addr 127.0.0.1:{}", devnet.worker_private(1))).unwrap();
    assert!(std::process::Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap().success());
    // Anyone may replace it once its heartbeat is older than the grace;
    // before that the chain refuses with ReplicaStillEligible.
    let replaced = wait_for("the replacement", Duration::from_secs(180), || {
        let out = devnet.umbra(&["cluster", "replace", &cluster, &stopped, "--from", "//Bob"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            assert!(stderr.contains("Contracts.ReplicaStillEligible"), "{stderr}");
            std::thread::sleep(Duration::from_secs(3));
            return None;
        }
        Some(String::from_utf8(out.stdout).unwrap())
    });
    let third = identity(&devnet, 3);
    assert!(replaced.contains(&format!("replaced by {third}")), "{replaced}");
    let shown = devnet.umbra_ok(&["cluster", "show", &cluster]);
    assert!(shown.contains(&third) && !shown.contains(&stopped), "{shown}");

    // The new replica receives the cluster key, rebuilds the contract from
    // the encrypted deltas on chain and answers with the same state root.
    let after = wait_for("the new replica to answer", Duration::from_secs(120), || {
        let out = query(3);
        out.status.success().then(|| String::from_utf8(out.stdout).unwrap())
    });
    assert!(after.starts_with("777 (block"), "{after}");
    assert_eq!(word_after(&after, "state root "), word_after(&before, "state root "), "{before} {after}");
    let _ = std::process::Command::new("kill").args(["-CONT", &pid.to_string()]).status();
}

#[test]
fn resource_abuse_is_stopped_and_the_worker_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = devnet(&dir, &[]);
    let cluster = named_cluster(&devnet, &[1, 2]);
    let abuse = ready(&deploy(&devnet, "tests/contracts/abuse", &cluster, "[]"));
    let call = |method: &str, args: &str| devnet.umbra_ok(&["contract", "call", &abuse, method, "--args", args]);
    // Gas stops an endless loop; the memory limit stops unbounded growth;
    // the stack limit stops deep recursion; commit bounds refuse a huge
    // output. Each is a status in the sealed result, and nothing changes.
    assert!(call("spin", "[]").starts_with("OutOfGas"), "spin");
    assert!(call("hog", "[]").starts_with("Trapped"), "hog");
    assert!(call("recurse", "[100000000]").starts_with("Trapped"), "recurse");
    assert!(call("flood", "[60000]").starts_with("TooLarge"), "flood");
    let query = |method: &str, args: &str| {
        let url = devnet.worker_url(1);
        devnet.umbra(&["contract", "query", &abuse, method, "--args", args, "--worker", &url])
    };
    let huge = query("flood_query", "[1000000]");
    assert!(!huge.status.success() || String::from_utf8_lossy(&huge.stdout).starts_with("Trapped"));
    // A burst of commands spinning at the largest gas limit (a block's
    // worth: the per-block gas bound), queued in one go. Gas ends each; and
    // while the worker executes them, /info and queries keep answering
    // (they never wait for command execution).
    let max_gas = umbra_runtime::modules::contracts::MAX_GAS_LIMIT.to_string();
    let per_block = (umbra_runtime::modules::contracts::MAX_BLOCK_GAS
        / umbra_runtime::modules::contracts::MAX_GAS_LIMIT)
        .to_string();
    let worker = umbra_e2e::Pruntime::at(devnet.worker_private(1), devnet.worker_private(1) + 1);
    let url = devnet.ws_url();
    let (storm, slowest_info, answered_during) = std::thread::scope(|scope| {
        let storm = scope.spawn(|| {
            let out = std::process::Command::new(umbra_e2e::binary("umbra"))
                .args(["--url", &url, "bench", "commands", "--contract", &abuse, "--method", "spin"])
                .args(["--count", &per_block, "--gas", &max_gas])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        });
        let mut slowest = std::time::Duration::ZERO;
        let mut answered = 0;
        while !storm.is_finished() {
            let asked = std::time::Instant::now();
            assert!(worker.info().is_some(), "the worker keeps answering /info");
            slowest = slowest.max(asked.elapsed());
            if query("count", "[]").status.success() && !storm.is_finished() {
                answered += 1;
            }
        }
        (storm.join().unwrap(), slowest, answered)
    });
    assert!(storm.contains(&format!("{per_block} committed")), "{storm}");
    assert!(storm.contains(&format!("OutOfGas: {per_block}")), "{storm}");
    assert!(slowest_info < std::time::Duration::from_secs(2), "/info took {slowest_info:?} during the storm");
    assert!(answered_during > 0, "a query was answered while the storm executed");
    assert!(call("bump", "[]").starts_with('1'), "an honest command still runs");
    let count = query("count", "[]");
    assert!(String::from_utf8_lossy(&count.stdout).starts_with('1'), "{count:?}");
}

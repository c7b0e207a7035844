//! `umbra devnet` as a supervisor:
//!
//! * SIGTERM, SIGINT or SIGKILL of the devnet at three moments (the node
//!   just started, the gatekeeper starting, the network ready) leaves no
//!   process behind, and a requested stop is clean and within 5 s;
//! * a worker pRuntime killed during a load of confidential commands is
//!   reported, restarted and catches up: every command commits and the
//!   worker answers with the cluster's state root;
//! * two devnets side by side: a busy port is named with its holder and
//!   the flag to change it, a data directory in use is refused, and the
//!   pRuntime ports default to free ones when the usual ones are taken.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::time::Duration;

use umbra_e2e::{free_port, processes_mentioning, wait_for, word_after, Devnet, LocalNetwork};
use umbra_process::Signal;

/// What a devnet's processes have in their command lines: its data
/// directory (node, pRuntimes) or its node's URL (relayers).
fn needles(devnet: &Devnet, base: &std::path::Path) -> [String; 2] {
    [base.display().to_string(), format!("ws://127.0.0.1:{} ", devnet.rpc_port)]
}

fn left_behind(devnet: &Devnet, base: &std::path::Path) -> Vec<(u32, String)> {
    let [a, b] = needles(devnet, base);
    let devnet_pid = devnet.process.pid();
    processes_mentioning(&[&a, &b]).into_iter().filter(|(pid, _)| Some(*pid) != devnet_pid).collect()
}

#[test]
fn no_process_outlives_the_devnet_whatever_the_signal_and_moment() {
    // Each moment, by the line the devnet prints when it is reached.
    let moments = [
        ("the node just started", "  node started (pid"),
        ("the gatekeeper starting", "  gatekeeper pRuntime started (pid"),
        ("the network ready", "press Ctrl-C"),
    ];
    for (moment, line) in moments {
        for signal in [Signal::TERM, Signal::INT, Signal::KILL] {
            let dir = tempfile::tempdir().unwrap();
            let base = dir.path().join("devnet");
            let mut devnet = Devnet::start(&base, free_port(), &["--workers", "1"]);
            devnet.wait_line(moment, Duration::from_secs(300), |l| l.starts_with(line));
            let running = left_behind(&devnet, &base);
            assert!(!running.is_empty(), "{moment}: the devnet's children run");
            devnet.process.signal(signal);
            let status = devnet
                .process
                .wait_exit(Duration::from_secs(5))
                .unwrap_or_else(|| panic!("{signal:?} at {moment}: the devnet stops within 5 s"));
            wait_for(&format!("no process left after {signal:?} at {moment}"), Duration::from_secs(10), || {
                left_behind(&devnet, &base).is_empty().then_some(())
            });
            devnet.refresh();
            if signal == Signal::KILL {
                assert_eq!(status, "signal: 9 (SIGKILL)");
                continue;
            }
            assert_eq!(status, "exit status: 0", "{signal:?} at {moment}: {:#?}", devnet.seen);
            let last = devnet.seen.last().cloned().unwrap_or_default();
            if moment == "the network ready" {
                assert!(last.starts_with("devnet stopped cleanly"), "{signal:?}: {:#?}", devnet.seen);
            } else {
                assert!(last.ends_with("during start-up; devnet stopped"), "{signal:?} at {moment}: {last}");
            }
        }
    }
}

#[test]
fn a_killed_worker_is_restarted_and_catches_up_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let net = LocalNetwork::start(&dir.path().join("net"), 2);
    let cli = net.cli();
    let ids: Vec<String> = (1..=2).map(|i| net.worker_identity(i).unwrap()).collect();
    let created = cli.umbra_ok(&["cluster", "create", &ids[0], &ids[1]]);
    let cluster = word_after(&created, "cluster ");
    wait_for("the cluster key", Duration::from_secs(60), || {
        cli.umbra_ok(&["cluster", "show", &cluster]).contains("x25519 key: 0x").then_some(())
    });
    let code = cli.upload_crate("tests/contracts/abuse");
    let out = cli.umbra_ok(&["contract", "instantiate", &code, "--cluster", &cluster, "--args", "[]"]);
    let contract = word_after(&out, "contract ");

    // A load of commands; worker 1's pRuntime is killed while it runs.
    const COMMANDS: u32 = 40;
    let url = net.network().ws_url();
    let load = std::thread::spawn({
        let contract = contract.clone();
        move || {
            let out = std::process::Command::new(umbra_e2e::binary("umbra"))
                .args(["--url", &url, "bench", "commands", "--contract", &contract, "--method", "bump"])
                .args(["--count", &COMMANDS.to_string()])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        }
    });
    let supervisor = net.network().supervisor();
    let killed = supervisor.pid("worker 1 pRuntime").unwrap();
    wait_for("the load to start committing", Duration::from_secs(120), || {
        let count = query(&cli, &contract, net.worker(2).public);
        count.is_some_and(|(n, _)| n > 0).then_some(())
    });
    supervisor.signal("worker 1 pRuntime", Signal::KILL).unwrap();

    // Reported at once with its status, and restarted.
    let mut events = Vec::new();
    wait_for("worker 1 reported and restarted", Duration::from_secs(30), || {
        events.extend(net.network().events());
        events.iter().any(|e| e.starts_with("worker 1 pRuntime restarted")).then_some(())
    });
    let exited = events.iter().find(|e| e.starts_with("worker 1 pRuntime exited")).unwrap();
    assert!(exited.contains("signal: 9 (SIGKILL)") && exited.contains("restarting in 500 ms"), "{exited}");
    assert_ne!(supervisor.pid("worker 1 pRuntime"), Some(killed));

    // Every command commits; the restarted worker resumes from its
    // checkpoint, catches up and answers with the cluster's state root.
    let report = load.join().unwrap();
    assert!(report.contains(&format!("{COMMANDS} committed")), "{report}");
    let (count2, root2) = query(&cli, &contract, net.worker(2).public).unwrap();
    assert_eq!(count2, u64::from(COMMANDS));
    let (count1, root1) = wait_for("worker 1 to catch up", Duration::from_secs(120), || {
        query(&cli, &contract, net.worker(1).public).filter(|(n, _)| *n == u64::from(COMMANDS))
    });
    assert_eq!((count1, &root1), (count2, &root2));
    let log = std::fs::read_to_string(dir.path().join("net/pruntime.log")).unwrap();
    assert!(log.contains("==> worker 1 pRuntime starting (restart 1)"), "{log}");
    assert!(log.contains("resumed from checkpoint"), "{log}");
    // The whole network keeps running, and stops cleanly.
    assert!(net.run(net.network().status_line()).is_some());
    let report = net.stop();
    assert!(report.killed.is_empty(), "{report:?}");
}

/// The abuse contract's `count` on the worker with public port `port`:
/// the value and the state root it answered at.
fn query(cli: &umbra_e2e::Cli, contract: &str, port: u16) -> Option<(u64, String)> {
    let url = format!("http://127.0.0.1:{port}");
    let out = cli.umbra(&["contract", "query", contract, "count", "--args", "[]", "--worker", &url]);
    let stdout = String::from_utf8(out.stdout).ok()?;
    let value = stdout.split_whitespace().next()?.trim_matches('"').parse().ok()?;
    Some((value, word_after(&stdout, "state root ")))
}

#[test]
fn two_devnets_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let first_base = dir.path().join("first");
    let mut first = Devnet::start(&first_base, free_port(), &["--workers", "1"]);
    first.wait_line("the first devnet", Duration::from_secs(300), |l| l.starts_with("press Ctrl-C"));
    let umbra = |args: &[&str]| {
        let out = std::process::Command::new(umbra_e2e::binary("umbra")).arg("devnet").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let other = dir.path().join("second");
    let other = other.to_str().unwrap();
    let pid = |name: &str| {
        let needle = if name == "umbra-node" { first_base.join("node") } else { first_base.join("gatekeeper") };
        umbra_e2e::Devnet::pid_of(needle.to_str().unwrap()).unwrap()
    };
    // The node's RPC port is taken: named, with its holder and the flag.
    let rpc = first.rpc_port.to_string();
    let err = umbra(&["--base-path", other, "--rpc-port", &rpc]);
    let node = pid("umbra-node");
    assert!(
        err.contains(&format!("port {rpc} is in use by umbra-node (pid {node}); pass --rpc-port to use another")),
        "{err}"
    );
    // An explicit pRuntime port that is taken: the same.
    let gatekeeper = (first.pruntime_port + 2).to_string();
    let err = umbra(&["--base-path", other, "--rpc-port", &free_port().to_string(), "--pruntime-port", &gatekeeper]);
    let holder = pid("umbra-pruntime");
    assert!(
        err.contains(&format!("is in use by umbra-pruntime (pid {holder}); pass --pruntime-port to use another")),
        "{err}"
    );
    // The data directory is in use.
    let base = first_base.to_str().unwrap();
    let err = umbra(&["--base-path", base, "--rpc-port", &free_port().to_string()]);
    let devnet = first.process.pid().unwrap();
    assert!(err.contains(&format!("is in use by another umbra devnet (pid {devnet})")), "{err}");
    // Nothing of the first devnet was touched by the refusals.
    assert!(first.process.pid().is_some());

    // The default pRuntime ports (8100…) taken: the second devnet picks
    // free ones and prints them.
    let _held = std::net::TcpListener::bind(("127.0.0.1", 8100));
    let second_base = dir.path().join("second");
    let rpc = free_port();
    let mut args: Vec<String> = ["devnet", "--workers", "1", "--rpc-port"].map(String::from).into();
    args.extend([rpc.to_string(), "--base-path".into(), second_base.display().to_string()]);
    let process = umbra_e2e::Supervised::start("umbra", &args, dir.path().join("second.out"));
    let mut second = Devnet { process, seen: Vec::new(), rpc_port: rpc, pruntime_port: 0 };
    second.wait_line("the second devnet", Duration::from_secs(300), |l| l.starts_with("press Ctrl-C"));
    let worker = second.seen.iter().find(|l| l.trim_start().starts_with("worker 1 pRuntime:")).unwrap();
    let port: u16 = word_after(worker, "http://127.0.0.1:").split('/').next().unwrap().parse().unwrap();
    assert_ne!(port, 8100, "{worker}");
    assert!(second.umbra_ok(&["worker", "list"]).contains("2 worker(s)"));
    assert!(first.umbra_ok(&["worker", "list"]).contains("2 worker(s)"));
}

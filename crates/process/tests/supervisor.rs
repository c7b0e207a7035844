//! The supervisor with real processes (`sh`, `sleep`): children die with
//! it however it dies (SIGKILL, SIGTERM, SIGINT), exits are reported with
//! status and log tail and restarted with back-off, stops escalate to
//! SIGKILL only for children that ignore SIGTERM.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use umbra_process::{ChildSpec, Event, Restart, Supervisor};

const ROLE: &str = "UMBRA_PROCESS_TEST_ROLE";

fn alive(pid: u32) -> bool {
    // A zombie is dead: it only waits for its parent (init) to reap it.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sleeper(name: &str, dir: &Path) -> ChildSpec {
    ChildSpec::new(name, "sleep", dir.join(format!("{name}.log"))).args(["1000"])
}

/// Not a test on its own: the supervisor process the signal tests start
/// (this test binary re-executed with `ROLE` set). Starts two children,
/// prints their pids, then waits for SIGINT/SIGTERM and stops them.
#[test]
fn helper_supervisor_process() {
    let Ok(dir) = std::env::var(ROLE) else { return };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut listener = runtime.block_on(async { umbra_process::ShutdownListener::install() }).unwrap();
    let supervisor = Supervisor::new();
    let a = supervisor.spawn(sleeper("a", Path::new(&dir))).unwrap();
    let b = supervisor.spawn(sleeper("b", Path::new(&dir))).unwrap();
    println!("pids {a} {b}");
    let signal = runtime.block_on(listener.recv());
    let report = supervisor.stop_all(Duration::from_secs(5));
    println!("stopped on {} {:?}", signal.name(), report);
}

/// Starts the helper supervisor with SIGINT ignored (as `cmd &` in a
/// script would), returns it and its children's pids. The caller waits for
/// it; a panic here fails the test, and the helper dies with it.
#[allow(clippy::zombie_processes)]
fn start_helper(dir: &Path) -> (std::process::Child, Vec<u32>, BufReader<std::process::ChildStdout>) {
    let mut helper = Command::new("sh")
        .args(["-c", "trap '' INT; exec \"$0\" \"$@\""])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "helper_supervisor_process", "--nocapture", "--test-threads", "1"])
        .env(ROLE, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(helper.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the helper printed no pids");
        if let Some((_, pids)) = line.trim().split_once("pids ") {
            let pids = pids.split(' ').map(|p| p.parse().unwrap()).collect();
            return (helper, pids, out);
        }
    }
}

#[test]
fn children_die_with_the_supervisor_however_it_dies() {
    for signal in ["KILL", "TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut helper, pids, mut out) = start_helper(dir.path());
        assert!(pids.iter().all(|p| alive(*p)), "{signal}: children run");
        let status = Command::new("kill").args([&format!("-{signal}"), &helper.id().to_string()]).status().unwrap();
        assert!(status.success());
        let _ = helper.wait();
        wait_until(&format!("children gone after SIG{signal}"), Duration::from_secs(10), || {
            pids.iter().all(|p| !alive(*p))
        });
        if signal != "KILL" {
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
            assert!(rest.contains(&format!("stopped on SIG{signal}")), "{signal}: {rest}");
            assert!(rest.contains("killed: []"), "{signal}: sleep stops on SIGTERM: {rest}");
        }
    }
}

#[test]
fn exits_are_reported_and_restarted_with_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new();
    let spec = ChildSpec::new("flaky", "sh", dir.path().join("flaky.log"))
        .args(["-c", "echo about to fail; exit 3"])
        .restart(Restart::Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(200) });
    supervisor.spawn(spec).unwrap();
    let mut delays = Vec::new();
    let mut restarts = Vec::new();
    while delays.len() < 4 {
        match supervisor.next_event(Duration::from_secs(10)).expect("an event") {
            Event::Exited { name, status, tail, restart_in, .. } => {
                assert_eq!(name, "flaky");
                assert_eq!(status, "exit status: 3");
                assert!(tail.ends_with("about to fail"), "{tail}");
                delays.push(restart_in.unwrap());
            }
            Event::Started { restarts: n, .. } => restarts.push(n),
            other => panic!("{other:?}"),
        }
    }
    let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [50, 100, 200, 200], "doubling up to the maximum");
    assert_eq!(&restarts[..4], &[0, 1, 2, 3]);
    let report = supervisor.stop_all(Duration::from_secs(1));
    assert!(report.killed.is_empty());
}

#[test]
fn a_killed_child_comes_back_and_never_restarting_ones_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new();
    let first = supervisor.spawn(sleeper("worker", dir.path()).restart(Restart::DEFAULT_BACKOFF)).unwrap();
    supervisor.spawn(ChildSpec::new("once", "true", dir.path().join("once.log"))).unwrap();
    assert!(matches!(supervisor.spawn(sleeper("worker", dir.path())), Err(umbra_process::Error::Duplicate(_))));
    supervisor.signal("worker", umbra_process::Signal::KILL).unwrap();
    let mut seen = Vec::new();
    let second = loop {
        match supervisor.next_event(Duration::from_secs(10)).expect("an event") {
            Event::Started { name, pid, restarts: 1 } if name == "worker" => break pid,
            e => seen.push(e),
        }
    };
    assert_ne!(first, second);
    assert!(!alive(first));
    assert!(alive(second));
    assert!(
        seen.iter().any(|e| matches!(e, Event::Exited { name, status, restart_in: Some(_), .. }
        if name == "worker" && status.contains("SIGKILL"))),
        "{seen:?}"
    );
    wait_until("`once` reported", Duration::from_secs(10), || {
        seen.extend(supervisor.drain_events());
        seen.iter().any(|e| matches!(e, Event::Exited { name, restart_in: None, .. } if name == "once"))
    });
    assert_eq!(supervisor.pid("once"), None);
    assert_eq!(supervisor.pid("worker"), Some(second));
    assert!(matches!(supervisor.signal("once", umbra_process::Signal::TERM), Err(umbra_process::Error::Unknown(_))));
}

#[test]
fn a_stop_kills_only_what_ignores_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new();
    let polite = supervisor.spawn(sleeper("polite", dir.path())).unwrap();
    let stubborn = supervisor
        .spawn(
            ChildSpec::new("stubborn", "sh", dir.path().join("stubborn.log")).args(["-c", "trap '' TERM; sleep 1000"]),
        )
        .unwrap();
    // Let the shell install its trap.
    wait_until("the trap", Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{stubborn}/status"))
            .map(|s| {
                s.lines()
                    .filter_map(|l| l.strip_prefix("SigIgn:"))
                    .any(|mask| u64::from_str_radix(mask.trim(), 16).is_ok_and(|m| m & (1 << (15 - 1)) != 0))
            })
            .unwrap_or(false)
    });
    let report = supervisor.stop_all(Duration::from_millis(300));
    assert_eq!(report.stopped, ["polite"]);
    assert_eq!(report.killed, ["stubborn"]);
    assert!(!alive(polite) && !alive(stubborn));
    // The supervisor stays usable.
    supervisor.spawn(sleeper("again", dir.path())).unwrap();
}

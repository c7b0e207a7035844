//! Helpers for end-to-end tests: locate the built binaries, run nodes on
//! free loopback ports in temporary directories, talk JSON-RPC over HTTP,
//! poll with timeouts (never sleep as synchronisation).
//!
//! The binaries are the ones `cargo test --workspace` builds next to the
//! test executables (`target/<profile>/umbra`, `…/umbra-node`).
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test harness: panics are test failures; timeouts need the clock

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::Value;

/// Path of a workspace binary built by cargo next to the test executables.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(name);
    assert!(path.is_file(), "{} is not built; run the tests with `cargo test --workspace`", path.display());
    path
}

/// A free TCP port on loopback (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `f` every 100 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Removes ANSI colour sequences (`ESC [ … m`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A running `umbra-node`.
pub struct NodeProcess {
    child: Child,
    /// Its RPC port.
    pub rpc_port: u16,
    /// Its log file.
    pub log: PathBuf,
}

impl NodeProcess {
    /// Starts `umbra-node --dev --base-path <base> --rpc-port 0 <extra>` and
    /// waits until its RPC server is bound.
    pub fn start(base: &Path, extra: &[&str]) -> NodeProcess {
        Self::start_on(base, 0, extra)
    }

    /// As [`NodeProcess::start`] with a fixed RPC port (0: any free one),
    /// so a restarted node is found at the same address.
    pub fn start_on(base: &Path, rpc_port: u16, extra: &[&str]) -> NodeProcess {
        std::fs::create_dir_all(base).unwrap();
        let log =
            base.join(format!("node-{}.log", Instant::now().elapsed().as_nanos() ^ u128::from(std::process::id())));
        let mut child = Command::new(binary("umbra-node"))
            .args(["--dev", "--rpc-port", &rpc_port.to_string(), "--log", "info"])
            .arg("--base-path")
            .arg(base)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let log_path = log.clone();
        std::thread::spawn(move || {
            let mut file = std::fs::File::create(&log_path).unwrap();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let line = strip_ansi(&line);
                let _ = writeln!(file, "{line}");
                if line.contains("JSON-RPC") {
                    if let Some(addr) = line.split("addr=").nth(1) {
                        let port = addr
                            .split_whitespace()
                            .next()
                            .and_then(|a| a.rsplit(':').next())
                            .and_then(|p| p.parse::<u16>().ok());
                        if let Some(p) = port {
                            let _ = tx.send(p);
                        }
                    }
                }
            }
        });
        let rpc_port = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "umbra-node did not start its RPC server; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        NodeProcess { child, rpc_port, log }
    }

    /// `ws://127.0.0.1:<port>`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc_port)
    }

    /// A JSON-RPC call over HTTP.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        http_rpc(self.rpc_port, method, params)
    }

    /// Kills the process with SIGKILL (no chance to clean up).
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGINT and waits for the exit status.
    pub fn interrupt(mut self) -> ExitStatus {
        let _ =
            rustix::process::kill_process(rustix::process::Pid::from_child(&self.child), rustix::process::Signal::INT);
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "node did not stop after SIGINT");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The best and finalized block numbers.
    pub fn heads(&self) -> (u32, u32) {
        let number =
            |h: &Value| u32::from_str_radix(h["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
        let best = self.rpc("chain_getHeader", serde_json::json!([]))["result"].clone();
        let fin_hash = self.rpc("chain_getFinalizedHead", serde_json::json!([]))["result"].clone();
        let fin = self.rpc("chain_getHeader", serde_json::json!([fin_hash]))["result"].clone();
        (number(&best), number(&fin))
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends raw bytes as an HTTP POST to the JSON-RPC port; returns (status, body).
pub fn http_post(port: u16, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// A JSON-RPC call over HTTP; returns the whole response object.
pub fn http_rpc(port: u16, method: &str, params: Value) -> Value {
    let request = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let (status, body) = http_post(port, request.to_string().as_bytes());
    assert_eq!(status, 200, "HTTP {status} for {method}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Any other long-running binary of ours (pRuntime, relayer), killed on drop.
pub struct Process {
    child: Child,
    /// Its combined log.
    pub log: PathBuf,
}

impl Process {
    /// Starts `name args…`, logging stdout and stderr to `log`.
    pub fn start(name: &str, args: &[String], log: PathBuf) -> Process {
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(binary(name))
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Process { child, log }
    }

    /// SIGKILL.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The log so far, without colours.
    pub fn log_text(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response: status, headers (names lower-cased), body.
pub type HttpResponse = (u16, Vec<(String, String)>, String);

/// `GET path` on `127.0.0.1:port`; `None` when nothing listens.
pub fn http_get(port: u16, path: &str) -> Option<HttpResponse> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some((status, headers, body.to_string()))
}

/// `POST path` with a raw body on `127.0.0.1:port`.
pub fn http_post_to(port: u16, path: &str, body: &[u8]) -> Option<HttpResponse> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.lines().next()?.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, Vec::new(), body.to_string()))
}

/// A port `p` with `p..=p + n` free, below Linux's ephemeral range
/// (32768–60999) so outgoing connections of the processes under test
/// (relayers, clients) cannot take one of them before it is bound.
pub fn free_port_range(n: u16) -> u16 {
    let mut p = 20_000 + (std::process::id() % 12_000) as u16;
    loop {
        if (0..=n).all(|i| std::net::TcpListener::bind(("127.0.0.1", p + i)).is_ok()) {
            return p;
        }
        p = if p + 2 * n + 1 > 32_000 { 20_000 } else { p + n + 1 };
    }
}

/// `umbra devnet` started on loopback with its stdout read line by line.
pub struct Devnet {
    /// The `umbra devnet` process.
    pub child: Child,
    /// Lines printed so far.
    pub seen: Vec<String>,
    lines: mpsc::Receiver<String>,
}

impl Devnet {
    /// Starts `umbra devnet` on `rpc_port` with data in `base`, pRuntime
    /// ports from [`free_port_range`] (never overlapping `rpc_port`), and
    /// `extra` flags.
    pub fn start(base: &Path, rpc_port: u16, extra: &[&str]) -> Devnet {
        let pruntime_port = loop {
            let p = free_port_range(5);
            if !(p..=p + 5).contains(&rpc_port) {
                break p;
            }
        };
        let mut child = Command::new(binary("umbra"))
            .args(["devnet", "--rpc-port", &rpc_port.to_string(), "--pruntime-port", &pruntime_port.to_string()])
            .args(extra)
            .arg("--base-path")
            .arg(base)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Devnet { child, seen: Vec::new(), lines }
    }

    /// Collects output until a line satisfies `done`; panics with the
    /// output when the devnet exits first or `timeout` passes.
    pub fn wait_line(&mut self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) {
        wait_for(what, timeout, || {
            while let Ok(line) = self.lines.try_recv() {
                self.seen.push(line);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("devnet exited early ({status}): {:#?} {err}", self.seen);
            }
            self.seen.iter().any(|l| done(l)).then_some(())
        });
    }
}

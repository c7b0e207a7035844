//! Helpers for end-to-end tests: locate the built binaries, run nodes on
//! free loopback ports in temporary directories, talk JSON-RPC over HTTP,
//! poll with timeouts (never sleep as synchronisation).
//!
//! The binaries are the ones `cargo test --workspace` builds next to the
//! test executables (`target/<profile>/umbra`, `…/umbra-node`).
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test harness: panics are test failures; timeouts need the clock

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use serde_json::Value;
use umbra_process::{ChildSpec, Event, Restart, Signal, Supervisor};

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

/// Polls `f` every 200 ms until it has held for `hold` without a break,
/// for at most `timeout` (a condition that must stay true, not just become so).
pub fn stays(what: &str, hold: Duration, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    let mut since = Instant::now();
    loop {
        if !f() {
            since = Instant::now();
        } else if since.elapsed() >= hold {
            return;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
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

/// One of our binaries under its own [`Supervisor`]: in its own process
/// group, killed with the test process even when that is SIGKILLed (no
/// stray processes holding ports after a crashed test), its output in a
/// log file. Dropping it stops the process (SIGTERM, SIGKILL after 5 s).
pub struct Supervised {
    supervisor: Supervisor,
    name: String,
    /// Its combined stdout and stderr.
    pub log: PathBuf,
}

impl Supervised {
    /// Starts the workspace binary `name args…` (see [`binary`]).
    pub fn start(name: &str, args: &[String], log: PathBuf) -> Supervised {
        Self::start_program(&binary(name), args, log)
    }

    /// Starts `program args…` (`NO_COLOR=1`, `RUST_LOG=info`), logging to `log`.
    pub fn start_program(program: &Path, args: &[String], log: PathBuf) -> Supervised {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        let name = program.file_name().unwrap().to_string_lossy().to_string();
        let supervisor = Supervisor::new();
        let spec = ChildSpec::new(&name, program, &log)
            .args(args)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .restart(Restart::Never);
        supervisor.spawn(spec).unwrap_or_else(|e| panic!("{e}"));
        Supervised { supervisor, name, log }
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.supervisor.pid(&self.name)
    }

    /// Sends `signal` to its process group.
    pub fn signal(&self, signal: Signal) {
        let _ = self.supervisor.signal(&self.name, signal);
    }

    /// Waits until it exits; its status (`exit status: 0`,
    /// `signal: 9 (SIGKILL)`), or `None` after `timeout`.
    pub fn wait_exit(&self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            if let Some(Event::Exited { status, .. }) = self.supervisor.next_event(left) {
                return Some(status);
            }
        }
    }

    /// SIGKILL (no chance to clean up), and waits for the exit.
    pub fn kill9(self) {
        self.signal(Signal::KILL);
        let _ = self.wait_exit(Duration::from_secs(30));
    }

    /// The log so far, without colours.
    pub fn log_text(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }
}

/// A running `umbra-node`.
pub struct NodeProcess {
    process: Supervised,
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
        let mut args = vec!["--dev"];
        args.extend_from_slice(extra);
        Self::start_args(base, rpc_port, &args)
    }

    /// Starts `umbra-node --rpc-port <rpc_port> --base-path <base> <args>`
    /// (no `--dev`: the chain and keys are the caller's).
    pub fn start_args(base: &Path, rpc_port: u16, extra: &[&str]) -> NodeProcess {
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        std::fs::create_dir_all(base).unwrap();
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = base.join(format!("node-{}-{n}.log", std::process::id()));
        // `UMBRA_E2E_LOG` (e.g. `info,umbra::network=debug`) when a failing test needs more.
        let filter = std::env::var("UMBRA_E2E_LOG").unwrap_or_else(|_| "info".into());
        let mut args: Vec<String> =
            ["--rpc-port", &rpc_port.to_string(), "--log", &filter, "--base-path"].map(String::from).into();
        args.push(base.display().to_string());
        args.extend(extra.iter().map(|a| a.to_string()));
        let process = Supervised::start("umbra-node", &args, log.clone());
        // `… JSON-RPC … addr=127.0.0.1:PORT` once the server is bound.
        let rpc_port = wait_for("umbra-node's RPC server", Duration::from_secs(120), || {
            let text = process.log_text();
            let port = text.lines().filter(|l| l.contains("JSON-RPC")).find_map(|l| {
                l.split("addr=").nth(1)?.split_whitespace().next()?.rsplit(':').next()?.parse::<u16>().ok()
            });
            if port.is_none() && process.pid().is_none() {
                panic!("umbra-node exited before its RPC server started; log:\n{text}");
            }
            port
        });
        NodeProcess { process, rpc_port, log }
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
    pub fn kill9(self) {
        self.process.kill9();
    }

    /// Sends `signal` (`Signal::STOP` hangs it like a frozen machine,
    /// `Signal::CONT` resumes it).
    pub fn signal(&self, signal: Signal) {
        self.process.signal(signal);
    }

    /// Sends SIGINT and waits for the exit status (`exit status: 0`).
    pub fn interrupt(self) -> String {
        self.process.signal(Signal::INT);
        self.process.wait_exit(Duration::from_secs(30)).expect("node did not stop after SIGINT")
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

/// Any other long-running binary of ours (pRuntime, relayer).
pub type Process = Supervised;

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

/// A pRuntime's APIs through the one typed client (`umbra-protocol`),
/// blocking, for these synchronous tests.
pub struct Pruntime {
    rt: tokio::runtime::Runtime,
    /// The private API (relayer's).
    pub private: umbra_protocol::client::PruntimeClient,
    /// The public API.
    pub public: umbra_protocol::client::PruntimeClient,
}

impl Pruntime {
    /// pRuntime with its private API on loopback `private` and its public
    /// API on `public`.
    pub fn at(private: u16, public: u16) -> Self {
        let quick = umbra_protocol::client::ClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            ..umbra_protocol::client::ClientOptions::private()
        };
        Pruntime {
            rt: tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
            private: umbra_protocol::client::PruntimeClient::new(&format!("127.0.0.1:{private}"), quick.clone()),
            public: umbra_protocol::client::PruntimeClient::new(&format!("127.0.0.1:{public}"), quick),
        }
    }

    /// Runs a future of the typed client.
    pub fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    /// `/status`, or `None` while it does not answer 200.
    pub fn status(&self) -> Option<umbra_protocol::api::Status> {
        use umbra_protocol::PrivateApi;
        self.run(self.private.status()).ok()
    }

    /// `/info` (public), or `None`.
    pub fn info(&self) -> Option<umbra_protocol::api::Info> {
        self.run(self.public.info()).ok()
    }

    /// `/egress`, decoded (or pRuntime's refusal).
    pub fn egress(&self) -> Result<Vec<umbra_runtime::modules::message_queue::SignedMessage>, umbra_protocol::Error> {
        use umbra_protocol::PrivateApi;
        self.run(self.private.egress())
    }

    /// `/state?key=…` (public).
    pub fn state(&self, key: &[u8]) -> Result<umbra_protocol::api::StateValue, umbra_protocol::Error> {
        self.run(self.public.state(key))
    }
}

/// A port `p` with `p..=p + n` free, below Linux's ephemeral range
/// (32768–60999) so outgoing connections of the processes under test
/// (relayers, clients) cannot take one of them before it is bound.
pub fn free_port_range(n: u16) -> u16 {
    // Ports are bound later by the processes under test, so parallel tests
    // of one binary must not be handed the same free range: each call
    // starts past the ranges handed out before.
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let offset = NEXT.fetch_add(n + 1, std::sync::atomic::Ordering::Relaxed) % 10_000;
    let mut p = 20_000 + ((std::process::id() % 12_000) as u16 + offset) % 12_000;
    loop {
        if (0..=n).all(|i| std::net::TcpListener::bind(("127.0.0.1", p + i)).is_ok()) {
            return p;
        }
        p = if p + 2 * n + 1 > 32_000 { 20_000 } else { p + n + 1 };
    }
}

/// The whitespace-separated word after `prefix` in `text` (a trailing
/// comma dropped); panics with the text when `prefix` is absent.
pub fn word_after(text: &str, prefix: &str) -> String {
    let at = text.find(prefix).unwrap_or_else(|| panic!("no `{prefix}` in {text}")) + prefix.len();
    text[at..].split_whitespace().next().unwrap_or_default().trim_end_matches(',').to_string()
}

/// Bytes a chain observer sees (see [`Devnet::observed`]).
pub struct Observed {
    /// Every extrinsic of every finalized block.
    pub extrinsics: Vec<Vec<u8>>,
    /// Every value under the Contracts module's prefix.
    pub storage: Vec<Vec<u8>>,
}

impl Observed {
    /// Panics, naming `what`, when any observed byte string contains
    /// `needle`.
    pub fn assert_hidden(&self, what: &str, needle: &[u8]) {
        let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        assert!(!self.extrinsics.iter().any(|x| contains(x)), "a block carries {what} in plaintext");
        assert!(!self.storage.iter().any(|v| contains(v)), "Contracts storage holds {what} in plaintext");
    }
}

/// `umbra devnet` started on loopback under a [`Supervisor`] (it dies
/// with the test process), its stdout read from its log line by line;
/// dropping it stops the devnet (SIGTERM, SIGKILL after 5 s).
pub struct Devnet {
    /// The `umbra devnet` process.
    pub process: Supervised,
    /// Lines printed so far.
    pub seen: Vec<String>,
    /// The node's JSON-RPC port.
    pub rpc_port: u16,
    /// The first worker's private pRuntime port (`--pruntime-port`).
    pub pruntime_port: u16,
}

impl Devnet {
    /// Starts `umbra devnet` on `rpc_port` with data in `base`, pRuntime
    /// ports from [`free_port_range`] (never overlapping `rpc_port`), and
    /// `extra` flags (`--workers N` is honoured when choosing ports). Its
    /// output goes to `<base>.out`.
    pub fn start(base: &Path, rpc_port: u16, extra: &[&str]) -> Devnet {
        let workers: u16 = extra
            .iter()
            .position(|a| *a == "--workers")
            .and_then(|i| extra.get(i + 1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(2);
        let span = 2 * workers.max(2) + 1;
        let pruntime_port = loop {
            let p = free_port_range(span);
            if !(p..=p + span).contains(&rpc_port) {
                break p;
            }
        };
        let mut args: Vec<String> =
            ["devnet", "--rpc-port", &rpc_port.to_string(), "--pruntime-port", &pruntime_port.to_string()]
                .map(String::from)
                .into();
        args.extend(extra.iter().map(|a| a.to_string()));
        args.extend(["--base-path".to_string(), base.display().to_string()]);
        let process = Supervised::start("umbra", &args, base.with_extension("out"));
        Devnet { process, seen: Vec::new(), rpc_port, pruntime_port }
    }

    /// Worker `i`'s (1-based) private pRuntime port (the devnet's layout).
    pub fn worker_private(&self, i: u16) -> u16 {
        if i == 1 {
            self.pruntime_port
        } else {
            self.pruntime_port + 2 * i
        }
    }

    /// Worker `i`'s public pRuntime API as a URL.
    pub fn worker_url(&self, i: u16) -> String {
        format!("http://127.0.0.1:{}", self.worker_private(i) + 1)
    }

    /// The node's WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc_port)
    }

    /// The `umbra` CLI pointed at this devnet's node.
    pub fn cli(&self) -> Cli {
        Cli { url: self.ws_url() }
    }

    /// Runs the `umbra` CLI against this devnet.
    pub fn umbra(&self, args: &[&str]) -> std::process::Output {
        self.cli().umbra(args)
    }

    /// Runs the `umbra` CLI and returns its stdout; panics with stderr on
    /// failure.
    pub fn umbra_ok(&self, args: &[&str]) -> String {
        self.cli().umbra_ok(args)
    }

    /// Worker `i`'s identity (0x hex) from its public `/info`.
    pub fn worker_identity(&self, i: u16) -> Option<String> {
        let (_, _, body) = http_get(self.worker_private(i) + 1, "/info")?;
        serde_json::from_str::<Value>(&body).ok()?["identity"].as_str().map(str::to_string)
    }

    /// Builds and uploads the contract crate at `krate` (see
    /// [`Cli::upload_crate`]); returns its code hash.
    pub fn upload_crate(&self, krate: &str) -> String {
        self.cli().upload_crate(krate)
    }

    /// What a chain observer sees of confidential contracts: every
    /// extrinsic of every block up to the finalized head, and every value
    /// under the Contracts module's storage prefix.
    pub fn observed(&self) -> Observed {
        let rpc = |m: &str, p: Value| http_rpc(self.rpc_port, m, p);
        let finalized = rpc("chain_getFinalizedHead", serde_json::json!([]));
        let head = rpc("chain_getHeader", serde_json::json!([finalized["result"]]));
        let top = u32::from_str_radix(head["result"]["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
        let unhex = |v: &Value| hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap();
        let mut extrinsics = Vec::new();
        for n in 1..=top {
            let hash = rpc("chain_getBlockHash", serde_json::json!([n]));
            let block = rpc("chain_getBlock", serde_json::json!([hash["result"]]));
            extrinsics.extend(block["result"]["block"]["extrinsics"].as_array().unwrap().iter().map(unhex));
        }
        let prefix = format!("0x{}", hex::encode(umbra_crypto::hashing::twox_128(b"Contracts")));
        let mut storage = Vec::new();
        let mut start = Value::Null;
        loop {
            let keys = rpc("state_getKeysPaged", serde_json::json!([prefix, 1000, start]));
            let keys = keys["result"].as_array().unwrap().clone();
            for key in &keys {
                let value = rpc("state_getStorage", serde_json::json!([key]));
                if !value["result"].is_null() {
                    storage.push(unhex(&value["result"]));
                }
            }
            match keys.last() {
                Some(last) if keys.len() == 1000 => start = last.clone(),
                _ => break,
            }
        }
        Observed { extrinsics, storage }
    }

    /// The pid of the process started with `needle` in its command line
    /// (e.g. a worker's `--private-addr`), from `/proc`.
    pub fn pid_of(needle: &str) -> Option<u32> {
        processes_mentioning(&[needle]).first().map(|(pid, _)| *pid)
    }

    /// Collects output until a line satisfies `done`; panics with the
    /// output when the devnet exits first or `timeout` passes.
    pub fn wait_line(&mut self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) {
        wait_for(what, timeout, || {
            self.refresh();
            if self.seen.iter().any(|l| done(l)) {
                return Some(());
            }
            if self.process.pid().is_none() {
                self.refresh();
                panic!("devnet exited early: {:#?}", self.seen);
            }
            None
        });
    }

    /// Re-reads the output (the supervisor's own `==>` lines left out).
    pub fn refresh(&mut self) {
        self.seen = self.process.log_text().lines().filter(|l| !l.starts_with("==> ")).map(str::to_string).collect();
    }
}

/// Live processes (pid, command line) whose command line contains any of
/// `needles`, from `/proc` (zombies have none and are left out).
pub fn processes_mentioning(needles: &[&str]) -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let me = std::process::id();
    dir.flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (pid != me && needles.iter().any(|n| text.contains(n))).then_some((pid, text))
        })
        .collect()
}

/// The `umbra` CLI pointed at one node.
pub struct Cli {
    /// The node's WebSocket URL.
    pub url: String,
}

impl Cli {
    /// Runs `umbra --url <url> args…`.
    pub fn umbra(&self, args: &[&str]) -> std::process::Output {
        Command::new(binary("umbra")).args(["--url", &self.url]).args(args).output().unwrap()
    }

    /// Runs the `umbra` CLI and returns its stdout; panics with stderr on
    /// failure.
    pub fn umbra_ok(&self, args: &[&str]) -> String {
        let out = self.umbra(args);
        assert!(out.status.success(), "umbra {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Builds the contract crate at `krate` (relative to the repository)
    /// with `umbra contract build` and uploads it; returns its code hash.
    /// Builds into `target/contracts`: `cargo test` holds the workspace
    /// target's lock.
    pub fn upload_crate(&self, krate: &str) -> String {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target = root.join("target/contracts");
        let built = self.umbra_ok(&[
            "contract",
            "build",
            root.join(krate).to_str().unwrap(),
            "--target-dir",
            target.to_str().unwrap(),
        ]);
        let wasm = built.split_whitespace().next().unwrap().to_string();
        word_after(&self.umbra_ok(&["contract", "upload", &wasm]), "code ")
    }
}

/// A network started in this test process with the library `umbra devnet`
/// uses ([`umbra_devnet::Network`]): free ports, data in a directory the
/// test owns; dropping it stops every process.
pub struct LocalNetwork {
    network: Option<umbra_devnet::Network>,
    rt: tokio::runtime::Runtime,
}

impl LocalNetwork {
    /// Starts a node, a gatekeeper and `workers` workers with data in
    /// `base` and waits until they are ready (panics with the reason when
    /// they do not get there).
    pub fn start(base: &Path, workers: u16) -> LocalNetwork {
        let rpc_port = free_port();
        let span = 2 * workers.max(2) + 1;
        let pruntime_port = loop {
            let p = free_port_range(span);
            if !(p..=p + span).contains(&rpc_port) {
                break p;
            }
        };
        let dir = binary("umbra-node").parent().unwrap().to_path_buf();
        let config = umbra_devnet::Config {
            validators: 1,
            base: base.to_path_buf(),
            fresh: false,
            rpc_port,
            prometheus_port: None,
            pruntime_port: Some(pruntime_port),
            workers,
            query_rate: 2000,
            test_fault_diverge: None,
            binaries: umbra_devnet::Binaries::in_dir(&dir).unwrap(),
            progress: umbra_devnet::Progress::lines(),
        };
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let network = rt.block_on(umbra_devnet::Network::start(config)).unwrap_or_else(|e| panic!("{e}"));
        LocalNetwork { network: Some(network), rt }
    }

    /// The network.
    pub fn network(&self) -> &umbra_devnet::Network {
        self.network.as_ref().unwrap()
    }

    /// Runs a future on the network's runtime.
    pub fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    /// The `umbra` CLI pointed at the node.
    pub fn cli(&self) -> Cli {
        Cli { url: self.network().ws_url() }
    }

    /// Worker `i`'s (1-based) ports.
    pub fn worker(&self, i: usize) -> umbra_devnet::WorkerPorts {
        self.network().ports().workers[i - 1]
    }

    /// Worker `i`'s identity (0x hex) from its public `/info`.
    pub fn worker_identity(&self, i: usize) -> Option<String> {
        let (_, _, body) = http_get(self.worker(i).public, "/info")?;
        serde_json::from_str::<Value>(&body).ok()?["identity"].as_str().map(str::to_string)
    }

    /// Stops every process; the report.
    pub fn stop(mut self) -> umbra_process::StopReport {
        self.network.take().unwrap().stop()
    }
}

impl Drop for LocalNetwork {
    fn drop(&mut self) {
        if let Some(network) = self.network.take() {
            let _guard = self.rt.enter();
            network.stop();
        }
    }
}

//! The supervisor: one thread owns every child.
//!
//! The thread that forks a child is the one whose death `PR_SET_PDEATHSIG`
//! watches, so every child is forked by the supervisor's own thread, which
//! lives until the children are gone; if the whole process dies (even by
//! SIGKILL), the kernel kills every child. Each child leads its own
//! process group, so a terminal's Ctrl-C reaches only the supervisor, which
//! stops the children in order, and a stop reaches anything a child
//! started.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

/// How long a child must run before its back-off starts again from the
/// initial delay.
const STABLE_AFTER: Duration = Duration::from_secs(60);
/// How often the supervisor looks at its children.
const TICK: Duration = Duration::from_millis(25);
/// Most bytes [`tail`] reads from the end of a log.
const TAIL_BYTES: u64 = 64 * 1024;

/// What to do when a child exits without being asked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Report it and leave it stopped.
    Never,
    /// Report it and start it again after `initial`, doubling up to `max`
    /// while it keeps exiting within a minute of its start.
    Backoff {
        /// The first delay.
        initial: Duration,
        /// The longest delay.
        max: Duration,
    },
}

impl Restart {
    /// 0.5 s, doubling to 30 s.
    pub const DEFAULT_BACKOFF: Restart =
        Restart::Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(30) };
}

/// A child to run.
#[derive(Clone, Debug)]
pub struct ChildSpec {
    /// Its name (unique within a supervisor), used in events and logs.
    pub name: String,
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub env: Vec<(OsString, OsString)>,
    /// The file its stdout and stderr are appended to.
    pub log: PathBuf,
    /// What to do when it exits unasked.
    pub restart: Restart,
}

impl ChildSpec {
    /// `program` named `name`, logging to `log`, never restarted.
    pub fn new(name: impl Into<String>, program: impl Into<PathBuf>, log: impl Into<PathBuf>) -> ChildSpec {
        ChildSpec {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            log: log.into(),
            restart: Restart::Never,
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> ChildSpec
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> ChildSpec {
        self.env.push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Sets the restart policy.
    pub fn restart(mut self, restart: Restart) -> ChildSpec {
        self.restart = restart;
        self
    }
}

/// What happened to a child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// It started (again, when `restarts` > 0).
    Started {
        /// The child.
        name: String,
        /// Its process id.
        pid: u32,
        /// How many times it was restarted before.
        restarts: u32,
    },
    /// It exited without being asked to.
    Exited {
        /// The child.
        name: String,
        /// Its process id.
        pid: u32,
        /// How it ended (`exit status: 1`, `signal: 9 (SIGKILL)`).
        status: String,
        /// The last lines of its log.
        tail: String,
        /// When it will be started again (`None`: it will not).
        restart_in: Option<Duration>,
    },
    /// A restart failed to spawn (it is tried again after the back-off).
    RestartFailed {
        /// The child.
        name: String,
        /// Why.
        reason: String,
    },
}

/// How a stop went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StopReport {
    /// Children that exited on SIGTERM within the grace period.
    pub stopped: Vec<String>,
    /// Children that had to be killed (SIGKILL) after it: each is a bug
    /// of that child (it must exit promptly on SIGTERM).
    pub killed: Vec<String>,
    /// How long the stop took.
    pub took: Duration,
}

/// Why a supervisor request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program could not be started.
    #[error("cannot start {name} ({}): {reason}", program.display())]
    Spawn {
        /// The child.
        name: String,
        /// The program.
        program: PathBuf,
        /// Why.
        reason: String,
    },
    /// The log file could not be opened.
    #[error("cannot open {}: {reason}", path.display())]
    Log {
        /// The log.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A child of this name runs already.
    #[error("a child named {0} exists")]
    Duplicate(String),
    /// No child of this name.
    #[error("no child named {0}")]
    Unknown(String),
    /// The supervisor thread is gone (it stopped).
    #[error("the supervisor has stopped")]
    Gone,
}

enum Request {
    Spawn(Box<ChildSpec>, mpsc::Sender<Result<u32, Error>>),
    Pid(String, mpsc::Sender<Option<u32>>),
    Signal(String, Signal, mpsc::Sender<Result<(), Error>>),
    Stop(Duration, mpsc::Sender<StopReport>),
}

/// Runs children; see the module docs. Dropping it stops them (SIGTERM,
/// then SIGKILL after 5 s).
pub struct Supervisor {
    requests: mpsc::Sender<Request>,
    events: Mutex<mpsc::Receiver<Event>>,
    thread: Option<JoinHandle<()>>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    /// Starts the supervisor's thread.
    pub fn new() -> Supervisor {
        let (requests, rx) = mpsc::channel();
        let (events_tx, events) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("supervisor".into())
            .spawn(move || Inner { children: Vec::new(), events: events_tx }.run(rx))
            .ok();
        Supervisor { requests, events: Mutex::new(events), thread }
    }

    fn ask<T>(&self, request: impl FnOnce(mpsc::Sender<T>) -> Request) -> Result<T, Error> {
        let (tx, rx) = mpsc::channel();
        self.requests.send(request(tx)).map_err(|_| Error::Gone)?;
        rx.recv().map_err(|_| Error::Gone)
    }

    /// Starts `spec`; returns its process id.
    pub fn spawn(&self, spec: ChildSpec) -> Result<u32, Error> {
        self.ask(|tx| Request::Spawn(Box::new(spec), tx))?
    }

    /// The current process id of child `name` (`None` while it waits for
    /// a restart, or when unknown).
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.ask(|tx| Request::Pid(name.to_string(), tx)).ok().flatten()
    }

    /// Sends `signal` to child `name`'s process group (a test's crash, a
    /// reload); its restart policy applies if it exits.
    pub fn signal(&self, name: &str, signal: Signal) -> Result<(), Error> {
        self.ask(|tx| Request::Signal(name.to_string(), signal, tx))?
    }

    /// The next event, waiting at most `timeout`.
    pub fn next_event(&self, timeout: Duration) -> Option<Event> {
        let events = self.events.lock().ok()?;
        events.recv_timeout(timeout).ok()
    }

    /// Every event already reported.
    pub fn drain_events(&self) -> Vec<Event> {
        match self.events.lock() {
            Ok(events) => events.try_iter().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Stops every child: SIGTERM to each process group (newest first),
    /// SIGKILL to what still runs after `grace`. Pending restarts are
    /// cancelled; the supervisor stays usable.
    pub fn stop_all(&self, grace: Duration) -> StopReport {
        self.ask(|tx| Request::Stop(grace, tx)).unwrap_or_default()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let _ = self.stop_all(Duration::from_secs(5));
        // Closing the channel ends the thread.
        let (dead, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.requests, dead));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Running {
    spec: ChildSpec,
    child: Option<Child>,
    pid: u32,
    started_at: Instant,
    restarts: u32,
    /// The delay before the next restart.
    backoff: Duration,
    /// When a restart is due.
    restart_at: Option<Instant>,
}

struct Inner {
    children: Vec<Running>,
    events: mpsc::Sender<Event>,
}

/// The supervisor's clock (monotonic; the only reader in this crate).
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

impl Inner {
    fn run(mut self, requests: mpsc::Receiver<Request>) {
        loop {
            match requests.recv_timeout(TICK) {
                Ok(request) => self.handle(request),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.stop(Duration::from_secs(5));
                    return;
                }
            }
            self.reap();
            self.restart_due();
        }
    }

    fn handle(&mut self, request: Request) {
        match request {
            Request::Spawn(spec, reply) => {
                let result = if self.children.iter().any(|c| c.spec.name == spec.name) {
                    Err(Error::Duplicate(spec.name.clone()))
                } else {
                    start(&spec, 0).map(|child| {
                        let pid = child.id();
                        let backoff = match spec.restart {
                            Restart::Backoff { initial, .. } => initial,
                            Restart::Never => Duration::ZERO,
                        };
                        let _ = self.events.send(Event::Started { name: spec.name.clone(), pid, restarts: 0 });
                        self.children.push(Running {
                            spec: *spec,
                            child: Some(child),
                            pid,
                            started_at: now(),
                            restarts: 0,
                            backoff,
                            restart_at: None,
                        });
                        pid
                    })
                };
                let _ = reply.send(result);
            }
            Request::Pid(name, reply) => {
                let pid = self.children.iter().find(|c| c.spec.name == name && c.child.is_some()).map(|c| c.pid);
                let _ = reply.send(pid);
            }
            Request::Signal(name, signal, reply) => {
                let result = match self.children.iter().find(|c| c.spec.name == name) {
                    Some(c) if c.child.is_some() => {
                        signal_group(c.pid, signal);
                        Ok(())
                    }
                    _ => Err(Error::Unknown(name)),
                };
                let _ = reply.send(result);
            }
            Request::Stop(grace, reply) => {
                let report = self.stop(grace);
                let _ = reply.send(report);
            }
        }
    }

    /// Notices children that exited and schedules their restarts.
    fn reap(&mut self) {
        let mut gone = Vec::new();
        for (i, c) in self.children.iter_mut().enumerate() {
            let Some(child) = c.child.as_mut() else { continue };
            let Ok(Some(status)) = child.try_wait() else { continue };
            c.child = None;
            let restart_in = match c.spec.restart {
                Restart::Never => None,
                Restart::Backoff { initial, max } => {
                    if now().duration_since(c.started_at) >= STABLE_AFTER {
                        c.backoff = initial;
                    }
                    let delay = c.backoff;
                    c.backoff = (c.backoff * 2).min(max);
                    c.restart_at = Some(now() + delay);
                    Some(delay)
                }
            };
            tracing::warn!(child = %c.spec.name, pid = c.pid, %status, ?restart_in, "child exited");
            let _ = self.events.send(Event::Exited {
                name: c.spec.name.clone(),
                pid: c.pid,
                status: status.to_string(),
                tail: tail(&c.spec.log, 15),
                restart_in,
            });
            if restart_in.is_none() {
                gone.push(i);
            }
        }
        for i in gone.into_iter().rev() {
            self.children.remove(i);
        }
    }

    fn restart_due(&mut self) {
        let at = now();
        for c in &mut self.children {
            if c.child.is_some() || c.restart_at.is_none_or(|t| t > at) {
                continue;
            }
            c.restart_at = None;
            match start(&c.spec, c.restarts + 1) {
                Ok(child) => {
                    c.restarts += 1;
                    c.pid = child.id();
                    c.started_at = now();
                    c.child = Some(child);
                    tracing::info!(child = %c.spec.name, pid = c.pid, restarts = c.restarts, "child restarted");
                    let _ = self.events.send(Event::Started {
                        name: c.spec.name.clone(),
                        pid: c.pid,
                        restarts: c.restarts,
                    });
                }
                Err(e) => {
                    let delay = c.backoff;
                    if let Restart::Backoff { max, .. } = c.spec.restart {
                        c.backoff = (c.backoff * 2).min(max);
                    }
                    c.restart_at = Some(now() + delay);
                    let _ = self.events.send(Event::RestartFailed { name: c.spec.name.clone(), reason: e.to_string() });
                }
            }
        }
    }

    fn stop(&mut self, grace: Duration) -> StopReport {
        let began = now();
        let mut report = StopReport::default();
        for c in self.children.iter().rev() {
            if c.child.is_some() {
                signal_group(c.pid, Signal::TERM);
            }
        }
        let deadline = now() + grace;
        loop {
            let mut running = false;
            for c in &mut self.children {
                if let Some(child) = c.child.as_mut() {
                    if matches!(child.try_wait(), Ok(Some(_))) {
                        c.child = None;
                        report.stopped.push(c.spec.name.clone());
                    } else {
                        running = true;
                    }
                }
            }
            if !running || now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for c in &mut self.children {
            if let Some(mut child) = c.child.take() {
                signal_group(c.pid, Signal::KILL);
                let _ = child.kill();
                let _ = child.wait();
                tracing::error!(child = %c.spec.name, pid = c.pid, "did not stop on SIGTERM in time; killed");
                report.killed.push(c.spec.name.clone());
            }
        }
        self.children.clear();
        report.took = now().duration_since(began);
        report
    }
}

/// Sends `signal` to the process group led by `pid`.
fn signal_group(pid: u32, signal: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

/// Forks and execs `spec` from the calling (supervisor) thread.
fn start(spec: &ChildSpec, restarts: u32) -> Result<Child, Error> {
    let log_error = |e: std::io::Error| Error::Log { path: spec.log.clone(), reason: e.to_string() };
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&spec.log).map_err(log_error)?;
    let _ = writeln!(log, "==> {} starting (restart {restarts})", spec.name);
    let err = log.try_clone().map_err(log_error)?;
    let mut command = Command::new(&spec.program);
    command.args(&spec.args).stdin(Stdio::null()).stdout(log).stderr(err).process_group(0);
    for (k, v) in &spec.env {
        command.env(k, v);
    }
    let parent = rustix::process::getpid();
    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the forked child before exec. It makes two
    // system calls through rustix (prctl and getppid), which neither
    // allocate nor take locks, and builds its error without allocating.
    unsafe {
        command.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))
                .map_err(|e| std::io::Error::from_raw_os_error(e.raw_os_error()))?;
            // The supervisor died between fork and prctl: do not outlive it.
            if rustix::process::getppid() != Some(parent) {
                return Err(std::io::Error::from_raw_os_error(rustix::io::Errno::SRCH.raw_os_error()));
            }
            Ok(())
        });
    }
    command.spawn().map_err(|e| Error::Spawn {
        name: spec.name.clone(),
        program: spec.program.clone(),
        reason: e.to_string(),
    })
}

/// The last `lines` lines of the file at `path` (at most its last 64 KiB
/// are read); empty when it cannot be read.
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = std::fs::File::open(path) else { return String::new() };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)));
    let mut bytes = Vec::new();
    let _ = file.take(TAIL_BYTES).read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

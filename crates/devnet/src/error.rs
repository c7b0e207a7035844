//! The devnet's errors.

use std::path::PathBuf;

/// Why a network could not be started or driven.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory operation failed.
    #[error("{}: {reason}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A port the network needs is taken.
    #[error("port {port} is in use{}; pass {flag} to use another", holder.as_deref().map(|h| format!(" by {h}")).unwrap_or_default())]
    PortInUse {
        /// The port.
        port: u16,
        /// The flag that chooses it.
        flag: &'static str,
        /// The process holding it (`name (pid N)`), when visible.
        holder: Option<String>,
    },
    /// Another network uses the data directory.
    #[error("{} is in use by another umbra devnet{}; stop it or pass --base-path", path.display(), pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    BaseInUse {
        /// The data directory.
        path: PathBuf,
        /// That devnet's process id, when recorded.
        pid: Option<u32>,
    },
    /// A binary is missing.
    #[error("{} not found; build it with `cargo build --release -p {package}` or run ./scripts/devnet", path.display())]
    Binary {
        /// Where it was looked for.
        path: PathBuf,
        /// The package that builds it.
        package: &'static str,
    },
    /// A process exited while the network was starting.
    #[error("{name} exited ({status}) while {during}; last log lines:\n{tail}")]
    Exited {
        /// The process.
        name: String,
        /// How it ended.
        status: String,
        /// What the network was waiting for.
        during: String,
        /// The end of its log.
        tail: String,
    },
    /// Something did not happen in time.
    #[error("timed out {what}; see {}", log.display())]
    Timeout {
        /// What was awaited.
        what: String,
        /// The log to read.
        log: PathBuf,
    },
    /// A bad combination of settings.
    #[error("{0}")]
    Config(String),
    /// The chain refused or failed a request.
    #[error(transparent)]
    Client(#[from] umbra_client::Error),
    /// The supervisor failed.
    #[error(transparent)]
    Process(#[from] umbra_process::Error),
}

//! Processes: how umbra's binaries stop, and how a supervisor runs them.
//!
//! * [`shutdown_signal`]: what every long-running umbra binary waits on.
//!   It installs handlers for SIGINT and SIGTERM, so a process started
//!   with SIGINT ignored (any `cmd &` in a non-interactive shell) still
//!   stops at once when asked.
//! * [`Supervisor`]: runs children each in its own process group that
//!   dies with the supervisor (`PR_SET_PDEATHSIG`: even a SIGKILL of the
//!   supervisor leaves no child), appends their output to a log file,
//!   reports an unexpected exit at once with its status and last log
//!   lines, restarts it with back-off, and stops everything within a grace
//!   period.

mod shutdown;
mod supervisor;

/// A signal (re-exported from rustix).
pub use rustix::process::Signal;
pub use shutdown::{shutdown_signal, Shutdown, ShutdownListener};
pub use supervisor::{tail, ChildSpec, Error, Event, Restart, StopReport, Supervisor};

//! The stop signal of a long-running binary.

use tokio::signal::unix::{signal, Signal as Stream, SignalKind};

/// Which signal asked the process to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (a supervisor, systemd, `kill`).
    Terminate,
}

impl Shutdown {
    /// The signal's name.
    pub fn name(self) -> &'static str {
        match self {
            Shutdown::Interrupt => "SIGINT",
            Shutdown::Terminate => "SIGTERM",
        }
    }
}

/// SIGINT and SIGTERM handlers, installed when this is created: from then
/// on neither signal stops the process by its default action or is lost to
/// an inherited "ignore" disposition; [`ShutdownListener::recv`] reports
/// the first.
pub struct ShutdownListener {
    interrupt: Stream,
    terminate: Stream,
}

impl ShutdownListener {
    /// Installs the handlers (inside a tokio runtime).
    pub fn install() -> std::io::Result<ShutdownListener> {
        Ok(ShutdownListener {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for SIGINT or SIGTERM.
    pub async fn recv(&mut self) -> Shutdown {
        tokio::select! {
            _ = self.interrupt.recv() => Shutdown::Interrupt,
            _ = self.terminate.recv() => Shutdown::Terminate,
        }
    }
}

/// Waits for SIGINT or SIGTERM (see [`ShutdownListener`]); where handlers
/// cannot be installed, for Ctrl-C only. Install a listener first instead
/// when a signal must not be missed between start-up and the wait.
pub async fn shutdown_signal() -> Shutdown {
    match ShutdownListener::install() {
        Ok(mut listener) => listener.recv().await,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            Shutdown::Interrupt
        }
    }
}

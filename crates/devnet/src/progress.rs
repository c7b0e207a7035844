//! Progress of long operations (a network's start, a transaction waiting
//! for finality, a contract build, a benchmark): a spinner per wait on a
//! terminal, plain lines otherwise (logs, tests), nothing when hidden.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Spinners on stdout (a terminal).
    Spinners,
    /// One line per finished step.
    Lines,
    /// Nothing.
    Hidden,
}

/// Reports what a long operation is doing.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    mode: Mode,
    /// Stderr rather than stdout (a CLI whose stdout is its answer).
    stderr: bool,
}

impl Progress {
    /// On stdout: spinners when it is a terminal, else plain lines.
    pub fn stdout() -> Progress {
        Progress { mode: if std::io::stdout().is_terminal() { Mode::Spinners } else { Mode::Lines }, stderr: false }
    }

    /// On stderr: spinners when it is a terminal, else plain lines.
    pub fn stderr() -> Progress {
        Progress { mode: if std::io::stderr().is_terminal() { Mode::Spinners } else { Mode::Lines }, stderr: true }
    }

    /// Plain lines on stdout only.
    pub fn lines() -> Progress {
        Progress { mode: Mode::Lines, stderr: false }
    }

    /// Nothing at all.
    pub fn hidden() -> Progress {
        Progress { mode: Mode::Hidden, stderr: false }
    }

    /// Prints `line` (unless hidden).
    pub fn println(&self, line: impl AsRef<str>) {
        print_line(self.mode, self.stderr, line.as_ref());
    }

    /// Starts a wait described by `what` (`waiting for the first finalized
    /// block`): a ticking spinner with the elapsed time on a terminal.
    pub fn spinner(&self, what: impl Into<String>) -> Spinner {
        let what = what.into();
        let bar = (self.mode == Mode::Spinners).then(|| {
            let bar = ProgressBar::with_draw_target(
                None,
                if self.stderr { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::stdout() },
            );
            bar.set_style(
                ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(what.clone());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Spinner { bar, mode: self.mode, stderr: self.stderr }
    }
}

fn print_line(mode: Mode, stderr: bool, line: &str) {
    match (mode, stderr) {
        (Mode::Hidden, _) => {}
        (_, true) => eprintln!("{line}"),
        (_, false) => println!("{line}"),
    }
}

/// One wait in progress; [`Spinner::done`] replaces it with a line.
pub struct Spinner {
    bar: Option<ProgressBar>,
    mode: Mode,
    stderr: bool,
}

impl Spinner {
    /// Changes what it says it waits for.
    pub fn set_message(&self, what: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_message(what.into());
        }
    }

    /// Ends the wait with `line` printed in its place.
    pub fn done(self, line: impl AsRef<str>) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        print_line(self.mode, self.stderr, &format!("  {}", line.as_ref()));
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

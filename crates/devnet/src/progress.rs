//! Progress of a network's start: a spinner per wait on a terminal, plain
//! lines otherwise (logs, tests), nothing when hidden.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

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
}

impl Progress {
    /// Spinners when stdout is a terminal, else plain lines.
    pub fn stdout() -> Progress {
        Progress { mode: if std::io::stdout().is_terminal() { Mode::Spinners } else { Mode::Lines } }
    }

    /// Plain lines only.
    pub fn lines() -> Progress {
        Progress { mode: Mode::Lines }
    }

    /// Nothing at all.
    pub fn hidden() -> Progress {
        Progress { mode: Mode::Hidden }
    }

    /// Prints `line` (unless hidden).
    pub fn println(&self, line: impl AsRef<str>) {
        if self.mode != Mode::Hidden {
            println!("{}", line.as_ref());
        }
    }

    /// Starts a wait described by `what` (`waiting for the first finalized
    /// block`): a ticking spinner with the elapsed time on a terminal.
    pub fn spinner(&self, what: impl Into<String>) -> Spinner {
        let what = what.into();
        let bar = (self.mode == Mode::Spinners).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(what.clone());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Spinner { bar, mode: self.mode }
    }
}

/// One wait in progress; [`Spinner::done`] replaces it with a line.
pub struct Spinner {
    bar: Option<ProgressBar>,
    mode: Mode,
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
        if self.mode != Mode::Hidden {
            println!("  {}", line.as_ref());
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

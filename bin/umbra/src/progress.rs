//! Progress on stderr while the CLI waits (spinners on a terminal, one line
//! per finished wait otherwise); stdout stays the answer.

use umbra_client::Status;
pub(crate) use umbra_devnet::Spinner;

/// A spinner on stderr saying `what` is awaited.
pub(crate) fn spinner(what: impl Into<String>) -> Spinner {
    umbra_devnet::Progress::stderr().spinner(what)
}

/// Shows a transaction's pool status on `spinner`.
pub(crate) fn show_status(spinner: &Spinner, status: &Status) {
    match status {
        Status::Ready => spinner.set_message("in the pool; waiting for a block"),
        Status::Future => spinner.set_message("waiting for an earlier transaction of this account"),
        Status::InBlock(h) => spinner.set_message(format!("included in block {h:?}; waiting for finality")),
        Status::Retracted(h) => spinner.set_message(format!("block {h:?} left the best chain; waiting")),
        _ => {}
    }
}

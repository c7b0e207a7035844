//! pRuntime's shell: the untrusted world's only way into the trusted core
//! ([`umbra_pruntime_core`]), running inside the TEE beside it.
//!
//! * [`service`] — the HTTP APIs of `umbra_protocol::api` (private for the
//!   relayer, public for users), every response signed by the identity key,
//!   read timeouts, connection and rate limits, staleness by the shell's
//!   clock (the core has none);
//! * [`checkpoint`] — the sealed identity, the sealed secrets (pinned to
//!   their genesis) and streamed checkpoints of the whole core, through the
//!   `tee` crate's [`umbra_tee::Platform`].
//!
//! Rules the shell keeps: secrets the core reports changed are sealed and
//! confirmed before anything leaves; a failed checkpoint withholds egress
//! until one succeeds; only verified finality progress resets the
//! staleness clock.
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod service;

/// Everything the shell refuses or fails at, precisely.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The core refused the input.
    #[error(transparent)]
    Core(#[from] umbra_pruntime_core::Error),
    /// The TEE platform failed.
    #[error("TEE: {0}")]
    Tee(#[from] umbra_tee::Error),
    /// File IO.
    #[error("io: {0}")]
    Io(String),
    /// A sealed file is malformed, truncated, reordered or from elsewhere.
    #[error("sealed file {file}: {reason}")]
    Sealed {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A request body does not decode or exceeds its bound.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The last checkpoint failed: nothing leaves until one succeeds.
    #[error("checkpoint failed ({0}); egress is withheld until a checkpoint succeeds")]
    CheckpointFailed(String),
    /// Secrets changed but could not be sealed: nothing leaves.
    #[error("sealing changed secrets failed ({0}); egress is withheld")]
    SealFailed(String),
    /// No finality progress for longer than the staleness limit.
    #[error("stale: no verified finality progress for {seconds} s (limit {limit} s)")]
    Stale {
        /// Seconds since the last progress.
        seconds: u64,
        /// The limit.
        limit: u64,
    },
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

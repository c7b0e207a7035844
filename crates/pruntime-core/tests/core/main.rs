//! pRuntime's core driven directly, over a real in-memory chain
//! (`umbra_pruntime_core::testing`): one test binary.
#![allow(clippy::unwrap_used)]

mod adversarial;
mod contracts;
mod gatekeepers;

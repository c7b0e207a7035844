//! Consensus for umbra nodes: block import, Aura authoring, fork choice and
//! GRANDPA finality.
//!
//! * [`chain::Chain`]: the verified import pipeline over the database
//!   (seal, slot, runtime execution, state root, atomic commit) and chain
//!   event notifications.
//! * [`aura`]: slot authoring with the VRF randomness pre-digest.
//! * [`grandpa`]: the `finality-grandpa` voter environment, restart-safe
//!   vote recording, authority-set changes, finality proofs.
//! * [`justification`]: building and verifying GRANDPA justifications.
//! * [`warp`]: warp-sync proofs (one justification per authority set), the
//!   state download and the import of a warp target.
//!
//! Fork choice (the longest chain containing the finalized block) lives in
//! the database's best-chain index, updated atomically with each import.

pub mod aura;
pub mod chain;
mod error;
pub mod grandpa;
pub mod justification;
pub mod warp;

pub use chain::{Chain, ChainEvent, Origin};
pub use error::Error;

//! The runtime's modules, one file each, indexed as in `01-chain.md`.

pub mod aura;
pub mod balances;
pub mod contracts;
pub mod gatekeeper;
pub mod grandpa;
pub mod message_queue;
pub mod offences;
pub mod randomness;
pub mod registry;
pub mod sudo;
pub mod system;
pub mod timestamp;
pub mod transaction_payment;

//! The chain's data types, wire-compatible with Substrate.
//!
//! * Ids and scalars: [`H256`], [`AccountId32`], [`Balance`] (`u128`, 12
//!   decimals), [`BlockNumber`] (`u32`), [`Nonce`] (`u32`).
//! * [`header`]: Substrate's `Header<u32, BlakeTwo256>` and `DigestItem`
//!   (indices 0, 4, 5, 6, 8), the block hash.
//! * [`block`]: blocks of opaque extrinsics and the extrinsics root.
//! * [`extrinsic`]: the v4 extrinsic envelope (`MultiAddress`,
//!   `MultiSignature`, signed extensions, eras, the signing payload) over a
//!   call that starts with `(module_index, call_index)`.
//! * [`grandpa`]: justifications, commits, precommits, the precommit signing
//!   payload and the `ScheduledChange` consensus log, using the
//!   `finality-grandpa` crate's own types.
//!
//! Trust: every decoder of external bytes here is bounded by an explicit
//! maximum length, rejects trailing bytes and returns a precise [`Error`];
//! nothing panics on input. No clock, no randomness (signing takes an RNG).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod account;
pub mod block;
mod error;
pub mod extrinsic;
pub mod grandpa;
pub mod header;
pub mod sync;

pub use account::AccountId32;
pub use error::Error;
pub use parity_scale_codec as codec;
pub use primitive_types::H256;

/// Result type of this crate.
pub type Result<T> = core::result::Result<T, Error>;

/// Token amounts, in the smallest unit (10^-12 of a token).
pub type Balance = u128;
/// Block heights.
pub type BlockNumber = u32;
/// Account transaction counters.
pub type Nonce = u32;
/// The chain's hash type (BLAKE2b-256).
pub type Hash = H256;

/// Decimal places of [`Balance`] (1 token = 10^12 units).
pub const TOKEN_DECIMALS: u32 = 12;

/// BLAKE2b-256 as an [`H256`].
pub fn blake2_256(data: &[u8]) -> H256 {
    H256(umbra_crypto::hashing::blake2_256(data))
}

/// Decodes `T` from exactly `bytes`, which may be at most `max_len` long:
/// the shared entry point for SCALE values that come from outside.
pub fn decode_bounded<T: parity_scale_codec::Decode>(bytes: &[u8], max_len: usize) -> Result<T> {
    if bytes.len() > max_len {
        return Err(Error::TooLarge { len: bytes.len(), max: max_len });
    }
    let mut input = bytes;
    let value = T::decode(&mut input).map_err(|_| Error::Decode)?;
    if !input.is_empty() {
        return Err(Error::TrailingBytes(input.len()));
    }
    Ok(value)
}

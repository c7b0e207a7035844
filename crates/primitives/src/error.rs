//! The crate's single error type.

/// Why decoding or checking chain data failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is longer than the caller's bound.
    #[error("input too large ({len} bytes, at most {max})")]
    TooLarge {
        /// Input length.
        len: usize,
        /// Bound.
        max: usize,
    },
    /// The bytes are not a valid SCALE encoding of the expected type.
    #[error("invalid SCALE encoding")]
    Decode,
    /// Bytes remain after a complete value.
    #[error("{0} trailing bytes after the encoded value")]
    TrailingBytes(usize),
    /// An extrinsic's compact length prefix disagrees with its bytes.
    #[error("extrinsic length prefix says {declared} bytes, {actual} follow")]
    LengthPrefixMismatch {
        /// Length the prefix declares.
        declared: usize,
        /// Bytes actually present after the prefix.
        actual: usize,
    },
    /// The extrinsic version is not 4.
    #[error("unsupported extrinsic version {0} (only 4 is supported)")]
    UnsupportedExtrinsicVersion(u8),
    /// The signer address does not decode.
    #[error("invalid signer address")]
    InvalidAddress,
    /// The signature does not decode.
    #[error("invalid signature encoding")]
    InvalidSignatureEncoding,
    /// The signed extensions do not decode (era, nonce, tip).
    #[error("invalid signed extensions: {0}")]
    InvalidExtra(&'static str),
    /// The call does not decode.
    #[error("invalid call encoding")]
    InvalidCall,
    /// The signer is not given as an account id.
    #[error("signer must be a 32-byte account id (MultiAddress::Id)")]
    UnsupportedAddress,
    /// The signature scheme is not accepted (ECDSA).
    #[error("signature scheme not supported (only sr25519 and ed25519)")]
    UnsupportedSignature,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// An era with an invalid period or phase.
    #[error("invalid mortal era")]
    InvalidEra,
}

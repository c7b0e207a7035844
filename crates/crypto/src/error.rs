//! The crate's single error type.

/// Every way a cryptographic operation or a decoder of external bytes can fail.
///
/// Variants are precise so that a CLI or an RPC can tell the user what was wrong
/// with their input. Messages never contain secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // --- SS58 ---
    /// The address is longer than any valid SS58 address.
    #[error("SS58 address is too long ({len} characters, at most {max})")]
    Ss58TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// Maximum accepted length.
        max: usize,
    },
    /// The address contains a character outside the base-58 alphabet.
    #[error("SS58 address is not valid base-58")]
    Ss58InvalidBase58,
    /// The decoded address has a length that matches no SS58 format.
    #[error("SS58 address has an invalid length ({0} bytes decoded)")]
    Ss58InvalidLength(usize),
    /// The first byte does not start a 1- or 2-byte network prefix.
    #[error("SS58 address has an invalid network prefix byte")]
    Ss58InvalidPrefix,
    /// The network prefix is reserved (46, 47) or above 16383.
    #[error("SS58 network prefix {0} is reserved or out of range")]
    Ss58ReservedPrefix(u16),
    /// The checksum does not match.
    #[error("SS58 address has a bad checksum")]
    Ss58BadChecksum,
    /// The payload length cannot be encoded as SS58.
    #[error("SS58 payload must be 1, 2, 4, 8, 32 or 33 bytes, not {0}")]
    Ss58InvalidPayloadLength(usize),
    /// An address of another network was given where a specific one was expected.
    #[error("SS58 address is for network prefix {found}, expected {expected}")]
    Ss58WrongNetwork {
        /// The prefix the caller expected.
        expected: u16,
        /// The prefix found in the address.
        found: u16,
    },

    // --- secret URIs ---
    /// The secret URI is longer than the accepted bound.
    #[error("secret URI is too long (at most {max} bytes)")]
    SuriTooLong {
        /// Maximum accepted length.
        max: usize,
    },
    /// The secret URI does not match `phrase(//hard|/soft)*(///password)?`.
    #[error("secret URI is malformed: {0}")]
    SuriMalformed(&'static str),
    /// The phrase is not a valid English BIP-39 mnemonic.
    #[error("secret phrase is not a valid BIP-39 mnemonic")]
    SuriInvalidPhrase,
    /// A `0x` seed is not 32 bytes of hex.
    #[error("secret seed must be 0x followed by 64 hex digits")]
    SuriInvalidSeed,
    /// Too many derivation junctions.
    #[error("secret URI has too many derivation junctions (at most {max})")]
    SuriTooManyJunctions {
        /// Maximum accepted number of junctions.
        max: usize,
    },
    /// ed25519 keys support only hard derivation.
    #[error("ed25519 supports only hard derivation (//junction), not soft (/junction)")]
    SoftDerivationUnsupported,
    /// The scheme name is not `sr25519` or `ed25519`.
    #[error("unknown signature scheme (expected sr25519 or ed25519)")]
    UnknownScheme,

    // --- keys and signatures ---
    /// Bytes that should be a public key are not a valid point encoding.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// A byte string has the wrong length for what it should encode.
    #[error("expected {expected} bytes, got {found}")]
    InvalidLength {
        /// Expected length.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// Text that should be hex is not.
    #[error("invalid hex")]
    InvalidHex,
    /// The signature is not valid for this message and key.
    #[error("signature verification failed")]
    BadSignature,
    /// Batch inputs have different lengths.
    #[error("batch verification inputs have different lengths")]
    BatchLengthMismatch,

    // --- key agreement ---
    /// X25519 produced the all-zero shared secret: the peer key is of low order.
    #[error("X25519 shared secret is all zero (low-order public key)")]
    LowOrderPublicKey,

    // --- envelope ---
    /// The envelope is shorter than its fixed header plus authentication tag.
    #[error("envelope is truncated ({len} bytes, at least {min} needed)")]
    EnvelopeTruncated {
        /// Length of the input.
        len: usize,
        /// Minimum length of a valid envelope.
        min: usize,
    },
    /// The envelope is longer than the caller's bound.
    #[error("envelope is too large ({len} bytes, at most {max})")]
    EnvelopeTooLarge {
        /// Length of the input.
        len: usize,
        /// Maximum accepted length.
        max: usize,
    },
    /// The envelope's declared ciphertext length does not match its bytes.
    #[error("envelope is malformed: {0}")]
    EnvelopeMalformed(&'static str),
    /// The envelope version byte is not one this build understands.
    #[error("unknown envelope version {0}")]
    EnvelopeUnknownVersion(u8),
    /// The ephemeral public key of the envelope is of low order.
    #[error("envelope ephemeral key is of low order")]
    EnvelopeLowOrderKey,
    /// The session key was derived for another ephemeral key than the envelope's.
    #[error("envelope belongs to another session (ephemeral key differs)")]
    EnvelopeSessionMismatch,
    /// AEAD authentication failed: the envelope was sealed to another key,
    /// under another label or context, or was altered. These causes are
    /// cryptographically indistinguishable by design.
    #[error("envelope authentication failed (wrong key, label or context, or altered ciphertext)")]
    EnvelopeAuthenticationFailed,
    /// A session sealed 2^64 messages and may not reuse a nonce.
    #[error("envelope session nonce space exhausted")]
    NonceExhausted,
    /// Plaintext larger than the AEAD or the caller allows.
    #[error("plaintext is too large ({len} bytes, at most {max})")]
    PlaintextTooLarge {
        /// Length of the plaintext.
        len: usize,
        /// Maximum accepted length.
        max: usize,
    },
}

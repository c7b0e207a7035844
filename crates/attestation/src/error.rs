//! The crate's single error type: every reason evidence is refused.

use alloc::string::String;

/// Why evidence does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The evidence or collateral is larger than accepted.
    #[error("{what} too large ({len} bytes, at most {max})")]
    TooLarge {
        /// Which part.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The bytes do not parse as the claimed format.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which part.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A DCAP quote came without collateral.
    #[error("DCAP quote needs collateral")]
    MissingCollateral,
    /// A certificate chain is not in the canonical PEM form or does not end
    /// in the trusted root.
    #[error("certificate chain {what}: {detail}")]
    CertificateChain {
        /// Which chain.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The platform is not accepted by the caller's policy.
    #[error("platform {0} is not accepted")]
    PlatformNotAccepted(&'static str),
    /// A DCAP quote or its collateral failed Intel's verification (chain,
    /// CRL, signature, TCB info, QE identity, validity window).
    #[error("DCAP verification failed: {0}")]
    Dcap(String),
    /// The collateral is not valid at `now`: expired, or not yet issued.
    #[error("collateral is not valid at the given time: {0}")]
    CollateralNotValidAt(String),
    /// The platform's TCB is revoked.
    #[error("TCB status is revoked")]
    Revoked,
    /// An IAS report's signing certificate does not chain to Intel's report CA.
    #[error("IAS signing certificate is not issued by Intel's report signing CA")]
    IasCertificateUntrusted,
    /// The IAS signing certificate is not valid at `now`.
    #[error("IAS signing certificate is not valid at the given time")]
    IasCertificateExpired,
    /// The IAS report signature does not verify.
    #[error("IAS report signature is invalid")]
    IasSignatureInvalid,
    /// The IAS report says the quote itself is bad.
    #[error("IAS quote status {0} is not acceptable")]
    IasQuoteStatus(String),
    /// The report is older than allowed.
    #[error("attestation is {age_secs} s old, at most {max_secs} s allowed")]
    TooOld {
        /// Its age.
        age_secs: u64,
        /// The limit.
        max_secs: u64,
    },
    /// The report claims to be from the future.
    #[error("attestation is dated {ahead_secs} s in the future")]
    FromFuture {
        /// How far ahead.
        ahead_secs: u64,
    },
    /// The simulated evidence is signed by a key the policy does not allow.
    #[error("simulated attestation key is not allowed")]
    SimKeyNotAllowed,
    /// The simulated evidence's signature does not verify.
    #[error("simulated attestation signature is invalid")]
    SimSignatureInvalid,
}

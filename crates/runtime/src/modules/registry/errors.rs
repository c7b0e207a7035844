//! Errors (stable indices).

use super::*;

/// Errors. Indices are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Error {
    /// Evidence or collateral exceeds its size bound.
    #[codec(index = 0)]
    EvidenceTooLarge,
    /// Evidence or collateral does not parse, or a certificate chain is not
    /// canonical.
    #[codec(index = 1)]
    EvidenceMalformed,
    /// The chain does not accept evidence from this platform.
    #[codec(index = 2)]
    PlatformNotAccepted,
    /// DCAP evidence came without collateral.
    #[codec(index = 3)]
    MissingCollateral,
    /// A signature, certificate chain or TCB check of the evidence failed.
    #[codec(index = 4)]
    AttestationInvalid,
    /// The collateral is not valid at the block time.
    #[codec(index = 5)]
    CollateralNotValid,
    /// The platform's TCB is revoked.
    #[codec(index = 6)]
    TcbRevoked,
    /// The evidence is older than the maximum attestation age.
    #[codec(index = 7)]
    AttestationTooOld,
    /// The evidence is dated in the future.
    #[codec(index = 8)]
    AttestationFromFuture,
    /// Simulated evidence signed by a key the chain does not list.
    #[codec(index = 9)]
    SimKeyNotAllowed,
    /// The report data is not the hash of the registration info (evidence
    /// replayed for another identity or altered info).
    #[codec(index = 10)]
    ReportDataMismatch,
    /// The registration info names another chain's genesis.
    #[codec(index = 11)]
    GenesisMismatch,
    /// The measurement is not on the allowlist.
    #[codec(index = 12)]
    MeasurementNotAllowed,
    /// The platform's confidence level is above the role's policy.
    #[codec(index = 13)]
    TcbPolicyViolated,
    /// The platform has an advisory the role's policy denies.
    #[codec(index = 14)]
    AdvisoryDenied,
    /// Unknown registration info version.
    #[codec(index = 15)]
    UnsupportedInfoVersion,
    /// The evidence's platform is not the one the info names.
    #[codec(index = 16)]
    PlatformMismatch,
    /// A re-registration older than the current record.
    #[codec(index = 17)]
    AttestationOutdated,
    /// No such worker.
    #[codec(index = 18)]
    WorkerNotRegistered,
    /// The endpoint is empty, too long or not printable ASCII.
    #[codec(index = 19)]
    InvalidEndpoint,
    /// The endpoint signature does not verify.
    #[codec(index = 20)]
    InvalidEndpointSignature,
    /// The endpoint announcement is too old, from the future, or not newer
    /// than the published one (replay).
    #[codec(index = 21)]
    StaleEndpoint,
    /// The measurement is already allowed.
    #[codec(index = 22)]
    MeasurementAlreadyAllowed,
    /// The measurement is not on the allowlist.
    #[codec(index = 23)]
    MeasurementNotFound,
    /// The measurement is empty or longer than 256 bytes.
    #[codec(index = 24)]
    InvalidMeasurement,
    /// The TCB policy is out of bounds.
    #[codec(index = 25)]
    InvalidTcbPolicy,
    /// The attestation configuration is out of bounds.
    #[codec(index = 26)]
    InvalidAttestationConfig,
    /// A heartbeat claims a block the chain has not reached, or is older
    /// than the worker's previous one.
    #[codec(index = 27)]
    InvalidHeartbeat,
    /// The registry holds [`MAX_WORKERS`] workers.
    #[codec(index = 28)]
    TooManyWorkers,
    /// This chain does not accept the simulated TEE (a `Live` chain): no
    /// configuration may list it and no simulated evidence registers.
    #[codec(index = 29)]
    SimulationNotAllowed,
}

impl From<Error> for DispatchError {
    fn from(e: Error) -> Self {
        DispatchError::module(INDEX, e as u8)
    }
}

impl From<umbra_attestation::Error> for Error {
    fn from(e: umbra_attestation::Error) -> Self {
        use umbra_attestation::Error as A;
        match e {
            A::TooLarge { .. } => Error::EvidenceTooLarge,
            A::Malformed { .. } | A::CertificateChain { .. } => Error::EvidenceMalformed,
            A::PlatformNotAccepted(_) => Error::PlatformNotAccepted,
            A::MissingCollateral => Error::MissingCollateral,
            A::Dcap(_)
            | A::IasCertificateUntrusted
            | A::IasCertificateExpired
            | A::IasSignatureInvalid
            | A::IasQuoteStatus(_)
            | A::SimSignatureInvalid => Error::AttestationInvalid,
            A::CollateralNotValidAt(_) => Error::CollateralNotValid,
            A::Revoked => Error::TcbRevoked,
            A::TooOld { .. } => Error::AttestationTooOld,
            A::FromFuture { .. } => Error::AttestationFromFuture,
            A::SimKeyNotAllowed => Error::SimKeyNotAllowed,
        }
    }
}

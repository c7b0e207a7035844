//! Verification of TEE evidence: does this quote prove that this code runs in
//! a genuine TEE, and what does the TEE vendor say about the platform?
//!
//! [`verify`] takes [`Evidence`], optional [`DcapCollateral`], the time `now`
//! (seconds since the Unix epoch, from the block timestamp: never a clock)
//! and a [`Policy`], and returns [`Verified`] or a precise [`Error`]:
//!
//! * **Intel DCAP** quotes: SGX quote v3 and TDX quote v4/v5, verified with
//!   `dcap-qvl` (PCK chain to the Intel SGX Root CA, both CRLs, TCB info and
//!   QE identity signatures, the QE report and its binding to the attestation
//!   key, the quote signature, FMSPC and TCB level matching), plus stricter
//!   checks of our own: the whole collateral must be valid at `now` (every
//!   CRL, TCB info, QE identity and certificate, [`dcap`]), every PEM chain
//!   must be canonical and end in exactly the trusted root, and no bytes may
//!   trail the quote. Revoked platforms are refused.
//! * **Intel IAS** (EPID, legacy) reports: RSA-SHA256 signature by the report
//!   signing certificate, that certificate chained to Intel's report signing
//!   CA (embedded) and valid at `now`, the report's age bounded by the policy.
//! * **Simulated** evidence (`sim`, development only): an ed25519 signature by
//!   a simulated attestation service key the policy lists.
//!
//! The result carries the [`TcbStatus`], Intel's advisory ids and the
//! confidence level 1–5 derived from them ([`Verified::confidence_level`]).
//!
//! Trust: every input is bounded ([`MAX_QUOTE_LEN`], [`MAX_COLLATERAL_LEN`],
//! …), parsing never panics (property-tested and fuzzed), nothing here reads
//! a clock or randomness.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod dcap;
mod error;
pub mod ias;
mod pem;
pub mod sim;
pub mod time;

use alloc::string::String;
use alloc::vec::Vec;
use parity_scale_codec::{Decode, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

pub use dcap::DcapCollateral;
pub use error::Error;
pub use ias::IasReport;
pub use sim::{SimEvidence, SimQuote};

/// Upper bound of a DCAP quote in bytes (real quotes are 4–6 KiB).
pub const MAX_QUOTE_LEN: usize = 16 * 1024;
/// Upper bound of the DCAP collateral, all fields together.
pub const MAX_COLLATERAL_LEN: usize = 128 * 1024;
/// Upper bound of an IAS report (JSON) in bytes.
pub const MAX_IAS_REPORT_LEN: usize = 8 * 1024;
/// Upper bound of a certificate in bytes.
pub const MAX_CERT_LEN: usize = 4 * 1024;
/// Upper bound of a measurement in bytes (TDX: 5 × 48).
pub const MAX_MEASUREMENT_LEN: usize = 256;
/// At most this many advisory ids are accepted in one verdict.
pub const MAX_ADVISORIES: usize = 64;
/// At most this many bytes per advisory id (`INTEL-SA-00615` is 14).
pub const MAX_ADVISORY_LEN: usize = 32;
/// Evidence may be dated at most this far after `now` (clock skew between
/// the attestation service and block time).
pub const MAX_FUTURE_SKEW_SECS: u64 = 300;

/// The kind of TEE a piece of evidence comes from. The discriminants are the
/// SCALE encoding and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub enum PlatformKind {
    /// Simulated TEE: no hardware protection at all. Development only.
    #[codec(index = 0)]
    Sim,
    /// Intel SGX with a DCAP (ECDSA) quote.
    #[codec(index = 1)]
    SgxDcap,
    /// Intel SGX with an IAS (EPID) report. Legacy.
    #[codec(index = 2)]
    SgxIas,
    /// Intel TDX with a DCAP quote.
    #[codec(index = 3)]
    TdxDcap,
}

impl PlatformKind {
    /// Every kind, in discriminant order.
    pub const ALL: [PlatformKind; 4] = [Self::Sim, Self::SgxDcap, Self::SgxIas, Self::TdxDcap];

    /// The stable lower-case name used in chain specs and the CLI.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sim => "sim",
            Self::SgxDcap => "sgx-dcap",
            Self::SgxIas => "sgx-ias",
            Self::TdxDcap => "tdx-dcap",
        }
    }

    /// Parses [`PlatformKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// Intel's verdict on the platform's trusted computing base. `Revoked` is
/// never part of a [`Verified`]: revoked evidence is an error. The
/// discriminants are the SCALE encoding and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub enum TcbStatus {
    /// Fully patched.
    #[codec(index = 0)]
    UpToDate,
    /// Patched, but software mitigations are needed (see advisories).
    #[codec(index = 1)]
    SwHardeningNeeded,
    /// Patched, but the platform configuration needs changes.
    #[codec(index = 2)]
    ConfigurationNeeded,
    /// Both of the above.
    #[codec(index = 3)]
    ConfigurationAndSwHardeningNeeded,
    /// A microcode or SGX update is missing.
    #[codec(index = 4)]
    OutOfDate,
    /// Out of date and misconfigured.
    #[codec(index = 5)]
    OutOfDateConfigurationNeeded,
    /// TDX 1.5: launched out of date, updated since; relaunch advised.
    #[codec(index = 6)]
    TdRelaunchAdvised,
    /// As above, and configuration needed.
    #[codec(index = 7)]
    TdRelaunchAdvisedConfigurationNeeded,
}

impl TcbStatus {
    /// The confidence level of a platform with this status: 1 (best) to 5,
    /// as Phala defines it. A TD that launched out of date counts as out of
    /// date until it relaunches.
    pub const fn confidence_level(self) -> u8 {
        match self {
            Self::UpToDate => 1,
            Self::SwHardeningNeeded => 2,
            Self::ConfigurationNeeded => 3,
            Self::ConfigurationAndSwHardeningNeeded => 4,
            Self::OutOfDate
            | Self::OutOfDateConfigurationNeeded
            | Self::TdRelaunchAdvised
            | Self::TdRelaunchAdvisedConfigurationNeeded => 5,
        }
    }

    /// Intel's spelling of the status (as in TCB info JSON).
    pub const fn name(self) -> &'static str {
        match self {
            Self::UpToDate => "UpToDate",
            Self::SwHardeningNeeded => "SWHardeningNeeded",
            Self::ConfigurationNeeded => "ConfigurationNeeded",
            Self::ConfigurationAndSwHardeningNeeded => "ConfigurationAndSWHardeningNeeded",
            Self::OutOfDate => "OutOfDate",
            Self::OutOfDateConfigurationNeeded => "OutOfDateConfigurationNeeded",
            Self::TdRelaunchAdvised => "TDRelaunchAdvised",
            Self::TdRelaunchAdvisedConfigurationNeeded => "TDRelaunchAdvisedConfigurationNeeded",
        }
    }
}

/// The identity of the code in the TEE, as the allowlist stores it:
///
/// * SGX: `mrenclave(32) ‖ isv_prod_id(u16 BE) ‖ isv_svn(u16 BE) ‖ mrsigner(32)`
///   (68 bytes), the same for DCAP and IAS;
/// * TDX: `mr_td ‖ rtmr0 ‖ rtmr1 ‖ rtmr2 ‖ rtmr3` (5 × 48 bytes);
/// * sim: the 32-byte BLAKE2-256 measurement the simulated TEE reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, TypeInfo)]
pub struct Measurement(pub Vec<u8>);

impl MaxEncodedLen for Measurement {
    fn max_encoded_len() -> usize {
        // Compact length prefix (2 bytes up to 16383) plus the bytes.
        2 + MAX_MEASUREMENT_LEN
    }
}

impl Measurement {
    /// The SGX encoding of the four identity fields.
    pub fn sgx(mr_enclave: &[u8; 32], isv_prod_id: u16, isv_svn: u16, mr_signer: &[u8; 32]) -> Self {
        let mut bytes = Vec::with_capacity(68);
        bytes.extend_from_slice(mr_enclave);
        bytes.extend_from_slice(&isv_prod_id.to_be_bytes());
        bytes.extend_from_slice(&isv_svn.to_be_bytes());
        bytes.extend_from_slice(mr_signer);
        Self(bytes)
    }

    /// The measurement bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A piece of TEE evidence as a registration carries it. The variant
/// indices are the SCALE encoding and never change.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Evidence {
    /// Simulated-TEE evidence, signed by a simulated attestation service.
    #[codec(index = 0)]
    Sim(SimEvidence),
    /// An Intel DCAP quote (SGX v3 or TDX v4/v5), raw bytes. Needs
    /// [`DcapCollateral`].
    #[codec(index = 1)]
    Dcap(Vec<u8>),
    /// An Intel IAS attestation report.
    #[codec(index = 2)]
    Ias(IasReport),
}

impl Evidence {
    /// The platform the evidence claims to come from, without verifying it.
    /// For DCAP quotes this reads the TEE type from the header.
    pub fn claimed_platform(&self) -> Option<PlatformKind> {
        match self {
            Self::Sim(_) => Some(PlatformKind::Sim),
            Self::Ias(_) => Some(PlatformKind::SgxIas),
            Self::Dcap(quote) => dcap::platform_of(quote),
        }
    }
}

/// What the verifier accepts. The caller (the chain) builds it from its
/// governed configuration.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// Platforms accepted at all.
    pub platforms: &'a [PlatformKind],
    /// Public keys (ed25519) of simulated attestation services whose
    /// evidence is accepted; only meaningful when `platforms` has `Sim`.
    pub sim_keys: &'a [[u8; 32]],
    /// Evidence that carries its own date (IAS, sim) older than this is
    /// refused. DCAP quotes carry no date; the caller binds freshness through
    /// report data.
    pub max_age_secs: u64,
    /// The DCAP trust anchor (DER). `None`: Intel's SGX Root CA.
    pub dcap_root_der: Option<&'a [u8]>,
    /// The IAS report signing CA (DER). `None`: Intel's, embedded.
    pub ias_root_der: Option<&'a [u8]>,
}

impl<'a> Policy<'a> {
    /// A policy accepting the given platforms with Intel's production roots.
    pub const fn new(platforms: &'a [PlatformKind], sim_keys: &'a [[u8; 32]], max_age_secs: u64) -> Self {
        Self { platforms, sim_keys, max_age_secs, dcap_root_der: None, ias_root_der: None }
    }

    fn require(&self, platform: PlatformKind) -> Result<(), Error> {
        if self.platforms.contains(&platform) {
            Ok(())
        } else {
            Err(Error::PlatformNotAccepted(platform.name()))
        }
    }
}

/// Evidence that verified: what it proves.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Verified {
    /// Where it came from.
    pub platform: PlatformKind,
    /// The identity of the code (see [`Measurement`] for the layout).
    pub measurement: Measurement,
    /// The 64 bytes the code put in its report.
    pub report_data: [u8; 64],
    /// The platform's TCB status.
    pub tcb_status: TcbStatus,
    /// Intel security advisory ids that apply (sorted, unique).
    pub advisories: Vec<String>,
    /// When the evidence was produced (seconds since the epoch), for evidence
    /// that says so (IAS, sim); DCAP quotes are undated.
    pub issued_at_secs: Option<u64>,
}

impl Verified {
    /// Confidence level 1 (up to date) … 5 (out of date), from the TCB status.
    pub fn confidence_level(&self) -> u8 {
        self.tcb_status.confidence_level()
    }
}

/// Verifies `evidence` at time `now_secs` under `policy`.
///
/// DCAP quotes need `collateral`; other evidence ignores it. Deterministic:
/// the same inputs give the same answer on every machine.
pub fn verify(
    evidence: &Evidence,
    collateral: Option<&DcapCollateral>,
    now_secs: u64,
    policy: &Policy<'_>,
) -> Result<Verified, Error> {
    match evidence {
        Evidence::Sim(sim) => {
            policy.require(PlatformKind::Sim)?;
            sim::verify(sim, now_secs, policy)
        }
        Evidence::Ias(report) => {
            policy.require(PlatformKind::SgxIas)?;
            ias::verify(report, now_secs, policy)
        }
        Evidence::Dcap(quote) => {
            let platform = dcap::platform_of(quote)
                .ok_or_else(|| Error::Malformed { what: "DCAP quote", detail: "unknown TEE type".into() })?;
            policy.require(platform)?;
            let collateral = collateral.ok_or(Error::MissingCollateral)?;
            dcap::verify(quote, collateral, now_secs, policy)
        }
    }
}

/// Checks the age of dated evidence: not older than `max_age_secs`, not more
/// than [`MAX_FUTURE_SKEW_SECS`] ahead of `now`.
fn check_age(issued_at_secs: u64, now_secs: u64, max_age_secs: u64) -> Result<(), Error> {
    if issued_at_secs > now_secs {
        let ahead_secs = issued_at_secs - now_secs;
        if ahead_secs > MAX_FUTURE_SKEW_SECS {
            return Err(Error::FromFuture { ahead_secs });
        }
        return Ok(());
    }
    let age_secs = now_secs - issued_at_secs;
    if age_secs > max_age_secs {
        return Err(Error::TooOld { age_secs, max_secs: max_age_secs });
    }
    Ok(())
}

/// Sorts, deduplicates and bounds advisory ids.
fn normalise_advisories(mut advisories: Vec<String>) -> Result<Vec<String>, Error> {
    if advisories.len() > MAX_ADVISORIES {
        return Err(Error::TooLarge { what: "advisory list", len: advisories.len(), max: MAX_ADVISORIES });
    }
    if let Some(long) = advisories.iter().find(|id| id.len() > MAX_ADVISORY_LEN) {
        return Err(Error::TooLarge { what: "advisory id", len: long.len(), max: MAX_ADVISORY_LEN });
    }
    advisories.sort();
    advisories.dedup();
    Ok(advisories)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_levels_follow_phala() {
        assert_eq!(TcbStatus::UpToDate.confidence_level(), 1);
        assert_eq!(TcbStatus::SwHardeningNeeded.confidence_level(), 2);
        assert_eq!(TcbStatus::ConfigurationNeeded.confidence_level(), 3);
        assert_eq!(TcbStatus::ConfigurationAndSwHardeningNeeded.confidence_level(), 4);
        assert_eq!(TcbStatus::OutOfDate.confidence_level(), 5);
        assert_eq!(TcbStatus::OutOfDateConfigurationNeeded.confidence_level(), 5);
    }

    #[test]
    fn encodings_are_stable() {
        assert_eq!(PlatformKind::TdxDcap.encode(), [3]);
        assert_eq!(TcbStatus::ConfigurationAndSwHardeningNeeded.encode(), [3]);
        assert_eq!(Evidence::Dcap(alloc::vec![7]).encode(), [1, 4, 7]);
        for kind in PlatformKind::ALL {
            assert_eq!(PlatformKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(PlatformKind::from_name("SGX"), None);
    }

    #[test]
    fn age_limits() {
        assert_eq!(check_age(100, 100, 0), Ok(()));
        assert_eq!(check_age(100, 200, 100), Ok(()));
        assert_eq!(check_age(100, 201, 100), Err(Error::TooOld { age_secs: 101, max_secs: 100 }));
        assert_eq!(check_age(400, 100, 0), Ok(()));
        assert_eq!(check_age(401, 100, 0), Err(Error::FromFuture { ahead_secs: 301 }));
    }

    #[test]
    fn advisories_are_bounded_and_sorted() {
        let ids = alloc::vec!["b".into(), "a".into(), "b".into()];
        assert_eq!(normalise_advisories(ids), Ok(alloc::vec!["a".into(), "b".into()]));
        let long = alloc::vec![String::from_utf8(alloc::vec![b'x'; 33]).unwrap_or_default()];
        assert!(matches!(normalise_advisories(long), Err(Error::TooLarge { what: "advisory id", .. })));
    }
}

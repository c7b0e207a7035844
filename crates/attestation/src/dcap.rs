//! Intel DCAP quotes (SGX v3, TDX v4/v5) and their collateral.
//!
//! The cryptographic verification is `dcap-qvl`'s (pure Rust, RustCrypto
//! backend). Around it this module adds:
//!
//! * bounds on every input, and no trailing bytes after the quote;
//! * strict PEM for every certificate chain (the quote's PCK chain and the
//!   three collateral chains), each ending in exactly the trusted root, so a
//!   chain cannot carry unverified bytes;
//! * the collateral validity window: `now` must be within every CRL's
//!   `thisUpdate..nextUpdate`, TCB info's and QE identity's
//!   `issueDate..nextUpdate` and every certificate's validity (dcap-qvl alone
//!   checks only expiry of some of them);
//! * the measurement in our allowlist encoding ([`Measurement`]).

use crate::{normalise_advisories, pem, Error, Measurement, PlatformKind, Policy, TcbStatus, Verified};
use crate::{MAX_COLLATERAL_LEN, MAX_QUOTE_LEN};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use dcap_qvl::quote::{AuthData, Quote, Report};
use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;

/// Intel's SGX Root CA certificate (DER), the DCAP trust anchor.
pub const INTEL_SGX_ROOT_CA_DER: &[u8] = include_bytes!("../certs/intel-sgx-root-ca.der");

/// Certification data type of "QE report certification data".
const QE_REPORT_CERTIFICATION_DATA: u16 = 6;
/// TEE type of SGX in a quote header.
const TEE_TYPE_SGX: u32 = 0x0000_0000;
/// TEE type of TDX in a quote header.
const TEE_TYPE_TDX: u32 = 0x0000_0081;

/// The collateral a DCAP quote is verified against, as a PCCS serves it.
///
/// The field order is Phala's `SgxV30QuoteCollateral` so its SCALE encoding
/// (nine byte vectors) is shared with existing tooling. Chains, TCB info and
/// QE identity are text (PEM, JSON); CRLs are DER; signatures raw `r ‖ s`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct DcapCollateral {
    /// PEM chain of the PCK CRL's issuer.
    pub pck_crl_issuer_chain: Vec<u8>,
    /// The Intel SGX Root CA CRL (DER).
    pub root_ca_crl: Vec<u8>,
    /// The PCK CRL (DER).
    pub pck_crl: Vec<u8>,
    /// PEM chain of the TCB signing certificate.
    pub tcb_info_issuer_chain: Vec<u8>,
    /// The TCB info JSON (the signed body).
    pub tcb_info: Vec<u8>,
    /// ECDSA P-256 signature over `tcb_info`.
    pub tcb_info_signature: Vec<u8>,
    /// PEM chain of the QE identity signing certificate.
    pub qe_identity_issuer_chain: Vec<u8>,
    /// The QE identity JSON (the signed body).
    pub qe_identity: Vec<u8>,
    /// ECDSA P-256 signature over `qe_identity`.
    pub qe_identity_signature: Vec<u8>,
}

impl DcapCollateral {
    /// Total size of all fields.
    pub fn len(&self) -> usize {
        self.fields().iter().map(|(_, field)| field.len()).sum()
    }

    /// Whether every field is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn fields(&self) -> [(&'static str, &Vec<u8>); 9] {
        [
            ("pck_crl_issuer_chain", &self.pck_crl_issuer_chain),
            ("root_ca_crl", &self.root_ca_crl),
            ("pck_crl", &self.pck_crl),
            ("tcb_info_issuer_chain", &self.tcb_info_issuer_chain),
            ("tcb_info", &self.tcb_info),
            ("tcb_info_signature", &self.tcb_info_signature),
            ("qe_identity_issuer_chain", &self.qe_identity_issuer_chain),
            ("qe_identity", &self.qe_identity),
            ("qe_identity_signature", &self.qe_identity_signature),
        ]
    }

    /// Reads collateral in the JSON form PCCS clients (dcap-qvl, Phala)
    /// store: text fields as strings, `root_ca_crl`, `pck_crl` and both
    /// signatures as hex strings.
    pub fn from_json(json: &[u8]) -> Result<Self, Error> {
        if json.len() > 2 * MAX_COLLATERAL_LEN {
            return Err(Error::TooLarge { what: "collateral JSON", len: json.len(), max: 2 * MAX_COLLATERAL_LEN });
        }
        let malformed = |detail: String| Error::Malformed { what: "collateral JSON", detail };
        let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| malformed(e.to_string()))?;
        let text = |key: &str| -> Result<Vec<u8>, Error> {
            value
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(|s| s.as_bytes().to_vec())
                .ok_or_else(|| malformed(format!("missing string field {key}")))
        };
        let hex_field = |key: &str| -> Result<Vec<u8>, Error> {
            let text = text(key)?;
            hex::decode(&text).map_err(|e| malformed(format!("{key} is not hex: {e}")))
        };
        Ok(Self {
            pck_crl_issuer_chain: text("pck_crl_issuer_chain")?,
            root_ca_crl: hex_field("root_ca_crl")?,
            pck_crl: hex_field("pck_crl")?,
            tcb_info_issuer_chain: text("tcb_info_issuer_chain")?,
            tcb_info: text("tcb_info")?,
            tcb_info_signature: hex_field("tcb_info_signature")?,
            qe_identity_issuer_chain: text("qe_identity_issuer_chain")?,
            qe_identity: text("qe_identity")?,
            qe_identity_signature: hex_field("qe_identity_signature")?,
        })
    }

    /// Reads the SCALE encoding of [`DcapCollateral`] (all input consumed).
    /// Phala's 2023 `SgxV30QuoteCollateral` has the same nine fields with
    /// both CRLs as hex text instead of DER; such CRLs are hex-decoded.
    pub fn from_scale(mut bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > 2 * MAX_COLLATERAL_LEN {
            return Err(Error::TooLarge { what: "collateral", len: bytes.len(), max: 2 * MAX_COLLATERAL_LEN });
        }
        let malformed = |detail: String| Error::Malformed { what: "SCALE collateral", detail };
        let mut collateral = Self::decode(&mut bytes).map_err(|e| malformed(e.to_string()))?;
        if !bytes.is_empty() {
            return Err(malformed("trailing bytes".into()));
        }
        for crl in [&mut collateral.root_ca_crl, &mut collateral.pck_crl] {
            // DER starts with 0x30; hex text with ASCII digits.
            if !crl.is_empty() && crl.iter().all(u8::is_ascii_hexdigit) {
                *crl = hex::decode(&*crl).map_err(|e| malformed(format!("CRL hex: {e}")))?;
            }
        }
        Ok(collateral)
    }

    /// Reads collateral in any form this crate knows: JSON (starts with
    /// `{`) or SCALE.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Self::from_json(bytes),
            _ => Self::from_scale(bytes),
        }
    }

    fn to_dcap_qvl(&self) -> Result<dcap_qvl::QuoteCollateralV3, Error> {
        let utf8 = |what: &'static str, bytes: &[u8]| {
            String::from_utf8(bytes.to_vec()).map_err(|_| Error::Malformed { what, detail: "not UTF-8".into() })
        };
        Ok(dcap_qvl::QuoteCollateralV3 {
            pck_crl_issuer_chain: utf8("pck_crl_issuer_chain", &self.pck_crl_issuer_chain)?,
            root_ca_crl: self.root_ca_crl.clone(),
            pck_crl: self.pck_crl.clone(),
            tcb_info_issuer_chain: utf8("tcb_info_issuer_chain", &self.tcb_info_issuer_chain)?,
            tcb_info: utf8("tcb_info", &self.tcb_info)?,
            tcb_info_signature: self.tcb_info_signature.clone(),
            qe_identity_issuer_chain: utf8("qe_identity_issuer_chain", &self.qe_identity_issuer_chain)?,
            qe_identity: utf8("qe_identity", &self.qe_identity)?,
            qe_identity_signature: self.qe_identity_signature.clone(),
            // Offline verification takes the PCK chain from the quote
            // (certification data type 5).
            pck_certificate_chain: None,
        })
    }
}

/// The platform a quote's header names, if it is SGX or TDX.
pub fn platform_of(quote: &[u8]) -> Option<PlatformKind> {
    let tee_type = u32::from_le_bytes(quote.get(4..8)?.try_into().ok()?);
    match tee_type {
        TEE_TYPE_SGX => Some(PlatformKind::SgxDcap),
        TEE_TYPE_TDX => Some(PlatformKind::TdxDcap),
        _ => None,
    }
}

/// The report data inside a quote, parsed but **not verified**: for a TEE
/// backend to check that the device quoted what it was asked to.
pub fn unverified_report_data(quote: &[u8]) -> Option<[u8; 64]> {
    if quote.len() > MAX_QUOTE_LEN {
        return None;
    }
    let parsed = Quote::decode(&mut &quote[..]).ok()?;
    Some(match &parsed.report {
        Report::SgxEnclave(report) => report.report_data,
        Report::TD10(report) => report.report_data,
        Report::TD15(report) => report.base.report_data,
        Report::TD15Ex(report) => report.base.base.report_data,
    })
}

fn map_status(status: dcap_qvl::TcbStatus) -> Result<TcbStatus, Error> {
    use dcap_qvl::TcbStatus as Q;
    Ok(match status {
        Q::UpToDate => TcbStatus::UpToDate,
        Q::SWHardeningNeeded => TcbStatus::SwHardeningNeeded,
        Q::ConfigurationNeeded => TcbStatus::ConfigurationNeeded,
        Q::ConfigurationAndSWHardeningNeeded => TcbStatus::ConfigurationAndSwHardeningNeeded,
        Q::OutOfDate => TcbStatus::OutOfDate,
        Q::OutOfDateConfigurationNeeded => TcbStatus::OutOfDateConfigurationNeeded,
        Q::TDRelaunchAdvised => TcbStatus::TdRelaunchAdvised,
        Q::TDRelaunchAdvisedConfigurationNeeded => TcbStatus::TdRelaunchAdvisedConfigurationNeeded,
        Q::Revoked => return Err(Error::Revoked),
    })
}

/// Checks that a PEM chain is canonical and ends in the trusted root, and
/// returns its certificates (DER).
fn check_chain(what: &'static str, text: &[u8], root_der: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let certs = pem::parse_chain(text).map_err(|detail| Error::CertificateChain { what, detail })?;
    match certs.last() {
        Some(last) if last.as_slice() == root_der => Ok(certs),
        _ => Err(Error::CertificateChain { what, detail: "does not end in the trusted root".into() }),
    }
}

/// `verify_with_policy` is dcap-qvl's entry point that returns the claims
/// with the collateral dates; TCB policy is the chain's decision (per role),
/// so this policy accepts every verdict and the window is checked after.
struct AcceptAll;

impl dcap_qvl::Policy for AcceptAll {
    fn validate(&self, _claims: &dcap_qvl::QuoteClaims) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Verifies a DCAP quote against its collateral at `now_secs`.
pub(crate) fn verify(
    quote: &[u8],
    collateral: &DcapCollateral,
    now_secs: u64,
    policy: &Policy<'_>,
) -> Result<Verified, Error> {
    if quote.len() > MAX_QUOTE_LEN {
        return Err(Error::TooLarge { what: "DCAP quote", len: quote.len(), max: MAX_QUOTE_LEN });
    }
    if collateral.len() > MAX_COLLATERAL_LEN {
        return Err(Error::TooLarge { what: "DCAP collateral", len: collateral.len(), max: MAX_COLLATERAL_LEN });
    }
    let root_der = policy.dcap_root_der.unwrap_or(INTEL_SGX_ROOT_CA_DER);

    // Structure first: the whole quote must be consumed by its own lengths.
    let mut rest = quote;
    let parsed =
        Quote::decode(&mut rest).map_err(|e| Error::Malformed { what: "DCAP quote", detail: e.to_string() })?;
    // Quote generators pad their buffers with zeros; anything else after
    // the quote is refused.
    if rest.iter().any(|&b| b != 0) {
        return Err(Error::Malformed { what: "DCAP quote", detail: format!("{} trailing bytes", rest.len()) });
    }
    // Every length field must be exact: the decoder ignores slack inside
    // the length-prefixed authentication data, so compare with the
    // canonical encoding of what it read.
    let consumed = quote.len() - rest.len();
    if parsed.encode() != quote[..consumed] {
        return Err(Error::Malformed { what: "DCAP quote", detail: "length fields are not exact".into() });
    }
    // v4/v5 authentication data wraps the QE report in certification data
    // of type 6 (Intel's spec); dcap-qvl does not look at this type field.
    if let AuthData::V4(auth) = &parsed.auth_data {
        if auth.certification_data.cert_type != QE_REPORT_CERTIFICATION_DATA {
            return Err(Error::Malformed {
                what: "DCAP quote",
                detail: format!("certification data type {}, expected 6", auth.certification_data.cert_type),
            });
        }
    }
    let pck_chain = parsed
        .raw_cert_chain()
        .map_err(|e| Error::Malformed { what: "DCAP quote certification data", detail: e.to_string() })?;
    let pck_certs = check_chain("quote PCK chain", pck_chain, root_der)?;
    // dcap-qvl checks the PCK CRL's signature against the CA in the quote's
    // verified PCK chain and never reads this chain; require it to name
    // exactly that CA, so it cannot carry unverified bytes.
    let crl_issuers = check_chain("PCK CRL issuer chain", &collateral.pck_crl_issuer_chain, root_der)?;
    if crl_issuers.len() != 2 || pck_certs.len() < 2 || crl_issuers[0] != pck_certs[pck_certs.len() - 2] {
        return Err(Error::CertificateChain {
            what: "PCK CRL issuer chain",
            detail: "is not the quote's PCK CA followed by the root".into(),
        });
    }
    check_chain("TCB info issuer chain", &collateral.tcb_info_issuer_chain, root_der)?;
    check_chain("QE identity issuer chain", &collateral.qe_identity_issuer_chain, root_der)?;

    let verifier = dcap_qvl::verify::QuoteVerifier::new(root_der.to_vec());
    let claims = verifier
        .verify_with_policy(quote, collateral.to_dcap_qvl()?, now_secs, &AcceptAll)
        .map_err(|e| classify(&e))?;

    if now_secs < claims.latest_issue_date {
        return Err(Error::CollateralNotValidAt(format!(
            "collateral issued at {} is newer than now ({})",
            crate::time::format_rfc3339(claims.latest_issue_date),
            crate::time::format_rfc3339(now_secs)
        )));
    }
    if now_secs > claims.earliest_expiration_date {
        return Err(Error::CollateralNotValidAt(format!(
            "collateral expired at {} (now {})",
            crate::time::format_rfc3339(claims.earliest_expiration_date),
            crate::time::format_rfc3339(now_secs)
        )));
    }

    let tcb_status = map_status(claims.tcb.status)?;
    let advisories = normalise_advisories(claims.tcb.advisory_ids)?;
    let (platform, measurement, report_data) = match &claims.report {
        Report::SgxEnclave(report) => (
            PlatformKind::SgxDcap,
            Measurement::sgx(&report.mr_enclave, report.isv_prod_id, report.isv_svn, &report.mr_signer),
            report.report_data,
        ),
        Report::TD10(report) => (PlatformKind::TdxDcap, td_measurement(report), report.report_data),
        Report::TD15(report) => (PlatformKind::TdxDcap, td_measurement(&report.base), report.base.report_data),
        Report::TD15Ex(report) => {
            (PlatformKind::TdxDcap, td_measurement(&report.base.base), report.base.base.report_data)
        }
    };
    Ok(Verified { platform, measurement, report_data, tcb_status, advisories, issued_at_secs: None })
}

fn td_measurement(report: &dcap_qvl::quote::TDReport10) -> Measurement {
    let mut bytes = Vec::with_capacity(5 * 48);
    for part in [&report.mr_td, &report.rt_mr0, &report.rt_mr1, &report.rt_mr2, &report.rt_mr3] {
        bytes.extend_from_slice(part);
    }
    Measurement(bytes)
}

/// Sorts dcap-qvl's error into ours: validity-window failures are
/// [`Error::CollateralNotValidAt`], revocation [`Error::Revoked`], the rest
/// [`Error::Dcap`] with the full reason.
fn classify(error: &anyhow::Error) -> Error {
    let text = format!("{error:#}");
    let lower = text.to_ascii_lowercase();
    if lower.contains("revoked") && lower.contains("tcb status") {
        Error::Revoked
    } else if lower.contains("expired")
        || lower.contains("notvalidyet")
        || lower.contains("not valid yet")
        || lower.contains("in the future")
    {
        Error::CollateralNotValidAt(text)
    } else {
        Error::Dcap(text)
    }
}

//! Intel Attestation Service (EPID) reports: legacy SGX attestation.
//!
//! A report is the JSON body IAS returned, its RSA-SHA256 signature (header
//! `X-IASReport-Signature`) and the report signing certificate. Verification:
//! the certificate is issued (RSA-SHA256) by Intel's "SGX Attestation Report
//! Signing CA" ([`INTEL_IAS_ROOT_CA_PEM`], or the policy's override) and
//! both are valid at `now`; the report signature verifies under it; the
//! report's `timestamp` is within the policy's age; its quote status is
//! acceptable; the enclave fields come from `isvEnclaveQuoteBody`.

use crate::{check_age, normalise_advisories, time, Error, Measurement, PlatformKind, Policy, TcbStatus, Verified};
use crate::{MAX_CERT_LEN, MAX_IAS_REPORT_LEN};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use base64::Engine as _;
use parity_scale_codec::{Decode, Encode};
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use scale_info::TypeInfo;
use sha2::{Digest as _, Sha256};
use x509_cert::der::Decode as _;
use x509_cert::Certificate;

/// Intel's SGX Attestation Report Signing CA (PEM), the IAS trust anchor.
pub const INTEL_IAS_ROOT_CA_PEM: &str = include_str!("../certs/intel-sgx-attestation-report-signing-ca.pem");

/// `sha256WithRSAEncryption`.
const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
/// The SGX quote structure in `isvEnclaveQuoteBody`: 48-byte header, then
/// the 384-byte report body.
const QUOTE_BODY_LEN: usize = 432;
const REPORT_BODY: usize = 48;
/// An RSA-2048 signature.
const SIGNATURE_LEN: usize = 256;

/// An IAS attestation report as the relayer received it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct IasReport {
    /// The report JSON, exactly the bytes IAS signed.
    pub report: Vec<u8>,
    /// The RSA-SHA256 signature over `report` (256 bytes).
    pub signature: Vec<u8>,
    /// The report signing certificate (DER).
    pub signing_cert: Vec<u8>,
}

impl IasReport {
    /// Reads the JSON form `{ "raReport": string, "signature": hex or base64,
    /// "rawSigningCert": hex or base64 DER }` used by Phala's tooling.
    pub fn from_json(json: &[u8]) -> Result<Self, Error> {
        let malformed = |detail: String| Error::Malformed { what: "IAS report JSON", detail };
        if json.len() > 4 * MAX_IAS_REPORT_LEN {
            return Err(Error::TooLarge { what: "IAS report JSON", len: json.len(), max: 4 * MAX_IAS_REPORT_LEN });
        }
        let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| malformed(e.to_string()))?;
        let field = |key: &str| {
            value
                .get(key)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| malformed(format!("missing string field {key}")))
        };
        let binary = |key: &str| -> Result<Vec<u8>, Error> {
            let text = field(key)?;
            hex::decode(text)
                .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
                .map_err(|_| malformed(format!("{key} is neither hex nor base64")))
        };
        Ok(Self {
            report: field("raReport")?.as_bytes().to_vec(),
            signature: binary("signature")?,
            signing_cert: binary("rawSigningCert")?,
        })
    }
}

/// The IAS CA certificate (DER) from the embedded PEM.
pub fn intel_ias_root_der() -> Result<Vec<u8>, Error> {
    let certs = crate::pem::parse_chain(INTEL_IAS_ROOT_CA_PEM.as_bytes())
        .map_err(|detail| Error::CertificateChain { what: "embedded IAS CA", detail })?;
    certs.into_iter().next().ok_or(Error::CertificateChain { what: "embedded IAS CA", detail: "empty".into() })
}

/// A parsed certificate: the bytes that were signed, the signature, the
/// RSA key it certifies and its validity.
struct RsaCert {
    cert: Certificate,
    tbs_der: Vec<u8>,
    key: RsaPublicKey,
}

fn parse_cert(what: &'static str, der: &[u8]) -> Result<RsaCert, Error> {
    if der.len() > MAX_CERT_LEN {
        return Err(Error::TooLarge { what, len: der.len(), max: MAX_CERT_LEN });
    }
    let malformed = |detail: String| Error::Malformed { what, detail };
    let cert = Certificate::from_der(der).map_err(|e| malformed(e.to_string()))?;
    // The signed bytes exactly as given (not re-encoded: a lenient parse
    // must not make different bytes verify).
    let tbs_der = first_element(der).ok_or_else(|| malformed("bad DER framing".into()))?.to_vec();
    // The outer algorithm is not signed: RFC 5280 requires it to equal the
    // signed one, parameters included.
    if cert.tbs_certificate().signature().oid.to_string() != SHA256_WITH_RSA
        || cert.signature_algorithm() != cert.tbs_certificate().signature()
    {
        return Err(malformed("not signed with sha256WithRSAEncryption".into()));
    }
    let spki = cert.tbs_certificate().subject_public_key_info();
    let key_bytes = spki.subject_public_key.as_bytes().ok_or_else(|| malformed("bad public key bits".into()))?;
    let key = RsaPublicKey::from_pkcs1_der(key_bytes).map_err(|e| malformed(format!("RSA key: {e}")))?;
    Ok(RsaCert { cert, tbs_der, key })
}

/// The first element inside a DER SEQUENCE that fills all of `der`.
fn first_element(der: &[u8]) -> Option<&[u8]> {
    let (tag, content, rest) = tlv(der)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (_, _, after_first) = tlv(content)?;
    content.get(..content.len() - after_first.len())
}

/// Splits one DER TLV (definite length, at most 4 length bytes) off `input`:
/// `(tag, content, rest)`.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, after_tag) = input.split_first()?;
    let (&first, mut after_len) = after_tag.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = after_len.get(..count)?;
        after_len = &after_len[count..];
        bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if len > after_len.len() {
        return None;
    }
    let (content, rest) = after_len.split_at(len);
    Some((tag, content, rest))
}

fn valid_at(cert: &Certificate, now_secs: u64) -> bool {
    let validity = cert.tbs_certificate().validity();
    let not_before = validity.not_before.to_unix_duration().as_secs();
    let not_after = validity.not_after.to_unix_duration().as_secs();
    (not_before..=not_after).contains(&now_secs)
}

fn rsa_sha256_verify(key: &RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
    let digest = Sha256::digest(message);
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature).is_ok()
}

fn status_of(name: &str) -> Result<TcbStatus, Error> {
    Ok(match name {
        "OK" => TcbStatus::UpToDate,
        "SW_HARDENING_NEEDED" => TcbStatus::SwHardeningNeeded,
        "CONFIGURATION_NEEDED" => TcbStatus::ConfigurationNeeded,
        "CONFIGURATION_AND_SW_HARDENING_NEEDED" => TcbStatus::ConfigurationAndSwHardeningNeeded,
        "GROUP_OUT_OF_DATE" => TcbStatus::OutOfDate,
        "GROUP_REVOKED" | "KEY_REVOKED" => return Err(Error::Revoked),
        other => return Err(Error::IasQuoteStatus(other.to_string())),
    })
}

/// Verifies an IAS report at `now_secs`.
pub(crate) fn verify(report: &IasReport, now_secs: u64, policy: &Policy<'_>) -> Result<Verified, Error> {
    if report.report.len() > MAX_IAS_REPORT_LEN {
        return Err(Error::TooLarge { what: "IAS report", len: report.report.len(), max: MAX_IAS_REPORT_LEN });
    }
    if report.signature.len() != SIGNATURE_LEN {
        return Err(Error::Malformed {
            what: "IAS report signature",
            detail: format!("{} bytes, expected {SIGNATURE_LEN}", report.signature.len()),
        });
    }

    // The trust chain: CA → signing certificate → report.
    let root_der = match policy.ias_root_der {
        Some(der) => der.to_vec(),
        None => intel_ias_root_der()?,
    };
    let root = parse_cert("IAS CA certificate", &root_der)?;
    let signer = parse_cert("IAS signing certificate", &report.signing_cert)?;
    if signer.cert.tbs_certificate().issuer() != root.cert.tbs_certificate().subject()
        || !signer.cert.signature().as_bytes().is_some_and(|sig| rsa_sha256_verify(&root.key, &signer.tbs_der, sig))
    {
        return Err(Error::IasCertificateUntrusted);
    }
    if !valid_at(&root.cert, now_secs) || !valid_at(&signer.cert, now_secs) {
        return Err(Error::IasCertificateExpired);
    }
    if !rsa_sha256_verify(&signer.key, &report.report, &report.signature) {
        return Err(Error::IasSignatureInvalid);
    }

    // The report's content.
    let malformed = |detail: String| Error::Malformed { what: "IAS report", detail };
    let body: serde_json::Value = serde_json::from_slice(&report.report).map_err(|e| malformed(e.to_string()))?;
    let text = |key: &str| {
        body.get(key).and_then(serde_json::Value::as_str).ok_or_else(|| malformed(format!("missing {key}")))
    };
    match body.get("version").and_then(serde_json::Value::as_u64) {
        Some(3..=5) => {}
        _ => return Err(malformed("unsupported report version".into())),
    }
    let issued_at_secs =
        time::parse_ias_timestamp(text("timestamp")?).map_err(|e| malformed(format!("timestamp: {e}")))?;
    check_age(issued_at_secs, now_secs, policy.max_age_secs)?;
    let tcb_status = status_of(text("isvEnclaveQuoteStatus")?)?;
    let advisories = match body.get("advisoryIDs") {
        None => Vec::new(),
        Some(ids) => ids
            .as_array()
            .ok_or_else(|| malformed("advisoryIDs is not a list".into()))?
            .iter()
            .map(|id| id.as_str().map(String::from).ok_or_else(|| malformed("advisory id is not a string".into())))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let advisories = normalise_advisories(advisories)?;

    let quote = base64::engine::general_purpose::STANDARD
        .decode(text("isvEnclaveQuoteBody")?)
        .map_err(|_| malformed("isvEnclaveQuoteBody is not base64".into()))?;
    if quote.len() != QUOTE_BODY_LEN {
        return Err(malformed(format!("quote body is {} bytes, expected {QUOTE_BODY_LEN}", quote.len())));
    }
    let field = |at: usize, len: usize| &quote[REPORT_BODY + at..REPORT_BODY + at + len];
    let array32 = |at: usize| -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(field(at, 32));
        out
    };
    let u16_le = |at: usize| u16::from_le_bytes([quote[REPORT_BODY + at], quote[REPORT_BODY + at + 1]]);
    let mut report_data = [0u8; 64];
    report_data.copy_from_slice(field(320, 64));
    Ok(Verified {
        platform: PlatformKind::SgxIas,
        measurement: Measurement::sgx(&array32(64), u16_le(256), u16_le(258), &array32(128)),
        report_data,
        tcb_status,
        advisories,
        issued_at_secs: Some(issued_at_secs),
    })
}

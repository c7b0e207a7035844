//! Simulated-TEE evidence. **Not a security boundary**: it proves only that
//! a holder of a simulated attestation service key signed the statement.
//! Chains accept it only when their configuration lists that key (dev and
//! test chains); production-like chain specs list none.

use crate::{check_age, normalise_advisories, Error, Measurement, PlatformKind, Policy, TcbStatus, Verified};
use alloc::string::String;
use alloc::vec::Vec;
use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_crypto::ed25519;

/// The secret URI of the development simulated attestation service (the
/// well-known dev phrase with a hard junction): dev and local test chains
/// list its public key, production-like chain specs never do.
pub const DEV_SIM_SERVICE_SURI: &str = "//UmbraSimAttestation";

/// The development simulated attestation service key pair.
pub fn dev_sim_service_pair() -> ed25519::Pair {
    let uri = umbra_crypto::suri::SecretUri::parse(DEV_SIM_SERVICE_SURI);
    match uri.and_then(|uri| ed25519::Pair::from_suri(&uri)) {
        Ok(pair) => pair,
        // A constant, tested SURI: this arm is unreachable.
        Err(_) => ed25519::Pair::from_seed(&[0u8; 32]),
    }
}

/// Domain separation of the sim service's signatures.
pub const SIM_QUOTE_CONTEXT: &[u8] = b"umbra/attestation/sim-quote/v1-insecure";

/// What the simulated attestation service vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct SimQuote {
    /// BLAKE2-256 of the binary and its version, as the sim TEE measures it.
    pub measurement: [u8; 32],
    /// The 64 bytes the code asked to bind.
    pub report_data: [u8; 64],
    /// When the service issued it, milliseconds since the epoch.
    pub issued_at_ms: u64,
    /// The TCB status the simulated platform is configured to report, so
    /// policies can be exercised without hardware.
    pub tcb_status: TcbStatus,
    /// Advisory ids the simulated platform reports.
    pub advisories: Vec<String>,
}

impl SimQuote {
    /// The bytes the service signs.
    pub fn signing_payload(&self) -> Vec<u8> {
        let mut payload = SIM_QUOTE_CONTEXT.to_vec();
        self.encode_to(&mut payload);
        payload
    }
}

/// A simulated quote with the service's signature.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct SimEvidence {
    /// The statement.
    pub quote: SimQuote,
    /// The service's ed25519 public key.
    pub signer: [u8; 32],
    /// Its signature over [`SimQuote::signing_payload`].
    pub signature: [u8; 64],
}

impl SimEvidence {
    /// Signs `quote` with the simulated attestation service key `pair`.
    pub fn sign(quote: SimQuote, pair: &ed25519::Pair) -> Self {
        let signature = pair.sign(&quote.signing_payload());
        Self { signer: pair.public().0, signature: signature.0, quote }
    }
}

/// Verifies simulated evidence: allowed key, valid signature, fresh.
pub(crate) fn verify(evidence: &SimEvidence, now_secs: u64, policy: &Policy<'_>) -> Result<Verified, Error> {
    if !policy.sim_keys.contains(&evidence.signer) {
        return Err(Error::SimKeyNotAllowed);
    }
    let public = ed25519::Public(evidence.signer);
    let signature = ed25519::Signature(evidence.signature);
    if !ed25519::verify(&signature, &evidence.quote.signing_payload(), &public) {
        return Err(Error::SimSignatureInvalid);
    }
    let issued_at_secs = evidence.quote.issued_at_ms / 1000;
    check_age(issued_at_secs, now_secs, policy.max_age_secs)?;
    Ok(Verified {
        platform: PlatformKind::Sim,
        measurement: Measurement(evidence.quote.measurement.to_vec()),
        report_data: evidence.quote.report_data,
        tcb_status: evidence.quote.tcb_status,
        advisories: normalise_advisories(evidence.quote.advisories.clone())?,
        issued_at_secs: Some(issued_at_secs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify as verify_evidence;
    use crate::{Evidence, PlatformKind};
    use alloc::vec;

    fn quote(issued_at_ms: u64) -> SimQuote {
        SimQuote {
            measurement: [1; 32],
            report_data: [2; 64],
            issued_at_ms,
            tcb_status: TcbStatus::SwHardeningNeeded,
            advisories: vec!["INTEL-SA-00615".into()],
        }
    }

    #[test]
    fn dev_service_key_is_derived_from_its_suri() {
        let uri = umbra_crypto::suri::SecretUri::parse(DEV_SIM_SERVICE_SURI).unwrap_or_else(|e| panic!("{e}"));
        let pair = ed25519::Pair::from_suri(&uri).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dev_sim_service_pair().public(), pair.public());
        assert_ne!(pair.public(), ed25519::Pair::from_seed(&[0u8; 32]).public());
    }

    #[test]
    fn signed_by_an_allowed_key_verifies() {
        let pair = ed25519::Pair::from_seed(&[3; 32]);
        let keys = [pair.public().0];
        let policy = Policy::new(&[PlatformKind::Sim], &keys, 7_200);
        let evidence = Evidence::Sim(SimEvidence::sign(quote(1_000_000), &pair));
        let verified = verify_evidence(&evidence, None, 1_000 + 7_200, &policy);
        let verified = verified.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verified.platform, PlatformKind::Sim);
        assert_eq!(verified.measurement.as_bytes(), &[1; 32]);
        assert_eq!(verified.report_data, [2; 64]);
        assert_eq!(verified.confidence_level(), 2);
        assert_eq!(verified.issued_at_secs, Some(1_000));
    }

    #[test]
    fn forged_replayed_or_foreign_evidence_is_refused() {
        let pair = ed25519::Pair::from_seed(&[3; 32]);
        let other = ed25519::Pair::from_seed(&[4; 32]);
        let keys = [pair.public().0];
        let policy = Policy::new(&[PlatformKind::Sim], &keys, 7_200);
        let good = SimEvidence::sign(quote(1_000_000), &pair);

        let foreign = Evidence::Sim(SimEvidence::sign(quote(1_000_000), &other));
        assert_eq!(verify_evidence(&foreign, None, 1_000, &policy), Err(Error::SimKeyNotAllowed));

        let mut forged = good.clone();
        forged.quote.measurement[0] ^= 1;
        assert_eq!(verify_evidence(&Evidence::Sim(forged), None, 1_000, &policy), Err(Error::SimSignatureInvalid));

        let stale = Evidence::Sim(good.clone());
        assert_eq!(
            verify_evidence(&stale, None, 1_000 + 7_201, &policy),
            Err(Error::TooOld { age_secs: 7_201, max_secs: 7_200 })
        );
        let production = Policy::new(&[PlatformKind::SgxDcap], &keys, 7_200);
        assert_eq!(verify_evidence(&stale, None, 1_000, &production), Err(Error::PlatformNotAccepted("sim")));
    }
}

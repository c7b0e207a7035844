//! What a registration must pass: evidence, binding, genesis, platform, freshness, allowlist and the role's TCB policy; and whether a registered worker still passes.

use super::*;

/// Whether `worker` may receive keys now: attestation current, measurement
/// still allowed, and its role's TCB policy met (the check before any key
/// reaches it).
pub fn passes_policy(ext: &Ext<'_>, worker: &WorkerInfo) -> bool {
    let policy = tcb_policy(ext, worker.role);
    attestation_current(ext, worker, timestamp::now(ext))
        && measurement_allowed_at(ext, &worker.measurement).is_some()
        && worker.confidence_level <= policy.max_confidence_level
        && !worker.advisories.iter().any(|a| policy.denied_advisories.contains(a))
}

/// Checks a dated message against the block time.
pub(super) fn check_freshness(at_ms: u64, now_ms: u64, max_age_ms: u64) -> Result<(), Error> {
    if at_ms > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
        return Err(Error::AttestationFromFuture);
    }
    if now_ms.saturating_sub(at_ms) > max_age_ms {
        return Err(Error::AttestationTooOld);
    }
    Ok(())
}

/// Verifies evidence for `info` and the policies; returns the verdict.
/// Pure with respect to storage writes: used by dispatch and by tests.
pub fn check_registration(
    ext: &Ext<'_>,
    info: &WorkerRegistrationInfo,
    evidence: &Evidence,
    collateral: Option<&DcapCollateral>,
) -> Result<Verified, Error> {
    if info.version != INFO_VERSION {
        return Err(Error::UnsupportedInfoVersion);
    }
    if genesis_hash(ext) != Some(info.genesis_hash) {
        return Err(Error::GenesisMismatch);
    }
    // Tied to the chain, not only to its configuration.
    if matches!(evidence, Evidence::Sim(_)) && !simulation_allowed(ext) {
        return Err(Error::SimulationNotAllowed);
    }
    let now_ms = timestamp::now(ext);
    let config = attestation_config(ext);
    let policy =
        umbra_attestation::Policy::new(&config.platforms, &config.sim_keys, config.max_attestation_age_ms / 1000);
    let verified = umbra_attestation::verify(evidence, collateral, now_ms / 1000, &policy)?;
    if verified.report_data[..32] != info.binding() {
        return Err(Error::ReportDataMismatch);
    }
    if verified.platform != info.platform {
        return Err(Error::PlatformMismatch);
    }
    check_freshness(info.attested_at_ms, now_ms, config.max_attestation_age_ms)?;
    if measurement_allowed_at(ext, &verified.measurement).is_none() {
        return Err(Error::MeasurementNotAllowed);
    }
    let policy = tcb_policy(ext, info.role);
    if verified.confidence_level() > policy.max_confidence_level {
        return Err(Error::TcbPolicyViolated);
    }
    if verified.advisories.iter().any(|a| policy.denied_advisories.contains(a)) {
        return Err(Error::AdvisoryDenied);
    }
    Ok(verified)
}

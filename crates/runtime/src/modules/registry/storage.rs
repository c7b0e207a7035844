//! Storage items (keys under `Registry`) and typed reads of them.

use super::*;

/// Storage keys.
pub mod keys {
    use super::*;
    /// `Registry.Workers(identity)`.
    pub fn worker(identity: &sr25519::Public) -> Vec<u8> {
        map_key(NAME, "Workers", StorageHasher::Blake2_128Concat, &identity.0)
    }
    /// `Registry.AllowedMeasurements(measurement)` → block it was added.
    pub fn allowed_measurement(measurement: &Measurement) -> Vec<u8> {
        map_key(NAME, "AllowedMeasurements", StorageHasher::Blake2_128Concat, &measurement.encode())
    }
    /// `Registry.TcbPolicies(role)`.
    pub fn tcb_policy(role: WorkerRole) -> Vec<u8> {
        map_key(NAME, "TcbPolicies", StorageHasher::Twox64Concat, &role.encode())
    }
    /// `Registry.SimulationAllowed`: set at genesis for development and
    /// local chains only; never changed by any call.
    pub fn simulation_allowed() -> Vec<u8> {
        value_key(NAME, "SimulationAllowed")
    }
    /// `Registry.AttestationConfig`.
    pub fn attestation_config() -> Vec<u8> {
        value_key(NAME, "AttestationConfig")
    }
    /// `Registry.WorkerIds`: every registered identity, in registration
    /// order (the pool random dispatch samples from).
    pub fn worker_ids() -> Vec<u8> {
        value_key(NAME, "WorkerIds")
    }
    /// `Registry.LastHeartbeat(identity)` → (block it landed in, block
    /// the worker had synced).
    pub fn last_heartbeat(identity: &sr25519::Public) -> Vec<u8> {
        map_key(NAME, "LastHeartbeat", StorageHasher::Blake2_128Concat, &identity.0)
    }
    /// `Registry.Endpoints(identity)`.
    pub fn endpoint(identity: &sr25519::Public) -> Vec<u8> {
        map_key(NAME, "Endpoints", StorageHasher::Blake2_128Concat, &identity.0)
    }
}

/// The attestation configuration in force.
pub fn attestation_config(ext: &Ext<'_>) -> AttestationConfig {
    ext.get(&keys::attestation_config()).unwrap_or_else(AttestationConfig::production)
}

/// The TCB policy of `role` in force.
pub fn tcb_policy(ext: &Ext<'_>, role: WorkerRole) -> TcbPolicy {
    ext.get(&keys::tcb_policy(role)).unwrap_or_else(|| match role {
        WorkerRole::Worker => TcbPolicy::default_worker(),
        WorkerRole::Gatekeeper => TcbPolicy::default_gatekeeper(),
    })
}

/// A registered worker.
pub fn worker(ext: &Ext<'_>, identity: &sr25519::Public) -> Option<WorkerInfo> {
    ext.get(&keys::worker(identity))
}

/// Block at which `measurement` was allowed, if it is.
pub fn measurement_allowed_at(ext: &Ext<'_>, measurement: &Measurement) -> Option<BlockNumber> {
    ext.get(&keys::allowed_measurement(measurement))
}

/// Whether `worker` attested within the re-attestation period at `now_ms`.
pub fn attestation_current(ext: &Ext<'_>, worker: &WorkerInfo, now_ms: u64) -> bool {
    now_ms.saturating_sub(worker.last_attested_at_ms) <= attestation_config(ext).reattestation_period_ms
}

/// Whether this chain may accept the simulated TEE (fixed at genesis).
pub fn simulation_allowed(ext: &Ext<'_>) -> bool {
    ext.get_or_default(&keys::simulation_allowed())
}

/// The genesis hash: `System.BlockHash(0)`, kept forever.
pub(super) fn genesis_hash(ext: &Ext<'_>) -> Option<H256> {
    system::block_hash(ext, 0)
}

/// A worker's last heartbeat: (block it landed in, block it had synced).
pub fn last_heartbeat(ext: &Ext<'_>, identity: &sr25519::Public) -> Option<(BlockNumber, BlockNumber)> {
    ext.get(&keys::last_heartbeat(identity))
}

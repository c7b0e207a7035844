//! Genesis configuration.

use super::*;

/// The registry's genesis configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisConfig {
    /// Whether this chain may ever accept the simulated TEE (development and
    /// local chains; never a `Live` one). Fixed at genesis.
    pub allow_simulation: bool,
    /// Accepted evidence.
    pub attestation: AttestationConfig,
    /// Initially allowed measurements.
    pub allowed_measurements: Vec<Measurement>,
    /// TCB policy of workers.
    pub worker_policy: TcbPolicy,
    /// TCB policy of gatekeepers.
    pub gatekeeper_policy: TcbPolicy,
}

impl GenesisConfig {
    /// Development chains: the simulated TEE with the dev simulated
    /// attestation service key is accepted besides Intel DCAP. The
    /// allowlist starts empty (sudo adds measurements).
    pub fn development() -> Self {
        let mut config = Self { allow_simulation: true, ..Self::default() };
        config.attestation.platforms.insert(0, PlatformKind::Sim);
        config.attestation.sim_keys = alloc::vec![umbra_attestation::sim::dev_sim_service_pair().public().0];
        config
    }
}

impl Default for GenesisConfig {
    fn default() -> Self {
        Self {
            allow_simulation: false,
            attestation: AttestationConfig::production(),
            allowed_measurements: Vec::new(),
            worker_policy: TcbPolicy::default_worker(),
            gatekeeper_policy: TcbPolicy::default_gatekeeper(),
        }
    }
}

/// Writes the registry's genesis state.
pub(crate) fn build_genesis(ext: &mut Ext<'_>, config: &GenesisConfig) -> Result<(), Error> {
    config.attestation.validate()?;
    if !config.allow_simulation && config.attestation.mentions_simulation() {
        return Err(Error::SimulationNotAllowed);
    }
    if config.allow_simulation {
        ext.put(keys::simulation_allowed(), &true);
    }
    config.worker_policy.validate()?;
    config.gatekeeper_policy.validate()?;
    ext.put(keys::attestation_config(), &config.attestation);
    ext.put(keys::tcb_policy(WorkerRole::Worker), &config.worker_policy);
    ext.put(keys::tcb_policy(WorkerRole::Gatekeeper), &config.gatekeeper_policy);
    for measurement in &config.allowed_measurements {
        check_measurement(measurement)?;
        let genesis_block: BlockNumber = 0;
        ext.put(keys::allowed_measurement(measurement), &genesis_block);
    }
    Ok(())
}

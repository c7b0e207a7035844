//! Calls: worker registration, endpoints, the measurement allowlist and attestation configuration (root).

use super::*;

/// Calls. `register_worker` is large; `RuntimeCall` boxes this enum.
#[allow(non_camel_case_types, clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Registers (or refreshes) a worker with TEE evidence. Any signed
    /// origin may submit it (normally the worker's relayer) and pays the fee.
    #[codec(index = 0)]
    register_worker {
        /// What to register, bound to the evidence.
        info: WorkerRegistrationInfo,
        /// The TEE evidence.
        evidence: Evidence,
        /// DCAP collateral (PCCS data), for DCAP evidence.
        collateral: Option<DcapCollateral>,
    },
    /// Publishes a worker's endpoint, signed by its identity key.
    #[codec(index = 1)]
    update_endpoint {
        /// The signed announcement.
        payload: EndpointPayload,
        /// sr25519 signature of the identity key over
        /// [`EndpointPayload::signing_message`].
        signature: [u8; 64],
    },
    /// Root: allows a measurement.
    #[codec(index = 2)]
    add_measurement {
        /// The measurement.
        measurement: Measurement,
    },
    /// Root: removes a measurement from the allowlist.
    #[codec(index = 3)]
    remove_measurement {
        /// The measurement.
        measurement: Measurement,
    },
    /// Root: sets the TCB policy of a role.
    #[codec(index = 4)]
    set_tcb_policy {
        /// The role.
        role: WorkerRole,
        /// Its policy.
        policy: TcbPolicy,
    },
    /// Root: sets which evidence is accepted.
    #[codec(index = 5)]
    set_attestation_config {
        /// The configuration.
        config: AttestationConfig,
    },
}

/// Weight of verifying evidence of each kind, from
/// `cargo bench -p umbra-attestation` (docs/BENCHMARKS.md) with a 3x
/// margin: DCAP 2.7 ms, IAS 0.66 ms, sim 0.055 ms measured.
pub mod weights {
    use super::*;
    /// A DCAP quote with collateral.
    pub const VERIFY_DCAP: Weight = Weight::from_parts(8_000 * WEIGHT_REF_TIME_PER_MICROS, 0);
    /// An IAS report.
    pub const VERIFY_IAS: Weight = Weight::from_parts(2_000 * WEIGHT_REF_TIME_PER_MICROS, 0);
    /// Simulated evidence.
    pub const VERIFY_SIM: Weight = Weight::from_parts(200 * WEIGHT_REF_TIME_PER_MICROS, 0);
    /// Reads and writes of a registration.
    pub const REGISTER_BASE: Weight = Weight::from_parts(100 * WEIGHT_REF_TIME_PER_MICROS, 0);
    /// An endpoint update (one sr25519 verification).
    pub const UPDATE_ENDPOINT: Weight = Weight::from_parts(150 * WEIGHT_REF_TIME_PER_MICROS, 0);
    /// A privileged configuration change.
    pub const ADMIN: Weight = Weight::from_parts(30 * WEIGHT_REF_TIME_PER_MICROS, 0);
}

impl Call {
    /// Weight, class and fee flag.
    pub fn info(&self) -> DispatchInfo {
        let weight = match self {
            Call::register_worker { evidence, .. } => weights::REGISTER_BASE.saturating_add(match evidence {
                Evidence::Dcap(_) => weights::VERIFY_DCAP,
                Evidence::Ias(_) => weights::VERIFY_IAS,
                Evidence::Sim(_) => weights::VERIFY_SIM,
            }),
            Call::update_endpoint { .. } => weights::UPDATE_ENDPOINT,
            Call::add_measurement { .. }
            | Call::remove_measurement { .. }
            | Call::set_tcb_policy { .. }
            | Call::set_attestation_config { .. } => weights::ADMIN,
        };
        DispatchInfo { weight, ..Default::default() }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        match self {
            Call::register_worker { info, evidence, collateral } => {
                origin.ensure_signed()?;
                register_worker(ext, info, &evidence, collateral.as_ref())
            }
            Call::update_endpoint { payload, signature } => {
                origin.ensure_signed()?;
                update_endpoint(ext, payload, &signature)
            }
            Call::add_measurement { measurement } => {
                origin.ensure_root()?;
                check_measurement(&measurement)?;
                let key = keys::allowed_measurement(&measurement);
                if ext.exists(&key) {
                    return Err(Error::MeasurementAlreadyAllowed.into());
                }
                let number = ext.env.number;
                ext.put(key, &number);
                ext.deposit_event(Event::MeasurementAdded { measurement });
                Ok(())
            }
            Call::remove_measurement { measurement } => {
                origin.ensure_root()?;
                let key = keys::allowed_measurement(&measurement);
                if !ext.exists(&key) {
                    return Err(Error::MeasurementNotFound.into());
                }
                ext.kill(key);
                ext.deposit_event(Event::MeasurementRemoved { measurement });
                Ok(())
            }
            Call::set_tcb_policy { role, policy } => {
                origin.ensure_root()?;
                policy.validate()?;
                ext.put(keys::tcb_policy(role), &policy);
                ext.deposit_event(Event::TcbPolicySet { role, policy });
                Ok(())
            }
            Call::set_attestation_config { config } => {
                origin.ensure_root()?;
                config.validate()?;
                if !simulation_allowed(ext) && config.mentions_simulation() {
                    return Err(Error::SimulationNotAllowed.into());
                }
                ext.put(keys::attestation_config(), &config);
                ext.deposit_event(Event::AttestationConfigSet { config });
                Ok(())
            }
        }
    }
}

pub(super) fn check_measurement(measurement: &Measurement) -> Result<(), Error> {
    let len = measurement.as_bytes().len();
    if len == 0 || len > umbra_attestation::MAX_MEASUREMENT_LEN {
        Err(Error::InvalidMeasurement)
    } else {
        Ok(())
    }
}

pub(super) fn register_worker(
    ext: &mut Ext<'_>,
    info: WorkerRegistrationInfo,
    evidence: &Evidence,
    collateral: Option<&DcapCollateral>,
) -> DispatchResult {
    let verified = check_registration(ext, &info, evidence, collateral)?;
    let existing = worker(ext, &info.identity);
    if let Some(existing) = &existing {
        if info.attested_at_ms < existing.last_attested_at_ms {
            return Err(Error::AttestationOutdated.into());
        }
    }
    let number = ext.env.number;
    let record = WorkerInfo {
        identity: info.identity,
        ecdh_public: info.ecdh_public,
        operator: info.operator,
        role: info.role,
        features: info.features,
        platform: verified.platform,
        confidence_level: verified.confidence_level(),
        measurement: verified.measurement,
        tcb_status: verified.tcb_status,
        advisories: verified.advisories,
        registered_at: existing.as_ref().map_or(number, |w| w.registered_at),
        last_attested_block: number,
        last_attested_at_ms: info.attested_at_ms,
    };
    ext.put(keys::worker(&info.identity), &record);
    if existing.is_none() {
        // The index random dispatch samples from (registration order).
        let mut ids: Vec<sr25519::Public> = ext.get_or_default(&keys::worker_ids());
        if ids.len() >= MAX_WORKERS {
            return Err(Error::TooManyWorkers.into());
        }
        ids.push(record.identity);
        ext.put(keys::worker_ids(), &ids);
    }
    let event = match existing {
        None => Event::WorkerRegistered {
            identity: record.identity,
            role: record.role,
            platform: record.platform,
            measurement: record.measurement,
            confidence_level: record.confidence_level,
        },
        Some(_) => Event::WorkerReattested {
            identity: record.identity,
            measurement: record.measurement,
            confidence_level: record.confidence_level,
        },
    };
    ext.deposit_event(event);
    // Tell workers (their pRuntime moves to `Registered` when it sees itself).
    let notice = Notice::Registered { identity: record.identity, role: record.role };
    message_queue::notify(ext, NAME, TOPIC, notice.encode())?;
    Ok(())
}

pub(super) fn update_endpoint(ext: &mut Ext<'_>, payload: EndpointPayload, signature: &[u8; 64]) -> DispatchResult {
    let endpoint = &payload.endpoint;
    if endpoint.is_empty() || endpoint.len() > MAX_ENDPOINT_LEN || !endpoint.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(Error::InvalidEndpoint.into());
    }
    if worker(ext, &payload.identity).is_none() {
        return Err(Error::WorkerNotRegistered.into());
    }
    let genesis = genesis_hash(ext).ok_or(Error::GenesisMismatch)?;
    let message = payload.signing_message(&genesis);
    if !sr25519::verify(&sr25519::Signature(*signature), &message, &payload.identity) {
        return Err(Error::InvalidEndpointSignature.into());
    }
    let now_ms = timestamp::now(ext);
    if check_freshness(payload.signed_at_ms, now_ms, MAX_ENDPOINT_AGE_MS).is_err() {
        return Err(Error::StaleEndpoint.into());
    }
    let key = keys::endpoint(&payload.identity);
    if let Some(current) = ext.get::<EndpointRecord>(&key) {
        if payload.signed_at_ms <= current.signed_at_ms {
            return Err(Error::StaleEndpoint.into());
        }
    }
    ext.put(key, &EndpointRecord { endpoint: payload.endpoint.clone(), signed_at_ms: payload.signed_at_ms });
    ext.deposit_event(Event::EndpointUpdated { identity: payload.identity, endpoint: payload.endpoint });
    Ok(())
}

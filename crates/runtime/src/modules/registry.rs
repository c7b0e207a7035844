//! Registry (module 11): workers prove on chain that they run an allowed
//! pRuntime inside a genuine TEE.
//!
//! `register_worker(info, evidence, collateral)` verifies, in this order:
//!
//! 1. the info version and that `info.genesis_hash` is this chain's;
//! 2. the evidence with [`umbra_attestation::verify`] at the block time,
//!    under the governed [`AttestationConfig`] (accepted platforms, sim
//!    service keys, maximum age);
//! 3. the binding `report_data[0..32] == BLAKE2-256(SCALE(info))`, so
//!    evidence produced for one identity key cannot register another;
//! 4. that the evidence's platform is the one `info` names;
//! 5. the freshness of `info.attested_at_ms` (pRuntime's view of chain time
//!    when it attested; DCAP quotes carry no date of their own) and that a
//!    re-registration is not older than the record it replaces;
//! 6. the measurement allowlist [`keys::allowed_measurement`];
//! 7. the TCB policy of the requested role (confidence level, denied
//!    advisories).
//!
//! Only then it writes `Workers[identity]`. Every failure is its own
//! [`Error`] variant and leaves storage untouched (the dispatch is
//! transactional). Privileged calls (allowlist, policies, configuration)
//! need the root origin: Sudo on dev chains, governance later.

use alloc::{string::String, vec::Vec};

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_attestation::{DcapCollateral, Evidence, Measurement, PlatformKind, TcbStatus, Verified};
use umbra_crypto::sr25519;
use umbra_primitives::{AccountId32, BlockNumber, H256};
use umbra_trie::storage_key::{map_key, value_key, StorageHasher};

use crate::{
    error::{DispatchError, DispatchResult},
    modules::{message_queue, system, timestamp},
    state::Ext,
    weights::{DispatchInfo, Weight, WEIGHT_REF_TIME_PER_MICROS},
    Origin,
};

/// Module index.
pub const INDEX: u8 = 11;
/// Storage prefix and metadata name.
pub const NAME: &str = "Registry";
/// Notice topic: the Registry tells workers about registrations
/// ([`Notice`] payload).
pub const TOPIC: &[u8] = b"umbra/registry/worker";
/// On-chain topic: workers report liveness ([`Heartbeat`] payload, origin
/// `Worker`).
pub const HEARTBEAT_TOPIC: &[u8] = b"^umbra/registry/heartbeat";
/// The only [`WorkerRegistrationInfo::version`] this runtime accepts.
pub const INFO_VERSION: u32 = 1;
/// Longest endpoint URL in bytes.
pub const MAX_ENDPOINT_LEN: usize = 256;
/// Endpoint announcements older than this (block time) are refused.
pub const MAX_ENDPOINT_AGE_MS: u64 = 4 * 60 * 60 * 1000;
/// A dated message may be this far ahead of block time.
pub const MAX_FUTURE_SKEW_MS: u64 = 5 * 60 * 1000;
/// Most platforms in a configuration.
pub const MAX_PLATFORMS: usize = 4;
/// Most simulated attestation service keys in a configuration.
pub const MAX_SIM_KEYS: usize = 16;
/// Most denied advisories in a TCB policy.
pub const MAX_DENIED_ADVISORIES: usize = 64;
/// Most registered workers (bounds the pool random dispatch reads).
pub const MAX_WORKERS: usize = 4096;
/// Domain separation of endpoint announcements.
pub const ENDPOINT_CONTEXT: &[u8] = b"umbra/registry/endpoint/v1";

/// What a worker registers as. Gatekeepers face a stricter TCB policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, TypeInfo)]
pub enum WorkerRole {
    /// Runs contracts.
    #[codec(index = 0)]
    Worker,
    /// May hold the master key.
    #[codec(index = 1)]
    Gatekeeper,
}

/// Hardware a worker offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct WorkerFeatures {
    /// CPU cores.
    pub cores: u32,
    /// Memory in MiB.
    pub memory_mb: u64,
}

/// What pRuntime asks to be registered as; `BLAKE2-256(SCALE(info))` is the
/// first half of the report data of its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct WorkerRegistrationInfo {
    /// Format version, [`INFO_VERSION`].
    pub version: u32,
    /// The worker's identity key (sr25519): signs everything it emits.
    pub identity: sr25519::Public,
    /// The worker's X25519 key: users and gatekeepers encrypt to it.
    pub ecdh_public: [u8; 32],
    /// The genesis hash of the chain pRuntime synced.
    pub genesis_hash: H256,
    /// The account operating this worker, if any.
    pub operator: Option<AccountId32>,
    /// The role requested.
    pub role: WorkerRole,
    /// Hardware offered.
    pub features: WorkerFeatures,
    /// The platform the evidence comes from.
    pub platform: PlatformKind,
    /// Chain time (ms) pRuntime had verified when it attested.
    pub attested_at_ms: u64,
}

impl WorkerRegistrationInfo {
    /// The 32 bytes pRuntime puts in `report_data[0..32]`.
    pub fn binding(&self) -> [u8; 32] {
        umbra_crypto::hashing::blake2_256(&self.encode())
    }
}

/// A registered worker.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct WorkerInfo {
    /// Identity key.
    pub identity: sr25519::Public,
    /// X25519 key.
    pub ecdh_public: [u8; 32],
    /// Operator account.
    pub operator: Option<AccountId32>,
    /// Role it registered for.
    pub role: WorkerRole,
    /// Hardware offered.
    pub features: WorkerFeatures,
    /// Platform of its evidence.
    pub platform: PlatformKind,
    /// Its code's measurement.
    pub measurement: Measurement,
    /// TCB status at the last attestation.
    pub tcb_status: TcbStatus,
    /// Advisories at the last attestation.
    pub advisories: Vec<String>,
    /// Confidence level 1 (best) … 5.
    pub confidence_level: u8,
    /// Block of the first registration.
    pub registered_at: BlockNumber,
    /// Block of the last (re-)registration.
    pub last_attested_block: BlockNumber,
    /// Chain time of the last attestation (`info.attested_at_ms`).
    pub last_attested_at_ms: u64,
}

/// A worker's TCB requirements for one role.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct TcbPolicy {
    /// Highest confidence level accepted (1 = only UpToDate … 5 = any
    /// non-revoked status).
    pub max_confidence_level: u8,
    /// Advisory ids that disqualify a platform.
    pub denied_advisories: Vec<String>,
}

impl TcbPolicy {
    /// Default for workers: any non-revoked platform.
    pub fn default_worker() -> Self {
        Self { max_confidence_level: 5, denied_advisories: Vec::new() }
    }

    /// Default for gatekeepers: up to date or software hardening needed.
    pub fn default_gatekeeper() -> Self {
        Self { max_confidence_level: 2, denied_advisories: Vec::new() }
    }

    fn validate(&self) -> Result<(), Error> {
        let bounded = self.denied_advisories.len() <= MAX_DENIED_ADVISORIES
            && self.denied_advisories.iter().all(|a| !a.is_empty() && a.len() <= umbra_attestation::MAX_ADVISORY_LEN);
        if (1..=5).contains(&self.max_confidence_level) && bounded {
            Ok(())
        } else {
            Err(Error::InvalidTcbPolicy)
        }
    }
}

/// Which evidence the chain accepts.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct AttestationConfig {
    /// Accepted platforms.
    pub platforms: Vec<PlatformKind>,
    /// ed25519 keys of simulated attestation services (dev chains only).
    pub sim_keys: Vec<[u8; 32]>,
    /// Evidence older than this (block time, ms) is refused.
    pub max_attestation_age_ms: u64,
    /// Workers must re-attest within this period to stay schedulable.
    pub reattestation_period_ms: u64,
}

impl AttestationConfig {
    /// The production default: Intel DCAP (SGX and TDX) only, 2 h maximum
    /// age, re-attestation every 7 days.
    pub fn production() -> Self {
        Self {
            platforms: alloc::vec![PlatformKind::SgxDcap, PlatformKind::TdxDcap],
            sim_keys: Vec::new(),
            max_attestation_age_ms: 2 * 60 * 60 * 1000,
            reattestation_period_ms: 7 * 24 * 60 * 60 * 1000,
        }
    }

    /// Whether the simulated TEE is accepted (its platform or a key of a
    /// simulated attestation service).
    pub fn mentions_simulation(&self) -> bool {
        self.platforms.contains(&PlatformKind::Sim) || !self.sim_keys.is_empty()
    }

    /// Checks bounds; platforms and keys must be unique.
    pub fn validate(&self) -> Result<(), Error> {
        let mut platforms = self.platforms.clone();
        platforms.sort();
        platforms.dedup();
        let mut keys = self.sim_keys.clone();
        keys.sort();
        keys.dedup();
        let ok = platforms.len() == self.platforms.len()
            && self.platforms.len() <= MAX_PLATFORMS
            && keys.len() == self.sim_keys.len()
            && self.sim_keys.len() <= MAX_SIM_KEYS
            && (60_000..=30 * 24 * 60 * 60 * 1000).contains(&self.max_attestation_age_ms)
            && self.reattestation_period_ms >= self.max_attestation_age_ms;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidAttestationConfig)
        }
    }
}

/// What a worker signs to publish its endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct EndpointPayload {
    /// The worker.
    pub identity: sr25519::Public,
    /// Its public query URL (printable ASCII, at most 256 bytes).
    pub endpoint: Vec<u8>,
    /// When it signed (ms since the epoch).
    pub signed_at_ms: u64,
}

impl EndpointPayload {
    /// The bytes the identity key signs on the chain with `genesis_hash`.
    pub fn signing_message(&self, genesis_hash: &H256) -> Vec<u8> {
        let mut message = ENDPOINT_CONTEXT.to_vec();
        message.extend_from_slice(genesis_hash.as_bytes());
        self.encode_to(&mut message);
        message
    }
}

/// A published endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct EndpointRecord {
    /// The URL.
    pub endpoint: Vec<u8>,
    /// When the worker signed it.
    pub signed_at_ms: u64,
}

/// A worker's liveness report (`^umbra/registry/heartbeat` payload).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Heartbeat {
    /// The finalized block pRuntime had processed when it emitted this.
    pub synced_block: BlockNumber,
}

/// What the Registry tells workers (`umbra/registry/worker` payload).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Notice {
    /// A worker registered or re-attested.
    #[codec(index = 0)]
    Registered {
        /// Its identity.
        identity: sr25519::Public,
        /// Its role.
        role: WorkerRole,
    },
}

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

/// Events.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Event {
    /// A worker registered for the first time.
    #[codec(index = 0)]
    WorkerRegistered {
        /// Its identity.
        identity: sr25519::Public,
        /// Its role.
        role: WorkerRole,
        /// Its platform.
        platform: PlatformKind,
        /// Its measurement.
        measurement: Measurement,
        /// Its confidence level.
        confidence_level: u8,
    },
    /// A registered worker re-attested.
    #[codec(index = 1)]
    WorkerReattested {
        /// Its identity.
        identity: sr25519::Public,
        /// Its measurement now.
        measurement: Measurement,
        /// Its confidence level now.
        confidence_level: u8,
    },
    /// A worker published its endpoint.
    #[codec(index = 2)]
    EndpointUpdated {
        /// The worker.
        identity: sr25519::Public,
        /// The URL.
        endpoint: Vec<u8>,
    },
    /// A measurement was allowed.
    #[codec(index = 3)]
    MeasurementAdded {
        /// The measurement.
        measurement: Measurement,
    },
    /// A measurement was removed from the allowlist.
    #[codec(index = 4)]
    MeasurementRemoved {
        /// The measurement.
        measurement: Measurement,
    },
    /// A role's TCB policy changed.
    #[codec(index = 5)]
    TcbPolicySet {
        /// The role.
        role: WorkerRole,
        /// The policy.
        policy: TcbPolicy,
    },
    /// The attestation configuration changed.
    #[codec(index = 6)]
    AttestationConfigSet {
        /// The configuration.
        config: AttestationConfig,
    },
    /// A worker reported it is alive (MessageQueue heartbeat).
    #[codec(index = 7)]
    WorkerHeartbeat {
        /// The worker.
        identity: sr25519::Public,
        /// The finalized block it had processed.
        synced_block: BlockNumber,
    },
}

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

fn check_measurement(measurement: &Measurement) -> Result<(), Error> {
    let len = measurement.as_bytes().len();
    if len == 0 || len > umbra_attestation::MAX_MEASUREMENT_LEN {
        Err(Error::InvalidMeasurement)
    } else {
        Ok(())
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

/// The genesis hash: `System.BlockHash(0)`, kept forever.
fn genesis_hash(ext: &Ext<'_>) -> Option<H256> {
    system::block_hash(ext, 0)
}

/// Checks a dated message against the block time.
fn check_freshness(at_ms: u64, now_ms: u64, max_age_ms: u64) -> Result<(), Error> {
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

fn register_worker(
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

/// `^umbra/registry/heartbeat` (origin checked by the router): records the
/// heartbeat of the worker that signed it.
pub fn handle_heartbeat(ext: &mut Ext<'_>, sender: &message_queue::MessageOrigin, payload: &[u8]) -> DispatchResult {
    let message_queue::MessageOrigin::Worker(identity) = sender else {
        return Err(message_queue::Error::OriginNotAllowed.into());
    };
    let heartbeat = umbra_primitives::decode_bounded::<Heartbeat>(payload, message_queue::MAX_PAYLOAD_LEN)
        .map_err(|_| message_queue::Error::BadPayload)?;
    record_heartbeat(ext, identity, heartbeat.synced_block)
}

/// Records a worker's heartbeat: the worker must be
/// registered, and `synced_block` must be below the current block and not
/// older than its last heartbeat.
pub fn record_heartbeat(ext: &mut Ext<'_>, identity: &sr25519::Public, synced_block: BlockNumber) -> DispatchResult {
    if worker(ext, identity).is_none() {
        return Err(Error::WorkerNotRegistered.into());
    }
    let key = keys::last_heartbeat(identity);
    let previous = ext.get::<(BlockNumber, BlockNumber)>(&key).map(|(_, synced)| synced);
    if synced_block >= ext.env.number || previous.is_some_and(|p| synced_block < p) {
        return Err(Error::InvalidHeartbeat.into());
    }
    ext.put(key, &(ext.env.number, synced_block));
    ext.deposit_event(Event::WorkerHeartbeat { identity: *identity, synced_block });
    Ok(())
}

/// A worker's last heartbeat: (block it landed in, block it had synced).
pub fn last_heartbeat(ext: &Ext<'_>, identity: &sr25519::Public) -> Option<(BlockNumber, BlockNumber)> {
    ext.get(&keys::last_heartbeat(identity))
}

fn update_endpoint(ext: &mut Ext<'_>, payload: EndpointPayload, signature: &[u8; 64]) -> DispatchResult {
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

//! The module's encoded types (stable indices): roles, registration info, worker records, TCB policies, the attestation config, endpoints, heartbeats, notices.

use super::*;

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

    pub(super) fn validate(&self) -> Result<(), Error> {
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

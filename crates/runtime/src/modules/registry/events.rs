//! Events.

use super::*;

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

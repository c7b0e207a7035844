//! The one table of domain-separation labels.
//!
//! Every use of a KDF or an envelope names its label from this table. Labels
//! are versioned (`/v1`) and never change meaning; a new meaning gets a new
//! label and a new index. Builds running on the simulated TEE use the same
//! label with `-insecure` appended ([`Domain::Insecure`]), so a key derived on
//! a dev machine can never equal the key a real TEE derives from the same
//! secret.

/// Whether keys are derived for a real TEE or the simulated one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Domain {
    /// Production: real TEE hardware.
    Production,
    /// The simulated TEE: labels carry an `-insecure` suffix.
    Insecure,
}

/// A domain-separation label. The discriminants are stable indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Label {
    /// Envelope v1 key derivation and associated data.
    Envelope = 0,
    /// Replies to an envelope (query responses), keyed from the same shared secret.
    EnvelopeResponse = 1,
    /// Gatekeeper sr25519 signing key from the master secret of an epoch.
    GatekeeperSigning = 2,
    /// Cluster key from the master secret (info = cluster id).
    Cluster = 3,
    /// Cluster sr25519 signing key from the cluster key.
    ClusterSigning = 4,
    /// Contract key from the cluster key (info = contract id).
    Contract = 5,
    /// Contract X25519 key from the contract key.
    ContractEcdh = 6,
    /// Contract sr25519 signing key from the contract key.
    ContractSigning = 7,
    /// Contract state encryption key from the contract key.
    ContractState = 8,
    /// Application secrets exposed to a contract (info = salt).
    App = 9,
    /// Randomness beacon key from the master secret.
    Random = 10,
    /// Sealing key of pRuntime checkpoints.
    Checkpoint = 11,
    /// TEE sealing keys from the platform's sealing secret (info =
    /// measurement ‖ purpose).
    TeeSealing = 12,
    /// Cluster X25519 key from the cluster key (constructor envelopes).
    ClusterEcdh = 13,
    /// Per-command contract randomness from the contract key (info = call id).
    ContractRandom = 14,
}

impl Label {
    /// Every label, in index order.
    pub const ALL: [Label; 15] = [
        Label::Envelope,
        Label::EnvelopeResponse,
        Label::GatekeeperSigning,
        Label::Cluster,
        Label::ClusterSigning,
        Label::Contract,
        Label::ContractEcdh,
        Label::ContractSigning,
        Label::ContractState,
        Label::App,
        Label::Random,
        Label::Checkpoint,
        Label::TeeSealing,
        Label::ClusterEcdh,
        Label::ContractRandom,
    ];

    /// The label's bytes in `domain`.
    pub const fn bytes(self, domain: Domain) -> &'static [u8] {
        let (production, insecure) = self.pair();
        match domain {
            Domain::Production => production.as_bytes(),
            Domain::Insecure => insecure.as_bytes(),
        }
    }

    /// The label bound to a domain, as envelopes and the KDF take it.
    pub const fn in_domain(self, domain: Domain) -> DomainLabel {
        DomainLabel { label: self, domain }
    }

    const fn pair(self) -> (&'static str, &'static str) {
        match self {
            Label::Envelope => ("umbra/envelope/v1", "umbra/envelope/v1-insecure"),
            Label::EnvelopeResponse => ("umbra/envelope-response/v1", "umbra/envelope-response/v1-insecure"),
            Label::GatekeeperSigning => ("umbra/kdf/v1/gk-signing", "umbra/kdf/v1/gk-signing-insecure"),
            Label::Cluster => ("umbra/kdf/v1/cluster", "umbra/kdf/v1/cluster-insecure"),
            Label::ClusterSigning => ("umbra/kdf/v1/cluster-signing", "umbra/kdf/v1/cluster-signing-insecure"),
            Label::Contract => ("umbra/kdf/v1/contract", "umbra/kdf/v1/contract-insecure"),
            Label::ContractEcdh => ("umbra/kdf/v1/contract-ecdh", "umbra/kdf/v1/contract-ecdh-insecure"),
            Label::ContractSigning => ("umbra/kdf/v1/contract-signing", "umbra/kdf/v1/contract-signing-insecure"),
            Label::ContractState => ("umbra/kdf/v1/contract-state", "umbra/kdf/v1/contract-state-insecure"),
            Label::App => ("umbra/kdf/v1/app", "umbra/kdf/v1/app-insecure"),
            Label::Random => ("umbra/kdf/v1/random", "umbra/kdf/v1/random-insecure"),
            Label::Checkpoint => ("umbra/kdf/v1/checkpoint", "umbra/kdf/v1/checkpoint-insecure"),
            Label::TeeSealing => ("umbra/kdf/v1/tee-sealing", "umbra/kdf/v1/tee-sealing-insecure"),
            Label::ClusterEcdh => ("umbra/kdf/v1/cluster-ecdh", "umbra/kdf/v1/cluster-ecdh-insecure"),
            Label::ContractRandom => ("umbra/kdf/v1/contract-random", "umbra/kdf/v1/contract-random-insecure"),
        }
    }
}

/// A label in a domain: what key derivations and envelopes are keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DomainLabel {
    /// The label.
    pub label: Label,
    /// The domain.
    pub domain: Domain,
}

impl DomainLabel {
    /// The label's bytes.
    pub const fn bytes(self) -> &'static [u8] {
        self.label.bytes(self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{collections::BTreeSet, format};

    #[test]
    fn table_is_consistent() {
        let mut seen = BTreeSet::new();
        for (i, label) in Label::ALL.iter().enumerate() {
            assert_eq!(*label as usize, i, "indices are stable and dense");
            let prod = core::str::from_utf8(label.bytes(Domain::Production)).unwrap();
            let insecure = core::str::from_utf8(label.bytes(Domain::Insecure)).unwrap();
            assert!(prod.starts_with("umbra/") && prod.contains("v1"));
            assert_eq!(insecure, format!("{prod}-insecure"));
            assert!(seen.insert(prod) && seen.insert(insecure), "labels are unique");
        }
    }
}

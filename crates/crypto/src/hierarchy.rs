//! The key hierarchy of `04-keys.md`: everything below a gatekeeper epoch's
//! master secret, derived with HKDF-SHA256 under the label table.
//!
//! ```text
//! master secret (epoch e)
//!   ├─ gatekeeper signing   sr25519 ← HKDF(master, gk-signing)
//!   ├─ cluster key c        HKDF(master, cluster, cluster_id)
//!   │    ├─ cluster signing sr25519 ← HKDF(c, cluster-signing)
//!   │    └─ contract key k  HKDF(c, contract, contract_id)
//!   │         ├─ ECDH       X25519 ← HKDF(k, contract-ecdh)
//!   │         ├─ signing    sr25519 ← HKDF(k, contract-signing)
//!   │         ├─ state key  HKDF(k, contract-state)
//!   │         └─ app secret HKDF(k, app, salt)
//!   └─ randomness           HKDF(master, random, purpose ‖ counter)
//! ```
//!
//! Every derivation takes the [`Domain`]: a simulated TEE derives under the
//! `-insecure` labels, so the same master secret gives different keys there.
//! Secret types have no `Debug` and are zeroized on drop.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zeroize::Zeroizing;

use crate::{
    kdf,
    labels::{Domain, Label},
    sr25519, x25519,
};

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(Zeroizing<[u8; 32]>);

        impl $name {
            /// From raw bytes (sealed storage, a decrypted envelope).
            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(Zeroizing::new(bytes))
            }

            /// The raw secret, for sealing or transport inside an envelope.
            pub fn expose(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl Clone for $name {
            fn clone(&self) -> Self {
                Self(Zeroizing::new(*self.0))
            }
        }
    };
}

secret_type!(
    /// A gatekeeper epoch's master secret.
    MasterSecret
);
secret_type!(
    /// A cluster's key.
    ClusterKey
);
secret_type!(
    /// A contract's key.
    ContractKey
);

fn sr25519_from(seed: &Zeroizing<[u8; 32]>) -> sr25519::Pair {
    sr25519::Pair::from_seed(seed)
}

impl MasterSecret {
    /// The gatekeeper signing key of this epoch (signs the `Gatekeeper`
    /// channel; its public key is published on chain).
    pub fn gatekeeper_signing(&self, domain: Domain) -> sr25519::Pair {
        sr25519_from(&kdf::derive(Label::GatekeeperSigning.in_domain(domain), self.expose(), b""))
    }

    /// The key of cluster `cluster_id`.
    pub fn cluster_key(&self, domain: Domain, cluster_id: &[u8; 32]) -> ClusterKey {
        ClusterKey(kdf::derive(Label::Cluster.in_domain(domain), self.expose(), cluster_id))
    }

    /// A deterministic random stream for `purpose` and `counter`: every
    /// gatekeeper holding this secret draws the same bytes (so all emit
    /// byte-identical messages), and no two (purpose, counter) pairs share
    /// a stream.
    pub fn rng(&self, domain: Domain, purpose: &[u8], counter: u64) -> ChaCha20Rng {
        let seed =
            kdf::derive_with_infos(Label::Random.in_domain(domain), self.expose(), &[purpose, &counter.to_le_bytes()]);
        ChaCha20Rng::from_seed(*seed)
    }
}

impl ClusterKey {
    /// The cluster's signing key.
    pub fn signing(&self, domain: Domain) -> sr25519::Pair {
        sr25519_from(&kdf::derive(Label::ClusterSigning.in_domain(domain), self.expose(), b""))
    }

    /// The cluster's X25519 key: constructor arguments are sealed to it
    /// (the contract's own key is published only after instantiation).
    pub fn ecdh(&self, domain: Domain) -> x25519::Secret {
        x25519::Secret::from_bytes(*kdf::derive(Label::ClusterEcdh.in_domain(domain), self.expose(), b""))
    }

    /// A deterministic random stream for `purpose` and `counter` (identical
    /// on every replica holding the cluster key).
    pub fn rng(&self, domain: Domain, purpose: &[u8], counter: u64) -> ChaCha20Rng {
        let seed =
            kdf::derive_with_infos(Label::Random.in_domain(domain), self.expose(), &[purpose, &counter.to_le_bytes()]);
        ChaCha20Rng::from_seed(*seed)
    }

    /// The key of contract `contract_id` in this cluster.
    pub fn contract_key(&self, domain: Domain, contract_id: &[u8; 32]) -> ContractKey {
        ContractKey(kdf::derive(Label::Contract.in_domain(domain), self.expose(), contract_id))
    }
}

impl ContractKey {
    /// The contract's X25519 key (users encrypt commands to it).
    pub fn ecdh(&self, domain: Domain) -> x25519::Secret {
        x25519::Secret::from_bytes(*kdf::derive(Label::ContractEcdh.in_domain(domain), self.expose(), b""))
    }

    /// The contract's signing key.
    pub fn signing(&self, domain: Domain) -> sr25519::Pair {
        sr25519_from(&kdf::derive(Label::ContractSigning.in_domain(domain), self.expose(), b""))
    }

    /// The key encrypting the contract's state.
    pub fn state_key(&self, domain: Domain) -> Zeroizing<[u8; 32]> {
        kdf::derive(Label::ContractState.in_domain(domain), self.expose(), b"")
    }

    /// The seed of a command's randomness: unpredictable without the
    /// contract key, identical on every replica.
    pub fn command_seed(&self, domain: Domain, call_id: u64) -> Zeroizing<[u8; 32]> {
        kdf::derive(Label::ContractRandom.in_domain(domain), self.expose(), &call_id.to_le_bytes())
    }

    /// An application secret for `salt` (exposed to the contract).
    pub fn app_secret(&self, domain: Domain, salt: &[u8]) -> Zeroizing<[u8; 32]> {
        kdf::derive(Label::App.in_domain(domain), self.expose(), salt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_ids_separate_every_key() {
        let master = MasterSecret::from_bytes([7; 32]);
        let (p, i) = (Domain::Production, Domain::Insecure);
        assert_ne!(master.gatekeeper_signing(p).public(), master.gatekeeper_signing(i).public());
        let c1 = master.cluster_key(p, &[1; 32]);
        assert_ne!(c1.expose(), master.cluster_key(p, &[2; 32]).expose());
        assert_ne!(c1.expose(), master.cluster_key(i, &[1; 32]).expose());
        let k = c1.contract_key(p, &[3; 32]);
        assert_ne!(k.ecdh(p).public(), k.ecdh(i).public());
        assert_ne!(k.signing(p).public(), c1.signing(p).public());
        assert_ne!(*k.state_key(p), *k.app_secret(p, b""));
        // Deterministic: the same secret gives the same keys.
        let again = MasterSecret::from_bytes([7; 32]);
        assert_eq!(again.cluster_key(p, &[1; 32]).signing(p).public(), c1.signing(p).public());
        use rand_core::RngCore;
        assert_eq!(master.rng(p, b"x", 1).next_u64(), again.rng(p, b"x", 1).next_u64());
        assert_ne!(master.rng(p, b"x", 1).next_u64(), master.rng(p, b"x", 2).next_u64());
    }
}

//! Chain specifications: the JSON file that defines a chain's genesis.
//!
//! Two forms, as in Substrate: a readable one (`genesis.runtime`: balances,
//! authorities, sudo key, slot duration, randomness seed) and a raw one
//! (`genesis.raw.top`: the genesis storage as hex key/value pairs), produced
//! by `build-spec --raw`. Both load; the raw form is what a network agrees
//! on, since it pins every storage byte.
//!
//! The `attestation` section says which TEE evidence the chain accepts; the
//! built-in `dev` and `local` specs accept the simulated TEE signed by the
//! dev simulated attestation service key, a spec without the section gets
//! the production default (Intel DCAP only).
//!
//! The built-in `dev` and `local` specs carry the seed's token distribution
//! of 1,000,000,000 UMB: 5% team, 15% sale, 1% testnet rewards, 9% airdrop,
//! 70% the mining subsidy pool (the treasury's mining pool account), plus
//! 1,000,000 UMB for each dev account `//Alice` … `//Ferdie` and each
//! `//Alice//stash` … `//Ferdie//stash` on top.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use umbra_attestation::{Measurement, PlatformKind};
use umbra_crypto::{ed25519, sr25519, suri::SecretUri};
use umbra_primitives::{header::Digest, header::Header, AccountId32, Balance, H256};
use umbra_runtime::{
    genesis::{self, GenesisConfig},
    module_account,
    modules::{balances::UMB, registry},
    STATE_VERSION,
};

use crate::Error;

/// Genesis storage: key → value.
pub type GenesisStorage = BTreeMap<Vec<u8>, Vec<u8>>;

/// Largest chain spec file accepted.
pub const MAX_SPEC_BYTES: u64 = 64 << 20;

/// Total supply of the seed distribution.
pub const TOTAL_SUPPLY: Balance = 1_000_000_000 * UMB;

/// Share of the supply in percent for each distribution account.
pub const DISTRIBUTION: [(&str, [u8; 8], Balance); 5] = [
    ("team", *b"umb/team", 5),
    ("sale", *b"umb/sale", 15),
    ("testnet rewards", *b"umb/test", 1),
    ("airdrop", *b"umb/drop", 9),
    ("mining subsidy pool", *b"umb/mine", 70),
];

/// Endowment of each dev account.
pub const DEV_ENDOWMENT: Balance = 1_000_000 * UMB;

/// A chain spec.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChainSpec {
    /// Human name (`system_chain`).
    pub name: String,
    /// Short id (data directory name).
    pub id: String,
    /// `Development`, `Local`, `Live`.
    pub chain_type: String,
    /// Boot nodes (multiaddresses).
    #[serde(default)]
    pub boot_nodes: Vec<String>,
    /// Network protocol id.
    #[serde(default)]
    pub protocol_id: Option<String>,
    /// `system_properties`.
    #[serde(default)]
    pub properties: Value,
    /// Genesis, readable or raw.
    pub genesis: Genesis,
}

/// The genesis section. One per process: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Genesis {
    /// Readable configuration.
    Runtime(RuntimeGenesis),
    /// Raw storage.
    Raw(RawGenesis),
}

/// Raw genesis storage.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawGenesis {
    /// `0x` key → `0x` value.
    pub top: BTreeMap<String, String>,
    /// Child tries (unused; must be empty).
    #[serde(default)]
    pub children_default: BTreeMap<String, Value>,
}

/// Readable genesis configuration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeGenesis {
    /// `[account, amount]` pairs; amounts are decimal strings of units (10^-12 UMB).
    pub balances: Vec<(String, String)>,
    /// Aura authorities (SS58 of sr25519 keys).
    pub aura_authorities: Vec<String>,
    /// GRANDPA authorities (SS58 of ed25519 keys) and weights.
    pub grandpa_authorities: Vec<(String, u64)>,
    /// Sudo key (SS58); absent on production chains.
    #[serde(default)]
    pub sudo_key: Option<String>,
    /// Slot duration in milliseconds.
    pub slot_duration_ms: u64,
    /// Seed of the first randomness epoch (`0x` + 64 hex digits).
    pub randomness_seed: String,
    /// Which TEE evidence the chain accepts. Absent: the production
    /// default (Intel DCAP only, no simulated TEE, empty allowlist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationSpec>,
    /// The first gatekeeper's pRuntime identity (`0x` + 64 hex digits), if
    /// known at genesis; otherwise root appoints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_gatekeeper: Option<String>,
}

/// The chain spec's TEE attestation section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttestationSpec {
    /// Accepted platforms: `sim`, `sgx-dcap`, `sgx-ias`, `tdx-dcap`.
    pub platforms: Vec<String>,
    /// Simulated attestation service keys (`0x` + ed25519 public key hex).
    #[serde(default)]
    pub sim_keys: Vec<String>,
    /// Maximum evidence age in seconds of block time.
    pub max_attestation_age_secs: u64,
    /// Re-attestation period in seconds.
    pub reattestation_period_secs: u64,
    /// Initially allowed measurements (`0x` hex).
    #[serde(default)]
    pub allowed_measurements: Vec<String>,
    /// Highest confidence level (1–5) accepted for workers.
    pub worker_max_confidence_level: u8,
    /// Highest confidence level (1–5) accepted for gatekeepers.
    pub gatekeeper_max_confidence_level: u8,
    /// Advisory ids that disqualify workers.
    #[serde(default)]
    pub worker_denied_advisories: Vec<String>,
    /// Advisory ids that disqualify gatekeepers.
    #[serde(default)]
    pub gatekeeper_denied_advisories: Vec<String>,
}

impl AttestationSpec {
    /// The spec section describing `config`.
    pub fn from_config(config: &registry::GenesisConfig) -> Self {
        Self {
            platforms: config.attestation.platforms.iter().map(|p| p.name().to_string()).collect(),
            sim_keys: config.attestation.sim_keys.iter().map(|k| format!("0x{}", hex::encode(k))).collect(),
            max_attestation_age_secs: config.attestation.max_attestation_age_ms / 1000,
            reattestation_period_secs: config.attestation.reattestation_period_ms / 1000,
            allowed_measurements: config
                .allowed_measurements
                .iter()
                .map(|m| format!("0x{}", hex::encode(m.as_bytes())))
                .collect(),
            worker_max_confidence_level: config.worker_policy.max_confidence_level,
            gatekeeper_max_confidence_level: config.gatekeeper_policy.max_confidence_level,
            worker_denied_advisories: config.worker_policy.denied_advisories.clone(),
            gatekeeper_denied_advisories: config.gatekeeper_policy.denied_advisories.clone(),
        }
    }

    /// The runtime's registry genesis configuration.
    pub fn to_config(&self) -> Result<registry::GenesisConfig, Error> {
        let hex_bytes = |s: &str, what: &str| {
            s.strip_prefix("0x")
                .and_then(|h| hex::decode(h).ok())
                .ok_or_else(|| Error::ChainSpec(format!("attestation {what} `{s}` is not 0x-hex")))
        };
        let platforms = self
            .platforms
            .iter()
            .map(|name| {
                PlatformKind::from_name(name).ok_or_else(|| {
                    Error::ChainSpec(format!("attestation platform `{name}` is not sim, sgx-dcap, sgx-ias or tdx-dcap"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sim_keys = self
            .sim_keys
            .iter()
            .map(|k| {
                hex_bytes(k, "sim key")?
                    .try_into()
                    .map_err(|_| Error::ChainSpec(format!("attestation sim key `{k}` is not 32 bytes")))
            })
            .collect::<Result<Vec<[u8; 32]>, _>>()?;
        let allowed_measurements = self
            .allowed_measurements
            .iter()
            .map(|m| hex_bytes(m, "measurement").map(Measurement))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(registry::GenesisConfig {
            // Decided by the chain type (see `ChainSpec::genesis_storage`).
            allow_simulation: false,
            attestation: registry::AttestationConfig {
                platforms,
                sim_keys,
                max_attestation_age_ms: self.max_attestation_age_secs.saturating_mul(1000),
                reattestation_period_ms: self.reattestation_period_secs.saturating_mul(1000),
            },
            allowed_measurements,
            worker_policy: registry::TcbPolicy {
                max_confidence_level: self.worker_max_confidence_level,
                denied_advisories: self.worker_denied_advisories.clone(),
            },
            gatekeeper_policy: registry::TcbPolicy {
                max_confidence_level: self.gatekeeper_max_confidence_level,
                denied_advisories: self.gatekeeper_denied_advisories.clone(),
            },
        })
    }
}

fn dev_public(name: &str) -> (sr25519::Public, ed25519::Public) {
    // Dev URIs are constants; parsing and derivation cannot fail for them.
    let uri = SecretUri::parse(&format!("//{name}")).expect("dev URI is valid");
    (
        sr25519::Pair::from_suri(&uri).expect("dev sr25519 key derives").public(),
        ed25519::Pair::from_suri(&uri).expect("dev ed25519 key derives").public(),
    )
}

fn ss58(bytes: &[u8; 32]) -> String {
    AccountId32(*bytes).to_ss58(42)
}

const DEV_NAMES: [&str; 6] = ["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"];

fn distribution_and_dev() -> Vec<(String, String)> {
    let mut balances: Vec<(String, String)> = DISTRIBUTION
        .iter()
        .map(|(_, id, percent)| (ss58(&module_account(id).0), (TOTAL_SUPPLY / 100 * percent).to_string()))
        .collect();
    for name in DEV_NAMES {
        balances.push((ss58(&dev_public(name).0 .0), DEV_ENDOWMENT.to_string()));
    }
    // As in Substrate's dev chains, each `//Name//stash` too (devnet
    // relayers of workers beyond the second sign with them).
    for name in DEV_NAMES {
        balances.push((ss58(&dev_public(&format!("{name}//stash")).0 .0), DEV_ENDOWMENT.to_string()));
    }
    balances
}

fn properties() -> Value {
    serde_json::json!({ "ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "UMB" })
}

/// The `dev` chain: Alice authors, votes and is sudo; 1-second slots.
pub fn dev() -> ChainSpec {
    let (alice_sr, alice_ed) = dev_public("Alice");
    ChainSpec {
        name: "Development".into(),
        id: "dev".into(),
        chain_type: "Development".into(),
        boot_nodes: vec![],
        protocol_id: Some("umbra".into()),
        properties: properties(),
        genesis: Genesis::Runtime(RuntimeGenesis {
            balances: distribution_and_dev(),
            aura_authorities: vec![ss58(&alice_sr.0)],
            grandpa_authorities: vec![(ss58(&alice_ed.0), 1)],
            sudo_key: Some(ss58(&alice_sr.0)),
            slot_duration_ms: 1000,
            randomness_seed: format!("0x{}", hex::encode(umbra_primitives::blake2_256(b"umbra dev").as_bytes())),
            attestation: Some(AttestationSpec::from_config(&registry::GenesisConfig::development())),
            first_gatekeeper: None,
        }),
    }
}

/// The dev accounts that validate a `local` testnet, in order.
pub const VALIDATOR_NAMES: [&str; 7] = ["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie", "One"];

/// The `local` testnet: Alice and Bob author and vote; 2-second slots.
pub fn local() -> ChainSpec {
    local_with(2)
}

/// A local testnet of `validators` (1–7) dev validators (Alice, Bob,
/// Charlie, Dave, Eve, Ferdie, One), each with GRANDPA weight 1; 2-second
/// slots. Two is the `local` chain; others are `local-<n>` (id
/// `local_testnet_<n>`).
pub fn local_with(validators: usize) -> ChainSpec {
    let validators = validators.clamp(1, VALIDATOR_NAMES.len());
    let keys: Vec<_> = VALIDATOR_NAMES[..validators].iter().map(|n| dev_public(n)).collect();
    let (alice_sr, _) = dev_public("Alice");
    let (name, id) = if validators == 2 {
        ("Local Testnet".to_string(), "local_testnet".to_string())
    } else {
        (format!("Local Testnet ({validators} validators)"), format!("local_testnet_{validators}"))
    };
    ChainSpec {
        name,
        id,
        chain_type: "Local".into(),
        boot_nodes: vec![],
        protocol_id: Some("umbra".into()),
        properties: properties(),
        genesis: Genesis::Runtime(RuntimeGenesis {
            balances: distribution_and_dev(),
            aura_authorities: keys.iter().map(|(sr, _)| ss58(&sr.0)).collect(),
            grandpa_authorities: keys.iter().map(|(_, ed)| (ss58(&ed.0), 1)).collect(),
            sudo_key: Some(ss58(&alice_sr.0)),
            slot_duration_ms: 2000,
            randomness_seed: format!("0x{}", hex::encode(umbra_primitives::blake2_256(b"umbra local").as_bytes())),
            attestation: Some(AttestationSpec::from_config(&registry::GenesisConfig::development())),
            first_gatekeeper: None,
        }),
    }
}

/// `n` for a chain named `local-<n>` with 1 ≤ n ≤ 7.
fn local_size(chain: &str) -> Option<usize> {
    chain.strip_prefix("local-")?.parse().ok().filter(|n| (1..=VALIDATOR_NAMES.len()).contains(n))
}

fn parse_account(s: &str, what: &str) -> Result<[u8; 32], Error> {
    AccountId32::parse(s).map(|a| a.0).map_err(|e| Error::ChainSpec(format!("{what} `{s}`: {e}")))
}

impl RuntimeGenesis {
    /// The runtime's genesis configuration.
    pub fn to_config(&self) -> Result<GenesisConfig, Error> {
        let mut balances = Vec::with_capacity(self.balances.len());
        for (account, amount) in &self.balances {
            let amount: Balance = amount
                .parse()
                .map_err(|_| Error::ChainSpec(format!("balance of {account} is not a decimal amount: `{amount}`")))?;
            balances.push((AccountId32(parse_account(account, "balance account")?), amount));
        }
        let seed = self.randomness_seed.strip_prefix("0x").and_then(|h| hex::decode(h).ok()).filter(|b| b.len() == 32);
        let seed =
            seed.ok_or_else(|| Error::ChainSpec("randomnessSeed must be 0x followed by 64 hex digits".into()))?;
        Ok(GenesisConfig {
            balances,
            aura_authorities: self
                .aura_authorities
                .iter()
                .map(|a| parse_account(a, "aura authority").map(sr25519::Public))
                .collect::<Result<_, _>>()?,
            grandpa_authorities: self
                .grandpa_authorities
                .iter()
                .map(|(a, w)| {
                    let key = parse_account(a, "grandpa authority")?;
                    ed25519::public_from_bytes(&key)
                        .map_err(|e| Error::ChainSpec(format!("grandpa authority `{a}`: {e}")))?;
                    Ok((ed25519::Public(key), *w))
                })
                .collect::<Result<_, Error>>()?,
            sudo_key: self.sudo_key.as_deref().map(|k| parse_account(k, "sudo key").map(AccountId32)).transpose()?,
            slot_duration_ms: self.slot_duration_ms,
            randomness_seed: H256::from_slice(&seed),
            registry: match &self.attestation {
                Some(spec) => spec.to_config()?,
                None => registry::GenesisConfig::default(),
            },
            gatekeeper: umbra_runtime::modules::gatekeeper::GenesisConfig {
                first_gatekeeper: self
                    .first_gatekeeper
                    .as_deref()
                    .map(|k| {
                        let bytes = hex::decode(k.trim_start_matches("0x"))
                            .ok()
                            .and_then(|b| <[u8; 32]>::try_from(b).ok())
                            .ok_or_else(|| {
                                Error::ChainSpec(format!("first gatekeeper `{k}`: expected 0x + 64 hex digits"))
                            })?;
                        Ok::<_, Error>(umbra_crypto::sr25519::Public(bytes))
                    })
                    .transpose()?,
            },
        })
    }
}

impl ChainSpec {
    /// A built-in spec (`dev`, `local`) or a JSON file.
    pub fn load(chain: &str) -> Result<Self, Error> {
        match chain {
            "dev" => Ok(dev()),
            "local" => Ok(local()),
            path if local_size(path).is_some() => Ok(local_with(local_size(path).unwrap_or(2))),
            path => {
                let file =
                    std::fs::File::open(path).map_err(|e| Error::ChainSpec(format!("cannot open `{path}`: {e}")))?;
                let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                if len > MAX_SPEC_BYTES {
                    return Err(Error::ChainSpec(format!("`{path}` is larger than {MAX_SPEC_BYTES} bytes")));
                }
                let spec: ChainSpec = serde_json::from_reader(std::io::BufReader::new(file))
                    .map_err(|e| Error::ChainSpec(format!("`{path}` is not a valid chain spec: {e}")))?;
                spec.genesis_storage()?;
                Ok(spec)
            }
        }
    }

    /// The genesis storage.
    pub fn genesis_storage(&self) -> Result<GenesisStorage, Error> {
        // The simulated TEE belongs to development and local chains only:
        // a `Live` chain can never accept it, whatever its spec says.
        let live = self.chain_type == "Live";
        match &self.genesis {
            Genesis::Runtime(g) => {
                let mut config = g.to_config()?;
                config.registry.allow_simulation = !live;
                if live && config.registry.attestation.mentions_simulation() {
                    return Err(Error::ChainSpec(
                        "a Live chain cannot accept the simulated TEE (attestation lists sim)".into(),
                    ));
                }
                genesis::build(&config).map_err(|e| Error::ChainSpec(e.to_string()))
            }
            Genesis::Raw(raw) => {
                if !raw.children_default.is_empty() {
                    return Err(Error::ChainSpec("child tries are not supported".into()));
                }
                let hex_of = |s: &str, what: &str| {
                    s.strip_prefix("0x")
                        .and_then(|h| hex::decode(h).ok())
                        .ok_or_else(|| Error::ChainSpec(format!("raw genesis {what} `{s}` is not 0x-hex")))
                };
                let storage: GenesisStorage = raw
                    .top
                    .iter()
                    .map(|(k, v)| Ok((hex_of(k, "key")?, hex_of(v, "value")?)))
                    .collect::<Result<_, Error>>()?;
                let allows = storage.get(&registry::keys::simulation_allowed()).is_some_and(|v| v.as_slice() == [1]);
                if live && allows {
                    return Err(Error::ChainSpec("a Live chain's raw genesis allows the simulated TEE".into()));
                }
                Ok(storage)
            }
        }
    }

    /// The spec with its genesis converted to raw storage.
    pub fn to_raw(&self) -> Result<ChainSpec, Error> {
        let top = self
            .genesis_storage()?
            .into_iter()
            .map(|(k, v)| (format!("0x{}", hex::encode(k)), format!("0x{}", hex::encode(v))))
            .collect();
        Ok(ChainSpec { genesis: Genesis::Raw(RawGenesis { top, children_default: BTreeMap::new() }), ..self.clone() })
    }

    /// The genesis header and storage.
    pub fn genesis_block(&self) -> Result<(Header, GenesisStorage), Error> {
        let storage = self.genesis_storage()?;
        let header = Header {
            parent_hash: H256::zero(),
            number: 0,
            state_root: umbra_trie::state_root(STATE_VERSION, &storage),
            extrinsics_root: umbra_trie::EMPTY_ROOT,
            digest: Digest::default(),
        };
        Ok((header, storage))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn runtime_genesis(spec: &ChainSpec) -> &RuntimeGenesis {
        match &spec.genesis {
            Genesis::Runtime(g) => g,
            Genesis::Raw(_) => panic!("built-in specs are readable"),
        }
    }

    #[test]
    fn dev_accepts_the_simulated_tee_and_a_spec_without_the_section_does_not() {
        let dev = runtime_genesis(&dev()).to_config().unwrap();
        assert!(dev.registry.attestation.platforms.contains(&PlatformKind::Sim));
        assert_eq!(dev.registry.attestation.sim_keys, vec![umbra_attestation::sim::dev_sim_service_pair().public().0]);
        let mut production = dev_spec_json();
        production["genesis"]["runtime"].as_object_mut().unwrap().remove("attestation");
        let spec: ChainSpec = serde_json::from_value(production).unwrap();
        let config = runtime_genesis(&spec).to_config().unwrap();
        assert!(!config.registry.attestation.platforms.contains(&PlatformKind::Sim));
        assert!(config.registry.attestation.sim_keys.is_empty());
    }

    fn dev_spec_json() -> Value {
        serde_json::to_value(dev()).unwrap()
    }

    #[test]
    fn attestation_section_round_trips_and_is_validated() {
        let mut json = dev_spec_json();
        let section = &mut json["genesis"]["runtime"]["attestation"];
        section["allowedMeasurements"] = serde_json::json!([format!("0x{}", "ab".repeat(32))]);
        let spec: ChainSpec = serde_json::from_value(json.clone()).unwrap();
        let config = runtime_genesis(&spec).to_config().unwrap();
        assert_eq!(config.registry.allowed_measurements, vec![Measurement(vec![0xab; 32])]);
        assert_eq!(AttestationSpec::from_config(&config.registry).to_config().unwrap(), config.registry);
        spec.genesis_storage().unwrap();

        for (field, value, expected) in [
            ("platforms", serde_json::json!(["sgx"]), "not sim, sgx-dcap"),
            ("simKeys", serde_json::json!(["0x1234"]), "not 32 bytes"),
            ("allowedMeasurements", serde_json::json!(["abc"]), "not 0x-hex"),
            ("workerMaxConfidenceLevel", serde_json::json!(9), "registry configuration"),
            ("maxAttestationAgeSecs", serde_json::json!(1), "registry configuration"),
        ] {
            let mut bad = json.clone();
            bad["genesis"]["runtime"]["attestation"][field] = value;
            let spec: ChainSpec = serde_json::from_value(bad).unwrap();
            let err = spec.genesis_storage().unwrap_err().to_string();
            assert!(err.contains(expected), "{field}: {err}");
        }
    }

    /// Section 6: a `Live` chain can never accept the simulated TEE: a
    /// readable spec listing it is refused, a raw one whose storage allows it
    /// is refused, and a Live spec without it builds with the flag off.
    #[test]
    fn a_live_chain_refuses_the_simulated_tee() {
        let mut json = dev_spec_json();
        json["chainType"] = serde_json::json!("Live");
        let spec: ChainSpec = serde_json::from_value(json.clone()).unwrap();
        let err = spec.genesis_storage().unwrap_err().to_string();
        assert!(err.contains("cannot accept the simulated TEE"), "{err}");
        // The raw form of the dev spec, relabelled Live.
        let mut raw = serde_json::to_value(dev().to_raw().unwrap()).unwrap();
        raw["chainType"] = serde_json::json!("Live");
        let spec: ChainSpec = serde_json::from_value(raw).unwrap();
        let err = spec.genesis_storage().unwrap_err().to_string();
        assert!(err.contains("allows the simulated TEE"), "{err}");
        // Without the section (production attestation), a Live chain builds
        // and its storage does not allow simulation.
        json["genesis"]["runtime"].as_object_mut().unwrap().remove("attestation");
        let spec: ChainSpec = serde_json::from_value(json).unwrap();
        let storage = spec.genesis_storage().unwrap();
        assert!(!storage.contains_key(&registry::keys::simulation_allowed()));
        assert!(dev().genesis_storage().unwrap().contains_key(&registry::keys::simulation_allowed()));
    }
}

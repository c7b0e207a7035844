//! Chain specifications: the JSON file that defines a chain's genesis.
//!
//! Two forms, as in Substrate: a readable one (`genesis.runtime`: balances,
//! authorities, sudo key, slot duration, randomness seed) and a raw one
//! (`genesis.raw.top`: the genesis storage as hex key/value pairs), produced
//! by `build-spec --raw`. Both load; the raw form is what a network agrees
//! on, since it pins every storage byte.
//!
//! The built-in `dev` and `local` specs carry the seed's token distribution
//! of 1,000,000,000 UMB: 5% team, 15% sale, 1% testnet rewards, 9% airdrop,
//! 70% the mining subsidy pool (the treasury's mining pool account), plus
//! 1,000,000 UMB for each dev account `//Alice` … `//Ferdie` on top.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use umbra_crypto::{ed25519, sr25519, suri::SecretUri};
use umbra_primitives::{header::Digest, header::Header, AccountId32, Balance, H256};
use umbra_runtime::{
    genesis::{self, GenesisConfig},
    module_account,
    modules::balances::UMB,
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

/// The genesis section.
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
        }),
    }
}

/// The `local` testnet: Alice and Bob author and vote; 2-second slots.
pub fn local() -> ChainSpec {
    let (alice_sr, alice_ed) = dev_public("Alice");
    let (bob_sr, bob_ed) = dev_public("Bob");
    ChainSpec {
        name: "Local Testnet".into(),
        id: "local_testnet".into(),
        chain_type: "Local".into(),
        boot_nodes: vec![],
        protocol_id: Some("umbra".into()),
        properties: properties(),
        genesis: Genesis::Runtime(RuntimeGenesis {
            balances: distribution_and_dev(),
            aura_authorities: vec![ss58(&alice_sr.0), ss58(&bob_sr.0)],
            grandpa_authorities: vec![(ss58(&alice_ed.0), 1), (ss58(&bob_ed.0), 1)],
            sudo_key: Some(ss58(&alice_sr.0)),
            slot_duration_ms: 2000,
            randomness_seed: format!("0x{}", hex::encode(umbra_primitives::blake2_256(b"umbra local").as_bytes())),
        }),
    }
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
        })
    }
}

impl ChainSpec {
    /// A built-in spec (`dev`, `local`) or a JSON file.
    pub fn load(chain: &str) -> Result<Self, Error> {
        match chain {
            "dev" => Ok(dev()),
            "local" => Ok(local()),
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
        match &self.genesis {
            Genesis::Runtime(g) => genesis::build(&g.to_config()?).map_err(|e| Error::ChainSpec(e.to_string())),
            Genesis::Raw(raw) => {
                if !raw.children_default.is_empty() {
                    return Err(Error::ChainSpec("child tries are not supported".into()));
                }
                let hex_of = |s: &str, what: &str| {
                    s.strip_prefix("0x")
                        .and_then(|h| hex::decode(h).ok())
                        .ok_or_else(|| Error::ChainSpec(format!("raw genesis {what} `{s}` is not 0x-hex")))
                };
                raw.top.iter().map(|(k, v)| Ok((hex_of(k, "key")?, hex_of(v, "value")?))).collect()
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

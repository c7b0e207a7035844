//! An in-memory chain for tests and benchmarks (feature `test-utils`):
//! genesis from dev accounts, Alice authoring with real Aura and VRF
//! digests, blocks built with [`BlockBuilder`] and imported with
//! [`execute_block`] against the parent state, state roots recomputed.

extern crate std;

use alloc::{collections::BTreeMap, vec, vec::Vec};
use std::sync::OnceLock;

use parity_scale_codec::Encode;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use umbra_crypto::{ed25519, sr25519, suri::SecretUri};
use umbra_primitives::{
    block::OpaqueExtrinsic,
    extrinsic::{AdditionalSigned, Era, MultiAddress, SignedExtra, UncheckedExtrinsic},
    header::{Digest, DigestItem, Header, AURA_ENGINE_ID, RANDOMNESS_ENGINE_ID},
    AccountId32, Balance, H256,
};

use crate::{
    error::{DispatchResult, Error},
    executive::{execute_block, vrf_transcript, BlockBuilder, BuiltBlock, PushError},
    genesis::{self, GenesisConfig},
    modules::{
        balances::UMB,
        randomness::{VrfPreDigest, VRF_LABEL},
        system::{self, AccountInfo},
    },
    state::{Changes, Ext, StateRead},
    RuntimeCall, SPEC_VERSION, STATE_VERSION, TRANSACTION_VERSION,
};

/// Names of the dev accounts.
pub const DEV_NAMES: [&str; 6] = ["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"];

/// The sr25519 dev key `//name` (derived once per process).
pub fn dev_sr25519(name: &str) -> &'static sr25519::Pair {
    static PAIRS: OnceLock<Vec<(&'static str, sr25519::Pair)>> = OnceLock::new();
    let pairs = PAIRS.get_or_init(|| {
        DEV_NAMES
            .iter()
            .map(|n| {
                let uri = SecretUri::parse(&alloc::format!("//{n}")).expect("dev URI");
                (*n, sr25519::Pair::from_suri(&uri).expect("dev key"))
            })
            .collect()
    });
    &pairs.iter().find(|(n, _)| *n == name).expect("a dev account name").1
}

/// The ed25519 dev key `//name`.
pub fn dev_ed25519(name: &str) -> ed25519::Pair {
    let uri = SecretUri::parse(&alloc::format!("//{name}")).expect("dev URI");
    ed25519::Pair::from_suri(&uri).expect("dev key")
}

/// The account id of dev account `name` (sr25519).
pub fn dev_account(name: &str) -> AccountId32 {
    AccountId32(dev_sr25519(name).public().0)
}

/// Dev genesis: every dev account endowed with 1M UMB, Alice authority and sudo.
pub fn dev_genesis(slot_duration_ms: u64) -> GenesisConfig {
    GenesisConfig {
        balances: DEV_NAMES.iter().map(|n| (dev_account(n), 1_000_000 * UMB)).collect(),
        aura_authorities: vec![dev_sr25519("Alice").public()],
        grandpa_authorities: vec![(dev_ed25519("Alice").public(), 1)],
        sudo_key: Some(dev_account("Alice")),
        slot_duration_ms,
        randomness_seed: H256::repeat_byte(7),
        registry: crate::modules::registry::GenesisConfig::development(),
        gatekeeper: Default::default(),
    }
}

/// A chain held in memory.
pub struct TestChain {
    /// The head's state.
    pub state: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The head.
    pub head: Header,
    /// Hash of block 0.
    pub genesis_hash: H256,
    /// The head's slot.
    pub slot: u64,
    /// Slot duration (ms).
    pub slot_duration: u64,
    rng: ChaCha20Rng,
}

/// Applies `changes` to `state`.
pub fn apply_changes(state: &mut BTreeMap<Vec<u8>, Vec<u8>>, changes: Changes) {
    for (k, v) in changes {
        match v {
            Some(v) => {
                state.insert(k, v);
            }
            None => {
                state.remove(&k);
            }
        }
    }
}

impl TestChain {
    /// A dev chain with `slot_duration_ms` slots.
    pub fn dev(slot_duration_ms: u64) -> Self {
        Self::from_genesis(&dev_genesis(slot_duration_ms))
    }

    /// A chain from `config`.
    pub fn from_genesis(config: &GenesisConfig) -> Self {
        let state = genesis::build(config).expect("valid genesis");
        let head = Header {
            parent_hash: H256::zero(),
            number: 0,
            state_root: umbra_trie::state_root(STATE_VERSION, &state),
            extrinsics_root: umbra_trie::EMPTY_ROOT,
            digest: Digest::default(),
        };
        let genesis_hash = head.hash();
        TestChain {
            state,
            genesis_hash,
            head,
            slot: 1_000_000,
            slot_duration: config.slot_duration_ms,
            rng: ChaCha20Rng::seed_from_u64(42),
        }
    }

    /// Hash of the head.
    pub fn head_hash(&self) -> H256 {
        self.head.hash()
    }

    /// The Aura and VRF pre-digest Alice produces for `number` at `slot`.
    pub fn pre_digest(&mut self, number: u32, slot: u64) -> Digest {
        let transcript = vrf_transcript(&self.state, number, slot);
        let (output, proof) = dev_sr25519("Alice").vrf_sign(VRF_LABEL, &transcript, &mut self.rng);
        Digest {
            logs: vec![
                DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode()),
                DigestItem::PreRuntime(RANDOMNESS_ENGINE_ID, VrfPreDigest { output, proof }.encode()),
            ],
        }
    }

    /// Builds the next block (one slot later) with `txs`; returns it and
    /// each transaction's push result.
    pub fn build(&mut self, txs: Vec<OpaqueExtrinsic>) -> (BuiltBlock, Vec<Result<DispatchResult, PushError>>) {
        let slot = self.slot + 1;
        let number = self.head.number + 1;
        let digest = self.pre_digest(number, slot);
        let state = self.state.clone();
        let mut builder = BlockBuilder::new(&state, self.head_hash(), number, digest, slot * self.slot_duration)
            .expect("block initializes");
        let results = txs.into_iter().map(|xt| builder.push(xt)).collect();
        let mut built = builder.finalize().expect("block finalizes");
        let mut next = self.state.clone();
        apply_changes(&mut next, built.changes.clone());
        built.header.state_root = umbra_trie::state_root(STATE_VERSION, &next);
        (built, results)
    }

    /// Checks and imports a block on top of the head.
    pub fn import(&mut self, header: &Header, extrinsics: &[OpaqueExtrinsic]) -> Result<(), Error> {
        let changes = execute_block(&self.state, header, extrinsics)?;
        let mut next = self.state.clone();
        apply_changes(&mut next, changes);
        if umbra_trie::state_root(STATE_VERSION, &next) != header.state_root {
            return Err(Error::DigestMismatch);
        }
        self.state = next;
        self.head = header.clone();
        self.slot = crate::modules::aura::slot_from_digest(&header.digest).unwrap_or(self.slot + 1);
        Ok(())
    }

    /// Builds and imports a block; returns the push results.
    pub fn produce(&mut self, txs: Vec<OpaqueExtrinsic>) -> Vec<Result<DispatchResult, PushError>> {
        let (built, results) = self.build(txs);
        self.import(&built.header, &built.extrinsics).expect("own block imports");
        results
    }

    /// Reads the head's state.
    pub fn ext(&self) -> Ext<'_> {
        Ext::new(&self.state as &dyn StateRead)
    }

    /// An account at the head.
    pub fn account(&self, who: &AccountId32) -> AccountInfo {
        system::account(&self.ext(), who)
    }

    /// Free balance at the head.
    pub fn free(&self, who: &AccountId32) -> Balance {
        self.account(who).data.free
    }

    /// The implicit data a signer uses now (for the next block).
    pub fn additional(&self, era: Era) -> AdditionalSigned {
        let current = u64::from(self.head.number) + 1;
        let birth = era.birth(current) as u32;
        let era_block_hash = if birth == self.head.number {
            self.head_hash()
        } else if birth == 0 {
            self.genesis_hash
        } else {
            system::block_hash(&self.ext(), birth).unwrap_or_default()
        };
        AdditionalSigned {
            spec_version: SPEC_VERSION,
            transaction_version: TRANSACTION_VERSION,
            genesis_hash: self.genesis_hash,
            era_block_hash,
        }
    }

    /// A transaction by dev account `name`.
    pub fn sign(&mut self, name: &str, call: RuntimeCall, nonce: u32, tip: Balance, era: Era) -> OpaqueExtrinsic {
        let pair = umbra_crypto::Pair::Sr25519(sr25519::Pair::from_seed(dev_sr25519(name).seed().expect("seed")));
        let additional = self.additional(era);
        UncheckedExtrinsic::new_signed(call, &pair, SignedExtra { era, nonce, tip }, &additional, &mut self.rng)
            .to_opaque()
    }

    /// An immortal transfer-keep-alive from `from` to `to`.
    pub fn transfer(&mut self, from: &str, to: &AccountId32, amount: Balance, nonce: u32) -> OpaqueExtrinsic {
        let call = RuntimeCall::Balances(crate::modules::balances::Call::transfer_keep_alive {
            dest: MultiAddress::Id(*to),
            value: amount,
        });
        self.sign(from, call, nonce, 0, Era::Immortal)
    }
}

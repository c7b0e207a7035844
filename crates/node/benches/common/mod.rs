//! What the sync benchmarks share: a dev spec with funded senders, a chain
//! authored in advance in past slots by Alice (finalized at its head), and
//! node configurations on loopback.
#![allow(dead_code, clippy::unwrap_used, clippy::disallowed_methods)] // each bench uses part of it; benches may panic and read the clock

use std::{path::Path, sync::Mutex, time::Duration};

use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use umbra_consensus::aura::{self, TransactionProvider};
use umbra_crypto::sr25519;
use umbra_node::{
    chain_spec::{self, ChainSpec, Genesis},
    NetworkConfig, Node, NodeConfig,
};
use umbra_primitives::{
    block::OpaqueExtrinsic,
    extrinsic::{AdditionalSigned, Era, MultiAddress, SignedExtra, UncheckedExtrinsic},
    AccountId32, H256,
};
use umbra_runtime::{modules::balances, RuntimeCall, TransactionValidityError};

/// Transfers per block of the transfer chain.
pub(crate) const PER_BLOCK: usize = 200;

pub(crate) fn account(i: usize) -> sr25519::Pair {
    sr25519::Pair::from_seed(&umbra_crypto::hashing::blake2_256(&(i as u64).to_le_bytes()))
}

/// The dev spec with `PER_BLOCK` funded senders.
pub(crate) fn spec() -> ChainSpec {
    let mut spec = chain_spec::dev();
    if let Genesis::Runtime(g) = &mut spec.genesis {
        for i in 0..PER_BLOCK {
            g.balances.push((AccountId32(account(i).public().0).to_ss58(42), (1000 * balances::UMB).to_string()));
        }
    }
    spec
}

/// Hands the author one prepared batch per block.
pub(crate) struct Batches(Mutex<Vec<Vec<OpaqueExtrinsic>>>);

impl TransactionProvider for Batches {
    fn ready(&self) -> Vec<(H256, OpaqueExtrinsic)> {
        let batch = self.0.lock().unwrap().pop().unwrap_or_default();
        batch.into_iter().map(|x| (x.hash(), x)).collect()
    }
    fn report_invalid(&self, invalid: &[(H256, TransactionValidityError)]) {
        assert!(invalid.is_empty(), "a prepared transfer was invalid: {invalid:?}");
    }
}

/// Authors `blocks` blocks under `base` (transfers in each if `transfers`),
/// in consecutive past slots.
pub(crate) fn author_chain(spec: &ChainSpec, base: &Path, blocks: u32, transfers: bool) {
    let chain = umbra_node::service::open_chain(spec, base, umbra_storage::Config::default()).unwrap();
    let alice = umbra_node::keystore::AuthorityKeys::dev("Alice").unwrap().aura;
    let genesis = chain.genesis().hash;
    let additional = AdditionalSigned {
        spec_version: umbra_runtime::SPEC_VERSION,
        transaction_version: umbra_runtime::TRANSACTION_VERSION,
        genesis_hash: genesis,
        era_block_hash: genesis,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut batches: Vec<Vec<OpaqueExtrinsic>> = Vec::new();
    if transfers {
        for b in 0..blocks {
            let batch = (0..PER_BLOCK)
                .map(|i| {
                    let call = RuntimeCall::Balances(balances::Call::transfer_keep_alive {
                        dest: MultiAddress::Id(AccountId32(account((i + 1) % PER_BLOCK).public().0)),
                        value: balances::UMB / 100,
                    });
                    let pair = umbra_crypto::Pair::Sr25519(account(i));
                    let extra = SignedExtra { era: Era::Immortal, nonce: b, tip: 0 };
                    UncheckedExtrinsic::new_signed(call, &pair, extra, &additional, &mut rng).to_opaque()
                })
                .collect();
            batches.push(batch);
        }
        batches.reverse();
    }
    let provider = Batches(Mutex::new(batches));
    let duration = chain.slot_duration().unwrap();
    let now_slot = aura::Clock::now_ms(&aura::SystemClock) / duration;
    let first = now_slot - u64::from(blocks) - 10;
    for n in 0..u64::from(blocks) {
        let slot = first + n;
        let authored = aura::author_block(&chain, &alice, slot, slot * duration, &provider, Duration::from_secs(60))
            .unwrap()
            .unwrap();
        if transfers {
            assert_eq!(authored.included.len(), PER_BLOCK);
        }
    }
    // The head finalized by Alice, the dev chain's only voter.
    let head = chain.expect_header(&chain.best().unwrap().hash).unwrap();
    let voter = umbra_node::keystore::AuthorityKeys::dev("Alice").unwrap().grandpa;
    let justification = umbra_light_client::testing::justify_by(&head, 0, &[&voter]);
    umbra_consensus::grandpa::import_justification(&chain, head.hash(), &justification).unwrap();
}

pub(crate) fn node_config(
    spec: ChainSpec,
    base: &Path,
    bootnodes: Vec<umbra_network::Multiaddr>,
    sync: umbra_node::network::SyncMode,
) -> NodeConfig {
    NodeConfig {
        spec,
        base_path: base.to_path_buf(),
        name: "bench".into(),
        authority: None,
        rpc: None,
        prometheus: None,
        db: umbra_storage::Config::default(),
        pool: umbra_txpool::Limits::default(),
        grandpa: umbra_consensus::grandpa::Config::default(),
        node_key_file: None,
        network: Some(NetworkConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            bootnodes,
            in_peers: 25,
            out_peers: 8,
            sync,
            ..Default::default()
        }),
        rpc_unsafe: false,
    }
}

/// The serving node's full address.
pub(crate) fn address_of(node: &Node) -> umbra_network::Multiaddr {
    let handle = node.network.as_ref().unwrap().handle();
    handle.listen_addresses()[0].clone().with(umbra_network::Protocol::P2p(handle.local_peer_id()))
}

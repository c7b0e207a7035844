//! Fetching a fork block by hash (`Request::Ancestry`): a node whose best
//! chain is another fork gets the block a GRANDPA vote names, with its
//! ancestors back to a block it knows, verified and imported like any; a
//! wrong answer is refused and reported.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code; the clock names past slots

use std::time::Duration;

use parity_scale_codec::Encode;
use umbra_consensus::{aura, Chain, Origin};
use umbra_network::Misbehaviour;
use umbra_node::network::sync::{self, BlockData, Imported, Request};
use umbra_primitives::H256;

struct NoTxs;

impl aura::TransactionProvider for NoTxs {
    fn ready(&self) -> Vec<(H256, umbra_primitives::block::OpaqueExtrinsic)> {
        Vec::new()
    }
    fn report_invalid(&self, _: &[(H256, umbra_runtime::TransactionValidityError)]) {}
}

fn chain(dir: &std::path::Path) -> std::sync::Arc<Chain> {
    umbra_node::service::open_chain(&umbra_node::chain_spec::dev(), dir, umbra_storage::Config::default()).unwrap()
}

fn author(chain: &Chain, slot: u64) -> H256 {
    let alice = umbra_node::keystore::AuthorityKeys::dev("Alice").unwrap().aura;
    let duration = chain.slot_duration().unwrap();
    aura::author_block(chain, &alice, slot, slot * duration, &NoTxs, Duration::from_secs(30)).unwrap().unwrap();
    chain.best().unwrap().hash
}

#[test]
fn a_fork_block_is_fetched_with_its_ancestry_and_a_wrong_answer_is_refused() {
    let (dx, dy) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (x, y) = (chain(dx.path()), chain(dy.path()));
    let now = aura::Clock::now_ms(&aura::SystemClock) / x.slot_duration().unwrap();
    let base = now - 100;
    // Shared blocks 1..=3, then X goes on with 4 and 5, Y with 4' and 5'.
    for n in 1..=3 {
        author(&x, base + n);
    }
    let shared = sync::serve(&x, Request::Range(sync::BlockRequest { from: 1, max: 3 })).unwrap();
    for block in shared {
        y.import(block.header, block.body, None, Origin::External { now_slot: now }).unwrap();
    }
    author(&x, base + 4);
    author(&x, base + 5);
    author(&y, base + 10);
    let tip = author(&y, base + 11);
    assert_ne!(x.best().unwrap().hash, tip);

    // Y serves 4' and 5' (and the shared ones before, up to `max`), oldest first.
    let answer = sync::serve(&y, Request::Ancestry { hash: tip, max: 4 }).unwrap();
    assert_eq!(answer.iter().map(|b| b.header.number).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
    assert_eq!(answer.last().unwrap().header.hash(), tip);

    // Wrong answers change nothing.
    let import = |blocks: &[BlockData]| sync::import_ancestry(&x, tip, &blocks.to_vec().encode(), now);
    assert!(matches!(import(&answer[..3]), Imported::Bad(Misbehaviour::UselessResponse, _)), "not the asked block");
    let mut gap = answer.clone();
    gap.remove(2);
    assert!(matches!(import(&gap), Imported::Bad(Misbehaviour::UselessResponse, _)), "not a chain");
    assert!(matches!(sync::import_ancestry(&x, tip, b"garbage", now), Imported::Bad(Misbehaviour::Undecodable, _)));
    assert!(!x.db().contains(&tip).unwrap());

    // The right answer: the known blocks skipped, 4' and 5' imported on X
    // beside its own best chain.
    assert_eq!(import(&answer), Imported::Blocks { imported: 2, set_changed: false });
    assert!(x.db().contains(&tip).unwrap());
    assert_eq!(x.best().unwrap().number, 5);
    // A block that is not there: nothing to serve.
    assert!(sync::serve(&y, Request::Ancestry { hash: H256::repeat_byte(3), max: 4 }).unwrap().is_empty());
}

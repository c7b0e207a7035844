//! pRuntime's core fed directly, as a malicious relayer would: every lie is
//! refused with a precise error and changes nothing; correct input is
//! accepted afterwards.

use parity_scale_codec::Encode;
use umbra_light_client::{testing::Voters, Error as LcError};
use umbra_primitives::{header::Header, H256};
use umbra_pruntime_core::testing::{identity, started, Fixture};
use umbra_pruntime_core::{
    core::{Config, Core},
    Error,
};
use umbra_runtime::testing::TestChain;

/// Everything observable about the core.
fn snapshot(core: &Core) -> (Vec<u8>, H256, String) {
    (core.sync_state().map(|s| s.encode()).unwrap_or_default(), core.replica().root(), format!("{:?}", core.status()))
}

#[test]
fn follows_a_real_chain_and_refuses_every_lie() {
    let mut f = Fixture::new();
    f.produce_empty(12);
    let mut core = started(&f);
    let headers = f.headers(1, 12);
    let good = f.justify(&headers[11]);

    let before = snapshot(&core);
    let refused = |core: &mut Core, e: Error, what: &str, before: &(Vec<u8>, H256, String)| {
        let _ = e;
        assert_eq!(&snapshot(core), before, "state changed after {what}");
    };

    // Forged justification: a signature over something else.
    let mut forged = f.voters.justify_with(&headers[11], 1, 0, 1);
    forged.commit.precommits[0].signature = f.voters.pairs[0].sign(b"forged");
    let e = core.sync_headers(&headers, &forged.encode()).unwrap_err();
    assert!(matches!(e, Error::LightClient(LcError::BadSignature(_))), "{e}");
    refused(&mut core, e, "forged", &before);
    // Under-weight: nobody signs.
    let e = core.sync_headers(&headers, &f.voters.justify_with(&headers[11], 1, 0, 0).encode()).unwrap_err();
    assert!(matches!(e, Error::LightClient(LcError::InsufficientWeight { weight: 0, threshold: 1 })), "{e}");
    refused(&mut core, e, "under-weight", &before);
    // Wrong set id and wrong round.
    let e = core.sync_headers(&headers, &f.voters.justify_with(&headers[11], 1, 1, 1).encode()).unwrap_err();
    assert!(matches!(e, Error::LightClient(LcError::BadSignature(_))), "{e}");
    refused(&mut core, e, "wrong set id", &before);
    let mut round = f.voters.justify_with(&headers[11], 1, 0, 1);
    round.round = 7;
    let e = core.sync_headers(&headers, &round.encode()).unwrap_err();
    assert!(matches!(e, Error::LightClient(LcError::BadSignature(_))), "{e}");
    refused(&mut core, e, "wrong round", &before);
    // Signed by voters that are not the chain's.
    let strangers = Voters::new(1, 9, 0);
    let e = core.sync_headers(&headers, &strangers.justify(&headers[11])).unwrap_err();
    assert!(matches!(e, Error::LightClient(LcError::UnknownVoter(_))), "{e}");
    refused(&mut core, e, "foreign voters", &before);
    // Blocks from another genesis (another chain, justified by the same key).
    let mut other_config = umbra_runtime::testing::dev_genesis(1000);
    other_config.randomness_seed = H256::repeat_byte(1);
    let mut other = Fixture::from_chain(TestChain::from_genesis(&other_config));
    other.produce_empty(3);
    let foreign = other.headers(1, 3);
    let e = core.sync_headers(&foreign, &other.justify(&foreign[2])).unwrap_err();
    assert!(matches!(e, Error::LightClient(LcError::NotContiguous { number: 1 })), "{e}");
    refused(&mut core, e, "foreign chain", &before);
    let e = core.init(&other.anchor).unwrap_err();
    assert!(matches!(e, Error::AlreadyInitialized { .. }), "{e}");
    // Reordered and skipped headers.
    let mut reordered = headers.clone();
    reordered.swap(4, 5);
    let e = core.sync_headers(&reordered, &good).unwrap_err();
    assert!(matches!(e, Error::LightClient(LcError::NotContiguous { .. })), "{e}");
    refused(&mut core, e, "reordered headers", &before);
    // A non-finalized fork: a sibling of block 1 with an honest-looking
    // justification of block 12 is not contiguous.
    let mut fork: Vec<Header> = headers.clone();
    fork[0].state_root = H256::repeat_byte(3);
    let e = core.sync_headers(&fork, &good).unwrap_err();
    assert!(matches!(e, Error::LightClient(LcError::NotContiguous { number: 2 })), "{e}");
    refused(&mut core, e, "fork", &before);
    // Blocks before their headers are finalized.
    let e = core.load_state(5, vec![]).unwrap_err();
    assert!(matches!(e, Error::NotFinalized { number: 5 }), "{e}");

    // Correct headers, then the genesis state (a wrong state first).
    core.sync_headers(&headers, &good).unwrap();
    let before = snapshot(&core);
    let mut wrong_state = f.genesis_pairs.clone();
    wrong_state[0].1.push(1);
    let e = core.load_state(0, wrong_state).unwrap_err();
    assert!(matches!(e, Error::StateRootMismatch { .. }), "{e}");
    refused(&mut core, e, "wrong state", &before);
    core.load_state(0, f.genesis_pairs.clone()).unwrap();

    // Blocks: altered changes, replayed, reordered, skipped, not finalized.
    core.dispatch_blocks(&f.changes(1, 3), [0; 32]).0.unwrap();
    let before = snapshot(&core);
    let mut altered = f.changes(4, 4);
    altered[0].1[0].1 = Some(b"a lie".to_vec());
    let e = core.dispatch_blocks(&altered, [0; 32]).0.unwrap_err();
    assert!(
        matches!(&e, Error::Dispatch { applied: 0, error } if matches!(**error, Error::StateRootMismatch { .. })),
        "{e}"
    );
    refused(&mut core, e, "altered changes", &before);
    let mut dropped = f.changes(4, 4);
    // Leave out the write of System.Number (a change that matters).
    let number_key = umbra_runtime::modules::system::keys::number();
    dropped[0].1.retain(|(k, _)| *k != number_key);
    let e = core.dispatch_blocks(&dropped, [0; 32]).0.unwrap_err();
    assert!(matches!(&e, Error::Dispatch { applied: 0, error } if matches!(**error, Error::StateRootMismatch { .. })));
    refused(&mut core, e, "dropped change", &before);
    let e = core.dispatch_blocks(&f.changes(3, 3), [0; 32]).0.unwrap_err();
    assert!(
        matches!(&e, Error::Dispatch { applied: 0, error } if matches!(**error, Error::AlreadyDispatched { number: 3, synced: 3 }))
    );
    refused(&mut core, e, "replayed block", &before);
    let e = core.dispatch_blocks(&f.changes(5, 5), [0; 32]).0.unwrap_err();
    assert!(
        matches!(&e, Error::Dispatch { applied: 0, error } if matches!(**error, Error::SkippedBlock { expected: 4, found: 5 }))
    );
    refused(&mut core, e, "skipped block", &before);
    let mut swapped = f.changes(4, 5);
    swapped.swap(0, 1);
    let e = core.dispatch_blocks(&swapped, [0; 32]).0.unwrap_err();
    assert!(matches!(&e, Error::Dispatch { applied: 0, error } if matches!(**error, Error::SkippedBlock { .. })));
    refused(&mut core, e, "reordered blocks", &before);
    // Block 4's changes under block 5's number (a mislabelled block).
    let mut relabelled = f.changes(4, 4);
    relabelled[0].0 = 5;
    let e = core.dispatch_blocks(&relabelled, [0; 32]).0.unwrap_err();
    assert!(matches!(&e, Error::Dispatch { applied: 0, .. }));
    refused(&mut core, e, "relabelled block", &before);
    // A prefix of a batch is applied; the bad block is named.
    let mut batch = f.changes(4, 6);
    batch[2].1[0].1 = Some(b"a lie".to_vec());
    let e = core.dispatch_blocks(&batch, [0; 32]).0.unwrap_err();
    assert!(matches!(&e, Error::Dispatch { applied: 2, .. }), "{e}");
    assert_eq!(core.synced().map(|(_, n)| n), Some(5));

    // Correct input keeps working to the end.
    core.dispatch_blocks(&f.changes(6, 12), [0; 32]).0.unwrap();
    assert_eq!(core.synced(), Some((f.chain.head.hash(), 12)));
    assert_eq!(core.replica().root(), f.chain.head.state_root);
    let e = core.dispatch_blocks(&f.changes(12, 12), [0; 32]).0.unwrap_err();
    assert!(matches!(&e, Error::Dispatch { applied: 0, .. }));
    // Replayed headers.
    let e = core.sync_headers(&headers, &good).unwrap_err();
    assert!(matches!(e, Error::LightClient(LcError::AlreadyFinalized { number: 1, finalized: 12 })), "{e}");
}

#[test]
fn fast_sync_at_a_recent_block_then_follow() {
    let mut f = Fixture::new();
    f.produce_empty(20);
    let mut core = Core::new(Config::default(), identity(2), None);
    core.init(&f.anchor).unwrap();
    let headers = f.headers(1, 20);
    core.sync_headers(&headers[..15], &f.justify(&headers[14])).unwrap();
    // The state at block 15, as the node would serve it.
    let mut replay = Fixture::new();
    replay.produce_empty(15);
    let pairs: Vec<_> = replay.chain.state.clone().into_iter().collect();
    core.load_state(15, pairs).unwrap();
    let e = core.load_state(15, vec![]).unwrap_err();
    assert!(matches!(e, Error::StateAlreadyLoaded { at: 15 }));
    core.sync_headers(&headers[15..], &f.justify(&headers[19])).unwrap();
    core.dispatch_blocks(&f.changes(16, 20), [0; 32]).0.unwrap();
    assert_eq!(core.replica().root(), f.chain.head.state_root);
    assert!(core.caught_up());
}

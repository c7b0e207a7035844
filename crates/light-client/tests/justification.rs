//! Justification and batch verification: a real Polkadot justification,
//! and every way a relayer can lie to the light client.

use parity_scale_codec::{Decode, Encode};
use umbra_crypto::ed25519;
use umbra_light_client::{
    decode_justification, testing, testing::Voters, verify_justification, AuthoritySet, Error, LightClient,
};
use umbra_primitives::{
    grandpa::{ConsensusLog, GrandpaJustification, ScheduledChange},
    header::{DigestItem, Header},
    H256,
};

fn polkadot() -> GrandpaJustification {
    let hex = include_str!("../testdata/polkadot-302592-justification.hex").trim();
    decode_justification(&hex::decode(hex).expect("hex")).expect("decodes")
}

fn polkadot_set(j: &GrandpaJustification) -> AuthoritySet {
    AuthoritySet { set_id: 0, authorities: j.commit.precommits.iter().map(|p| (p.id, 1)).collect() }
}

#[test]
fn real_polkadot_justification_verifies() {
    let j = polkadot();
    assert_eq!(j.round, 439_559);
    assert_eq!(j.commit.target_number, 302_592);
    assert_eq!(j.commit.precommits.len(), 5);
    let target = j.commit.target_hash;
    assert_eq!(hex::encode(target), "29f1abec90ac199df06dee3ba0734c08c3fd6df06caa3f78952f8f95164058d2");
    let set = polkadot_set(&j);
    verify_justification(&j, target, 302_592, &set).expect("real Polkadot justification verifies");

    // Signed for set 0 and this round only.
    let mut other_set = set.clone();
    other_set.set_id = 1;
    assert!(matches!(verify_justification(&j, target, 302_592, &other_set), Err(Error::BadSignature(_))));
    let mut other_round = j.clone();
    other_round.round += 1;
    assert!(matches!(verify_justification(&other_round, target, 302_592, &set), Err(Error::BadSignature(_))));
    // Three voters that did not sign: 5 of 8 is below the threshold of 6.
    let mut bigger = set.clone();
    for i in 0..3u8 {
        bigger.authorities.push((ed25519::Pair::from_seed(&[i + 100; 32]).public(), 1));
    }
    assert_eq!(
        verify_justification(&j, target, 302_592, &bigger),
        Err(Error::InsufficientWeight { weight: 5, threshold: 6 })
    );
    // A signer missing from the set.
    let mut smaller = set.clone();
    let dropped = smaller.authorities.remove(2).0;
    assert_eq!(verify_justification(&j, target, 302_592, &smaller), Err(Error::UnknownVoter(dropped)));
    // Another block.
    assert!(matches!(verify_justification(&j, H256::zero(), 302_592, &set), Err(Error::WrongTarget { .. })));
}

#[test]
fn every_flipped_byte_of_the_polkadot_justification_is_refused() {
    let hex = include_str!("../testdata/polkadot-302592-justification.hex").trim();
    let bytes = hex::decode(hex).expect("hex");
    let j = polkadot();
    let set = polkadot_set(&j);
    let target = j.commit.target_hash;
    for i in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x01;
        let result = decode_justification(&flipped).and_then(|j| verify_justification(&j, target, 302_592, &set));
        assert!(result.is_err(), "byte {i} flipped was accepted");
    }
}

#[test]
fn duplicates_unused_ancestries_and_non_descendants() {
    let voters = Voters::new(4, 1, 0);
    let set = voters.set();
    let g = testing::genesis();
    let blocks = testing::chain(&g, 3, 1);
    let target = &blocks[0];
    // Precommits on a descendant, with the ancestry that links them.
    let mut j = voters.justify_with(&blocks[2], 5, 0, 4);
    j.commit.target_hash = target.hash();
    j.commit.target_number = target.number;
    j.votes_ancestries = vec![blocks[2].clone(), blocks[1].clone()];
    verify_justification(&j, target.hash(), 1, &set).expect("descendant votes with ancestry");
    // An extra header nobody needs.
    let mut unused = j.clone();
    unused.votes_ancestries.push(testing::header(&g, 9));
    assert_eq!(verify_justification(&unused, target.hash(), 1, &set), Err(Error::UnusedAncestry));
    // Missing link.
    let mut missing = j.clone();
    missing.votes_ancestries.pop();
    assert!(matches!(verify_justification(&missing, target.hash(), 1, &set), Err(Error::NotDescendant(_))));
    // A vote for a sibling fork.
    let sibling = testing::header(&g, 2);
    let mut fork = voters.justify_with(&sibling, 5, 0, 4);
    fork.commit.target_hash = target.hash();
    fork.commit.target_number = 1;
    assert!(matches!(verify_justification(&fork, target.hash(), 1, &set), Err(Error::NotDescendant(_))));
    // One voter twice.
    let mut dup = voters.justify_with(target, 5, 0, 4);
    let first = dup.commit.precommits[0].clone();
    dup.commit.precommits[1] = first.clone();
    assert_eq!(verify_justification(&dup, target.hash(), 1, &set), Err(Error::DuplicateVoter(first.id)));
}

fn change_digest(next: &AuthoritySet, delay: u32, forced: bool) -> DigestItem {
    let change = ScheduledChange { next_authorities: next.authorities.clone(), delay };
    if forced {
        ConsensusLog::ForcedChange(0, change).to_digest()
    } else {
        ConsensusLog::ScheduledChange(change).to_digest()
    }
}

fn with_digest(parent: &Header, item: DigestItem) -> Header {
    let mut h = testing::header(parent, 3);
    h.digest.logs.push(item);
    h
}

#[test]
fn batches_import_and_every_lie_is_refused_without_change() {
    let voters = Voters::new(4, 1, 0);
    let g = testing::genesis();
    let mut client = LightClient::new(g.clone(), voters.set()).expect("client");
    let batch = testing::chain(&g, 10, 1);
    let good = voters.justify(&batch[9]);

    let refuse = |client: &LightClient, headers: &[Header], j: &[u8], expected: fn(&Error) -> bool| {
        let before = client.encode();
        let mut probe = LightClient::decode(&mut &before[..]).expect("decode");
        let err = probe.import(headers, j).expect_err("must be refused");
        assert!(expected(&err), "unexpected error {err:?}");
        assert_eq!(probe.encode(), before, "state changed after {err:?}");
    };

    // Forged: one signature replaced by the same voter's signature of another message.
    let mut forged = voters.justify_with(&batch[9], 1, 0, 4);
    forged.commit.precommits[0].signature = voters.pairs[0].sign(b"something else");
    refuse(&client, &batch, &forged.encode(), |e| matches!(e, Error::BadSignature(_)));
    // Under-weight: 2 of 4.
    refuse(&client, &batch, &voters.justify_with(&batch[9], 1, 0, 2).encode(), |e| {
        matches!(e, Error::InsufficientWeight { weight: 2, threshold: 3 })
    });
    // Wrong set id in the signatures.
    refuse(&client, &batch, &voters.justify_with(&batch[9], 1, 7, 4).encode(), |e| matches!(e, Error::BadSignature(_)));
    // Wrong round: signed for round 1, presented as round 2.
    let mut round = voters.justify_with(&batch[9], 1, 0, 4);
    round.round = 2;
    refuse(&client, &batch, &round.encode(), |e| matches!(e, Error::BadSignature(_)));
    // Signed by another set entirely.
    refuse(&client, &batch, &Voters::new(4, 2, 0).justify(&batch[9]), |e| matches!(e, Error::UnknownVoter(_)));
    // Justification of another block than the batch's last.
    refuse(&client, &batch, &voters.justify(&batch[8]), |e| matches!(e, Error::WrongTarget { .. }));
    // A fork that is justified but does not build on our finalized head.
    let other_genesis = testing::header(&testing::genesis(), 0x55);
    let foreign = testing::chain(&other_genesis, 3, 1);
    refuse(&client, &foreign, &voters.justify(&foreign[2]), |e| matches!(e, Error::Gap { .. }));
    let mut fork = testing::chain(&g, 2, 9);
    fork[0].parent_hash = H256::repeat_byte(7);
    let fork = vec![fork[0].clone(), testing::header(&fork[0], 9)];
    refuse(&client, &fork, &voters.justify(&fork[1]), |e| matches!(e, Error::NotContiguous { number: 1 }));
    // Reordered and skipped headers.
    let mut reordered = batch.clone();
    reordered.swap(3, 4);
    refuse(&client, &reordered, &good, |e| matches!(e, Error::NotContiguous { .. }));
    let mut skipped = batch.clone();
    skipped.remove(5);
    refuse(&client, &skipped, &good, |e| matches!(e, Error::NotContiguous { number: 7 }));
    refuse(&client, &batch[1..], &good, |e| matches!(e, Error::Gap { expected: 1, found: 2 }));
    refuse(&client, &[], &good, |e| matches!(e, Error::EmptyBatch));
    refuse(&client, &batch, &good[..good.len() - 1], |e| matches!(e, Error::JustificationDecode));

    // The correct batch is still accepted.
    let imported = client.import(&batch, &good).expect("good batch");
    assert_eq!((imported.from, imported.to, imported.new_set_id), (1, 10, None));
    // Replay.
    refuse(&client, &batch, &good, |e| matches!(e, Error::AlreadyFinalized { number: 1, finalized: 10 }));

    // Authority-set changes.
    let head = client.finalized().clone();
    let next = Voters::new(5, 3, 1);
    let forced = with_digest(&head, change_digest(&next.set(), 0, true));
    refuse(&client, std::slice::from_ref(&forced), &voters.justify(&forced), |e| {
        matches!(e, Error::ForcedChange { .. })
    });
    let delayed = with_digest(&head, change_digest(&next.set(), 2, false));
    refuse(&client, std::slice::from_ref(&delayed), &voters.justify(&delayed), |e| {
        matches!(e, Error::DelayedChange { delay: 2, .. })
    });
    let change = with_digest(&head, change_digest(&next.set(), 0, false));
    let after = testing::header(&change, 1);
    refuse(&client, &[change.clone(), after.clone()], &voters.justify(&after), |e| {
        matches!(e, Error::UnjustifiedSetChange { .. })
    });
    let imported = client.import(std::slice::from_ref(&change), &voters.justify(&change)).expect("set change");
    assert_eq!(imported.new_set_id, Some(1));
    assert_eq!(client.authority_set(), &next.set());
    // The old set no longer finalizes anything.
    refuse(&client, std::slice::from_ref(&after), &voters.justify(&after), |e| matches!(e, Error::UnknownVoter(_)));
    client.import(std::slice::from_ref(&after), &next.justify(&after)).expect("new set finalizes");
    assert_eq!(client.finalized().number, 12);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Arbitrary justification bytes and mutated real batches: never a
    /// panic, never accepted.
    #[test]
    fn arbitrary_input_never_panics_or_passes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048), flip in 0usize..4096) {
        let voters = Voters::new(4, 1, 0);
        let g = testing::genesis();
        let mut client = LightClient::new(g.clone(), voters.set()).unwrap();
        let batch = testing::chain(&g, 3, 1);
        proptest::prop_assert!(client.import(&batch, &bytes).is_err());
        let mut j = voters.justify(&batch[2]);
        let i = flip % j.len();
        j[i] ^= 0x80;
        proptest::prop_assert!(client.import(&batch, &j).is_err());
        proptest::prop_assert_eq!(client.finalized().number, 0);
    }
}

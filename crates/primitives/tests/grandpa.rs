//! GRANDPA justifications and consensus logs: encoding round trips with
//! signatures by the dev authorities.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use parity_scale_codec::{Decode, Encode};
use umbra_crypto::{ed25519, suri::SecretUri};
use umbra_primitives::{
    decode_bounded,
    grandpa::{
        precommit_payload, Commit, ConsensusLog, GrandpaJustification, Precommit, ScheduledChange, SignedPrecommit,
    },
    header::{Digest, DigestItem, Header},
    Error, H256,
};

fn authority(name: &str) -> ed25519::Pair {
    ed25519::Pair::from_suri(&SecretUri::parse(&format!("//{name}")).unwrap()).unwrap()
}

#[test]
fn justification_round_trip_and_signatures() {
    let target = H256::repeat_byte(0xab);
    let (round, set_id) = (7u64, 2u64);
    let voters: Vec<ed25519::Pair> = ["Alice", "Bob", "Charlie"].iter().map(|n| authority(n)).collect();
    let precommit = Precommit { target_hash: target, target_number: 42 };
    let precommits = voters
        .iter()
        .map(|v| SignedPrecommit {
            precommit: precommit.clone(),
            signature: v.sign(&precommit_payload(round, set_id, &precommit)),
            id: v.public(),
        })
        .collect();
    let ancestry = Header {
        parent_hash: target,
        number: 43,
        state_root: H256::zero(),
        extrinsics_root: H256::zero(),
        digest: Digest::default(),
    };
    let justification = GrandpaJustification {
        round,
        commit: Commit { target_hash: target, target_number: 42, precommits },
        votes_ancestries: vec![ancestry],
    };
    let bytes = justification.encode();
    let decoded: GrandpaJustification = decode_bounded(&bytes, 1 << 20).unwrap();
    assert_eq!(decoded, justification);
    for signed in &decoded.commit.precommits {
        let payload = precommit_payload(decoded.round, set_id, &signed.precommit);
        assert!(ed25519::verify(&signed.signature, &payload, &signed.id));
        assert!(!ed25519::verify(
            &signed.signature,
            &precommit_payload(decoded.round, set_id + 1, &signed.precommit),
            &signed.id
        ));
    }
    assert!(format!("{decoded:?}").contains("precommits: 3"));
    assert!(matches!(decode_bounded::<GrandpaJustification>(&bytes[..bytes.len() - 1], 1 << 20), Err(Error::Decode)));
}

#[test]
fn scheduled_change_digest() {
    let next = vec![(authority("Alice").public(), 1u64), (authority("Bob").public(), 1u64)];
    let change = ConsensusLog::ScheduledChange(ScheduledChange { next_authorities: next.clone(), delay: 0 });
    // Substrate's encoding: variant index 1, then the list, then the delay.
    let encoded = change.encode();
    assert_eq!(encoded[0], 1);
    assert_eq!(encoded[1], 2 << 2);
    assert_eq!(&encoded[2..34], &next[0].0 .0);
    let header = Header {
        parent_hash: H256::zero(),
        number: 1,
        state_root: H256::zero(),
        extrinsics_root: H256::zero(),
        digest: Digest {
            logs: vec![
                change.to_digest(),
                DigestItem::Consensus(*b"FRNK", vec![2, 9]), // truncated ForcedChange
                DigestItem::Consensus(*b"BABE", vec![1]),    // other engine: ignored
            ],
        },
    };
    let logs: Vec<_> = header.grandpa_logs().collect();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0], Ok(change));
    assert!(logs[1].is_err());
    let forced = ConsensusLog::ForcedChange(5, ScheduledChange { next_authorities: next, delay: 3 });
    assert_eq!(ConsensusLog::decode(&mut &forced.encode()[..]).unwrap(), forced);
}

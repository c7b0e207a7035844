//! Equivocation reports end to end in the runtime: a valid GRANDPA double
//! vote or Aura double seal is pool-valid unsigned, recorded once in
//! `Offences` with an event when a block includes it; a replayed report is
//! stale in the pool and makes a block invalid; forged proofs (a bad
//! signature, two equal votes, a non-voter, another set, headers of two
//! slots, a seal by someone else) are refused and record nothing.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use parity_scale_codec::Encode;
use umbra_primitives::{
    block::OpaqueExtrinsic,
    header::{Digest, DigestItem, Header, AURA_ENGINE_ID},
    H256,
};
use umbra_runtime::{
    error::{InvalidTransaction, TransactionValidityError},
    extrinsic::RuntimeExtrinsic,
    modules::{aura, grandpa, offences, system},
    testing::{dev_ed25519, dev_sr25519, TestChain},
    validation::{self, TransactionSource},
    RuntimeCall, RuntimeEvent,
};

fn prevote(target: u8, number: u32) -> umbra_primitives::grandpa::Prevote {
    finality_grandpa::Prevote { target_hash: H256([target; 32]), target_number: number }
}

/// Alice's (the dev chain's only voter) two prevotes in `round` of `set_id`.
fn double_prevote(signer: &str, set_id: u64, round: u64, a: u8, b: u8) -> grandpa::EquivocationProof {
    let key = dev_ed25519(signer);
    let sign = |v: &umbra_primitives::grandpa::Prevote| {
        let message = finality_grandpa::Message::Prevote(v.clone());
        key.sign(&umbra_primitives::grandpa::localized_payload(round, set_id, &message))
    };
    let (first, second) = (prevote(a, 5), prevote(b, 5));
    grandpa::EquivocationProof {
        set_id,
        equivocation: grandpa::Equivocation::Prevote(finality_grandpa::Equivocation {
            round_number: round,
            identity: key.public(),
            first: (first.clone(), sign(&first)),
            second: (second.clone(), sign(&second)),
        }),
    }
}

fn grandpa_report(proof: grandpa::EquivocationProof) -> OpaqueExtrinsic {
    let call =
        RuntimeCall::Grandpa(grandpa::Call::report_equivocation_unsigned { equivocation_proof: Box::new(proof) });
    RuntimeExtrinsic::new_unsigned(call).to_opaque()
}

/// A header of `slot` sealed by `signer`, made different by `salt`.
fn sealed_header(signer: &str, slot: u64, salt: u8) -> Header {
    let mut header = Header {
        parent_hash: H256([9; 32]),
        number: 3,
        state_root: H256([salt; 32]),
        extrinsics_root: H256::zero(),
        digest: Digest { logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())] },
    };
    let seal = dev_sr25519(signer).sign_deterministic(header.hash().as_bytes());
    header.digest.logs.push(DigestItem::Seal(AURA_ENGINE_ID, seal.0.to_vec()));
    header
}

fn aura_report(offender: &str, slot: u64, first: Header, second: Header) -> OpaqueExtrinsic {
    let proof = aura::EquivocationProof {
        offender: dev_sr25519(offender).public(),
        slot,
        first_header: first,
        second_header: second,
    };
    let call = RuntimeCall::Aura(aura::Call::report_equivocation_unsigned { equivocation_proof: Box::new(proof) });
    RuntimeExtrinsic::new_unsigned(call).to_opaque()
}

fn validate(chain: &TestChain, xt: &OpaqueExtrinsic) -> Result<validation::ValidTransaction, TransactionValidityError> {
    validation::validate_transaction(
        &chain.state,
        chain.head_hash(),
        chain.head.number,
        TransactionSource::External,
        xt,
    )
}

fn offence_events(chain: &TestChain) -> Vec<offences::Event> {
    let events: Vec<umbra_runtime::event::EventRecord> = chain.ext().get(&system::keys::events()).unwrap_or_default();
    events
        .into_iter()
        .filter_map(|r| match r.event {
            RuntimeEvent::Offences(e) => Some(e),
            _ => None,
        })
        .collect()
}

#[test]
fn a_grandpa_double_vote_is_recorded_once() {
    let mut chain = TestChain::dev(1000);
    let report = grandpa_report(double_prevote("Alice", 0, 7, 1, 2));
    let valid = validate(&chain, &report).unwrap();
    assert_eq!(valid.priority, u64::MAX, "reports go first");
    assert!(valid.requires.is_empty() && valid.provides.len() == 1);

    let results = chain.produce(vec![report.clone()]);
    assert_eq!(results, vec![Ok(Ok(()))]);
    let timeslot = (0u64, 7u64).encode();
    assert_eq!(
        offence_events(&chain),
        vec![offences::Event::Offence { kind: offences::GRANDPA_EQUIVOCATION, timeslot: timeslot.clone() }]
    );
    let id = offences::report_id(
        &offences::GRANDPA_EQUIVOCATION,
        &timeslot,
        &umbra_primitives::AccountId32(dev_ed25519("Alice").public().0),
    );
    assert!(offences::is_reported(&chain.ext(), &id));

    // Replayed: stale in the pool, refused by a builder, and a block that
    // carries it anyway is invalid.
    assert_eq!(validate(&chain, &report), Err(InvalidTransaction::Stale.into()));
    let (built, results) = chain.build(vec![report.clone()]);
    assert!(matches!(results[0], Err(umbra_runtime::executive::PushError::Invalid(_))));
    assert_eq!(built.extrinsics.len(), 1, "only the inherent");
    let mut forged_body = built.extrinsics.clone();
    forged_body.push(report);
    let mut header = built.header.clone();
    header.extrinsics_root = umbra_primitives::block::extrinsics_root(&forged_body, umbra_runtime::STATE_VERSION);
    assert!(chain.import(&header, &forged_body).is_err(), "a block with a replayed report is invalid");

    // The same voter in another round is another offence.
    assert!(validate(&chain, &grandpa_report(double_prevote("Alice", 0, 8, 1, 2))).is_ok());
}

#[test]
fn forged_grandpa_reports_are_refused() {
    let chain = TestChain::dev(1000);
    let bad = Err(TransactionValidityError::from(InvalidTransaction::BadProof));
    // The second vote's signature is another round's.
    let mut forged = double_prevote("Alice", 0, 7, 1, 2);
    let other = double_prevote("Alice", 0, 9, 1, 2);
    if let (grandpa::Equivocation::Prevote(a), grandpa::Equivocation::Prevote(b)) =
        (&mut forged.equivocation, &other.equivocation)
    {
        a.second.1 = b.second.1;
    }
    assert_eq!(validate(&chain, &grandpa_report(forged)), bad, "bad signature");
    assert_eq!(validate(&chain, &grandpa_report(double_prevote("Alice", 0, 7, 1, 1))), bad, "one vote twice");
    assert_eq!(validate(&chain, &grandpa_report(double_prevote("Bob", 0, 7, 1, 2))), bad, "not a voter");
    assert_eq!(validate(&chain, &grandpa_report(double_prevote("Alice", 1, 7, 1, 2))), bad, "another set");
    assert!(offence_events(&chain).is_empty());
}

#[test]
fn an_aura_double_seal_is_recorded_once_and_forgeries_are_refused() {
    let mut chain = TestChain::dev(1000);
    let slot = 1_000_010;
    let report = aura_report("Alice", slot, sealed_header("Alice", slot, 1), sealed_header("Alice", slot, 2));
    assert!(validate(&chain, &report).is_ok());

    let bad = Err(TransactionValidityError::from(InvalidTransaction::BadProof));
    let same = sealed_header("Alice", slot, 1);
    assert_eq!(validate(&chain, &aura_report("Alice", slot, same.clone(), same)), bad, "one header twice");
    let two_slots = aura_report("Alice", slot, sealed_header("Alice", slot, 1), sealed_header("Alice", slot + 1, 2));
    assert_eq!(validate(&chain, &two_slots), bad, "two slots");
    let bobs = aura_report("Alice", slot, sealed_header("Alice", slot, 1), sealed_header("Bob", slot, 2));
    assert_eq!(validate(&chain, &bobs), bad, "a seal by someone else");
    let not_author = aura_report("Bob", slot, sealed_header("Bob", slot, 1), sealed_header("Bob", slot, 2));
    assert_eq!(validate(&chain, &not_author), bad, "not the slot's author");
    let mut unsealed = sealed_header("Alice", slot, 2);
    unsealed.digest.logs.pop();
    assert_eq!(validate(&chain, &aura_report("Alice", slot, sealed_header("Alice", slot, 1), unsealed)), bad);

    assert_eq!(chain.produce(vec![report.clone()]), vec![Ok(Ok(()))]);
    assert_eq!(
        offence_events(&chain),
        vec![offences::Event::Offence { kind: offences::AURA_EQUIVOCATION, timeslot: slot.encode() }]
    );
    assert_eq!(validate(&chain, &report), Err(InvalidTransaction::Stale.into()));
}

#[test]
fn other_unsigned_transactions_stay_refused() {
    let chain = TestChain::dev(1000);
    let transfer = RuntimeExtrinsic::new_unsigned(RuntimeCall::System(system::Call::remark { remark: vec![1] }));
    assert_eq!(validate(&chain, &transfer.to_opaque()), Err(umbra_runtime::extrinsic::UNSIGNED_NOT_ALLOWED));
}

//! The state transition function end to end: blocks built by Alice and
//! imported against the parent state, with fees, nonces, failures, eras,
//! sudo, authority-set changes and every way a block can be invalid.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use parity_scale_codec::{Decode, Encode};
use umbra_primitives::{
    block::OpaqueExtrinsic,
    extrinsic::{Era, MultiAddress},
    grandpa::ConsensusLog,
    header::{DigestItem, GRANDPA_ENGINE_ID},
    H256,
};
use umbra_runtime::{
    error::{DispatchError, Error, InvalidTransaction, TransactionValidityError},
    event::{EventRecord, Phase},
    executive::{timestamp_inherent, PushError},
    modules::{
        balances::{self, EXISTENTIAL_DEPOSIT, UMB},
        grandpa, sudo, system, transaction_payment,
    },
    testing::{dev_account, dev_ed25519, TestChain},
    treasury_account, validation, RuntimeCall, RuntimeEvent,
};

fn events(chain: &TestChain) -> Vec<EventRecord> {
    chain.ext().get(&system::keys::events()).unwrap_or_default()
}

fn transfer_call(to: &str, value: u128) -> RuntimeCall {
    RuntimeCall::Balances(balances::Call::transfer_keep_alive { dest: MultiAddress::Id(dev_account(to)), value })
}

#[test]
fn genesis_is_endowed() {
    let chain = TestChain::dev(1000);
    assert_eq!(chain.free(&dev_account("Alice")), 1_000_000 * UMB);
    assert_eq!(balances::total_issuance(&chain.ext()), 6_000_000 * UMB + EXISTENTIAL_DEPOSIT);
    assert_eq!(chain.free(&treasury_account()), EXISTENTIAL_DEPOSIT);
    assert_eq!(sudo::key(&chain.ext()), Some(dev_account("Alice")));
}

#[test]
fn transfer_charges_fee_splits_it_and_bumps_nonce() {
    let mut chain = TestChain::dev(1000);
    let alice = dev_account("Alice");
    let bob = dev_account("Bob");
    let author_before = chain.free(&alice);
    let xt = chain.transfer("Alice", &bob, 10 * UMB, 0);
    let len = xt.encode().len() as u32;
    let results = chain.produce(vec![xt]);
    assert_eq!(results, vec![Ok(Ok(()))]);

    let info = transfer_call("Bob", 10 * UMB).info();
    let fee = transaction_payment::compute_fee(&chain.ext(), len, &info, 0).final_fee();
    assert!(fee > 0);
    let to_treasury = fee * 80 / 100;
    let to_author = fee - to_treasury;
    // Alice is both sender and author here: she pays the fee and gets 20% back.
    assert_eq!(chain.free(&alice), author_before - 10 * UMB - fee + to_author);
    assert_eq!(chain.free(&bob), 1_000_010 * UMB);
    assert_eq!(chain.free(&treasury_account()), EXISTENTIAL_DEPOSIT + to_treasury);
    assert_eq!(chain.account(&alice).nonce, 1);
    // Issuance is unchanged: fees moved, nothing was minted or burned.
    assert_eq!(balances::total_issuance(&chain.ext()), 6_000_000 * UMB + EXISTENTIAL_DEPOSIT);

    let evs = events(&chain);
    let kinds: Vec<&RuntimeEvent> =
        evs.iter().filter(|e| e.phase == Phase::ApplyExtrinsic(1)).map(|e| &e.event).collect();
    assert!(matches!(kinds[0], RuntimeEvent::Balances(balances::Event::Withdraw { amount, .. }) if *amount == fee));
    assert!(kinds
        .iter()
        .any(|e| matches!(e, RuntimeEvent::Balances(balances::Event::Transfer { amount, .. }) if *amount == 10 * UMB)));
    assert!(kinds.iter().any(|e| matches!(e, RuntimeEvent::TransactionPayment(transaction_payment::Event::TransactionFeePaid { actual_fee, .. }) if *actual_fee == fee)));
    assert!(matches!(kinds.last(), Some(RuntimeEvent::System(system::Event::ExtrinsicSuccess { .. }))));
    // The timestamp inherent succeeded in phase 0.
    assert!(evs.iter().any(|e| e.phase == Phase::ApplyExtrinsic(0)));
}

#[test]
fn failed_call_still_pays_and_reverts_only_the_call() {
    let mut chain = TestChain::dev(1000);
    let bob = dev_account("Bob");
    let charlie = dev_account("Charlie");
    // Bob tries to send more than he has.
    let xt = chain.transfer("Bob", &charlie, 2_000_000 * UMB, 0);
    let results = chain.produce(vec![xt]);
    assert_eq!(
        results,
        vec![Ok(Err(DispatchError::module(balances::INDEX, balances::Error::InsufficientBalance as u8)))]
    );
    assert!(chain.free(&bob) < 1_000_000 * UMB, "fee charged");
    assert_eq!(chain.account(&bob).nonce, 1, "nonce bumped");
    assert_eq!(chain.free(&charlie), 1_000_000 * UMB, "no transfer");
    let evs = events(&chain);
    assert!(evs
        .iter()
        .any(|e| matches!(&e.event, RuntimeEvent::System(system::Event::ExtrinsicFailed { dispatch_error, .. })
        if *dispatch_error == DispatchError::module(2, 2))));
    assert!(!evs.iter().any(|e| matches!(&e.event, RuntimeEvent::Balances(balances::Event::Transfer { .. }))));
}

#[test]
fn keep_alive_and_allow_death() {
    let mut chain = TestChain::dev(1000);
    let dave = dev_account("Dave");
    let eve = dev_account("Eve");
    let fee_of = |chain: &mut TestChain, call: RuntimeCall, nonce| {
        let probe = chain.sign("Dave", call.clone(), nonce, 0, Era::Immortal);
        transaction_payment::compute_fee(&chain.ext(), probe.encode().len() as u32, &call.info(), 0).final_fee()
    };
    // keep_alive refuses to leave the sender below the existential deposit.
    let probe_call =
        RuntimeCall::Balances(balances::Call::transfer_keep_alive { dest: MultiAddress::Id(eve), value: 0 });
    let fee = fee_of(&mut chain, probe_call, 0);
    let value = chain.free(&dave) - fee - EXISTENTIAL_DEPOSIT / 2;
    let call = RuntimeCall::Balances(balances::Call::transfer_keep_alive { dest: MultiAddress::Id(eve), value });
    let xt = chain.sign("Dave", call, 0, 0, Era::Immortal);
    let r = chain.produce(vec![xt]);
    assert_eq!(r, vec![Ok(Err(DispatchError::module(2, balances::Error::Expendability as u8)))]);
    // allow_death reaps it: the sender's account disappears with its dust.
    let free = chain.free(&dave);
    let call = RuntimeCall::Balances(balances::Call::transfer_allow_death { dest: MultiAddress::Id(eve), value: 0 });
    let fee = fee_of(&mut chain, call, 1);
    let value = free - fee - EXISTENTIAL_DEPOSIT / 2;
    let call = RuntimeCall::Balances(balances::Call::transfer_allow_death { dest: MultiAddress::Id(eve), value });
    let xt = chain.sign("Dave", call, 1, 0, Era::Immortal);
    assert_eq!(chain.produce(vec![xt]), vec![Ok(Ok(()))]);
    assert_eq!(chain.account(&dave), Default::default(), "reaped");
    assert!(events(&chain).iter().any(|e| matches!(&e.event, RuntimeEvent::Balances(balances::Event::DustLost { amount, .. }) if *amount > 0 && *amount < EXISTENTIAL_DEPOSIT)));
    assert!(events(&chain)
        .iter()
        .any(|e| matches!(&e.event, RuntimeEvent::System(system::Event::KilledAccount { .. }))));
    // Creating an account below the existential deposit fails.
    let fresh = umbra_primitives::AccountId32([9; 32]);
    let call = RuntimeCall::Balances(balances::Call::transfer_allow_death {
        dest: MultiAddress::Id(fresh),
        value: EXISTENTIAL_DEPOSIT - 1,
    });
    let xt = chain.sign("Eve", call, 0, 0, Era::Immortal);
    assert_eq!(
        chain.produce(vec![xt]),
        vec![Ok(Err(DispatchError::module(2, balances::Error::ExistentialDeposit as u8)))]
    );
    // A reaped account cannot send (no account, no nonce).
    let xt = chain.transfer("Dave", &eve, 1, 0);
    assert_eq!(chain.produce(vec![xt]), vec![Err(PushError::Invalid(InvalidTransaction::Payment.into()))]);
}

#[test]
fn nonces_signatures_and_eras_are_checked() {
    let mut chain = TestChain::dev(1000);
    let bob = dev_account("Bob");
    let xt0 = chain.transfer("Alice", &bob, UMB, 0);
    chain.produce(vec![xt0.clone()]);
    // Replay of the same transaction: stale.
    assert_eq!(chain.produce(vec![xt0]), vec![Err(PushError::Invalid(InvalidTransaction::Stale.into()))]);
    // Future nonce in a block: not includable.
    let xt2 = chain.transfer("Alice", &bob, UMB, 2);
    assert_eq!(chain.produce(vec![xt2.clone()]), vec![Err(PushError::Invalid(InvalidTransaction::Future.into()))]);
    // ...but pool-valid, requiring nonce 1.
    let v = validation::validate_transaction(
        &chain.state,
        chain.head_hash(),
        chain.head.number,
        validation::TransactionSource::External,
        &xt2,
    )
    .unwrap();
    assert_eq!(v.requires, vec![validation::nonce_tag(&dev_account("Alice"), 1)]);
    // Too far in the future: rejected.
    let far = chain.transfer("Alice", &bob, UMB, 1000);
    let v = validation::validate_transaction(
        &chain.state,
        chain.head_hash(),
        chain.head.number,
        validation::TransactionSource::External,
        &far,
    );
    assert_eq!(v, Err(InvalidTransaction::Future.into()));
    // A flipped signature byte (the signature starts after version, address kind, signer and scheme).
    let mut forged = chain.transfer("Alice", &bob, UMB, 1);
    forged.0[40] ^= 1; // first bytes after the signer are the signature
    assert_eq!(chain.produce(vec![forged]), vec![Err(PushError::Invalid(InvalidTransaction::BadProof.into()))]);
    // Mortal: valid inside its window, refused after it.
    let era = Era::mortal(8, u64::from(chain.head.number));
    let mortal = chain.sign("Alice", transfer_call("Bob", UMB), 1, 0, era);
    for _ in 0..10 {
        chain.produce(vec![]);
    }
    let v = validation::validate_transaction(
        &chain.state,
        chain.head_hash(),
        chain.head.number,
        validation::TransactionSource::External,
        &mortal,
    );
    assert!(
        matches!(
            v,
            Err(TransactionValidityError::Invalid(
                InvalidTransaction::BadProof | InvalidTransaction::AncientBirthBlock
            ))
        ),
        "{v:?}"
    );
    let fresh = chain.sign("Alice", transfer_call("Bob", UMB), 1, 0, Era::mortal(8, u64::from(chain.head.number)));
    assert_eq!(chain.produce(vec![fresh]), vec![Ok(Ok(()))]);
}

#[test]
fn tips_raise_priority_and_cost() {
    let mut chain = TestChain::dev(1000);
    let plain = chain.sign("Bob", transfer_call("Alice", UMB), 0, 0, Era::Immortal);
    let tipped = chain.sign("Charlie", transfer_call("Alice", UMB), 0, 5 * UMB / 1000, Era::Immortal);
    let at = |chain: &TestChain, xt| {
        validation::validate_transaction(
            &chain.state,
            chain.head_hash(),
            chain.head.number,
            validation::TransactionSource::Local,
            xt,
        )
        .unwrap()
    };
    assert!(at(&chain, &tipped).priority > at(&chain, &plain).priority);
    let before = chain.free(&dev_account("Charlie"));
    chain.produce(vec![tipped]);
    let paid = before - UMB - chain.free(&dev_account("Charlie"));
    assert!(paid > 5 * UMB / 1000);
}

#[test]
fn sudo_and_grandpa_authority_change() {
    let mut chain = TestChain::dev(1000);
    // Non-sudo caller: the call fails with RequireSudo.
    let inner = RuntimeCall::Balances(balances::Call::force_set_balance {
        who: MultiAddress::Id(dev_account("Eve")),
        new_free: 5 * UMB,
    });
    let xt =
        chain.sign("Bob", RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(inner.clone()) }), 0, 0, Era::Immortal);
    assert_eq!(chain.produce(vec![xt]), vec![Ok(Err(DispatchError::module(sudo::INDEX, 0)))]);
    // Alice (sudo) succeeds and pays no fee.
    let before = chain.free(&dev_account("Alice"));
    let xt = chain.sign("Alice", RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(inner) }), 0, 0, Era::Immortal);
    assert_eq!(chain.produce(vec![xt]), vec![Ok(Ok(()))]);
    assert_eq!(chain.free(&dev_account("Eve")), 5 * UMB);
    assert_eq!(chain.free(&dev_account("Alice")), before);
    assert_eq!(balances::total_issuance(&chain.ext()), 5_000_005 * UMB + EXISTENTIAL_DEPOSIT);
    // A root call made directly (not through sudo) fails with BadOrigin.
    let direct = RuntimeCall::Balances(balances::Call::force_set_balance {
        who: MultiAddress::Id(dev_account("Eve")),
        new_free: 1,
    });
    let xt = chain.sign("Alice", direct, 1, 0, Era::Immortal);
    assert_eq!(chain.produce(vec![xt]), vec![Ok(Err(DispatchError::BadOrigin))]);

    // Schedule a new GRANDPA set: the header carries the change, the set id moves.
    let next = vec![(dev_ed25519("Bob").public(), 1), (dev_ed25519("Charlie").public(), 1)];
    let change = RuntimeCall::Grandpa(grandpa::Call::schedule_change { next_authorities: next.clone(), delay: 0 });
    let xt = chain.sign("Alice", RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(change) }), 2, 0, Era::Immortal);
    assert_eq!(chain.produce(vec![xt]), vec![Ok(Ok(()))]);
    let log = chain.head.digest.logs.iter().find_map(|d| d.consensus(&GRANDPA_ENGINE_ID)).unwrap();
    assert_eq!(
        ConsensusLog::decode(&mut &log[..]).unwrap(),
        ConsensusLog::ScheduledChange(umbra_primitives::grandpa::ScheduledChange {
            next_authorities: next.clone(),
            delay: 0
        })
    );
    assert_eq!(grandpa::current_set_id(&chain.ext()), 1);
    assert_eq!(grandpa::authorities(&chain.ext()), next);
    // A non-zero delay is refused.
    let change = RuntimeCall::Grandpa(grandpa::Call::schedule_change { next_authorities: next, delay: 5 });
    let xt = chain.sign("Alice", RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(change) }), 3, 0, Era::Immortal);
    chain.produce(vec![xt]);
    assert!(events(&chain)
        .iter()
        .any(|e| matches!(&e.event, RuntimeEvent::Sudo(sudo::Event::Sudid { sudo_result: Err(_) }))));
}

#[test]
fn invalid_blocks_are_rejected() {
    let mut chain = TestChain::dev(1000);
    let xt = chain.transfer("Alice", &dev_account("Bob"), UMB, 0);
    let (good, _) = chain.build(vec![xt.clone()]);
    let mut c = |f: &dyn Fn(&mut umbra_primitives::header::Header, &mut Vec<OpaqueExtrinsic>)| {
        let mut header = good.header.clone();
        let mut body = good.extrinsics.clone();
        f(&mut header, &mut body);
        chain.import(&header, &body).unwrap_err()
    };
    // A body that does not match the extrinsics root.
    assert_eq!(c(&|_, b| b.push(b[1].clone())), Error::ExtrinsicsRootMismatch);
    // A wrong state root.
    assert_eq!(c(&|h, _| h.state_root = H256::repeat_byte(1)), Error::DigestMismatch);
    // A wrong number.
    assert!(matches!(c(&|h, _| h.number = 5), Error::BadNumber { .. }));
    // A digest the runtime did not produce.
    assert_eq!(c(&|h, _| h.digest.logs.push(DigestItem::Other(vec![1]))), Error::DigestMismatch);
    // No VRF.
    assert_eq!(
        c(&|h, _| {
            h.digest.logs.remove(1);
        }),
        Error::BadVrf
    );
    // No slot.
    assert_eq!(
        c(&|h, _| {
            h.digest.logs.remove(0);
        }),
        Error::MissingSlot
    );
    let roots =
        |body: &Vec<OpaqueExtrinsic>| umbra_primitives::block::extrinsics_root(body, umbra_runtime::STATE_VERSION);
    // Missing timestamp.
    assert_eq!(
        c(&|h, b| {
            b.remove(0);
            h.extrinsics_root = roots(b);
        }),
        Error::MissingTimestamp
    );
    // A timestamp outside the slot.
    assert!(matches!(
        c(&|h, b| {
            b[0] = timestamp_inherent(1);
            h.extrinsics_root = roots(b);
        }),
        Error::BadTimestamp { .. }
    ));
    // A transaction with a forged signature inside the block.
    assert!(matches!(
        c(&|h, b| {
            b[1].0[40] ^= 1;
            h.extrinsics_root = roots(b);
        }),
        Error::InvalidExtrinsic { index: 1, .. }
    ));
    // An undecodable transaction.
    assert!(matches!(
        c(&|h, b| {
            b[1].0.truncate(10);
            h.extrinsics_root = roots(b);
        }),
        Error::InvalidExtrinsic { index: 1, .. }
    ));
    // The same transaction twice: the second is stale.
    assert!(matches!(
        c(&|h, b| {
            b.push(b[1].clone());
            h.extrinsics_root = roots(b);
        }),
        Error::InvalidExtrinsic { index: 2, .. }
    ));
    // The untouched block imports.
    chain.import(&good.header, &good.extrinsics).unwrap();
    // Replaying it on top of itself fails (number and slot).
    assert!(chain.import(&good.header, &good.extrinsics).is_err());
}

#[test]
fn execution_is_deterministic() {
    let mut a = TestChain::dev(1000);
    let txs: Vec<_> = (0..20).map(|i| a.transfer("Alice", &dev_account("Bob"), UMB + i, i as u32)).collect();
    let (built, _) = a.build(txs);
    let c1 = umbra_runtime::executive::execute_block(&a.state, &built.header, &built.extrinsics).unwrap();
    let c2 = umbra_runtime::executive::execute_block(&a.state, &built.header, &built.extrinsics).unwrap();
    assert_eq!(c1, c2);
    assert_eq!(c1, built.changes);
}

#[test]
fn block_weight_limits_fill_blocks() {
    use umbra_runtime::weights::{limits, Weight};
    let mut chain = TestChain::dev(1000);
    // Two calls that each declare 60% of the normal-class limit: the second
    // does not fit, the block stops, and it waits for the next block.
    let weight = Weight::from_parts(limits::MAX_NORMAL_WEIGHT.ref_time / 10 * 6, 0);
    let call = || {
        RuntimeCall::Sudo(sudo::Call::sudo_unchecked_weight {
            call: Box::new(RuntimeCall::System(system::Call::remark { remark: vec![] })),
            weight,
        })
    };
    let a = chain.sign("Alice", call(), 0, 0, Era::Immortal);
    let b = chain.sign("Alice", call(), 1, 0, Era::Immortal);
    let (built, results) = chain.build(vec![a, b.clone()]);
    assert_eq!(results, vec![Ok(Ok(())), Err(PushError::BlockFull)]);
    assert_eq!(built.extrinsics.len(), 2);
    chain.import(&built.header, &built.extrinsics).unwrap();
    assert_eq!(chain.produce(vec![b]), vec![Ok(Ok(()))]);
    // A single call heavier than a whole block is refused by the pool.
    let too_heavy = RuntimeCall::Sudo(sudo::Call::sudo_unchecked_weight {
        call: Box::new(RuntimeCall::System(system::Call::remark { remark: vec![] })),
        weight: limits::MAX_BLOCK_WEIGHT,
    });
    let xt = chain.sign("Alice", too_heavy, 2, 0, Era::Immortal);
    let v = validation::validate_transaction(
        &chain.state,
        chain.head_hash(),
        chain.head.number,
        validation::TransactionSource::Local,
        &xt,
    );
    assert_eq!(v, Err(InvalidTransaction::ExhaustsResources.into()));
}

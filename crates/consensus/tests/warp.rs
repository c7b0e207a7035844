//! Warp sync on real databases: a chain with two authority-set changes is
//! proven from genesis by one justification per set, the proof is checked
//! against forgeries, the head's state is downloaded in pages and stored in
//! a fresh database, and the warped chain then imports the next blocks and
//! serves warp proofs of its own.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::{sync::Mutex, time::Duration};

use umbra_consensus::{
    aura::{self, TransactionProvider},
    grandpa,
    warp::{self, StateDownload, StateResponse, WarpImport, WarpProof, WarpRequest},
    Chain, Error, Origin,
};
use umbra_crypto::sr25519;
use umbra_primitives::{block::OpaqueExtrinsic, extrinsic::Era, grandpa::AuthorityList, header::Header, H256};
use umbra_runtime::{
    modules::{grandpa as grandpa_module, sudo},
    testing::{dev_ed25519, dev_sr25519, TestChain},
    RuntimeCall, TransactionValidityError,
};
use umbra_storage::{Config, Database};

#[derive(Default)]
struct Txs(Mutex<Vec<OpaqueExtrinsic>>);

impl TransactionProvider for Txs {
    fn ready(&self) -> Vec<(H256, OpaqueExtrinsic)> {
        std::mem::take(&mut *self.0.lock().unwrap()).into_iter().map(|x| (x.hash(), x)).collect()
    }
    fn report_invalid(&self, invalid: &[(H256, TransactionValidityError)]) {
        panic!("invalid transactions: {invalid:?}");
    }
}

fn open(dir: &std::path::Path) -> Chain {
    let t = TestChain::dev(250);
    Chain::new(Database::open(&dir.join("db"), Config::default()).unwrap(), &t.head, &t.state).unwrap()
}

/// A justification of `header` signed by dev accounts `signers` in set `set_id`.
fn justify(header: &Header, set_id: u64, signers: &[&str]) -> Vec<u8> {
    let pairs: Vec<_> = signers.iter().map(|n| dev_ed25519(n)).collect();
    umbra_light_client::testing::justify_by(header, set_id, &pairs.iter().collect::<Vec<_>>())
}

fn set_of(names: &[&str]) -> AuthorityList {
    names.iter().map(|n| (dev_ed25519(n).public(), 1)).collect()
}

struct Source {
    chain: Chain,
    test: TestChain,
    txs: Txs,
    slot: u64,
    nonce: u32,
    alice: sr25519::Pair,
    _dir: tempfile::TempDir,
}

impl Source {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let chain = open(dir.path());
        let mut test = TestChain::dev(250);
        test.genesis_hash = chain.genesis().hash;
        let alice = sr25519::Pair::from_seed(dev_sr25519("Alice").seed().unwrap());
        Source { chain, test, txs: Txs::default(), slot: 1000, nonce: 0, alice, _dir: dir }
    }

    fn author(&mut self, n: u32) {
        for _ in 0..n {
            self.slot += 1;
            aura::author_block(
                &self.chain,
                &self.alice,
                self.slot,
                self.slot * 250,
                &self.txs,
                Duration::from_secs(30),
            )
            .unwrap()
            .unwrap();
        }
    }

    fn head(&self) -> Header {
        self.chain.expect_header(&self.chain.best().unwrap().hash).unwrap()
    }

    /// Finalizes the head with a justification of `signers` (set `set_id`).
    fn finalize(&self, set_id: u64, signers: &[&str]) -> grandpa::JustificationImport {
        let head = self.head();
        grandpa::import_justification(&self.chain, head.hash(), &justify(&head, set_id, signers)).unwrap()
    }

    /// Authors a block enacting `next` through sudo and finalizes it.
    fn change_set(&mut self, next: &[&str], set_id: u64, signers: &[&str]) {
        let change =
            RuntimeCall::Grandpa(grandpa_module::Call::schedule_change { next_authorities: set_of(next), delay: 0 });
        let call = RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(change) });
        let xt = self.test.sign("Alice", call, self.nonce, 0, Era::Immortal);
        self.nonce += 1;
        self.txs.0.lock().unwrap().push(xt);
        self.author(1);
        assert_eq!(self.finalize(set_id, signers), grandpa::JustificationImport::Finalized { set_changed: true });
    }
}

/// 300 blocks: set 0 {Alice} until #40, set 1 {Bob, Charlie, Dave} until
/// #120, set 2 {Eve} after; finalized at #300.
fn source() -> Source {
    let mut s = Source::new();
    s.author(20);
    s.finalize(0, &["Alice"]);
    s.author(19);
    s.change_set(&["Bob", "Charlie", "Dave"], 0, &["Alice"]);
    s.author(79);
    s.change_set(&["Eve"], 1, &["Bob", "Charlie", "Dave"]);
    s.author(180);
    s.finalize(2, &["Eve"]);
    assert_eq!(s.chain.finalized().unwrap().number, 300);
    s
}

/// Runs a whole warp from `from` into `to`: proof answers until finished,
/// then the state in pages of `page` bytes.
fn warp_into(from: &Chain, to: &Chain, page: usize) -> Result<umbra_storage::BlockRef, Error> {
    let mut set = grandpa::load_set(to).unwrap();
    let mut changes = Vec::new();
    let target = loop {
        let proof = warp::prove(from, WarpRequest { begin: set.base.hash }).unwrap();
        let verified = warp::verify(&proof, &set)?;
        set = verified.set;
        changes.extend(verified.changes);
        if let Some(target) = verified.target {
            break target;
        }
    };
    let hash = target.fragment.header.hash();
    let body = from.db().body(&hash).unwrap().unwrap();
    let mut download = StateDownload::new(hash);
    let view = from.state(&hash).unwrap();
    loop {
        let request = download.request();
        let (pairs, more) = view.pairs_after(request.start_after.as_deref(), page).unwrap();
        if download.apply(StateResponse { pairs, more })? {
            break;
        }
    }
    to.import_warp(WarpImport { target, body, changes, set, state: download.into_pairs() })
}

#[test]
fn a_new_node_warps_to_the_finalized_head_across_set_changes_and_syncs_on() {
    let source = source();
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = open(fresh_dir.path());

    // The proof: the two change blocks and the head, nothing else.
    let proof = warp::prove(&source.chain, WarpRequest { begin: source.chain.genesis().hash }).unwrap();
    assert!(proof.is_finished);
    let numbers: Vec<u32> = proof.fragments.iter().map(|f| f.header.number).collect();
    assert_eq!(numbers, vec![40, 120, 300]);
    let verified = warp::verify(&proof, &grandpa::load_set(&fresh).unwrap()).unwrap();
    assert_eq!(verified.set.set_id, 2);
    assert_eq!(verified.set.authorities, set_of(&["Eve"]));
    assert_eq!(verified.target.as_ref().unwrap().signed_by, 2);

    // Pages of 1 KiB: many of them, the state complete and exact.
    let target = warp_into(&source.chain, &fresh, 1024).unwrap();
    assert_eq!(target, source.chain.finalized().unwrap());
    assert_eq!(fresh.best().unwrap(), target);
    assert_eq!(fresh.finalized().unwrap(), target);
    let set = grandpa::load_set(&fresh).unwrap();
    assert_eq!((set.set_id, set.authorities.clone()), (2, set_of(&["Eve"])));
    assert_eq!(grandpa::latest_justification(&fresh).unwrap().unwrap().block, target);
    assert_eq!(fresh.db().hash_at(150).unwrap(), None, "nothing between genesis and the target");

    // The warped node imports the next blocks and finalizes them under set 2.
    let mut source = source;
    source.author(5);
    let origin = Origin::External { now_slot: u64::MAX - 2 };
    for n in 301..=305 {
        let hash = source.chain.db().hash_at(n).unwrap().unwrap();
        let header = source.chain.expect_header(&hash).unwrap();
        let body = source.chain.db().body(&hash).unwrap().unwrap();
        fresh.import(header, body, None, origin).unwrap();
    }
    let head = source.head();
    assert_eq!(fresh.best().unwrap().hash, head.hash());
    grandpa::import_justification(&fresh, head.hash(), &justify(&head, 2, &["Eve"])).unwrap();
    assert_eq!(fresh.finalized().unwrap().number, 305);

    // It serves a proof of its own from what it kept, verifiable from genesis.
    let second_dir = tempfile::tempdir().unwrap();
    let second = open(second_dir.path());
    let reached = warp_into(&fresh, &second, 1 << 20).unwrap();
    assert_eq!(reached.number, 305);
    assert_eq!(second.state(&reached.hash).unwrap().root(), head.state_root);
}

#[test]
fn forged_or_shuffled_proofs_and_wrong_state_are_refused_and_store_nothing() {
    let source = source();
    let dir = tempfile::tempdir().unwrap();
    let fresh = open(dir.path());
    let genesis = grandpa::load_set(&fresh).unwrap();
    let proof = warp::prove(&source.chain, WarpRequest { begin: source.chain.genesis().hash }).unwrap();

    let refused = |p: &WarpProof| warp::verify(p, &genesis).unwrap_err();
    // A flipped signature byte in the first change's justification.
    let mut forged = proof.clone();
    let j = &mut forged.fragments[0].justification;
    let n = j.len();
    j[n - 40] ^= 1;
    assert!(matches!(refused(&forged), Error::BadWarp(_)));
    // The first set change dropped: set 1's justification is not set 0's.
    let mut skipped = proof.clone();
    skipped.fragments.remove(0);
    assert!(matches!(refused(&skipped), Error::BadWarp(_)));
    // Out of order.
    let mut shuffled = proof.clone();
    shuffled.fragments.swap(0, 1);
    assert!(matches!(refused(&shuffled), Error::BadWarp(_)));
    // A head in the middle of an unfinished proof (not a set change).
    let mut middle = proof.clone();
    middle.is_finished = false;
    assert!(matches!(refused(&middle), Error::BadWarp(_)));
    // A header that is not the one justified (its state root swapped).
    let mut swapped = proof.clone();
    swapped.fragments[2].header.state_root = H256::repeat_byte(7);
    assert!(matches!(refused(&swapped), Error::BadWarp(_)));
    // Justified by a set the chain never had: Ferdie alone claims set 0.
    let fake_head = proof.fragments[2].header.clone();
    let fake = WarpProof {
        fragments: vec![warp::WarpFragment { justification: justify(&fake_head, 0, &["Ferdie"]), header: fake_head }],
        is_finished: true,
    };
    assert!(matches!(refused(&fake), Error::BadWarp(_)));
    // An unfinished empty answer.
    assert!(matches!(refused(&WarpProof { fragments: vec![], is_finished: false }), Error::BadWarp(_)));

    // The right proof, then a state with one value changed: the root is
    // checked before anything is written.
    let verified = warp::verify(&proof, &genesis).unwrap();
    let target = verified.target.unwrap();
    let hash = target.fragment.header.hash();
    let view = source.chain.state(&hash).unwrap();
    let (mut pairs, more) = view.pairs_after(None, usize::MAX).unwrap();
    assert!(!more);
    pairs[3].1.push(0);
    let body = source.chain.db().body(&hash).unwrap().unwrap();
    let import = |state: Vec<(Vec<u8>, Vec<u8>)>, body: Vec<OpaqueExtrinsic>| {
        fresh.import_warp(WarpImport {
            target: target.clone(),
            body,
            changes: verified.changes.clone(),
            set: verified.set.clone(),
            state: state.into_iter().collect(),
        })
    };
    assert!(matches!(import(pairs.clone(), body.clone()), Err(Error::StateRootMismatch { .. })));
    pairs[3].1.pop();
    // A body that is not the header's.
    let mut other_body = body.clone();
    other_body.pop();
    assert!(matches!(import(pairs.clone(), other_body), Err(Error::BadWarp(_))));
    assert_eq!(fresh.best().unwrap().number, 0, "nothing stored");
    assert_eq!(grandpa::load_set(&fresh).unwrap().set_id, 0);
    // Then the real one goes in; a second warp into the same database is refused.
    import(pairs.clone(), body.clone()).unwrap();
    assert!(matches!(import(pairs, body), Err(Error::Storage(umbra_storage::Error::NotFresh { best: 300 }))));
}

#[test]
fn state_pages_out_of_order_or_oversized_are_refused() {
    let mut d = StateDownload::new(H256::zero());
    let page =
        |keys: &[&[u8]], more| StateResponse { pairs: keys.iter().map(|k| (k.to_vec(), vec![1])).collect(), more };
    assert!(!d.apply(page(&[b"a", b"c"], true)).unwrap());
    assert!(matches!(d.apply(page(&[b"b"], true)), Err(Error::BadWarp(_))), "not after the last key");
    assert!(matches!(d.apply(page(&[b"d", b"d"], true)), Err(Error::BadWarp(_))), "a repeated key");
    assert!(matches!(d.apply(page(&[], true)), Err(Error::BadWarp(_))), "empty but more");
    let long = vec![b'z'; warp::MAX_KEY_LEN + 1];
    assert!(matches!(d.apply(page(&[&long], true)), Err(Error::BadWarp(_))), "a key too long");
    assert_eq!(d.len(), 2, "refused pages change nothing");
    assert_eq!(d.request().start_after, Some(b"c".to_vec()));
    assert!(d.apply(page(&[b"d"], false)).unwrap());
    assert!(matches!(d.apply(page(&[b"e"], false)), Err(Error::BadWarp(_))), "after the last page");
}

#[test]
fn a_proof_longer_than_one_answer_is_continued_from_its_last_change() {
    // With the budget this test cannot shrink, the continuation is shown by
    // asking from the first change: the rest verifies from set 1.
    let source = source();
    let first = warp::prove(&source.chain, WarpRequest { begin: source.chain.genesis().hash }).unwrap();
    let genesis = grandpa::load_set(&Source::new().chain).unwrap();
    let after_first =
        warp::verify(&WarpProof { fragments: first.fragments[..1].to_vec(), is_finished: false }, &genesis).unwrap();
    assert_eq!(after_first.set.set_id, 1);
    assert!(after_first.target.is_none());
    let rest = warp::prove(&source.chain, WarpRequest { begin: after_first.set.base.hash }).unwrap();
    assert_eq!(rest.fragments.iter().map(|f| f.header.number).collect::<Vec<_>>(), vec![120, 300]);
    let done = warp::verify(&rest, &after_first.set).unwrap();
    assert_eq!(done.target.unwrap().fragment.header.number, 300);
    // An unknown begin block is no answer.
    assert!(warp::prove(&source.chain, WarpRequest { begin: H256::repeat_byte(9) }).is_err());
}

#[test]
fn the_genesis_set_and_the_slot_duration_survive_the_pruning_of_the_genesis_state() {
    // 300 blocks finalized in set 0: the genesis state is pruned (256 kept).
    let mut s = Source::new();
    s.author(300);
    s.finalize(0, &["Alice"]);
    assert!(s.chain.state(&s.chain.genesis().hash).unwrap().get(&[0; 32]).is_err(), "genesis state pruned");
    assert_eq!(grandpa::load_set(&s.chain).unwrap().authorities, set_of(&["Alice"]));
    assert_eq!(s.chain.slot_duration().unwrap(), 250);
    s.author(1);
    assert_eq!(s.finalize(0, &["Alice"]), grandpa::JustificationImport::Finalized { set_changed: false });
}

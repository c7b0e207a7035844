//! The database against the runtime's in-memory chain: identical state
//! roots, forks discarded with their nodes, reorgs, pruning, reopening.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use umbra_primitives::H256;
use umbra_runtime::{
    modules::{balances::UMB, system},
    testing::{dev_account, TestChain},
};
use umbra_storage::{Config, Database, Error, ImportBlock, Pruning};

fn genesis_db(dir: &tempfile::TempDir, chain: &TestChain, config: Config) -> Database {
    let db = Database::open(&dir.path().join("chain.redb"), config).unwrap();
    db.initialize(&chain.head, &chain.state).unwrap();
    db
}

/// Builds the next block on `chain`, imports it into both.
fn step(db: &Database, chain: &mut TestChain, txs: usize) -> H256 {
    let nonce = chain.account(&dev_account("Alice")).nonce;
    let xts =
        (0..txs).map(|i| chain.transfer("Alice", &dev_account("Bob"), UMB + i as u128, nonce + i as u32)).collect();
    let (built, _) = chain.build(xts);
    let parent = db.header(&built.header.parent_hash).unwrap().unwrap();
    // Execute against the database's state, exactly as the node does.
    let view = db.state_at(parent.state_root).unwrap();
    let changes = umbra_runtime::executive::execute_block(&view, &built.header, &built.extrinsics).unwrap();
    assert!(view.take_error().is_none());
    let delta = db.compute_state(parent.state_root, &changes).unwrap();
    assert_eq!(delta.root, built.header.state_root, "database trie and in-memory trie agree");
    db.import_block(ImportBlock {
        header: built.header.clone(),
        body: built.extrinsics.clone(),
        changes,
        delta,
        justification: None,
    })
    .unwrap();
    chain.import(&built.header, &built.extrinsics).unwrap();
    built.header.hash()
}

#[test]
fn chain_state_matches_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::dev(1000);
    let db = genesis_db(&dir, &chain, Config::default());
    let mut hashes = vec![];
    for i in 0..6 {
        hashes.push(step(&db, &mut chain, i));
    }
    assert_eq!(db.best().unwrap().hash, *hashes.last().unwrap());
    let view = db.state_of(hashes.last().unwrap()).unwrap();
    let key = system::keys::account(&dev_account("Bob"));
    assert_eq!(view.get(&key).unwrap(), chain.state.get(&key).cloned());
    // Paged keys under System.Account.
    let prefix = umbra_trie::storage_key::storage_prefix("System", "Account");
    let all = view.keys_paged(&prefix, 100, None).unwrap();
    let expected: Vec<Vec<u8>> = chain.state.keys().filter(|k| k.starts_with(&prefix)).cloned().collect();
    assert_eq!(all, expected);
    let page = view.keys_paged(&prefix, 2, Some(&all[1])).unwrap();
    assert_eq!(page, all[2..4].to_vec());
    // A read proof verifies against the header's state root.
    let proof = view.read_proof(std::slice::from_ref(&key)).unwrap();
    assert_eq!(proof.read(&view.root(), &key).unwrap(), chain.state.get(&key).cloned());
    // Changes are kept per block.
    assert!(db.changes(&hashes[3]).unwrap().unwrap().contains_key(&key));
}

#[test]
fn import_rejects_bad_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::dev(1000);
    let db = genesis_db(&dir, &chain, Config::default());
    let (built, _) = chain.build(vec![]);
    let parent = db.header(&built.header.parent_hash).unwrap().unwrap();
    let view = db.state_at(parent.state_root).unwrap();
    let changes = umbra_runtime::executive::execute_block(&view, &built.header, &built.extrinsics).unwrap();
    let delta = db.compute_state(parent.state_root, &changes).unwrap();
    let mut bad = built.header.clone();
    bad.state_root = H256::repeat_byte(3);
    let r = db.import_block(ImportBlock {
        header: bad,
        body: vec![],
        changes: changes.clone(),
        delta: delta.clone(),
        justification: None,
    });
    assert!(matches!(r, Err(Error::StateRootMismatch { .. })));
    let mut orphan = built.header.clone();
    orphan.parent_hash = H256::repeat_byte(9);
    let r = db.import_block(ImportBlock {
        header: orphan,
        body: vec![],
        changes: changes.clone(),
        delta: delta.clone(),
        justification: None,
    });
    assert!(matches!(r, Err(Error::UnknownParent(_))));
    db.import_block(ImportBlock {
        header: built.header.clone(),
        body: built.extrinsics.clone(),
        changes: changes.clone(),
        delta: delta.clone(),
        justification: None,
    })
    .unwrap();
    let again = db.import_block(ImportBlock {
        header: built.header.clone(),
        body: built.extrinsics,
        changes,
        delta,
        justification: None,
    });
    assert!(matches!(again, Err(Error::AlreadyImported(_))));
}

#[test]
fn forks_reorgs_and_discarding() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = TestChain::dev(1000);
    let mut b = TestChain::dev(1000);
    let db = genesis_db(&dir, &a, Config { pruning: Pruning::Archive, changes_window: 4096 });
    // Common prefix of two blocks.
    step(&db, &mut a, 1);
    // b follows the same blocks.
    let h1 = db.hash_at(1).unwrap().unwrap();
    let header1 = db.header(&h1).unwrap().unwrap();
    b.import(&header1, &db.body(&h1).unwrap().unwrap()).unwrap();
    // Fork: a builds 2 blocks, b builds 3 (different transactions).
    let a2 = step(&db, &mut a, 2);
    let a3 = step(&db, &mut a, 2);
    assert_eq!(db.best().unwrap().hash, a3);
    let b2 = step(&db, &mut b, 0);
    let b3 = step(&db, &mut b, 0);
    assert_eq!(db.best().unwrap().hash, a3, "equal length: keep the current best");
    let nonce = b.account(&dev_account("Alice")).nonce;
    let xt = b.transfer("Alice", &dev_account("Bob"), 1, nonce);
    let (built, _) = b.build(vec![xt]);
    let parent = db.header(&built.header.parent_hash).unwrap().unwrap();
    let view = db.state_at(parent.state_root).unwrap();
    let changes = umbra_runtime::executive::execute_block(&view, &built.header, &built.extrinsics).unwrap();
    let delta = db.compute_state(parent.state_root, &changes).unwrap();
    let outcome = db
        .import_block(ImportBlock {
            header: built.header.clone(),
            body: built.extrinsics.clone(),
            changes,
            delta,
            justification: None,
        })
        .unwrap();
    let b4 = built.header.hash();
    b.import(&built.header, &built.extrinsics).unwrap();
    assert!(outcome.is_new_best);
    assert_eq!(outcome.retracted, vec![a3, a2]);
    assert_eq!(outcome.enacted, vec![b2, b3, b4]);
    assert_eq!(db.hash_at(2).unwrap(), Some(b2));

    // Finalize b3: a's fork is discarded, with exactly the nodes only it referenced.
    let finalized = db.finalize(b3, Some(b"justification")).unwrap();
    assert_eq!(finalized.iter().map(|f| f.hash).collect::<Vec<_>>(), vec![h1, b2, b3]);
    assert!(db.header(&a2).unwrap().is_none());
    assert!(db.header(&a3).unwrap().is_none());
    assert_eq!(db.justification(&b3).unwrap().as_deref(), Some(&b"justification"[..]));
    assert_eq!(db.next_justified(2).unwrap().unwrap().0.hash, b3);

    // The same canonical chain imported alone stores the same node set.
    let dir2 = tempfile::tempdir().unwrap();
    let mut c = TestChain::dev(1000);
    let db2 = genesis_db(&dir2, &c, Config { pruning: Pruning::Archive, changes_window: 4096 });
    for h in [h1, b2, b3, b4] {
        let header = db.header(&h).unwrap().unwrap();
        let body = db.body(&h).unwrap().unwrap();
        let parent = db2.header(&header.parent_hash).unwrap().unwrap();
        let view = db2.state_at(parent.state_root).unwrap();
        let changes = umbra_runtime::executive::execute_block(&view, &header, &body).unwrap();
        let delta = db2.compute_state(parent.state_root, &changes).unwrap();
        db2.import_block(ImportBlock {
            header: header.clone(),
            body: body.clone(),
            changes,
            delta,
            justification: None,
        })
        .unwrap();
        c.import(&header, &body).unwrap();
    }
    db2.finalize(b3, None).unwrap();
    assert_eq!(db.state_node_count().unwrap(), db2.state_node_count().unwrap());

    // Below-finalized and off-chain imports are refused.
    assert!(matches!(db.finalize(h1, None), Err(Error::BelowFinalized { .. })));
}

#[test]
fn pruning_keeps_a_window_and_frees_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::dev(1000);
    let db = genesis_db(&dir, &chain, Config { pruning: Pruning::Keep(2), changes_window: 3 });
    let mut hashes = vec![];
    for _ in 0..8 {
        let h = step(&db, &mut chain, 3);
        db.finalize(h, None).unwrap();
        hashes.push(h);
    }
    // Recent states read; old ones are gone.
    let key = system::keys::account(&dev_account("Bob"));
    assert!(db.state_of(&hashes[7]).unwrap().get(&key).unwrap().is_some());
    assert!(db.state_of(&hashes[5]).unwrap().get(&key).unwrap().is_some());
    assert!(matches!(db.state_of(&hashes[1]).unwrap().get(&key), Err(Error::MissingNode(_))));
    // Changes window: only the last 3 finalized blocks keep their changes.
    assert!(db.changes(&hashes[7]).unwrap().is_some());
    assert!(db.changes(&hashes[2]).unwrap().is_none());
    // An archive database of the same chain holds more nodes.
    let dir2 = tempfile::tempdir().unwrap();
    let mut c2 = TestChain::dev(1000);
    let archive = genesis_db(&dir2, &c2, Config { pruning: Pruning::Archive, changes_window: 3 });
    for _ in 0..8 {
        let h = step(&archive, &mut c2, 3);
        archive.finalize(h, None).unwrap();
    }
    assert!(archive.state_node_count().unwrap() > db.state_node_count().unwrap());
    assert!(archive.state_of(&archive.hash_at(1).unwrap().unwrap()).unwrap().get(&key).unwrap().is_some());
}

#[test]
fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = TestChain::dev(1000);
    let (best, finalized) = {
        let db = genesis_db(&dir, &chain, Config::default());
        step(&db, &mut chain, 1);
        let h = step(&db, &mut chain, 1);
        db.finalize(h, None).unwrap();
        step(&db, &mut chain, 1);
        (db.best().unwrap(), db.finalized().unwrap())
    };
    let db = Database::open(&dir.path().join("chain.redb"), Config::default()).unwrap();
    assert_eq!(db.best().unwrap(), best);
    assert_eq!(db.finalized().unwrap(), finalized);
    // The same genesis is accepted again; another one is refused.
    db.initialize(&db.header(&db.genesis().unwrap().unwrap().hash).unwrap().unwrap(), &TestChain::dev(1000).state)
        .unwrap();
    let other = TestChain::dev(2000);
    assert_eq!(db.initialize(&other.head, &other.state), Err(Error::GenesisMismatch));
    db.put_aux("grandpa", b"state").unwrap();
    assert_eq!(db.aux("grandpa").unwrap().as_deref(), Some(&b"state"[..]));
}

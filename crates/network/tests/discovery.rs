//! Kademlia discovery on loopback: nodes that know only a bootnode find and
//! connect to each other through it; a reserved-only node keeps to its
//! reserved peers; a node of another chain is never in the table.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::{sync::Arc, time::Duration};

use umbra_network::{start, Config, NetworkHandle, Protocol, Status};
use umbra_primitives::H256;

fn config(seed: u8, genesis: H256, bootnodes: Vec<umbra_network::Multiaddr>) -> Config {
    Config { bootnodes, ..Config::new([seed; 32], genesis, vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()]) }
}

fn status(genesis: H256) -> umbra_network::StatusSource {
    Arc::new(move || Status { genesis, best_number: 1, best_hash: H256([1; 32]), authority: false })
}

async fn until(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn address_of(node: &NetworkHandle) -> umbra_network::Multiaddr {
    node.listen_addresses()[0].clone().with(Protocol::P2p(node.local_peer_id()))
}

fn knows(node: &NetworkHandle, other: &NetworkHandle) -> bool {
    node.peers().iter().any(|p| p.id == other.local_peer_id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_that_know_only_a_bootnode_discover_each_other() {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let genesis = H256([1; 32]);
    let (a, _ea, ta) = start(config(1, genesis, vec![]), status(genesis), stopped.clone()).await.unwrap();
    let boot = vec![address_of(&a)];
    let (b, _eb, tb) = start(config(2, genesis, boot.clone()), status(genesis), stopped.clone()).await.unwrap();
    until("B to meet A", || knows(&b, &a)).await;
    let (c, _ec, tc) = start(config(3, genesis, boot.clone()), status(genesis), stopped.clone()).await.unwrap();
    let (d, _ed, td) = start(config(4, genesis, boot.clone()), status(genesis), stopped.clone()).await.unwrap();
    until("B, C and D to find each other through A", || {
        knows(&b, &c) && knows(&c, &b) && knows(&d, &b) && knows(&d, &c)
    })
    .await;

    // A reserved-only node with A reserved talks to A alone, even though A
    // knows everyone; and no one else takes it as a peer.
    let mut only = config(5, genesis, vec![]);
    only.reserved = boot.clone();
    only.reserved_only = true;
    let (r, _er, tr) = start(only, status(genesis), stopped.clone()).await.unwrap();
    until("the reserved-only node to meet A", || knows(&r, &a)).await;
    // B, C and D look again (a discovery round starts whenever one connects).
    let (e, _ee, te) = start(config(6, genesis, boot), status(genesis), stopped.clone()).await.unwrap();
    until("E to find B, C and D", || knows(&e, &b) && knows(&e, &c) && knows(&e, &d)).await;
    assert_eq!(r.peers().len(), 1, "the reserved-only node has only A: {:?}", r.peers());
    for node in [&b, &c, &d, &e] {
        assert!(!knows(node, &r), "nobody else reaches the reserved-only node");
    }

    stop.send(true).unwrap();
    for task in [ta, tb, tc, td, tr, te] {
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    }
}

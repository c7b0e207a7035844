//! Three nodes on loopback: two of one chain find each other through a
//! bootnode and list each other with their best blocks; one of another
//! chain dials in and is refused, never listed on either side.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::{sync::Arc, time::Duration};

use umbra_network::{peer_id_of, start, Config, NetworkHandle, Protocol, Status};
use umbra_primitives::H256;

fn config(seed: u8, genesis: H256, bootnodes: Vec<umbra_network::Multiaddr>) -> Config {
    Config { bootnodes, ..Config::new([seed; 32], genesis, vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()]) }
}

fn status(genesis: H256, best_number: u32) -> umbra_network::StatusSource {
    Arc::new(move || Status { genesis, best_number, best_hash: H256([best_number as u8; 32]), authority: false })
}

/// Polls `f` every 20 ms until it holds, for at most 20 s.
async fn until(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn address_of(node: &NetworkHandle) -> umbra_network::Multiaddr {
    node.listen_addresses()[0].clone().with(Protocol::P2p(node.local_peer_id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_of_one_chain_meet_and_another_chain_is_refused() {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let genesis = H256([1; 32]);
    let (a, _ea, task_a) = start(config(1, genesis, vec![]), status(genesis, 5), stopped.clone()).await.unwrap();
    assert_eq!(a.local_peer_id(), peer_id_of([1; 32]).unwrap(), "the peer id is the node key's");
    let (b, _eb, task_b) =
        start(config(2, genesis, vec![address_of(&a)]), status(genesis, 7), stopped.clone()).await.unwrap();
    until("A and B to list each other", || {
        a.peers().iter().any(|p| p.id == b.local_peer_id() && p.best_number == 7)
            && b.peers().iter().any(|p| p.id == a.local_peer_id() && p.best_number == 5)
    })
    .await;

    let other = H256([2; 32]);
    let (c, _ec, task_c) = start(config(3, other, vec![address_of(&a)]), status(other, 9), stopped).await.unwrap();
    // Whichever of A and C hears the other's identify first drops the
    // connection, and the other may never hear: one refusal is certain,
    // and neither side ever lists the other.
    until("A or C to refuse the other", || {
        a.refused().iter().any(|(p, _)| *p == c.local_peer_id())
            || c.refused().iter().any(|(p, _)| *p == a.local_peer_id())
    })
    .await;
    assert!(a.peers().iter().all(|p| p.id != c.local_peer_id()), "C is never A's peer");
    assert!(c.peers().is_empty(), "C has no peer of its chain");
    assert_eq!(a.peers().len(), 1, "B is still A's peer");

    stop.send(true).unwrap();
    for task in [task_a, task_b, task_c] {
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    }
}

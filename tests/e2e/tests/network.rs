//! The chain as a network of real `umbra-node` processes on loopback:
//! validators of the `local` specs finalize together over libp2p, a full
//! node follows and relays transactions, validators killed with SIGKILL
//! and restarted catch up and vote again, finality stops without a
//! supermajority and no finalized block ever reverts, a peer that sends
//! garbage is banned while the honest chain is unchanged, and a validator
//! that seals two blocks for one slot and votes twice in GRANDPA rounds is
//! detected and reported, its offences recorded on chain once.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::{path::PathBuf, process::Command, time::Duration};

use serde_json::{json, Value};
use umbra_e2e::{binary, free_port, stays, wait_for, NodeProcess};

const DAVE: &str = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy";
const VALIDATORS: [&str; 4] = ["alice", "bob", "charlie", "dave"];

/// A network of `umbra-node` processes of one chain, each with its own
/// data directory, RPC port and peer-to-peer port, fixed across restarts.
struct Net {
    chain: String,
    dirs: Vec<PathBuf>,
    rpc: Vec<u16>,
    p2p: Vec<u16>,
    prometheus: Vec<u16>,
    ids: Vec<Option<String>>,
    nodes: Vec<Option<NodeProcess>>,
    /// Start nodes with `--reserved-only`, every other node reserved (so
    /// partitions can be made and healed through RPC).
    reserved_only: bool,
    tmp: Option<tempfile::TempDir>,
}

impl Drop for Net {
    /// A failed test keeps its nodes' data and logs, and says where.
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(tmp) = self.tmp.take() {
                eprintln!("node data and logs kept in {}", tmp.keep().display());
            }
        }
    }
}

impl Net {
    fn new(chain: &str, size: usize) -> Net {
        let tmp = tempfile::tempdir().unwrap();
        Net {
            chain: chain.into(),
            dirs: (0..size).map(|i| tmp.path().join(format!("node{i}"))).collect(),
            rpc: (0..size).map(|_| free_port()).collect(),
            p2p: (0..size).map(|_| free_port()).collect(),
            prometheus: (0..size).map(|_| free_port()).collect(),
            ids: vec![None; size],
            nodes: (0..size).map(|_| None).collect(),
            reserved_only: false,
            tmp: Some(tmp),
        }
    }

    /// A network whose nodes keep only reserved peers: node keys are
    /// written first so every peer id is known before any node starts.
    fn reserved_only(chain: &str, size: usize) -> Net {
        let mut net = Net::new(chain, size);
        for i in 0..size {
            let seed = [i as u8 + 1; 32];
            std::fs::create_dir_all(&net.dirs[i]).unwrap();
            std::fs::write(net.dirs[i].join("node-key"), seed).unwrap();
            net.ids[i] = Some(umbra_network::peer_id_of(seed).unwrap().to_string());
        }
        net.reserved_only = true;
        net
    }

    fn address(&self, j: usize) -> String {
        format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", self.p2p[j], self.ids[j].as_deref().unwrap())
    }

    /// Cuts the network into `groups`: each node drops every reserved peer
    /// outside its group (and refuses it, being reserved-only).
    fn partition(&self, groups: &[&[usize]]) {
        for group in groups {
            for i in group.iter().copied() {
                for j in (0..self.ids.len()).filter(|j| !group.contains(j)) {
                    let done = self.node(i).rpc("system_removeReservedPeer", json!([self.ids[j]]));
                    assert!(done["error"].is_null(), "{done}");
                }
            }
        }
        for group in groups {
            for i in group.iter().copied() {
                wait_for(&format!("node {i} to lose the other side"), Duration::from_secs(30), || {
                    let peers = self.node(i).rpc("system_peers", json!([]))["result"].as_array().cloned()?;
                    peers
                        .iter()
                        .all(|p| {
                            (0..self.ids.len())
                                .any(|j| group.contains(&j) && p["peerId"].as_str() == self.ids[j].as_deref())
                        })
                        .then_some(())
                });
            }
        }
    }

    /// Cuts the live nodes into `groups` (dead nodes skipped).
    fn partition_alive(&self, groups: &[Vec<usize>]) {
        let alive = self.alive();
        let groups: Vec<Vec<usize>> =
            groups.iter().map(|g| g.iter().copied().filter(|i| alive.contains(i)).collect()).collect();
        let refs: Vec<&[usize]> = groups.iter().map(Vec::as_slice).collect();
        self.partition(&refs);
    }

    /// Makes every node reserve every other again.
    fn heal(&self) {
        for i in self.alive() {
            for j in (0..self.ids.len()).filter(|j| *j != i) {
                let done = self.node(i).rpc("system_addReservedPeer", json!([self.address(j)]));
                assert!(done["error"].is_null(), "{done}");
            }
        }
    }

    /// Every other node that has run, as bootnodes.
    fn bootnodes(&self, except: usize) -> Vec<String> {
        (0..self.ids.len())
            .filter(|j| *j != except)
            .filter_map(|j| self.ids[j].as_ref().map(|id| format!("/ip4/127.0.0.1/tcp/{}/p2p/{id}", self.p2p[j])))
            .collect()
    }

    /// Starts node `i`: a validator with `account`'s keys, or a full node,
    /// knowing every other node that has run.
    fn start(&mut self, i: usize, account: Option<&str>) {
        let bootnodes = self.bootnodes(i);
        self.start_with(i, account, bootnodes);
    }

    fn start_with(&mut self, i: usize, account: Option<&str>, bootnodes: Vec<String>) {
        let listen = format!("/ip4/127.0.0.1/tcp/{}", self.p2p[i]);
        let prometheus = self.prometheus[i].to_string();
        let mut args: Vec<String> = [
            "--chain",
            &self.chain,
            "--listen-addr",
            &listen,
            "--gossip-duration-ms",
            "300",
            "--prometheus-port",
            &prometheus,
        ]
        .map(String::from)
        .into();
        if let Some(account) = account {
            args.extend(["--dev-account".to_string(), account.to_string()]);
        }
        if self.reserved_only {
            args.extend(["--node-key-file".into(), self.dirs[i].join("node-key").display().to_string()]);
            args.push("--reserved-only".into());
            args.push("--reserved-nodes".into());
            args.extend((0..self.ids.len()).filter(|j| *j != i).map(|j| self.address(j)));
        }
        if !bootnodes.is_empty() {
            args.push("--bootnodes".into());
            args.extend(bootnodes);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let node = NodeProcess::start_args(&self.dirs[i], self.rpc[i], &args);
        let id = node.rpc("system_localPeerId", json!([]))["result"].as_str().unwrap().to_string();
        if let Some(known) = &self.ids[i] {
            assert_eq!(known, &id, "the node key persists across restarts");
        }
        self.ids[i] = Some(id);
        self.nodes[i] = Some(node);
    }

    /// A metric's value on node `i` (`name` with its labels, as exposed).
    fn metric(&self, i: usize, name: &str) -> u64 {
        let (_, _, body) = umbra_e2e::http_get(self.prometheus[i], "/metrics").unwrap_or_else(|| {
            panic!("no metrics on {}: {}", self.prometheus[i], std::fs::read_to_string(&self.node(i).log).unwrap())
        });
        let line =
            body.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name} in {body}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }

    fn node(&self, i: usize) -> &NodeProcess {
        self.nodes[i].as_ref().unwrap()
    }

    fn kill(&mut self, i: usize) {
        self.nodes[i].take().unwrap().kill9();
    }

    fn alive(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|i| self.nodes[*i].is_some()).collect()
    }

    fn finalized(&self, i: usize) -> u32 {
        self.node(i).heads().1
    }

    /// Waits until every live node has finalized at least `number`; on a
    /// timeout, every live node's GRANDPA round state is printed first.
    #[allow(clippy::disallowed_methods)] // a test's deadline is wall-clock time
    fn wait_finalized(&self, number: u32, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        for i in self.alive() {
            while self.finalized(i) < number {
                if std::time::Instant::now() > deadline {
                    for j in self.alive() {
                        let state = self.node(j).rpc("grandpa_roundState", json!([]));
                        eprintln!("node {j}: heads {:?}, round state {state}", self.node(j).heads());
                    }
                    panic!("timed out after {timeout:?} waiting for node {i} to finalize #{number}");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Canonical hashes `1..=to` on node `i`.
    fn hashes(&self, i: usize, to: u32) -> Vec<Value> {
        let numbers: Vec<u32> = (1..=to).collect();
        self.node(i).rpc("chain_getBlockHash", json!([numbers]))["result"].as_array().unwrap().clone()
    }

    /// Safety: every live node's finalized chain is a prefix of every
    /// other's. Returns the common finalized chain.
    fn assert_safe(&self) -> Vec<Value> {
        let alive = self.alive();
        let finalized: Vec<u32> = alive.iter().map(|i| self.finalized(*i)).collect();
        let common = *finalized.iter().min().unwrap();
        let reference = self.hashes(alive[0], common);
        for i in &alive[1..] {
            assert_eq!(self.hashes(*i, common), reference, "node {i} finalized a different chain");
        }
        reference
    }
}

#[test]
fn two_validators_finalize_over_the_network_and_a_full_node_relays_transactions() {
    let mut net = Net::new("local", 3);
    net.start(0, Some("alice"));
    net.start(1, Some("bob"));
    net.wait_finalized(3, Duration::from_secs(90));

    // A full node that knows only Bob: it syncs, follows finality and
    // passes a transaction on to the validators, hop by hop.
    let bob = net.bootnodes(0).into_iter().find(|a| a.ends_with(net.ids[1].as_deref().unwrap())).unwrap();
    net.start_with(2, None, vec![bob]);
    let (best, _) = net.node(0).heads();
    wait_for("the full node to sync", Duration::from_secs(60), || (net.node(2).heads().0 >= best).then_some(()));
    let peers = net.node(2).rpc("system_peers", json!([]))["result"].clone();
    assert_eq!(peers.as_array().unwrap().len(), 1, "the full node knows only Bob: {peers}");
    assert_eq!(peers[0]["roles"], "AUTHORITY");
    assert_eq!(peers[0]["peerId"].as_str(), net.ids[1].as_deref());
    let health = net.node(1).rpc("system_health", json!([]))["result"].clone();
    assert_eq!(health["peers"], 2, "Bob has both: {health}");
    assert_eq!(net.metric(1, "umbra_network_peers"), 2);
    assert!(net.metric(2, "umbra_sync_blocks_imported_total") >= u64::from(best), "the full node downloaded the chain");
    assert!(net.metric(1, "umbra_network_gossip_messages_total{direction=\"in\"}") > 0);
    let listen = net.node(0).rpc("system_localListenAddresses", json!([]))["result"].clone();
    assert!(listen[0].as_str().unwrap().ends_with(net.ids[0].as_deref().unwrap()), "{listen}");

    let url = net.node(2).ws_url();
    let out = Command::new(binary("umbra"))
        .args(["--url", &url, "transfer", "--from", "//Charlie", "--to", DAVE, "1.5"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "transfer through the full node: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    let block: u32 =
        stdout.split("finalized in block #").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    net.wait_finalized(block, Duration::from_secs(60));
    let common = net.assert_safe();
    assert!(common.len() as u32 >= block);
    let sync = net.node(2).rpc("system_syncState", json!([]))["result"].clone();
    assert!(sync["highestBlock"].as_u64().unwrap() >= u64::from(block), "{sync}");

    // The finality benchmark through the full node: every transfer timed
    // to its block and to finality.
    let out = Command::new(binary("umbra"))
        .args(["--url", &url, "--output", "json", "bench", "finality", "--count", "6", "--interval-ms", "100"])
        .args(["--from", "//Eve"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "bench finality: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["finalized"], 6, "{report}");
    assert_eq!(report["failures"], 0, "{report}");
    assert!(report["finalized_p50_ms"].as_u64().unwrap() >= report["included_p50_ms"].as_u64().unwrap());

    // Block propagation: the next blocks watched on all three nodes.
    let urls: Vec<String> = (0..3).map(|i| net.node(i).ws_url()).collect();
    let out = Command::new(binary("umbra"))
        .args(["--url", &url, "--output", "json", "bench", "propagation", "--blocks", "3", "--timeout-secs", "60"])
        .arg("--nodes")
        .args(&urls)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "bench propagation: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["blocks"], 3, "{report}");
    assert!(report["p50_us"].as_u64().unwrap() <= report["max_us"].as_u64().unwrap(), "{report}");
}

#[test]
fn four_validators_keep_finality_through_kills_and_restarts_and_never_revert() {
    let mut net = Net::new("local-4", 4);
    for (i, name) in VALIDATORS.iter().enumerate() {
        net.start(i, Some(name));
    }
    net.wait_finalized(3, Duration::from_secs(120));

    // A hung machine: SIGSTOP for 20 s. The other three finalize on; once
    // resumed it catches up.
    net.node(3).signal(umbra_process::Signal::STOP);
    let hung_at = net.finalized(0);
    // The fault's duration (the schedule), not a synchronisation.
    std::thread::sleep(Duration::from_secs(20));
    for i in 0..3 {
        wait_for(&format!("node {i} to finalize while one hangs"), Duration::from_secs(60), || {
            (net.finalized(i) >= hung_at + 3).then_some(())
        });
    }
    net.node(3).signal(umbra_process::Signal::CONT);
    let level = net.finalized(0);
    wait_for("the resumed validator to catch up", Duration::from_secs(60), || {
        (net.finalized(3) >= level).then_some(())
    });

    // One of four down: 3 of 4 is a supermajority, finality continues.
    net.kill(3);
    let before = net.assert_safe();
    let target = before.len() as u32 + 3;
    net.wait_finalized(target, Duration::from_secs(60));

    // It comes back, catches up, and votes again: with it, a second
    // validator may go down and finality still continues.
    net.start(3, Some("dave"));
    let level = (0..3).map(|i| net.finalized(i)).max().unwrap();
    wait_for("the restarted validator to catch up", Duration::from_secs(60), || {
        (net.finalized(3) >= level).then_some(())
    });
    net.kill(2);
    let target = (0..4).filter(|i| *i != 2).map(|i| net.finalized(i)).max().unwrap() + 3;
    net.wait_finalized(target, Duration::from_secs(90));

    // Two of four down: finality stops, and what was final stays final.
    net.kill(1);
    let stopped_at = net.assert_safe();
    let mut last = net.finalized(0);
    stays("finality to stop without a supermajority", Duration::from_secs(8), Duration::from_secs(60), || {
        let now = net.finalized(0);
        let same = now == last;
        last = now;
        same
    });
    let (best, _) = net.node(0).heads();
    assert!(best > last, "blocks are still authored ({best}) while finality waits at {last}");

    // One comes back: finality resumes, on the same chain.
    net.start(1, Some("bob"));
    net.wait_finalized(last + 2, Duration::from_secs(90));
    let after = net.assert_safe();
    assert_eq!(&after[..stopped_at.len()], &stopped_at[..], "no finalized block reverted");
    assert_eq!(&after[..before.len()], &before[..], "no finalized block reverted");
}

#[test]
fn a_peer_that_sends_garbage_is_banned_and_the_chain_is_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(tmp.path(), &[]);
    let genesis = node.rpc("chain_getBlockHash", json!([0]))["result"].as_str().unwrap().to_string();
    let genesis = umbra_primitives::H256::from_slice(&hex::decode(genesis.trim_start_matches("0x")).unwrap());
    let address = node.rpc("system_localListenAddresses", json!([]))["result"][0].as_str().unwrap().to_string();
    let node_id = node.rpc("system_localPeerId", json!([]))["result"].as_str().unwrap().to_string();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (liar, mut events) = runtime.block_on(async {
        let mut config = umbra_network::Config::new([42; 32], genesis, vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()]);
        config.bootnodes = vec![address.parse().unwrap()];
        // It claims a far better chain, so the node asks it for blocks.
        let status: umbra_network::StatusSource = std::sync::Arc::new(move || umbra_network::Status {
            genesis,
            best_number: 1_000_000,
            best_hash: umbra_primitives::H256([7; 32]),
            authority: false,
        });
        let (handle, events, _task) = umbra_network::start(config, status, stopped).await.unwrap();
        (handle, events)
    });
    let liar_id = liar.local_peer_id().to_string();
    let finalized_before = node.heads().1;
    let canonical_before: Vec<Value> = {
        let numbers: Vec<u32> = (1..=finalized_before).collect();
        node.rpc("chain_getBlockHash", json!([numbers]))["result"].as_array().cloned().unwrap_or_default()
    };

    // Every block request is answered with garbage; garbage is gossiped on
    // every topic meanwhile.
    let banned = runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            for topic in umbra_network::Topic::ALL {
                liar.publish(topic, vec![0xff; 40]);
            }
            let state = node.rpc("system_networkState", json!([]))["result"].clone();
            if state["bannedPeers"].as_array().unwrap().iter().any(|p| p.as_str() == Some(liar_id.as_str())) {
                return true;
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            let event = tokio::time::timeout(Duration::from_millis(200), events.recv()).await;
            if let Ok(Some(umbra_network::Event::Request { reply, .. })) = event {
                let _ = reply.send(b"not a block".to_vec());
            }
        }
    });
    assert!(banned, "the liar was not banned; node log:\n{}", std::fs::read_to_string(&node.log).unwrap());
    // Disconnected, and kept out while the liar redials.
    stays("the liar to stay disconnected", Duration::from_secs(5), Duration::from_secs(30), || {
        liar.peers().iter().all(|p| p.id.to_string() != node_id)
    });

    // The honest chain is unchanged and goes on.
    let numbers: Vec<u32> = (1..=finalized_before).collect();
    let canonical_after =
        node.rpc("chain_getBlockHash", json!([numbers]))["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(canonical_after, canonical_before);
    let f = node.heads().1;
    wait_for("finality to go on", Duration::from_secs(30), || (node.heads().1 > f).then_some(()));
    let _ = stop.send(true);
}

/// Dave's misbehaviour, played by this test with Dave's dev keys on a
/// libp2p peer of its own: two headers sealed for one of Dave's slots, and
/// two different prevotes in each coming GRANDPA round.
struct Equivocator {
    peer: umbra_network::NetworkHandle,
    sr: umbra_crypto::sr25519::Pair,
    ed: umbra_crypto::ed25519::Pair,
    genesis: umbra_primitives::H256,
}

impl Equivocator {
    fn double_seal(&self, slot: u64) {
        use parity_scale_codec::Encode;
        use umbra_primitives::header::{Digest, DigestItem, Header, AURA_ENGINE_ID};
        for salt in [1u8, 2] {
            let mut header = Header {
                parent_hash: self.genesis,
                number: 1,
                state_root: umbra_primitives::H256([salt; 32]),
                extrinsics_root: umbra_primitives::H256::zero(),
                digest: Digest { logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())] },
            };
            let seal = self.sr.sign_deterministic(header.hash().as_bytes());
            header.digest.logs.push(DigestItem::Seal(AURA_ENGINE_ID, seal.0.to_vec()));
            self.peer.publish(umbra_network::Topic::Blocks, header.encode());
        }
    }

    fn double_vote(&self, set_id: u64, round: u64, a: (umbra_primitives::H256, u32), b: (umbra_primitives::H256, u32)) {
        use parity_scale_codec::Encode;
        for (hash, number) in [a, b] {
            let message = finality_grandpa::Message::Prevote(finality_grandpa::Prevote {
                target_hash: hash,
                target_number: number,
            });
            let payload = umbra_primitives::grandpa::localized_payload(round, set_id, &message);
            let vote =
                finality_grandpa::SignedMessage { message, signature: self.ed.sign(&payload), id: self.ed.public() };
            let gossip = umbra_consensus::grandpa::GossipMessage::Vote { set_id, round, vote };
            self.peer.publish(umbra_network::Topic::Grandpa, gossip.encode());
        }
    }
}

fn h256(v: &Value) -> umbra_primitives::H256 {
    umbra_primitives::H256::from_slice(&hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap())
}

/// The offenders recorded in `Offences.Reports`.
fn offenders(node: &NodeProcess) -> Vec<[u8; 32]> {
    let prefix = format!("0x{}", hex::encode(umbra_trie::storage_key::storage_prefix("Offences", "Reports")));
    let keys = node.rpc("state_getKeysPaged", json!([prefix, 100]))["result"].as_array().cloned().unwrap_or_default();
    keys.iter()
        .filter_map(|k| {
            let value = node.rpc("state_getStorage", json!([k]))["result"].as_str()?.to_string();
            let bytes = hex::decode(value.trim_start_matches("0x")).ok()?;
            let details: umbra_runtime::modules::offences::OffenceDetails =
                parity_scale_codec::Decode::decode(&mut &bytes[..]).ok()?;
            Some(details.offender.0)
        })
        .collect()
}

#[test]
fn a_validator_that_equivocates_is_reported_and_recorded_once() {
    use parity_scale_codec::Encode;
    let mut net = Net::new("local-4", 3);
    for (i, name) in ["alice", "bob", "charlie"].iter().enumerate() {
        net.start(i, Some(name));
    }
    net.wait_finalized(2, Duration::from_secs(120));
    let node = net.node(0);
    let genesis = h256(&node.rpc("chain_getBlockHash", json!([0]))["result"]);
    let address = node.rpc("system_localListenAddresses", json!([]))["result"][0].as_str().unwrap().to_string();
    let uri = umbra_crypto::suri::SecretUri::parse("//Dave").unwrap();
    let sr = umbra_crypto::sr25519::Pair::from_suri(&uri).unwrap();
    let ed = umbra_crypto::ed25519::Pair::from_suri(&uri).unwrap();
    let (dave_sr, dave_ed) = (sr.public().0, ed.public().0);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let (peer, _events) = runtime.block_on(async {
        let mut config = umbra_network::Config::new([43; 32], genesis, vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()]);
        config.bootnodes = vec![address.parse().unwrap()];
        let status: umbra_network::StatusSource = std::sync::Arc::new(move || umbra_network::Status {
            genesis,
            best_number: 0,
            best_hash: genesis,
            authority: true,
        });
        let (handle, events, _task) = umbra_network::start(config, status, stopped).await.unwrap();
        (handle, events)
    });
    let dave = Equivocator { peer, sr, ed, genesis };

    // Until both offences are on chain: a double seal in Dave's slot of the
    // moment (Dave is authority 3 of 4), and double prevotes in the rounds
    // the voters are in or about to start.
    wait_for("both offences to be recorded", Duration::from_secs(120), || {
        #[allow(clippy::disallowed_methods)] // the test plays a validator: it needs the slot of now
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        let slot = (now / 2000 - 1..=now / 2000 + 1).find(|s| s % 4 == 3);
        if let Some(slot) = slot {
            dave.double_seal(slot);
        }
        let state = node.rpc("grandpa_roundState", json!([]))["result"].clone();
        let (set_id, round) = (state["setId"].as_u64().unwrap(), state["best"]["round"].as_u64().unwrap());
        let best = node.rpc("chain_getHeader", json!([]))["result"].clone();
        let finalized_hash = node.rpc("chain_getFinalizedHead", json!([]))["result"].clone();
        let finalized = node.rpc("chain_getHeader", json!([finalized_hash]))["result"].clone();
        let number =
            |h: &Value| u32::from_str_radix(h["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
        let best_ref = (h256(&node.rpc("chain_getBlockHash", json!([number(&best)]))["result"]), number(&best));
        let finalized_ref = (h256(&finalized_hash), number(&finalized));
        if best_ref.1 > finalized_ref.1 {
            for r in round..round + 3 {
                dave.double_vote(set_id, r, best_ref, finalized_ref);
            }
        }
        std::thread::sleep(Duration::from_millis(400));
        let recorded = offenders(node);
        (recorded.contains(&dave_sr) && recorded.contains(&dave_ed)).then_some(recorded)
    });

    // A report made by hand: accepted once, then stale; a forged one is
    // refused and records nothing. (Checked by its own record: the nodes'
    // reports of Dave's later rounds may still be landing meanwhile.)
    let manual_id = umbra_runtime::modules::offences::report_id(
        &umbra_runtime::modules::offences::GRANDPA_EQUIVOCATION,
        &(0u64, 1_000_000u64).encode(),
        &umbra_primitives::AccountId32(dave_ed),
    );
    let manual_key = format!("0x{}", hex::encode(umbra_runtime::modules::offences::keys::reports(&manual_id)));
    let recorded = || node.rpc("state_getStorage", json!([manual_key]))["result"].is_string();
    let proof = |round: u64| {
        let sign = |target: u8| {
            let prevote =
                finality_grandpa::Prevote { target_hash: umbra_primitives::H256([target; 32]), target_number: 1 };
            let message = finality_grandpa::Message::Prevote(prevote.clone());
            (prevote, dave.ed.sign(&umbra_primitives::grandpa::localized_payload(round, 0, &message)))
        };
        umbra_runtime::modules::grandpa::EquivocationProof {
            set_id: 0,
            equivocation: umbra_runtime::modules::grandpa::Equivocation::Prevote(finality_grandpa::Equivocation {
                round_number: round,
                identity: dave.ed.public(),
                first: sign(1),
                second: sign(2),
            }),
        }
    };
    let submit = |proof: umbra_runtime::modules::grandpa::EquivocationProof| {
        let call =
            umbra_runtime::RuntimeCall::Grandpa(umbra_runtime::modules::grandpa::Call::report_equivocation_unsigned {
                equivocation_proof: Box::new(proof),
            });
        let xt = umbra_runtime::extrinsic::RuntimeExtrinsic::new_unsigned(call).to_opaque();
        node.rpc("author_submitExtrinsic", json!([format!("0x{}", hex::encode(xt.encode()))]))
    };
    let mut forged = proof(1_000_000);
    if let umbra_runtime::modules::grandpa::Equivocation::Prevote(e) = &mut forged.equivocation {
        e.second.1 = e.first.1;
    }
    let refused = submit(forged);
    assert_eq!(refused["error"]["code"], 1010, "a forged report is invalid: {refused}");
    assert!(!recorded(), "the forged report recorded nothing");
    assert!(submit(proof(1_000_000))["result"].is_string(), "a valid report is accepted");
    wait_for("the report to be recorded", Duration::from_secs(60), || recorded().then_some(()));
    let replayed = submit(proof(1_000_000));
    assert_eq!(replayed["error"]["code"], 1010, "a replayed report is outdated: {replayed}");

    // The honest validators agree and go on finalizing.
    let f = net.finalized(0);
    net.wait_finalized(f + 2, Duration::from_secs(60));
    net.assert_safe();
}

#[test]
fn a_devnet_of_three_validators_finalizes_with_workers_on_other_nodes() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("devnet");
    let rpc_port = free_port();
    let mut devnet = umbra_e2e::Devnet::start(&base, rpc_port, &["--validators", "3", "--workers", "1"]);
    devnet.wait_line("the devnet to be ready", Duration::from_secs(300), |l| l.contains("press Ctrl-C to stop"));
    let text = devnet.seen.join("\n");
    assert!(text.contains("starting 3 validator nodes"), "{text}");
    assert!(text.contains("3 validators connected"), "{text}");
    // The worker's relayer follows Bob's node, not Alice's.
    let bob: u16 = umbra_e2e::word_after(&text, "node 2 (bob) JSON-RPC:").rsplit(':').next().unwrap().parse().unwrap();
    let charlie: u16 =
        umbra_e2e::word_after(&text, "node 3 (charlie) JSON-RPC:").rsplit(':').next().unwrap().parse().unwrap();
    let relayer = std::fs::read_to_string(base.join("pruntime-relayer.log")).unwrap();
    assert!(relayer.contains(&format!("127.0.0.1:{bob}")), "worker 1's relayer follows node 2: {relayer}");

    // All three finalize one chain; the status line shows every node.
    let heads = |port: u16| {
        let fin = umbra_e2e::http_rpc(port, "chain_getFinalizedHead", json!([]))["result"].clone();
        let header = umbra_e2e::http_rpc(port, "chain_getHeader", json!([fin]))["result"].clone();
        u32::from_str_radix(header["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    let start = heads(rpc_port);
    for port in [rpc_port, bob, charlie] {
        wait_for("every node to finalize", Duration::from_secs(60), || (heads(port) >= start + 2).then_some(()));
    }
    let at = start + 1;
    let hashes: Vec<Value> = [rpc_port, bob, charlie]
        .iter()
        .map(|p| umbra_e2e::http_rpc(*p, "chain_getBlockHash", json!([at]))["result"].clone())
        .collect();
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
    devnet.wait_line("a status line with every node", Duration::from_secs(60), |l| {
        l.contains("| node 2 #") && l.contains("| node 3 #") && l.contains("registered")
    });

    // Root changes the GRANDPA set to Alice and Bob: every node enacts it,
    // finality goes on under the new set, and the worker (on Bob's node)
    // follows the change with its light client and stays registered.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (change_block, _) = runtime.block_on(async {
        let client = umbra_client::Client::connect(&format!("ws://127.0.0.1:{rpc_port}")).await.unwrap();
        let key = |name: &str| umbra_crypto::suri::SecretUri::parse(&format!("//{name}")).unwrap();
        let alice = umbra_crypto::Pair::from_suri(umbra_crypto::Scheme::Sr25519, &key("Alice")).unwrap();
        let voter = |name: &str| (umbra_crypto::ed25519::Pair::from_suri(&key(name)).unwrap().public(), 1u64);
        let call = umbra_runtime::RuntimeCall::Grandpa(umbra_runtime::modules::grandpa::Call::schedule_change {
            next_authorities: vec![voter("Alice"), voter("Bob")],
            delay: 0,
        });
        client.sudo(&alice, call, Duration::from_secs(120), |_| {}).await.unwrap()
    });
    for port in [rpc_port, bob, charlie] {
        wait_for("every node to enact set 1", Duration::from_secs(60), || {
            let state = umbra_e2e::http_rpc(port, "grandpa_roundState", json!([]))["result"].clone();
            (state["setId"] == 1).then_some(())
        });
        wait_for("finality under the new set", Duration::from_secs(90), || {
            (heads(port) >= change_block + 3).then_some(())
        });
    }
    let worker = umbra_e2e::Pruntime::at(devnet.worker_private(1), devnet.worker_private(1) + 1);
    wait_for("the worker to follow the set change", Duration::from_secs(90), || {
        let status = worker.status()?;
        (status.core.registered && status.core.synced_block? >= change_block + 2).then_some(())
    });
}

/// Waits until every node's finalized head has stayed where it is for
/// `hold` (finality stopped); returns the heads.
fn finality_stops(net: &Net, nodes: &[usize], hold: Duration) -> Vec<u32> {
    let mut last: Vec<u32> = nodes.iter().map(|i| net.finalized(*i)).collect();
    stays("finality to stop", hold, Duration::from_secs(90), || {
        let now: Vec<u32> = nodes.iter().map(|i| net.finalized(*i)).collect();
        let same = now == last;
        last = now;
        same
    });
    last
}

#[test]
fn partitions_never_finalize_conflicting_blocks_and_heal_into_one_chain() {
    let mut net = Net::reserved_only("local-4", 4);
    for (i, name) in VALIDATORS.iter().enumerate() {
        net.start(i, Some(name));
    }
    net.wait_finalized(3, Duration::from_secs(120));

    // 2 | 2: neither side has more than two thirds; both author, neither
    // finalizes, so no two finalized blocks can conflict.
    net.partition(&[&[0, 1], &[2, 3]]);
    let stopped = finality_stops(&net, &[0, 1, 2, 3], Duration::from_secs(8));
    let top = *stopped.iter().max().unwrap();
    for i in [0, 2] {
        wait_for("both sides to author", Duration::from_secs(30), || (net.node(i).heads().0 > top + 1).then_some(()));
    }
    let before = net.assert_safe();
    net.heal();
    net.wait_finalized(top + 3, Duration::from_secs(120));
    let healed = net.assert_safe();
    assert_eq!(&healed[..before.len()], &before[..], "nothing final reverted");

    // 1 | 3: the three finalize on; the one alone cannot; once healed it
    // drops its own fork for the finalized chain.
    net.partition(&[&[0], &[1, 2, 3]]);
    let alone = finality_stops(&net, &[0], Duration::from_secs(6))[0];
    for i in 1..4 {
        wait_for("the three to finalize on", Duration::from_secs(60), || (net.finalized(i) >= alone + 3).then_some(()));
    }
    assert!(net.finalized(0) <= alone + 1, "the lone node finalized without a supermajority");
    let before = net.assert_safe();
    net.heal();
    let level = (1..4).map(|i| net.finalized(i)).max().unwrap();
    wait_for("the lone node to rejoin the finalized chain", Duration::from_secs(90), || {
        (net.finalized(0) >= level).then_some(())
    });
    let healed = net.assert_safe();
    assert_eq!(&healed[..before.len()], &before[..], "nothing final reverted");
}

/// splitmix64: a tiny seeded generator for fault schedules.
struct Schedule(u64);

impl Schedule {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Kills, restarts, partitions and heals from a seed (`UMBRA_FAULT_SEED`,
/// else a fresh one, printed) for `UMBRA_FAULT_SECS` seconds (60 in CI,
/// 120 for the full scale), checking after every step that no two live
/// nodes finalized conflicting blocks and nothing final reverted; then
/// everything is restarted and healed and finality must advance.
#[test]
fn a_random_fault_schedule_keeps_safety_and_then_liveness() {
    let seed = std::env::var("UMBRA_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        #[allow(clippy::disallowed_methods)] // a fresh seed for each run, printed to reproduce it
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        now.as_nanos() as u64
    });
    let secs: u64 = std::env::var("UMBRA_FAULT_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    println!("fault schedule seed {seed} ({secs} s): UMBRA_FAULT_SEED={seed} reproduces it");
    let mut rng = Schedule(seed);
    let mut net = Net::reserved_only("local-4", 4);
    for (i, name) in VALIDATORS.iter().enumerate() {
        net.start(i, Some(name));
    }
    net.wait_finalized(2, Duration::from_secs(120));
    let mut final_chain = net.assert_safe();
    let steps = secs / 5;
    for step in 0..steps {
        let alive = net.alive();
        let dead: Vec<usize> = (0..4).filter(|i| !alive.contains(i)).collect();
        match rng.below(4) {
            0 if alive.len() > 2 => {
                let victim = alive[rng.below(alive.len() as u64) as usize];
                println!("step {step}: SIGKILL node {victim}");
                net.kill(victim);
            }
            1 if !dead.is_empty() => {
                let back = dead[rng.below(dead.len() as u64) as usize];
                println!("step {step}: restart node {back}");
                net.start(back, Some(VALIDATORS[back]));
            }
            2 => {
                let mut order: Vec<usize> = (0..4).collect();
                for k in (1..4).rev() {
                    order.swap(k, rng.below(k as u64 + 1) as usize);
                }
                let cut = 1 + rng.below(2) as usize;
                let (a, b) = (order[..cut].to_vec(), order[cut..].to_vec());
                println!("step {step}: partition {a:?} | {b:?}");
                net.partition_alive(&[a, b]);
            }
            _ => {
                println!("step {step}: heal");
                net.heal();
            }
        }
        // The fault's duration (the schedule), not a synchronisation.
        std::thread::sleep(Duration::from_secs(5));
        let chain = net.assert_safe();
        let common = chain.len().min(final_chain.len());
        assert_eq!(&chain[..common], &final_chain[..common], "seed {seed}: a finalized block reverted at step {step}");
        if chain.len() > final_chain.len() {
            final_chain = chain;
        }
    }
    for (i, name) in VALIDATORS.iter().enumerate() {
        if net.nodes[i].is_none() {
            net.start(i, Some(name));
        }
    }
    net.heal();
    let top = (0..4).map(|i| net.finalized(i)).max().unwrap();
    net.wait_finalized(top + 3, Duration::from_secs(120));
    let chain = net.assert_safe();
    assert_eq!(&chain[..final_chain.len()], &final_chain[..], "seed {seed}: a finalized block reverted");
}

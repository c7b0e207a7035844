//! Every example contract on `umbra devnet`, only through the CLI: built
//! (`umbra contract build`), uploaded, instantiated into one random
//! 2-replica cluster, called with sealed commands and queried on both
//! replicas with signed (and anonymous) queries. A chain observer (block
//! bodies, the Contracts storage) never sees a bid, a dataset, a client
//! hash, a vote's arguments or a transfer.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::time::Duration;

use parity_scale_codec::Encode;
use umbra_e2e::{free_port, wait_for, word_after, Devnet};
use umbra_primitives::AccountId32;

const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
const CHARLIE: &str = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y";

/// The hex form the CLI prints for `[u8; 32]` values.
fn id_hex(ss58: &str) -> String {
    format!("0x{}", hex::encode(AccountId32::parse(ss58).unwrap().0))
}

struct Net {
    devnet: Devnet,
    cluster: String,
}

impl Net {
    /// Builds the example crate, uploads it and instantiates it with
    /// `args` by Alice; returns the contract id.
    fn deploy(&self, krate: &str, args: &str) -> String {
        let code = self.devnet.upload_crate(&format!("contracts/{krate}"));
        let ready =
            self.devnet.umbra_ok(&["contract", "instantiate", &code, "--cluster", &self.cluster, "--args", args]);
        assert!(ready.contains(" ready "), "{ready}");
        word_after(&ready, "contract ")
    }

    /// A sealed command; returns the decrypted output line.
    fn call(&self, contract: &str, from: &str, method: &str, args: &str) -> String {
        self.devnet.umbra_ok(&["contract", "call", contract, method, "--args", args, "--from", from])
    }

    /// A query on replica `replica` (1 or 2), signed by `from` unless
    /// anonymous; returns the answer line.
    fn query(&self, contract: &str, from: Option<&str>, replica: usize, method: &str, args: &str) -> String {
        let worker = &self.replicas()[replica - 1];
        let mut cli = vec!["contract", "query", contract, method, "--args", args, "--worker", worker];
        if let Some(from) = from {
            cli.extend(["--from", from]);
        }
        self.devnet.umbra_ok(&cli)
    }

    /// The public API URLs of the cluster's two replicas, in cluster order.
    fn replicas(&self) -> Vec<String> {
        let shown = self.devnet.umbra_ok(&["cluster", "show", &self.cluster]);
        let members: Vec<String> = shown
            .lines()
            .skip_while(|l| !l.trim().starts_with("workers:"))
            .skip(1)
            .take_while(|l| l.starts_with("    0x"))
            .map(|l| l.trim().to_string())
            .collect();
        members
            .iter()
            .map(|id| {
                let i = (1..=2).find(|i| self.devnet.worker_identity(*i).as_deref() == Some(id.as_str())).unwrap();
                self.devnet.worker_url(i)
            })
            .collect()
    }
}

/// The state root a query answer names.
fn root(answer: &str) -> String {
    word_after(answer, "state root ")
}

#[test]
fn every_example_contract_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let mut devnet = Devnet::start(&dir.path().join("devnet"), free_port(), &[]);
    devnet.wait_line("the devnet to start", Duration::from_secs(300), |l| l.starts_with("press Ctrl-C"));
    let created = devnet.umbra_ok(&["cluster", "create", "--replicas", "2"]);
    assert!(created.contains("created by random dispatch"), "{created}");
    let cluster = word_after(&created, "cluster ");
    wait_for("the cluster key", Duration::from_secs(60), || {
        devnet.umbra_ok(&["cluster", "show", &cluster]).contains("x25519 key: 0x").then_some(())
    });
    let net = Net { devnet, cluster };

    // Sealed-bid auction: bids private while open, winner and second
    // price public after closing.
    let auction = net.deploy("auction", "[100]");
    assert!(net.call(&auction, "//Bob", "bid", "[777777777777]").starts_with("()"));
    assert!(net.call(&auction, "//Charlie", "bid", "[555555555555]").starts_with("()"));
    let own = net.query(&auction, Some("//Bob"), 1, "my_bid", "[]");
    assert!(own.contains("777777777777"), "{own}");
    let alice_sees = net.query(&auction, Some("//Alice"), 2, "my_bid", "[]");
    assert!(alice_sees.starts_with("None"), "the seller sees no bid: {alice_sees}");
    let early = net.query(&auction, None, 1, "winner", "[]");
    assert!(early.starts_with("Err(WrongPhase)"), "{early}");
    let not_seller = net.call(&auction, "//Bob", "close", "[]");
    assert!(not_seller.starts_with("Err(NotSeller)"), "{not_seller}");
    assert!(net.call(&auction, "//Alice", "close", "[]").starts_with("()"));
    let winner = net.query(&auction, None, 1, "winner", "[]");
    assert!(winner.starts_with(&format!("{} (block", id_hex(BOB))), "{winner}");
    let price = net.query(&auction, None, 2, "price", "[]");
    assert!(price.starts_with("555555555555 (block"), "{price}");
    assert_eq!(root(&winner), root(&price), "both replicas answer from one committed state");

    // Data exchange: the dataset reaches the paying buyer only.
    let exchange = net.deploy("data-exchange", "[]");
    let dataset = b"umbra e2e dataset: 412 cases, cohort 7".to_vec();
    let listed = net.call(&exchange, "//Bob", "list", &format!("[40, \"0x{}\"]", hex::encode(&dataset)));
    assert!(listed.starts_with('0'), "{listed}");
    let refused = net.query(&exchange, Some("//Charlie"), 1, "read", "[0]");
    assert!(refused.starts_with("Err(NotABuyer)"), "{refused}");
    let poor = net.call(&exchange, "//Charlie", "buy", "[0]");
    assert!(poor.starts_with("Err(InsufficientCredits)"), "{poor}");
    assert!(net.call(&exchange, "//Alice", "grant", &format!("[\"{CHARLIE}\", 100]")).starts_with("()"));
    assert!(net.call(&exchange, "//Charlie", "buy", "[0]").starts_with("()"));
    for replica in [1, 2] {
        let read = net.query(&exchange, Some("//Charlie"), replica, "read", "[0]");
        assert!(read.starts_with(&format!("0x{} (block", hex::encode(&dataset))), "{read}");
    }
    let anonymous = net.query(&exchange, None, 2, "read", "[0]");
    assert!(anonymous.starts_with("Err(Anonymous)"), "{anonymous}");
    let credits = net.query(&exchange, Some("//Bob"), 1, "credits", "[]");
    assert!(credits.starts_with("40 (block"), "{credits}");

    // Joint risk control: members learn only "flagged by ≥ 2".
    let risk = net.deploy("joint-risk", "[2]");
    let client = format!("0x{}", hex::encode(umbra_crypto::hashing::blake2_256(b"client 42 | consortium salt")));
    let other = format!("0x{}", hex::encode([0x5a; 32]));
    assert!(net.call(&risk, "//Alice", "admit", &format!("[\"{BOB}\"]")).starts_with("()"));
    assert!(net.call(&risk, "//Alice", "flag", &format!("[\"{client}\"]")).starts_with("()"));
    let one = net.query(&risk, Some("//Bob"), 1, "is_flagged", &format!("[\"{client}\"]"));
    assert!(one.starts_with("false"), "{one}");
    assert!(net.call(&risk, "//Bob", "flag", &format!("[\"{client}\"]")).starts_with("()"));
    let two = net.query(&risk, Some("//Bob"), 2, "is_flagged", &format!("[\"{client}\"]"));
    assert!(two.starts_with("true"), "{two}");
    let clean = net.query(&risk, Some("//Alice"), 1, "is_flagged", &format!("[\"{other}\"]"));
    assert!(clean.starts_with("false"), "{clean}");
    let outsider = net.query(&risk, Some("//Charlie"), 1, "is_flagged", &format!("[\"{client}\"]"));
    assert!(outsider.starts_with("Err(NotMember)"), "{outsider}");
    let stranger = net.call(&risk, "//Charlie", "flag", &format!("[\"{other}\"]"));
    assert!(stranger.starts_with("Err(NotMember)"), "{stranger}");

    // Secret ballot: a voter reads back only its own vote; the tally after
    // closing.
    let ballot = net.deploy("ballot", "[3]");
    for (voter, choice) in [("//Bob", 2), ("//Charlie", 2), ("//Alice", 0)] {
        assert!(net.call(&ballot, voter, "vote", &format!("[{choice}]")).starts_with("()"));
    }
    let twice = net.call(&ballot, "//Bob", "vote", "[1]");
    assert!(twice.starts_with("Err(AlreadyVoted)"), "{twice}");
    let mine = net.query(&ballot, Some("//Bob"), 2, "my_vote", "[]");
    assert!(mine.starts_with("Some(2) (block"), "{mine}");
    let early = net.query(&ballot, Some("//Bob"), 1, "results", "[]");
    assert!(early.starts_with("Err(WrongPhase)"), "{early}");
    assert!(net.call(&ballot, "//Alice", "close", "[]").starts_with("()"));
    let tally = net.query(&ballot, None, 1, "results", "[]");
    assert!(tally.starts_with("[1, 0, 2] (block"), "{tally}");

    // Confidential token: a transfer, and balances only for their owner.
    let token = net.deploy("token", "[1000000]");
    let sent = net.call(&token, "//Alice", "transfer", &format!("[\"{CHARLIE}\", 4242]"));
    assert!(sent.starts_with("()"), "{sent}");
    // The token's `Transfer` event reaches the caller, sealed with the
    // output, and is shown through the ABI.
    let event = format!("\n  event Transfer {{ to: {CHARLIE}, amount: 4242 }}");
    assert!(sent.contains(&event), "{sent}");
    let charlie = net.query(&token, Some("//Charlie"), 2, "balance_of", &format!("[\"{CHARLIE}\"]"));
    assert!(charlie.starts_with("4242 (block"), "{charlie}");
    let snoop = net.query(&token, Some("//Bob"), 1, "balance_of", &format!("[\"{ALICE}\"]"));
    assert!(snoop.starts_with("Err(Forbidden)"), "{snoop}");

    // The chain observer.
    let observed = net.devnet.observed();
    observed.assert_hidden("Bob's bid", &777_777_777_777u128.encode());
    observed.assert_hidden("Charlie's bid", &555_555_555_555u128.encode());
    observed.assert_hidden("the dataset", &dataset);
    observed.assert_hidden("the flagged client's hash", &hex::decode(&client[2..]).unwrap());
    observed.assert_hidden("the token transfer", &(AccountId32::parse(CHARLIE).unwrap().0, 4242u128).encode());
}

//! A real chain in memory (the runtime's `TestChain`) and GRANDPA votes by
//! its dev authority, for feeding pRuntime's core directly.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use umbra_crypto::{sr25519, x25519};
use umbra_light_client::testing::Voters;
use umbra_primitives::{
    header::Header,
    sync::{GenesisAnchor, StorageChanges},
    BlockNumber,
};
use umbra_pruntime::core::{Config, Core, Identity};
use umbra_runtime::{
    modules::grandpa,
    testing::{dev_ed25519, TestChain},
    STATE_VERSION,
};

/// A chain plus everything pRuntime needs to follow it.
pub struct Fixture {
    pub chain: TestChain,
    pub genesis_pairs: Vec<(Vec<u8>, Vec<u8>)>,
    pub anchor: GenesisAnchor,
    pub blocks: Vec<(Header, StorageChanges)>,
    pub voters: Voters,
}

impl Fixture {
    pub fn new() -> Self {
        Self::from_chain(TestChain::dev(1000))
    }

    pub fn from_chain(chain: TestChain) -> Self {
        let genesis_pairs: Vec<(Vec<u8>, Vec<u8>)> = chain.state.clone().into_iter().collect();
        let trie = umbra_trie::MemoryTrie::new(STATE_VERSION, genesis_pairs.iter().cloned()).unwrap();
        let proof = trie.read_proof([grandpa::keys::authorities(), grandpa::keys::current_set_id()]).unwrap();
        let anchor = GenesisAnchor { header: chain.head.clone(), proof: proof.nodes().map(<[u8]>::to_vec).collect() };
        let voters = Voters { pairs: vec![dev_ed25519("Alice")], set_id: 0 };
        Self { chain, genesis_pairs, anchor, blocks: Vec::new(), voters }
    }

    /// Builds and imports a block with `txs`.
    pub fn produce(&mut self, txs: Vec<umbra_primitives::block::OpaqueExtrinsic>) -> (Header, StorageChanges) {
        let (built, _) = self.chain.build(txs);
        self.chain.import(&built.header, &built.extrinsics).unwrap();
        let block = (built.header, built.changes.into_iter().collect::<StorageChanges>());
        self.blocks.push(block.clone());
        block
    }

    pub fn produce_empty(&mut self, n: usize) {
        for _ in 0..n {
            self.produce(vec![]);
        }
    }

    pub fn headers(&self, from: BlockNumber, to: BlockNumber) -> Vec<Header> {
        self.blocks[(from - 1) as usize..to as usize].iter().map(|(h, _)| h.clone()).collect()
    }

    pub fn changes(&self, from: BlockNumber, to: BlockNumber) -> Vec<(BlockNumber, StorageChanges)> {
        self.blocks[(from - 1) as usize..to as usize].iter().map(|(h, c)| (h.number, c.clone())).collect()
    }

    pub fn justify(&self, header: &Header) -> Vec<u8> {
        self.voters.justify(header)
    }
}

pub fn identity(seed: u8) -> Identity {
    Identity { signing: sr25519::Pair::from_seed(&[seed; 32]), ecdh: x25519::Secret::from_bytes([seed ^ 0x55; 32]) }
}

/// A core initialized on `fixture` with the genesis state loaded.
pub fn started(fixture: &Fixture) -> Core {
    let mut core = Core::new(Config::default(), identity(1));
    core.init(&fixture.anchor).unwrap();
    core
}

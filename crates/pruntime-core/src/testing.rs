//! Test support (feature `test-utils`): a real chain in memory (the
//! runtime's `TestChain`) and GRANDPA votes by its dev authority, for
//! feeding pRuntime's core directly, and a network of cores whose egress is
//! relayed into blocks as the pool would.
#![allow(missing_docs, clippy::unwrap_used)]

use crate::core::{Config, Core, Identity};
use parity_scale_codec::Encode;
use rand_core::SeedableRng;
use umbra_attestation::{
    sim::{dev_sim_service_pair, SimEvidence, SimQuote},
    Evidence, Measurement, PlatformKind, TcbStatus,
};
use umbra_crypto::{sr25519, x25519};
use umbra_light_client::testing::Voters;
use umbra_primitives::{block::OpaqueExtrinsic, extrinsic::Era};
use umbra_primitives::{
    header::Header,
    sync::{GenesisAnchor, StorageChanges},
    BlockNumber,
};
use umbra_runtime::{
    modules::grandpa,
    testing::{dev_ed25519, TestChain},
    STATE_VERSION,
};
use umbra_runtime::{
    modules::{
        message_queue,
        registry::{self, WorkerRole},
        sudo,
    },
    testing::dev_account,
    RuntimeCall,
};

/// A chain plus everything pRuntime needs to follow it.
pub struct Fixture {
    pub chain: TestChain,
    pub genesis_pairs: Vec<(Vec<u8>, Vec<u8>)>,
    pub anchor: GenesisAnchor,
    pub blocks: Vec<(Header, StorageChanges)>,
    pub voters: Voters,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
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
    let mut core = Core::new(Config::default(), identity(1), None);
    core.init(&fixture.anchor).unwrap();
    core
}

/// Key domain of the simulated TEE used by these tests.
pub const DOMAIN: umbra_crypto::labels::Domain = umbra_crypto::labels::Domain::Insecure;

/// Gatekeeper and worker cores on one chain; their egress relayed into
/// blocks exactly once per (origin, sequence), as the pool does.
pub struct Net {
    pub f: Fixture,
    pub nodes: Vec<Core>,
    pub seen: std::collections::BTreeSet<(Vec<u8>, u64)>,
    pub entropy: u8,
}

impl Net {
    pub fn new(roles: &[(u8, WorkerRole)]) -> Self {
        Self::with_domains(&roles.iter().map(|(seed, role)| (*seed, *role, DOMAIN)).collect::<Vec<_>>())
    }

    /// Like [`Net::new`], each core with its own key domain (a production
    /// gatekeeper beside simulated workers, say).
    pub fn with_domains(roles: &[(u8, WorkerRole, umbra_crypto::labels::Domain)]) -> Self {
        let mut f = Fixture::new();
        let mut nodes = Vec::new();
        for (seed, role, domain) in roles {
            let config = Config { role: *role, heartbeat_interval: 0, domain: *domain, ..Config::default() };
            let mut core = Core::new(config, identity(*seed), None);
            let effects = core.init(&f.anchor).unwrap();
            confirm(&mut core, effects);
            let effects = core.load_state(0, f.genesis_pairs.clone()).unwrap();
            confirm(&mut core, effects);
            nodes.push(core);
        }
        let add = registry::Call::add_measurement { measurement: Measurement(vec![9; 32]) };
        let xt = sign(
            &mut f,
            "Alice",
            RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(RuntimeCall::Registry(Box::new(add))) }),
        );
        let mut net = Net { f, nodes, seen: Default::default(), entropy: 100 };
        net.block(vec![xt]);
        net
    }

    /// Produces a block with `txs` plus everyone's new egress, feeds it to
    /// every core.
    pub fn block(&mut self, txs: Vec<OpaqueExtrinsic>) {
        self.block_forging(txs, Vec::new());
    }

    /// Like [`Net::block`], but the block's `MessageQueue.Outbound` also
    /// holds `forged` — what a runtime bug or a lying validator majority
    /// could finalize: the header's state root covers it and GRANDPA
    /// justifies it, so every core verifies it and must judge the messages
    /// themselves.
    pub fn block_forging(&mut self, mut txs: Vec<OpaqueExtrinsic>, forged: Vec<message_queue::Message>) {
        for i in 0..self.nodes.len() {
            for m in self.nodes[i].egress() {
                let key = (m.message.sender.encode(), m.sequence);
                if self.seen.insert(key) {
                    let call = RuntimeCall::MessageQueue(message_queue::Call::sync_offchain_message { signed: m });
                    txs.push(sign_nonce(&mut self.f, "Ferdie", call, txs.len()));
                }
            }
        }
        let (header, changes) = if forged.is_empty() {
            self.f.produce(txs)
        } else {
            let (mut built, _) = self.f.chain.build(txs);
            self.f.chain.import(&built.header, &built.extrinsics).unwrap();
            let mut outbound = message_queue::outbound(&self.f.chain.ext());
            outbound.extend(forged);
            let key = message_queue::keys::outbound();
            self.f.chain.state.insert(key.clone(), outbound.encode());
            built.changes.insert(key, Some(outbound.encode()));
            let mut header = built.header;
            header.state_root = umbra_trie::state_root(STATE_VERSION, &self.f.chain.state);
            self.f.chain.head = header.clone();
            let block = (header, built.changes.into_iter().collect::<StorageChanges>());
            self.f.blocks.push(block.clone());
            block
        };
        let justification = self.f.justify(&header);
        for core in &mut self.nodes {
            self.entropy = self.entropy.wrapping_add(1);
            feed(core, &header, &justification, &changes, [self.entropy; 32]);
        }
    }

    pub fn blocks(&mut self, n: usize) {
        for _ in 0..n {
            self.block(vec![]);
        }
    }

    pub fn register(&mut self, i: usize, measurement: [u8; 32]) {
        let info = self.nodes[i].registration_info(PlatformKind::Sim, Default::default(), None).unwrap();
        let mut report_data = [0u8; 64];
        report_data[..32].copy_from_slice(&info.binding());
        let quote = SimQuote {
            measurement,
            report_data,
            issued_at_ms: info.attested_at_ms,
            tcb_status: TcbStatus::UpToDate,
            advisories: vec![],
        };
        let evidence = Evidence::Sim(SimEvidence::sign(quote, &dev_sim_service_pair()));
        let call =
            RuntimeCall::Registry(Box::new(registry::Call::register_worker { info, evidence, collateral: None }));
        let xt = sign(&mut self.f, "Bob", call);
        self.block(vec![xt]);
    }

    pub fn sudo(&mut self, call: RuntimeCall) {
        let xt = sign(&mut self.f, "Alice", RuntimeCall::Sudo(sudo::Call::sudo { call: Box::new(call) }));
        self.block(vec![xt]);
    }

    pub fn public(&self, i: usize) -> sr25519::Public {
        self.nodes[i].identity().public()
    }

    pub fn ext(&self) -> umbra_runtime::state::Ext<'_> {
        self.f.chain.ext()
    }
}

pub fn sign(f: &mut Fixture, who: &str, call: RuntimeCall) -> OpaqueExtrinsic {
    sign_nonce(f, who, call, 0)
}

pub fn sign_nonce(f: &mut Fixture, who: &str, call: RuntimeCall, offset: usize) -> OpaqueExtrinsic {
    let nonce = f.chain.account(&dev_account(who)).nonce + offset as u32;
    f.chain.sign(who, call, nonce, 0, Era::Immortal)
}

pub fn status(core: &Core) -> umbra_protocol::api::CoreStatus {
    core.status()
}

/// What a shell does with effects when sealing always succeeds: confirms
/// the seal at once.
pub fn confirm(core: &mut Core, effects: crate::core::Effects) {
    if let Some(seal) = effects.seal {
        core.confirm_sealed(seal.version);
    }
}

/// Feeds one justified block to `core` (headers, then changes), sealing
/// every secret change at once.
pub fn feed(core: &mut Core, header: &Header, justification: &[u8], changes: &StorageChanges, entropy: [u8; 32]) {
    let (_, effects) = core.sync_headers(std::slice::from_ref(header), justification).unwrap();
    confirm(core, effects);
    let (applied, effects) = core.dispatch_blocks(&[(header.number, changes.clone())], entropy);
    applied.unwrap();
    confirm(core, effects);
}

/// `who`'s command `input` to `contract`, sealed to `recipient` (the
/// contract's X25519 key, or the cluster's for a constructor) and bound to
/// (genesis, contract, `who`, `nonce`). Returns what `Contracts.call` /
/// `instantiate` take and what opens the output.
pub fn seal_command(
    f: &Fixture,
    recipient: [u8; 32],
    who: &str,
    contract: &umbra_primitives::H256,
    nonce: u64,
    input: Vec<u8>,
) -> (umbra_runtime::modules::contracts::SealedCommand, umbra_crypto::envelope::ReplyOpener) {
    use umbra_crypto::envelope::{self, Purpose};
    use umbra_runtime::modules::contracts::{CommandBinding, SealedCommand};
    let binding =
        CommandBinding { genesis: f.chain.genesis_hash, contract: *contract, caller: dev_account(who), nonce };
    let sealed = envelope::seal(
        &mut rand_chacha::ChaCha20Rng::from_seed(umbra_crypto::hashing::blake2_256(&(binding, &input).encode())),
        &x25519::Public(recipient),
        umbra_crypto::labels::Label::Envelope.in_domain(DOMAIN),
        &envelope::context(&f.chain.genesis_hash.0, Purpose::Command, &binding.subject()),
        &umbra_protocol::wire::CommandPayload { input }.encode(),
    )
    .unwrap();
    (SealedCommand { binding, envelope: sealed.envelope.to_bytes() }, sealed.reply)
}

impl Net {
    /// A gatekeeper (core 0) with epoch 0 and `workers` worker cores
    /// (1..=workers), all registered, and a cluster of the workers whose key
    /// they hold. Returns the cluster.
    pub fn with_cluster(workers: u8) -> (Net, umbra_primitives::H256) {
        use umbra_runtime::modules::{contracts, gatekeeper};
        let mut roles = vec![(1u8, WorkerRole::Gatekeeper)];
        roles.extend((0..workers).map(|i| (2 + i, WorkerRole::Worker)));
        let mut net = Net::new(&roles);
        for i in 0..=usize::from(workers) {
            net.register(i, [9; 32]);
        }
        net.sudo(RuntimeCall::Gatekeeper(gatekeeper::Call::add_gatekeeper { identity: net.public(0) }));
        net.blocks(2);
        let replicas = (1..=usize::from(workers)).map(|i| net.public(i)).collect();
        net.sudo(RuntimeCall::Contracts(contracts::Call::create_cluster { workers: replicas }));
        net.blocks(2);
        let count: u64 = net.ext().get_or_default(&contracts::keys::cluster_count());
        (net, contracts::cluster_id(count.saturating_sub(1)))
    }

    /// Uploads `code` and instantiates it in `cluster` as `who` (empty
    /// constructor input); returns the contract once its keys are on chain.
    pub fn deploy(
        &mut self,
        who: &str,
        cluster: &umbra_primitives::H256,
        code: Vec<u8>,
        salt: &[u8],
    ) -> umbra_primitives::H256 {
        use umbra_runtime::modules::contracts;
        let code_hash = umbra_primitives::H256(umbra_crypto::hashing::blake2_256(&code));
        if !self.ext().exists(&contracts::keys::code_info(&code_hash)) {
            let upload = sign(&mut self.f, "Bob", RuntimeCall::Contracts(contracts::Call::upload_code { code }));
            self.block(vec![upload]);
        }
        let contract = contracts::contract_id(&dev_account(who), &code_hash, cluster, salt);
        let cluster_ecdh = contracts::cluster_ecdh(&self.ext(), cluster).expect("cluster key published");
        let nonce = contracts::command_nonce(&self.ext(), &dev_account(who));
        let (command, _) = seal_command(&self.f, cluster_ecdh, who, &contract, nonce, vec![]);
        let instantiate = RuntimeCall::Contracts(contracts::Call::instantiate {
            cluster: *cluster,
            code_hash,
            salt: salt.to_vec(),
            command,
            gas_limit: 1_000_000_000,
        });
        let xt = sign(&mut self.f, who, instantiate);
        self.block(vec![xt]);
        self.blocks(3);
        assert!(contracts::contract(&self.ext(), &contract).and_then(|c| c.pubkeys).is_some(), "constructor committed");
        contract
    }

    /// `who`'s command `input` to `contract` with `gas_limit`, as the
    /// `offset`-th transaction of `who` in the next block.
    pub fn command(
        &mut self,
        who: &str,
        contract: &umbra_primitives::H256,
        input: Vec<u8>,
        gas_limit: u64,
        offset: usize,
    ) -> (OpaqueExtrinsic, umbra_crypto::envelope::ReplyOpener) {
        use umbra_runtime::modules::contracts;
        let keys = contracts::contract(&self.ext(), contract).and_then(|c| c.pubkeys).expect("contract ready");
        let nonce = contracts::command_nonce(&self.ext(), &dev_account(who)) + offset as u64;
        let (command, opener) = seal_command(&self.f, keys.ecdh, who, contract, nonce, input);
        let call = RuntimeCall::Contracts(contracts::Call::call { contract: *contract, command, gas_limit });
        (sign_nonce(&mut self.f, who, call, offset), opener)
    }
}

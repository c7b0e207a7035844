//! pRuntime's deterministic core: everything it believes about the chain,
//! changed only by verified input. No clock, no IO, no randomness: the
//! shell passes in what it needs (identity keys, sealed bytes, time for
//! staleness).
//!
//! Input order (from the untrusted relayer):
//!
//! 1. [`Core::init`] with the chain's [`GenesisAnchor`]: the genesis set is
//!    read from a trie proof against the genesis header's state root.
//! 2. [`Core::sync_headers`]: header batches ending in a justification, into
//!    the light client; verified headers wait in `pending` (bounded).
//! 3. [`Core::load_state`] (fast sync, once) at a pending or finalized block,
//!    checked against that header's state root, then
//!    [`Core::dispatch_blocks`]: each next block's exact storage changes,
//!    applied to the replica and checked against the header's state root
//!    before the block's messages are processed.
//!
//! Every refusal is a precise [`Error`] and leaves the core unchanged
//! (`dispatch_blocks` applies a prefix: blocks before the bad one stay, and
//! the error names the bad one).

use std::collections::VecDeque;

use parity_scale_codec::{Decode, Encode};
use umbra_crypto::{sr25519, x25519};
use umbra_light_client::{AuthoritySet, LightClient};
use umbra_primitives::{
    grandpa::AuthorityList,
    header::Header,
    sync::{GenesisAnchor, StorageChanges},
    BlockNumber, H256,
};
use umbra_runtime::{
    modules::{
        grandpa as grandpa_module,
        message_queue::{self, Message, MessageOrigin, SignedMessage},
        registry::{self, Heartbeat, WorkerRole},
        timestamp,
    },
    routing,
};
use umbra_trie::StorageProof;

use crate::{replica::Replica, Error};

/// Most verified headers waiting for their blocks.
pub const MAX_PENDING_HEADERS: usize = 65_536;
/// Most egress messages waiting for the chain.
pub const MAX_EGRESS: usize = 4096;

/// The worker's keys. Generated inside the TEE and sealed; never leave.
pub struct Identity {
    /// Signs everything the worker emits.
    pub signing: sr25519::Pair,
    /// Users and gatekeepers encrypt to it.
    pub ecdh: x25519::Secret,
}

impl Identity {
    /// The identity public key.
    pub fn public(&self) -> sr25519::Public {
        self.signing.public()
    }
}

/// Where the worker is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum WorkerState {
    /// Not (yet) on chain.
    #[codec(index = 0)]
    Unregistered,
    /// Registered; first seen registered at this block.
    #[codec(index = 1)]
    Registered {
        /// Block of first sight.
        since: BlockNumber,
    },
}

/// Behaviour knobs (from the operator; not security relevant) and the key
/// domain of the platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Role to register for.
    pub role: WorkerRole,
    /// Emit a heartbeat every this many blocks once registered (0: never).
    pub heartbeat_interval: BlockNumber,
    /// Caught up means at most this many blocks behind the relayer's
    /// reported finalized head.
    pub caught_up_slack: BlockNumber,
    /// Key domain: `Insecure` on a simulated TEE.
    pub domain: umbra_crypto::labels::Domain,
    /// Test-only fault hook: this replica's contract state diverges on
    /// purpose (shows the chain freezing a cluster). Never set it in
    /// production; the binary prints a warning when it is.
    pub test_fault_diverge: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            role: WorkerRole::Worker,
            heartbeat_interval: 20,
            caught_up_slack: 2,
            domain: umbra_crypto::labels::Domain::Production,
            test_fault_diverge: false,
        }
    }
}

/// Everything the core persists in a checkpoint besides the replica.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SyncState {
    /// The genesis header (the trust anchor).
    pub genesis: Header,
    /// The light client.
    pub light_client: LightClient,
    /// Verified headers whose blocks are not dispatched yet.
    pub pending: VecDeque<Header>,
    /// The block the replica is at (`None` before the state is loaded).
    pub state_at: Option<Header>,
    /// Signed messages not yet accepted by the chain.
    pub egress: Vec<SignedMessage>,
    /// The next egress sequence to use.
    pub next_sequence: u64,
    /// Worker life.
    pub worker: WorkerState,
    /// Block of the last heartbeat emitted.
    pub last_heartbeat: Option<BlockNumber>,
    /// Messages from trusted origins that did not decode (a bug signal).
    pub malformed_messages: u64,
    /// `Outbound` messages on a notice topic whose sender is not the topic's
    /// owning module (ignored; the chain refuses to store them).
    pub forged_notices: u64,
    /// Gatekeeper-channel sequence, divergences, key errors.
    pub keys: crate::keys::KeyState,
}

/// What the relayer sees in `status`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    /// Whether `init` happened.
    pub initialized: bool,
    /// Genesis hash (0x-hex).
    pub genesis_hash: Option<String>,
    /// Light client's finalized block.
    pub headers_finalized: BlockNumber,
    /// Headers waiting for their blocks.
    pub pending_headers: usize,
    /// The block the replica is at.
    pub synced_block: Option<BlockNumber>,
    /// Current GRANDPA set id.
    pub set_id: u64,
    /// The relayer's last reported chain finalized head.
    pub chain_head_hint: BlockNumber,
    /// Synced to within the slack of that head.
    pub caught_up: bool,
    /// Worker state.
    pub registered: bool,
    /// Egress messages waiting.
    pub egress_pending: usize,
    /// Next egress sequence.
    pub next_sequence: u64,
    /// Keys in the replica.
    pub state_keys: usize,
    /// Bytes in the replica.
    pub state_bytes: usize,
    /// Trusted-origin messages that did not decode.
    pub malformed_messages: u64,
    /// Notices ignored because their sender does not own their topic.
    pub forged_notices: u64,
    /// Whether this worker is in the gatekeeper set.
    pub gatekeeper: bool,
    /// Master-key epochs held, with their gatekeeper signing keys (0x-hex).
    pub epochs: Vec<(u32, String)>,
    /// Cluster keys held: (cluster, epoch, cluster signing key), 0x-hex.
    pub clusters: Vec<(String, u32, String)>,
    /// On-chain key material that differs from what this pRuntime computed.
    pub divergences: u64,
    /// Key messages that could not be opened or checked.
    pub key_errors: u64,
    /// Contract execution counters.
    pub contracts: crate::contracts::ExecStats,
    /// Hosted clusters: (cluster, executed block, contracts, state root), 0x-hex.
    pub hosted: Vec<(String, BlockNumber, usize, String)>,
}

/// The core.
pub struct Core {
    config: Config,
    identity: Identity,
    sync: Option<SyncState>,
    replica: Replica,
    /// Master key history and cluster keys (sealed, never in status).
    secrets: crate::keys::Secrets,
    /// Set when `secrets` changed and must be sealed before anything leaves.
    secrets_dirty: bool,
    /// Fresh TEE randomness for the next secret this core must create.
    entropy: Option<[u8; 32]>,
    /// Not persisted: what the relayer last said the chain's finalized head
    /// is. After a restart it is 0 until the relayer speaks, so the worker
    /// is not caught up (rollback defence).
    chain_head_hint: BlockNumber,
    /// Contract execution (state rebuilt from the chain after a restore).
    executor: crate::contracts::Executor,
}

fn decode_state<T: Decode>(reader: &umbra_trie::ProofReader, key: &[u8], what: &str) -> Result<Option<T>, Error> {
    match reader.read(key).map_err(|e| Error::Anchor(format!("{what}: {e}")))? {
        None => Ok(None),
        Some(bytes) => {
            T::decode(&mut &bytes[..]).map(Some).map_err(|_| Error::Anchor(format!("{what} does not decode")))
        }
    }
}

impl Core {
    /// A core with `identity`, not initialized.
    pub fn new(config: Config, identity: Identity) -> Self {
        let fault_diverge = config.test_fault_diverge;
        Self {
            config,
            identity,
            sync: None,
            replica: Replica::empty(),
            secrets: Default::default(),
            secrets_dirty: false,
            entropy: None,
            chain_head_hint: 0,
            executor: crate::contracts::Executor::new(fault_diverge),
        }
    }

    /// Restores a checkpoint: the sync state and the replica's pairs, which
    /// must hash to the state root of the block they claim to be at.
    pub fn restore(
        config: Config,
        identity: Identity,
        sync: SyncState,
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
        secrets: crate::keys::Secrets,
    ) -> Result<Self, Error> {
        let replica = Replica::from_pairs(pairs)?;
        match &sync.state_at {
            Some(header) if header.state_root != replica.root() => {
                return Err(Error::Checkpoint(format!(
                    "state root {:?} is not block {}'s {:?}",
                    replica.root(),
                    header.number,
                    header.state_root
                )))
            }
            None if !replica.is_empty() => return Err(Error::Checkpoint("state without a block".into())),
            _ => {}
        }
        Ok(Self {
            identity,
            sync: Some(sync),
            replica,
            secrets,
            secrets_dirty: false,
            entropy: None,
            chain_head_hint: 0,
            // Contract state is not in checkpoints: it is rebuilt from the
            // chain's delta records (the same path a new replica takes).
            executor: crate::contracts::Executor::new(config.test_fault_diverge),
            config,
        })
    }

    /// The identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The sealed secrets (for sealing only).
    pub fn secrets(&self) -> &crate::keys::Secrets {
        &self.secrets
    }

    /// Merges secrets from a sealed secrets file (newer than a checkpoint).
    pub fn merge_secrets(&mut self, other: &crate::keys::Secrets) {
        self.secrets.merge(other);
    }

    /// Whether secrets changed since the last call (the shell seals them
    /// before releasing anything).
    pub fn take_secrets_dirty(&mut self) -> bool {
        std::mem::take(&mut self.secrets_dirty)
    }

    /// Fresh randomness from the TEE, used if a secret must be created.
    pub fn set_entropy(&mut self, entropy: [u8; 32]) {
        self.entropy = Some(entropy);
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The sync state (for checkpoints).
    pub fn sync_state(&self) -> Option<&SyncState> {
        self.sync.as_ref()
    }

    /// The replica.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Sets the trust anchor. Refuses a second init with another genesis
    /// (the same anchor again is a no-op).
    pub fn init(&mut self, anchor: &GenesisAnchor) -> Result<(), Error> {
        let genesis_hash = anchor.header.hash();
        if let Some(sync) = &self.sync {
            if sync.light_client.genesis_hash() == genesis_hash {
                return Ok(());
            }
            return Err(Error::AlreadyInitialized { genesis: sync.light_client.genesis_hash() });
        }
        if anchor.header.number != 0 {
            return Err(Error::Anchor(format!("the anchor is block {}, not genesis", anchor.header.number)));
        }
        let proof = StorageProof::new(anchor.proof.iter().cloned());
        let reader = proof.check(&anchor.header.state_root).map_err(|e| Error::Anchor(e.to_string()))?;
        let authorities: AuthorityList = decode_state(&reader, &grandpa_module::keys::authorities(), "authorities")?
            .ok_or_else(|| Error::Anchor("no GRANDPA authorities in the genesis state".into()))?;
        let set_id: u64 = decode_state(&reader, &grandpa_module::keys::current_set_id(), "set id")?.unwrap_or(0);
        let light_client = LightClient::new(anchor.header.clone(), AuthoritySet { set_id, authorities })?;
        self.sync = Some(SyncState {
            genesis: anchor.header.clone(),
            light_client,
            pending: VecDeque::new(),
            state_at: None,
            egress: Vec::new(),
            next_sequence: 0,
            worker: WorkerState::Unregistered,
            last_heartbeat: None,
            malformed_messages: 0,
            forged_notices: 0,
            keys: Default::default(),
        });
        tracing::info!(genesis = ?genesis_hash, set_id, "pRuntime initialized");
        Ok(())
    }

    fn sync(&self) -> Result<&SyncState, Error> {
        self.sync.as_ref().ok_or(Error::NotInitialized)
    }

    /// Verifies a header batch and queues its headers for dispatch.
    /// `chain_head` is the relayer's claim of the chain's finalized head
    /// (only used to decide whether the worker is caught up).
    pub fn sync_headers(
        &mut self,
        headers: &[Header],
        justification: &[u8],
        chain_head: BlockNumber,
    ) -> Result<umbra_light_client::Imported, Error> {
        let sync = self.sync()?;
        if sync.pending.len().saturating_add(headers.len()) > MAX_PENDING_HEADERS {
            return Err(Error::TooManyPendingHeaders { max: MAX_PENDING_HEADERS });
        }
        let (light_client, imported) = sync.light_client.check(headers, justification)?;
        let sync = self.sync.as_mut().ok_or(Error::NotInitialized)?;
        sync.light_client = light_client;
        sync.pending.extend(headers.iter().cloned());
        self.chain_head_hint = self.chain_head_hint.max(chain_head).max(imported.to);
        Ok(imported)
    }

    /// Loads the whole state at finalized block `number` (fast sync). Only
    /// once, before any block is dispatched; the pairs must hash to that
    /// block's state root. Headers up to it leave the pending queue.
    pub fn load_state(&mut self, number: BlockNumber, pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), Error> {
        let sync = self.sync()?;
        if let Some(at) = &sync.state_at {
            return Err(Error::StateAlreadyLoaded { at: at.number });
        }
        let header = if number == 0 {
            sync.genesis.clone()
        } else if sync.light_client.finalized().number == number {
            sync.light_client.finalized().clone()
        } else {
            sync.pending.iter().find(|h| h.number == number).cloned().ok_or(Error::NotFinalized { number })?
        };
        let replica = Replica::from_pairs(pairs)?;
        if replica.root() != header.state_root {
            return Err(Error::StateRootMismatch { expected: header.state_root, found: replica.root() });
        }
        let sync = self.sync.as_mut().ok_or(Error::NotInitialized)?;
        while sync.pending.front().is_some_and(|h| h.number <= number) {
            sync.pending.pop_front();
        }
        sync.state_at = Some(header);
        self.replica = replica;
        self.observe_chain(number);
        tracing::info!(block = number, keys = self.replica.len(), "state loaded");
        Ok(())
    }

    /// Applies finalized blocks in order. Returns how many were applied;
    /// on error, the blocks before the bad one stay applied and the bad one
    /// changes nothing.
    pub fn dispatch_blocks(&mut self, blocks: &[(BlockNumber, StorageChanges)]) -> Result<usize, Error> {
        let mut applied = 0usize;
        for (number, changes) in blocks {
            let result = self.dispatch_block(*number, changes);
            if let Err(error) = result {
                self.replica.compact();
                return Err(Error::Dispatch { applied, error: Box::new(error) });
            }
            applied += 1;
        }
        self.replica.compact();
        Ok(applied)
    }

    fn dispatch_block(&mut self, number: BlockNumber, changes: &StorageChanges) -> Result<(), Error> {
        let sync = self.sync()?;
        let at = sync.state_at.as_ref().ok_or(Error::NoState)?.number;
        if number <= at {
            return Err(Error::AlreadyDispatched { number, synced: at });
        }
        let expected = at.saturating_add(1);
        if number != expected {
            return Err(Error::SkippedBlock { expected, found: number });
        }
        let header =
            sync.pending.front().filter(|h| h.number == number).cloned().ok_or(Error::NotFinalized { number })?;
        self.replica.apply_checked(changes, header.state_root)?;
        let sync = self.sync.as_mut().ok_or(Error::NotInitialized)?;
        sync.pending.pop_front();
        sync.state_at = Some(header);
        self.observe_chain(number);
        Ok(())
    }

    /// Processes the replica at `number` (just verified): outbound
    /// messages, own registration, egress acceptance, heartbeats, and the
    /// key roles ([`crate::keys::observe`]).
    fn observe_chain(&mut self, number: BlockNumber) {
        let me = self.identity.public();
        let registered = self.replica.get(&registry::keys::worker(&me)).is_some();
        let mut malformed = 0u64;
        let all: Vec<Message> = match self.replica.get(&message_queue::keys::outbound()) {
            None => Vec::new(),
            Some(bytes) => Vec::<Message>::decode(&mut &bytes[..]).unwrap_or_else(|_| {
                tracing::error!(block = number, "MessageQueue.Outbound does not decode");
                malformed += 1;
                Vec::new()
            }),
        };
        // Only notices their topic's owning module sent are acted on.
        let (outbound, forged): (Vec<Message>, Vec<Message>) = all.into_iter().partition(routing::is_authentic_notice);
        for message in &forged {
            tracing::error!(
                block = number,
                topic = %String::from_utf8_lossy(&message.destination),
                sender = ?message.sender,
                "ignored an Outbound message whose sender does not own its topic"
            );
        }
        let worker_origin = MessageOrigin::Worker(me);
        let chain_next_worker: u64 =
            self.replica.decode(&message_queue::keys::next_sequence(&worker_origin)).unwrap_or(0);
        let chain_next_gatekeeper: u64 =
            self.replica.decode(&message_queue::keys::next_sequence(&MessageOrigin::Gatekeeper)).unwrap_or(0);
        let caught_up = self.caught_up();
        let Some(sync) = self.sync.as_mut() else { return };
        sync.malformed_messages = sync.malformed_messages.saturating_add(malformed);
        sync.forged_notices = sync.forged_notices.saturating_add(forged.len() as u64);
        for message in &outbound {
            if message.destination.as_slice() == registry::TOPIC {
                match registry::Notice::decode(&mut &message.payload[..]) {
                    Ok(registry::Notice::Registered { identity, .. }) if identity == me => {
                        tracing::info!(block = number, "registration seen on chain");
                    }
                    Ok(_) => {}
                    Err(_) => {
                        sync.malformed_messages = sync.malformed_messages.saturating_add(1);
                        tracing::error!(block = number, "registry notice does not decode");
                    }
                }
            }
        }
        sync.worker = match (sync.worker, registered) {
            (WorkerState::Unregistered, true) => WorkerState::Registered { since: number },
            (state @ WorkerState::Registered { .. }, true) => state,
            (_, false) => WorkerState::Unregistered,
        };
        // The chain accepted everything below each origin's next sequence.
        let replica = &self.replica;
        sync.egress.retain(|m| match &m.message.sender {
            MessageOrigin::Gatekeeper => m.sequence >= chain_next_gatekeeper,
            MessageOrigin::Worker(_) => m.sequence >= chain_next_worker,
            other => m.sequence >= replica.decode::<u64>(&message_queue::keys::next_sequence(other)).unwrap_or(0),
        });
        if chain_next_worker > sync.next_sequence {
            // Restored from an older checkpoint: continue after what the
            // chain has seen, never reuse a sequence.
            sync.next_sequence = chain_next_worker;
        }
        let genesis = sync.light_client.genesis_hash();
        let mut as_worker: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let due = self.config.heartbeat_interval != 0
            && sync.last_heartbeat.is_none_or(|last| number >= last.saturating_add(self.config.heartbeat_interval));
        if matches!(sync.worker, WorkerState::Registered { .. }) && caught_up && due {
            as_worker.push((registry::HEARTBEAT_TOPIC.to_vec(), Heartbeat { synced_block: number }.encode()));
            sync.last_heartbeat = Some(number);
        }
        let ctx = crate::keys::Context {
            replica: &self.replica,
            number,
            outbound: &outbound,
            genesis,
            domain: self.config.domain,
            identity: &self.identity.signing,
            ecdh: &self.identity.ecdh,
            caught_up,
        };
        let keys_out = crate::keys::observe(&ctx, &mut self.secrets, &mut sync.keys, &mut self.entropy);
        self.secrets_dirty |= keys_out.secrets_changed;
        as_worker.extend(keys_out.as_worker);
        let exec_ctx = crate::contracts::Context {
            replica: &self.replica,
            number,
            outbound: &outbound,
            genesis,
            domain: self.config.domain,
            me,
            cluster_keys: &self.secrets.clusters,
        };
        let exec_out = self.executor.observe(&exec_ctx);
        as_worker.extend(exec_out.as_worker);
        for (topic, payload) in as_worker {
            if sync.egress.len() >= MAX_EGRESS {
                tracing::error!(block = number, "egress queue full; message dropped");
                break;
            }
            let message = Message { sender: worker_origin.clone(), destination: topic, payload };
            let sequence = sync.next_sequence;
            let signature =
                self.identity.signing.sign_deterministic(&message_queue::signing_payload(&genesis, &message, sequence));
            sync.egress.push(SignedMessage { message, sequence, signature: signature.0 });
            sync.next_sequence = sequence.saturating_add(1);
        }
        let chain_next_of = |origin: &MessageOrigin| -> u64 {
            self.replica.decode(&message_queue::keys::next_sequence(origin)).unwrap_or(0)
        };
        for signed in keys_out.as_gatekeeper.into_iter().chain(exec_out.as_cluster) {
            // Already accepted, or already queued (recomputed after a restart).
            let stale = signed.sequence < chain_next_of(&signed.message.sender);
            let queued =
                sync.egress.iter().any(|m| m.message.sender == signed.message.sender && m.sequence == signed.sequence);
            if !stale && !queued && sync.egress.len() < MAX_EGRESS {
                sync.egress.push(signed);
            }
        }
    }

    /// Whether the replica is within the slack of the relayer's reported
    /// finalized head (and that head is known).
    pub fn caught_up(&self) -> bool {
        let Some(sync) = &self.sync else { return false };
        let Some(at) = &sync.state_at else { return false };
        self.chain_head_hint != 0 && at.number.saturating_add(self.config.caught_up_slack) >= self.chain_head_hint
    }

    /// Signed messages for the chain; empty while not caught up (after a
    /// restart, nothing is released before the worker has re-synced).
    pub fn egress(&self) -> Vec<SignedMessage> {
        match (&self.sync, self.caught_up()) {
            (Some(sync), true) => sync.egress.clone(),
            _ => Vec::new(),
        }
    }

    /// Chain time (ms) at the synced block.
    pub fn chain_time_ms(&self) -> Option<u64> {
        self.replica.decode(&timestamp::keys::now())
    }

    /// The registration info to attest, bound to the verified chain: its
    /// genesis and the chain time of the synced block.
    pub fn registration_info(
        &self,
        platform: umbra_attestation::PlatformKind,
        features: registry::WorkerFeatures,
        operator: Option<umbra_primitives::AccountId32>,
    ) -> Result<registry::WorkerRegistrationInfo, Error> {
        let sync = self.sync()?;
        if !self.caught_up() {
            return Err(Error::NotCaughtUp);
        }
        Ok(registry::WorkerRegistrationInfo {
            version: registry::INFO_VERSION,
            identity: self.identity.public(),
            ecdh_public: self.identity.ecdh.public().0,
            genesis_hash: sync.light_client.genesis_hash(),
            operator,
            role: self.config.role,
            features,
            platform,
            attested_at_ms: self.chain_time_ms().ok_or(Error::NoState)?,
        })
    }

    /// The status.
    pub fn status(&self) -> Status {
        let sync = self.sync.as_ref();
        Status {
            initialized: sync.is_some(),
            genesis_hash: sync.map(|s| crate::hex_h256(&s.light_client.genesis_hash())),
            headers_finalized: sync.map_or(0, |s| s.light_client.finalized().number),
            pending_headers: sync.map_or(0, |s| s.pending.len()),
            synced_block: sync.and_then(|s| s.state_at.as_ref().map(|h| h.number)),
            set_id: sync.map_or(0, |s| s.light_client.authority_set().set_id),
            chain_head_hint: self.chain_head_hint,
            caught_up: self.caught_up(),
            registered: sync.is_some_and(|s| matches!(s.worker, WorkerState::Registered { .. })),
            egress_pending: sync.map_or(0, |s| s.egress.len()),
            next_sequence: sync.map_or(0, |s| s.next_sequence),
            state_keys: self.replica.len(),
            state_bytes: self.replica.size_bytes(),
            malformed_messages: sync.map_or(0, |s| s.malformed_messages),
            forged_notices: sync.map_or(0, |s| s.forged_notices),
            gatekeeper: self
                .replica
                .decode::<Vec<umbra_crypto::sr25519::Public>>(&umbra_runtime::modules::gatekeeper::keys::gatekeepers())
                .is_some_and(|set| set.contains(&self.identity.public())),
            epochs: self
                .secrets
                .master
                .iter()
                .map(|(e, s)| {
                    let public = umbra_crypto::hierarchy::MasterSecret::from_bytes(*s)
                        .gatekeeper_signing(self.config.domain)
                        .public();
                    (*e, format!("0x{}", hex::encode(public.0)))
                })
                .collect(),
            clusters: self
                .secrets
                .clusters
                .iter()
                .map(|(c, e, k)| {
                    let public =
                        umbra_crypto::hierarchy::ClusterKey::from_bytes(*k).signing(self.config.domain).public();
                    (crate::hex_h256(c), *e, format!("0x{}", hex::encode(public.0)))
                })
                .collect(),
            divergences: sync.map_or(0, |s| s.keys.divergences),
            key_errors: sync.map_or(0, |s| s.keys.key_errors),
            contracts: self.executor.stats(),
            hosted: self
                .executor
                .hosted()
                .into_iter()
                .map(|(c, b, n, r)| (crate::hex_h256(&c), b, n, crate::hex_h256(&r)))
                .collect(),
        }
    }

    /// A read-only snapshot of `contract` for a query, with what opening
    /// the query needs (worker X25519 secret, genesis). Refused while not
    /// caught up (the shell also refuses while stale).
    pub fn query_snapshot(&self, contract: &H256) -> Result<(crate::contracts::Snapshot, x25519::Secret, H256), Error> {
        let sync = self.sync()?;
        if !self.caught_up() {
            return Err(Error::NotCaughtUp);
        }
        let snapshot = self
            .executor
            .snapshot(contract, &self.secrets.clusters, self.config.domain)
            .ok_or(crate::contracts::QueryError::NotHosted)?;
        let secret = x25519::Secret::from_bytes(*self.identity.ecdh.to_bytes());
        Ok((snapshot, secret, sync.light_client.genesis_hash()))
    }

    /// The synced block's hash and number.
    pub fn synced(&self) -> Option<(H256, BlockNumber)> {
        self.sync.as_ref().and_then(|s| s.state_at.as_ref()).map(|h| (h.hash(), h.number))
    }
}

//! pRuntime's deterministic core: everything it believes about the chain,
//! changed only by verified input. No clock, no IO, no ambient randomness:
//! the shell passes in what it needs (sealed state, entropy) and every
//! entry point returns what it produced ([`Effects`]): secrets to seal,
//! whether verified finality advanced.
//!
//! Input order (from the untrusted relayer):
//!
//! 1. [`Core::init`] with the chain's [`GenesisAnchor`]: the genesis set is
//!    read from a trie proof against the genesis header's state root. A core
//!    whose sealed secrets are pinned to another genesis refuses it
//!    ([`Error::GenesisPinned`]).
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
//!
//! Release rules: [`Core::egress`] is empty until verified finality has
//! advanced since the process started and the replica is within the slack
//! of the light client's finalized head (a host replaying an old checkpoint
//! gets nothing out), and while secrets changed since the shell last
//! confirmed sealing them ([`Core::confirm_sealed`]).

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
use umbra_protocol::api::{ClusterHeld, CoreStatus, EpochHeld, HostedCluster};
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
use zeroize::Zeroizing;

use crate::{keys::Secrets, replica::Replica, Error};

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
    /// Caught up means at most this many verified blocks not yet applied.
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

/// The chain a pRuntime's secrets belong to: its genesis and the GRANDPA
/// set proven in the genesis state. Sealed with the secrets; a core holding
/// a pin accepts no other anchor.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct GenesisPin {
    /// The genesis hash.
    pub genesis_hash: H256,
    /// The genesis GRANDPA set id.
    pub set_id: u64,
    /// The genesis GRANDPA authorities.
    pub authorities: AuthorityList,
}

/// The sealed-secrets file's content: the secrets and the genesis they
/// belong to. No `Debug`; the secrets zeroize on drop.
#[derive(Clone, Encode, Decode)]
pub struct SealedSecrets {
    /// The chain.
    pub pin: GenesisPin,
    /// Master key history, cluster keys, a rotation proposal.
    pub secrets: Secrets,
}

/// Secrets the shell must seal before anything else leaves, then confirm
/// with [`Core::confirm_sealed`].
pub struct SealRequest {
    /// Confirms this version.
    pub version: u64,
    /// `SCALE(SealedSecrets)` (zeroized on drop).
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SealRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the plaintext.
        write!(f, "SealRequest {{ version: {}, bytes: {} }}", self.version, self.plaintext.len())
    }
}

/// What an entry point produced besides its result: secrets to seal,
/// finality progress, and the messages it queued.
#[derive(Debug, Default)]
pub struct Effects {
    /// Changed secrets to seal now (offered again by every entry point until
    /// confirmed; egress waits).
    pub seal: Option<SealRequest>,
    /// Verified finality advanced: the only progress the shell's staleness
    /// clock counts.
    pub finality_advanced: bool,
    /// Messages this call added to the egress queue (signed, sequenced).
    /// They are released by [`Core::egress`] under its rules and offered
    /// there until the chain accepts them; this is what was produced now.
    pub queued: Vec<SignedMessage>,
}

/// Everything the core persists in a checkpoint besides the replica.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SyncState {
    /// The genesis header (the trust anchor).
    pub genesis: Header,
    /// The genesis pin (sealed with the secrets too).
    pub pin: GenesisPin,
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

/// What a registration info is built from (the synced, verified chain).
#[derive(Clone, Debug, PartialEq, Eq)]
struct RegistrationBasis {
    identity: sr25519::Public,
    ecdh_public: [u8; 32],
    genesis_hash: H256,
    role: WorkerRole,
    chain_time_ms: u64,
}

impl RegistrationBasis {
    fn info(
        &self,
        platform: umbra_attestation::PlatformKind,
        features: registry::WorkerFeatures,
        operator: Option<umbra_primitives::AccountId32>,
    ) -> Result<registry::WorkerRegistrationInfo, Error> {
        Ok(registry::WorkerRegistrationInfo {
            version: registry::INFO_VERSION,
            identity: self.identity,
            ecdh_public: self.ecdh_public,
            genesis_hash: self.genesis_hash,
            operator,
            role: self.role,
            features,
            platform,
            attested_at_ms: self.chain_time_ms,
        })
    }
}

/// Copies of cluster keys for a view; zeroized on drop, no `Debug`.
struct ClusterKeyCopies(Vec<(H256, u32, [u8; 32])>);

impl Drop for ClusterKeyCopies {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for (_, _, key) in &mut self.0 {
            key.zeroize();
        }
    }
}

/// The core as the public API sees it at one moment (see
/// [`Core::public_view`]). Holds copies of the worker's X25519 secret and
/// cluster keys (zeroized on drop); no `Debug`.
pub struct PublicView {
    /// The core's status.
    pub status: CoreStatus,
    queries: crate::contracts::QueryView,
    cluster_keys: ClusterKeyCopies,
    ecdh: x25519::Secret,
    genesis: Option<H256>,
    synced: Option<(H256, BlockNumber)>,
    caught_up: bool,
    domain: umbra_crypto::labels::Domain,
    registration: Option<RegistrationBasis>,
}

impl PublicView {
    /// A read-only snapshot of `contract` for a query, with what opening
    /// the query needs (worker X25519 secret, genesis). Refused while not
    /// caught up (the shell also refuses while stale).
    pub fn query_snapshot(&self, contract: &H256) -> Result<(crate::contracts::Snapshot, x25519::Secret, H256), Error> {
        let genesis = self.genesis.ok_or(Error::NotInitialized)?;
        if !self.caught_up {
            return Err(Error::NotCaughtUp);
        }
        let synced = self.synced.map_or(0, |(_, n)| n);
        let snapshot = self
            .queries
            .snapshot(synced, contract, &self.cluster_keys.0, self.domain)
            .ok_or(crate::contracts::QueryError::NotHosted)?;
        Ok((snapshot, x25519::Secret::from_bytes(*self.ecdh.to_bytes()), genesis))
    }

    /// The registration info to attest (as [`Core::registration_info`]).
    pub fn registration_info(
        &self,
        platform: umbra_attestation::PlatformKind,
        features: registry::WorkerFeatures,
        operator: Option<umbra_primitives::AccountId32>,
    ) -> Result<registry::WorkerRegistrationInfo, Error> {
        self.registration.as_ref().ok_or(Error::NotCaughtUp)?.info(platform, features, operator)
    }

    /// The synced block's hash and number.
    pub fn synced(&self) -> Option<(H256, BlockNumber)> {
        self.synced
    }

    /// Whether the core was caught up.
    pub fn caught_up(&self) -> bool {
        self.caught_up
    }

    /// The worker's X25519 public key.
    pub fn ecdh_public(&self) -> [u8; 32] {
        self.ecdh.public().0
    }

    /// The VM (its epoch drives query deadlines).
    pub fn vm(&self) -> Option<&std::sync::Arc<umbra_vm::Vm>> {
        self.queries.vm()
    }
}

/// The core.
pub struct Core {
    config: Config,
    identity: Identity,
    sync: Option<SyncState>,
    replica: Replica,
    /// Master key history and cluster keys (sealed, never in status).
    secrets: Secrets,
    /// The genesis the secrets belong to (from the sealed secrets or the
    /// first `init`).
    pin: Option<GenesisPin>,
    /// Bumped whenever what must be sealed changes.
    secrets_version: u64,
    /// The version the shell confirmed sealed.
    sealed_version: u64,
    /// Not persisted: verified finality advanced since this process started.
    /// Until it has, nothing leaves (a restored checkpoint may be old).
    finality_progressed: bool,
    /// Contract execution (state rebuilt from the chain after a restore).
    executor: crate::contracts::Executor,
    /// Messages queued since the last entry point returned (its effects).
    produced: Vec<SignedMessage>,
}

fn decode_state<T: Decode>(reader: &umbra_trie::ProofReader, key: &[u8], what: &str) -> Result<Option<T>, Error> {
    match reader.read(key).map_err(|e| Error::Anchor(format!("{what}: {e}")))? {
        None => Ok(None),
        Some(bytes) => {
            T::decode(&mut &bytes[..]).map(Some).map_err(|_| Error::Anchor(format!("{what} does not decode")))
        }
    }
}

/// Fresh randomness for block `number` of a dispatch, from the batch's TEE
/// entropy (distinct per block, so two secrets created in one batch differ).
fn block_entropy(entropy: &[u8; 32], number: BlockNumber) -> [u8; 32] {
    umbra_crypto::hashing::blake2_256(&(b"umbra/pruntime/block-entropy", entropy, number).encode())
}

impl Core {
    /// A core with `identity`, not initialized; `sealed` are the secrets
    /// from the sealed-secrets file, if there is one (their pin binds the
    /// core to their genesis).
    pub fn new(config: Config, identity: Identity, sealed: Option<SealedSecrets>) -> Self {
        let fault_diverge = config.test_fault_diverge;
        let (pin, secrets) = match sealed {
            Some(s) => (Some(s.pin.clone()), s.secrets.clone()),
            None => (None, Secrets::default()),
        };
        Self {
            config,
            identity,
            sync: None,
            replica: Replica::empty(),
            secrets,
            pin,
            secrets_version: 0,
            sealed_version: 0,
            finality_progressed: false,
            executor: crate::contracts::Executor::new(fault_diverge),
            produced: Vec::new(),
        }
    }

    /// Restores a checkpoint: the sync state and the replica's pairs, which
    /// must hash to the state root of the block they claim to be at, and
    /// the checkpoint's secrets merged with the sealed-secrets file's
    /// (`sealed`), which must belong to the same genesis. The effects ask to
    /// seal the union when the file lacks something.
    pub fn restore(
        config: Config,
        identity: Identity,
        sync: SyncState,
        pairs: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>,
        secrets: Secrets,
        sealed: Option<SealedSecrets>,
    ) -> Result<(Self, Effects), Error> {
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
        if sync.pin.genesis_hash != sync.genesis.hash() {
            return Err(Error::Checkpoint("the checkpoint's pin is not its genesis".into()));
        }
        let mut secrets = secrets;
        let mut secrets_version = 0;
        if let Some(sealed) = sealed {
            if sealed.pin != sync.pin {
                return Err(Error::GenesisPinned {
                    pinned: sealed.pin.genesis_hash,
                    pinned_set_id: sealed.pin.set_id,
                    offered: sync.pin.genesis_hash,
                    offered_set_id: sync.pin.set_id,
                });
            }
            if secrets.merge(&sealed.secrets) {
                // The checkpoint knew more than the file: seal the union.
                secrets_version = 1;
            }
        } else {
            // No file (deleted?): seal what the checkpoint holds, with its pin.
            secrets_version = 1;
        }
        let mut core = Self {
            identity,
            pin: Some(sync.pin.clone()),
            sync: Some(sync),
            replica,
            secrets,
            secrets_version,
            sealed_version: 0,
            finality_progressed: false,
            // Contract state is not in checkpoints: it is rebuilt from the
            // chain's delta records (the same path a new replica takes).
            executor: crate::contracts::Executor::new(config.test_fault_diverge),
            produced: Vec::new(),
            config,
        };
        let effects = core.effects(false);
        Ok((core, effects))
    }

    /// The identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The secrets (for checkpoints only).
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The genesis the secrets are pinned to.
    pub fn pin(&self) -> Option<&GenesisPin> {
        self.pin.as_ref()
    }

    /// The shell sealed `version` durably: egress may carry what depends
    /// on it.
    pub fn confirm_sealed(&mut self, version: u64) {
        self.sealed_version = self.sealed_version.max(version.min(self.secrets_version));
    }

    fn pending_seal(&self) -> Option<SealRequest> {
        if self.secrets_version <= self.sealed_version {
            return None;
        }
        let pin = self.pin.clone()?;
        let sealed = SealedSecrets { pin, secrets: self.secrets.clone() };
        Some(SealRequest { version: self.secrets_version, plaintext: Zeroizing::new(sealed.encode()) })
    }

    fn effects(&mut self, finality_advanced: bool) -> Effects {
        Effects { seal: self.pending_seal(), finality_advanced, queued: std::mem::take(&mut self.produced) }
    }

    fn secrets_changed(&mut self) {
        self.secrets_version = self.secrets_version.saturating_add(1);
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
    /// (the same anchor again changes nothing, and is no progress), and a
    /// genesis other than the one the sealed secrets are pinned to.
    pub fn init(&mut self, anchor: &GenesisAnchor) -> Result<Effects, Error> {
        let genesis_hash = anchor.header.hash();
        if let Some(sync) = &self.sync {
            if sync.light_client.genesis_hash() == genesis_hash {
                return Ok(self.effects(false));
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
        let offered = GenesisPin { genesis_hash, set_id, authorities: authorities.clone() };
        if let Some(pinned) = &self.pin {
            if *pinned != offered {
                return Err(Error::GenesisPinned {
                    pinned: pinned.genesis_hash,
                    pinned_set_id: pinned.set_id,
                    offered: genesis_hash,
                    offered_set_id: set_id,
                });
            }
        }
        let light_client = LightClient::new(anchor.header.clone(), AuthoritySet { set_id, authorities })?;
        if self.pin.is_none() {
            // Pinned from now on: sealed before anything else happens.
            self.pin = Some(offered.clone());
            self.secrets_changed();
        }
        self.sync = Some(SyncState {
            genesis: anchor.header.clone(),
            pin: offered,
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
        Ok(self.effects(false))
    }

    fn sync(&self) -> Result<&SyncState, Error> {
        self.sync.as_ref().ok_or(Error::NotInitialized)
    }

    /// Verifies a header batch and queues its headers for dispatch.
    pub fn sync_headers(
        &mut self,
        headers: &[Header],
        justification: &[u8],
    ) -> Result<(umbra_light_client::Imported, Effects), Error> {
        let sync = self.sync()?;
        if sync.pending.len().saturating_add(headers.len()) > MAX_PENDING_HEADERS {
            return Err(Error::TooManyPendingHeaders { max: MAX_PENDING_HEADERS });
        }
        let (light_client, imported) = sync.light_client.check(headers, justification)?;
        let sync = self.sync.as_mut().ok_or(Error::NotInitialized)?;
        sync.light_client = light_client;
        sync.pending.extend(headers.iter().cloned());
        self.finality_progressed = true;
        Ok((imported, self.effects(true)))
    }

    /// Loads the whole state at finalized block `number` (fast sync). Only
    /// once, before any block is dispatched; the pairs must hash to that
    /// block's state root. Headers up to it leave the pending queue.
    pub fn load_state(&mut self, number: BlockNumber, pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Effects, Error> {
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
        // No fresh secret is created while loading (no entropy given).
        self.observe_chain(number, None);
        tracing::info!(block = number, keys = self.replica.len(), "state loaded");
        Ok(self.effects(false))
    }

    /// Applies finalized blocks in order with fresh TEE `entropy` (for
    /// secrets a block makes this worker create). Returns how many were
    /// applied — on error, the blocks before the bad one stay applied and
    /// the bad one changes nothing — and the effects.
    pub fn dispatch_blocks(
        &mut self,
        blocks: &[(BlockNumber, StorageChanges)],
        entropy: [u8; 32],
    ) -> (Result<usize, Error>, Effects) {
        let mut applied = 0usize;
        for (number, changes) in blocks {
            if let Err(error) = self.dispatch_block(*number, changes, &entropy) {
                self.replica.compact();
                return (Err(Error::Dispatch { applied, error: Box::new(error) }), self.effects(false));
            }
            applied += 1;
        }
        self.replica.compact();
        (Ok(applied), self.effects(false))
    }

    fn dispatch_block(
        &mut self,
        number: BlockNumber,
        changes: &StorageChanges,
        entropy: &[u8; 32],
    ) -> Result<(), Error> {
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
        self.observe_chain(number, Some(block_entropy(entropy, number)));
        Ok(())
    }

    /// Processes the replica at `number` (just verified): outbound
    /// messages, own registration, egress acceptance, heartbeats, and the
    /// key roles ([`crate::keys::observe`]).
    fn observe_chain(&mut self, number: BlockNumber, mut entropy: Option<[u8; 32]>) {
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
        let keys_out = crate::keys::observe(&ctx, &mut self.secrets, &mut sync.keys, &mut entropy);
        if keys_out.secrets_changed {
            self.secrets_version = self.secrets_version.saturating_add(1);
        }
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
            let signed = SignedMessage { message, sequence, signature: signature.0 };
            self.produced.push(signed.clone());
            sync.egress.push(signed);
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
                self.produced.push(signed.clone());
                sync.egress.push(signed);
            }
        }
    }

    /// Whether verified finality advanced since this process started and
    /// the replica is within the slack of the light client's finalized head
    /// — measured against verified finality only, never a relayer's claim.
    pub fn caught_up(&self) -> bool {
        let Some(sync) = &self.sync else { return false };
        let Some(at) = &sync.state_at else { return false };
        self.finality_progressed
            && at.number.saturating_add(self.config.caught_up_slack) >= sync.light_client.finalized().number
    }

    /// Whether changed secrets wait for the shell to confirm sealing them.
    pub fn seal_pending(&self) -> bool {
        self.secrets_version > self.sealed_version
    }

    /// Signed messages for the chain; empty while not caught up (after a
    /// restart, nothing is released before verified finality advanced) and
    /// while changed secrets are not confirmed sealed.
    pub fn egress(&self) -> Vec<SignedMessage> {
        match &self.sync {
            Some(sync) if self.caught_up() && !self.seal_pending() => sync.egress.clone(),
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
        self.registration_basis()?.info(platform, features, operator)
    }

    fn registration_basis(&self) -> Result<RegistrationBasis, Error> {
        let sync = self.sync()?;
        if !self.caught_up() {
            return Err(Error::NotCaughtUp);
        }
        Ok(RegistrationBasis {
            identity: self.identity.public(),
            ecdh_public: self.identity.ecdh.public().0,
            genesis_hash: sync.light_client.genesis_hash(),
            role: self.config.role,
            chain_time_ms: self.chain_time_ms().ok_or(Error::NoState)?,
        })
    }

    /// Everything the public API serves, detached from the core: the shell
    /// publishes it after every entry point, so queries, `/info` and the
    /// status never wait for command execution.
    pub fn public_view(&self) -> PublicView {
        PublicView {
            status: self.status(),
            queries: self.executor.query_view(),
            cluster_keys: ClusterKeyCopies(self.secrets.clusters.clone()),
            ecdh: x25519::Secret::from_bytes(*self.identity.ecdh.to_bytes()),
            genesis: self.sync.as_ref().map(|s| s.light_client.genesis_hash()),
            synced: self.synced(),
            caught_up: self.caught_up(),
            domain: self.config.domain,
            registration: self.registration_basis().ok(),
        }
    }

    /// The status.
    pub fn status(&self) -> CoreStatus {
        let sync = self.sync.as_ref();
        CoreStatus {
            initialized: sync.is_some(),
            genesis_hash: sync.map(|s| s.light_client.genesis_hash()),
            pinned_genesis: self.pin.as_ref().map(|p| p.genesis_hash),
            headers_finalized: sync.map_or(0, |s| s.light_client.finalized().number),
            pending_headers: sync.map_or(0, |s| s.pending.len()),
            synced_block: sync.and_then(|s| s.state_at.as_ref().map(|h| h.number)),
            set_id: sync.map_or(0, |s| s.light_client.authority_set().set_id),
            finality_progressed: self.finality_progressed,
            caught_up: self.caught_up(),
            registered: sync.is_some_and(|s| matches!(s.worker, WorkerState::Registered { .. })),
            egress_pending: sync.map_or(0, |s| s.egress.len()),
            seal_pending: self.seal_pending(),
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
                .map(|(e, s)| EpochHeld {
                    epoch: *e,
                    pubkey: umbra_crypto::hierarchy::MasterSecret::from_bytes(*s)
                        .gatekeeper_signing(self.config.domain)
                        .public()
                        .0,
                })
                .collect(),
            clusters: self
                .secrets
                .clusters
                .iter()
                .map(|(c, e, k)| ClusterHeld {
                    cluster: *c,
                    epoch: *e,
                    pubkey: umbra_crypto::hierarchy::ClusterKey::from_bytes(*k).signing(self.config.domain).public().0,
                })
                .collect(),
            divergences: sync.map_or(0, |s| s.keys.divergences),
            key_errors: sync.map_or(0, |s| s.keys.key_errors),
            contracts: self.executor.stats(),
            hosted: self
                .executor
                .hosted()
                .into_iter()
                .map(|(cluster, executed_block, contracts, state_root)| HostedCluster {
                    cluster,
                    executed_block,
                    contracts,
                    state_root,
                })
                .collect(),
        }
    }

    /// The synced block's hash and number.
    pub fn synced(&self) -> Option<(H256, BlockNumber)> {
        self.sync.as_ref().and_then(|s| s.state_at.as_ref()).map(|h| (h.hash(), h.number))
    }

    /// The contract VM (the shell ticks its epoch for query deadlines).
    pub fn vm(&self) -> Option<std::sync::Arc<umbra_vm::Vm>> {
        self.executor.vm().cloned()
    }
}

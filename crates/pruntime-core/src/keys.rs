//! The gatekeeper role and key reception inside pRuntime: a deterministic
//! function of finalized chain data, the master key history and (for fresh
//! secrets only) entropy from the TEE.
//!
//! Per block, after its state is verified, [`observe`] reads the block's
//! `Outbound` notices — only those the topic's owning module sent (the core
//! drops any other, see `umbra_runtime::routing::is_authentic_notice`) —
//! and cross-checks each against the verified replica before acting on it
//! (the gatekeeper set, registered X25519 keys, the rotation lock, published
//! master and cluster keys, cluster membership):
//!
//! * as the **first gatekeeper**, with no epoch 0 on chain: generates the
//!   master secret (TEE entropy) and publishes its signing key;
//! * as a **gatekeeper** holding the history, for each newcomer: seals the
//!   whole history to the newcomer's X25519 key with an ephemeral key and
//!   nonce drawn from the master secret and a per-block counter, so every
//!   gatekeeper emits byte-identical messages (one lands, by sequence);
//! * on a **rotation**: proposes a fresh secret sealed to every gatekeeper;
//!   on the accepted proposal, opens its own copy (a removed gatekeeper has
//!   none) and checks it against the published key;
//! * on a **new cluster**: derives the cluster key and seals it to each of
//!   the cluster's workers whose registration is current and passes policy
//!   now (checked on its replica), nothing to the others;
//! * as a **worker**: opens cluster keys addressed to it and checks them
//!   against the cluster keys published in its replica of chain state (never
//!   against the keys a notice claims).
//!
//! Anything on chain that differs from what it computed is counted as a
//! divergence (status) and logged, never a crash.

use parity_scale_codec::{Decode, Encode};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use umbra_crypto::{
    envelope::{self, Purpose, Recipient},
    hierarchy::{ClusterKey, MasterSecret},
    labels::{Domain, Label},
    sr25519, x25519,
};
use umbra_primitives::{BlockNumber, H256};
use umbra_runtime::{
    modules::{
        contracts::{self, ClusterKeys},
        gatekeeper::{self, GenesisKey, Handover, Notice, RotationProposal},
        message_queue::{self, Message, MessageOrigin, SignedMessage},
        registry,
    },
    state::Ext,
};
use zeroize::Zeroize;

use crate::replica::Replica;

/// Secrets held by this pRuntime: sealed with checkpoints and in their own
/// sealed file the moment they change. No `Debug`; zeroized on drop.
#[derive(Default, Encode, Decode)]
pub struct Secrets {
    /// Master key history: (epoch, secret), oldest first.
    pub master: Vec<(u32, [u8; 32])>,
    /// Cluster keys received: (cluster, epoch, key).
    pub clusters: Vec<(H256, u32, [u8; 32])>,
    /// A rotation secret this gatekeeper proposed: (epoch, secret).
    pub proposal: Option<(u32, [u8; 32])>,
}

impl Drop for Secrets {
    fn drop(&mut self) {
        for (_, s) in &mut self.master {
            s.zeroize();
        }
        for (_, _, s) in &mut self.clusters {
            s.zeroize();
        }
        if let Some((_, s)) = &mut self.proposal {
            s.zeroize();
        }
    }
}

impl Clone for Secrets {
    fn clone(&self) -> Self {
        Self { master: self.master.clone(), clusters: self.clusters.clone(), proposal: self.proposal }
    }
}

impl Secrets {
    /// The newest epoch's secret.
    pub fn current(&self) -> Option<(u32, MasterSecret)> {
        self.master.last().map(|(e, s)| (*e, MasterSecret::from_bytes(*s)))
    }

    /// An epoch's secret.
    pub fn epoch(&self, epoch: u32) -> Option<MasterSecret> {
        self.master.iter().find(|(e, _)| *e == epoch).map(|(_, s)| MasterSecret::from_bytes(*s))
    }

    fn add_master(&mut self, epoch: u32, secret: [u8; 32]) -> bool {
        if self.master.iter().any(|(e, _)| *e == epoch) {
            return false;
        }
        self.master.push((epoch, secret));
        self.master.sort_by_key(|(e, _)| *e);
        true
    }

    /// Merges `other` (a sealed secrets file) into these (a checkpoint).
    /// Returns whether the union holds more than `other` (so it must be
    /// sealed again).
    pub fn merge(&mut self, other: &Secrets) -> bool {
        for (e, s) in &other.master {
            self.add_master(*e, *s);
        }
        for entry in &other.clusters {
            if !self.clusters.iter().any(|(c, e, _)| (c, e) == (&entry.0, &entry.1)) {
                self.clusters.push(*entry);
            }
        }
        if self.proposal.is_none() {
            self.proposal = other.proposal;
        }
        self.master.len() != other.master.len()
            || self.clusters.len() != other.clusters.len()
            || self.proposal.map(|(e, _)| e) != other.proposal.map(|(e, _)| e)
    }
}

/// Non-secret key-role state (in checkpoints, shown in status).
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct KeyState {
    /// Next sequence of the shared `Gatekeeper` channel as this gatekeeper
    /// computes it.
    pub gatekeeper_sequence: u64,
    /// Things on chain that differ from what this pRuntime computed.
    pub divergences: u64,
    /// Key messages that could not be opened or checked.
    pub key_errors: u64,
}

/// What the core hands to [`observe`].
pub struct Context<'a> {
    /// The verified state at `number`.
    pub replica: &'a Replica,
    /// The block.
    pub number: BlockNumber,
    /// Its `Outbound` notices, each sent by its topic's owning module.
    pub outbound: &'a [Message],
    /// Genesis hash (envelope contexts, message signatures).
    pub genesis: H256,
    /// Key domain (`-insecure` on a simulated TEE).
    pub domain: Domain,
    /// This worker's identity.
    pub identity: &'a sr25519::Pair,
    /// Its X25519 secret.
    pub ecdh: &'a x25519::Secret,
    /// Whether it may emit (caught up).
    pub caught_up: bool,
}

/// What [`observe`] wants emitted.
pub struct Output {
    /// Messages from this worker's identity (the core sequences and signs
    /// them).
    pub as_worker: Vec<(Vec<u8>, Vec<u8>)>,
    /// Fully signed `Gatekeeper`-channel messages.
    pub as_gatekeeper: Vec<SignedMessage>,
    /// Whether the secrets changed (seal them now).
    pub secrets_changed: bool,
}

fn ext(replica: &Replica) -> Ext<'_> {
    Ext::new(replica)
}

fn recipient(ecdh: &x25519::Secret) -> Recipient {
    Recipient::new(x25519::Secret::from_bytes(*ecdh.to_bytes()))
}

fn key_context(genesis: &H256, subject: &[u8]) -> Vec<u8> {
    envelope::context(&genesis.0, Purpose::KeyTransport, subject)
}

/// The subject of a cluster key delivery: cluster ‖ worker.
fn cluster_subject(cluster: &H256, worker: &sr25519::Public) -> Vec<u8> {
    let mut subject = cluster.0.to_vec();
    subject.extend_from_slice(&worker.0);
    subject
}

/// Processes one verified block for the key roles.
pub fn observe(
    ctx: &Context<'_>,
    secrets: &mut Secrets,
    state: &mut KeyState,
    entropy: &mut Option<[u8; 32]>,
) -> Output {
    let mut out = Output { as_worker: Vec::new(), as_gatekeeper: Vec::new(), secrets_changed: false };
    let ext = ext(ctx.replica);
    let me = ctx.identity.public();
    let set = gatekeeper::gatekeepers(&ext);
    let active = set.contains(&me);
    let chain_gk_next = message_queue::next_sequence(&ext, &MessageOrigin::Gatekeeper);
    state.gatekeeper_sequence = state.gatekeeper_sequence.max(chain_gk_next);

    // Epoch 0, by the first gatekeeper, once caught up.
    if active
        && set.first() == Some(&me)
        && gatekeeper::master_pubkey(&ext, 0).is_none()
        && secrets.master.is_empty()
        && ctx.caught_up
        && registry::worker(&ext, &me).is_some()
    {
        if let Some(seed) = entropy.take() {
            secrets.add_master(0, seed);
            out.secrets_changed = true;
            let pubkey = MasterSecret::from_bytes(seed).gatekeeper_signing(ctx.domain).public();
            out.as_worker.push((gatekeeper::GENESIS_KEY_TOPIC.to_vec(), GenesisKey { pubkey }.encode()));
            tracing::info!(pubkey = %hex::encode(pubkey.0), "generated master secret epoch 0");
        }
    }

    let mut counter = u64::from(ctx.number) << 16;
    for message in ctx.outbound {
        counter += 1;
        if message.destination.as_slice() == gatekeeper::TOPIC {
            let Ok(notice) = Notice::decode(&mut &message.payload[..]) else {
                state.key_errors += 1;
                continue;
            };
            gatekeeper_notice(ctx, &ext, notice, active, counter, secrets, state, entropy, &mut out);
        } else if message.destination.as_slice() == contracts::TOPIC {
            match contracts::Notice::decode(&mut &message.payload[..]) {
                Ok(contracts::Notice::ClusterCreated { cluster, .. }) if active => {
                    // Workers and epoch as the chain holds them.
                    let Some(info) = contracts::cluster(&ext, &cluster) else {
                        diverged(state, "a cluster notice names a cluster the chain does not hold");
                        continue;
                    };
                    if contracts::cluster_pubkey(&ext, &cluster).is_some() {
                        diverged(state, "a creation notice for a cluster whose keys are already published");
                        continue;
                    }
                    distribute_cluster_key(
                        ctx,
                        &ext,
                        cluster,
                        &info.workers,
                        info.epoch,
                        counter,
                        secrets,
                        state,
                        &mut out,
                    )
                }
                // A replacement replica gets the key of the cluster it
                // joins; it rebuilds the state from the chain's deltas.
                Ok(contracts::Notice::ReplicaAdded { cluster, worker, .. }) if active => {
                    let Some(info) = contracts::cluster(&ext, &cluster).filter(|i| i.workers.contains(&worker)) else {
                        diverged(state, "a replica notice names a worker outside the cluster on chain");
                        continue;
                    };
                    distribute_cluster_key(ctx, &ext, cluster, &[worker], info.epoch, counter, secrets, state, &mut out)
                }
                Ok(contracts::Notice::ClusterKeys(delivery)) => {
                    receive_cluster_key(ctx, &ext, &delivery, secrets, state, &mut out)
                }
                // Commits are for replicas.
                Ok(_) => {}
                Err(_) => state.key_errors += 1,
            }
        }
    }
    out
}

/// Whether keys of `domain` may be sealed to a worker registered on
/// `platform`: production keys never go to the simulated TEE (whose
/// "enclave" is an ordinary process).
fn may_hold(domain: Domain, platform: umbra_attestation::PlatformKind) -> bool {
    domain == Domain::Insecure || platform != umbra_attestation::PlatformKind::Sim
}

/// Counts something on chain that contradicts what this pRuntime verified
/// or computed.
fn diverged(state: &mut KeyState, what: &str) {
    state.divergences += 1;
    tracing::error!("{what}");
}

#[allow(clippy::too_many_arguments)]
fn gatekeeper_notice(
    ctx: &Context<'_>,
    ext: &Ext<'_>,
    notice: Notice,
    active: bool,
    counter: u64,
    secrets: &mut Secrets,
    state: &mut KeyState,
    entropy: &mut Option<[u8; 32]>,
    out: &mut Output,
) {
    let me = ctx.identity.public();
    match notice {
        Notice::Added { identity, ecdh_public } if active && identity != me => {
            // Only a member of the set, to the key it registered.
            let registered = registry::worker(ext, &identity);
            if !gatekeeper::gatekeepers(ext).contains(&identity)
                || registered.as_ref().map(|w| w.ecdh_public) != Some(ecdh_public)
            {
                return diverged(state, "an Added notice for a non-member or an unregistered key");
            }
            if registered.is_some_and(|w| !may_hold(ctx.domain, w.platform)) {
                return diverged(state, "production master keys are never handed to a simulated TEE");
            }
            let Some((epoch, master)) = secrets.current() else { return };
            // Byte-identical on every gatekeeper: randomness from the
            // current master secret and the notice's position.
            let mut rng = master.rng(ctx.domain, b"gatekeeper-handover", counter);
            let history = secrets.master.encode();
            let sealed = envelope::seal(
                &mut rng,
                &x25519::Public(ecdh_public),
                Label::Envelope.in_domain(ctx.domain),
                &key_context(&ctx.genesis, &identity.0),
                &history,
            );
            let Ok(sealed) = sealed else {
                state.key_errors += 1;
                return;
            };
            let payload = Handover { newcomer: identity, envelope: sealed.envelope.to_bytes() }.encode();
            out.as_gatekeeper.push(sign_gatekeeper(ctx, &master, gatekeeper::HANDOVER_TOPIC, payload, state));
            tracing::info!(newcomer = %hex::encode(identity.0), epoch, "handing the master key history over");
        }
        Notice::Handover(Handover { newcomer, envelope }) if newcomer == me && active => {
            let opened = recipient(ctx.ecdh).open_bytes(
                &envelope,
                gatekeeper::MAX_ENVELOPE_LEN,
                Label::Envelope.in_domain(ctx.domain),
                &key_context(&ctx.genesis, &me.0),
            );
            let history = opened.ok().and_then(|o| Vec::<(u32, [u8; 32])>::decode(&mut &o.plaintext[..]).ok());
            let Some(history) = history else {
                state.key_errors += 1;
                tracing::error!("a handover addressed to us does not open");
                return;
            };
            // Every epoch must match the key the chain published.
            let consistent = history.iter().all(|(e, s)| {
                gatekeeper::master_pubkey(ext, *e)
                    == Some(MasterSecret::from_bytes(*s).gatekeeper_signing(ctx.domain).public())
            });
            if !consistent {
                state.divergences += 1;
                tracing::error!("handed-over history does not match the chain's keys");
                return;
            }
            for (e, s) in &history {
                out.secrets_changed |= secrets.add_master(*e, *s);
            }
            tracing::info!(epochs = history.len(), "received the master key history");
        }
        Notice::RotationStarted { epoch, .. } if active && secrets.current().is_some() => {
            // The epoch the chain locked, sealed to the set and the keys the
            // chain holds (the set the chain checks the proposal against),
            // never to a list a notice carries.
            if ext.get::<u32>(&gatekeeper::keys::rotation_lock()) != Some(epoch) {
                return diverged(state, "a RotationStarted notice for an epoch the chain has not locked");
            }
            let set = gatekeeper::gatekeepers(ext);
            let members: Vec<registry::WorkerInfo> = set.iter().filter_map(|g| registry::worker(ext, g)).collect();
            if members.len() != set.len() {
                return diverged(state, "a gatekeeper of the set is not registered");
            }
            if members.iter().any(|w| !may_hold(ctx.domain, w.platform)) {
                return diverged(state, "production master keys are never sealed to a simulated TEE");
            }
            let gatekeepers: Vec<(sr25519::Public, [u8; 32])> =
                members.iter().map(|w| (w.identity, w.ecdh_public)).collect();
            let Some(seed) = entropy.take() else {
                state.key_errors += 1;
                return;
            };
            let fresh = MasterSecret::from_bytes(seed);
            let mut rng = ChaCha20Rng::from_seed(*umbra_crypto::kdf::derive(
                Label::Random.in_domain(ctx.domain),
                fresh.expose(),
                b"rotation-envelopes",
            ));
            let mut envelopes = Vec::with_capacity(gatekeepers.len());
            for (identity, ecdh) in &gatekeepers {
                let context = key_context(&ctx.genesis, &identity.0);
                match envelope::seal(
                    &mut rng,
                    &x25519::Public(*ecdh),
                    Label::Envelope.in_domain(ctx.domain),
                    &context,
                    &(epoch, seed).encode(),
                ) {
                    Ok(s) => envelopes.push((*identity, s.envelope.to_bytes())),
                    Err(_) => {
                        state.key_errors += 1;
                        return;
                    }
                }
            }
            secrets.proposal = Some((epoch, seed));
            out.secrets_changed = true;
            let proposal = RotationProposal {
                epoch,
                pubkey: fresh.gatekeeper_signing(ctx.domain).public(),
                proposer: me,
                envelopes,
            };
            out.as_worker.push((gatekeeper::ROTATION_TOPIC.to_vec(), proposal.encode()));
            tracing::info!(epoch, "proposed a rotation secret");
        }
        Notice::Rotation(proposal) => {
            let Some((_, envelope)) = proposal.envelopes.iter().find(|(g, _)| *g == me) else { return };
            if gatekeeper::master_pubkey(ext, proposal.epoch) != Some(proposal.pubkey) {
                return diverged(state, "a Rotation notice's key is not the chain's key of its epoch");
            }
            let opened = recipient(ctx.ecdh).open_bytes(
                envelope,
                gatekeeper::MAX_ENVELOPE_LEN,
                Label::Envelope.in_domain(ctx.domain),
                &key_context(&ctx.genesis, &me.0),
            );
            let secret = opened.ok().and_then(|o| <(u32, [u8; 32])>::decode(&mut &o.plaintext[..]).ok());
            match secret {
                Some((epoch, s))
                    if epoch == proposal.epoch
                        && MasterSecret::from_bytes(s).gatekeeper_signing(ctx.domain).public() == proposal.pubkey =>
                {
                    out.secrets_changed |= secrets.add_master(epoch, s);
                    secrets.proposal = None;
                    tracing::info!(epoch, "adopted the rotation secret");
                }
                _ => {
                    state.divergences += 1;
                    tracing::error!(epoch = proposal.epoch, "the accepted rotation secret does not open or match");
                }
            }
        }
        Notice::MasterKeyPublished { epoch, pubkey } => {
            if let Some(mine) = secrets.epoch(epoch) {
                if mine.gatekeeper_signing(ctx.domain).public() != pubkey {
                    state.divergences += 1;
                    tracing::error!(epoch, "the chain's master key differs from ours");
                }
            }
        }
        _ => {}
    }
}

fn sign_gatekeeper(
    ctx: &Context<'_>,
    master: &MasterSecret,
    topic: &[u8],
    payload: Vec<u8>,
    state: &mut KeyState,
) -> SignedMessage {
    let message = Message { sender: MessageOrigin::Gatekeeper, destination: topic.to_vec(), payload };
    let sequence = state.gatekeeper_sequence;
    state.gatekeeper_sequence += 1;
    let signature = master.gatekeeper_signing(ctx.domain).sign_deterministic(&message_queue::signing_payload(
        &ctx.genesis,
        &message,
        sequence,
    ));
    SignedMessage { message, sequence, signature: signature.0 }
}

#[allow(clippy::too_many_arguments)]
fn distribute_cluster_key(
    ctx: &Context<'_>,
    ext: &Ext<'_>,
    cluster: H256,
    workers: &[sr25519::Public],
    epoch: u32,
    counter: u64,
    secrets: &Secrets,
    state: &mut KeyState,
    out: &mut Output,
) {
    let (Some(master), Some((_, current))) = (secrets.epoch(epoch), secrets.current()) else { return };
    let key = master.cluster_key(ctx.domain, &cluster.0);
    let mut rng = current.rng(ctx.domain, b"cluster-keys", counter);
    let mut deliveries = Vec::new();
    for worker in workers {
        // Only to workers whose registration is current and passes policy now.
        let Some(info) = registry::worker(ext, worker) else { continue };
        if !registry::passes_policy(ext, &info) || !may_hold(ctx.domain, info.platform) {
            tracing::warn!(worker = %hex::encode(worker.0), "cluster key withheld: registration not current, policy not met, or a simulated TEE for production keys");
            continue;
        }
        let context = key_context(&ctx.genesis, &cluster_subject(&cluster, worker));
        match envelope::seal(
            &mut rng,
            &x25519::Public(info.ecdh_public),
            Label::Envelope.in_domain(ctx.domain),
            &context,
            key.expose(),
        ) {
            Ok(s) => deliveries.push((*worker, s.envelope.to_bytes())),
            Err(_) => state.key_errors += 1,
        }
    }
    let payload = ClusterKeys {
        cluster,
        epoch,
        cluster_pubkey: key.signing(ctx.domain).public(),
        cluster_ecdh: key.ecdh(ctx.domain).public().0,
        deliveries,
    }
    .encode();
    out.as_gatekeeper.push(sign_gatekeeper(ctx, &current, contracts::CLUSTER_KEYS_TOPIC, payload, state));
}

fn receive_cluster_key(
    ctx: &Context<'_>,
    ext: &Ext<'_>,
    delivery: &ClusterKeys,
    secrets: &mut Secrets,
    state: &mut KeyState,
    out: &mut Output,
) {
    let me = ctx.identity.public();
    // The keys the chain published for this cluster, never the notice's.
    let published = contracts::cluster_pubkey(ext, &delivery.cluster);
    let published_ecdh = contracts::cluster_ecdh(ext, &delivery.cluster);
    if published != Some((delivery.epoch, delivery.cluster_pubkey)) || published_ecdh != Some(delivery.cluster_ecdh) {
        return diverged(state, "a ClusterKeys notice differs from the cluster keys on chain");
    }
    // A gatekeeper checks the published cluster key against its own.
    if let Some(master) = secrets.epoch(delivery.epoch) {
        if master.cluster_key(ctx.domain, &delivery.cluster.0).signing(ctx.domain).public() != delivery.cluster_pubkey {
            diverged(state, "the chain's cluster key differs from ours");
        }
    }
    let Some((_, envelope)) = delivery.deliveries.iter().find(|(w, _)| *w == me) else { return };
    if !contracts::cluster(ext, &delivery.cluster).is_some_and(|c| c.workers.contains(&me)) {
        return diverged(state, "a cluster key addressed to us for a cluster we are not in");
    }
    let context = key_context(&ctx.genesis, &cluster_subject(&delivery.cluster, &me));
    let opened = recipient(ctx.ecdh).open_bytes(
        envelope,
        contracts::MAX_KEY_ENVELOPE_LEN,
        Label::Envelope.in_domain(ctx.domain),
        &context,
    );
    let key = opened.ok().and_then(|o| <[u8; 32]>::try_from(o.plaintext.as_slice()).ok());
    let matches = |k: &[u8; 32]| {
        let key = ClusterKey::from_bytes(*k);
        key.signing(ctx.domain).public() == delivery.cluster_pubkey
            && key.ecdh(ctx.domain).public().0 == delivery.cluster_ecdh
    };
    match key {
        Some(k) if matches(&k) => {
            if !secrets.clusters.iter().any(|(c, e, _)| *c == delivery.cluster && *e == delivery.epoch) {
                secrets.clusters.push((delivery.cluster, delivery.epoch, k));
                out.secrets_changed = true;
                tracing::info!(cluster = ?delivery.cluster, "received a cluster key");
            }
        }
        _ => {
            state.key_errors += 1;
            tracing::error!(cluster = ?delivery.cluster, "a cluster key addressed to us does not open or match");
        }
    }
}

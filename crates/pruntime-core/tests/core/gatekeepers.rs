//! Gatekeepers and key distribution, end to end at the core level: a real
//! in-memory chain, two gatekeeper pRuntimes and two workers, their egress
//! relayed into blocks exactly once per (origin, sequence) as the pool
//! does. Genesis key, handover, identical derivations, rotation, removal,
//! cluster keys, policy refusals, wrong contexts.

use parity_scale_codec::Decode;
use umbra_attestation::Measurement;
use umbra_crypto::{
    envelope::{self, Purpose, Recipient},
    hierarchy::{ClusterKey, MasterSecret},
    labels::{Domain, Label},
    sr25519, x25519,
};
use umbra_primitives::H256;
use umbra_protocol::api::EpochHeld;
use umbra_pruntime_core::testing::{identity, status, Net, DOMAIN};
use umbra_runtime::{
    modules::{
        contracts, gatekeeper, message_queue,
        registry::{self, WorkerRole},
    },
    RuntimeCall,
};

#[test]
fn gatekeepers_share_rotate_and_distribute_keys() {
    // 0, 1: gatekeepers; 2: worker; 3: worker whose measurement is not allowed.
    let mut net = Net::new(&[
        (1, WorkerRole::Gatekeeper),
        (2, WorkerRole::Gatekeeper),
        (3, WorkerRole::Worker),
        (4, WorkerRole::Worker),
    ]);
    for i in 0..3 {
        net.register(i, [9; 32]);
    }
    net.sudo(RuntimeCall::Registry(Box::new(registry::Call::add_measurement {
        measurement: Measurement(vec![7; 32]),
    })));
    net.register(3, [7; 32]);

    // The first gatekeeper creates epoch 0 and publishes its key.
    net.sudo(RuntimeCall::Gatekeeper(gatekeeper::Call::add_gatekeeper { identity: net.public(0) }));
    net.blocks(2);
    let epoch0 = gatekeeper::master_pubkey(&net.ext(), 0).expect("epoch 0 published");
    assert_eq!(status(&net.nodes[0]).epochs, vec![EpochHeld { epoch: 0, pubkey: epoch0.0 }]);

    // A second gatekeeper receives the same master secret.
    net.sudo(RuntimeCall::Gatekeeper(gatekeeper::Call::add_gatekeeper { identity: net.public(1) }));
    net.blocks(2);
    assert_eq!(status(&net.nodes[1]).epochs, status(&net.nodes[0]).epochs, "identical history after handover");
    assert_eq!(net.nodes[1].secrets().master.len(), 1);

    // A cluster of worker 2.
    net.sudo(RuntimeCall::Contracts(contracts::Call::create_cluster { workers: vec![net.public(2)] }));
    net.blocks(2);
    let cluster = contracts::cluster_id(0);
    let on_chain: (u32, sr25519::Public) = net.ext().get(&contracts::keys::cluster_pubkey(&cluster)).unwrap();
    let worker_status = status(&net.nodes[2]);
    assert_eq!(worker_status.clusters.len(), 1, "the worker received its cluster key");
    assert_eq!(worker_status.clusters[0].pubkey, on_chain.1 .0);
    // Both gatekeepers derive the same cluster key (one copy landed, no divergence).
    assert_eq!(status(&net.nodes[0]).divergences, 0);
    assert_eq!(status(&net.nodes[1]).divergences, 0);
    // The worker derives contract public keys from it like anyone holding the key.
    let (_, _, cluster_key) = net.nodes[2].secrets().clusters[0];
    let contract = ClusterKey::from_bytes(cluster_key).contract_key(DOMAIN, &[0xcc; 32]);
    let master0 = MasterSecret::from_bytes(net.nodes[1].secrets().master[0].1);
    let expected = master0.cluster_key(DOMAIN, &cluster.0).contract_key(DOMAIN, &[0xcc; 32]);
    assert_eq!(contract.ecdh(DOMAIN).public(), expected.ecdh(DOMAIN).public());
    // The same master secret under the production labels gives other keys.
    assert_ne!(master0.cluster_key(Domain::Production, &cluster.0).signing(Domain::Production).public(), on_chain.1);

    // Worker 3's measurement is removed from the allowlist; a cluster of
    // workers 2 and 3 then gives worker 3 no key (worker 2 gets its own).
    net.sudo(RuntimeCall::Registry(Box::new(registry::Call::remove_measurement {
        measurement: Measurement(vec![7; 32]),
    })));
    net.sudo(RuntimeCall::Contracts(contracts::Call::create_cluster { workers: vec![net.public(2), net.public(3)] }));
    net.blocks(2);
    assert!(status(&net.nodes[3]).clusters.is_empty(), "no key for a worker failing policy");
    assert_eq!(status(&net.nodes[2]).clusters.len(), 2);
    let deliveries: Vec<contracts::ClusterKeys> = delivered(&net);
    let second = deliveries.iter().find(|d| d.cluster == contracts::cluster_id(1)).expect("delivered");
    assert_eq!(second.deliveries.iter().map(|(w, _)| *w).collect::<Vec<_>>(), vec![net.public(2)]);
    // Worker 2's envelope, replayed to worker 3, does not open for it.
    let (_, envelope) = &second.deliveries[0];
    let subject = [contracts::cluster_id(1).0.to_vec(), net.public(3).0.to_vec()].concat();
    let context = envelope::context(&net.f.chain.genesis_hash.0, Purpose::KeyTransport, &subject);
    let worker3 = Recipient::new(identity(4).ecdh);
    assert!(worker3.open_bytes(envelope, 1 << 16, Label::Envelope.in_domain(DOMAIN), &context).is_err());

    // Rotation: a fresh epoch both gatekeepers adopt.
    net.sudo(RuntimeCall::Gatekeeper(gatekeeper::Call::start_rotation {}));
    net.blocks(3);
    assert_eq!(gatekeeper::current_epoch(&net.ext()), Some(1));
    let e0 = status(&net.nodes[0]).epochs;
    assert_eq!(e0.len(), 2);
    assert_eq!(status(&net.nodes[1]).epochs, e0);
    assert_eq!(e0[1].pubkey, gatekeeper::master_pubkey(&net.ext(), 1).unwrap().0);

    // Removal: the removed gatekeeper gets nothing of the next epoch.
    net.sudo(RuntimeCall::Gatekeeper(gatekeeper::Call::remove_gatekeeper { identity: net.public(0) }));
    net.blocks(3);
    assert_eq!(gatekeeper::current_epoch(&net.ext()), Some(2));
    assert_eq!(status(&net.nodes[1]).epochs.len(), 3);
    assert_eq!(status(&net.nodes[0]).epochs.len(), 2, "a removed gatekeeper cannot derive epoch 2");
}

fn delivered(net: &Net) -> Vec<contracts::ClusterKeys> {
    // Every ClusterKeyPublished so far, read back from the fixture's blocks' outbound notices.
    let mut out = Vec::new();
    for (_, changes) in &net.f.blocks {
        for (key, value) in changes {
            if *key == message_queue::keys::outbound() {
                if let Some(v) = value {
                    let messages: Vec<message_queue::Message> = Decode::decode(&mut &v[..]).unwrap();
                    for m in messages {
                        if m.destination == contracts::TOPIC {
                            if let Ok(contracts::Notice::ClusterKeys(d)) =
                                contracts::Notice::decode(&mut &m.payload[..])
                            {
                                out.push(d);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn key_envelopes_only_open_for_their_recipient_and_context() {
    let genesis = [7u8; 32];
    let worker = x25519::Secret::from_bytes([1; 32]);
    let other = x25519::Secret::from_bytes([2; 32]);
    let master = MasterSecret::from_bytes([3; 32]);
    let cluster_key = master.cluster_key(DOMAIN, &[4; 32]);
    let label = Label::Envelope.in_domain(DOMAIN);
    let context = envelope::context(&genesis, Purpose::KeyTransport, b"cluster-a|worker-1");
    let sealed =
        envelope::seal(&mut master.rng(DOMAIN, b"t", 1), &worker.public(), label, &context, cluster_key.expose())
            .unwrap();
    let bytes = sealed.envelope.to_bytes();
    let open = |secret: &x25519::Secret, label, context: &[u8]| {
        Recipient::new(x25519::Secret::from_bytes(*secret.to_bytes())).open_bytes(&bytes, 1 << 16, label, context)
    };
    assert!(open(&worker, label, &context).is_ok());
    // Replayed for another worker: that worker cannot open it.
    assert!(open(&other, label, &context).is_err());
    // Wrong context (another cluster or purpose), wrong domain.
    assert!(open(&worker, label, &envelope::context(&genesis, Purpose::KeyTransport, b"cluster-b|worker-1")).is_err());
    assert!(open(&worker, label, &envelope::context(&genesis, Purpose::Command, b"cluster-a|worker-1")).is_err());
    assert!(open(&worker, Label::Envelope.in_domain(Domain::Production), &context).is_err());
}

/// Egress, master epochs, cluster keys, a proposal, divergences, key errors.
type Footprint = (Vec<Vec<u8>>, Vec<u32>, Vec<(H256, u32)>, bool, u64, u64);

/// What a forged notice could change in a core: its egress, its secrets and
/// its key-role counters.
fn footprint(core: &umbra_pruntime_core::core::Core) -> Footprint {
    use parity_scale_codec::Encode;
    let status = core.status();
    (
        core.egress().iter().map(|m| m.encode()).collect(),
        core.secrets().master.iter().map(|(e, _)| *e).collect(),
        core.secrets().clusters.iter().map(|(c, e, _)| (*c, *e)).collect(),
        core.secrets().proposal.is_some(),
        status.divergences,
        status.key_errors,
    )
}

/// Section 1 of the trust boundary: a finalized block whose `Outbound`
/// carries forged notices — `Added`, `ClusterCreated`, `ReplicaAdded`,
/// `ClusterKeys`, `Rotation`, `RotationStarted`, `Handover` — produces no
/// egress, no sealed key and no secret in any core. Sent by a worker
/// (not the topic's owner) they are ignored outright; sent in the owning
/// module's name but contradicting the verified replica (a runtime bug, a
/// lying majority) they are refused by the cross-checks and counted as
/// divergences.
#[test]
fn forged_notices_in_finalized_blocks_release_nothing() {
    use parity_scale_codec::Encode;
    use umbra_runtime::modules::message_queue::{Message, MessageOrigin};
    // 0: gatekeeper; 1: worker of cluster 0; 2: the attacker's worker.
    let mut net = Net::new(&[(1, WorkerRole::Gatekeeper), (3, WorkerRole::Worker), (9, WorkerRole::Worker)]);
    for i in 0..3 {
        net.register(i, [9; 32]);
    }
    net.sudo(RuntimeCall::Gatekeeper(gatekeeper::Call::add_gatekeeper { identity: net.public(0) }));
    net.blocks(2);
    net.sudo(RuntimeCall::Contracts(contracts::Call::create_cluster { workers: vec![net.public(1)] }));
    net.blocks(3);
    let cluster = contracts::cluster_id(0);
    assert_eq!(status(&net.nodes[1]).clusters.len(), 1, "the honest replica holds its key");
    let attacker = net.public(2);
    let attacker_ecdh = identity(9).ecdh.public().0;
    // Attacker-chosen key material: a cluster key it knows.
    let fake = ClusterKey::from_bytes([0xa7; 32]);
    let fake_delivery = contracts::ClusterKeys {
        cluster,
        epoch: 0,
        cluster_pubkey: fake.signing(DOMAIN).public(),
        cluster_ecdh: fake.ecdh(DOMAIN).public().0,
        deliveries: vec![(attacker, vec![7; 80])],
    };
    let fake_master = MasterSecret::from_bytes([0xa8; 32]);
    let gk = |n: gatekeeper::Notice| (gatekeeper::TOPIC.to_vec(), n.encode());
    let ct = |n: contracts::Notice| (contracts::TOPIC.to_vec(), n.encode());
    let notices = [
        gk(gatekeeper::Notice::Added { identity: attacker, ecdh_public: attacker_ecdh }),
        ct(contracts::Notice::ClusterCreated { cluster: contracts::cluster_id(7), workers: vec![attacker], epoch: 0 }),
        ct(contracts::Notice::ClusterCreated { cluster, workers: vec![attacker], epoch: 0 }),
        ct(contracts::Notice::ReplicaAdded { cluster, worker: attacker, epoch: 0 }),
        ct(contracts::Notice::ClusterKeys(fake_delivery)),
        gk(gatekeeper::Notice::Rotation(gatekeeper::RotationProposal {
            epoch: 1,
            pubkey: fake_master.gatekeeper_signing(DOMAIN).public(),
            proposer: attacker,
            envelopes: vec![(net.public(0), vec![7; 80]), (attacker, vec![7; 80])],
        })),
        gk(gatekeeper::Notice::RotationStarted { epoch: 1, gatekeepers: vec![(attacker, attacker_ecdh)] }),
        gk(gatekeeper::Notice::Handover(gatekeeper::Handover { newcomer: attacker, envelope: vec![7; 80] })),
    ];
    let forge = |sender: MessageOrigin| -> Vec<Message> {
        notices
            .iter()
            .map(|(topic, payload)| Message {
                sender: sender.clone(),
                destination: topic.clone(),
                payload: payload.clone(),
            })
            .collect()
    };
    let before: Vec<_> = net.nodes.iter().map(footprint).collect();

    // Sent by a worker: not the owner of these topics, ignored outright.
    net.block_forging(vec![], forge(MessageOrigin::Worker(attacker)));
    for (i, core) in net.nodes.iter().enumerate() {
        assert_eq!(footprint(core), before[i], "core {i} changed on notices from a worker");
        assert_eq!(status(core).forged_notices, notices.len() as u64, "core {i} counted them");
    }

    // In the owning module's name, but contradicting the verified state:
    // refused by the cross-checks (the topics' owners differ: send each
    // from its own module).
    let owned: Vec<Message> = notices
        .iter()
        .map(|(topic, payload)| {
            let owner = umbra_runtime::routing::notice_owner(topic).unwrap();
            Message { sender: MessageOrigin::module(owner), destination: topic.clone(), payload: payload.clone() }
        })
        .collect();
    net.block_forging(vec![], owned);
    for (i, core) in net.nodes.iter().enumerate() {
        let (egress, master, clusters, proposal, _, _) = footprint(core);
        let (egress0, master0, clusters0, proposal0, _, _) = &before[i];
        assert_eq!(&egress, egress0, "core {i} emitted something");
        assert_eq!((&master, &clusters, proposal), (master0, clusters0, *proposal0), "core {i} took a secret");
    }
    assert!(status(&net.nodes[0]).divergences >= 4, "the gatekeeper noticed the contradictions");
    assert!(net.nodes[2].secrets().clusters.is_empty(), "the attacker's worker holds no cluster key");
    // The honest network keeps working afterwards.
    net.blocks(2);
    assert_eq!(status(&net.nodes[1]).clusters.len(), 1);
}

/// Section 6: a gatekeeper holding production-domain keys never seals them
/// to a simulated TEE: a cluster of a simulated worker gets its public keys
/// published, but the worker receives no key.
#[test]
fn production_keys_are_never_sealed_to_a_simulated_worker() {
    let mut net =
        Net::with_domains(&[(1, WorkerRole::Gatekeeper, Domain::Production), (3, WorkerRole::Worker, DOMAIN)]);
    for i in 0..2 {
        net.register(i, [9; 32]);
    }
    net.sudo(RuntimeCall::Gatekeeper(gatekeeper::Call::add_gatekeeper { identity: net.public(0) }));
    net.blocks(2);
    assert_eq!(net.nodes[0].secrets().master.len(), 1, "the production gatekeeper holds epoch 0");
    net.sudo(RuntimeCall::Contracts(contracts::Call::create_cluster { workers: vec![net.public(1)] }));
    net.blocks(3);
    let delivered = delivered(&net);
    assert!(!delivered.is_empty(), "the cluster's keys are published");
    assert!(delivered.iter().all(|d| d.deliveries.is_empty()), "no envelope for the simulated worker: {delivered:?}");
    assert!(net.nodes[1].secrets().clusters.is_empty());
}

//! Messages from off chain: cluster keys from gatekeepers, commits from clusters, acks from replicas.

use super::*;

pub(super) fn decode_payload<T: Decode>(payload: &[u8]) -> Result<T, DispatchError> {
    umbra_primitives::decode_bounded(payload, message_queue::MAX_COMMIT_PAYLOAD_LEN)
        .map_err(|_| message_queue::Error::BadPayload.into())
}

/// `^umbra/contracts/cluster-keys` (origin `Gatekeeper`, checked by the
/// router): publishes a cluster's public keys (the first delivery; later
/// ones, for replacement replicas, must carry the same keys) and tells its
/// replicas.
pub fn handle_cluster_keys(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    if *sender != MessageOrigin::Gatekeeper {
        return Err(message_queue::Error::OriginNotAllowed.into());
    }
    let delivery: ClusterKeys = decode_payload(payload)?;
    let info = cluster(ext, &delivery.cluster).ok_or(Error::BadDelivery)?;
    let valid = delivery.deliveries.iter().all(|(w, e)| info.workers.contains(w) && e.len() <= MAX_KEY_ENVELOPE_LEN);
    if !valid || delivery.epoch != info.epoch || gatekeeper::master_pubkey(ext, delivery.epoch).is_none() {
        return Err(Error::BadDelivery.into());
    }
    if let Some((epoch, pubkey)) = cluster_pubkey(ext, &delivery.cluster) {
        let ecdh = cluster_ecdh(ext, &delivery.cluster);
        if (epoch, pubkey, ecdh) != (delivery.epoch, delivery.cluster_pubkey, Some(delivery.cluster_ecdh)) {
            return Err(Error::BadDelivery.into());
        }
    }
    ext.put(keys::cluster_pubkey(&delivery.cluster), &(delivery.epoch, delivery.cluster_pubkey));
    ext.put(keys::cluster_ecdh(&delivery.cluster), &delivery.cluster_ecdh);
    ext.deposit_event(Event::ClusterKeyPublished {
        cluster: delivery.cluster,
        epoch: delivery.epoch,
        pubkey: delivery.cluster_pubkey,
    });
    notify(ext, Notice::ClusterKeys(delivery))
}

/// `^umbra/contracts/commit` (origin `Cluster`): a cluster's commit.
pub fn handle_commit(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    let MessageOrigin::Cluster(id) = sender else { return Err(Error::BadCommit.into()) };
    let commit: ClusterCommit = decode_payload(payload)?;
    apply_commit(ext, *id, commit)
}

/// `^umbra/contracts/ack` (origin `Worker`): a replica's own root of a
/// committed block; a differing one freezes the cluster.
pub fn handle_ack(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    let MessageOrigin::Worker(worker) = sender else { return Err(Error::BadAck.into()) };
    let ack: Ack = decode_payload(payload)?;
    let info = cluster(ext, &ack.cluster).ok_or(Error::BadAck)?;
    if !info.workers.contains(worker) {
        return Err(Error::BadAck.into());
    }
    let committed: H256 = ext.get(&keys::committed_root(&ack.cluster, ack.block)).ok_or(Error::BadAck)?;
    if committed != ack.state_root {
        freeze(ext, ack.cluster, *worker, ack.block, committed, ack.state_root);
    }
    Ok(())
}

pub(super) fn apply_commit(ext: &mut Ext<'_>, id: H256, commit: ClusterCommit) -> DispatchResult {
    if commit.cluster != id {
        return Err(Error::BadCommit.into());
    }
    if frozen(ext, &id) {
        return Err(Error::ClusterFrozen.into());
    }
    let state = commit_state(ext, &id);
    if commit.block < state.block || commit.block >= ext.env.number {
        return Err(Error::BadCommit.into());
    }
    let (done, rest): (Vec<QueuedBlock>, Vec<QueuedBlock>) =
        queued_blocks(ext, &id).into_iter().partition(|q| q.block <= commit.block);
    let covered = commands_of(ext, &id, &done);
    let exact = !covered.is_empty()
        && covered.len() == commit.results.len()
        && covered.iter().zip(&commit.results).all(|(c, r)| c.call_id == r.call_id && r.output.len() <= MAX_OUTPUT_LEN);
    if !exact || commit.deltas.iter().any(|(_, d)| d.len() > MAX_DELTA_LEN) {
        return Err(Error::BadCommit.into());
    }
    // Contract keys: exactly the constructors that succeeded here.
    let deployed: Vec<H256> = covered
        .iter()
        .zip(&commit.results)
        .filter(|(c, r)| c.kind == CommandKind::Deploy && r.status == ExecStatus::Success)
        .map(|(c, _)| c.contract)
        .collect();
    let keyed: Vec<H256> = commit.contract_keys.iter().map(|(c, _)| *c).collect();
    if deployed != keyed {
        return Err(Error::BadCommit.into());
    }
    let contracts = cluster_contracts(ext, &id);
    let known = |c: &H256| contracts.contains(c) || deployed.contains(c);
    if commit.deltas.iter().any(|(c, _)| !known(c)) {
        return Err(Error::BadCommit.into());
    }
    for (command, result) in covered.iter().zip(&commit.results) {
        if let Some(pending) = ext.get::<PendingCall>(&keys::pending_call(command.call_id)) {
            let unused = pending.gas_limit.saturating_sub(result.gas_used);
            balances::deposit(ext, &pending.caller, Balance::from(unused).saturating_mul(GAS_PRICE));
            ext.kill(keys::pending_call(command.call_id));
        }
        ext.put(keys::result(command.call_id), result);
        ext.deposit_event(Event::CommandExecuted {
            call_id: result.call_id,
            status: result.status,
            gas_used: result.gas_used,
        });
    }
    for (contract_id, pubkeys) in &commit.contract_keys {
        if let Some(mut info) = contract(ext, contract_id) {
            info.pubkeys = Some(*pubkeys);
            ext.put(keys::contract(contract_id), &info);
        }
    }
    if !deployed.is_empty() {
        let mut all = contracts;
        all.extend(deployed.iter().copied());
        ext.put(keys::cluster_contracts(&id), &all);
    }
    for q in &done {
        for i in 0..q.count {
            ext.kill(keys::queue_entry(&id, q.block, i));
        }
    }
    if rest.is_empty() {
        ext.kill(keys::queued_blocks(&id));
    } else {
        ext.put(keys::queued_blocks(&id), &rest);
    }
    let record =
        DeltaRecord { block: commit.block, state_root: commit.state_root, deltas: commit.deltas, created: deployed };
    ext.put(keys::delta(&id, state.deltas), &record);
    ext.put(
        keys::commit_state(&id),
        &CommitState { block: commit.block, state_root: commit.state_root, deltas: state.deltas.saturating_add(1) },
    );
    ext.put(keys::committed_root(&id, commit.block), &commit.state_root);
    ext.deposit_event(Event::ClusterCommitted { cluster: id, block: commit.block, state_root: commit.state_root });
    notify(ext, Notice::Committed { cluster: id, block: commit.block, state_root: commit.state_root })
}

//! Ids and random dispatch: which workers may serve a cluster and how they are drawn, as pure functions anyone can rerun.

use super::*;

/// The id of the `n`-th cluster: `BLAKE2-256("umbra/cluster" ‖ n)`.
pub fn cluster_id(n: u64) -> H256 {
    let mut input = b"umbra/cluster".to_vec();
    input.extend_from_slice(&n.to_le_bytes());
    H256(umbra_crypto::hashing::blake2_256(&input))
}

/// `contract_id = BLAKE2-256(deployer ‖ code_hash ‖ cluster ‖ salt)`.
pub fn contract_id(deployer: &AccountId32, code_hash: &H256, cluster: &H256, salt: &[u8]) -> H256 {
    let mut input = deployer.0.to_vec();
    input.extend_from_slice(code_hash.as_bytes());
    input.extend_from_slice(cluster.as_bytes());
    input.extend_from_slice(salt);
    H256(umbra_crypto::hashing::blake2_256(&input))
}

/// Random dispatch: picks `count` distinct entries of `pool` (identity,
/// weight > 0) without replacement, each round with probability
/// proportional to its weight among those left, from
/// `BLAKE2-256(randomness ‖ subject ‖ round)`. A pure function: anyone can
/// recompute a cluster's workers from the epoch randomness, the subject
/// (the cluster id) and the pool. `None` when the pool is too small.
pub fn dispatch(
    randomness: &H256,
    subject: &H256,
    pool: &[(sr25519::Public, u64)],
    count: usize,
) -> Option<Vec<sr25519::Public>> {
    let mut left: Vec<(sr25519::Public, u64)> = pool.iter().copied().filter(|(_, w)| *w > 0).collect();
    if left.len() < count {
        return None;
    }
    let mut picked = Vec::with_capacity(count);
    for round in 0..count as u32 {
        let total: u128 = left.iter().map(|(_, w)| u128::from(*w)).sum();
        let mut input = randomness.0.to_vec();
        input.extend_from_slice(subject.as_bytes());
        input.extend_from_slice(&round.to_le_bytes());
        let digest = umbra_crypto::hashing::blake2_256(&input);
        let mut wide = [0u8; 16];
        wide.copy_from_slice(&digest[..16]);
        // 128 random bits reduced modulo a total below 2^76: bias < 2^-52.
        let mut x = u128::from_le_bytes(wide) % total;
        let mut index = 0;
        for (i, (_, w)) in left.iter().enumerate() {
            if x < u128::from(*w) {
                index = i;
                break;
            }
            x -= u128::from(*w);
        }
        picked.push(left.remove(index).0);
    }
    Some(picked)
}

/// A worker's dispatch weight: its attested benchmark score. Until mining
/// benchmarks exist this is the core count it registered with (bound into
/// its attested registration info), clamped to 1..=64.
pub fn weight_of(worker: &registry::WorkerInfo) -> u64 {
    u64::from(worker.features.cores.clamp(1, 64))
}

/// Whether `worker` may host contracts now: registered as a worker,
/// attestation current and passing policy, a heartbeat within
/// [`HEARTBEAT_GRACE`] blocks.
pub fn eligible(ext: &Ext<'_>, worker: &registry::WorkerInfo) -> bool {
    worker.role == registry::WorkerRole::Worker
        && registry::passes_policy(ext, worker)
        && registry::last_heartbeat(ext, &worker.identity)
            .is_some_and(|(landed, _)| landed.saturating_add(HEARTBEAT_GRACE) >= ext.env.number)
}

/// The eligible pool with weights, in registration order.
pub fn pool(ext: &Ext<'_>) -> Vec<(sr25519::Public, u64)> {
    let ids: Vec<sr25519::Public> = ext.get_or_default(&registry::keys::worker_ids());
    ids.iter()
        .filter_map(|id| registry::worker(ext, id))
        .filter(|w| eligible(ext, w))
        .map(|w| (w.identity, weight_of(&w)))
        .collect()
}

//! Calls: code upload, clusters, instantiate and call (bindings checked, gas reserved, queued), replica replacement.

use super::*;

/// Calls.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Root: creates a cluster of these registered workers.
    #[codec(index = 0)]
    create_cluster {
        /// The workers.
        workers: Vec<sr25519::Public>,
    },
    /// Uploads contract code (wasm), validated on chain: size, imports of
    /// host ABI v1 only, exports, no floating point, memory and table
    /// limits, no start function.
    #[codec(index = 1)]
    upload_code {
        /// The wasm.
        code: Vec<u8>,
    },
    /// Creates a cluster of `replicas` workers drawn by random dispatch
    /// ([`dispatch`]) from the eligible pool.
    #[codec(index = 2)]
    create_random_cluster {
        /// How many replicas (1..=16).
        replicas: u8,
    },
    /// Instantiates `code_hash` in `cluster`; the constructor's input is
    /// sealed to the cluster's X25519 key. Reserves `gas_limit × GAS_PRICE`.
    #[codec(index = 3)]
    instantiate {
        /// The cluster.
        cluster: H256,
        /// The code.
        code_hash: H256,
        /// Makes the contract id unique per deployer and code.
        salt: Vec<u8>,
        /// The constructor input, sealed to the cluster's key and bound to
        /// (genesis, the new contract's id, the deployer, a fresh nonce).
        command: SealedCommand,
        /// Gas for the constructor.
        gas_limit: u64,
    },
    /// Queues a command sealed to the contract's X25519 key. Reserves
    /// `gas_limit × GAS_PRICE`; the unused part is refunded at the commit.
    #[codec(index = 4)]
    call {
        /// The contract.
        contract: H256,
        /// The command, sealed to the contract's key and bound to (genesis,
        /// contract, caller, a fresh nonce).
        command: SealedCommand,
        /// Gas for it.
        gas_limit: u64,
    },
    /// Replaces a replica that is no longer eligible (unregistered, stale
    /// attestation, policy, or no heartbeat within [`HEARTBEAT_GRACE`]) by
    /// a random pick. Anyone may call it.
    #[codec(index = 5)]
    replace_replica {
        /// The cluster.
        cluster: H256,
        /// The replica that left.
        worker: sr25519::Public,
    },
}

impl Call {
    /// Weight, class and fee flag. Upload validation is linear in the code
    /// size (bounded by `umbra_vm::limits::MAX_CODE_SIZE`); random dispatch
    /// reads the whole pool (bounded by `registry::MAX_WORKERS`).
    pub fn info(&self) -> DispatchInfo {
        let micros = match self {
            Call::create_cluster { .. } => 100,
            Call::upload_code { code } => 200 + code.len() as u64 / 10,
            Call::create_random_cluster { .. } | Call::replace_replica { .. } => {
                200 + 10 * registry::MAX_WORKERS as u64
            }
            Call::instantiate { command, .. } | Call::call { command, .. } => 150 + command.envelope.len() as u64 / 100,
        };
        DispatchInfo { weight: Weight::from_parts(micros * WEIGHT_REF_TIME_PER_MICROS, 0), ..Default::default() }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        match self {
            Call::create_cluster { workers } => {
                origin.ensure_root()?;
                create_cluster(ext, workers)
            }
            Call::upload_code { code } => {
                let owner = origin.ensure_signed()?;
                upload_code(ext, owner, code)
            }
            Call::create_random_cluster { replicas } => {
                origin.ensure_signed()?;
                create_random_cluster(ext, replicas)
            }
            Call::instantiate { cluster, code_hash, salt, command, gas_limit } => {
                let deployer = origin.ensure_signed()?;
                instantiate(ext, deployer, cluster, code_hash, salt, command, gas_limit)
            }
            Call::call { contract, command, gas_limit } => {
                let caller = origin.ensure_signed()?;
                call(ext, caller, contract, command, gas_limit)
            }
            Call::replace_replica { cluster, worker } => {
                origin.ensure_signed()?;
                replace_replica(ext, cluster, worker)
            }
        }
    }
}

pub(super) fn upload_code(ext: &mut Ext<'_>, owner: AccountId32, code: Vec<u8>) -> DispatchResult {
    umbra_vm::validate::validate(&code).map_err(Error::from)?;
    let hash = H256(umbra_crypto::hashing::blake2_256(&code));
    if ext.exists(&keys::code_info(&hash)) {
        return Err(Error::CodeExists.into());
    }
    let info = CodeInfo { owner, len: code.len() as u32, uploaded_at: ext.env.number };
    ext.put(keys::code(&hash), &code);
    ext.put(keys::code_info(&hash), &info);
    ext.deposit_event(Event::CodeUploaded { hash, owner });
    Ok(())
}

pub(super) fn new_cluster(ext: &mut Ext<'_>, workers: Vec<sr25519::Public>, id: H256, n: u64) -> DispatchResult {
    let epoch = gatekeeper::current_epoch(ext).ok_or(Error::NoMasterKey)?;
    ext.put(keys::cluster_count(), &n.saturating_add(1));
    ext.put(keys::cluster(&id), &ClusterInfo { workers: workers.clone(), epoch });
    ext.deposit_event(Event::ClusterCreated { cluster: id, workers: workers.clone(), epoch });
    notify(ext, Notice::ClusterCreated { cluster: id, workers, epoch })
}

pub(super) fn create_cluster(ext: &mut Ext<'_>, workers: Vec<sr25519::Public>) -> DispatchResult {
    let mut sorted = workers.clone();
    sorted.sort();
    sorted.dedup();
    if workers.is_empty() || workers.len() > MAX_CLUSTER_WORKERS || sorted.len() != workers.len() {
        return Err(Error::InvalidWorkers.into());
    }
    if workers.iter().any(|w| registry::worker(ext, w).is_none()) {
        return Err(Error::WorkerNotRegistered.into());
    }
    let n: u64 = ext.get_or_default(&keys::cluster_count());
    new_cluster(ext, workers, cluster_id(n), n)
}

pub(super) fn create_random_cluster(ext: &mut Ext<'_>, replicas: u8) -> DispatchResult {
    if replicas == 0 || usize::from(replicas) > MAX_CLUSTER_WORKERS {
        return Err(Error::InvalidWorkers.into());
    }
    gatekeeper::current_epoch(ext).ok_or(Error::NoMasterKey)?;
    let n: u64 = ext.get_or_default(&keys::cluster_count());
    let id = cluster_id(n);
    let workers = dispatch(&randomness::randomness(ext), &id, &pool(ext), usize::from(replicas))
        .ok_or(Error::NotEnoughWorkers)?;
    new_cluster(ext, workers, id, n)
}

pub(super) fn replace_replica(ext: &mut Ext<'_>, id: H256, worker: sr25519::Public) -> DispatchResult {
    let mut info = cluster(ext, &id).ok_or(Error::UnknownCluster)?;
    let position = info.workers.iter().position(|w| *w == worker).ok_or(Error::NotReplica)?;
    if registry::worker(ext, &worker).is_some_and(|w| eligible(ext, &w)) {
        return Err(Error::ReplicaStillEligible.into());
    }
    let candidates: Vec<(sr25519::Public, u64)> =
        pool(ext).into_iter().filter(|(w, _)| !info.workers.contains(w)).collect();
    let n: u64 = ext.get_or_default(&keys::replacements());
    let mut subject = id.0.to_vec();
    subject.extend_from_slice(&n.to_le_bytes());
    let subject = H256(umbra_crypto::hashing::blake2_256(&subject));
    let new = dispatch(&randomness::randomness(ext), &subject, &candidates, 1)
        .and_then(|v| v.first().copied())
        .ok_or(Error::NotEnoughWorkers)?;
    ext.put(keys::replacements(), &n.saturating_add(1));
    info.workers[position] = new;
    ext.put(keys::cluster(&id), &info);
    ext.deposit_event(Event::ReplicaReplaced { cluster: id, old: worker, new });
    notify(ext, Notice::ReplicaAdded { cluster: id, worker: new, epoch: info.epoch })
}

pub(super) fn check_command(command: &SealedCommand, gas_limit: u64) -> Result<(), Error> {
    let envelope = &command.envelope;
    if envelope.is_empty() || envelope.len() > MAX_ENVELOPE_LEN || gas_limit == 0 || gas_limit > MAX_GAS_LIMIT {
        return Err(Error::InvalidCommand);
    }
    Ok(())
}

/// Checks a command's binding against the extrinsic and consumes its nonce:
/// the binding must name this signer, this contract and this chain, and a
/// nonce not below the caller's next one (nonces only grow).
pub(super) fn consume_binding(
    ext: &mut Ext<'_>,
    caller: &AccountId32,
    contract: &H256,
    binding: &CommandBinding,
) -> Result<u64, Error> {
    let genesis = crate::modules::system::block_hash(ext, 0).unwrap_or_default();
    if binding.caller != *caller || binding.contract != *contract || binding.genesis != genesis {
        return Err(Error::BindingMismatch);
    }
    if binding.nonce < command_nonce(ext, caller) {
        return Err(Error::CommandReplayed);
    }
    ext.put(keys::command_nonce(caller), &binding.nonce.saturating_add(1));
    Ok(binding.nonce)
}

/// Reserves the gas fee and queues the command; returns its id.
pub(super) fn enqueue(
    ext: &mut Ext<'_>,
    cluster: H256,
    contract: H256,
    caller: AccountId32,
    kind: CommandKind,
    command: SealedCommand,
    gas_limit: u64,
) -> Result<u64, DispatchError> {
    if frozen(ext, &cluster) {
        return Err(Error::ClusterFrozen.into());
    }
    let nonce = consume_binding(ext, &caller, &contract, &command.binding)?;
    let envelope = command.envelope;
    let mut blocks = queued_blocks(ext, &cluster);
    let number = ext.env.number;
    let waiting: u64 = blocks.iter().map(|q| u64::from(q.count)).sum();
    let bytes: u64 = blocks.iter().map(|q| q.bytes).sum::<u64>().saturating_add(envelope.len() as u64);
    let here = blocks.last().filter(|q| q.block == number).map_or(0, |q| q.count as usize);
    let gas_here = blocks.last().filter(|q| q.block == number).map_or(0, |q| q.gas).saturating_add(gas_limit);
    if waiting >= MAX_QUEUE as u64
        || here >= MAX_COMMANDS_PER_BLOCK
        || bytes > MAX_QUEUE_BYTES
        || gas_here > MAX_BLOCK_GAS
    {
        return Err(Error::QueueFull.into());
    }
    let fee = Balance::from(gas_limit).saturating_mul(GAS_PRICE);
    balances::withdraw(ext, &caller, fee).map_err(|_| Error::InsufficientBalance)?;
    let call_id: u64 = ext.get_or_default(&keys::next_call_id());
    ext.put(keys::next_call_id(), &call_id.saturating_add(1));
    ext.put(keys::pending_call(call_id), &PendingCall { caller, gas_limit, cluster });
    let size = envelope.len() as u64;
    let command = Command {
        call_id,
        contract,
        caller,
        nonce,
        kind,
        envelope,
        gas_limit,
        block: number,
        timestamp: timestamp::now(ext),
    };
    ext.put(keys::queue_entry(&cluster, number, here as u32), &command);
    match blocks.last_mut().filter(|q| q.block == number) {
        Some(q) => {
            q.count += 1;
            q.bytes = q.bytes.saturating_add(size);
            q.gas = q.gas.saturating_add(gas_limit);
        }
        None => blocks.push(QueuedBlock { block: number, count: 1, bytes: size, gas: gas_limit }),
    }
    ext.put(keys::queued_blocks(&cluster), &blocks);
    ext.deposit_event(Event::CommandQueued { call_id, contract });
    Ok(call_id)
}

pub(super) fn instantiate(
    ext: &mut Ext<'_>,
    deployer: AccountId32,
    cluster_id: H256,
    code_hash: H256,
    salt: Vec<u8>,
    command: SealedCommand,
    gas_limit: u64,
) -> DispatchResult {
    check_command(&command, gas_limit)?;
    if salt.len() > MAX_SALT_LEN {
        return Err(Error::InvalidCommand.into());
    }
    cluster(ext, &cluster_id).ok_or(Error::UnknownCluster)?;
    if cluster_ecdh(ext, &cluster_id).is_none() {
        return Err(Error::ClusterNotReady.into());
    }
    if !ext.exists(&keys::code_info(&code_hash)) {
        return Err(Error::UnknownCode.into());
    }
    let id = contract_id(&deployer, &code_hash, &cluster_id, &salt);
    if ext.exists(&keys::contract(&id)) {
        return Err(Error::ContractExists.into());
    }
    let call_id = enqueue(ext, cluster_id, id, deployer, CommandKind::Deploy, command, gas_limit)?;
    let info = ContractInfo {
        cluster: cluster_id,
        code_hash,
        deployer,
        instantiated_at: ext.env.number,
        pubkeys: None,
        deploy_call: call_id,
    };
    ext.put(keys::contract(&id), &info);
    ext.deposit_event(Event::Instantiated { contract: id, cluster: cluster_id, call_id });
    Ok(())
}

pub(super) fn call(
    ext: &mut Ext<'_>,
    caller: AccountId32,
    id: H256,
    command: SealedCommand,
    gas_limit: u64,
) -> DispatchResult {
    check_command(&command, gas_limit)?;
    let info = contract(ext, &id).ok_or(Error::UnknownContract)?;
    if info.pubkeys.is_none() {
        return Err(Error::ContractNotReady.into());
    }
    enqueue(ext, info.cluster, id, caller, CommandKind::Call, command, gas_limit)?;
    Ok(())
}

pub(super) fn notify(ext: &mut Ext<'_>, notice: Notice) -> DispatchResult {
    Ok(message_queue::notify(ext, NAME, TOPIC, notice.encode())?)
}

pub(super) fn freeze(
    ext: &mut Ext<'_>,
    cluster: H256,
    worker: sr25519::Public,
    block: BlockNumber,
    committed: H256,
    reported: H256,
) {
    if !frozen(ext, &cluster) {
        let number = ext.env.number;
        ext.put(keys::frozen(&cluster), &number);
    }
    ext.deposit_event(Event::ReplicaDiverged { cluster, worker, block, committed, reported });
}

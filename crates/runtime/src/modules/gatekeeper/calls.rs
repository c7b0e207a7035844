//! Calls (root): add and remove gatekeepers, start a rotation.

use super::*;

/// Calls (root only, governance later).
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum Call {
    /// Appoints a gatekeeper.
    #[codec(index = 0)]
    add_gatekeeper {
        /// Its identity (a registered gatekeeper-role worker).
        identity: sr25519::Public,
    },
    /// Removes a gatekeeper and starts a rotation.
    #[codec(index = 1)]
    remove_gatekeeper {
        /// Its identity.
        identity: sr25519::Public,
    },
    /// Starts a rotation to a fresh epoch.
    #[codec(index = 2)]
    start_rotation {},
}

/// Weight of a root call.
pub const ADMIN_WEIGHT: Weight = Weight::from_parts(100 * WEIGHT_REF_TIME_PER_MICROS, 0);

impl Call {
    /// Weight, class and fee flag.
    pub fn info(&self) -> DispatchInfo {
        DispatchInfo { weight: ADMIN_WEIGHT, ..Default::default() }
    }

    pub(crate) fn dispatch(self, ext: &mut Ext<'_>, origin: Origin) -> DispatchResult {
        origin.ensure_root()?;
        match self {
            Call::add_gatekeeper { identity } => add_gatekeeper(ext, identity),
            Call::remove_gatekeeper { identity } => remove_gatekeeper(ext, identity),
            Call::start_rotation {} => start_rotation(ext),
        }
    }
}

/// Whether a worker may hold gatekeeper secrets now: registered as a
/// gatekeeper, attestation current, measurement allowed, TCB policy met.
pub fn eligible(ext: &Ext<'_>, identity: &sr25519::Public) -> Result<registry::WorkerInfo, Error> {
    let worker = registry::worker(ext, identity).ok_or(Error::NotRegistered)?;
    if worker.role != WorkerRole::Gatekeeper {
        return Err(Error::NotGatekeeperRole);
    }
    if !registry::passes_policy(ext, &worker) {
        return Err(Error::PolicyNotMet);
    }
    Ok(worker)
}

pub(super) fn notify(ext: &mut Ext<'_>, notice: Notice) -> DispatchResult {
    Ok(message_queue::notify(ext, NAME, TOPIC, notice.encode())?)
}

pub(super) fn add_gatekeeper(ext: &mut Ext<'_>, identity: sr25519::Public) -> DispatchResult {
    let worker = eligible(ext, &identity)?;
    let mut set = gatekeepers(ext);
    if set.contains(&identity) {
        return Err(Error::AlreadyGatekeeper.into());
    }
    if set.len() >= MAX_GATEKEEPERS {
        return Err(Error::TooManyGatekeepers.into());
    }
    set.push(identity);
    ext.put(keys::gatekeepers(), &set);
    ext.deposit_event(Event::GatekeeperAdded { identity });
    notify(ext, Notice::Added { identity, ecdh_public: worker.ecdh_public })
}

pub(super) fn remove_gatekeeper(ext: &mut Ext<'_>, identity: sr25519::Public) -> DispatchResult {
    let mut set = gatekeepers(ext);
    let Some(position) = set.iter().position(|g| *g == identity) else { return Err(Error::NotGatekeeper.into()) };
    if set.len() == 1 {
        return Err(Error::LastGatekeeper.into());
    }
    set.remove(position);
    ext.put(keys::gatekeepers(), &set);
    ext.deposit_event(Event::GatekeeperRemoved { identity });
    notify(ext, Notice::Removed { identity })?;
    // The removed gatekeeper must get nothing of later epochs.
    if current_epoch(ext).is_some() && !ext.exists(&keys::rotation_lock()) {
        start_rotation(ext)?;
    }
    Ok(())
}

pub(super) fn start_rotation(ext: &mut Ext<'_>) -> DispatchResult {
    let epoch = current_epoch(ext).ok_or(Error::NoMasterKey)?;
    if ext.exists(&keys::rotation_lock()) {
        return Err(Error::RotationInProgress.into());
    }
    let next = epoch.saturating_add(1);
    ext.put(keys::rotation_lock(), &next);
    ext.deposit_event(Event::RotationStarted { epoch: next });
    let set = gatekeepers(ext);
    let gatekeepers = gatekeeper_keys(ext, &set);
    notify(ext, Notice::RotationStarted { epoch: next, gatekeepers })
}

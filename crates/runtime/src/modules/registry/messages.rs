//! Messages from off chain: worker heartbeats.

use super::*;

/// `^umbra/registry/heartbeat` (origin checked by the router): records the
/// heartbeat of the worker that signed it.
pub fn handle_heartbeat(ext: &mut Ext<'_>, sender: &message_queue::MessageOrigin, payload: &[u8]) -> DispatchResult {
    let message_queue::MessageOrigin::Worker(identity) = sender else {
        return Err(message_queue::Error::OriginNotAllowed.into());
    };
    let heartbeat = umbra_primitives::decode_bounded::<Heartbeat>(payload, message_queue::MAX_PAYLOAD_LEN)
        .map_err(|_| message_queue::Error::BadPayload)?;
    record_heartbeat(ext, identity, heartbeat.synced_block)
}

/// Records a worker's heartbeat: the worker must be
/// registered, and `synced_block` must be below the current block and not
/// older than its last heartbeat.
pub fn record_heartbeat(ext: &mut Ext<'_>, identity: &sr25519::Public, synced_block: BlockNumber) -> DispatchResult {
    if worker(ext, identity).is_none() {
        return Err(Error::WorkerNotRegistered.into());
    }
    let key = keys::last_heartbeat(identity);
    let previous = ext.get::<(BlockNumber, BlockNumber)>(&key).map(|(_, synced)| synced);
    if synced_block >= ext.env.number || previous.is_some_and(|p| synced_block < p) {
        return Err(Error::InvalidHeartbeat.into());
    }
    ext.put(key, &(ext.env.number, synced_block));
    ext.deposit_event(Event::WorkerHeartbeat { identity: *identity, synced_block });
    Ok(())
}

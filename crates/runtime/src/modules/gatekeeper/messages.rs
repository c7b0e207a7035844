//! Messages from gatekeepers: the genesis key, rotation proposals, handovers.

use super::*;

pub(super) fn decode<T: Decode>(payload: &[u8]) -> Result<T, Error> {
    umbra_primitives::decode_bounded(payload, message_queue::MAX_PAYLOAD_LEN).map_err(|_| Error::BadPayload)
}

pub(super) fn publish(ext: &mut Ext<'_>, epoch: u32, pubkey: sr25519::Public) -> DispatchResult {
    ext.put(keys::master_pubkey(epoch), &pubkey);
    ext.put(keys::current_epoch(), &epoch);
    ext.deposit_event(Event::MasterKeyPublished { epoch, pubkey });
    notify(ext, Notice::MasterKeyPublished { epoch, pubkey })
}

/// `^umbra/gatekeeper/genesis-key` (origin `Worker`, checked by the
/// router): the first gatekeeper publishes epoch 0's key, once.
pub fn handle_genesis_key(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    let MessageOrigin::Worker(identity) = sender else { return Err(Error::BadSender.into()) };
    let GenesisKey { pubkey } = decode(payload)?;
    let first = gatekeepers(ext).first().copied();
    if first != Some(*identity) || master_pubkey(ext, 0).is_some() {
        return Err(Error::GenesisKeyRefused.into());
    }
    eligible(ext, identity)?;
    publish(ext, 0, pubkey)
}

/// `^umbra/gatekeeper/rotation` (origin `Worker`): a gatekeeper's proposal
/// for the locked epoch, with an envelope for exactly the current set; the
/// first valid one wins.
pub fn handle_rotation(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    let MessageOrigin::Worker(identity) = sender else { return Err(Error::BadSender.into()) };
    let proposal: RotationProposal = decode(payload)?;
    let set = gatekeepers(ext);
    if proposal.proposer != *identity || !set.contains(identity) {
        return Err(Error::BadSender.into());
    }
    if ext.get::<u32>(&keys::rotation_lock()) != Some(proposal.epoch) {
        return Err(Error::NoSuchRotation.into());
    }
    let recipients: Vec<sr25519::Public> = proposal.envelopes.iter().map(|(g, _)| *g).collect();
    if recipients != set || proposal.envelopes.iter().any(|(_, e)| e.len() > MAX_ENVELOPE_LEN) {
        return Err(Error::BadEnvelopes.into());
    }
    ext.kill(keys::rotation_lock());
    publish(ext, proposal.epoch, proposal.pubkey)?;
    notify(ext, Notice::Rotation(proposal))
}

/// `^umbra/gatekeeper/handover` (origin `Gatekeeper`): the master key
/// history sealed to a newcomer of the set.
pub fn handle_handover(ext: &mut Ext<'_>, sender: &MessageOrigin, payload: &[u8]) -> DispatchResult {
    if *sender != MessageOrigin::Gatekeeper {
        return Err(Error::BadSender.into());
    }
    let handover: Handover = decode(payload)?;
    if !gatekeepers(ext).contains(&handover.newcomer) || handover.envelope.len() > MAX_ENVELOPE_LEN {
        return Err(Error::NotGatekeeper.into());
    }
    notify(ext, Notice::Handover(handover))
}

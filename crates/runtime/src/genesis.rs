//! Genesis configuration and the genesis state it produces.

use alloc::{collections::BTreeMap, format, vec::Vec};

use umbra_crypto::sr25519;
use umbra_primitives::{grandpa::AuthorityList, AccountId32, Balance, H256};

use crate::{
    error::Error,
    modules::{aura, balances, grandpa, randomness, registry, sudo, transaction_payment},
    state::Ext,
};

/// Everything the genesis state is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisConfig {
    /// Endowed accounts (duplicates are summed).
    pub balances: Vec<(AccountId32, Balance)>,
    /// Aura authorities (sr25519), in slot order.
    pub aura_authorities: Vec<sr25519::Public>,
    /// GRANDPA authorities (ed25519) and weights.
    pub grandpa_authorities: AuthorityList,
    /// Sudo key; `None` on production chains.
    pub sudo_key: Option<AccountId32>,
    /// Slot duration in milliseconds.
    pub slot_duration_ms: u64,
    /// Seed of the first epoch's randomness.
    pub randomness_seed: H256,
    /// Accepted TEE evidence, allowlist and TCB policies.
    pub registry: registry::GenesisConfig,
    /// The first gatekeeper, if named.
    pub gatekeeper: crate::modules::gatekeeper::GenesisConfig,
}

/// The genesis storage of `config`.
pub fn build(config: &GenesisConfig) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, Error> {
    if config.aura_authorities.is_empty() {
        return Err(Error::Genesis("at least one Aura authority is needed".into()));
    }
    if config.grandpa_authorities.is_empty() || config.grandpa_authorities.iter().any(|(_, w)| *w == 0) {
        return Err(Error::Genesis("at least one GRANDPA authority with non-zero weight is needed".into()));
    }
    if config.grandpa_authorities.len() > grandpa::MAX_AUTHORITIES as usize {
        return Err(Error::Genesis("too many GRANDPA authorities".into()));
    }
    if config.slot_duration_ms < 100 {
        return Err(Error::Genesis("slot duration must be at least 100 ms".into()));
    }
    let empty = BTreeMap::<Vec<u8>, Vec<u8>>::new();
    let mut ext = Ext::new(&empty);
    for (who, amount) in &config.balances {
        if *amount < balances::EXISTENTIAL_DEPOSIT {
            return Err(Error::Genesis(format!("{who} is endowed below the existential deposit")));
        }
        balances::endow(&mut ext, who, *amount).map_err(|e| Error::Genesis(format!("{e:?}")))?;
    }
    // The treasury must exist to receive fee shares smaller than the
    // existential deposit; like Substrate's treasury it starts with the ED.
    let treasury = crate::treasury_account();
    if crate::modules::system::account(&ext, &treasury).providers == 0 {
        balances::endow(&mut ext, &treasury, balances::EXISTENTIAL_DEPOSIT)
            .map_err(|e| Error::Genesis(format!("{e:?}")))?;
    }
    ext.put(aura::keys::authorities(), &config.aura_authorities);
    ext.put(aura::keys::slot_duration(), &config.slot_duration_ms);
    ext.put(grandpa::keys::authorities(), &config.grandpa_authorities);
    ext.put(grandpa::keys::current_set_id(), &0u64);
    if let Some(key) = &config.sudo_key {
        ext.put(sudo::keys::key(), key);
    }
    ext.put(randomness::keys::randomness(), &config.randomness_seed);
    ext.put(randomness::keys::next_randomness(), &umbra_primitives::blake2_256(&config.randomness_seed.0));
    ext.put(randomness::keys::epoch_index(), &0u64);
    ext.put(transaction_payment::keys::next_fee_multiplier(), &transaction_payment::MULTIPLIER_ONE);
    registry::build_genesis(&mut ext, &config.registry)
        .map_err(|e| Error::Genesis(format!("registry configuration: {e:?}")))?;
    crate::modules::gatekeeper::build_genesis(&mut ext, &config.gatekeeper);
    Ok(ext.into_changes().into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect())
}

//! Genesis configuration.

use super::*;

/// Genesis configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenesisConfig {
    /// The first gatekeeper's identity, if the chain spec names one.
    pub first_gatekeeper: Option<sr25519::Public>,
}

pub(crate) fn build_genesis(ext: &mut Ext<'_>, config: &GenesisConfig) {
    if let Some(first) = config.first_gatekeeper {
        ext.put(keys::gatekeepers(), &alloc::vec![first]);
    }
}

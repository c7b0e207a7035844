//! Account ids.

use alloc::string::String;

use parity_scale_codec::{Decode, Encode, MaxEncodedLen};
use scale_info::{build::Fields, Path, Type, TypeInfo};
use umbra_crypto::ss58;

/// A 32-byte account id: an sr25519 or ed25519 public key. Shown as SS58.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode, MaxEncodedLen)]
pub struct AccountId32(pub [u8; 32]);

/// Described as Substrate's `sp_core::crypto::AccountId32`, which generic
/// clients (polkadot.js, subxt) recognise and accept as SS58 text.
impl TypeInfo for AccountId32 {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("AccountId32", "sp_core::crypto"))
            .composite(Fields::unnamed().field(|f| f.ty::<[u8; 32]>().type_name("[u8; 32]")))
    }
}

impl AccountId32 {
    /// The SS58 address for network `prefix`.
    pub fn to_ss58(&self, prefix: u16) -> String {
        // Prefixes are validated by the caller's chain spec; an invalid one
        // falls back to hex rather than panicking.
        ss58::encode_account(prefix, &self.0).unwrap_or_else(|_| alloc::format!("0x{}", hex::encode(self.0)))
    }

    /// Parses an SS58 address (any network) or `0x` + 64 hex digits.
    pub fn parse(s: &str) -> umbra_crypto::Result<Self> {
        if let Some(h) = s.strip_prefix("0x") {
            let mut out = [0u8; 32];
            hex::decode_to_slice(h, &mut out).map_err(|_| umbra_crypto::Error::InvalidHex)?;
            return Ok(AccountId32(out));
        }
        Ok(AccountId32(ss58::decode_account(s)?.1))
    }
}

impl From<[u8; 32]> for AccountId32 {
    fn from(bytes: [u8; 32]) -> Self {
        AccountId32(bytes)
    }
}

impl AsRef<[u8]> for AccountId32 {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl core::fmt::Display for AccountId32 {
    /// SS58 with the generic Substrate prefix (42).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.to_ss58(ss58::SUBSTRATE_PREFIX))
    }
}

impl core::fmt::Debug for AccountId32 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{self} (0x{})", hex::encode(self.0))
    }
}

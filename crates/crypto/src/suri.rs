//! Substrate secret URIs: `<phrase or 0x-seed>[//hard|/soft]*[///password]`.
//!
//! The grammar is `subkey`'s: the phrase is a run of word characters and spaces
//! (an empty phrase means the well-known development phrase), followed by any
//! number of junctions (`//` hard, `/` soft, each one or more non-`/`
//! characters), optionally followed by `///` and a password that may contain
//! anything. A junction that parses as a `u64` is encoded as that integer
//! (SCALE, little-endian); any other junction as a SCALE string; the encoding
//! is right-padded with zeros to the 32-byte chain code, or BLAKE2b-256-hashed
//! when longer.

use alloc::{string::String, vec::Vec};

use parity_scale_codec::Encode;
use zeroize::Zeroizing;

use crate::{hashing::blake2_256, Error, Result};

/// The phrase of Substrate's development accounts (`//Alice` etc.).
pub const DEV_PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

/// Upper bound on the length of a secret URI accepted from outside.
pub const MAX_SURI_LEN: usize = 2048;

/// Upper bound on the number of derivation junctions.
pub const MAX_JUNCTIONS: usize = 64;

/// One derivation step with its 32-byte chain code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DeriveJunction {
    /// Soft derivation (`/x`): the derived public key is computable from the parent public key.
    Soft([u8; 32]),
    /// Hard derivation (`//x`): needs the parent secret.
    Hard([u8; 32]),
}

impl DeriveJunction {
    /// The junction for a path component as written in a URI (without its
    /// leading slashes).
    pub fn from_component(code: &str, hard: bool) -> Self {
        let chain_code = match code.parse::<u64>() {
            Ok(n) => chain_code_of(&n.encode()),
            Err(_) => chain_code_of(&code.encode()),
        };
        if hard {
            DeriveJunction::Hard(chain_code)
        } else {
            DeriveJunction::Soft(chain_code)
        }
    }

    /// The 32-byte chain code.
    pub fn chain_code(&self) -> &[u8; 32] {
        match self {
            DeriveJunction::Soft(c) | DeriveJunction::Hard(c) => c,
        }
    }

    /// Whether this is a hard junction.
    pub fn is_hard(&self) -> bool {
        matches!(self, DeriveJunction::Hard(_))
    }
}

fn chain_code_of(encoded: &[u8]) -> [u8; 32] {
    if encoded.len() > 32 {
        blake2_256(encoded)
    } else {
        let mut cc = [0u8; 32];
        cc[..encoded.len()].copy_from_slice(encoded);
        cc
    }
}

/// The root secret a URI starts from.
pub enum RootSecret {
    /// A BIP-39 English mnemonic.
    Phrase(Zeroizing<String>),
    /// A raw 32-byte seed given as `0x` + 64 hex digits.
    Seed(Zeroizing<[u8; 32]>),
}

/// A parsed secret URI. Holds secrets: no `Debug`, zeroized on drop.
pub struct SecretUri {
    /// The root secret.
    pub root: RootSecret,
    /// Derivation path, applied in order.
    pub junctions: Vec<DeriveJunction>,
    /// BIP-39 password (`///password`); ignored for hex seeds, as in `subkey`.
    pub password: Option<Zeroizing<String>>,
}

fn is_phrase_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == ' '
}

impl SecretUri {
    /// Parses a secret URI. The phrase is checked when a key is derived, the
    /// hex seed here.
    pub fn parse(s: &str) -> Result<Self> {
        if s.len() > MAX_SURI_LEN {
            return Err(Error::SuriTooLong { max: MAX_SURI_LEN });
        }
        let phrase_end = s.find(|c: char| !is_phrase_char(c)).unwrap_or(s.len());
        let (phrase, mut rest) = s.split_at(phrase_end);

        let mut junctions = Vec::new();
        let mut password = None;
        while !rest.is_empty() {
            if let Some(pw) = rest.strip_prefix("///") {
                password = Some(Zeroizing::new(String::from(pw)));
                break;
            }
            let (hard, body) = match rest.strip_prefix("//") {
                Some(b) => (true, b),
                None => match rest.strip_prefix('/') {
                    Some(b) => (false, b),
                    None => return Err(Error::SuriMalformed("unexpected character in secret phrase")),
                },
            };
            let end = body.find('/').unwrap_or(body.len());
            if end == 0 {
                return Err(Error::SuriMalformed("empty derivation junction"));
            }
            if junctions.len() == MAX_JUNCTIONS {
                return Err(Error::SuriTooManyJunctions { max: MAX_JUNCTIONS });
            }
            junctions.push(DeriveJunction::from_component(&body[..end], hard));
            rest = &body[end..];
        }

        let root = if let Some(hex_seed) = phrase.strip_prefix("0x") {
            let mut seed = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(hex_seed, seed.as_mut_slice()).map_err(|_| Error::SuriInvalidSeed)?;
            RootSecret::Seed(seed)
        } else if phrase.is_empty() {
            RootSecret::Phrase(Zeroizing::new(String::from(DEV_PHRASE)))
        } else {
            RootSecret::Phrase(Zeroizing::new(String::from(phrase)))
        };
        Ok(SecretUri { root, junctions, password })
    }

    /// The 32-byte seed of the root key: the hex seed itself, or the first 32
    /// bytes of the BIP-39 seed of the phrase (PBKDF2-HMAC-SHA512 over the
    /// entropy, as `substrate-bip39` computes it) with the URI's password.
    pub fn root_seed(&self) -> Result<Zeroizing<[u8; 32]>> {
        match &self.root {
            RootSecret::Seed(seed) => Ok(seed.clone()),
            RootSecret::Phrase(phrase) => {
                let mnemonic = bip39::Mnemonic::parse_in(bip39::Language::English, phrase.as_str())
                    .map_err(|_| Error::SuriInvalidPhrase)?;
                let (entropy, len) = mnemonic.to_entropy_array();
                let entropy = Zeroizing::new(entropy);
                let password = self.password.as_ref().map(|p| p.as_str()).unwrap_or("");
                let big = substrate_bip39::seed_from_entropy(&entropy[..len], password)
                    .map_err(|_| Error::SuriInvalidPhrase)?;
                let big = Zeroizing::new(big);
                let mut seed = Zeroizing::new([0u8; 32]);
                seed.copy_from_slice(&big[..32]);
                Ok(seed)
            }
        }
    }

    /// The phrase, when the root is a mnemonic.
    pub fn phrase(&self) -> Option<&str> {
        match &self.root {
            RootSecret::Phrase(p) => Some(p.as_str()),
            RootSecret::Seed(_) => None,
        }
    }
}

/// Creates a fresh BIP-39 English mnemonic of 12 or 24 words from `rng`.
pub fn generate_phrase<R: rand_core::RngCore + rand_core::CryptoRng>(
    words: usize,
    rng: &mut R,
) -> Result<Zeroizing<String>> {
    let entropy_len = match words {
        12 => 16,
        15 => 20,
        18 => 24,
        21 => 28,
        24 => 32,
        _ => return Err(Error::SuriMalformed("a phrase has 12, 15, 18, 21 or 24 words")),
    };
    let mut entropy = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut entropy[..entropy_len]);
    let mnemonic = bip39::Mnemonic::from_entropy_in(bip39::Language::English, &entropy[..entropy_len])
        .map_err(|_| Error::SuriInvalidPhrase)?;
    Ok(Zeroizing::new(alloc::format!("{mnemonic}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn junction_codes(s: &str) -> Vec<(bool, [u8; 32])> {
        SecretUri::parse(s).unwrap().junctions.iter().map(|j| (j.is_hard(), *j.chain_code())).collect()
    }

    #[test]
    fn parses_paths_and_password() {
        let uri = SecretUri::parse("//Alice/soft//7///pass/with//slashes").unwrap();
        assert_eq!(uri.phrase(), Some(DEV_PHRASE));
        assert_eq!(uri.junctions.len(), 3);
        assert!(uri.junctions[0].is_hard());
        assert!(!uri.junctions[1].is_hard());
        assert_eq!(uri.password.as_deref().map(String::as_str), Some("pass/with//slashes"));
        // "Alice" is SCALE-encoded as a string: compact length 5 (0x14) then the bytes.
        let mut alice = [0u8; 32];
        alice[..6].copy_from_slice(&[0x14, b'A', b'l', b'i', b'c', b'e']);
        assert_eq!(junction_codes("//Alice")[0], (true, alice));
        // Numeric junctions are SCALE u64.
        let mut seven = [0u8; 32];
        seven[0] = 7;
        assert_eq!(junction_codes("//7")[0], (true, seven));
        // Long junctions are hashed.
        let long = "x".repeat(40);
        assert_eq!(junction_codes(&alloc::format!("/{long}"))[0].1, blake2_256(&long.as_str().encode()));
    }

    #[test]
    fn rejects_malformed() {
        assert!(matches!(SecretUri::parse("0x1234"), Err(Error::SuriInvalidSeed)));
        assert!(matches!(SecretUri::parse("word!word"), Err(Error::SuriMalformed(_))));
        assert!(matches!(SecretUri::parse(&"a".repeat(MAX_SURI_LEN + 1)), Err(Error::SuriTooLong { .. })));
        let deep = "//a".repeat(MAX_JUNCTIONS + 1);
        assert!(matches!(SecretUri::parse(&deep), Err(Error::SuriTooManyJunctions { .. })));
        let uri = SecretUri::parse("not a valid phrase").unwrap();
        assert!(matches!(uri.root_seed(), Err(Error::SuriInvalidPhrase)));
    }
}

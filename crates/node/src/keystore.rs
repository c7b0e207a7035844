//! The node's keys: authority keys (Aura sr25519, GRANDPA ed25519) kept as
//! secret URIs in `keystore/` files named `<type>-<public hex>` (as
//! Substrate's keystore), and the network identity key.
//!
//! Files are written with mode 0600; their content is never logged.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use umbra_crypto::{ed25519, sr25519, suri::SecretUri};
use zeroize::Zeroizing;

use crate::Error;

/// Kinds of authority keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// Aura block authoring (sr25519).
    Aura,
    /// GRANDPA finality voting (ed25519).
    Grandpa,
}

impl KeyType {
    /// The four-letter id used in file names.
    pub fn id(self) -> &'static str {
        match self {
            KeyType::Aura => "aura",
            KeyType::Grandpa => "gran",
        }
    }
}

impl std::str::FromStr for KeyType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "aura" => Ok(KeyType::Aura),
            "gran" | "grandpa" => Ok(KeyType::Grandpa),
            other => Err(format!("unknown key type `{other}` (aura or gran)")),
        }
    }
}

/// This node's authority keys.
pub struct AuthorityKeys {
    /// Aura key.
    pub aura: sr25519::Pair,
    /// GRANDPA key.
    pub grandpa: ed25519::Pair,
}

impl AuthorityKeys {
    /// The keys of a dev account (`//Alice` …).
    pub fn dev(name: &str) -> Result<Self, Error> {
        let uri = SecretUri::parse(&format!("//{name}")).map_err(Error::Key)?;
        Ok(AuthorityKeys {
            aura: sr25519::Pair::from_suri(&uri).map_err(Error::Key)?,
            grandpa: ed25519::Pair::from_suri(&uri).map_err(Error::Key)?,
        })
    }
}

/// Writes a secret file atomically and durably, mode 0600: a temporary
/// file (hidden, so no key loader ever reads it), fsync, rename, directory
/// fsync. A `kill -9` leaves the old file or the new one, never a mix, and
/// an older file's looser mode is replaced.
fn write_secret(path: &Path, content: &[u8]) -> Result<(), Error> {
    let io = |p: &Path, e: std::io::Error| Error::Io(format!("{}: {e}", p.display()));
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("key");
    let tmp = parent.join(format!(".{name}.tmp"));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    {
        let mut file = options.open(&tmp).map_err(|e| io(&tmp, e))?;
        file.write_all(content).map_err(|e| io(&tmp, e))?;
        file.sync_all().map_err(|e| io(&tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    fs::File::open(parent).and_then(|d| d.sync_all()).map_err(|e| io(parent, e))
}

/// Stores `suri` as a key of `kind` in `dir`; returns the public key.
pub fn insert(dir: &Path, kind: KeyType, suri: &str) -> Result<[u8; 32], Error> {
    let uri = SecretUri::parse(suri).map_err(Error::Key)?;
    let public = match kind {
        KeyType::Aura => sr25519::Pair::from_suri(&uri).map_err(Error::Key)?.public().0,
        KeyType::Grandpa => ed25519::Pair::from_suri(&uri).map_err(Error::Key)?.public().0,
    };
    let path = dir.join(format!("{}-{}", kind.id(), hex::encode(public)));
    let content = Zeroizing::new(serde_json::to_vec(suri).map_err(|e| Error::Io(e.to_string()))?);
    write_secret(&path, &content)?;
    Ok(public)
}

fn load_one(dir: &Path, kind: KeyType) -> Result<Option<Zeroizing<String>>, Error> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(None) };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{}-", kind.id()))))
        .collect();
    paths.sort();
    let Some(path) = paths.first() else { return Ok(None) };
    let raw = Zeroizing::new(fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?);
    let suri: String =
        serde_json::from_slice(&raw).map_err(|_| Error::Io(format!("{}: not a JSON string", path.display())))?;
    Ok(Some(Zeroizing::new(suri)))
}

/// Loads the authority keys from `dir`, if both kinds are there.
pub fn load(dir: &Path) -> Result<Option<AuthorityKeys>, Error> {
    let (Some(aura), Some(gran)) = (load_one(dir, KeyType::Aura)?, load_one(dir, KeyType::Grandpa)?) else {
        return Ok(None);
    };
    let aura = sr25519::Pair::from_suri(&SecretUri::parse(&aura).map_err(Error::Key)?).map_err(Error::Key)?;
    let grandpa = ed25519::Pair::from_suri(&SecretUri::parse(&gran).map_err(Error::Key)?).map_err(Error::Key)?;
    Ok(Some(AuthorityKeys { aura, grandpa }))
}

/// The node's network key: read from `path`, or generated and stored there.
pub fn node_key(path: &Path) -> Result<ed25519::Pair, Error> {
    if let Ok(bytes) = fs::read(path) {
        let bytes = Zeroizing::new(bytes);
        let seed: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::Io(format!("{}: a node key file holds 32 bytes", path.display())))?;
        return Ok(ed25519::Pair::from_seed(&seed));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, seed.as_mut_slice());
    write_secret(path, seed.as_slice())?;
    Ok(ed25519::Pair::from_seed(&seed))
}

/// The libp2p peer id of an ed25519 key (`12D3KooW…`): base-58 of the
/// identity multihash of the protobuf-encoded public key.
pub fn peer_id(public: &ed25519::Public) -> String {
    let mut bytes = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
    bytes.extend_from_slice(&public.0);
    bs58::encode(bytes).into_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The peer id the node prints at start is the one libp2p derives
    /// from the same node key.
    #[test]
    fn the_printed_peer_id_is_libp2ps() {
        for seed in [[0u8; 32], [7; 32], [0xff; 32]] {
            let pair = ed25519::Pair::from_seed(&seed);
            assert_eq!(peer_id(&pair.public()), umbra_network::peer_id_of(seed).unwrap().to_string());
        }
    }

    #[test]
    fn keys_are_written_atomically_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let public = insert(dir.path(), KeyType::Aura, "//Alice").unwrap();
        let path = dir.path().join(format!("aura-{}", hex::encode(public)));
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // A file someone made world-readable is replaced by a private one.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        insert(dir.path(), KeyType::Aura, "//Alice").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // Nothing but the key is left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let key = dir.path().join("node-key");
        node_key(&key).unwrap();
        assert_eq!(fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

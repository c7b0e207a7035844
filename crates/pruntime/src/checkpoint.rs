//! Sealed files: the identity (generated once inside the TEE) and
//! versioned checkpoints of the whole pRuntime state.
//!
//! Files are written atomically (temporary file, fsync, rename, directory
//! fsync), so a `kill -9` leaves either the old or the new file. Sealing
//! binds each file to the measurement and its purpose; a checkpoint whose
//! state does not hash to the root of the block it names is refused, and
//! the next older one is tried.

use std::path::{Path, PathBuf};

use parity_scale_codec::{Decode, Encode};
use umbra_crypto::{sr25519, x25519};
use umbra_primitives::BlockNumber;
use umbra_tee::Platform;
use zeroize::Zeroizing;

use crate::{
    core::{Config, Core, Identity, SyncState},
    Error,
};

/// The checkpoint format version.
pub const CHECKPOINT_VERSION: u32 = 2;
/// Checkpoints kept on disk.
pub const KEEP_CHECKPOINTS: usize = 3;
const IDENTITY_FILE: &str = "identity.sealed";
const IDENTITY_PURPOSE: &str = "pruntime/identity/v1";
const CHECKPOINT_PURPOSE: &str = "pruntime/checkpoint/v1";
const SECRETS_FILE: &str = "secrets.sealed";
const SECRETS_PURPOSE: &str = "pruntime/secrets/v1";
/// Largest sealed checkpoint read back.
pub const MAX_CHECKPOINT_BYTES: u64 = 4 << 30;

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

/// Writes `bytes` to `path` atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
        file.write_all(bytes).map_err(|e| io(&tmp, e))?;
        file.sync_all().map_err(|e| io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))?;
    Ok(())
}

/// Loads the sealed identity in `dir`, or generates and seals a new one.
/// Returns it and whether it is new.
pub fn load_or_create_identity(platform: &dyn Platform, dir: &Path) -> Result<(Identity, bool), Error> {
    let path = dir.join(IDENTITY_FILE);
    match std::fs::read(&path) {
        Ok(sealed) => {
            let plain = platform.unseal(IDENTITY_PURPOSE, &sealed)?;
            let (seed, ecdh): ([u8; 32], [u8; 32]) = Decode::decode(&mut &plain[..])
                .map_err(|_| Error::Checkpoint("identity file does not decode".into()))?;
            let (seed, ecdh) = (Zeroizing::new(seed), Zeroizing::new(ecdh));
            Ok((Identity { signing: sr25519::Pair::from_seed(&seed), ecdh: x25519::Secret::from_bytes(*ecdh) }, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = Zeroizing::new([0u8; 32]);
            let mut ecdh = Zeroizing::new([0u8; 32]);
            platform.random(seed.as_mut_slice())?;
            platform.random(ecdh.as_mut_slice())?;
            let plain = Zeroizing::new((*seed, *ecdh).encode());
            let sealed = platform.seal(IDENTITY_PURPOSE, &plain)?;
            write_atomic(&path, &sealed)?;
            Ok((Identity { signing: sr25519::Pair::from_seed(&seed), ecdh: x25519::Secret::from_bytes(*ecdh) }, true))
        }
        Err(e) => Err(io(&path, e)),
    }
}

#[derive(Encode, Decode)]
struct CheckpointBody {
    version: u32,
    block: BlockNumber,
    sync: SyncState,
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    secrets: crate::keys::Secrets,
}

fn checkpoint_path(dir: &Path, block: BlockNumber) -> PathBuf {
    dir.join(format!("checkpoint-{block:010}.sealed"))
}

/// Checkpoint files in `dir`, newest first.
pub fn list_checkpoints(dir: &Path) -> Result<Vec<(BlockNumber, PathBuf)>, Error> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(number) = name.strip_prefix("checkpoint-").and_then(|n| n.strip_suffix(".sealed")) else { continue };
        if let Ok(block) = number.parse::<BlockNumber>() {
            found.push((block, entry.path()));
        }
    }
    found.sort_by_key(|(block, _)| std::cmp::Reverse(*block));
    Ok(found)
}

/// Seals the core's state into `dir` and keeps the newest
/// [`KEEP_CHECKPOINTS`]. Returns the block it is at.
pub fn save(platform: &dyn Platform, dir: &Path, core: &Core) -> Result<Option<BlockNumber>, Error> {
    let Some(sync) = core.sync_state() else { return Ok(None) };
    let block = sync.state_at.as_ref().map_or(sync.light_client.finalized().number, |h| h.number);
    let body = CheckpointBody {
        version: CHECKPOINT_VERSION,
        block,
        sync: sync.clone(),
        pairs: core.replica().pairs().map(|(k, v)| (k.clone(), v.clone())).collect(),
        secrets: core.secrets().clone(),
    };
    let plain = Zeroizing::new(body.encode());
    let sealed = platform.seal(CHECKPOINT_PURPOSE, &plain)?;
    write_atomic(&checkpoint_path(dir, block), &sealed)?;
    for (_, old) in list_checkpoints(dir)?.into_iter().skip(KEEP_CHECKPOINTS) {
        let _ = std::fs::remove_file(&old);
    }
    Ok(Some(block))
}

/// Restores the newest checkpoint in `dir` that unseals, decodes and
/// matches its block's state root; `None` when there is none.
pub fn restore(
    platform: &dyn Platform,
    dir: &Path,
    config: &Config,
    mut identity: impl FnMut() -> Result<Identity, Error>,
) -> Result<Option<(Core, BlockNumber)>, Error> {
    for (block, path) in list_checkpoints(dir)? {
        let attempt = (|| -> Result<Core, Error> {
            let meta = std::fs::metadata(&path).map_err(|e| io(&path, e))?;
            if meta.len() > MAX_CHECKPOINT_BYTES {
                return Err(Error::Checkpoint(format!("{} bytes", meta.len())));
            }
            let sealed = std::fs::read(&path).map_err(|e| io(&path, e))?;
            let plain = platform.unseal(CHECKPOINT_PURPOSE, &sealed)?;
            let body =
                CheckpointBody::decode(&mut &plain[..]).map_err(|_| Error::Checkpoint("does not decode".into()))?;
            if body.version != CHECKPOINT_VERSION {
                return Err(Error::Checkpoint(format!("version {} unknown", body.version)));
            }
            if body.block != block {
                return Err(Error::Checkpoint(format!("file name says block {block}, content {}", body.block)));
            }
            Core::restore(config.clone(), identity()?, body.sync, body.pairs, body.secrets)
        })();
        match attempt {
            Ok(core) => return Ok(Some((core, block))),
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "checkpoint refused, trying an older one"),
        }
    }
    Ok(None)
}

/// Seals the core's secrets (master key history, cluster keys) to their own
/// file, at once: a key must never be used before it is sealed.
pub fn save_secrets(platform: &dyn Platform, dir: &Path, core: &Core) -> Result<(), Error> {
    let plain = Zeroizing::new(core.secrets().encode());
    let sealed = platform.seal(SECRETS_PURPOSE, &plain)?;
    write_atomic(&dir.join(SECRETS_FILE), &sealed)
}

/// The sealed secrets file, if any.
pub fn load_secrets(platform: &dyn Platform, dir: &Path) -> Result<Option<crate::keys::Secrets>, Error> {
    let path = dir.join(SECRETS_FILE);
    match std::fs::read(&path) {
        Ok(sealed) => {
            let plain = platform.unseal(SECRETS_PURPOSE, &sealed)?;
            crate::keys::Secrets::decode(&mut &plain[..])
                .map(Some)
                .map_err(|_| Error::Checkpoint("secrets file does not decode".into()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path, e)),
    }
}

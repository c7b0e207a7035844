//! Sealed files: the identity (generated once inside the TEE), the secrets
//! (master key history and cluster keys, pinned to their genesis) and
//! streamed checkpoints of the whole core.
//!
//! Every file is written atomically (temporary file with mode 0600, fsync,
//! rename, directory fsync), so a `kill -9` leaves either the old or the
//! new file. Sealing binds each blob to the measurement and its purpose.
//!
//! A checkpoint of any size is a stream of bounded, authenticated chunks:
//!
//! ```text
//! file      = chunk*                  chunk = u32 LE length ‖ sealed
//! sealed    = Platform::seal("pruntime/checkpoint-chunk/v3", header ‖ data)
//! header    = SCALE(checkpoint id: [u8; 32], index: u32, last: bool)
//! data      = the next ≤ 1 MiB of SCALE(CheckpointHead, Compact(n), n × (key, value))
//! ```
//!
//! The reader requires one id throughout (no splicing of two checkpoints),
//! consecutive indices (no reordering or dropped chunks), the `last` flag on
//! the final chunk and nothing after it (no truncation or extension), and a
//! replica that hashes to the state root of the block the checkpoint names;
//! a refused checkpoint is skipped and the next older one is tried.

use std::{
    fs::File,
    io::{BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use parity_scale_codec::{Compact, Decode, Encode, Input, Output};
use umbra_crypto::{sr25519, x25519};
use umbra_primitives::BlockNumber;
use umbra_pruntime_core::{
    core::{Config, Core, Effects, Identity, SealedSecrets, SyncState},
    keys::Secrets,
};
use umbra_tee::Platform;
use zeroize::Zeroizing;

use crate::Error;

/// The checkpoint format version.
pub const CHECKPOINT_VERSION: u32 = 3;
/// Checkpoints kept on disk.
pub const KEEP_CHECKPOINTS: usize = 3;
/// Plaintext bytes of body data per chunk.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Largest sealed chunk read back (data, header, sealing overhead).
const MAX_SEALED_CHUNK: usize = CHUNK_BYTES + 4096;
/// Largest checkpoint file read back.
pub const MAX_CHECKPOINT_BYTES: u64 = 16 << 30;
/// Most state pairs in a checkpoint.
const MAX_PAIRS: u64 = 1 << 30;
const IDENTITY_FILE: &str = "identity.sealed";
const IDENTITY_PURPOSE: &str = "pruntime/identity/v1";
const CHUNK_PURPOSE: &str = "pruntime/checkpoint-chunk/v3";
/// The sealed secrets file.
pub const SECRETS_FILE: &str = "secrets.sealed";
const SECRETS_PURPOSE: &str = "pruntime/secrets/v2";

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

fn sealed_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Sealed { file: path.display().to_string(), reason: reason.into() }
}

/// Creates `path` for writing with mode 0600 (secrets never world-readable).
fn create_private(path: &Path) -> Result<File, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path).map_err(|e| io(path, e))
}

fn commit(tmp: &Path, path: &Path) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::rename(tmp, path).map_err(|e| io(path, e))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))
}

/// Writes `bytes` to `path` atomically and durably, mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = create_private(&tmp)?;
        file.write_all(bytes).map_err(|e| io(&tmp, e))?;
        file.sync_all().map_err(|e| io(&tmp, e))?;
    }
    commit(&tmp, path)
}

/// Loads the sealed identity in `dir`, or generates and seals a new one.
/// Returns it and whether it is new.
pub fn load_or_create_identity(platform: &dyn Platform, dir: &Path) -> Result<(Identity, bool), Error> {
    let path = dir.join(IDENTITY_FILE);
    match std::fs::read(&path) {
        Ok(sealed) => {
            let plain = platform.unseal(IDENTITY_PURPOSE, &sealed)?;
            let (seed, ecdh) =
                <([u8; 32], [u8; 32])>::decode(&mut &plain[..]).map_err(|_| sealed_error(&path, "does not decode"))?;
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

/// Seals the core's secrets (`SCALE(SealedSecrets)` from a
/// `SealRequest`) to their own file at once: a key is never used before it
/// is sealed.
pub fn save_secrets(platform: &dyn Platform, dir: &Path, plaintext: &[u8]) -> Result<(), Error> {
    let sealed = platform.seal(SECRETS_PURPOSE, plaintext)?;
    write_atomic(&dir.join(SECRETS_FILE), &sealed)
}

/// The sealed secrets file, if any. A file that does not unseal or decode
/// is an error, never ignored: starting without it would unpin the genesis.
pub fn load_secrets(platform: &dyn Platform, dir: &Path) -> Result<Option<SealedSecrets>, Error> {
    let path = dir.join(SECRETS_FILE);
    match std::fs::read(&path) {
        Ok(sealed) => {
            let plain = platform.unseal(SECRETS_PURPOSE, &sealed)?;
            umbra_primitives::decode_bounded::<SealedSecrets>(&plain, plain.len())
                .map(Some)
                .map_err(|e| sealed_error(&path, format!("does not decode: {e}")))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path, e)),
    }
}

#[derive(Encode, Decode)]
struct ChunkHeader {
    checkpoint: [u8; 32],
    index: u32,
    last: bool,
}

const CHUNK_HEADER_LEN: usize = 32 + 4 + 1;

/// The fixed part of a checkpoint body, before the state pairs.
#[derive(Encode, Decode)]
struct CheckpointHead {
    version: u32,
    block: BlockNumber,
    sync: SyncState,
    secrets: Secrets,
}

/// Streams SCALE output into sealed chunks of a file.
struct ChunkWriter<'a> {
    platform: &'a dyn Platform,
    file: BufWriter<File>,
    path: PathBuf,
    id: [u8; 32],
    index: u32,
    buf: Zeroizing<Vec<u8>>,
    error: Option<Error>,
}

impl<'a> ChunkWriter<'a> {
    fn new(platform: &'a dyn Platform, path: PathBuf) -> Result<Self, Error> {
        let mut id = [0u8; 32];
        platform.random(&mut id)?;
        let file = BufWriter::new(create_private(&path)?);
        Ok(Self {
            platform,
            file,
            path,
            id,
            index: 0,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK_BYTES)),
            error: None,
        })
    }

    fn flush_chunk(&mut self, last: bool) -> Result<(), Error> {
        let mut plain = Zeroizing::new(Vec::with_capacity(CHUNK_HEADER_LEN + self.buf.len()));
        ChunkHeader { checkpoint: self.id, index: self.index, last }.encode_to(&mut *plain);
        plain.extend_from_slice(&self.buf);
        let sealed = self.platform.seal(CHUNK_PURPOSE, &plain)?;
        let len = u32::try_from(sealed.len()).map_err(|_| Error::Internal("chunk over 4 GiB".into()))?;
        self.file.write_all(&len.to_le_bytes()).map_err(|e| io(&self.path, e))?;
        self.file.write_all(&sealed).map_err(|e| io(&self.path, e))?;
        self.buf.clear();
        self.index = self.index.checked_add(1).ok_or_else(|| Error::Internal("too many chunks".into()))?;
        Ok(())
    }

    fn finish(mut self) -> Result<u32, Error> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.flush_chunk(true)?;
        let file = self.file.into_inner().map_err(|e| io(&self.path, e.into_error()))?;
        file.sync_all().map_err(|e| io(&self.path, e))?;
        Ok(self.index)
    }
}

impl Output for ChunkWriter<'_> {
    fn write(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.error.is_none() {
            let take = (CHUNK_BYTES - self.buf.len()).min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == CHUNK_BYTES {
                if let Err(e) = self.flush_chunk(false) {
                    self.error = Some(e);
                }
            }
        }
    }
}

/// Reads SCALE input out of a file's sealed chunks, checking each one.
struct ChunkReader<'a> {
    platform: &'a dyn Platform,
    file: BufReader<File>,
    path: PathBuf,
    id: Option<[u8; 32]>,
    next_index: u32,
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    ended: bool,
    error: Option<Error>,
}

impl<'a> ChunkReader<'a> {
    fn open(platform: &'a dyn Platform, path: &Path) -> Result<Self, Error> {
        let file = File::open(path).map_err(|e| io(path, e))?;
        let len = file.metadata().map_err(|e| io(path, e))?.len();
        if len > MAX_CHECKPOINT_BYTES {
            return Err(sealed_error(path, format!("{len} bytes, over {MAX_CHECKPOINT_BYTES}")));
        }
        Ok(Self {
            platform,
            file: BufReader::new(file),
            path: path.to_path_buf(),
            id: None,
            next_index: 0,
            buf: Zeroizing::new(Vec::new()),
            pos: 0,
            ended: false,
            error: None,
        })
    }

    fn next_chunk(&mut self) -> Result<(), Error> {
        if self.ended {
            return Err(sealed_error(&self.path, "body continues after the last chunk"));
        }
        let mut len = [0u8; 4];
        self.file.read_exact(&mut len).map_err(|e| sealed_error(&self.path, format!("truncated: {e}")))?;
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_SEALED_CHUNK {
            return Err(sealed_error(&self.path, format!("chunk of {len} bytes")));
        }
        let mut sealed = vec![0u8; len];
        self.file.read_exact(&mut sealed).map_err(|e| sealed_error(&self.path, format!("truncated: {e}")))?;
        let plain = self.platform.unseal(CHUNK_PURPOSE, &sealed)?;
        let header = ChunkHeader::decode(&mut &plain[..])
            .map_err(|_| sealed_error(&self.path, "chunk header does not decode"))?;
        if *self.id.get_or_insert(header.checkpoint) != header.checkpoint {
            return Err(sealed_error(&self.path, "a chunk of another checkpoint"));
        }
        if header.index != self.next_index {
            return Err(sealed_error(&self.path, format!("chunk {} where {} belongs", header.index, self.next_index)));
        }
        self.next_index += 1;
        self.ended = header.last;
        self.buf = Zeroizing::new(plain[CHUNK_HEADER_LEN..].to_vec());
        self.pos = 0;
        Ok(())
    }

    /// The body ended: it must end exactly with the last chunk, and the file
    /// with it.
    fn finish(mut self) -> Result<(), Error> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.pos == self.buf.len() && !self.ended {
            self.next_chunk()?;
        }
        if self.pos != self.buf.len() || !self.ended {
            return Err(sealed_error(&self.path, "bytes after the body"));
        }
        let mut rest = [0u8; 1];
        match self.file.read(&mut rest) {
            Ok(0) => Ok(()),
            Ok(_) => Err(sealed_error(&self.path, "data after the last chunk")),
            Err(e) => Err(io(&self.path, e)),
        }
    }
}

impl Input for ChunkReader<'_> {
    fn remaining_len(&mut self) -> Result<Option<usize>, parity_scale_codec::Error> {
        Ok(None)
    }

    fn read(&mut self, into: &mut [u8]) -> Result<(), parity_scale_codec::Error> {
        let mut filled = 0;
        while filled < into.len() {
            if self.pos == self.buf.len() {
                if let Err(e) = self.next_chunk() {
                    self.error = Some(e);
                    return Err("checkpoint chunk refused".into());
                }
                continue;
            }
            let take = (self.buf.len() - self.pos).min(into.len() - filled);
            into[filled..filled + take].copy_from_slice(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
            filled += take;
        }
        Ok(())
    }
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

/// What a saved checkpoint holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saved {
    /// The block it is at.
    pub block: BlockNumber,
    /// Chunks written.
    pub chunks: u32,
}

/// Seals the core's state into `dir` as a stream of chunks (any state
/// size) and keeps the newest [`KEEP_CHECKPOINTS`]. `None` before `init`.
pub fn save(platform: &dyn Platform, dir: &Path, core: &Core) -> Result<Option<Saved>, Error> {
    let Some(sync) = core.sync_state() else { return Ok(None) };
    let block = sync.state_at.as_ref().map_or(sync.light_client.finalized().number, |h| h.number);
    let path = checkpoint_path(dir, block);
    let tmp = path.with_extension("tmp");
    let mut writer = ChunkWriter::new(platform, tmp.clone())?;
    CheckpointHead { version: CHECKPOINT_VERSION, block, sync: sync.clone(), secrets: core.secrets().clone() }
        .encode_to(&mut writer);
    Compact(core.replica().len() as u64).encode_to(&mut writer);
    for (key, value) in core.replica().pairs() {
        key.encode_to(&mut writer);
        value.encode_to(&mut writer);
    }
    let chunks = match writer.finish() {
        Ok(chunks) => chunks,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    commit(&tmp, &path)?;
    for (_, old) in list_checkpoints(dir)?.into_iter().skip(KEEP_CHECKPOINTS) {
        let _ = std::fs::remove_file(&old);
    }
    Ok(Some(Saved { block, chunks }))
}

/// Restores one checkpoint file, chunk by chunk.
pub fn restore_file(
    platform: &dyn Platform,
    path: &Path,
    block: BlockNumber,
    config: &Config,
    identity: Identity,
    sealed: Option<SealedSecrets>,
) -> Result<(Core, Effects), Error> {
    let mut reader = ChunkReader::open(platform, path)?;
    let head = CheckpointHead::decode(&mut reader).map_err(|e| match reader.error.take() {
        Some(error) => error,
        None => sealed_error(path, format!("does not decode: {e}")),
    })?;
    if head.version != CHECKPOINT_VERSION {
        return Err(sealed_error(path, format!("version {} unknown", head.version)));
    }
    if head.block != block {
        return Err(sealed_error(path, format!("file name says block {block}, content {}", head.block)));
    }
    let count = Compact::<u64>::decode(&mut reader).map_err(|e| sealed_error(path, e.to_string()))?.0;
    if count > MAX_PAIRS {
        return Err(sealed_error(path, format!("{count} state pairs")));
    }
    // Every pair decoded (and every chunk checked) before the replica is
    // built from them.
    let mut pairs = Vec::with_capacity(count.min(1 << 20) as usize);
    for _ in 0..count {
        match <(Vec<u8>, Vec<u8>)>::decode(&mut reader) {
            Ok(pair) => pairs.push(pair),
            Err(e) => {
                return Err(reader.error.take().unwrap_or_else(|| sealed_error(path, format!("state pairs: {e}"))))
            }
        }
    }
    reader.finish()?;
    Ok(Core::restore(config.clone(), identity, head.sync, pairs, head.secrets, sealed)?)
}

/// Restores the newest checkpoint in `dir` that unseals, decodes, matches
/// its block's state root and the sealed secrets' genesis; `None` when
/// there is none. Every refused one is logged with why.
pub fn restore(
    platform: &dyn Platform,
    dir: &Path,
    config: &Config,
    mut identity: impl FnMut() -> Result<Identity, Error>,
    sealed: Option<&SealedSecrets>,
) -> Result<Option<(Core, Effects, BlockNumber)>, Error> {
    for (block, path) in list_checkpoints(dir)? {
        match restore_file(platform, &path, block, config, identity()?, sealed.cloned()) {
            Ok((core, effects)) => return Ok(Some((core, effects, block))),
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "checkpoint refused, trying an older one"),
        }
    }
    Ok(None)
}

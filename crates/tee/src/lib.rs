//! What pRuntime needs from its trusted execution environment, behind one
//! trait, [`Platform`]:
//!
//! * [`Platform::measurement`]: the identity of the running code, in the
//!   allowlist encoding of [`umbra_attestation::Measurement`];
//! * [`Platform::attest`]: evidence binding 64 bytes of report data to that
//!   measurement, verifiable on chain by [`umbra_attestation::verify`];
//! * [`Platform::seal`] / [`Platform::unseal`]: encryption to a key only this
//!   code on this machine can derive;
//! * [`Platform::random`]: platform entropy.
//!
//! Backends:
//!
//! * [`sim::SimPlatform`] — **SIMULATED TEE**, any machine, for development
//!   and CI: evidence signed by a simulated attestation service key from a
//!   key file, sealing under a key in a local file. It protects nothing, says
//!   so in every banner, and derives keys in the `-insecure` label domain.
//! * [`gramine::GramineSgx`] — Intel SGX under Gramine: DCAP quotes from
//!   `/dev/attestation/quote`, sealing under Gramine's MRENCLAVE-bound key.
//!
//! Sealed blobs have one format for all backends ([`sealing`]).

pub mod gramine;
pub mod sealing;
pub mod sim;

use std::path::PathBuf;

use umbra_attestation::{Evidence, Measurement, PlatformKind};
use umbra_crypto::labels::Domain;
use zeroize::Zeroizing;

/// The banner every status page and log line of a simulated TEE carries.
pub const SIMULATED_TEE_BANNER: &str =
    "SIMULATED TEE: no hardware protection, the operator of this machine can read every secret; development only";

/// Why a TEE operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file of the platform could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A key file does not hold a valid key.
    #[error("{path}: {reason}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The platform device returned data of the wrong shape.
    #[error("attestation device: {0}")]
    Device(String),
    /// The platform cannot do this.
    #[error("not supported by this platform: {0}")]
    Unsupported(&'static str),
    /// A sealed blob is malformed (too short, unknown version).
    #[error("sealed data is malformed: {0}")]
    SealedMalformed(&'static str),
    /// A sealed blob does not open: other key, other measurement, other
    /// label, or altered bytes.
    #[error("sealed data does not open on this platform (other key, measurement or label, or altered)")]
    UnsealFailed,
    /// Plaintext larger than the sealing limit.
    #[error("plaintext of {len} bytes exceeds the sealing limit of {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The operating system's randomness failed.
    #[error("randomness unavailable: {0}")]
    Random(String),
}

impl Error {
    fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

/// A TEE as pRuntime uses it. Implementations are thread-safe.
pub trait Platform: Send + Sync {
    /// Which kind of evidence this platform produces.
    fn kind(&self) -> PlatformKind;

    /// Whether this is the simulated TEE (no protection at all).
    fn is_simulated(&self) -> bool {
        self.kind() == PlatformKind::Sim
    }

    /// The label domain keys must be derived in: `-insecure` labels on the
    /// simulated TEE, so its keys never equal a real TEE's.
    fn key_domain(&self) -> Domain {
        if self.is_simulated() {
            Domain::Insecure
        } else {
            Domain::Production
        }
    }

    /// One line describing the platform for logs and status pages; for the
    /// simulated TEE it is [`SIMULATED_TEE_BANNER`].
    fn banner(&self) -> &'static str;

    /// The identity of the running code.
    fn measurement(&self) -> Result<Measurement, Error>;

    /// Evidence that this code, on this platform, produced `report_data`.
    fn attest(&self, report_data: &[u8; 64]) -> Result<Evidence, Error>;

    /// Encrypts `plaintext` so that only this code on this machine can
    /// decrypt it, for `purpose` (a short ASCII name: the same purpose must
    /// be given to [`Platform::unseal`]).
    fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, Error>;

    /// Decrypts what [`Platform::seal`] produced for `purpose`.
    fn unseal(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error>;

    /// Fills `buf` with platform entropy.
    fn random(&self, buf: &mut [u8]) -> Result<(), Error>;
}

/// Fills `buf` from the operating system (inside Gramine, RDRAND-backed).
fn os_random(buf: &mut [u8]) -> Result<(), Error> {
    rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, buf).map_err(|e| Error::Random(e.to_string()))
}

/// Writes `content` to `path` atomically and durably (temporary file,
/// fsync, rename, fsync of the directory), readable only by the owner.
fn write_secret_file(path: &std::path::Path, content: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(|e| Error::io(&tmp, e))?;
    file.write_all(content).map_err(|e| Error::io(&tmp, e))?;
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    if let Ok(dir) = std::fs::File::open(parent) {
        dir.sync_all().map_err(|e| Error::io(parent, e))?;
    }
    Ok(())
}

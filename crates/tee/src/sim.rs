//! The **SIMULATED TEE**: a development backend that runs anywhere and
//! protects nothing.
//!
//! * Measurement: `BLAKE2-256("umbra/sim-measurement/v1" ‖ SCALE(version) ‖
//!   BLAKE2-256(binary))` ([`measure`]), so rebuilding the binary changes it
//!   as a real enclave build would.
//! * Evidence: a [`SimQuote`] signed with ed25519 by the simulated
//!   attestation service key read from a key file (a secret URI; the dev
//!   file holds [`DEV_SIM_SERVICE_SURI`]). Only chains whose configuration
//!   lists that key's public half accept it.
//! * Sealing: the shared [`crate::sealing`] format under a 32-byte key kept
//!   in a local file (created on first use), in the `-insecure` domain.
//!
//! Every constructor logs [`SIMULATED_TEE_BANNER`] at `warn` level.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parity_scale_codec::Encode as _;
use umbra_attestation::sim::{SimEvidence, SimQuote};
use umbra_attestation::{Evidence, Measurement, PlatformKind, TcbStatus};
use umbra_crypto::{ed25519, hashing::blake2_256, labels::Domain, suri::SecretUri};
use zeroize::Zeroizing;

pub use umbra_attestation::sim::DEV_SIM_SERVICE_SURI;

use crate::{os_random, sealing, write_secret_file, Error, Platform, SIMULATED_TEE_BANNER};

/// A source of the current time in milliseconds since the epoch (the sim
/// attestation service dates its quotes). Injected so tests are
/// deterministic.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock, for the binaries.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        // The simulated attestation service's clock: the only wall-clock
        // read in this crate, outside every deterministic path.
        #[allow(clippy::disallowed_methods)]
        let now = std::time::SystemTime::now();
        now.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    })
}

/// The sim measurement of a binary at a version.
pub fn measure(binary: &[u8], version: &str) -> [u8; 32] {
    let mut input = b"umbra/sim-measurement/v1".to_vec();
    version.encode_to(&mut input);
    input.extend_from_slice(&blake2_256(binary));
    blake2_256(&input)
}

/// Reads a simulated attestation service key: a file holding a secret URI
/// (mnemonic, hex seed or `//junction` on the dev phrase), whitespace
/// trimmed.
pub fn load_service_key(path: &Path) -> Result<ed25519::Pair, Error> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?);
    let key_error = |reason: String| Error::KeyFile { path: path.to_path_buf(), reason };
    let uri = SecretUri::parse(text.trim()).map_err(|e| key_error(e.to_string()))?;
    ed25519::Pair::from_suri(&uri).map_err(|e| key_error(e.to_string()))
}

/// Reads the 32-byte sealing key at `path`, creating it on first use.
fn load_or_create_sealing_key(path: &Path) -> Result<Zeroizing<[u8; 32]>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| Error::KeyFile {
                path: path.to_path_buf(),
                reason: format!("a sealing key file holds 32 bytes, found {}", bytes.len()),
            })?;
            Ok(Zeroizing::new(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = Zeroizing::new([0u8; 32]);
            os_random(key.as_mut_slice())?;
            write_secret_file(path, key.as_slice())?;
            tracing::warn!(path = %path.display(), "SIMULATED TEE: created a sealing key in a plain file");
            Ok(key)
        }
        Err(e) => Err(Error::io(path, e)),
    }
}

/// How a simulated TEE presents itself.
pub struct SimConfig {
    /// The measurement it reports (see [`measure`]).
    pub measurement: [u8; 32],
    /// The simulated attestation service's key.
    pub service_key: ed25519::Pair,
    /// Where the sealing key lives (created if missing).
    pub sealing_key_path: PathBuf,
    /// The TCB status it claims, so policies can be exercised.
    pub tcb_status: TcbStatus,
    /// The advisories it claims.
    pub advisories: Vec<String>,
}

/// The simulated TEE backend.
pub struct SimPlatform {
    measurement: [u8; 32],
    service_key: ed25519::Pair,
    sealing_key: Zeroizing<[u8; 32]>,
    tcb_status: TcbStatus,
    advisories: Vec<String>,
    clock: Clock,
}

impl SimPlatform {
    /// Opens a simulated TEE; logs the SIMULATED TEE banner.
    pub fn open(config: SimConfig, clock: Clock) -> Result<Self, Error> {
        let sealing_key = load_or_create_sealing_key(&config.sealing_key_path)?;
        tracing::warn!(
            measurement = %hex::encode(config.measurement),
            service_key = %hex::encode(config.service_key.public().0),
            "{SIMULATED_TEE_BANNER}"
        );
        Ok(Self {
            measurement: config.measurement,
            service_key: config.service_key,
            sealing_key,
            tcb_status: config.tcb_status,
            advisories: config.advisories,
            clock,
        })
    }

    /// The public key of the simulated attestation service this platform
    /// signs with (what a chain must list to accept its evidence).
    pub fn service_public(&self) -> [u8; 32] {
        self.service_key.public().0
    }
}

impl Platform for SimPlatform {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Sim
    }

    fn banner(&self) -> &'static str {
        SIMULATED_TEE_BANNER
    }

    fn measurement(&self) -> Result<Measurement, Error> {
        Ok(Measurement(self.measurement.to_vec()))
    }

    fn attest(&self, report_data: &[u8; 64]) -> Result<Evidence, Error> {
        let quote = SimQuote {
            measurement: self.measurement,
            report_data: *report_data,
            issued_at_ms: (self.clock)(),
            tcb_status: self.tcb_status,
            advisories: self.advisories.clone(),
        };
        tracing::warn!("SIMULATED TEE: producing simulated attestation evidence");
        Ok(Evidence::Sim(SimEvidence::sign(quote, &self.service_key)))
    }

    fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; 12];
        os_random(&mut nonce)?;
        let measurement = self.measurement()?;
        sealing::seal(Domain::Insecure, self.sealing_key.as_slice(), &measurement, purpose, plaintext, nonce)
    }

    fn unseal(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let measurement = self.measurement()?;
        sealing::unseal(Domain::Insecure, self.sealing_key.as_slice(), &measurement, purpose, sealed)
    }

    fn random(&self, buf: &mut [u8]) -> Result<(), Error> {
        os_random(buf)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use umbra_attestation::{verify, Policy};

    fn platform(dir: &Path, measurement: [u8; 32], now_ms: u64) -> SimPlatform {
        let config = SimConfig {
            measurement,
            service_key: umbra_attestation::sim::dev_sim_service_pair(),
            sealing_key_path: dir.join("sim-sealing.key"),
            tcb_status: TcbStatus::UpToDate,
            advisories: Vec::new(),
        };
        SimPlatform::open(config, Arc::new(move || now_ms)).unwrap()
    }

    #[test]
    fn evidence_verifies_under_a_policy_listing_the_service_key() {
        let dir = tempfile::tempdir().unwrap();
        let sim = platform(dir.path(), measure(b"binary", "0.1.0"), 1_700_000_000_000);
        assert!(sim.is_simulated());
        assert_eq!(sim.key_domain(), Domain::Insecure);
        assert!(sim.banner().starts_with("SIMULATED TEE"));
        let evidence = sim.attest(&[5u8; 64]).unwrap();
        let keys = [sim.service_public()];
        let policy = Policy::new(&[PlatformKind::Sim], &keys, 7_200);
        let verified = verify(&evidence, None, 1_700_000_060, &policy).unwrap();
        assert_eq!(verified.report_data, [5u8; 64]);
        assert_eq!(verified.measurement, sim.measurement().unwrap());
        // A chain that does not list the key refuses it.
        let other = Policy::new(&[PlatformKind::Sim], &[[1u8; 32]], 7_200);
        assert_eq!(verify(&evidence, None, 1_700_000_060, &other), Err(umbra_attestation::Error::SimKeyNotAllowed));
    }

    #[test]
    fn sealing_survives_restart_and_is_bound_to_the_measurement() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = platform(dir.path(), [1; 32], 0).seal("identity", b"key material").unwrap();
        // Reopened (same key file): opens.
        let again = platform(dir.path(), [1; 32], 0);
        assert_eq!(again.unseal("identity", &sealed).unwrap().as_slice(), b"key material");
        assert!(matches!(again.unseal("checkpoint", &sealed), Err(Error::UnsealFailed)));
        // Another binary on the same machine: does not open.
        let other_binary = platform(dir.path(), [2; 32], 0);
        assert!(matches!(other_binary.unseal("identity", &sealed), Err(Error::UnsealFailed)));
        // Another machine (fresh key file): does not open.
        let elsewhere = tempfile::tempdir().unwrap();
        assert!(matches!(platform(elsewhere.path(), [1; 32], 0).unseal("identity", &sealed), Err(Error::UnsealFailed)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("sim-sealing.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn key_files_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.key");
        std::fs::write(&bad, b"short").unwrap();
        let config = SimConfig {
            measurement: [0; 32],
            service_key: ed25519::Pair::from_seed(&[1; 32]),
            sealing_key_path: bad.clone(),
            tcb_status: TcbStatus::UpToDate,
            advisories: Vec::new(),
        };
        assert!(matches!(SimPlatform::open(config, Arc::new(|| 0)), Err(Error::KeyFile { .. })));
        std::fs::write(&bad, "not a uri at all").unwrap();
        assert!(matches!(load_service_key(&bad), Err(Error::KeyFile { .. })));
        let dev = dir.path().join("dev.key");
        std::fs::write(&dev, format!("{DEV_SIM_SERVICE_SURI}\n")).unwrap();
        assert_eq!(load_service_key(&dev).unwrap().public(), umbra_attestation::sim::dev_sim_service_pair().public());
    }

    #[test]
    fn measurement_depends_on_binary_and_version() {
        assert_ne!(measure(b"a", "1"), measure(b"b", "1"));
        assert_ne!(measure(b"a", "1"), measure(b"a", "2"));
        assert_eq!(measure(b"a", "1"), measure(b"a", "1"));
    }
}

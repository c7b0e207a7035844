//! Intel SGX under Gramine, through its `/dev/attestation` pseudo-files:
//!
//! | file | use |
//! |---|---|
//! | `attestation_type` | must read `dcap` to attest (EPID needs IAS, which is retired) |
//! | `my_target_info` → `target_info` | target our own enclave for a local report |
//! | `user_report_data` (write 64 bytes) | what the next report/quote binds |
//! | `report` (432 bytes) | local report: MRENCLAVE, MRSIGNER, ISV prod id and SVN |
//! | `quote` | the DCAP quote over the last `user_report_data` |
//! | `keys/_sgx_mrenclave` (16 bytes) | Gramine's MRENCLAVE-bound sealing key |
//!
//! The write-then-read protocol is stateful, so every use holds one lock.
//! The root directory is a parameter: tests point it at a fake directory
//! holding a real Intel quote.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use umbra_attestation::{dcap, Evidence, Measurement, PlatformKind};
use umbra_crypto::labels::Domain;
use zeroize::Zeroizing;

use crate::{os_random, sealing, Error, Platform};

/// Where Gramine mounts the attestation interface.
pub const DEFAULT_ROOT: &str = "/dev/attestation";
/// `sgx_target_info_t`.
const TARGET_INFO_LEN: usize = 512;
/// `sgx_report_t`: a 384-byte body, key id, MAC.
const REPORT_LEN: usize = 432;
/// Largest quote read from the device.
const MAX_QUOTE_LEN: usize = umbra_attestation::MAX_QUOTE_LEN;

/// The Gramine SGX backend.
pub struct GramineSgx {
    root: PathBuf,
    lock: Mutex<()>,
    measurement: OnceLock<Measurement>,
}

impl GramineSgx {
    /// Opens the attestation interface at `root` (normally
    /// [`DEFAULT_ROOT`]); fails unless it offers DCAP attestation.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = root.into();
        let kind = read(&root.join("attestation_type"), 64)?;
        let kind = String::from_utf8_lossy(&kind).trim().to_string();
        if kind != "dcap" {
            return Err(Error::Unsupported(match kind.as_str() {
                "epid" => "EPID attestation (IAS is retired); configure sgx.remote_attestation = \"dcap\"",
                "none" => "remote attestation is disabled in the Gramine manifest",
                _ => "unknown attestation type",
            }));
        }
        let platform = Self { root, lock: Mutex::new(()), measurement: OnceLock::new() };
        let measurement = platform.measurement()?;
        tracing::info!(measurement = %hex::encode(measurement.as_bytes()), "Intel SGX (Gramine) TEE ready");
        Ok(platform)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        // The lock guards no data, only the device protocol: a poisoned
        // lock is still usable.
        self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn local_report(&self) -> Result<[u8; REPORT_LEN], Error> {
        let _guard = self.guard();
        let target = read(&self.path("my_target_info"), TARGET_INFO_LEN)?;
        if target.len() != TARGET_INFO_LEN {
            return Err(Error::Device(format!("my_target_info is {} bytes, expected {TARGET_INFO_LEN}", target.len())));
        }
        write(&self.path("target_info"), &target)?;
        write(&self.path("user_report_data"), &[0u8; 64])?;
        let report = read(&self.path("report"), REPORT_LEN)?;
        report
            .as_slice()
            .try_into()
            .map_err(|_| Error::Device(format!("report is {} bytes, expected {REPORT_LEN}", report.len())))
    }
}

/// Reads a device file, refusing more than `max` bytes.
fn read(path: &Path, max: usize) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() > max {
        return Err(Error::Device(format!("{} is larger than {max} bytes", path.display())));
    }
    Ok(bytes)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// The measurement in a local report body (same layout as a quote's).
fn measurement_of(report: &[u8; REPORT_LEN]) -> Measurement {
    let array32 = |at: usize| {
        let mut out = [0u8; 32];
        out.copy_from_slice(&report[at..at + 32]);
        out
    };
    let u16_le = |at: usize| u16::from_le_bytes([report[at], report[at + 1]]);
    Measurement::sgx(&array32(64), u16_le(256), u16_le(258), &array32(128))
}

impl Platform for GramineSgx {
    fn kind(&self) -> PlatformKind {
        PlatformKind::SgxDcap
    }

    fn banner(&self) -> &'static str {
        "Intel SGX (Gramine, DCAP attestation)"
    }

    fn measurement(&self) -> Result<Measurement, Error> {
        if let Some(measurement) = self.measurement.get() {
            return Ok(measurement.clone());
        }
        let measurement = measurement_of(&self.local_report()?);
        Ok(self.measurement.get_or_init(|| measurement).clone())
    }

    fn attest(&self, report_data: &[u8; 64]) -> Result<Evidence, Error> {
        let quote = {
            let _guard = self.guard();
            write(&self.path("user_report_data"), report_data)?;
            read(&self.path("quote"), MAX_QUOTE_LEN)?
        };
        if dcap::platform_of(&quote) != Some(PlatformKind::SgxDcap) {
            return Err(Error::Device("quote is not an SGX DCAP quote".into()));
        }
        if dcap::unverified_report_data(&quote).as_ref() != Some(report_data) {
            return Err(Error::Device("quote does not carry the requested report data".into()));
        }
        Ok(Evidence::Dcap(quote))
    }

    fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let secret = self.sealing_secret()?;
        let mut nonce = [0u8; 12];
        os_random(&mut nonce)?;
        sealing::seal(Domain::Production, secret.as_slice(), &self.measurement()?, purpose, plaintext, nonce)
    }

    fn unseal(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let secret = self.sealing_secret()?;
        sealing::unseal(Domain::Production, secret.as_slice(), &self.measurement()?, purpose, sealed)
    }

    fn random(&self, buf: &mut [u8]) -> Result<(), Error> {
        os_random(buf)
    }
}

impl GramineSgx {
    fn sealing_secret(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let key = Zeroizing::new(read(&self.path("keys/_sgx_mrenclave"), 16)?);
        if key.len() != 16 {
            return Err(Error::Device(format!("_sgx_mrenclave key is {} bytes, expected 16", key.len())));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use umbra_attestation::{verify, DcapCollateral, Policy, TcbStatus};

    fn testdata(rel: &str) -> Vec<u8> {
        let root = std::env::var_os("UMBRA_TESTDATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
        std::fs::read(root.join(rel)).unwrap()
    }

    /// A directory shaped like Gramine's `/dev/attestation`, whose "quote"
    /// is Intel's real sample and whose report carries that quote's enclave
    /// identity (as a real enclave's local report would).
    fn fake_device(kind: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let quote = testdata("sgx/dcap-qvl/sgx_quote");
        std::fs::write(dir.path().join("attestation_type"), format!("{kind}\n")).unwrap();
        std::fs::write(dir.path().join("my_target_info"), [0x11u8; TARGET_INFO_LEN]).unwrap();
        let mut report = [0u8; REPORT_LEN];
        // The quote's report body starts after its 48-byte header.
        report[..384].copy_from_slice(&quote[48..48 + 384]);
        std::fs::write(dir.path().join("report"), report).unwrap();
        std::fs::write(dir.path().join("quote"), &quote).unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("keys/_sgx_mrenclave"), [0x42u8; 16]).unwrap();
        dir
    }

    #[test]
    fn attests_with_the_device_quote_which_verifies() {
        let dir = fake_device("dcap");
        let sgx = GramineSgx::open(dir.path()).unwrap();
        assert!(!sgx.is_simulated());
        assert_eq!(sgx.key_domain(), Domain::Production);
        // The sample quote binds "Hello, world!": ask for exactly that, as
        // the device would then quote it.
        let mut report_data = [0u8; 64];
        report_data[..13].copy_from_slice(b"Hello, world!");
        let evidence = sgx.attest(&report_data).unwrap();
        // The report data went to the device, the target info was ours.
        assert_eq!(std::fs::read(dir.path().join("user_report_data")).unwrap(), report_data);
        // A device quoting something else is caught.
        assert!(matches!(sgx.attest(&[9u8; 64]), Err(Error::Device(_))));
        assert_eq!(std::fs::read(dir.path().join("target_info")).unwrap(), [0x11u8; TARGET_INFO_LEN]);
        let collateral = DcapCollateral::from_json(&testdata("sgx/dcap-qvl/sgx_quote_collateral.json")).unwrap();
        let now = umbra_attestation::time::parse_rfc3339("2025-07-01T00:00:00Z").unwrap();
        let policy = Policy::new(&[PlatformKind::SgxDcap], &[], 0);
        let verified = verify(&evidence, Some(&collateral), now, &policy).unwrap();
        assert_eq!(verified.tcb_status, TcbStatus::ConfigurationAndSwHardeningNeeded);
        // The measurement from the local report equals the quote's.
        assert_eq!(sgx.measurement().unwrap(), verified.measurement);
    }

    #[test]
    fn seals_under_the_mrenclave_key() {
        let dir = fake_device("dcap");
        let sgx = GramineSgx::open(dir.path()).unwrap();
        let sealed = sgx.seal("identity", b"secret").unwrap();
        assert_eq!(sgx.unseal("identity", &sealed).unwrap().as_slice(), b"secret");
        // Another machine (other sealing key) cannot open it.
        std::fs::write(dir.path().join("keys/_sgx_mrenclave"), [0x43u8; 16]).unwrap();
        assert!(matches!(sgx.unseal("identity", &sealed), Err(Error::UnsealFailed)));
        std::fs::write(dir.path().join("keys/_sgx_mrenclave"), [0x43u8; 15]).unwrap();
        assert!(matches!(sgx.seal("identity", b"x"), Err(Error::Device(_))));
    }

    #[test]
    fn refuses_non_dcap_and_malformed_devices() {
        for kind in ["epid", "none", "garbage"] {
            assert!(matches!(GramineSgx::open(fake_device(kind).path()), Err(Error::Unsupported(_))));
        }
        let missing = tempfile::tempdir().unwrap();
        assert!(matches!(GramineSgx::open(missing.path()), Err(Error::Io { .. })));
        let dir = fake_device("dcap");
        std::fs::write(dir.path().join("report"), [0u8; 100]).unwrap();
        assert!(matches!(GramineSgx::open(dir.path()), Err(Error::Device(_))));
        let dir = fake_device("dcap");
        let sgx = GramineSgx::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("quote"), [0u8; 100]).unwrap();
        assert!(matches!(sgx.attest(&[0u8; 64]), Err(Error::Device(_))));
        std::fs::write(dir.path().join("quote"), vec![0u8; MAX_QUOTE_LEN + 1]).unwrap();
        assert!(matches!(sgx.attest(&[0u8; 64]), Err(Error::Device(_))));
    }
}

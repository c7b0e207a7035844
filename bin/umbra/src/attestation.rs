//! `umbra attestation verify`: verifies TEE evidence offline, with the same
//! code the chain runs, and prints the verdict or the precise reason of
//! rejection.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use parity_scale_codec::Decode;
use umbra_attestation::{
    dcap, time, verify, DcapCollateral, Evidence, IasReport, PlatformKind, Policy, Verified, MAX_COLLATERAL_LEN,
};

use crate::CliError;

/// Largest evidence or collateral file read.
const MAX_FILE: u64 = 4 * MAX_COLLATERAL_LEN as u64;

#[derive(Subcommand)]
pub(crate) enum AttestationCommand {
    /// Verify a DCAP quote (raw bytes), an IAS report (JSON) or SCALE-encoded
    /// evidence, as the chain would at the given time.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// The evidence: a raw DCAP quote, an IAS report JSON
    /// (`{raReport, signature, rawSigningCert}`) or SCALE `Evidence`.
    file: PathBuf,
    /// DCAP collateral: PCCS JSON or SCALE (needed for DCAP quotes).
    #[arg(long)]
    collateral: Option<PathBuf>,
    /// Verify as of this time (RFC 3339, e.g. 2025-07-01T00:00:00Z);
    /// default: now.
    #[arg(long)]
    now: Option<String>,
    /// Maximum age in seconds of dated evidence (IAS, sim).
    #[arg(long, default_value_t = 7200)]
    max_age_secs: u64,
    /// Accept simulated evidence signed by this ed25519 key (0x hex);
    /// repeatable. Default: the dev simulated attestation service key.
    #[arg(long = "sim-key")]
    sim_keys: Vec<String>,
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, CliError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1).read_to_end(&mut bytes).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(CliError::new(format!("{}: larger than {MAX_FILE} bytes", path.display())));
    }
    Ok(bytes)
}

/// Recognises the evidence format.
fn parse_evidence(bytes: &[u8]) -> Result<Evidence, CliError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Evidence::Ias(IasReport::from_json(bytes)?));
    }
    if dcap::platform_of(bytes).is_some() && matches!(bytes.first(), Some(3..=5)) {
        return Ok(Evidence::Dcap(bytes.to_vec()));
    }
    let mut input = bytes;
    match Evidence::decode(&mut input) {
        Ok(evidence) if input.is_empty() => Ok(evidence),
        _ => Err(CliError::new("the file is neither a DCAP quote, an IAS report JSON nor SCALE-encoded evidence")),
    }
}

fn now_secs(arg: Option<&str>) -> Result<u64, CliError> {
    match arg {
        Some(text) => time::parse_rfc3339(text).map_err(|e| CliError::new(format!("--now `{text}`: {e}"))),
        None => {
            // The CLI is an IO shell: verifying "now" means the wall clock.
            #[allow(clippy::disallowed_methods)]
            let now = std::time::SystemTime::now();
            Ok(now.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
        }
    }
}

fn parse_sim_key(text: &str) -> Result<[u8; 32], CliError> {
    text.strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| CliError::new(format!("--sim-key `{text}` is not 0x followed by 64 hex digits")))
}

/// Human-readable verdict.
pub(crate) fn describe(verified: &Verified) -> String {
    let m = verified.measurement.as_bytes();
    let mut out = format!("platform:         {}", verified.platform.name());
    if verified.platform == PlatformKind::Sim {
        out.push_str("  (SIMULATED TEE: no hardware protection)");
    }
    out.push_str(&format!("\nmeasurement:      0x{}", hex::encode(m)));
    if m.len() == 68 {
        out.push_str(&format!(
            "\n  mrenclave:      0x{}\n  isv_prod_id:    {}\n  isv_svn:        {}\n  mrsigner:       0x{}",
            hex::encode(&m[..32]),
            u16::from_be_bytes([m[32], m[33]]),
            u16::from_be_bytes([m[34], m[35]]),
            hex::encode(&m[36..])
        ));
    }
    out.push_str(&format!(
        "\nreport data:      0x{}\nTCB status:       {}\nadvisories:       {}\nconfidence level: {}",
        hex::encode(verified.report_data),
        verified.tcb_status.name(),
        if verified.advisories.is_empty() { "none".to_string() } else { verified.advisories.join(", ") },
        verified.confidence_level()
    ));
    if let Some(at) = verified.issued_at_secs {
        out.push_str(&format!("\nissued at:        {}", time::format_rfc3339(at)));
    }
    out
}

pub(crate) fn run(command: AttestationCommand) -> Result<String, CliError> {
    let AttestationCommand::Verify(args) = command;
    let evidence = parse_evidence(&read_bounded(&args.file)?)?;
    let collateral = args.collateral.as_deref().map(read_bounded).transpose()?;
    let collateral = collateral.map(|bytes| DcapCollateral::from_bytes(&bytes)).transpose()?;
    let now = now_secs(args.now.as_deref())?;
    let sim_keys = if args.sim_keys.is_empty() {
        vec![umbra_attestation::sim::dev_sim_service_pair().public().0]
    } else {
        args.sim_keys.iter().map(|k| parse_sim_key(k)).collect::<Result<_, _>>()?
    };
    let policy = Policy::new(&PlatformKind::ALL, &sim_keys, args.max_age_secs);
    match verify(&evidence, collateral.as_ref(), now, &policy) {
        Ok(verified) => Ok(format!("VALID at {}\n{}", time::format_rfc3339(now), describe(&verified))),
        Err(e) => Err(CliError::new(format!("REJECTED at {}: {e}", time::format_rfc3339(now)))),
    }
}

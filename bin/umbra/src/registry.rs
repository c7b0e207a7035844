//! `umbra worker list | show` and `umbra measurement add | remove | list`:
//! the Registry module through the client SDK.

use std::time::Duration;

use clap::{Args, Subcommand};
use umbra_attestation::{time, Measurement};
use umbra_client::Client;
use umbra_crypto::{sr25519, suri::SecretUri, Pair, Scheme};
use umbra_primitives::AccountId32;
use umbra_runtime::{
    modules::registry::{self, WorkerInfo, WorkerRole},
    RuntimeCall,
};

use serde_json::{json, Value};

use crate::report::{hex0x, Report};
use crate::CliError;

const FINALITY_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Subcommand)]
pub(crate) enum WorkerCommand {
    /// Every registered worker, one line each.
    List,
    /// One worker in full.
    Show {
        /// Identity key: 0x hex or SS58.
        identity: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum MeasurementCommand {
    /// The measurement allowlist.
    List,
    /// Allow a measurement (root call through Sudo).
    Add(SudoArgs),
    /// Remove a measurement from the allowlist (root call through Sudo).
    Remove(SudoArgs),
}

#[derive(Args)]
pub(crate) struct SudoArgs {
    /// The measurement, 0x hex (SGX: mrenclave ‖ isv_prod_id ‖ isv_svn ‖ mrsigner).
    pub(crate) measurement: String,
    /// Secret URI of the sudo key (`-` reads it from stdin).
    #[arg(long, default_value = "//Alice")]
    pub(crate) sudo: String,
}

pub(crate) fn parse_identity(text: &str) -> Result<sr25519::Public, CliError> {
    AccountId32::parse(text)
        .map(|a| sr25519::Public(a.0))
        .map_err(|_| CliError::new(format!("`{text}` is not a 0x identity key or an SS58 address")))
}

fn parse_measurement(text: &str) -> Result<Measurement, CliError> {
    let bytes = text
        .strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| CliError::new(format!("measurement `{text}` is not 0x-hex")))?;
    if bytes.is_empty() || bytes.len() > umbra_attestation::MAX_MEASUREMENT_LEN {
        return Err(CliError::new(format!(
            "a measurement is 1..={} bytes, got {}",
            umbra_attestation::MAX_MEASUREMENT_LEN,
            bytes.len()
        )));
    }
    Ok(Measurement(bytes))
}

fn role_name(role: WorkerRole) -> &'static str {
    match role {
        WorkerRole::Worker => "worker",
        WorkerRole::Gatekeeper => "gatekeeper",
    }
}

fn short(bytes: &[u8]) -> String {
    let hex = hex::encode(bytes);
    if hex.len() > 16 {
        format!("0x{}…{}", &hex[..8], &hex[hex.len() - 8..])
    } else {
        format!("0x{hex}")
    }
}

pub(crate) async fn worker(client: &Client, command: WorkerCommand) -> Result<Report, CliError> {
    match command {
        WorkerCommand::List => {
            let mut workers = client.workers().await?;
            workers.sort_by_key(|w| (w.registered_at, w.identity.0));
            let mut json = Vec::with_capacity(workers.len());
            for w in &workers {
                json.push(worker_json(w, client.endpoint(&w.identity).await?.as_ref()));
            }
            if workers.is_empty() {
                return Ok(Report::new("no registered workers", json!([])));
            }
            let mut out = format!(
                "{:<68} {:<10} {:<9} {:>5} {:<22} {:>10} {:>10}",
                "identity", "role", "platform", "level", "measurement", "registered", "attested"
            );
            for w in &workers {
                out.push_str(&format!(
                    "\n0x{:<66} {:<10} {:<9} {:>5} {:<22} {:>10} {:>10}",
                    hex::encode(w.identity.0),
                    role_name(w.role),
                    w.platform.name(),
                    w.confidence_level,
                    short(w.measurement.as_bytes()),
                    format!("#{}", w.registered_at),
                    format!("#{}", w.last_attested_block)
                ));
            }
            out.push_str(&format!("\n{} worker(s)", workers.len()));
            Ok(Report::new(out, Value::Array(json)))
        }
        WorkerCommand::Show { identity } => {
            let identity = parse_identity(&identity)?;
            let w = client
                .worker(&identity)
                .await?
                .ok_or_else(|| CliError::new(format!("worker 0x{} is not registered", hex::encode(identity.0))))?;
            let endpoint = client.endpoint(&identity).await?;
            Ok(Report::new(show(&w, endpoint.as_ref()), worker_json(&w, endpoint.as_ref())))
        }
    }
}

fn worker_json(w: &WorkerInfo, endpoint: Option<&registry::EndpointRecord>) -> Value {
    json!({
        "identity": hex0x(&w.identity.0),
        "ss58": AccountId32(w.identity.0).to_ss58(42),
        "role": role_name(w.role),
        "platform": w.platform.name(),
        "simulated": w.platform == umbra_attestation::PlatformKind::Sim,
        "measurement": hex0x(w.measurement.as_bytes()),
        "tcb_status": w.tcb_status.name(),
        "advisories": w.advisories,
        "confidence_level": w.confidence_level,
        "ecdh_public": hex0x(&w.ecdh_public),
        "operator": w.operator.map(|o| o.to_ss58(42)),
        "cores": w.features.cores,
        "memory_mb": w.features.memory_mb,
        "registered_at": w.registered_at,
        "last_attested_block": w.last_attested_block,
        "last_attested_at_ms": w.last_attested_at_ms,
        "endpoint": endpoint.map(|e| String::from_utf8_lossy(&e.endpoint).into_owned()),
    })
}

fn show(w: &WorkerInfo, endpoint: Option<&registry::EndpointRecord>) -> String {
    format!(
        "worker 0x{}\n  ss58:             {}\n  role:             {}\n  platform:         {}{}\n  measurement:      0x{}\n  TCB status:       {}\n  advisories:       {}\n  confidence level: {}\n  ecdh key:         0x{}\n  operator:         {}\n  features:         {} cores, {} MiB\n  registered at:    #{}\n  last attested:    #{} ({})\n  endpoint:         {}",
        hex::encode(w.identity.0),
        AccountId32(w.identity.0).to_ss58(42),
        role_name(w.role),
        w.platform.name(),
        if w.platform == umbra_attestation::PlatformKind::Sim { " (SIMULATED TEE)" } else { "" },
        hex::encode(w.measurement.as_bytes()),
        w.tcb_status.name(),
        if w.advisories.is_empty() { "none".to_string() } else { w.advisories.join(", ") },
        w.confidence_level,
        hex::encode(w.ecdh_public),
        w.operator.map_or("none".to_string(), |o| o.to_ss58(42)),
        w.features.cores,
        w.features.memory_mb,
        w.registered_at,
        w.last_attested_block,
        time::format_rfc3339(w.last_attested_at_ms / 1000),
        endpoint.map_or("none".to_string(), |e| String::from_utf8_lossy(&e.endpoint).into_owned()),
    )
}

pub(crate) async fn measurement(client: &Client, command: MeasurementCommand) -> Result<Report, CliError> {
    let (args, call, verb) = match command {
        MeasurementCommand::List => {
            let mut list = client.allowed_measurements().await?;
            list.sort_by_key(|(_, at)| *at);
            let json: Vec<Value> =
                list.iter().map(|(m, at)| json!({ "measurement": hex0x(m.as_bytes()), "added_at": at })).collect();
            if list.is_empty() {
                return Ok(Report::new("the measurement allowlist is empty", json!([])));
            }
            let lines: Vec<String> =
                list.iter().map(|(m, at)| format!("0x{}  (added at #{at})", hex::encode(m.as_bytes()))).collect();
            return Ok(Report::new(lines.join("\n"), Value::Array(json)));
        }
        MeasurementCommand::Add(args) => {
            let measurement = parse_measurement(&args.measurement)?;
            (args, registry::Call::add_measurement { measurement }, "added")
        }
        MeasurementCommand::Remove(args) => {
            let measurement = parse_measurement(&args.measurement)?;
            (args, registry::Call::remove_measurement { measurement }, "removed")
        }
    };
    let (number, hash) = sudo(client, &args.sudo, RuntimeCall::Registry(Box::new(call))).await?;
    Ok(Report::new(
        format!("measurement {} {verb} in block #{number} ({hash:?})", args.measurement),
        json!({ "measurement": args.measurement, "action": verb, "block": number, "block_hash": format!("{hash:?}") }),
    ))
}

/// Runs `call` as root through Sudo signed by `sudo_suri`; waits for
/// finality. Returns the block (number, hash), or the dispatch error by name.
pub(crate) async fn sudo(
    client: &Client,
    sudo_suri: &str,
    call: RuntimeCall,
) -> Result<(u32, umbra_primitives::H256), CliError> {
    let suri = crate::key::secret_arg(sudo_suri)?;
    let signer = Pair::from_suri(Scheme::Sr25519, &SecretUri::parse(&suri)?)?;
    let spinner = crate::progress::spinner("submitting (Sudo)");
    let (number, hash) =
        client.sudo(&signer, call, FINALITY_TIMEOUT, |status| crate::progress::show_status(&spinner, status)).await?;
    spinner.done(format!("included in block #{number} and finalized"));
    Ok((number, hash))
}

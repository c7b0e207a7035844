//! `umbra contract new | build | upload | instantiate | call | query`:
//! confidential contracts from a template to answers. Arguments are JSON
//! encoded through the contract's ABI (carried in its code); constructor
//! and command inputs are sealed before they leave this process, outputs
//! and query answers are opened here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use serde_json::{json, Value};
use umbra_client::{
    contracts::{call_input, encode_args, open_output, seal_command, Abi, AbiMethod, Decoded},
    Client, Included,
};
use umbra_crypto::{suri::SecretUri, Pair, Scheme};
use umbra_primitives::{AccountId32, H256};
use umbra_runtime::{
    modules::contracts::{self, ExecStatus},
    RuntimeCall, RuntimeEvent,
};

use crate::report::{hex0x, Report};
use crate::CliError;

/// Default gas limit of constructors and commands.
const DEFAULT_GAS: u64 = 100_000_000;

#[derive(Subcommand)]
pub(crate) enum ContractCommand {
    /// Create a contract crate from the template.
    New {
        /// Crate name (letters, digits, `_`, `-`).
        name: String,
        /// Parent directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Build a contract crate for wasm32 (release), validate it as the chain
    /// will, and write its ABI beside the wasm.
    Build {
        /// The crate's directory.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Cargo's target directory (default: the crate's own, or its
        /// workspace's).
        #[arg(long)]
        target_dir: Option<PathBuf>,
    },
    /// Upload contract code (a wasm file); the chain validates it.
    Upload {
        /// The `.wasm` file.
        wasm: PathBuf,
        /// Secret URI of the uploader (`-` reads it from stdin).
        #[arg(long, default_value = "//Alice")]
        from: String,
    },
    /// Instantiate uploaded code in a cluster; the constructor arguments
    /// are sealed to the cluster's key. Waits for the constructor's commit.
    Instantiate {
        /// Code hash (0x hex).
        code_hash: String,
        /// Cluster id (0x hex).
        #[arg(long)]
        cluster: String,
        /// Constructor arguments as a JSON array.
        #[arg(long, default_value = "[]")]
        args: String,
        /// Salt (makes the contract id unique per deployer and code).
        #[arg(long, default_value = "")]
        salt: String,
        /// Gas limit.
        #[arg(long, default_value_t = DEFAULT_GAS)]
        gas: u64,
        /// Secret URI of the deployer.
        #[arg(long, default_value = "//Alice")]
        from: String,
    },
    /// Send a confidential command; waits for its commit and prints the
    /// decrypted output.
    Call {
        /// Contract id (0x hex).
        contract: String,
        /// Method name.
        method: String,
        /// Arguments as a JSON array.
        #[arg(long, default_value = "[]")]
        args: String,
        /// Gas limit.
        #[arg(long, default_value_t = DEFAULT_GAS)]
        gas: u64,
        /// Secret URI of the caller.
        #[arg(long, default_value = "//Alice")]
        from: String,
    },
    /// Query a contract on a worker (encrypted both ways, answer signed by
    /// the worker's registered identity).
    Query {
        /// Contract id (0x hex).
        contract: String,
        /// Method name.
        method: String,
        /// Arguments as a JSON array.
        #[arg(long, default_value = "[]")]
        args: String,
        /// The worker's public API (`http://host:port`), a replica of the
        /// contract's cluster.
        #[arg(long)]
        worker: String,
        /// Secret URI of the account the query speaks for (a signed
        /// certificate); anonymous without.
        #[arg(long)]
        from: Option<String>,
        /// Refuse an answer from a worker more than this many blocks behind
        /// the chain's finalized head (its state root is also checked
        /// against the one the chain committed).
        #[arg(long, default_value_t = umbra_client::contracts::DEFAULT_MAX_LAG)]
        max_lag: u32,
    },
}

pub(crate) fn parse_h256(s: &str, what: &str) -> Result<H256, CliError> {
    hex::decode(s.trim_start_matches("0x"))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(H256)
        .ok_or_else(|| CliError::new(format!("`{s}` is not a 0x {what} (64 hex digits)")))
}

pub(crate) fn signer(from: &str) -> Result<Pair, CliError> {
    let suri = crate::key::secret_arg(from)?;
    Ok(Pair::from_suri(Scheme::Sr25519, &SecretUri::parse(&suri)?)?)
}

fn json_args(args: &str) -> Result<Value, CliError> {
    serde_json::from_str(args).map_err(|e| CliError::new(format!("--args is not JSON: {e}")))
}

/// Signs `call` with `from`, submits it and waits for finality; a dispatch
/// error becomes an error naming it.
pub(crate) async fn submit(client: &Client, from: &str, call: RuntimeCall) -> Result<Included, CliError> {
    let pair = signer(from)?;
    let who = AccountId32(pair.public());
    let nonce = client.next_nonce(&who).await?;
    let xt = client.sign(call, &pair, nonce, 0).await?;
    let spinner = crate::progress::spinner("submitting");
    let included = client
        .submit_and_finalize(&xt, Duration::from_secs(120), |status| crate::progress::show_status(&spinner, status))
        .await?;
    spinner.done(format!("included in block #{} and finalized", included.block_number));
    match included.error {
        None => Ok(included),
        Some(e) => Err(CliError::new(format!("refused: {}", umbra_client::describe_error(&e)))),
    }
}

/// `method` of code `code_hash` and its call input (selector ‖ `args`
/// encoded through the ABI).
pub(crate) async fn method_input(
    client: &Client,
    code_hash: &H256,
    method: &str,
    args: &str,
) -> Result<(Abi, AbiMethod, Vec<u8>), CliError> {
    let abi = abi_of(client, code_hash).await?;
    let m = abi.method(method)?;
    let input = call_input(m.selector, encode_args(&m.args, &json_args(args)?)?);
    Ok((abi, m, input))
}

async fn abi_of(client: &Client, code_hash: &H256) -> Result<Abi, CliError> {
    let code = client.code(code_hash).await?.ok_or_else(|| CliError::new("no such code on chain"))?;
    Ok(Abi::from_code(&code)?)
}

/// A call's outcome through the ABI, for people and for scripts: the
/// value it returned, the error it reverted with (`Err(Forbidden)`), or
/// its status (`OutOfGas`, …).
fn outcome(abi: &Abi, method: Option<&AbiMethod>, status: ExecStatus, output: &[u8]) -> (String, Value) {
    let name = format!("{status:?}");
    match status {
        ExecStatus::Success => {
            let ty = method.map_or("()", AbiMethod::success_type);
            match abi.decode_all(ty, output) {
                Ok(value) => (value.to_string(), json!({ "status": name, "value": value.to_json() })),
                Err(e) => (
                    format!("{} (does not decode as {ty}: {e})", hex0x(output)),
                    json!({ "status": name, "output": hex0x(output), "decode_error": e }),
                ),
            }
        }
        ExecStatus::Reverted => {
            let reason = abi.revert(method, output);
            let text = match &reason {
                Decoded::Err(_) => reason.to_string(),
                Decoded::Text(t) => format!("reverted: {t}"),
                other => format!("reverted with {other}"),
            };
            (text, json!({ "status": name, "error": reason.to_json() }))
        }
        _ => (name.clone(), json!({ "status": name })),
    }
}

pub(crate) async fn run(client: &Client, command: ContractCommand) -> Result<Report, CliError> {
    match command {
        ContractCommand::New { name, dir } => new_crate(&name, &dir),
        ContractCommand::Build { path, target_dir } => build(&path, target_dir.as_deref()),
        ContractCommand::Upload { wasm, from } => {
            let meta = std::fs::metadata(&wasm).map_err(|e| CliError::new(format!("{}: {e}", wasm.display())))?;
            if meta.len() > umbra_vm::limits::MAX_CODE_SIZE as u64 {
                return Err(CliError::new(format!(
                    "{}: {} bytes, the chain accepts at most {}",
                    wasm.display(),
                    meta.len(),
                    umbra_vm::limits::MAX_CODE_SIZE
                )));
            }
            let code = std::fs::read(&wasm).map_err(|e| CliError::new(format!("{}: {e}", wasm.display())))?;
            let hash = umbra_crypto::hashing::blake2_256(&code);
            let included = submit(client, &from, RuntimeCall::Contracts(contracts::Call::upload_code { code }))
                .await
                .map_err(|e| CliError::new(format!("upload {}", e.0)))?;
            Ok(Report::new(
                format!("code 0x{} uploaded in block #{}", hex::encode(hash), included.block_number),
                json!({ "code_hash": hex0x(&hash), "block": included.block_number }),
            ))
        }
        ContractCommand::Instantiate { code_hash, cluster, args, salt, gas, from } => {
            let code_hash = parse_h256(&code_hash, "code hash")?;
            let cluster_id = parse_h256(&cluster, "cluster id")?;
            let abi = abi_of(client, &code_hash).await?;
            let input = encode_args(&abi.constructor_args(), &json_args(&args)?)?;
            let cluster = client
                .cluster_info(&cluster_id)
                .await?
                .ok_or_else(|| CliError::new(format!("no cluster {cluster_id:?}")))?;
            let ecdh = client
                .cluster_ecdh(&cluster_id)
                .await?
                .ok_or_else(|| CliError::new("the cluster's key is not published yet (gatekeepers deliver it)"))?;
            let deployer = AccountId32(signer(&from)?.public());
            let contract = contracts::contract_id(&deployer, &code_hash, &cluster_id, salt.as_bytes());
            let domain = client.cluster_domain(&cluster).await?;
            let binding = client.command_binding(&deployer, &contract).await?;
            let (command, opener) = seal_command(&ecdh, binding, input, domain)?;
            let call = RuntimeCall::Contracts(contracts::Call::instantiate {
                cluster: cluster_id,
                code_hash,
                salt: salt.into_bytes(),
                command,
                gas_limit: gas,
            });
            let included = submit(client, &from, call).await?;
            let spinner = crate::progress::spinner(format!(
                "instantiated in block #{}; waiting for the constructor's commit",
                included.block_number
            ));
            let info = client.contract_info(&contract).await?.ok_or_else(|| CliError::new("contract not on chain"))?;
            let result = client.wait_result(info.deploy_call, Duration::from_secs(120)).await?;
            spinner.done("the constructor committed");
            let output = open_output(&opener, &client.genesis_hash(), &cluster_id, &contract, &result)?;
            if output.status != ExecStatus::Success {
                return Err(CliError::new(format!(
                    "constructor {}",
                    outcome(&abi, None, output.status, &output.output).0
                )));
            }
            client.wait_contract_ready(&contract, Duration::from_secs(60)).await?;
            Ok(Report::new(
                format!("contract 0x{} ready (constructor used {} gas)", hex::encode(contract.0), result.gas_used),
                json!({
                    "contract": hex0x(&contract.0),
                    "cluster": hex0x(&cluster_id.0),
                    "block": included.block_number,
                    "gas_used": result.gas_used,
                }),
            ))
        }
        ContractCommand::Call { contract, method, args, gas, from } => {
            let contract = parse_h256(&contract, "contract id")?;
            let info = client.contract_info(&contract).await?.ok_or_else(|| CliError::new("no such contract"))?;
            let keys = info.pubkeys.ok_or_else(|| CliError::new("the contract's constructor has not committed"))?;
            let (abi, m, input) = method_input(client, &info.code_hash, &method, &args).await?;
            let cluster = client.cluster_info(&info.cluster).await?.ok_or_else(|| CliError::new("no cluster"))?;
            let domain = client.cluster_domain(&cluster).await?;
            let caller = AccountId32(signer(&from)?.public());
            let binding = client.command_binding(&caller, &contract).await?;
            let (command, opener) = seal_command(&keys.ecdh, binding, input, domain)?;
            let call = RuntimeCall::Contracts(contracts::Call::call { contract, command, gas_limit: gas });
            let included = submit(client, &from, call).await?;
            let call_id = included
                .events
                .iter()
                .find_map(|e| match e {
                    RuntimeEvent::Contracts(contracts::Event::CommandQueued { call_id, .. }) => Some(*call_id),
                    _ => None,
                })
                .ok_or_else(|| CliError::new("no CommandQueued event"))?;
            let spinner = crate::progress::spinner(format!(
                "command {call_id} queued in block #{}; waiting for its commit",
                included.block_number
            ));
            let result = client.wait_result(call_id, Duration::from_secs(120)).await?;
            spinner.done(format!("command {call_id} committed"));
            let output = open_output(&opener, &client.genesis_hash(), &info.cluster, &contract, &result)?;
            let (shown, mut json) = outcome(&abi, Some(&m), output.status, &output.output);
            let mut text = format!("{shown} (command {call_id}, {} gas)", result.gas_used);
            // Events are sealed with the output: only the caller sees them.
            let events: Vec<Decoded> = output.events.iter().map(|e| abi.event(e)).collect();
            for event in &events {
                text.push_str(&format!("\n  event {event}"));
            }
            json["contract"] = json!(hex0x(&contract.0));
            json["method"] = json!(m.name);
            json["command"] = json!(call_id);
            json["block"] = json!(included.block_number);
            json["gas_used"] = json!(result.gas_used);
            json["events"] = Value::Array(events.iter().map(Decoded::to_json).collect());
            Ok(Report::new(text, json))
        }
        ContractCommand::Query { contract, method, args, worker, from, max_lag } => {
            let contract = parse_h256(&contract, "contract id")?;
            let info = client.contract_info(&contract).await?.ok_or_else(|| CliError::new("no such contract"))?;
            let (abi, m, input) = method_input(client, &info.code_hash, &method, &args).await?;
            let pair = from.as_deref().map(signer).transpose()?;
            let answer = client
                .query(
                    &worker,
                    &contract,
                    input,
                    pair.as_ref(),
                    umbra_client::contracts::DEFAULT_QUERY_VALIDITY,
                    max_lag,
                )
                .await?;
            let r = answer.response;
            let (shown, mut json) = outcome(&abi, Some(&m), r.status, &r.output);
            json["contract"] = json!(hex0x(&contract.0));
            json["method"] = json!(m.name);
            json["block"] = json!(r.block_number);
            json["state_root"] = json!(hex0x(&r.state_root.0));
            json["worker"] = json!(hex0x(&answer.worker.0));
            Ok(Report::new(
                format!(
                    "{shown} (block #{}, state root 0x{}, worker 0x{})",
                    r.block_number,
                    hex::encode(r.state_root.0),
                    hex::encode(answer.worker.0)
                ),
                json,
            ))
        }
    }
}

/// The workspace's lock file: a new contract starts from the dependency
/// versions the SDK is tested with (cargo drops what it does not use).
const WORKSPACE_LOCK: &str = include_str!("../../../Cargo.lock");

/// The toolchain channel the workspace pins (`rust-toolchain.toml`).
fn pinned_channel() -> &'static str {
    include_str!("../../../rust-toolchain.toml")
        .lines()
        .find_map(|l| l.trim().strip_prefix("channel = \"").and_then(|r| r.strip_suffix('"')))
        .unwrap_or("stable")
}

/// Where the contract SDK's sources are: `$UMBRA_SDK` (a
/// `crates/contract-sdk` directory), else the checkout this binary was
/// built from, else the checkout around the running binary
/// (`target/<profile>/umbra`).
fn sdk_path() -> Result<PathBuf, CliError> {
    let is_sdk = |p: &Path| p.join("Cargo.toml").is_file() && p.join("src/lib.rs").is_file();
    if let Some(dir) = std::env::var_os("UMBRA_SDK") {
        let dir = PathBuf::from(dir);
        return if is_sdk(&dir) {
            Ok(dir.canonicalize().unwrap_or(dir))
        } else {
            Err(CliError::new(format!(
                "UMBRA_SDK={} is not the contract SDK (crates/contract-sdk of a checkout)",
                dir.display()
            )))
        };
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/contract-sdk");
    let beside = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("../../crates/contract-sdk")));
    [Some(built_from), beside]
        .into_iter()
        .flatten()
        .find(|p| is_sdk(p))
        .map(|p| p.canonicalize().unwrap_or(p))
        .ok_or_else(|| {
            CliError::new(
                "the contract SDK's sources are not found (the checkout this umbra was built from is gone); \
                 set UMBRA_SDK to the crates/contract-sdk directory of an umbra checkout",
            )
        })
}

pub(crate) fn new_crate(name: &str, dir: &Path) -> Result<Report, CliError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(CliError::new(format!("`{name}` is not a crate name (letters, digits, `_`, `-`)")));
    }
    let root = dir.join(name);
    if root.exists() {
        return Err(CliError::new(format!("{} exists", root.display())));
    }
    let sdk = sdk_path()?;
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n\
         [dependencies]\numbra-contract-sdk = {{ path = \"{}\" }}\n\n\
         [profile.release]\nopt-level = \"s\"\nlto = true\npanic = \"abort\"\ncodegen-units = 1\n\n\
         # Not part of any enclosing workspace.\n[workspace]\n",
        sdk.display()
    );
    let module = name.replace('-', "_");
    let lib = format!(
        r#"//! A confidential counter: each account's count is private.
#![cfg_attr(target_arch = "wasm32", no_std)]

/// The contract.
#[umbra_contract_sdk::contract]
pub mod {module} {{
    use umbra_contract_sdk::{{codec, env, AccountId, Decode, Encode, Map}};

    /// What a command tells its caller (sealed to it with the output; the
    /// CLI prints it through the ABI).
    #[event]
    #[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
    #[codec(crate = codec)]
    pub enum Event {{
        /// The caller's count grew.
        #[codec(index = 0)]
        Added {{
            /// Whose count.
            who: AccountId,
            /// The count now.
            count: u64,
        }},
    }}

    /// Why a call fails.
    #[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
    #[codec(crate = codec)]
    pub enum Error {{
        /// Anonymous callers have no count.
        #[codec(index = 0)]
        Anonymous,
    }}

    /// State.
    #[storage]
    pub struct Counter {{
        counts: Map<AccountId, u64>,
    }}

    impl Counter {{
        /// Creates the contract.
        #[constructor]
        pub fn new() -> Self {{
            Self::storage()
        }}

        /// Adds `by` to the caller's count.
        #[command]
        pub fn add(&mut self, by: u64) -> Result<u64, Error> {{
            let who = env::caller().ok_or(Error::Anonymous)?;
            let count = self.counts.get(&who).unwrap_or(0).saturating_add(by);
            self.counts.insert(&who, &count);
            env::emit(&Event::Added {{ who, count }});
            Ok(count)
        }}

        /// The caller's own count.
        #[query]
        pub fn mine(&self) -> Result<u64, Error> {{
            let who = env::caller().ok_or(Error::Anonymous)?;
            Ok(self.counts.get(&who).unwrap_or(0))
        }}
    }}
}}

#[cfg(test)]
mod tests {{
    use umbra_contract_sdk::{{selector, test_env, Call, Encode}};

    #[test]
    fn counts_are_per_caller() {{
        test_env::reset();
        test_env::call(Some([1; 32]), ().encode(), super::{module}::deploy).unwrap();
        let add = Call {{ selector: selector("add"), args: 5u64.encode() }}.encode();
        assert_eq!(test_env::call(Some([1; 32]), add, super::{module}::call).unwrap(), 5u64.encode());
        let mine = Call {{ selector: selector("mine"), args: vec![] }}.encode();
        assert_eq!(test_env::call(Some([2; 32]), mine, super::{module}::call).unwrap(), 0u64.encode());
    }}
}}
"#
    );
    std::fs::create_dir_all(root.join("src")).map_err(|e| CliError::new(format!("{}: {e}", root.display())))?;
    std::fs::write(root.join("Cargo.toml"), manifest).map_err(|e| CliError::new(e.to_string()))?;
    std::fs::write(root.join("src/lib.rs"), lib).map_err(|e| CliError::new(e.to_string()))?;
    // The toolchain and dependency versions the SDK is built and tested
    // with: the same compiler (with its wasm32 target) and the same locked
    // versions, wherever the project lives.
    let toolchain = format!(
        "[toolchain]\nchannel = \"{}\"\ntargets = [\"{}\"]\nprofile = \"minimal\"\n",
        pinned_channel(),
        umbra_toolchain::WASM_TARGET
    );
    std::fs::write(root.join("rust-toolchain.toml"), toolchain).map_err(|e| CliError::new(e.to_string()))?;
    std::fs::write(root.join("Cargo.lock"), WORKSPACE_LOCK).map_err(|e| CliError::new(e.to_string()))?;
    std::fs::write(root.join(".gitignore"), "/target\n").map_err(|e| CliError::new(e.to_string()))?;
    Ok(Report::new(
        format!("created {} (native tests: cargo test; wasm: umbra contract build {})", root.display(), root.display()),
        json!({ "created": root.display().to_string() }),
    ))
}

pub(crate) fn build(path: &Path, target_dir: Option<&Path>) -> Result<Report, CliError> {
    let manifest = path.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| CliError::new(format!("{}: {e}", manifest.display())))?;
    let name = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("name = \"").and_then(|r| r.strip_suffix('"')))
        .ok_or_else(|| CliError::new(format!("{}: no package name", manifest.display())))?
        .replace('-', "_");
    // A toolchain without the wasm32 target gets it now (rustup), instead
    // of failing deep in cargo with "can't find crate for `core`".
    let crate_dir = if path.as_os_str().is_empty() { Path::new(".") } else { path };
    // Cargo runs in the crate's directory: a relative target dir means the
    // caller's.
    let target_dir =
        target_dir.map(|dir| std::env::current_dir().map(|cwd| cwd.join(dir)).unwrap_or_else(|_| dir.to_path_buf()));
    let target_dir = target_dir.as_deref();
    if umbra_toolchain::ensure_target(crate_dir, umbra_toolchain::WASM_TARGET)
        .map_err(|e| CliError::new(e.to_string()))?
        == umbra_toolchain::Outcome::Added
    {
        eprintln!("added the {} target to the toolchain (rustup)", umbra_toolchain::WASM_TARGET);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    // Run in the crate's directory: rustup picks the toolchain from there
    // (the crate's rust-toolchain.toml), the one checked above.
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    command
        .args(["build", "--release", "--target", umbra_toolchain::WASM_TARGET, "--manifest-path"])
        .arg(&manifest)
        .current_dir(crate_dir);
    if let Some(dir) = target_dir {
        command.arg("--target-dir").arg(dir);
    }
    let status = command.status().map_err(|e| CliError::new(format!("cargo: {e}")))?;
    if !status.success() {
        return Err(CliError::new("cargo build failed"));
    }
    // The crate's own target dir, or an enclosing workspace's.
    let candidates = match target_dir {
        Some(dir) => vec![dir.to_path_buf()],
        None => vec![path.join("target"), path.join("../target"), path.join("../../target")],
    };
    let wasm = candidates
        .iter()
        .map(|t| t.join(format!("wasm32-unknown-unknown/release/{name}.wasm")))
        .find(|p| p.exists())
        .ok_or_else(|| CliError::new(format!("{name}.wasm not found under {}", path.display())))?;
    let wasm = wasm.canonicalize().unwrap_or(wasm);
    let code = std::fs::read(&wasm).map_err(|e| CliError::new(format!("{}: {e}", wasm.display())))?;
    umbra_vm::validate::validate(&code).map_err(|e| CliError::new(format!("the chain would refuse it: {e}")))?;
    let abi = Abi::from_code(&code)?;
    let abi_path = wasm.with_extension("abi.json");
    std::fs::write(&abi_path, serde_json::to_string_pretty(&abi.0).unwrap_or_default())
        .map_err(|e| CliError::new(e.to_string()))?;
    let code_hash = umbra_crypto::hashing::blake2_256(&code);
    Ok(Report::new(
        format!(
            "{} ({} bytes, code hash 0x{}), ABI {}",
            wasm.display(),
            code.len(),
            hex::encode(code_hash),
            abi_path.display()
        ),
        json!({
            "wasm": wasm.display().to_string(),
            "size": code.len(),
            "code_hash": hex0x(&code_hash),
            "abi": abi_path.display().to_string(),
        }),
    ))
}

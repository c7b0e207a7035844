//! Confidential contracts from the user's side: ABI-driven argument
//! encoding, sealing constructors and commands, waiting for results and
//! opening them, and encrypted queries straight to a worker whose identity
//! is checked against the chain.

use std::time::Duration;

use parity_scale_codec::{Compact, Decode, Encode};
use serde_json::{json, Value};
use umbra_crypto::{
    envelope::{self, Envelope, Purpose, ReplyOpener, SealingSession},
    labels::{Domain, Label},
    sr25519, x25519, Pair,
};
use umbra_primitives::{AccountId32, BlockNumber, H256};
use umbra_protocol::client::PruntimeClient;
pub use umbra_protocol::wire;
use umbra_runtime::modules::{
    contracts::{self, CallResult, ClusterInfo, CommandBinding, ContractInfo, SealedCommand},
    registry,
};

use crate::{Client, Error, Result};

/// Largest response accepted from a worker.
const MAX_WORKER_RESPONSE: usize = umbra_protocol::MAX_PUBLIC_RESPONSE;
/// Blocks a query answer may lag the chain's finalized head by default.
pub const DEFAULT_MAX_LAG: BlockNumber = 5;
/// Blocks a query stays valid by default.
pub const DEFAULT_QUERY_VALIDITY: BlockNumber = 20;

fn bad(what: impl Into<String>) -> Error {
    Error::Response(what.into())
}

/// A contract's ABI (the JSON `#[contract]` generates, carried in the code's
/// `umbra-abi` custom section).
#[derive(Clone, Debug)]
pub struct Abi(pub Value);

/// A method of an ABI.
#[derive(Clone, Debug)]
pub struct AbiMethod {
    /// Its name.
    pub name: String,
    /// `command` or `query`.
    pub kind: String,
    /// Its selector.
    pub selector: [u8; 4],
    /// Argument (name, type).
    pub args: Vec<(String, String)>,
    /// Return type, if any.
    pub returns: Option<String>,
}

fn args_of(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| (x["name"].as_str().unwrap_or("").to_string(), x["type"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

impl Abi {
    /// The ABI inside `code`.
    pub fn from_code(code: &[u8]) -> Result<Self> {
        let section = umbra_vm::validate::custom_section(code, umbra_vm::validate::ABI_SECTION)
            .ok_or_else(|| bad("the code carries no umbra-abi section (not built with #[contract])"))?;
        let value: Value = serde_json::from_slice(section).map_err(|e| bad(format!("ABI is not JSON: {e}")))?;
        if value["abi_version"] != json!(1) {
            return Err(bad(format!("unsupported ABI version {}", value["abi_version"])));
        }
        Ok(Self(value))
    }

    /// The constructor's arguments.
    pub fn constructor_args(&self) -> Vec<(String, String)> {
        args_of(&self.0["constructor"]["args"])
    }

    /// A method by name.
    pub fn method(&self, name: &str) -> Result<AbiMethod> {
        let methods = self.0["methods"].as_array().cloned().unwrap_or_default();
        let m = methods.iter().find(|m| m["name"] == json!(name)).ok_or_else(|| {
            let names: Vec<&str> = methods.iter().filter_map(|m| m["name"].as_str()).collect();
            bad(format!("no method `{name}` (methods: {})", names.join(", ")))
        })?;
        let sel = m["selector"].as_str().unwrap_or_default().trim_start_matches("0x");
        let sel = hex::decode(sel).ok().and_then(|b| <[u8; 4]>::try_from(b).ok()).ok_or_else(|| bad("bad selector"))?;
        Ok(AbiMethod {
            name: name.to_string(),
            kind: m["kind"].as_str().unwrap_or_default().to_string(),
            selector: sel,
            args: args_of(&m["args"]),
            returns: m["returns"].as_str().map(str::to_string),
        })
    }
}

/// The input of a command or query: `SCALE((selector, args))`, the
/// `Call` the SDK dispatches on.
pub fn call_input(selector: [u8; 4], args: Vec<u8>) -> Vec<u8> {
    (selector, args).encode()
}

/// Encodes JSON `values` (an array, one per argument) as the SCALE tuple of
/// `types`.
pub fn encode_args(types: &[(String, String)], values: &Value) -> Result<Vec<u8>> {
    let empty = Vec::new();
    let values = if values.is_null() {
        &empty
    } else {
        values.as_array().ok_or_else(|| bad("arguments must be a JSON array"))?
    };
    if values.len() != types.len() {
        let names: Vec<String> = types.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        return Err(bad(format!("expected {} argument(s) ({}), got {}", types.len(), names.join(", "), values.len())));
    }
    let mut out = Vec::new();
    for ((name, ty), v) in types.iter().zip(values) {
        encode_value(ty, v, &mut out).map_err(|e| bad(format!("argument `{name}`: {e}")))?;
    }
    Ok(out)
}

fn inner<'a>(ty: &'a str, prefix: &str) -> Option<&'a str> {
    ty.strip_prefix(prefix).and_then(|r| r.strip_suffix('>'))
}

fn int<T: TryFrom<u128> + Encode>(v: &Value, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    let n: u128 = match v {
        Value::Number(n) => n.as_u64().map(u128::from).ok_or("expected a non-negative integer")?,
        Value::String(s) => s.parse().map_err(|_| format!("`{s}` is not an integer"))?,
        _ => return Err("expected an integer".into()),
    };
    T::try_from(n).map_err(|_| format!("{n} out of range"))?.encode_to(out);
    Ok(())
}

/// Encodes one JSON value as SCALE `ty` (integers, bool, `[u8;32]` as
/// 0x-hex or an SS58 address, `Vec<u8>` as 0x-hex, `String`, `Option<T>`,
/// `Vec<T>`).
pub fn encode_value(ty: &str, v: &Value, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    match ty {
        "u8" => int::<u8>(v, out),
        "u16" => int::<u16>(v, out),
        "u32" => int::<u32>(v, out),
        "u64" => int::<u64>(v, out),
        "u128" => int::<u128>(v, out),
        "bool" => {
            v.as_bool().ok_or("expected true or false")?.encode_to(out);
            Ok(())
        }
        "String" => {
            v.as_str().ok_or("expected a string")?.encode_to(out);
            Ok(())
        }
        "[u8;32]" | "AccountId" => {
            let s = v.as_str().ok_or("expected 0x-hex or an SS58 address")?;
            let bytes: [u8; 32] = if let Some(h) = s.strip_prefix("0x") {
                hex::decode(h).ok().and_then(|b| b.try_into().ok()).ok_or("expected 32 bytes of hex")?
            } else {
                umbra_crypto::ss58::decode_account(s).map_err(|e| format!("not an SS58 address: {e}"))?.1
            };
            out.extend_from_slice(&bytes);
            Ok(())
        }
        "Vec<u8>" => {
            let s = v.as_str().and_then(|s| s.strip_prefix("0x")).ok_or("expected 0x-hex")?;
            hex::decode(s).map_err(|e| e.to_string())?.encode_to(out);
            Ok(())
        }
        _ => {
            if let Some(t) = inner(ty, "Option<") {
                if v.is_null() {
                    out.push(0);
                    Ok(())
                } else {
                    out.push(1);
                    encode_value(t, v, out)
                }
            } else if let Some(t) = inner(ty, "Vec<") {
                let items = v.as_array().ok_or("expected an array")?;
                Compact(items.len() as u32).encode_to(out);
                items.iter().try_for_each(|i| encode_value(t, i, out))
            } else {
                Err(format!("type `{ty}` is not supported by the CLI encoder"))
            }
        }
    }
}

/// Decodes SCALE `ty` into JSON (`Result<T, E>` as `{"Ok": …}` or
/// `{"Err": variant index}`; unknown types as 0x-hex of the rest).
pub fn decode_value(ty: &str, input: &mut &[u8]) -> std::result::Result<Value, String> {
    let e = |x: parity_scale_codec::Error| x.to_string();
    Ok(match ty {
        "()" => Value::Null,
        "u8" => json!(u8::decode(input).map_err(e)?),
        "u16" => json!(u16::decode(input).map_err(e)?),
        "u32" => json!(u32::decode(input).map_err(e)?),
        "u64" => json!(u64::decode(input).map_err(e)?),
        "u128" => json!(u128::decode(input).map_err(e)?.to_string()),
        "bool" => json!(bool::decode(input).map_err(e)?),
        "String" => json!(String::decode(input).map_err(e)?),
        "[u8;32]" => json!(format!("0x{}", hex::encode(<[u8; 32]>::decode(input).map_err(e)?))),
        "Vec<u8>" => json!(format!("0x{}", hex::encode(Vec::<u8>::decode(input).map_err(e)?))),
        _ => {
            if let Some(t) = inner(ty, "Option<") {
                match u8::decode(input).map_err(e)? {
                    0 => Value::Null,
                    _ => decode_value(t, input)?,
                }
            } else if let Some(t) = inner(ty, "Vec<") {
                let n = Compact::<u32>::decode(input).map_err(e)?.0;
                (0..n).map(|_| decode_value(t, input)).collect::<std::result::Result<Vec<_>, _>>()?.into()
            } else if let Some(rest) = inner(ty, "Result<") {
                // Split at the top-level comma.
                let mut depth = 0i32;
                let split = rest.char_indices().find(|(_, c)| {
                    match c {
                        '<' | '(' | '[' => depth += 1,
                        '>' | ')' | ']' => depth -= 1,
                        _ => {}
                    }
                    *c == ',' && depth == 0
                });
                let ok = split.map_or(rest, |(i, _)| &rest[..i]);
                match u8::decode(input).map_err(e)? {
                    0 => json!({ "Ok": decode_value(ok, input)? }),
                    _ => json!({ "Err": format!("0x{}", hex::encode(&input[..])) }),
                }
            } else {
                let rest = format!("0x{}", hex::encode(&input[..]));
                *input = &[];
                json!(rest)
            }
        }
    })
}

/// The key domain of workers on `platform` (simulated TEEs derive every key
/// under the `-insecure` labels).
pub fn domain_of(platform: umbra_attestation::PlatformKind) -> Domain {
    if platform == umbra_attestation::PlatformKind::Sim {
        Domain::Insecure
    } else {
        Domain::Production
    }
}

/// Seals `input` for the chain: to the cluster's X25519 key (constructors)
/// or the contract's (commands), bound to `binding` (genesis, contract,
/// caller, nonce) in its authenticated data. Returns what `Contracts.call`
/// / `instantiate` take and what opens the output.
pub fn seal_command(
    recipient: &[u8; 32],
    binding: CommandBinding,
    input: Vec<u8>,
    domain: Domain,
) -> Result<(SealedCommand, ReplyOpener)> {
    let sealed = envelope::seal(
        &mut rand_core::OsRng,
        &x25519::Public(*recipient),
        Label::Envelope.in_domain(domain),
        &envelope::context(&binding.genesis.0, Purpose::Command, &binding.subject()),
        &wire::CommandPayload { input }.encode(),
    )
    .map_err(|e| bad(format!("sealing: {e}")))?;
    Ok((SealedCommand { binding, envelope: sealed.envelope.to_bytes() }, sealed.reply))
}

/// Opens a command's output with the opener of its envelope: the reply
/// must be bound to this call (cluster, call id).
pub fn open_output(
    opener: &ReplyOpener,
    genesis: &H256,
    cluster: &H256,
    contract: &H256,
    result: &CallResult,
) -> Result<wire::CommandOutput> {
    let envelope = Envelope::from_bytes(&result.output, contracts::MAX_OUTPUT_LEN)
        .map_err(|e| bad(format!("output envelope: {e}")))?;
    let context =
        envelope::context(&genesis.0, Purpose::CommandOutput, &wire::output_subject(contract, result.call_id));
    let binding = wire::command_reply_binding(cluster, result.call_id);
    let plaintext =
        opener.open(&binding, &envelope, &context).map_err(|e| bad(format!("output does not open: {e}")))?;
    umbra_primitives::decode_bounded(&plaintext, contracts::MAX_OUTPUT_LEN).map_err(|e| bad(e.to_string()))
}

/// A worker's answer to a query, opened and checked.
#[derive(Clone, Debug)]
pub struct QueryAnswer {
    /// The decrypted response.
    pub response: wire::QueryResponse,
    /// The worker that answered (identity, checked on chain).
    pub worker: sr25519::Public,
}

/// A kept-alive connection to a worker's public API, checking every
/// response's signature against the worker's registered identity (see
/// [`QueryTarget::connect`]).
pub struct QueryConnection(PruntimeClient);

/// A worker checked once against the chain (see [`Client::query_target`]),
/// queried many times without chain reads.
#[derive(Clone, Debug)]
pub struct QueryTarget {
    addr: String,
    contract: H256,
    cluster: H256,
    identity: sr25519::Public,
    ecdh: x25519::Public,
    domain: Domain,
    genesis: H256,
}

impl QueryTarget {
    /// One query on a new connection (see [`QueryTarget::query_on`]).
    pub async fn query(&self, input: Vec<u8>, signer: Option<&Pair>, expires_at: BlockNumber) -> Result<QueryAnswer> {
        let mut connection = self.connect();
        self.query_on(&mut connection, input, signer, expires_at).await
    }

    /// A kept-alive connection to the worker for [`QueryTarget::query_on`].
    pub fn connect(&self) -> QueryConnection {
        QueryConnection(PruntimeClient::public(&self.addr).expecting(self.identity))
    }

    /// The contract's cluster.
    pub fn cluster(&self) -> H256 {
        self.cluster
    }

    /// One query over `connection`: `input` sealed to the worker with a
    /// fresh nonce, valid until `expires_at`, with a certificate by
    /// `signer` (until the same block) when given; the answer must be
    /// signed by the worker's registered identity and open under a reply
    /// key bound to the worker, the nonce and the worker's salt.
    pub async fn query_on(
        &self,
        connection: &mut QueryConnection,
        input: Vec<u8>,
        signer: Option<&Pair>,
        expires_at: BlockNumber,
    ) -> Result<QueryAnswer> {
        let label = Label::Envelope.in_domain(self.domain);
        let mut session =
            SealingSession::new(&mut rand_core::OsRng, &self.ecdh, label).map_err(|e| bad(format!("sealing: {e}")))?;
        let certificate = signer.map(|pair| {
            let message = wire::Certificate::message(&self.genesis, &session.ephemeral().0, expires_at);
            wire::Certificate {
                account: AccountId32(pair.public()),
                expires_at,
                signature: pair.sign(&message, &mut rand_core::OsRng),
            }
        });
        let mut nonce = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        let context = envelope::context(&self.genesis.0, Purpose::Query, &self.contract.0);
        let payload = wire::QueryPayload { input, certificate, nonce, expires_at };
        let sealed = session.seal(&context, &payload.encode()).map_err(|e| bad(format!("sealing: {e}")))?;
        let request = wire::QueryRequest { contract: self.contract, envelope: sealed.envelope.to_bytes() };
        let reply = connection.0.query(&request).await.map_err(|e| Error::Rpc(format!("worker {}: {e}", self.addr)))?;
        let envelope = Envelope::from_bytes(&reply.envelope, MAX_WORKER_RESPONSE).map_err(|e| bad(e.to_string()))?;
        let context = envelope::context(&self.genesis.0, Purpose::QueryResponse, &self.contract.0);
        let binding = wire::query_reply_binding(&self.identity.0, &nonce, &reply.salt);
        let plaintext =
            sealed.reply.open(&binding, &envelope, &context).map_err(|e| bad(format!("answer does not open: {e}")))?;
        let response: wire::QueryResponse =
            umbra_primitives::decode_bounded(&plaintext, MAX_WORKER_RESPONSE).map_err(|e| bad(e.to_string()))?;
        Ok(QueryAnswer { response, worker: self.identity })
    }
}

impl Client {
    /// Uploaded code.
    pub async fn code(&self, hash: &H256) -> Result<Option<Vec<u8>>> {
        self.storage_value(&contracts::keys::code(hash)).await
    }

    /// The value at `key` at the best block, decoded as `T` (all bytes
    /// consumed); `None` when absent.
    pub async fn storage_value<T: Decode>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.storage(key, None).await? {
            None => Ok(None),
            Some(bytes) => umbra_primitives::decode_bounded(&bytes, usize::MAX)
                .map(Some)
                .map_err(|e| bad(format!("storage value does not decode: {e}"))),
        }
    }

    /// A contract.
    pub async fn contract_info(&self, id: &H256) -> Result<Option<ContractInfo>> {
        self.storage_value(&contracts::keys::contract(id)).await
    }

    /// A cluster.
    pub async fn cluster_info(&self, id: &H256) -> Result<Option<ClusterInfo>> {
        self.storage_value(&contracts::keys::cluster(id)).await
    }

    /// A cluster's X25519 public key, once its key is published.
    pub async fn cluster_ecdh(&self, id: &H256) -> Result<Option<[u8; 32]>> {
        self.storage_value(&contracts::keys::cluster_ecdh(id)).await
    }

    /// A command's result, once committed.
    pub async fn call_result(&self, call_id: u64) -> Result<Option<CallResult>> {
        self.storage_value(&contracts::keys::result(call_id)).await
    }

    /// The key domain of a cluster (from its first worker's platform).
    pub async fn cluster_domain(&self, cluster: &ClusterInfo) -> Result<Domain> {
        let first = cluster.workers.first().ok_or_else(|| bad("cluster without workers"))?;
        let info = self.worker(first).await?.ok_or_else(|| bad("cluster worker not registered"))?;
        Ok(domain_of(info.platform))
    }

    /// Polls until `call_id`'s result is committed (or `timeout`).
    pub async fn wait_result(&self, call_id: u64, timeout: Duration) -> Result<CallResult> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(result) = self.call_result(call_id).await? {
                return Ok(result);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout(format!("no commit for call {call_id}")));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls until `contract` has public keys (its constructor committed).
    pub async fn wait_contract_ready(&self, contract: &H256, timeout: Duration) -> Result<ContractInfo> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(info) = self.contract_info(contract).await? {
                if info.pubkeys.is_some() {
                    return Ok(info);
                }
                if let Some(result) = self.call_result(info.deploy_call).await? {
                    if result.status != contracts::ExecStatus::Success {
                        return Err(Error::Transaction(format!("constructor ended {:?}", result.status)));
                    }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout("contract keys not published".into()));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The caller's next command nonce on chain (the lowest its next
    /// envelope may be bound to).
    pub async fn command_nonce(&self, caller: &AccountId32) -> Result<u64> {
        Ok(self.storage_value(&contracts::keys::command_nonce(caller)).await?.unwrap_or(0))
    }

    /// The binding of `caller`'s next command to `contract` on this chain.
    pub async fn command_binding(&self, caller: &AccountId32, contract: &H256) -> Result<CommandBinding> {
        Ok(CommandBinding {
            genesis: self.genesis_hash(),
            contract: *contract,
            caller: *caller,
            nonce: self.command_nonce(caller).await?,
        })
    }

    /// Checks that the worker at `url` (`http://host:port`) is registered
    /// with the ECDH key it serves and is a replica of `contract`'s
    /// cluster; the result queries it without further chain reads. The
    /// worker's `/info` must be signed by the identity it names.
    pub async fn query_target(&self, url: &str, contract: &H256) -> Result<QueryTarget> {
        let addr = url.trim_start_matches("http://").trim_end_matches('/').to_string();
        let info = PruntimeClient::public(&addr).info().await.map_err(|e| Error::Rpc(format!("worker {addr}: {e}")))?;
        let identity = sr25519::Public(info.identity);
        // The info itself must come from that identity.
        PruntimeClient::public(&addr)
            .expecting(identity)
            .info()
            .await
            .map_err(|e| Error::Rpc(format!("worker {addr}: {e}")))?;
        let registered = self.worker(&identity).await?.ok_or_else(|| bad("the worker is not registered on chain"))?;
        if info.ecdh_public != registered.ecdh_public {
            return Err(bad("the worker's ECDH key differs from its registration"));
        }
        let contract_info = self.contract_info(contract).await?.ok_or_else(|| bad("no such contract"))?;
        let cluster =
            self.cluster_info(&contract_info.cluster).await?.ok_or_else(|| bad("contract without cluster"))?;
        if !cluster.workers.contains(&identity) {
            return Err(bad("the worker is not a replica of the contract's cluster"));
        }
        Ok(QueryTarget {
            addr,
            contract: *contract,
            cluster: contract_info.cluster,
            identity,
            ecdh: x25519::Public(info.ecdh_public),
            domain: domain_of(registered.platform),
            genesis: self.genesis_hash(),
        })
    }

    /// Queries `contract` on the worker at `url`: the input sealed to the
    /// worker's registered ECDH key, signed by `signer` when given (valid
    /// for `validity` blocks), the answer checked against the worker's
    /// registered identity, opened, and checked against the chain
    /// ([`Client::check_fresh`], at most `max_lag` blocks behind).
    pub async fn query(
        &self,
        url: &str,
        contract: &H256,
        input: Vec<u8>,
        signer: Option<&Pair>,
        validity: BlockNumber,
        max_lag: BlockNumber,
    ) -> Result<QueryAnswer> {
        let target = self.query_target(url, contract).await?;
        let expires_at = self.best_header().await?.number.saturating_add(validity);
        let answer = target.query(input, signer, expires_at).await?;
        self.check_fresh(&target.cluster, &answer.response, max_lag, Duration::from_secs(30)).await?;
        Ok(answer)
    }

    /// Refuses a query answer that is not the chain's current truth: the
    /// worker's verified replica more than `max_lag` blocks behind the
    /// chain's finalized head, or a state root other than the one the chain
    /// committed for the cluster at the answer's block (waiting up to
    /// `timeout` for that commit to land).
    pub async fn check_fresh(
        &self,
        cluster: &H256,
        response: &wire::QueryResponse,
        max_lag: BlockNumber,
        timeout: Duration,
    ) -> Result<()> {
        let finalized = self.finalized_hash().await?;
        let head = self.header(finalized).await?.ok_or_else(|| bad("finalized header missing"))?.number;
        if response.synced_block.saturating_add(max_lag) < head {
            return Err(Error::Stale(format!(
                "the worker is at block {}, {} behind the finalized head {head} (at most {max_lag})",
                response.synced_block,
                head - response.synced_block
            )));
        }
        if response.block_number == 0 {
            // Nothing executed yet: the empty state, not committed.
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let key = contracts::keys::committed_root(cluster, response.block_number);
            if let Some(root) = self.storage_value::<H256>(&key).await? {
                if root != response.state_root {
                    return Err(Error::Stale(format!(
                        "the worker's state root {:?} at block {} is not the committed {root:?}",
                        response.state_root, response.block_number
                    )));
                }
                return Ok(());
            }
            let state = self.storage_value::<contracts::CommitState>(&contracts::keys::commit_state(cluster)).await?;
            if state.is_some_and(|s| s.block > response.block_number) {
                return Err(Error::Stale(format!(
                    "the chain committed no state for block {} the worker answered from",
                    response.block_number
                )));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout(format!("no commit of block {} to compare with", response.block_number)));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A registered worker (for its platform and keys).
    pub async fn registered_worker(&self, identity: &sr25519::Public) -> Result<Option<registry::WorkerInfo>> {
        self.worker(identity).await
    }
}

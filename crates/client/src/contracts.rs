//! Confidential contracts from the user's side: ABI-driven argument
//! encoding, sealing constructors and commands, waiting for results and
//! opening them, and encrypted queries straight to a worker whose identity
//! is checked against the chain.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Method, Request};
use hyper_util::rt::TokioIo;
use parity_scale_codec::{Compact, Decode, Encode};
use serde_json::{json, Value};
use umbra_crypto::{
    envelope::{self, Envelope, Purpose, ReplyOpener, SealingSession},
    labels::{Domain, Label},
    sr25519, x25519, Pair,
};
use umbra_primitives::{AccountId32, BlockNumber, H256};
use umbra_runtime::modules::{
    contracts::{self, wire, CallResult, ClusterInfo, ContractInfo},
    registry,
};

use crate::{Client, Error, Result};

/// Largest response accepted from a worker.
const MAX_WORKER_RESPONSE: usize = 1 << 20;
/// Response signature context of pRuntime (`umbra_pruntime::service`).
const RESPONSE_CONTEXT: &[u8] = b"umbra/pruntime/response/v1";

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
/// or the contract's (commands), context (genesis, command, contract).
/// Returns the envelope bytes and what opens the output.
pub fn seal_command(
    genesis: &H256,
    recipient: &[u8; 32],
    contract: &H256,
    input: Vec<u8>,
    domain: Domain,
) -> Result<(Vec<u8>, ReplyOpener)> {
    let sealed = envelope::seal(
        &mut rand_core::OsRng,
        &x25519::Public(*recipient),
        Label::Envelope.in_domain(domain),
        &envelope::context(&genesis.0, Purpose::Command, &contract.0),
        &wire::CommandPayload { input }.encode(),
    )
    .map_err(|e| bad(format!("sealing: {e}")))?;
    Ok((sealed.envelope.to_bytes(), sealed.reply))
}

/// Opens a command's output with the opener of its envelope.
pub fn open_output(
    opener: &ReplyOpener,
    genesis: &H256,
    contract: &H256,
    result: &CallResult,
) -> Result<wire::CommandOutput> {
    let envelope = Envelope::from_bytes(&result.output, contracts::MAX_OUTPUT_LEN)
        .map_err(|e| bad(format!("output envelope: {e}")))?;
    let context =
        envelope::context(&genesis.0, Purpose::CommandOutput, &wire::output_subject(contract, result.call_id));
    let plaintext = opener.open(&envelope, &context).map_err(|e| bad(format!("output does not open: {e}")))?;
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

/// A kept-alive HTTP connection to a worker (see [`QueryTarget::connect`]).
pub struct QueryConnection(Sender);

/// A worker checked once against the chain (see [`Client::query_target`]),
/// queried many times without chain reads.
#[derive(Clone, Debug)]
pub struct QueryTarget {
    addr: String,
    contract: H256,
    identity: sr25519::Public,
    ecdh: x25519::Public,
    domain: Domain,
    genesis: H256,
}

impl QueryTarget {
    /// One query on a new connection (see [`QueryTarget::query_on`]).
    pub async fn query(&self, input: Vec<u8>, signer: Option<(&Pair, BlockNumber)>) -> Result<QueryAnswer> {
        let mut connection = self.connect().await?;
        self.query_on(&mut connection, input, signer).await
    }

    /// A kept-alive connection to the worker for [`QueryTarget::query_on`].
    pub async fn connect(&self) -> Result<QueryConnection> {
        Ok(QueryConnection(connect(&self.addr).await?))
    }

    /// One query over `connection`: `input` sealed to the worker, with a
    /// certificate by the signer valid until the given block when one is
    /// given; the answer must be signed by the worker's registered identity
    /// and open.
    pub async fn query_on(
        &self,
        connection: &mut QueryConnection,
        input: Vec<u8>,
        signer: Option<(&Pair, BlockNumber)>,
    ) -> Result<QueryAnswer> {
        let label = Label::Envelope.in_domain(self.domain);
        let mut session =
            SealingSession::new(&mut rand_core::OsRng, &self.ecdh, label).map_err(|e| bad(format!("sealing: {e}")))?;
        let certificate = signer.map(|(pair, expires_at)| {
            let message = wire::Certificate::message(&self.genesis, &session.ephemeral().0, expires_at);
            wire::Certificate {
                account: AccountId32(pair.public()),
                expires_at,
                signature: pair.sign(&message, &mut rand_core::OsRng),
            }
        });
        let context = envelope::context(&self.genesis.0, Purpose::Query, &self.contract.0);
        let sealed = session
            .seal(&context, &wire::QueryPayload { input, certificate }.encode())
            .map_err(|e| bad(format!("sealing: {e}")))?;
        let request = wire::QueryRequest { contract: self.contract, envelope: sealed.envelope.to_bytes() };
        let (answer, body, signature) =
            send(&mut connection.0, &self.addr, Method::POST, "/query", request.encode()).await?;
        // The answer is signed by the registered identity.
        let mut signed = RESPONSE_CONTEXT.to_vec();
        signed.extend_from_slice(&umbra_crypto::hashing::blake2_256(&body));
        let signature = signature.ok_or_else(|| bad("unsigned worker response"))?;
        if !sr25519::verify(&sr25519::Signature(signature), &signed, &self.identity) {
            return Err(bad("the worker's response signature does not verify"));
        }
        let reply = hex::decode(answer["envelope"].as_str().unwrap_or_default().trim_start_matches("0x"))
            .map_err(|e| bad(e.to_string()))?;
        let reply = Envelope::from_bytes(&reply, MAX_WORKER_RESPONSE).map_err(|e| bad(e.to_string()))?;
        let context = envelope::context(&self.genesis.0, Purpose::QueryResponse, &self.contract.0);
        let plaintext = sealed.reply.open(&reply, &context).map_err(|e| bad(format!("answer does not open: {e}")))?;
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

    /// Checks that the worker at `url` (`http://host:port`) is registered
    /// with the ECDH key it serves and is a replica of `contract`'s
    /// cluster; the result queries it without further chain reads.
    pub async fn query_target(&self, url: &str, contract: &H256) -> Result<QueryTarget> {
        let addr = url.trim_start_matches("http://").trim_end_matches('/').to_string();
        let info = http(&addr, Method::GET, "/info", Vec::new()).await?.0;
        let identity = parse32(&info["identity"]).ok_or_else(|| bad("worker info without identity"))?;
        let identity = sr25519::Public(identity);
        let registered = self.worker(&identity).await?.ok_or_else(|| bad("the worker is not registered on chain"))?;
        let ecdh = parse32(&info["ecdh_public"]).ok_or_else(|| bad("worker info without ECDH key"))?;
        if ecdh != registered.ecdh_public {
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
            identity,
            ecdh: x25519::Public(ecdh),
            domain: domain_of(registered.platform),
            genesis: self.genesis_hash(),
        })
    }

    /// Queries `contract` on the worker at `url`: the input sealed to the
    /// worker's registered ECDH key, signed by `signer` when given (a
    /// certificate valid for `validity` blocks), the answer checked against
    /// the worker's registered identity and opened.
    pub async fn query(
        &self,
        url: &str,
        contract: &H256,
        input: Vec<u8>,
        signer: Option<&Pair>,
        validity: BlockNumber,
    ) -> Result<QueryAnswer> {
        let target = self.query_target(url, contract).await?;
        let expires_at = self.best_header().await?.number.saturating_add(validity);
        target.query(input, signer.map(|p| (p, expires_at))).await
    }

    /// A registered worker (for its platform and keys).
    pub async fn registered_worker(&self, identity: &sr25519::Public) -> Result<Option<registry::WorkerInfo>> {
        self.worker(identity).await
    }
}

fn parse32(v: &Value) -> Option<[u8; 32]> {
    hex::decode(v.as_str()?.trim_start_matches("0x")).ok()?.try_into().ok()
}

/// One HTTP/1 request to a worker: (JSON, raw body, signature header).
/// An HTTP/1.1 connection to a worker's public API (kept alive).
type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: &str) -> Result<Sender> {
    let err = |m: String| Error::Rpc(format!("worker {addr}: {m}"));
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| err(e.to_string()))?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| err(e.to_string()))?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn http(addr: &str, method: Method, path: &str, body: Vec<u8>) -> Result<(Value, Vec<u8>, Option<[u8; 64]>)> {
    let mut sender = connect(addr).await?;
    send(&mut sender, addr, method, path, body).await
}

async fn send(
    sender: &mut Sender,
    addr: &str,
    method: Method,
    path: &str,
    body: Vec<u8>,
) -> Result<(Value, Vec<u8>, Option<[u8; 64]>)> {
    let err = |m: String| Error::Rpc(format!("worker {addr}{path}: {m}"));
    sender.ready().await.map_err(|e| err(e.to_string()))?;
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| err(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| err(e.to_string()))?;
    let status = response.status();
    let signature = response
        .headers()
        .get("x-umbra-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| hex::decode(s.trim_start_matches("0x")).ok())
        .and_then(|b| <[u8; 64]>::try_from(b).ok());
    let limited = http_body_util::Limited::new(response.into_body(), MAX_WORKER_RESPONSE);
    let bytes = limited.collect().await.map_err(|e| err(e.to_string()))?.to_bytes().to_vec();
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| err(format!("not JSON: {e}")))?;
    if !status.is_success() {
        return Err(err(format!("{status}: {}", value["error"].as_str().unwrap_or("unknown error"))));
    }
    Ok((value, bytes, signature))
}

//! The Rust client SDK: talk to an umbra node over JSON-RPC (WebSocket).
//!
//! * [`Client`]: chain queries (headers, blocks, typed storage, events,
//!   nonces), transaction building and signing ([`Client::sign`]) with the
//!   chain's genesis hash, runtime version and a mortal era anchored at the
//!   finalized head, submission with status tracking until finality
//!   ([`Client::submit_and_watch`]).
//! * [`registry`]: typed reads of workers, the measurement allowlist and
//!   attestation policies.
//! * [`amount`]: parsing and formatting UMB amounts (12 decimals) exactly,
//!   without floats.
//!
//! Everything received from the node is decoded with bounds and checked
//! (hash lengths, SCALE decoding); a node cannot make the client panic.

pub mod abi;
pub mod amount;
pub mod bench;
pub mod contracts;
pub mod registry;

use std::time::Duration;

use jsonrpsee::{
    core::client::{ClientT, Subscription, SubscriptionClientT},
    rpc_params,
    ws_client::{WsClient, WsClientBuilder},
};
use parity_scale_codec::{Decode, Encode};
use serde_json::Value;
use umbra_crypto::Pair;
use umbra_primitives::{
    block::OpaqueExtrinsic,
    extrinsic::{AdditionalSigned, Era, SignedExtra, UncheckedExtrinsic},
    header::{Digest, DigestItem, Header},
    AccountId32, Balance, H256,
};
use umbra_runtime::{
    event::EventRecord,
    modules::{system, transaction_payment},
    RuntimeCall, RuntimeEvent,
};

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection or an RPC call failed.
    #[error("RPC: {0}")]
    Rpc(String),
    /// The node answered a call with an error object (`1010 Invalid
    /// Transaction: Transaction has a bad signature`, `1016 Immediately
    /// Dropped: …`).
    #[error("{message} ({code}){}", data.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Node {
        /// The JSON-RPC error code (Substrate's: 1010 invalid, 1011 unknown
        /// validity, 1012 temporarily banned, 1013 already imported, 1014
        /// priority too low, 1016 immediately dropped).
        code: i32,
        /// Its message.
        message: String,
        /// Its data (a JSON string is unquoted).
        data: Option<String>,
    },
    /// The node returned something malformed.
    #[error("unexpected response: {0}")]
    Response(String),
    /// The transaction was not finalized (invalid, dropped, usurped, or the watch ended).
    #[error("transaction {0}")]
    Transaction(String),
    /// Waiting timed out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A worker's answer is not the chain's current truth (too far behind
    /// the finalized head, or a state root the chain did not commit).
    #[error("stale answer: {0}")]
    Stale(String),
    /// The call was included but failed (`Module.Error`, see
    /// [`describe_error`]).
    #[error("refused: {0}")]
    Dispatch(String),
    /// What the operation needs is not on chain (`no such contract`, `the
    /// contract's constructor has not committed`).
    #[error("{0}")]
    Missing(String),
}

/// A dispatch error by name: `Module.Error` from the runtime's metadata,
/// else its debug form.
pub fn describe_error(e: &umbra_runtime::DispatchError) -> String {
    match e {
        umbra_runtime::DispatchError::Module(m) => {
            match umbra_runtime::metadata::module_error_name(m.index, m.error[0]) {
                Some((module, error)) => format!("{module}.{error}"),
                None => format!("module {} error {}", m.index, m.error[0]),
            }
        }
        other => format!("{other:?}"),
    }
}

impl From<jsonrpsee::core::ClientError> for Error {
    fn from(e: jsonrpsee::core::ClientError) -> Self {
        if let jsonrpsee::core::ClientError::Call(object) = &e {
            let data = object
                .data()
                .map(|raw| serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_string()));
            return Error::Node { code: object.code(), message: object.message().to_string(), data };
        }
        Error::Rpc(e.to_string())
    }
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Largest response the client accepts.
pub const MAX_RESPONSE_BYTES: u32 = 32 * 1024 * 1024;

fn bytes(v: &Value) -> Result<Vec<u8>> {
    let s = v.as_str().ok_or_else(|| Error::Response(format!("expected hex string, got {v}")))?;
    let body = s.strip_prefix("0x").ok_or_else(|| Error::Response(format!("missing 0x in {s}")))?;
    hex::decode(body).map_err(|e| Error::Response(format!("bad hex: {e}")))
}

fn hash(v: &Value) -> Result<H256> {
    let b = bytes(v)?;
    if b.len() != 32 {
        return Err(Error::Response(format!("expected a 32-byte hash, got {} bytes", b.len())));
    }
    Ok(H256::from_slice(&b))
}

fn hex_param(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// Parses a header from Substrate's JSON form.
pub fn parse_header(v: &Value) -> Result<Header> {
    let number = v["number"].as_str().and_then(|s| s.strip_prefix("0x")).and_then(|s| u32::from_str_radix(s, 16).ok());
    let logs = v["digest"]["logs"]
        .as_array()
        .ok_or_else(|| Error::Response("header without digest logs".into()))?
        .iter()
        .map(|l| DigestItem::decode(&mut &bytes(l)?[..]).map_err(|_| Error::Response("undecodable digest item".into())))
        .collect::<Result<Vec<_>>>()?;
    Ok(Header {
        parent_hash: hash(&v["parentHash"])?,
        number: number.ok_or_else(|| Error::Response("header without a hex number".into()))?,
        state_root: hash(&v["stateRoot"])?,
        extrinsics_root: hash(&v["extrinsicsRoot"])?,
        digest: Digest { logs },
    })
}

/// A block as the client reads it.
#[derive(Clone, Debug)]
pub struct Block {
    /// Header.
    pub header: Header,
    /// Extrinsics.
    pub extrinsics: Vec<OpaqueExtrinsic>,
    /// Whether a GRANDPA justification is stored with it.
    pub justified: bool,
}

/// A transaction's status while it is watched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Waiting for an earlier nonce.
    Future,
    /// In the pool, ready.
    Ready,
    /// Included in this block.
    InBlock(H256),
    /// That block left the best chain.
    Retracted(H256),
    /// Finalized in this block.
    Finalized(H256),
    /// Replaced, dropped or invalid.
    Failed(String),
}

fn parse_status(v: &Value) -> Result<Status> {
    if let Some(s) = v.as_str() {
        return Ok(match s {
            "future" => Status::Future,
            "ready" => Status::Ready,
            other => Status::Failed(other.to_string()),
        });
    }
    let obj = v.as_object().ok_or_else(|| Error::Response(format!("unexpected status {v}")))?;
    let (key, value) = obj.iter().next().ok_or_else(|| Error::Response("empty status".into()))?;
    Ok(match key.as_str() {
        "inBlock" => Status::InBlock(hash(value)?),
        "retracted" => Status::Retracted(hash(value)?),
        "finalized" => Status::Finalized(hash(value)?),
        other => Status::Failed(other.to_string()),
    })
}

/// The outcome of a finalized transaction.
#[derive(Clone, Debug)]
pub struct Included {
    /// Transaction hash.
    pub tx_hash: H256,
    /// Block that includes it (finalized).
    pub block_hash: H256,
    /// Its number.
    pub block_number: u32,
    /// Index in the block.
    pub index: u32,
    /// Its events.
    pub events: Vec<RuntimeEvent>,
    /// Fee paid (tip included), from `TransactionFeePaid`.
    pub fee: Balance,
    /// Whether the call succeeded (`ExtrinsicSuccess`).
    pub success: bool,
    /// The dispatch error, if it failed.
    pub error: Option<umbra_runtime::DispatchError>,
}

/// A connection to a node.
pub struct Client {
    ws: WsClient,
    genesis_hash: H256,
    spec_version: u32,
    transaction_version: u32,
}

impl Client {
    /// Connects to `url` (`ws://…`) and reads the chain's identity.
    pub async fn connect(url: &str) -> Result<Self> {
        let ws = WsClientBuilder::default()
            .max_response_size(MAX_RESPONSE_BYTES)
            .request_timeout(Duration::from_secs(60))
            .connection_timeout(Duration::from_secs(10))
            .build(url)
            .await
            .map_err(|e| Error::Rpc(format!("cannot connect to {url}: {e}")))?;
        let genesis: Value = ws.request("chain_getBlockHash", rpc_params![0]).await?;
        let version: Value = ws.request("state_getRuntimeVersion", rpc_params![]).await?;
        let num = |k: &str| {
            version[k]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| Error::Response(format!("runtime version without {k}")))
        };
        Ok(Client {
            genesis_hash: hash(&genesis)?,
            spec_version: num("specVersion")?,
            transaction_version: num("transactionVersion")?,
            ws,
        })
    }

    /// The genesis hash.
    pub fn genesis_hash(&self) -> H256 {
        self.genesis_hash
    }

    /// A raw JSON-RPC call.
    pub async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value> {
        let mut p = jsonrpsee::core::params::ArrayParams::new();
        for v in params {
            p.insert(v).map_err(|e| Error::Rpc(e.to_string()))?;
        }
        Ok(self.ws.request(method, p).await?)
    }

    /// `system_chain`.
    pub async fn chain_name(&self) -> Result<String> {
        Ok(self.ws.request("system_chain", rpc_params![]).await?)
    }

    /// The best block's header.
    pub async fn best_header(&self) -> Result<Header> {
        let v: Value = self.ws.request("chain_getHeader", rpc_params![]).await?;
        parse_header(&v)
    }

    /// The finalized head's hash.
    pub async fn finalized_hash(&self) -> Result<H256> {
        let v: Value = self.ws.request("chain_getFinalizedHead", rpc_params![]).await?;
        hash(&v)
    }

    /// A header by hash.
    pub async fn header(&self, at: H256) -> Result<Option<Header>> {
        let v: Value = self.ws.request("chain_getHeader", rpc_params![hex_param(at.as_bytes())]).await?;
        if v.is_null() {
            return Ok(None);
        }
        parse_header(&v).map(Some)
    }

    /// The canonical block hash at `number`.
    pub async fn block_hash(&self, number: u32) -> Result<Option<H256>> {
        let v: Value = self.ws.request("chain_getBlockHash", rpc_params![number]).await?;
        if v.is_null() {
            return Ok(None);
        }
        hash(&v).map(Some)
    }

    /// A block by hash.
    pub async fn block(&self, at: H256) -> Result<Option<Block>> {
        let v: Value = self.ws.request("chain_getBlock", rpc_params![hex_param(at.as_bytes())]).await?;
        if v.is_null() {
            return Ok(None);
        }
        let header = parse_header(&v["block"]["header"])?;
        let extrinsics = v["block"]["extrinsics"]
            .as_array()
            .ok_or_else(|| Error::Response("block without extrinsics".into()))?
            .iter()
            .map(|x| {
                OpaqueExtrinsic::from_encoded(&bytes(x)?, umbra_runtime::weights::limits::MAX_EXTRINSIC_LEN)
                    .map_err(|e| Error::Response(format!("bad extrinsic: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Block { header, extrinsics, justified: !v["justifications"].is_null() }))
    }

    /// Raw storage at `at` (default: best).
    pub async fn storage(&self, key: &[u8], at: Option<H256>) -> Result<Option<Vec<u8>>> {
        let at = at.map(|h| hex_param(h.as_bytes()));
        let v: Value = self.ws.request("state_getStorage", rpc_params![hex_param(key), at]).await?;
        if v.is_null() {
            return Ok(None);
        }
        bytes(&v).map(Some)
    }

    /// An account (`System.Account`).
    pub async fn account(&self, who: &AccountId32, at: Option<H256>) -> Result<system::AccountInfo> {
        match self.storage(&system::keys::account(who), at).await? {
            Some(raw) => system::AccountInfo::decode(&mut &raw[..])
                .map_err(|_| Error::Response("undecodable AccountInfo".into())),
            None => Ok(system::AccountInfo::default()),
        }
    }

    /// The events of block `at`.
    pub async fn events(&self, at: H256) -> Result<Vec<EventRecord>> {
        match self.storage(&system::keys::events(), Some(at)).await? {
            Some(raw) => umbra_primitives::decode_bounded(&raw, MAX_RESPONSE_BYTES as usize)
                .map_err(|e| Error::Response(format!("undecodable events: {e}"))),
            None => Ok(Vec::new()),
        }
    }

    /// The next nonce of `who`, counting its transactions in the pool.
    pub async fn next_nonce(&self, who: &AccountId32) -> Result<u32> {
        Ok(self.ws.request("system_accountNextIndex", rpc_params![who.to_ss58(42)]).await?)
    }

    /// Signs `call` by `signer` with `nonce` and `tip`, valid for 64 blocks
    /// from the finalized head.
    pub async fn sign(&self, call: RuntimeCall, signer: &Pair, nonce: u32, tip: Balance) -> Result<OpaqueExtrinsic> {
        let finalized = self.finalized_hash().await?;
        let header = self.header(finalized).await?.ok_or_else(|| Error::Response("finalized header missing".into()))?;
        let era = Era::mortal(64, u64::from(header.number));
        let birth = era.birth(u64::from(header.number));
        let era_block_hash = if birth == u64::from(header.number) {
            finalized
        } else {
            let n = u32::try_from(birth).map_err(|_| Error::Response("era birth out of range".into()))?;
            self.block_hash(n).await?.ok_or_else(|| Error::Response("era birth block missing".into()))?
        };
        Ok(self.sign_extra(call, signer, SignedExtra { era, nonce, tip }, era_block_hash))
    }

    /// Like [`Client::sign`] but immortal: valid at any height (its nonce
    /// still makes it one-time), for transactions signed long before they
    /// are submitted, as a benchmark's are.
    pub fn sign_immortal(&self, call: RuntimeCall, signer: &Pair, nonce: u32, tip: Balance) -> OpaqueExtrinsic {
        self.sign_extra(call, signer, SignedExtra { era: Era::Immortal, nonce, tip }, self.genesis_hash)
    }

    fn sign_extra(
        &self,
        call: RuntimeCall,
        signer: &Pair,
        extra: SignedExtra,
        era_block_hash: H256,
    ) -> OpaqueExtrinsic {
        let additional = AdditionalSigned {
            spec_version: self.spec_version,
            transaction_version: self.transaction_version,
            genesis_hash: self.genesis_hash,
            era_block_hash,
        };
        UncheckedExtrinsic::new_signed(call, signer, extra, &additional, &mut rand_core::OsRng).to_opaque()
    }

    /// The fee `xt` would pay now (`payment_queryInfo`).
    pub async fn estimate_fee(&self, xt: &OpaqueExtrinsic) -> Result<Balance> {
        let v: Value = self.ws.request("payment_queryInfo", rpc_params![hex_param(&xt.encode())]).await?;
        v["partialFee"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::Response("payment_queryInfo without partialFee".into()))
    }

    /// `chain_subscribeFinalizedHeads`: a stream of finalized headers (JSON).
    pub async fn subscribe_finalized_heads(&self) -> Result<Subscription<Value>> {
        Ok(self.ws.subscribe("chain_subscribeFinalizedHeads", rpc_params![], "chain_unsubscribeFinalizedHeads").await?)
    }

    /// `chain_subscribeAllHeads`: every imported header, best or not (JSON).
    pub async fn subscribe_all_heads(&self) -> Result<Subscription<Value>> {
        Ok(self.ws.subscribe("chain_subscribeAllHeads", rpc_params![], "chain_unsubscribeAllHeads").await?)
    }

    /// Submits `xt` and returns its status stream.
    pub async fn submit_and_watch(&self, xt: &OpaqueExtrinsic) -> Result<Subscription<Value>> {
        Ok(self
            .ws
            .subscribe(
                "author_submitAndWatchExtrinsic",
                rpc_params![hex_param(&xt.encode())],
                "author_unwatchExtrinsic",
            )
            .await?)
    }

    /// Submits `xt` (fire and forget); returns its hash.
    pub async fn submit(&self, xt: &OpaqueExtrinsic) -> Result<H256> {
        let v: Value = self.ws.request("author_submitExtrinsic", rpc_params![hex_param(&xt.encode())]).await?;
        hash(&v)
    }

    /// Submits `xt` and waits until it is finalized (or fails), calling
    /// `progress` with each status; returns its outcome.
    pub async fn submit_and_finalize(
        &self,
        xt: &OpaqueExtrinsic,
        timeout: Duration,
        mut progress: impl FnMut(&Status),
    ) -> Result<Included> {
        let tx_hash = xt.hash();
        let mut sub = self.submit_and_watch(xt).await?;
        let finalized = tokio::time::timeout(timeout, async {
            loop {
                let next = sub.next().await.ok_or_else(|| Error::Transaction("watch ended before finality".into()))?;
                let status = parse_status(&next.map_err(|e| Error::Response(e.to_string()))?)?;
                progress(&status);
                match status {
                    Status::Finalized(block) => return Ok(block),
                    Status::Failed(why) => return Err(Error::Transaction(why)),
                    _ => {}
                }
            }
        })
        .await
        .map_err(|_| Error::Timeout("transaction not finalized in time".into()))??;
        let block = self.block(finalized).await?.ok_or_else(|| Error::Response("finalized block missing".into()))?;
        let index = block
            .extrinsics
            .iter()
            .position(|x| x == xt)
            .ok_or_else(|| Error::Response("transaction not in its block".into()))? as u32;
        let events: Vec<RuntimeEvent> = self
            .events(finalized)
            .await?
            .into_iter()
            .filter(|e| e.phase == umbra_runtime::event::Phase::ApplyExtrinsic(index))
            .map(|e| e.event)
            .collect();
        let fee = events
            .iter()
            .find_map(|e| match e {
                RuntimeEvent::TransactionPayment(transaction_payment::Event::TransactionFeePaid {
                    actual_fee, ..
                }) => Some(*actual_fee),
                _ => None,
            })
            .unwrap_or(0);
        let error = events.iter().find_map(|e| match e {
            RuntimeEvent::System(system::Event::ExtrinsicFailed { dispatch_error, .. }) => Some(*dispatch_error),
            _ => None,
        });
        Ok(Included {
            tx_hash,
            block_hash: finalized,
            block_number: block.header.number,
            index,
            success: error.is_none(),
            events,
            fee,
            error,
        })
    }

    /// Runs `call` as root through Sudo signed by `signer` and waits for
    /// finality (`progress` sees each status). Returns the block (number,
    /// hash); a failed extrinsic or a refused root call is
    /// [`Error::Dispatch`] with the error's name.
    pub async fn sudo(
        &self,
        signer: &Pair,
        call: RuntimeCall,
        timeout: Duration,
        progress: impl FnMut(&Status),
    ) -> Result<(u32, H256)> {
        let who = AccountId32(signer.public());
        let call = RuntimeCall::Sudo(umbra_runtime::modules::sudo::Call::sudo { call: Box::new(call) });
        let nonce = self.next_nonce(&who).await?;
        let xt = self.sign(call, signer, nonce, 0).await?;
        let included = self.submit_and_finalize(&xt, timeout, progress).await?;
        if let Some(e) = included.error {
            return Err(Error::Dispatch(format!("the sudo call failed: {}", describe_error(&e))));
        }
        let result = included.events.iter().find_map(|e| match e {
            RuntimeEvent::Sudo(umbra_runtime::modules::sudo::Event::Sudid { sudo_result }) => Some(*sudo_result),
            _ => None,
        });
        match result {
            Some(Ok(())) => Ok((included.block_number, included.block_hash)),
            Some(Err(e)) => Err(Error::Dispatch(describe_error(&e))),
            None => Err(Error::Dispatch("no Sudid event: the call was not dispatched as root".into())),
        }
    }
}

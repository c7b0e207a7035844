//! The shell: HTTP APIs over the core, sealed persistence, staleness.
//!
//! Private API (the relayer; bind it to loopback):
//!
//! | method | path | body (SCALE) | result |
//! |---|---|---|---|
//! | POST | `/init` | `GenesisAnchor` | status |
//! | POST | `/sync_headers` | [`HeadersRequest`] | finalized range |
//! | POST | `/load_state` | `(u32, Vec<(key, value)>)` | status |
//! | POST | `/dispatch_blocks` | `Vec<(u32, StorageChanges)>` | blocks applied |
//! | GET | `/egress` | | signed messages (hex SCALE) |
//! | GET | `/registration` | | info + evidence (hex SCALE) |
//! | GET | `/status` | | status |
//!
//! Public API: `GET /info` (identity, ECDH key, measurement, evidence,
//! synced height, version), `GET /state?key=0x…` (a value of the chain
//! state at the synced block) and `POST /query` (body: SCALE
//! `QueryRequest { contract, envelope }`, the envelope sealed to this
//! worker's X25519 key; answer `{"envelope": "0x…", "block": n}`, the
//! response sealed back to the query's ephemeral key). Queries and state
//! reads are refused while stale or not caught up; queries are rate limited
//! per client address (429).
//!
//! Every response is JSON, signed by the identity key: header
//! `x-umbra-signature` is sr25519 over `RESPONSE_CONTEXT ‖ BLAKE2-256(body)`,
//! `x-umbra-identity` names the key. Errors are `{"error": "..."}` with a 4xx
//! status and change nothing.

use std::{
    convert::Infallible,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parity_scale_codec::{Decode, Encode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use umbra_primitives::{
    header::Header,
    sync::{GenesisAnchor, StorageChanges},
    BlockNumber,
};
use umbra_runtime::modules::registry::WorkerFeatures;
use umbra_tee::Platform;

use crate::{
    checkpoint,
    core::{Config, Core},
    Error,
};

/// Domain separation of response signatures.
pub const RESPONSE_CONTEXT: &[u8] = b"umbra/pruntime/response/v1";
/// Largest private request body (state loads, block batches).
pub const MAX_PRIVATE_BODY: usize = 256 << 20;
/// Largest public request body.
pub const MAX_PUBLIC_BODY: usize = 64 << 10;
/// The version string in `info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `/sync_headers` body.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct HeadersRequest {
    /// Consecutive headers.
    pub headers: Vec<Header>,
    /// Justification of the last one.
    pub justification: Vec<u8>,
    /// The relayer's view of the chain's finalized head.
    pub chain_head: BlockNumber,
}

/// `/load_state` body: the block and every key-value of its state.
pub type LoadStateRequest = (BlockNumber, Vec<(Vec<u8>, Vec<u8>)>);

/// The shell's settings.
pub struct Settings {
    /// Where sealed files live.
    pub data_dir: PathBuf,
    /// Core behaviour.
    pub config: Config,
    /// Checkpoint every this many blocks.
    pub checkpoint_interval: BlockNumber,
    /// Refuse queries after this long without a new finalized block.
    pub max_staleness: Duration,
    /// Hardware the worker offers.
    pub features: WorkerFeatures,
    /// Operator account in registrations.
    pub operator: Option<umbra_primitives::AccountId32>,
    /// Queries per second each client address may send (burst: twice).
    pub query_rate: u32,
}

/// A token bucket per client address (queries), in thousandths of a
/// query.
struct RateLimiter {
    rate: u32,
    buckets: std::collections::HashMap<std::net::IpAddr, (u64, Instant)>,
}

/// Most addresses tracked; full buckets are dropped beyond it.
const MAX_TRACKED_CLIENTS: usize = 10_000;

impl RateLimiter {
    fn allow(&mut self, ip: std::net::IpAddr, now: Instant) -> bool {
        let rate = u64::from(self.rate.max(1));
        // `rate` queries per second = `rate` thousandths per millisecond.
        let burst = 2 * rate * 1000;
        let refill = |at: Instant| (now.saturating_duration_since(at).as_millis() as u64).saturating_mul(rate);
        if self.buckets.len() >= MAX_TRACKED_CLIENTS && !self.buckets.contains_key(&ip) {
            self.buckets.retain(|_, (tokens, at)| tokens.saturating_add(refill(*at)) < burst);
            // Still full of active clients: a new address waits (memory
            // stays bounded whatever the number of addresses).
            if self.buckets.len() >= MAX_TRACKED_CLIENTS {
                return false;
            }
        }
        let (tokens, at) = self.buckets.entry(ip).or_insert((burst, now));
        let gained = refill(*at);
        if gained > 0 {
            *tokens = tokens.saturating_add(gained).min(burst);
            *at = now;
        }
        if *tokens >= 1000 {
            *tokens -= 1000;
            true
        } else {
            false
        }
    }
}

/// The monotonic clock of the shell (staleness and rate limits only; the
/// core never sees it).
fn monotonic_now() -> Instant {
    // The one clock read of pRuntime: staleness is wall time by design
    // (03-pruntime.md), outside every deterministic path.
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

struct Shell {
    core: Core,
    platform: Arc<dyn Platform>,
    settings: Settings,
    last_progress: Instant,
    last_checkpoint: BlockNumber,
    limiter: Arc<Mutex<RateLimiter>>,
}

/// A running pRuntime.
pub struct Pruntime {
    shell: Arc<Mutex<Shell>>,
}

impl Pruntime {
    /// Opens pRuntime in `settings.data_dir`: the sealed identity (created
    /// on first start) and the newest valid checkpoint.
    pub fn open(platform: Arc<dyn Platform>, settings: Settings) -> Result<Self, Error> {
        std::fs::create_dir_all(&settings.data_dir)
            .map_err(|e| Error::Io(format!("{}: {e}", settings.data_dir.display())))?;
        let (identity, fresh) = checkpoint::load_or_create_identity(platform.as_ref(), &settings.data_dir)?;
        let public = identity.public();
        tracing::info!(identity = %hex::encode(public.0), fresh, "identity {}", if fresh { "generated and sealed" } else { "unsealed" });
        let restored = checkpoint::restore(platform.as_ref(), &settings.data_dir, &settings.config, || {
            checkpoint::load_or_create_identity(platform.as_ref(), &settings.data_dir).map(|(i, _)| i)
        })?;
        let (mut core, last_checkpoint) = match restored {
            Some((core, block)) => {
                tracing::info!(block, "resumed from checkpoint; not caught up until re-synced");
                (core, block)
            }
            None => (Core::new(settings.config.clone(), identity), 0),
        };
        if let Some(secrets) = checkpoint::load_secrets(platform.as_ref(), &settings.data_dir)? {
            core.merge_secrets(&secrets);
        }
        if core.identity().public() != public {
            return Err(Error::Internal("identity changed while opening".into()));
        }
        tracing::warn!("{}", platform.banner());
        let settings_rate = settings.query_rate;
        Ok(Self {
            shell: Arc::new(Mutex::new(Shell {
                core,
                platform,
                settings,
                last_progress: monotonic_now(),
                last_checkpoint,
                limiter: Arc::new(Mutex::new(RateLimiter {
                    rate: settings_rate,
                    buckets: std::collections::HashMap::new(),
                })),
            })),
        })
    }

    /// Serves the private API on `private` and the public one on `public`;
    /// returns the bound addresses.
    pub async fn serve(
        self,
        private: SocketAddr,
        public: SocketAddr,
    ) -> Result<(SocketAddr, SocketAddr, tokio::task::JoinHandle<()>), Error> {
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr).await.map_err(|e| Error::Io(format!("listen on {addr}: {e}")))
        };
        let private_listener = bind(private).await?;
        let public_listener = bind(public).await?;
        let local = |l: &TcpListener| l.local_addr().map_err(|e| Error::Io(e.to_string()));
        let (private_addr, public_addr) = (local(&private_listener)?, local(&public_listener)?);
        let shell = self.shell;
        let task = tokio::spawn(async move {
            let a = accept_loop(private_listener, shell.clone(), true);
            let b = accept_loop(public_listener, shell, false);
            tokio::join!(a, b);
        });
        Ok((private_addr, public_addr, task))
    }
}

async fn accept_loop(listener: TcpListener, shell: Arc<Mutex<Shell>>, private: bool) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        let shell = shell.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, shell.clone(), private, peer.ip()));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

type Reply = Result<Value, (StatusCode, String)>;

fn refuse(e: Error) -> (StatusCode, String) {
    let status = match &e {
        Error::Internal(_) | Error::Io(_) | Error::Tee(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Stale { .. } | Error::NotCaughtUp | Error::NotInitialized | Error::NoState => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::BAD_REQUEST,
    };
    (status, e.to_string())
}

fn decode_body<T: Decode>(body: &[u8]) -> Result<T, Error> {
    let mut input = body;
    let value = T::decode(&mut input).map_err(|e| Error::BadRequest(format!("body does not decode: {e}")))?;
    if !input.is_empty() {
        return Err(Error::BadRequest(format!("{} trailing bytes", input.len())));
    }
    Ok(value)
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    shell: Arc<Mutex<Shell>>,
    private: bool,
    peer: std::net::IpAddr,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let limit = if private { MAX_PRIVATE_BODY } else { MAX_PUBLIC_BODY };
    let body = match Limited::new(req.into_body(), limit).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(respond(&shell, Err((StatusCode::PAYLOAD_TOO_LARGE, format!("body over {limit} bytes"))))),
    };
    let worker = shell.clone();
    let reply = tokio::task::spawn_blocking(move || {
        if method == Method::POST && path == "/query" {
            contract_query(&worker, peer, &body)
        } else {
            route(&worker, private, &method, &path, &query, &body)
        }
    })
    .await
    .unwrap_or_else(|e| Err((StatusCode::INTERNAL_SERVER_ERROR, format!("handler failed: {e}"))));
    Ok(respond(&shell, reply))
}

fn respond(shell: &Arc<Mutex<Shell>>, reply: Reply) -> Response<Full<Bytes>> {
    let (status, value) = match reply {
        Ok(v) => (StatusCode::OK, v),
        Err((status, message)) => (status, json!({ "error": message })),
    };
    let body = serde_json::to_vec(&value).unwrap_or_default();
    let mut builder = Response::builder().status(status).header("content-type", "application/json");
    if let Ok(shell) = shell.lock() {
        let mut message = RESPONSE_CONTEXT.to_vec();
        message.extend_from_slice(&umbra_crypto::hashing::blake2_256(&body));
        let identity = &shell.core.identity().signing;
        builder = builder
            .header("x-umbra-identity", format!("0x{}", hex::encode(identity.public().0)))
            .header("x-umbra-signature", format!("0x{}", hex::encode(identity.sign_deterministic(&message).0)));
    }
    builder.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn route(shell: &Arc<Mutex<Shell>>, private: bool, method: &Method, path: &str, query: &str, body: &[u8]) -> Reply {
    let mut shell = shell.lock().map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "state lock poisoned".to_string()))?;
    let shell = &mut *shell;
    match (private, method, path) {
        (true, &Method::POST, "/init") => {
            let anchor: GenesisAnchor = decode_body(body).map_err(refuse)?;
            shell.core.init(&anchor).map_err(refuse)?;
            shell.last_progress = monotonic_now();
            Ok(status_json(shell))
        }
        (true, &Method::POST, "/sync_headers") => {
            let request: HeadersRequest = decode_body(body).map_err(refuse)?;
            let imported = shell
                .core
                .sync_headers(&request.headers, &request.justification, request.chain_head)
                .map_err(refuse)?;
            shell.last_progress = monotonic_now();
            Ok(
                json!({ "from": imported.from, "to": imported.to, "hash": crate::hex_h256(&imported.hash), "new_set_id": imported.new_set_id }),
            )
        }
        (true, &Method::POST, "/load_state") => {
            let (number, pairs): LoadStateRequest = decode_body(body).map_err(refuse)?;
            shell.core.load_state(number, pairs).map_err(refuse)?;
            shell.last_progress = monotonic_now();
            checkpoint_if_due(shell, true);
            Ok(status_json(shell))
        }
        (true, &Method::POST, "/dispatch_blocks") => {
            let blocks: Vec<(BlockNumber, StorageChanges)> = decode_body(body).map_err(refuse)?;
            let mut entropy = [0u8; 32];
            shell.platform.random(&mut entropy).map_err(|e| refuse(e.into()))?;
            shell.core.set_entropy(entropy);
            let result = shell.core.dispatch_blocks(&blocks);
            if shell.core.take_secrets_dirty() {
                // Sealed before anything derived from them can leave.
                checkpoint::save_secrets(shell.platform.as_ref(), &shell.settings.data_dir, &shell.core)
                    .map_err(refuse)?;
            }
            if !matches!(result, Ok(0) | Err(Error::Dispatch { applied: 0, .. })) {
                shell.last_progress = monotonic_now();
                checkpoint_if_due(shell, false);
            }
            let applied = result.map_err(refuse)?;
            Ok(json!({ "applied": applied, "synced_block": shell.core.synced().map(|(_, n)| n) }))
        }
        (true, &Method::GET, "/egress") => {
            let messages: Vec<String> =
                shell.core.egress().iter().map(|m| format!("0x{}", hex::encode(m.encode()))).collect();
            Ok(json!({ "messages": messages }))
        }
        (true, &Method::GET, "/registration") => {
            let info = shell
                .core
                .registration_info(shell.platform.kind(), shell.settings.features, shell.settings.operator)
                .map_err(refuse)?;
            let mut report_data = [0u8; 64];
            report_data[..32].copy_from_slice(&info.binding());
            let evidence = shell.platform.attest(&report_data).map_err(|e| refuse(e.into()))?;
            Ok(json!({
                "info": format!("0x{}", hex::encode(info.encode())),
                "evidence": format!("0x{}", hex::encode(evidence.encode())),
                "platform": format!("{:?}", info.platform),
                "simulated": shell.platform.is_simulated(),
            }))
        }
        (true, &Method::GET, "/status") => Ok(status_json(shell)),
        (_, &Method::GET, "/info") => info_json(shell),
        (_, &Method::GET, "/state") => {
            check_fresh(shell).map_err(refuse)?;
            let key = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("key="))
                .ok_or_else(|| refuse(Error::BadRequest("missing key=0x…".into())))?;
            let key = hex::decode(key.trim_start_matches("0x"))
                .map_err(|e| refuse(Error::BadRequest(format!("key is not hex: {e}"))))?;
            let (hash, number) = shell.core.synced().ok_or_else(|| refuse(Error::NoState))?;
            let value = shell.core.replica().get(&key).map(|v| format!("0x{}", hex::encode(v)));
            Ok(
                json!({ "block": number, "hash": crate::hex_h256(&hash), "state_root": crate::hex_h256(&shell.core.replica().root()), "value": value }),
            )
        }
        _ => Err((StatusCode::NOT_FOUND, format!("no route {method} {path}"))),
    }
}

/// `POST /query`: snapshot under the lock, execute outside it.
fn contract_query(shell: &Arc<Mutex<Shell>>, peer: std::net::IpAddr, body: &[u8]) -> Reply {
    let lock_failed = || (StatusCode::INTERNAL_SERVER_ERROR, "state lock poisoned".to_string());
    let request: umbra_runtime::modules::contracts::wire::QueryRequest = decode_body(body).map_err(refuse)?;
    let (snapshot, secret, genesis, platform) = {
        let shell = shell.lock().map_err(|_| lock_failed())?;
        let allowed = shell.limiter.lock().map_err(|_| lock_failed())?.allow(peer, monotonic_now());
        if !allowed {
            return Err((
                StatusCode::TOO_MANY_REQUESTS,
                format!("more than {} queries per second", shell.settings.query_rate),
            ));
        }
        check_fresh(&shell).map_err(refuse)?;
        let (snapshot, secret, genesis) = shell.core.query_snapshot(&request.contract).map_err(|e| match e {
            Error::Query(crate::contracts::QueryError::NotHosted) => (StatusCode::NOT_FOUND, e.to_string()),
            e => refuse(e),
        })?;
        (snapshot, secret, genesis, shell.platform.clone())
    };
    let mut entropy = [0u8; 32];
    platform.random(&mut entropy).map_err(|e| refuse(e.into()))?;
    let envelope = crate::contracts::run_query(&snapshot, &secret, &genesis, &request.envelope, entropy)
        .map_err(|e| refuse(e.into()))?;
    Ok(json!({ "envelope": format!("0x{}", hex::encode(envelope)), "block": snapshot.block_number }))
}

fn check_fresh(shell: &Shell) -> Result<(), Error> {
    let idle = monotonic_now().saturating_duration_since(shell.last_progress);
    if idle > shell.settings.max_staleness {
        return Err(Error::Stale { seconds: idle.as_secs(), limit: shell.settings.max_staleness.as_secs() });
    }
    if !shell.core.caught_up() {
        return Err(Error::NotCaughtUp);
    }
    Ok(())
}

fn checkpoint_if_due(shell: &mut Shell, force: bool) {
    let Some((_, number)) = shell.core.synced() else { return };
    if !force && number < shell.last_checkpoint.saturating_add(shell.settings.checkpoint_interval) {
        return;
    }
    match checkpoint::save(shell.platform.as_ref(), &shell.settings.data_dir, &shell.core) {
        Ok(Some(block)) => {
            shell.last_checkpoint = block;
            tracing::debug!(block, "checkpoint sealed");
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "checkpoint failed"),
    }
}

fn status_json(shell: &Shell) -> Value {
    let mut value = serde_json::to_value(shell.core.status()).unwrap_or(Value::Null);
    let idle = monotonic_now().saturating_duration_since(shell.last_progress);
    if let Some(map) = value.as_object_mut() {
        map.insert("idle_seconds".into(), json!(idle.as_secs()));
        map.insert("stale".into(), json!(idle > shell.settings.max_staleness));
        map.insert("last_checkpoint".into(), json!(shell.last_checkpoint));
    }
    value
}

fn info_json(shell: &Shell) -> Reply {
    let status = shell.core.status();
    let measurement = shell.platform.measurement().map_err(|e| refuse(e.into()))?;
    let identity = shell.core.identity();
    // Evidence binding the current registration info, once caught up.
    let evidence = shell
        .core
        .registration_info(shell.platform.kind(), shell.settings.features, shell.settings.operator)
        .ok()
        .and_then(|info| {
            let mut report_data = [0u8; 64];
            report_data[..32].copy_from_slice(&info.binding());
            shell.platform.attest(&report_data).ok()
        })
        .map(|e| format!("0x{}", hex::encode(e.encode())));
    Ok(json!({
        "evidence": evidence,
        "version": VERSION,
        "identity": format!("0x{}", hex::encode(identity.public().0)),
        "ecdh_public": format!("0x{}", hex::encode(identity.ecdh.public().0)),
        "platform": format!("{:?}", shell.platform.kind()),
        "simulated": shell.platform.is_simulated(),
        "banner": shell.platform.banner(),
        "measurement": format!("0x{}", hex::encode(&measurement.0)),
        "genesis_hash": status.genesis_hash,
        "synced_block": status.synced_block,
        "headers_finalized": status.headers_finalized,
        "registered": status.registered,
        "caught_up": status.caught_up,
        "role": format!("{:?}", shell.core.config().role),
    }))
}

#[cfg(test)]
mod tests {
    use std::{
        net::{IpAddr, Ipv4Addr},
        time::Duration,
    };

    use super::*;

    #[test]
    fn rate_limiter_allows_a_burst_then_the_rate_per_address() {
        let mut limiter = RateLimiter { rate: 100, buckets: Default::default() };
        let a = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let t0 = monotonic_now();
        // A burst of twice the rate, then refusals.
        assert_eq!((0..250).filter(|_| limiter.allow(a, t0)).count(), 200);
        assert!(!limiter.allow(a, t0));
        // Another address has its own bucket.
        assert!(limiter.allow(b, t0));
        // 100 ms later: 10 more (100 per second).
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!((0..50).filter(|_| limiter.allow(a, t1)).count(), 10);
        // Never more than the burst, however long the pause.
        let t2 = t1 + Duration::from_secs(3600);
        assert_eq!((0..500).filter(|_| limiter.allow(a, t2)).count(), 200);
    }

    #[test]
    fn rate_limiter_bounds_the_addresses_it_tracks() {
        let mut limiter = RateLimiter { rate: 10, buckets: Default::default() };
        let t0 = monotonic_now();
        for i in 0..MAX_TRACKED_CLIENTS as u32 {
            assert!(limiter.allow(IpAddr::V4(Ipv4Addr::from(i)), t0));
        }
        // Full of active clients: a new address is refused, known ones not.
        let newcomer = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        assert!(!limiter.allow(newcomer, t0));
        assert!(limiter.allow(IpAddr::V4(Ipv4Addr::from(7)), t0));
        assert_eq!(limiter.buckets.len(), MAX_TRACKED_CLIENTS);
        // Once their buckets refill, idle clients are forgotten.
        let later = t0 + Duration::from_secs(10);
        assert!(limiter.allow(newcomer, later));
        assert!(limiter.buckets.len() < 10);
    }
}

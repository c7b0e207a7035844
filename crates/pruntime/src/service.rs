//! The HTTP shell over the core: the private API (the relayer's; bind it to
//! loopback) and the public API (users), as typed in `umbra_protocol::api`.
//!
//! Every response is JSON, signed by the identity key: header
//! `x-umbra-signature` is sr25519 over `RESPONSE_CONTEXT ‖ BLAKE2-256(body)`,
//! `x-umbra-identity` names the key. Errors are `{"error": "..."}` with a
//! 4xx/5xx status and change nothing.
//!
//! Limits: a header must arrive within [`HEADER_TIMEOUT`] and a body within
//! [`BODY_TIMEOUT`]; bodies are bounded ([`MAX_PRIVATE_BODY`],
//! [`MAX_PUBLIC_BODY`]); at most `max_connections` connections per API are
//! served at once (further ones wait in the kernel's backlog); accept
//! errors back off. The public API — `/info` (an attestation renewed at most
//! every `info_refresh`), `/state` and `/query` — is rate limited per client
//! address; queries and state reads are refused while stale or not caught
//! up.
//!
//! Locks: the core is locked only by the private API (one relayer); after
//! every private call the shell publishes the core's [`PublicView`], from
//! which `/query`, `/info` and `/status` are served, so they keep answering
//! while blocks (and their commands) execute. `/state` reads the replica and
//! waits for the core. Queries also have a wall-clock deadline (the VM's
//! epoch, ticked every [`TICK`]).

use std::{
    convert::Infallible,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use parity_scale_codec::{Decode, Encode};
use serde::Serialize;
use tokio::net::TcpListener;
use umbra_crypto::sr25519;
use umbra_primitives::{sync::GenesisAnchor, AccountId32, BlockNumber};
use umbra_protocol::{
    api::{self, ErrorBody},
    wire, IDENTITY_HEADER, MAX_EGRESS_RESPONSE, SIGNATURE_HEADER,
};
pub use umbra_protocol::{MAX_PRIVATE_BODY, MAX_PUBLIC_BODY, RESPONSE_CONTEXT};
use umbra_pruntime_core::{
    contracts::{run_query, QueryError, QueryReplayGuard},
    core::{Config, Core, Effects, PublicView},
};
use umbra_runtime::modules::registry::WorkerFeatures;
use umbra_tee::Platform;

use crate::{checkpoint, Error};

/// The version string in `info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// A request's headers must arrive within this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's body must arrive within this (private bodies are large).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(120);

/// The shell's settings.
pub struct Settings {
    /// Where sealed files live.
    pub data_dir: PathBuf,
    /// Core behaviour.
    pub config: Config,
    /// Checkpoint every this many blocks.
    pub checkpoint_interval: BlockNumber,
    /// Refuse queries after this long without verified finality progress.
    pub max_staleness: Duration,
    /// Hardware the worker offers.
    pub features: WorkerFeatures,
    /// Operator account in registrations.
    pub operator: Option<AccountId32>,
    /// Public requests per second each client address may send (burst:
    /// twice).
    pub query_rate: u32,
    /// `/info` renews its attestation at most this often.
    pub info_refresh: Duration,
    /// Connections served at once per API.
    pub max_connections: usize,
    /// A query running longer than this traps.
    pub query_deadline: Duration,
    /// A request's headers must arrive within this ([`HEADER_TIMEOUT`]).
    pub header_timeout: Duration,
}

/// The VM epoch tick (query deadlines are multiples of it).
pub const TICK: Duration = Duration::from_millis(10);

/// A token bucket per client address, in thousandths of a request.
struct RateLimiter {
    rate: u32,
    buckets: std::collections::HashMap<std::net::IpAddr, (u64, Instant)>,
}

/// Most addresses tracked; full buckets are dropped beyond it.
const MAX_TRACKED_CLIENTS: usize = 10_000;

impl RateLimiter {
    fn allow(&mut self, ip: std::net::IpAddr, now: Instant) -> bool {
        let rate = u64::from(self.rate.max(1));
        // `rate` requests per second = `rate` thousandths per millisecond.
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

/// The monotonic clock of the shell (staleness, rate limits, the info
/// cache; the core never sees it).
fn monotonic_now() -> Instant {
    // The one clock read of pRuntime: staleness is wall time by design
    // (03-pruntime.md), outside every deterministic path.
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

/// The core and what only the private API changes.
struct Shell {
    core: Core,
    platform: Arc<dyn Platform>,
    settings: Settings,
}

/// The shell's bookkeeping, read by every API without the core's lock.
struct Clock {
    /// When verified finality last advanced (or the process started).
    last_progress: Instant,
    last_checkpoint: BlockNumber,
    /// Why the last checkpoint failed; egress is withheld while set.
    checkpoint_error: Option<String>,
    /// Why sealing changed secrets failed; egress is withheld while set.
    seal_error: Option<String>,
}

/// A running pRuntime.
pub struct Pruntime {
    api: Arc<Api>,
    max_connections: usize,
    header_timeout: Duration,
}

/// What every handler shares.
struct Api {
    shell: Mutex<Shell>,
    clock: Mutex<Clock>,
    published: Mutex<Arc<PublicView>>,
    limiter: Mutex<RateLimiter>,
    /// Query nonces answered within their windows.
    queries: Mutex<QueryReplayGuard>,
    /// The identity key again, for signing responses without the core.
    signer: sr25519::Pair,
    platform: Arc<dyn Platform>,
    features: WorkerFeatures,
    operator: Option<AccountId32>,
    max_staleness: Duration,
    info_refresh: Duration,
    deadline_ticks: u64,
    info_cache: Mutex<Option<(Instant, Option<BlockNumber>, api::Info)>>,
    vm: Option<Arc<umbra_vm::Vm>>,
}

/// Most query nonces remembered at once (16 bytes each, plus the index).
pub const MAX_REMEMBERED_QUERIES: usize = 1_000_000;

impl Pruntime {
    /// Opens pRuntime in `settings.data_dir`: the sealed identity (created
    /// on first start), the sealed secrets and the newest valid checkpoint
    /// consistent with them. A secrets file that does not open is an error:
    /// starting without it would drop the genesis pin.
    pub fn open(platform: Arc<dyn Platform>, settings: Settings) -> Result<Self, Error> {
        std::fs::create_dir_all(&settings.data_dir)
            .map_err(|e| Error::Io(format!("{}: {e}", settings.data_dir.display())))?;
        let dir = settings.data_dir.clone();
        let (identity, fresh) = checkpoint::load_or_create_identity(platform.as_ref(), &dir)?;
        let public = identity.public();
        tracing::info!(identity = %hex::encode(public.0), fresh, "identity {}", if fresh { "generated and sealed" } else { "unsealed" });
        let sealed = checkpoint::load_secrets(platform.as_ref(), &dir)?;
        if let Some(s) = &sealed {
            tracing::info!(genesis = ?s.pin.genesis_hash, "sealed secrets pinned to their genesis");
        }
        let restored = checkpoint::restore(
            platform.as_ref(),
            &dir,
            &settings.config,
            || checkpoint::load_or_create_identity(platform.as_ref(), &dir).map(|(i, _)| i),
            sealed.as_ref(),
        )?;
        let (core, effects, last_checkpoint) = match restored {
            Some((core, effects, block)) => {
                tracing::info!(block, "resumed from checkpoint; nothing leaves before verified finality advances");
                (core, effects, block)
            }
            None => (Core::new(settings.config.clone(), identity, sealed), Effects::default(), 0),
        };
        if core.identity().public() != public {
            return Err(Error::Internal("identity changed while opening".into()));
        }
        let (signer, _) = checkpoint::load_or_create_identity(platform.as_ref(), &dir)?;
        tracing::warn!("{}", platform.banner());
        let max_connections = settings.max_connections.max(1);
        let deadline_ticks = (settings.query_deadline.as_millis() / TICK.as_millis()).max(1) as u64;
        let header_timeout = settings.header_timeout;
        let api = Api {
            clock: Mutex::new(Clock {
                last_progress: monotonic_now(),
                last_checkpoint,
                checkpoint_error: None,
                seal_error: None,
            }),
            published: Mutex::new(Arc::new(core.public_view())),
            limiter: Mutex::new(RateLimiter { rate: settings.query_rate, buckets: Default::default() }),
            queries: Mutex::new(QueryReplayGuard::new(MAX_REMEMBERED_QUERIES)),
            signer: signer.signing,
            platform: platform.clone(),
            features: settings.features,
            operator: settings.operator,
            max_staleness: settings.max_staleness,
            info_refresh: settings.info_refresh,
            deadline_ticks,
            info_cache: Mutex::new(None),
            vm: core.vm(),
            shell: Mutex::new(Shell { core, platform, settings }),
        };
        // A restored checkpoint may hold more than the secrets file: seal
        // the union before anything else.
        if let Ok(mut shell) = api.shell.lock() {
            api.absorb(&mut shell, effects);
        }
        Ok(Self { api: Arc::new(api), max_connections, header_timeout })
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
        let api = self.api;
        let max = self.max_connections;
        let header_timeout = self.header_timeout;
        // The query deadline clock.
        if let Some(vm) = api.vm.clone() {
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(TICK);
                loop {
                    ticks.tick().await;
                    vm.tick();
                }
            });
        }
        let task = tokio::spawn(async move {
            let a = accept_loop(private_listener, api.clone(), true, max, header_timeout);
            let b = accept_loop(public_listener, api, false, max, header_timeout);
            tokio::join!(a, b);
        });
        Ok((private_addr, public_addr, task))
    }
}

async fn accept_loop(
    listener: TcpListener,
    api: Arc<Api>,
    private: bool,
    max_connections: usize,
    header_timeout: Duration,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let mut backoff = Duration::from_millis(10);
    loop {
        // At most `max_connections` served at once; the rest wait.
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => {
                backoff = Duration::from_millis(10);
                accepted
            }
            Err(e) => {
                // Out of file descriptors, say: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed; backing off");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let api = api.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, api.clone(), private, peer.ip()));
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

type Reply = Result<Vec<u8>, (StatusCode, String)>;

fn json<T: Serialize>(value: &T) -> Reply {
    serde_json::to_vec(value).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

fn refuse(e: Error) -> (StatusCode, String) {
    use umbra_pruntime_core::Error as C;
    let status = match &e {
        Error::Internal(_) | Error::Io(_) | Error::Tee(_) | Error::Sealed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Stale { .. } | Error::CheckpointFailed(_) | Error::SealFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Core(C::NotCaughtUp | C::NotInitialized | C::NoState) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Core(C::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Core(C::Query(QueryError::NotHosted)) => StatusCode::NOT_FOUND,
        Error::Core(C::Query(QueryError::Replayed)) => StatusCode::CONFLICT,
        Error::Core(C::Query(QueryError::Busy)) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, e.to_string())
}

fn core_refusal(e: umbra_pruntime_core::Error) -> (StatusCode, String) {
    refuse(Error::Core(e))
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
    api: Arc<Api>,
    private: bool,
    peer: std::net::IpAddr,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let limit = if private { MAX_PRIVATE_BODY } else { MAX_PUBLIC_BODY };
    let collected = tokio::time::timeout(BODY_TIMEOUT, Limited::new(req.into_body(), limit).collect()).await;
    let body = match collected {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(_)) => {
            let error = format!("body over {limit} bytes or broken");
            return Ok(respond(&api, Err((StatusCode::PAYLOAD_TOO_LARGE, error))));
        }
        Err(_) => {
            let error = format!("body not received within {} s", BODY_TIMEOUT.as_secs());
            return Ok(respond(&api, Err((StatusCode::REQUEST_TIMEOUT, error))));
        }
    };
    // The public API is rate limited per client address, before any work.
    if !private {
        let allowed = api.limiter.lock().map(|mut l| l.allow(peer, monotonic_now())).unwrap_or(false);
        if !allowed {
            let error = "too many requests from this address".to_string();
            return Ok(respond(&api, Err((StatusCode::TOO_MANY_REQUESTS, error))));
        }
    }
    let worker = api.clone();
    let reply = tokio::task::spawn_blocking(move || worker.route(private, &method, &path, &query, &body))
        .await
        .unwrap_or_else(|e| Err((StatusCode::INTERNAL_SERVER_ERROR, format!("handler failed: {e}"))));
    Ok(respond(&api, reply))
}

fn respond(api: &Api, reply: Reply) -> Response<Full<Bytes>> {
    let (status, body) = match reply {
        Ok(body) => (StatusCode::OK, body),
        Err((status, message)) => (status, serde_json::to_vec(&ErrorBody { error: message }).unwrap_or_default()),
    };
    let signature = api.signer.sign_deterministic(&umbra_protocol::response_message(&body));
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header(IDENTITY_HEADER, format!("0x{}", hex::encode(api.signer.public().0)))
        .header(SIGNATURE_HEADER, format!("0x{}", hex::encode(signature.0)))
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn lock_failed() -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, "state lock poisoned".to_string())
}

impl Api {
    /// Takes what a core entry point produced: verified finality progress
    /// resets the staleness clock; changed secrets are sealed and confirmed
    /// now (a failure keeps egress withheld and shows in the status; the
    /// next entry point retries).
    fn absorb(&self, shell: &mut Shell, effects: Effects) {
        for signed in &effects.queued {
            tracing::debug!(
                topic = %String::from_utf8_lossy(&signed.message.destination),
                sequence = signed.sequence,
                "egress queued"
            );
        }
        let Ok(mut clock) = self.clock.lock() else { return };
        if effects.finality_advanced {
            clock.last_progress = monotonic_now();
        }
        // The core offers a pending seal again at every entry point, and
        // releases no egress until it is confirmed.
        let Some(seal) = effects.seal else { return };
        match checkpoint::save_secrets(shell.platform.as_ref(), &shell.settings.data_dir, &seal.plaintext) {
            Ok(()) => {
                shell.core.confirm_sealed(seal.version);
                if clock.seal_error.take().is_some() {
                    tracing::info!("changed secrets sealed; egress resumes");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "sealing changed secrets failed; egress withheld");
                clock.seal_error = Some(e.to_string());
            }
        }
    }

    /// Publishes the core's public view (after every private call).
    fn publish(&self, shell: &Shell) {
        if let Ok(mut published) = self.published.lock() {
            *published = Arc::new(shell.core.public_view());
        }
    }

    fn view(&self) -> Result<Arc<PublicView>, (StatusCode, String)> {
        self.published.lock().map(|v| v.clone()).map_err(|_| lock_failed())
    }

    /// Checkpoints when due — every `checkpoint_interval` blocks, and at
    /// once after a failure — and remembers a failure (egress waits).
    fn checkpoint_if_due(&self, shell: &Shell, force: bool) {
        let Some((_, number)) = shell.core.synced() else { return };
        let Ok(mut clock) = self.clock.lock() else { return };
        let due = number >= clock.last_checkpoint.saturating_add(shell.settings.checkpoint_interval);
        if !force && !due && clock.checkpoint_error.is_none() {
            return;
        }
        match checkpoint::save(shell.platform.as_ref(), &shell.settings.data_dir, &shell.core) {
            Ok(Some(saved)) => {
                clock.last_checkpoint = saved.block;
                if clock.checkpoint_error.take().is_some() {
                    tracing::info!(block = saved.block, "checkpoint succeeded again; egress resumes");
                }
                tracing::debug!(block = saved.block, chunks = saved.chunks, "checkpoint sealed");
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "checkpoint failed; egress withheld until one succeeds");
                clock.checkpoint_error = Some(e.to_string());
            }
        }
    }

    /// Refuses while stale (no verified finality progress within the
    /// limit) or not caught up.
    fn check_fresh(&self, view: &PublicView) -> Result<(), Error> {
        let idle =
            self.clock.lock().map(|c| monotonic_now().saturating_duration_since(c.last_progress)).unwrap_or_default();
        if idle > self.max_staleness {
            return Err(Error::Stale { seconds: idle.as_secs(), limit: self.max_staleness.as_secs() });
        }
        if !view.caught_up() {
            return Err(Error::Core(umbra_pruntime_core::Error::NotCaughtUp));
        }
        Ok(())
    }

    fn status(&self) -> Result<api::Status, (StatusCode, String)> {
        let view = self.view()?;
        let clock = self.clock.lock().map_err(|_| lock_failed())?;
        let idle = monotonic_now().saturating_duration_since(clock.last_progress);
        Ok(api::Status {
            core: view.status.clone(),
            idle_seconds: idle.as_secs(),
            stale: idle > self.max_staleness,
            last_checkpoint: clock.last_checkpoint,
            checkpoint_error: clock.checkpoint_error.clone(),
            seal_error: clock.seal_error.clone(),
        })
    }

    fn egress(&self, shell: &Shell) -> Result<api::Egress, Error> {
        if let Ok(clock) = self.clock.lock() {
            if let Some(e) = &clock.checkpoint_error {
                return Err(Error::CheckpointFailed(e.clone()));
            }
            if let Some(e) = &clock.seal_error {
                return Err(Error::SealFailed(e.clone()));
            }
        }
        let mut messages = Vec::new();
        let mut bytes = 0usize;
        let mut truncated = false;
        for message in shell.core.egress() {
            let encoded = message.encode();
            if bytes.saturating_add(encoded.len()) > MAX_EGRESS_RESPONSE && !messages.is_empty() {
                truncated = true;
                break;
            }
            bytes += encoded.len();
            messages.push(encoded);
        }
        Ok(api::Egress { messages, truncated })
    }

    /// `/info`: built from the published view, its attestation renewed at
    /// most every `info_refresh` (and when the synced block changed).
    fn info(&self) -> Result<api::Info, Error> {
        let view = self.view().map_err(|(_, e)| Error::Internal(e))?;
        let synced = view.synced().map(|(_, n)| n);
        let now = monotonic_now();
        let mut cache = self.info_cache.lock().map_err(|_| Error::Internal("info cache poisoned".into()))?;
        if let Some((at, block, info)) = &*cache {
            if now.saturating_duration_since(*at) < self.info_refresh && *block == synced {
                return Ok(info.clone());
            }
        }
        let status = &view.status;
        let measurement = self.platform.measurement()?;
        // Evidence binding the current registration info, once caught up.
        let evidence = view
            .registration_info(self.platform.kind(), self.features, self.operator)
            .ok()
            .and_then(|info| {
                let mut report_data = [0u8; 64];
                report_data[..32].copy_from_slice(&info.binding());
                self.platform.attest(&report_data).ok()
            })
            .map(|e| e.encode());
        let role = self.shell.lock().map(|s| format!("{:?}", s.core.config().role)).unwrap_or_default();
        let info = api::Info {
            evidence,
            version: VERSION.to_string(),
            identity: self.signer.public().0,
            ecdh_public: view.ecdh_public(),
            platform: format!("{:?}", self.platform.kind()),
            simulated: self.platform.is_simulated(),
            banner: self.platform.banner().to_string(),
            measurement: measurement.0.clone(),
            genesis_hash: status.genesis_hash,
            synced_block: status.synced_block,
            headers_finalized: status.headers_finalized,
            registered: status.registered,
            caught_up: status.caught_up,
            role,
        };
        *cache = Some((now, synced, info.clone()));
        Ok(info)
    }

    fn route(&self, private: bool, method: &Method, path: &str, query: &str, body: &[u8]) -> Reply {
        match (private, method, path) {
            (_, &Method::GET, "/status") if private => json(&self.status()?),
            (_, &Method::GET, "/info") => json(&self.info().map_err(refuse)?),
            (_, &Method::POST, "/query") => self.contract_query(body),
            (true, _, _) => self.private_route(method, path, body),
            (false, &Method::GET, "/state") => self.state(query),
            _ => Err((StatusCode::NOT_FOUND, format!("no route {method} {path}"))),
        }
    }

    /// The private API: the only users of the core's lock.
    fn private_route(&self, method: &Method, path: &str, body: &[u8]) -> Reply {
        let mut shell = self.shell.lock().map_err(|_| lock_failed())?;
        let shell = &mut *shell;
        let reply = match (method, path) {
            (&Method::POST, "/init") => {
                let anchor: GenesisAnchor = decode_body(body).map_err(refuse)?;
                let effects = shell.core.init(&anchor).map_err(core_refusal)?;
                self.absorb(shell, effects);
                Ok(None)
            }
            (&Method::POST, "/sync_headers") => {
                let request: api::HeadersRequest = decode_body(body).map_err(refuse)?;
                let (imported, effects) =
                    shell.core.sync_headers(&request.headers, &request.justification).map_err(core_refusal)?;
                self.absorb(shell, effects);
                json(&api::HeadersImported {
                    from: imported.from,
                    to: imported.to,
                    hash: imported.hash,
                    new_set_id: imported.new_set_id,
                })
                .map(Some)
            }
            (&Method::POST, "/load_state") => {
                let request: api::LoadStateRequest = decode_body(body).map_err(refuse)?;
                let effects = shell.core.load_state(request.block, request.pairs).map_err(core_refusal)?;
                self.absorb(shell, effects);
                self.checkpoint_if_due(shell, true);
                Ok(None)
            }
            (&Method::POST, "/dispatch_blocks") => {
                let request: api::DispatchRequest = decode_body(body).map_err(refuse)?;
                let mut entropy = [0u8; 32];
                shell.platform.random(&mut entropy).map_err(|e| refuse(e.into()))?;
                let (result, effects) = shell.core.dispatch_blocks(&request.blocks, entropy);
                // Sealed before anything derived from the secrets can leave.
                self.absorb(shell, effects);
                if !matches!(result, Ok(0) | Err(umbra_pruntime_core::Error::Dispatch { applied: 0, .. })) {
                    self.checkpoint_if_due(shell, false);
                }
                self.publish(shell);
                let applied = result.map_err(core_refusal)?;
                json(&api::Dispatched { applied, synced_block: shell.core.synced().map(|(_, n)| n) }).map(Some)
            }
            (&Method::GET, "/egress") => json(&self.egress(shell).map_err(refuse)?).map(Some),
            (&Method::GET, "/registration") => {
                let info = shell
                    .core
                    .registration_info(shell.platform.kind(), self.features, self.operator)
                    .map_err(core_refusal)?;
                let mut report_data = [0u8; 64];
                report_data[..32].copy_from_slice(&info.binding());
                let evidence = shell.platform.attest(&report_data).map_err(|e| refuse(e.into()))?;
                json(&api::Registration {
                    info: info.encode(),
                    evidence: evidence.encode(),
                    platform: format!("{:?}", info.platform),
                    simulated: shell.platform.is_simulated(),
                })
                .map(Some)
            }
            _ => Err((StatusCode::NOT_FOUND, format!("no route {method} {path}"))),
        };
        // Every private call may have changed what the public API serves.
        self.publish(shell);
        match reply? {
            Some(body) => Ok(body),
            None => json(&self.status()?),
        }
    }

    /// `GET /state?key=0x…`: a value of the replica (waits for the core).
    fn state(&self, query: &str) -> Reply {
        let view = self.view()?;
        self.check_fresh(&view).map_err(refuse)?;
        let key = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("key="))
            .ok_or_else(|| refuse(Error::BadRequest("missing key=0x…".into())))?;
        let key = hex::decode(key.trim_start_matches("0x"))
            .map_err(|e| refuse(Error::BadRequest(format!("key is not hex: {e}"))))?;
        let shell = self.shell.lock().map_err(|_| lock_failed())?;
        let (hash, number) = shell.core.synced().ok_or_else(|| core_refusal(umbra_pruntime_core::Error::NoState))?;
        json(&api::StateValue {
            block: number,
            hash,
            state_root: shell.core.replica().root(),
            value: shell.core.replica().get(&key).map(<[u8]>::to_vec),
        })
    }

    /// `POST /query`: from the published view, never the core's lock, with
    /// the wall-clock deadline.
    fn contract_query(&self, body: &[u8]) -> Reply {
        let request: wire::QueryRequest = decode_body(body).map_err(refuse)?;
        let view = self.view()?;
        self.check_fresh(&view).map_err(refuse)?;
        let (snapshot, secret, genesis) = view.query_snapshot(&request.contract).map_err(core_refusal)?;
        let mut entropy = [0u8; 32];
        self.platform.random(&mut entropy).map_err(|e| refuse(e.into()))?;
        let block = snapshot.synced_block;
        let admit = |nonce: &[u8; 16], expires_at: BlockNumber| match self.queries.lock() {
            Ok(mut guard) => guard.admit(nonce, expires_at, block),
            Err(_) => Err(QueryError::Busy),
        };
        let responder = self.signer.public().0;
        let answer =
            run_query(&snapshot, &secret, &responder, &genesis, &request.envelope, entropy, self.deadline_ticks, admit)
                .map_err(|e| core_refusal(e.into()))?;
        json(&api::QueryReply { envelope: answer.envelope, salt: answer.salt, block: snapshot.block_number })
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

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

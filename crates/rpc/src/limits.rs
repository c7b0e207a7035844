//! What the server refuses before a method runs: heavy methods beyond a
//! per-connection rate, browser origins outside `--rpc-cors`, and `Host`
//! headers other than the node's own address on a local-only server (DNS
//! rebinding), as Substrate does.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Instant,
};

use jsonrpsee::{
    server::middleware::rpc::{Batch, BatchEntry, BatchEntryErr, Notification, Request, RpcServiceT},
    types::ErrorObject,
    MethodResponse,
};

/// Methods that read much state or do much work per call.
pub const HEAVY_METHODS: &[&str] = &[
    "umbra_getSyncBatch",
    "umbra_getStatePairs",
    "umbra_getStorageChanges",
    "state_getReadProof",
    "state_queryStorageAt",
    "state_getKeysPaged",
    "state_getKeysPagedAt",
    "state_call",
    "state_getMetadata",
    "grandpa_proveFinality",
    "chain_getBlock",
    "payment_queryInfo",
];

/// JSON-RPC error code of a call refused by the rate limit.
pub const RATE_LIMITED: i32 = -32029;

/// A token bucket (thousandths of a call) shared by one connection's calls.
struct Bucket {
    millis: u64,
    at: Instant,
}

fn now() -> Instant {
    // The server's own clock, for rate limiting only.
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

/// The per-connection limit of heavy calls: `per_second`, bursts of twice
/// that. One instance per connection (the middleware is built per
/// connection).
#[derive(Clone)]
pub struct HeavyLimit<S> {
    inner: S,
    per_second: u64,
    bucket: Arc<Mutex<Bucket>>,
}

impl<S> HeavyLimit<S> {
    /// Wraps `inner` with a fresh, full bucket.
    pub fn new(inner: S, per_second: u32) -> Self {
        let per_second = u64::from(per_second.max(1));
        Self { inner, per_second, bucket: Arc::new(Mutex::new(Bucket { millis: 2 * per_second * 1000, at: now() })) }
    }

    /// Takes one call's token if there is one.
    fn take(&self) -> bool {
        let Ok(mut bucket) = self.bucket.lock() else { return false };
        let now = now();
        let burst = 2 * self.per_second * 1000;
        let gained = (now.saturating_duration_since(bucket.at).as_millis() as u64).saturating_mul(self.per_second);
        if gained > 0 {
            bucket.millis = bucket.millis.saturating_add(gained).min(burst);
            bucket.at = now;
        }
        if bucket.millis >= 1000 {
            bucket.millis -= 1000;
            true
        } else {
            false
        }
    }

    fn refusal(&self, method: &str) -> ErrorObject<'static> {
        ErrorObject::owned(
            RATE_LIMITED,
            "Too many requests",
            Some(format!("{method}: more than {} heavy calls per second on this connection", self.per_second)),
        )
    }
}

impl<S> RpcServiceT for HeavyLimit<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type BatchResponse = MethodResponse;
    type NotificationResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let refused = (HEAVY_METHODS.contains(&request.method_name()) && !self.take())
            .then(|| self.refusal(request.method_name()));
        let inner = self.inner.clone();
        async move {
            match refused {
                Some(error) => MethodResponse::error(request.id, error),
                None => inner.call(request).await,
            }
        }
    }

    fn batch<'a>(&self, mut batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        // Each heavy call of a batch takes a token; those without one get
        // the refusal in place, the rest run.
        for entry in batch.iter_mut() {
            let refusal = match entry {
                Ok(BatchEntry::Call(request)) if HEAVY_METHODS.contains(&request.method_name()) && !self.take() => {
                    Some((request.id.clone().into_owned(), self.refusal(request.method_name())))
                }
                _ => None,
            };
            if let Some((id, error)) = refusal {
                *entry = Err(BatchEntryErr::new(id, error));
            }
        }
        self.inner.batch(batch)
    }

    fn notification<'a>(&self, n: Notification<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(n)
    }
}

/// Which browser origins may call (`--rpc-cors`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cors {
    /// Any origin (`all`; the default on development chains).
    All,
    /// These origins; a `*` port matches any port (`http://localhost:*`).
    List(Vec<String>),
}

impl Cors {
    /// Substrate's default outside development chains.
    pub fn default_list() -> Self {
        Cors::List(
            [
                "http://localhost:*",
                "http://127.0.0.1:*",
                "https://localhost:*",
                "https://127.0.0.1:*",
                "https://polkadot.js.org",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        )
    }

    /// Parses `all` or a comma-separated list of origins.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.trim() == "all" {
            return Ok(Cors::All);
        }
        let list: Vec<String> = s.split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect();
        for origin in &list {
            let ok = origin == "null" || origin.starts_with("http://") || origin.starts_with("https://");
            if !ok || origin.len() > 256 {
                return Err(format!("`{origin}` is not an origin (protocol://host[:port], or null)"));
            }
        }
        Ok(Cors::List(list))
    }

    /// Whether `origin` may call.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Cors::All => true,
            Cors::List(list) => list.iter().any(|allowed| match allowed.strip_suffix(":*") {
                Some(base) => {
                    origin == base
                        || origin.strip_prefix(base).and_then(|rest| rest.strip_prefix(':')).is_some_and(|port| {
                            !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
                        })
                }
                None => origin == allowed,
            }),
        }
    }
}

/// The CORS layer of `cors`: preflights answered, `Access-Control-Allow-
/// Origin` set for allowed origins only (browsers refuse the rest).
pub fn cors_layer(cors: &Cors) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, Any, CorsLayer};
    let layer = CorsLayer::new().allow_methods([http::Method::POST, http::Method::GET]).allow_headers(Any);
    match cors {
        Cors::All => layer.allow_origin(Any),
        Cors::List(_) => {
            let cors = cors.clone();
            layer.allow_origin(AllowOrigin::predicate(move |origin: &http::HeaderValue, _| {
                origin.to_str().is_ok_and(|o| cors.allows(o))
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly_or_by_any_port() {
        let cors = Cors::default_list();
        assert!(cors.allows("http://localhost:3000"));
        assert!(cors.allows("http://localhost"));
        assert!(cors.allows("https://polkadot.js.org"));
        assert!(!cors.allows("http://localhost.evil.com"));
        assert!(!cors.allows("http://localhost:3000.evil.com"));
        assert!(!cors.allows("https://polkadot.js.org.evil.com"));
        assert!(!cors.allows("http://evil.com"));
        assert!(Cors::All.allows("http://evil.com"));
        assert_eq!(Cors::parse("all"), Ok(Cors::All));
        assert!(Cors::parse("ftp://x").is_err());
        assert_eq!(Cors::parse("http://a.b, null"), Ok(Cors::List(vec!["http://a.b".into(), "null".into()])));
    }
}

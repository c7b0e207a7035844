//! The typed pRuntime client: one kept-alive HTTP/1.1 connection, a
//! connect and a whole-request timeout, a bound on every response body,
//! and — given the worker's identity — a check of every response's
//! signature before anything in it is used.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Bytes, client::conn::http1::SendRequest, Method, Request};
use hyper_util::rt::TokioIo;
use parity_scale_codec::Encode;
use serde::de::DeserializeOwned;
use umbra_crypto::sr25519;
use umbra_primitives::sync::GenesisAnchor;
use umbra_runtime::modules::message_queue::SignedMessage;

use crate::{
    api::{self, ErrorBody},
    wire, Error, PrivateApi, RegistrationData, Result, IDENTITY_HEADER, MAX_PRIVATE_RESPONSE, MAX_PUBLIC_RESPONSE,
    SIGNATURE_HEADER,
};

/// How a client talks to pRuntime.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Connecting gives up after this.
    pub connect_timeout: Duration,
    /// A whole request (send and read the response) gives up after this.
    pub request_timeout: Duration,
    /// Largest response body read.
    pub max_response: usize,
    /// When set, every response must be signed by this identity.
    pub identity: Option<sr25519::Public>,
}

impl ClientOptions {
    /// For the private API: large bodies (state loads, block batches,
    /// egress), generous timeouts.
    pub fn private() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(300),
            max_response: MAX_PRIVATE_RESPONSE,
            identity: None,
        }
    }

    /// For the public API: small bodies, short timeouts.
    pub fn public() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_response: MAX_PUBLIC_RESPONSE,
            identity: None,
        }
    }
}

/// A response, with the signature header.
#[derive(Clone, Debug)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// `x-umbra-signature`, when present and well formed.
    pub signature: Option<[u8; 64]>,
    /// `x-umbra-identity`, when present and well formed.
    pub identity: Option<[u8; 32]>,
}

/// A pRuntime at one address (`host:port` or `http://host:port`).
pub struct PruntimeClient {
    addr: String,
    options: ClientOptions,
    connection: tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>,
}

fn header_bytes<const N: usize>(response: &hyper::Response<hyper::body::Incoming>, name: &str) -> Option<[u8; N]> {
    let value = response.headers().get(name)?.to_str().ok()?;
    hex::decode(value.strip_prefix("0x")?).ok()?.try_into().ok()
}

impl PruntimeClient {
    /// A client of `addr` with `options`.
    pub fn new(addr: &str, options: ClientOptions) -> Self {
        let addr = addr.trim_start_matches("http://").trim_end_matches('/').to_string();
        Self { addr, options, connection: tokio::sync::Mutex::new(None) }
    }

    /// A client of the private API at `addr`.
    pub fn private(addr: &str) -> Self {
        Self::new(addr, ClientOptions::private())
    }

    /// A client of the public API at `addr`.
    pub fn public(addr: &str) -> Self {
        Self::new(addr, ClientOptions::public())
    }

    /// Requires every response to be signed by `identity`.
    pub fn expecting(mut self, identity: sr25519::Public) -> Self {
        self.options.identity = Some(identity);
        self
    }

    /// The address (`host:port`).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    async fn connect(&self, path: &str) -> Result<SendRequest<Full<Bytes>>> {
        let transport = |message: String| Error::Transport { path: path.to_string(), message };
        let seconds = self.options.connect_timeout.as_secs();
        let stream = tokio::time::timeout(self.options.connect_timeout, tokio::net::TcpStream::connect(&self.addr))
            .await
            .map_err(|_| Error::Timeout { path: path.to_string(), seconds })?
            .map_err(|e| transport(format!("connect {}: {e}", self.addr)))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| transport(e.to_string()))?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// One request; the response unparsed (but bounded and, when an
    /// identity is expected, signature-checked).
    pub async fn request(&self, method: Method, path: &str, body: Vec<u8>) -> Result<RawResponse> {
        let seconds = self.options.request_timeout.as_secs();
        tokio::time::timeout(self.options.request_timeout, self.request_inner(method, path, body))
            .await
            .map_err(|_| Error::Timeout { path: path.to_string(), seconds })?
    }

    async fn request_inner(&self, method: Method, path: &str, body: Vec<u8>) -> Result<RawResponse> {
        let transport = |message: String| Error::Transport { path: path.to_string(), message };
        let mut slot = self.connection.lock().await;
        // A kept-alive connection the server closed is replaced before
        // anything is sent (never a resend after sending).
        let mut sender = match slot.take() {
            Some(mut cached) => match cached.ready().await {
                Ok(()) => cached,
                Err(_) => self.connect(path).await?,
            },
            None => self.connect(path).await?,
        };
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.addr)
            .header("content-type", "application/octet-stream")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| transport(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| transport(e.to_string()))?;
        let status = response.status().as_u16();
        let signature = header_bytes::<64>(&response, SIGNATURE_HEADER);
        let identity = header_bytes::<32>(&response, IDENTITY_HEADER);
        let max = self.options.max_response;
        let body = Limited::new(response.into_body(), max)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                    Error::TooLarge { path: path.to_string(), max }
                } else {
                    transport(e.to_string())
                }
            })?
            .to_bytes()
            .to_vec();
        *slot = Some(sender);
        drop(slot);
        if let Some(expected) = &self.options.identity {
            let valid = signature.is_some_and(|sig| crate::verify_response(&body, &sig, expected));
            if !valid {
                return Err(Error::BadSignature {
                    path: path.to_string(),
                    identity: format!("0x{}", hex::encode(expected.0)),
                });
            }
        }
        Ok(RawResponse { status, body, signature, identity })
    }

    /// One request, the JSON response parsed as `T` (errors as
    /// [`Error::Refused`]).
    pub async fn call<T: DeserializeOwned>(&self, method: Method, path: &str, body: Vec<u8>) -> Result<T> {
        let response = self.request(method, path, body).await?;
        parse(path, &response)
    }

    /// `GET /info` (public).
    pub async fn info(&self) -> Result<api::Info> {
        self.call(Method::GET, "/info", Vec::new()).await
    }

    /// `GET /state?key=0x…` (public).
    pub async fn state(&self, key: &[u8]) -> Result<api::StateValue> {
        self.call(Method::GET, &format!("/state?key=0x{}", hex::encode(key)), Vec::new()).await
    }

    /// `POST /query` (public).
    pub async fn query(&self, request: &wire::QueryRequest) -> Result<api::QueryReply> {
        self.call(Method::POST, "/query", request.encode()).await
    }
}

/// Parses a JSON response: `T` on 2xx, [`Error::Refused`] with pRuntime's
/// reason otherwise.
pub fn parse<T: DeserializeOwned>(path: &str, response: &RawResponse) -> Result<T> {
    let malformed = |message: String| Error::Malformed { path: path.to_string(), message };
    if !(200..300).contains(&response.status) {
        let message = serde_json::from_slice::<ErrorBody>(&response.body)
            .map(|e| e.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&response.body).into_owned());
        return Err(Error::Refused { path: path.to_string(), status: response.status, message });
    }
    serde_json::from_slice(&response.body).map_err(|e| malformed(e.to_string()))
}

impl PrivateApi for PruntimeClient {
    async fn status(&self) -> Result<api::Status> {
        self.call(Method::GET, "/status", Vec::new()).await
    }

    async fn init(&self, anchor: &GenesisAnchor) -> Result<api::Status> {
        self.call(Method::POST, "/init", anchor.encode()).await
    }

    async fn sync_headers(&self, request: &api::HeadersRequest) -> Result<api::HeadersImported> {
        self.call(Method::POST, "/sync_headers", request.encode()).await
    }

    async fn load_state(&self, request: &api::LoadStateRequest) -> Result<api::Status> {
        self.call(Method::POST, "/load_state", request.encode()).await
    }

    async fn dispatch_blocks(&self, request: &api::DispatchRequest) -> Result<api::Dispatched> {
        self.call(Method::POST, "/dispatch_blocks", request.encode()).await
    }

    async fn egress(&self) -> Result<Vec<SignedMessage>> {
        let egress: api::Egress = self.call(Method::GET, "/egress", Vec::new()).await?;
        crate::decode_egress(&egress)
    }

    async fn registration(&self) -> Result<RegistrationData> {
        let registration: api::Registration = self.call(Method::GET, "/registration", Vec::new()).await?;
        crate::decode_registration(&registration)
    }
}

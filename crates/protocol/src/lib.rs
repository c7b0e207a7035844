//! The wire between pRuntime and everything outside it, in one small crate
//! that both sides depend on (neither links the other):
//!
//! * [`api`] — the private (relayer) and public (users) HTTP APIs, typed;
//! * [`wire`] — what users seal inside command and query envelopes, and
//!   what comes back;
//! * [`client`] (feature `client`) — the one typed pRuntime client, with
//!   response size limits, timeouts and response-signature checks, used by
//!   the relayer, the SDK, the CLI, the devnet and the tests;
//! * [`mock`] — an in-memory [`PrivateApi`] beside it, for testing callers.
//!
//! Trust: nothing here is trusted by pRuntime (it validates every request
//! itself); a caller trusts a response only after checking its signature
//! against the worker's identity registered on chain
//! ([`verify_response`]).
#![forbid(unsafe_code)]

pub mod api;
#[cfg(feature = "client")]
pub mod client;
pub mod hex_serde;
pub mod mock;
pub mod wire;

use std::future::Future;

use umbra_crypto::sr25519;
use umbra_primitives::sync::GenesisAnchor;
use umbra_runtime::modules::message_queue::SignedMessage;

/// Domain separation of response signatures.
pub const RESPONSE_CONTEXT: &[u8] = b"umbra/pruntime/response/v1";
/// Header carrying the response signature (`0x`-hex sr25519).
pub const SIGNATURE_HEADER: &str = "x-umbra-signature";
/// Header naming the signing identity (`0x`-hex).
pub const IDENTITY_HEADER: &str = "x-umbra-identity";
/// Largest private request body pRuntime accepts (state loads, block
/// batches).
pub const MAX_PRIVATE_BODY: usize = 256 << 20;
/// Largest public request body pRuntime accepts.
pub const MAX_PUBLIC_BODY: usize = 64 << 10;
/// Largest `/egress` response: messages beyond it wait for the next one.
pub const MAX_EGRESS_RESPONSE: usize = 32 << 20;
/// Largest response a client reads from the public API.
pub const MAX_PUBLIC_RESPONSE: usize = 1 << 20;
/// Largest response a client reads from the private API (egress at its
/// bound, hex-encoded, with room).
pub const MAX_PRIVATE_RESPONSE: usize = 2 * MAX_EGRESS_RESPONSE + (1 << 20);

/// Largest attestation evidence in a registration (a DCAP quote with its
/// certification chain, an IAS report with its certificate).
pub const MAX_EVIDENCE_LEN: usize = 64 << 10;

/// The bytes a response signature covers: context ‖ BLAKE2-256(body).
pub fn response_message(body: &[u8]) -> Vec<u8> {
    let mut message = RESPONSE_CONTEXT.to_vec();
    message.extend_from_slice(&umbra_crypto::hashing::blake2_256(body));
    message
}

/// Whether `signature` is `identity`'s signature of the response `body`.
pub fn verify_response(body: &[u8], signature: &[u8; 64], identity: &sr25519::Public) -> bool {
    sr25519::verify(&sr25519::Signature(*signature), &response_message(body), identity)
}

/// Why a call to pRuntime failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Connecting, sending or receiving failed.
    #[error("pRuntime {path}: {message}")]
    Transport {
        /// The endpoint.
        path: String,
        /// What failed.
        message: String,
    },
    /// No complete response within the timeout.
    #[error("pRuntime {path}: no response within {seconds} s")]
    Timeout {
        /// The endpoint.
        path: String,
        /// The timeout.
        seconds: u64,
    },
    /// The response exceeds the client's bound.
    #[error("pRuntime {path}: response over {max} bytes")]
    TooLarge {
        /// The endpoint.
        path: String,
        /// The bound.
        max: usize,
    },
    /// pRuntime refused the request (its [`api::ErrorBody`]).
    #[error("pRuntime {path} refused ({status}): {message}")]
    Refused {
        /// The endpoint.
        path: String,
        /// HTTP status.
        status: u16,
        /// pRuntime's reason.
        message: String,
    },
    /// The response does not parse or decode.
    #[error("pRuntime {path}: malformed response: {message}")]
    Malformed {
        /// The endpoint.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The response is not signed by the expected identity.
    #[error("pRuntime {path}: response signature missing or not by {identity}")]
    BadSignature {
        /// The endpoint.
        path: String,
        /// The identity expected (0x-hex).
        identity: String,
    },
}

/// A result of a pRuntime call.
pub type Result<T> = std::result::Result<T, Error>;

/// The private API as the relayer uses it, implemented by
/// [`client::PruntimeClient`] and [`mock::MockPruntime`].
pub trait PrivateApi: Send + Sync {
    /// `GET /status`.
    fn status(&self) -> impl Future<Output = Result<api::Status>> + Send;
    /// `POST /init`.
    fn init(&self, anchor: &GenesisAnchor) -> impl Future<Output = Result<api::Status>> + Send;
    /// `POST /sync_headers`.
    fn sync_headers(&self, request: &api::HeadersRequest) -> impl Future<Output = Result<api::HeadersImported>> + Send;
    /// `POST /load_state`.
    fn load_state(&self, request: &api::LoadStateRequest) -> impl Future<Output = Result<api::Status>> + Send;
    /// `POST /dispatch_blocks`.
    fn dispatch_blocks(&self, request: &api::DispatchRequest) -> impl Future<Output = Result<api::Dispatched>> + Send;
    /// `GET /egress`, decoded.
    fn egress(&self) -> impl Future<Output = Result<Vec<SignedMessage>>> + Send;
    /// `GET /registration`, decoded.
    fn registration(&self) -> impl Future<Output = Result<RegistrationData>> + Send;
}

impl<T: PrivateApi> PrivateApi for std::sync::Arc<T> {
    fn status(&self) -> impl Future<Output = Result<api::Status>> + Send {
        (**self).status()
    }
    fn init(&self, anchor: &GenesisAnchor) -> impl Future<Output = Result<api::Status>> + Send {
        (**self).init(anchor)
    }
    fn sync_headers(&self, request: &api::HeadersRequest) -> impl Future<Output = Result<api::HeadersImported>> + Send {
        (**self).sync_headers(request)
    }
    fn load_state(&self, request: &api::LoadStateRequest) -> impl Future<Output = Result<api::Status>> + Send {
        (**self).load_state(request)
    }
    fn dispatch_blocks(&self, request: &api::DispatchRequest) -> impl Future<Output = Result<api::Dispatched>> + Send {
        (**self).dispatch_blocks(request)
    }
    fn egress(&self) -> impl Future<Output = Result<Vec<SignedMessage>>> + Send {
        (**self).egress()
    }
    fn registration(&self) -> impl Future<Output = Result<RegistrationData>> + Send {
        (**self).registration()
    }
}

/// `/registration`, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationData {
    /// The attested registration info.
    pub info: umbra_runtime::modules::registry::WorkerRegistrationInfo,
    /// The evidence binding it.
    pub evidence: umbra_attestation::Evidence,
}

/// Decodes SCALE `bytes` of `what` with a bound and no trailing bytes.
pub fn decode<T: parity_scale_codec::Decode>(path: &str, bytes: &[u8], max: usize) -> Result<T> {
    umbra_primitives::decode_bounded(bytes, max)
        .map_err(|e| Error::Malformed { path: path.to_string(), message: e.to_string() })
}

/// Decodes an [`api::Egress`] into signed messages.
pub fn decode_egress(egress: &api::Egress) -> Result<Vec<SignedMessage>> {
    egress
        .messages
        .iter()
        .map(|m| decode("/egress", m, umbra_runtime::modules::message_queue::MAX_COMMIT_PAYLOAD_LEN + 4096))
        .collect()
}

/// Decodes an [`api::Registration`].
pub fn decode_registration(registration: &api::Registration) -> Result<RegistrationData> {
    Ok(RegistrationData {
        info: decode("/registration", &registration.info, 4096)?,
        evidence: decode("/registration", &registration.evidence, MAX_EVIDENCE_LEN)?,
    })
}

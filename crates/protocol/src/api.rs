//! pRuntime's HTTP APIs, typed. Request bodies are SCALE; responses are
//! JSON (bytes as `0x`-hex), each signed by the worker's identity key (see
//! [`crate::response_message`]). Errors are [`ErrorBody`] with a 4xx or 5xx
//! status and change nothing.
//!
//! Private API (the relayer's; bind it to loopback):
//!
//! | method | path | body | response |
//! |---|---|---|---|
//! | POST | `/init` | `GenesisAnchor` | [`Status`] |
//! | POST | `/sync_headers` | [`HeadersRequest`] | [`HeadersImported`] |
//! | POST | `/load_state` | [`LoadStateRequest`] | [`Status`] |
//! | POST | `/dispatch_blocks` | [`DispatchRequest`] | [`Dispatched`] |
//! | GET | `/egress` | | [`Egress`] |
//! | GET | `/registration` | | [`Registration`] |
//! | GET | `/status` | | [`Status`] |
//!
//! Public API: `GET /info` ([`Info`]), `GET /state?key=0x…`
//! ([`StateValue`]), `POST /query` (body SCALE [`crate::wire::QueryRequest`],
//! response [`QueryReply`]).

use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
use umbra_primitives::{header::Header, sync::StorageChanges, BlockNumber, H256};

use crate::hex_serde;

/// `/sync_headers` body: consecutive headers, the last one justified.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct HeadersRequest {
    /// Consecutive headers after the light client's finalized one.
    pub headers: Vec<Header>,
    /// GRANDPA justification of the last one.
    pub justification: Vec<u8>,
}

/// `/load_state` body: every key-value of the state at a verified block.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct LoadStateRequest {
    /// The block.
    pub block: BlockNumber,
    /// Its whole state.
    pub pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// `/dispatch_blocks` body: the next blocks' exact storage changes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct DispatchRequest {
    /// (block number, its changes), consecutive.
    pub blocks: Vec<(BlockNumber, StorageChanges)>,
}

/// `/sync_headers` response: the range the light client now finalizes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadersImported {
    /// First header of the batch.
    pub from: BlockNumber,
    /// Last (justified) header.
    pub to: BlockNumber,
    /// Its hash.
    #[serde(with = "hex_serde::h256")]
    pub hash: H256,
    /// The GRANDPA set id after the batch, when it changed.
    pub new_set_id: Option<u64>,
}

/// `/dispatch_blocks` response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispatched {
    /// Blocks applied.
    pub applied: usize,
    /// The block the replica is at.
    pub synced_block: Option<BlockNumber>,
}

/// `/egress` response: signed messages for the chain, each SCALE.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Egress {
    /// `SCALE(SignedMessage)` each.
    #[serde(with = "hex_serde::bytes_list")]
    pub messages: Vec<Vec<u8>>,
    /// More are waiting than one response carries.
    pub truncated: bool,
}

/// `/registration` response: what the relayer submits to
/// `Registry.register_worker`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// `SCALE(WorkerRegistrationInfo)`.
    #[serde(with = "hex_serde::bytes")]
    pub info: Vec<u8>,
    /// `SCALE(Evidence)` binding it.
    #[serde(with = "hex_serde::bytes")]
    pub evidence: Vec<u8>,
    /// The platform, by name.
    pub platform: String,
    /// Whether this is the SIMULATED TEE.
    pub simulated: bool,
}

/// Contract execution counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecStats {
    /// Commands executed (constructors and calls).
    pub commands: u64,
    /// Commits produced.
    pub commits: u64,
    /// Delta records applied from the chain (not executed here).
    pub deltas_applied: u64,
    /// Committed roots that differ from this replica's.
    pub divergences: u64,
    /// Chain data that could not be read (a bug signal).
    pub errors: u64,
}

/// A master-key epoch held, with its gatekeeper signing key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochHeld {
    /// The epoch.
    pub epoch: u32,
    /// Its gatekeeper signing public key.
    #[serde(with = "hex_serde::array32")]
    pub pubkey: [u8; 32],
}

/// A cluster key held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterHeld {
    /// The cluster.
    #[serde(with = "hex_serde::h256")]
    pub cluster: H256,
    /// The epoch its key derives from.
    pub epoch: u32,
    /// The cluster signing public key.
    #[serde(with = "hex_serde::array32")]
    pub pubkey: [u8; 32],
}

/// A cluster this worker hosts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedCluster {
    /// The cluster.
    #[serde(with = "hex_serde::h256")]
    pub cluster: H256,
    /// Commands of blocks up to this one are executed.
    pub executed_block: BlockNumber,
    /// Contracts hosted.
    pub contracts: usize,
    /// The cluster state root.
    #[serde(with = "hex_serde::h256")]
    pub state_root: H256,
}

/// What the deterministic core reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreStatus {
    /// Whether `init` happened.
    pub initialized: bool,
    /// Genesis hash.
    #[serde(with = "hex_serde::opt_h256")]
    pub genesis_hash: Option<H256>,
    /// The genesis this pRuntime's sealed secrets are pinned to.
    #[serde(with = "hex_serde::opt_h256")]
    pub pinned_genesis: Option<H256>,
    /// Light client's finalized block.
    pub headers_finalized: BlockNumber,
    /// Headers waiting for their blocks.
    pub pending_headers: usize,
    /// The block the replica is at.
    pub synced_block: Option<BlockNumber>,
    /// Current GRANDPA set id.
    pub set_id: u64,
    /// Verified finality advanced since this process started (restarts
    /// release nothing before it has).
    pub finality_progressed: bool,
    /// Synced to within the slack of the verified finalized head, after
    /// verified finality progress.
    pub caught_up: bool,
    /// Registered on chain.
    pub registered: bool,
    /// Egress messages waiting.
    pub egress_pending: usize,
    /// Egress withheld until changed secrets are sealed.
    pub seal_pending: bool,
    /// Next egress sequence.
    pub next_sequence: u64,
    /// Keys in the replica.
    pub state_keys: usize,
    /// Bytes in the replica.
    pub state_bytes: usize,
    /// Trusted-origin messages that did not decode.
    pub malformed_messages: u64,
    /// Notices ignored because their sender does not own their topic.
    pub forged_notices: u64,
    /// Whether this worker is in the gatekeeper set.
    pub gatekeeper: bool,
    /// Master-key epochs held.
    pub epochs: Vec<EpochHeld>,
    /// Cluster keys held.
    pub clusters: Vec<ClusterHeld>,
    /// On-chain key material that contradicts what this pRuntime verified
    /// or computed.
    pub divergences: u64,
    /// Key messages that could not be opened or checked.
    pub key_errors: u64,
    /// Contract execution counters.
    pub contracts: ExecStats,
    /// Hosted clusters.
    pub hosted: Vec<HostedCluster>,
}

/// `/status` (and `/init`, `/load_state`) response: the core's status and
/// the shell's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The core.
    #[serde(flatten)]
    pub core: CoreStatus,
    /// Seconds since verified finality last advanced.
    pub idle_seconds: u64,
    /// Over the staleness limit: queries and state reads are refused.
    pub stale: bool,
    /// Block of the newest checkpoint sealed by this process.
    pub last_checkpoint: BlockNumber,
    /// Why the last checkpoint failed; egress is withheld while set.
    pub checkpoint_error: Option<String>,
    /// Why sealing changed secrets failed; egress is withheld while set.
    pub seal_error: Option<String>,
}

/// `/info` response (public).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// `SCALE(Evidence)` binding the current registration info, once caught
    /// up.
    #[serde(with = "hex_serde::opt_bytes")]
    pub evidence: Option<Vec<u8>>,
    /// pRuntime's version.
    pub version: String,
    /// The identity (sr25519) public key.
    #[serde(with = "hex_serde::array32")]
    pub identity: [u8; 32],
    /// The X25519 key queries are sealed to.
    #[serde(with = "hex_serde::array32")]
    pub ecdh_public: [u8; 32],
    /// The TEE platform, by name.
    pub platform: String,
    /// Whether this is the SIMULATED TEE.
    pub simulated: bool,
    /// The platform's banner.
    pub banner: String,
    /// The measurement.
    #[serde(with = "hex_serde::bytes")]
    pub measurement: Vec<u8>,
    /// Genesis followed.
    #[serde(with = "hex_serde::opt_h256")]
    pub genesis_hash: Option<H256>,
    /// The block the replica is at.
    pub synced_block: Option<BlockNumber>,
    /// Light client's finalized block.
    pub headers_finalized: BlockNumber,
    /// Registered on chain.
    pub registered: bool,
    /// Caught up (see [`CoreStatus::caught_up`]).
    pub caught_up: bool,
    /// The role, by name.
    pub role: String,
}

/// `/state?key=0x…` response (public).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateValue {
    /// The block the replica is at.
    pub block: BlockNumber,
    /// Its hash.
    #[serde(with = "hex_serde::h256")]
    pub hash: H256,
    /// Its state root.
    #[serde(with = "hex_serde::h256")]
    pub state_root: H256,
    /// The value, if any.
    #[serde(with = "hex_serde::opt_bytes")]
    pub value: Option<Vec<u8>>,
}

/// `/query` response (public): the answer sealed back to the query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryReply {
    /// The reply envelope.
    #[serde(with = "hex_serde::bytes")]
    pub envelope: Vec<u8>,
    /// The responder's salt in the reply key (fresh per answer, so no reply
    /// key and nonce is ever used twice).
    #[serde(with = "hex_serde::array32")]
    pub salt: [u8; 32],
    /// The block the answer reflects.
    pub block: BlockNumber,
}

/// Every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What was refused and why.
    pub error: String,
}

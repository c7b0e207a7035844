//! Contract wire formats between users and TEEs, never interpreted on
//! chain: what is inside command and query envelopes, and what comes back.

use parity_scale_codec::{Decode, Encode};
use scale_info::TypeInfo;
use umbra_primitives::{AccountId32, BlockNumber, H256};
use umbra_runtime::modules::contracts::ExecStatus;
/// Domain separation of query certificates.
pub const CERTIFICATE_CONTEXT: &[u8] = b"umbra/query-certificate/v1";
/// Subject of output envelopes: contract ‖ call id.
pub fn output_subject(contract: &H256, call_id: u64) -> Vec<u8> {
    let mut subject = contract.0.to_vec();
    subject.extend_from_slice(&call_id.to_le_bytes());
    subject
}

/// Inside a constructor or command envelope.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct CommandPayload {
    /// Constructor arguments, or selector ‖ arguments.
    pub input: Vec<u8>,
}

/// What the caller decrypts from its command's output envelope.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct CommandOutput {
    /// How it ended.
    pub status: ExecStatus,
    /// Return value or revert reason.
    pub output: Vec<u8>,
    /// Events the contract emitted (a successful command only):
    /// confidential like the output, so only the caller reads them.
    pub events: Vec<Vec<u8>>,
}

/// An account's statement that a query's ephemeral key speaks for it
/// until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct Certificate {
    /// The account.
    pub account: AccountId32,
    /// Last block it is valid at.
    pub expires_at: BlockNumber,
    /// sr25519 by the account over [`Certificate::message`].
    pub signature: [u8; 64],
}

impl Certificate {
    /// The signed bytes: context ‖ genesis ‖ ephemeral key ‖ expiry.
    pub fn message(genesis: &H256, ephemeral: &[u8; 32], expires_at: BlockNumber) -> Vec<u8> {
        (CERTIFICATE_CONTEXT, genesis, ephemeral, expires_at).encode()
    }
}

/// Most blocks a query may stay valid for (its `expires_at` beyond the
/// worker's block): the window within which a worker remembers its nonce.
pub const MAX_QUERY_WINDOW: BlockNumber = 600;

/// Inside a query envelope (sealed to the worker's X25519 key).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct QueryPayload {
    /// Selector ‖ arguments.
    pub input: Vec<u8>,
    /// Who asks; anonymous without.
    pub certificate: Option<Certificate>,
    /// Fresh per query: a worker answers each nonce once within its window.
    pub nonce: [u8; 16],
    /// Last block the query may be answered at (at most
    /// [`MAX_QUERY_WINDOW`] ahead of the worker's).
    pub expires_at: BlockNumber,
}

/// The reply-key binding of a query's answer: the worker that answers, the
/// client's nonce and the worker's fresh salt.
pub fn query_reply_binding(worker: &[u8; 32], nonce: &[u8; 16], salt: &[u8; 32]) -> Vec<u8> {
    let call = (nonce, salt).encode();
    umbra_crypto::envelope::reply_binding(umbra_crypto::envelope::ReplyKind::Query, worker, &call)
}

/// The reply-key binding of a command's output: the cluster that executes
/// it and its call id.
pub fn command_reply_binding(cluster: &H256, call_id: u64) -> Vec<u8> {
    umbra_crypto::envelope::reply_binding(
        umbra_crypto::envelope::ReplyKind::Command,
        &cluster.0,
        &call_id.to_le_bytes(),
    )
}

/// `POST /query` body (SCALE).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct QueryRequest {
    /// The contract.
    pub contract: H256,
    /// A [`QueryPayload`] sealed to the worker's X25519 key.
    pub envelope: Vec<u8>,
}

/// Inside the reply envelope of a query.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct QueryResponse {
    /// The cluster state's block: commands of blocks up to it are in the
    /// state (the chain commits its root at this block).
    pub block_number: BlockNumber,
    /// The cluster state root at that block.
    pub state_root: H256,
    /// The finalized block the worker's verified replica of the chain is at.
    pub synced_block: BlockNumber,
    /// How the query ended.
    pub status: ExecStatus,
    /// Gas used.
    pub gas_used: u64,
    /// Return value or revert reason.
    pub output: Vec<u8>,
}

/// The AEAD nonce of a contract's delta in a cluster's commit of
/// `block` (unique per state key and block).
pub fn delta_nonce(cluster: &H256, block: BlockNumber, contract: &H256) -> [u8; 12] {
    let digest = umbra_crypto::hashing::blake2_256(&(b"umbra/delta", cluster, block, contract).encode());
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&digest[..12]);
    nonce
}

//! Confidential contracts from the user's side: ABI-driven argument
//! encoding, sealing constructors and commands, waiting for results and
//! opening them, and encrypted queries straight to a worker whose identity
//! is checked against the chain.

use std::time::Duration;

use parity_scale_codec::{Decode, Encode};
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

pub use crate::abi::{call_input, encode_args, encode_value, Abi, AbiMethod, Decoded};
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

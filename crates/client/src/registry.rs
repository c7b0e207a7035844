//! Typed reads of the Registry module: workers, the measurement allowlist,
//! TCB policies, the attestation configuration, endpoints.

use parity_scale_codec::Decode;
use serde_json::Value;
use umbra_attestation::Measurement;
use umbra_crypto::sr25519;
use umbra_primitives::{BlockNumber, H256};
use umbra_runtime::modules::registry::{self, AttestationConfig, EndpointRecord, TcbPolicy, WorkerInfo, WorkerRole};
use umbra_trie::storage_key::storage_prefix;

use crate::{bytes, hex_param, Client, Error, Result, MAX_RESPONSE_BYTES};
use jsonrpsee::{core::client::ClientT, rpc_params};

/// Keys fetched per `state_getKeysPaged` request (the node's maximum).
const PAGE: u32 = 1000;
/// Most map entries read in one listing.
pub const MAX_LISTED: usize = 100_000;
/// Length of a `Blake2_128Concat` map key prefix: module, item, hash.
const CONCAT_PREFIX: usize = 32 + 16;

fn decode<T: Decode>(raw: &[u8], what: &str) -> Result<T> {
    umbra_primitives::decode_bounded(raw, MAX_RESPONSE_BYTES as usize)
        .map_err(|e| Error::Response(format!("undecodable {what}: {e}")))
}

impl Client {
    /// Every storage key under `prefix` at `at` (default: best), paged.
    pub async fn storage_keys(&self, prefix: &[u8], at: Option<H256>) -> Result<Vec<Vec<u8>>> {
        // Pin the block so pages are consistent.
        let at = match at {
            Some(at) => at,
            None => self.best_header().await?.hash(),
        };
        let mut keys: Vec<Vec<u8>> = Vec::new();
        loop {
            let start = keys.last().map(|k| hex_param(k));
            let v: Value = self
                .ws
                .request("state_getKeysPaged", rpc_params![hex_param(prefix), PAGE, start, hex_param(at.as_bytes())])
                .await?;
            let page = v
                .as_array()
                .ok_or_else(|| Error::Response("state_getKeysPaged did not return a list".into()))?
                .iter()
                .map(bytes)
                .collect::<Result<Vec<_>>>()?;
            if page.iter().any(|k| !k.starts_with(prefix)) {
                return Err(Error::Response("state_getKeysPaged returned a key outside the prefix".into()));
            }
            let full = page.len() == PAGE as usize;
            keys.extend(page);
            if keys.len() > MAX_LISTED {
                return Err(Error::Response(format!("more than {MAX_LISTED} entries under the prefix")));
            }
            if !full {
                return Ok(keys);
            }
        }
    }

    /// All registered workers.
    pub async fn workers(&self) -> Result<Vec<WorkerInfo>> {
        let at = self.best_header().await?.hash();
        let mut out = Vec::new();
        for key in self.storage_keys(&storage_prefix(registry::NAME, "Workers"), Some(at)).await? {
            if let Some(raw) = self.storage(&key, Some(at)).await? {
                out.push(decode(&raw, "WorkerInfo")?);
            }
        }
        Ok(out)
    }

    /// A registered worker.
    pub async fn worker(&self, identity: &sr25519::Public) -> Result<Option<WorkerInfo>> {
        self.storage(&registry::keys::worker(identity), None).await?.map(|raw| decode(&raw, "WorkerInfo")).transpose()
    }

    /// A worker's published endpoint.
    pub async fn endpoint(&self, identity: &sr25519::Public) -> Result<Option<EndpointRecord>> {
        self.storage(&registry::keys::endpoint(identity), None)
            .await?
            .map(|raw| decode(&raw, "EndpointRecord"))
            .transpose()
    }

    /// The measurement allowlist with the block each entry was added.
    pub async fn allowed_measurements(&self) -> Result<Vec<(Measurement, BlockNumber)>> {
        let at = self.best_header().await?.hash();
        let mut out = Vec::new();
        for key in self.storage_keys(&storage_prefix(registry::NAME, "AllowedMeasurements"), Some(at)).await? {
            let measurement = key
                .get(CONCAT_PREFIX..)
                .ok_or_else(|| Error::Response("short AllowedMeasurements key".into()))
                .and_then(|suffix| decode::<Measurement>(suffix, "measurement"))?;
            if let Some(raw) = self.storage(&key, Some(at)).await? {
                out.push((measurement, decode(&raw, "block number")?));
            }
        }
        Ok(out)
    }

    /// The attestation configuration in force (`None` before genesis set it).
    pub async fn attestation_config(&self) -> Result<Option<AttestationConfig>> {
        self.storage(&registry::keys::attestation_config(), None)
            .await?
            .map(|raw| decode(&raw, "AttestationConfig"))
            .transpose()
    }

    /// The TCB policy of `role`.
    pub async fn tcb_policy(&self, role: WorkerRole) -> Result<Option<TcbPolicy>> {
        self.storage(&registry::keys::tcb_policy(role), None).await?.map(|raw| decode(&raw, "TcbPolicy")).transpose()
    }
}

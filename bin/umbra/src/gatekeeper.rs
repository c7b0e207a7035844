//! `umbra gatekeeper status | add | remove | rotate` and `umbra cluster
//! create | show`: the Gatekeeper and Contracts modules through the client.

use clap::Subcommand;
use parity_scale_codec::Decode;
use umbra_client::Client;
use umbra_crypto::sr25519;
use umbra_primitives::H256;
use umbra_runtime::{
    modules::{contracts, gatekeeper},
    RuntimeCall,
};

use serde_json::{json, Value};

use crate::report::{hex0x, Report};
use crate::{registry::sudo, CliError};

#[derive(Subcommand)]
pub(crate) enum GatekeeperCommand {
    /// The gatekeeper set, epochs, master public keys and published cluster keys.
    Status,
    /// Appoint a gatekeeper (root call through Sudo).
    Add {
        /// Its identity key (a registered gatekeeper-role worker): 0x hex or SS58.
        identity: String,
        /// Secret URI of the sudo key (`-` reads it from stdin).
        #[arg(long, default_value = "//Alice")]
        sudo: String,
    },
    /// Remove a gatekeeper; a rotation follows (root call through Sudo).
    Remove {
        /// Its identity key.
        identity: String,
        /// Secret URI of the sudo key.
        #[arg(long, default_value = "//Alice")]
        sudo: String,
    },
    /// Start a master-key rotation (root call through Sudo).
    Rotate {
        /// Secret URI of the sudo key.
        #[arg(long, default_value = "//Alice")]
        sudo: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum ClusterCommand {
    /// Create a cluster: by random dispatch of `--replicas` eligible
    /// workers (anyone, signed by `--from`), or of named workers (root call
    /// through Sudo).
    Create {
        /// Worker identity keys (root only); random dispatch when none.
        workers: Vec<String>,
        /// Replicas drawn by random dispatch.
        #[arg(long, default_value_t = contracts::DEFAULT_REPLICAS)]
        replicas: u8,
        /// Secret URI of the signer for random dispatch.
        #[arg(long, default_value = "//Alice")]
        from: String,
        /// Secret URI of the sudo key (named workers).
        #[arg(long, default_value = "//Alice")]
        sudo: String,
    },
    /// Replace a replica that left (no heartbeat within the grace period,
    /// attestation lapsed or policy no longer met; anyone may ask): the
    /// chain draws its successor by random dispatch, the gatekeepers send
    /// it the cluster key and it rebuilds the state from the chain.
    Replace {
        /// Cluster id (0x hex).
        id: String,
        /// The replica that left (worker identity, 0x hex).
        worker: String,
        /// Secret URI of the signer.
        #[arg(long, default_value = "//Alice")]
        from: String,
    },
    /// A cluster's workers, epoch and published signing key.
    Show {
        /// Cluster id (0x hex).
        id: String,
    },
}

async fn get<T: Decode>(client: &Client, key: &[u8]) -> Result<Option<T>, CliError> {
    Ok(client.storage_value(key).await?)
}

fn parse_cluster(id: &str) -> Result<H256, CliError> {
    hex::decode(id.trim_start_matches("0x"))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(H256)
        .ok_or_else(|| CliError::new(format!("`{id}` is not a 0x cluster id (64 hex digits)")))
}

pub(crate) async fn gatekeeper_command(client: &Client, command: GatekeeperCommand) -> Result<Report, CliError> {
    match command {
        GatekeeperCommand::Status => status(client).await,
        GatekeeperCommand::Add { identity, sudo: suri } => {
            let identity = crate::registry::parse_identity(&identity)?;
            let (n, _) =
                sudo(client, &suri, RuntimeCall::Gatekeeper(gatekeeper::Call::add_gatekeeper { identity })).await?;
            Ok(Report::new(
                format!("gatekeeper {} added in block #{n}", hex0x(&identity.0)),
                json!({ "gatekeeper": hex0x(&identity.0), "action": "added", "block": n }),
            ))
        }
        GatekeeperCommand::Remove { identity, sudo: suri } => {
            let identity = crate::registry::parse_identity(&identity)?;
            let call = RuntimeCall::Gatekeeper(gatekeeper::Call::remove_gatekeeper { identity });
            let (n, _) = sudo(client, &suri, call).await?;
            Ok(Report::new(
                format!("gatekeeper {} removed in block #{n}; a rotation started", hex0x(&identity.0)),
                json!({ "gatekeeper": hex0x(&identity.0), "action": "removed", "block": n }),
            ))
        }
        GatekeeperCommand::Rotate { sudo: suri } => {
            let (n, _) = sudo(client, &suri, RuntimeCall::Gatekeeper(gatekeeper::Call::start_rotation {})).await?;
            Ok(Report::new(format!("rotation started in block #{n}"), json!({ "action": "rotation", "block": n })))
        }
    }
}

async fn status(client: &Client) -> Result<Report, CliError> {
    let set: Vec<sr25519::Public> = get(client, &gatekeeper::keys::gatekeepers()).await?.unwrap_or_default();
    let epoch: u32 = get(client, &gatekeeper::keys::current_epoch()).await?.unwrap_or(0);
    let lock: Option<u32> = get(client, &gatekeeper::keys::rotation_lock()).await?;
    let mut lines = vec![format!("gatekeepers ({}):", set.len())];
    let mut json =
        json!({ "gatekeepers": [], "epoch": epoch, "rotating_to": lock, "master_keys": [], "cluster_keys": [] });
    for g in &set {
        let registered = client.worker(g).await?.is_some();
        lines.push(format!("  {}{}", hex0x(&g.0), if registered { "" } else { "  (not registered yet)" }));
        push(&mut json["gatekeepers"], json!({ "identity": hex0x(&g.0), "registered": registered }));
    }
    let mut keys = Vec::new();
    for e in 0..=epoch {
        if let Some(k) = get::<sr25519::Public>(client, &gatekeeper::keys::master_pubkey(e)).await? {
            keys.push(format!("  epoch {e}: {}", hex0x(&k.0)));
            push(&mut json["master_keys"], json!({ "epoch": e, "signing_key": hex0x(&k.0) }));
        }
    }
    if keys.is_empty() {
        lines.push("master key: not published yet (the first gatekeeper creates epoch 0)".into());
    } else {
        lines.push(format!(
            "current epoch: {epoch}{}",
            lock.map_or(String::new(), |l| format!(" (rotation to epoch {l} in progress)"))
        ));
        lines.push("gatekeeper signing keys:".into());
        lines.extend(keys);
    }
    let prefix = umbra_crypto::hashing::twox_128(contracts::NAME.as_bytes())
        .iter()
        .chain(umbra_crypto::hashing::twox_128(b"ClusterPubkeys").iter())
        .copied()
        .collect::<Vec<u8>>();
    let cluster_keys = client.storage_keys(&prefix, None).await?;
    lines.push(format!("published cluster keys: {}", cluster_keys.len()));
    for key in cluster_keys {
        // Blake2_128Concat: the cluster id follows the 16-byte hash.
        let Some(id) = key.get(prefix.len() + 16..).and_then(|b| <[u8; 32]>::try_from(b).ok()) else { continue };
        if let Some((e, k)) = get::<(u32, sr25519::Public)>(client, &key).await? {
            lines.push(format!("  cluster {} epoch {e} signing key {}", hex0x(&id), hex0x(&k.0)));
            push(&mut json["cluster_keys"], json!({ "cluster": hex0x(&id), "epoch": e, "signing_key": hex0x(&k.0) }));
        }
    }
    Ok(Report::new(lines.join("\n"), json))
}

fn push(list: &mut Value, item: Value) {
    if let Value::Array(items) = list {
        items.push(item);
    }
}

pub(crate) async fn cluster_command(client: &Client, command: ClusterCommand) -> Result<Report, CliError> {
    match command {
        ClusterCommand::Create { workers, replicas, from, sudo: suri } => {
            let count: u64 = get(client, &contracts::keys::cluster_count()).await?.unwrap_or(0);
            if workers.is_empty() {
                let call = RuntimeCall::Contracts(contracts::Call::create_random_cluster { replicas });
                let included = crate::contract::submit(client, &from, call).await?;
                let id = contracts::cluster_id(count);
                let info: contracts::ClusterInfo = get(client, &contracts::keys::cluster(&id))
                    .await?
                    .ok_or_else(|| CliError::new("the cluster is not on chain after its block"))?;
                let mut lines = vec![format!(
                    "cluster {} created by random dispatch in block #{}",
                    hex0x(&id.0),
                    included.block_number
                )];
                lines.extend(info.workers.iter().map(|w| format!("  worker {}", hex0x(&w.0))));
                let workers: Vec<String> = info.workers.iter().map(|w| hex0x(&w.0)).collect();
                return Ok(Report::new(
                    lines.join("\n"),
                    json!({ "cluster": hex0x(&id.0), "block": included.block_number, "workers": workers }),
                ));
            }
            let workers = workers.iter().map(|w| crate::registry::parse_identity(w)).collect::<Result<Vec<_>, _>>()?;
            let names: Vec<String> = workers.iter().map(|w| hex0x(&w.0)).collect();
            let (n, _) =
                sudo(client, &suri, RuntimeCall::Contracts(contracts::Call::create_cluster { workers })).await?;
            let id = hex0x(&contracts::cluster_id(count).0);
            Ok(Report::new(
                format!("cluster {id} created in block #{n}"),
                json!({ "cluster": id, "block": n, "workers": names }),
            ))
        }
        ClusterCommand::Replace { id, worker, from } => {
            let id = parse_cluster(&id)?;
            let worker = crate::registry::parse_identity(&worker)?;
            let call = RuntimeCall::Contracts(contracts::Call::replace_replica { cluster: id, worker });
            let included = crate::contract::submit(client, &from, call).await?;
            let new = included
                .events
                .iter()
                .find_map(|e| match e {
                    umbra_runtime::RuntimeEvent::Contracts(contracts::Event::ReplicaReplaced { new, .. }) => Some(*new),
                    _ => None,
                })
                .ok_or_else(|| CliError::new("no ReplicaReplaced event in the block"))?;
            Ok(Report::new(
                format!(
                    "replica {} of cluster {} replaced by {} in block #{}",
                    hex0x(&worker.0),
                    hex0x(&id.0),
                    hex0x(&new.0),
                    included.block_number
                ),
                json!({
                    "cluster": hex0x(&id.0),
                    "replaced": hex0x(&worker.0),
                    "by": hex0x(&new.0),
                    "block": included.block_number,
                }),
            ))
        }
        ClusterCommand::Show { id } => {
            let id = parse_cluster(&id)?;
            let info: contracts::ClusterInfo = get(client, &contracts::keys::cluster(&id))
                .await?
                .ok_or_else(|| CliError::new(format!("no cluster {}", hex0x(&id.0))))?;
            let key: Option<(u32, sr25519::Public)> = get(client, &contracts::keys::cluster_pubkey(&id)).await?;
            let mut lines = vec![format!("cluster {}", hex0x(&id.0)), format!("  epoch: {}", info.epoch)];
            lines.push(format!("  signing key: {}", key.map_or("not published yet".to_string(), |(_, k)| hex0x(&k.0))));
            let ecdh: Option<[u8; 32]> = get(client, &contracts::keys::cluster_ecdh(&id)).await?;
            lines.push(format!("  x25519 key: {}", ecdh.map_or("not published yet".to_string(), |k| hex0x(&k))));
            lines.push("  workers:".into());
            lines.extend(info.workers.iter().map(|w| format!("    {}", hex0x(&w.0))));
            let state: Option<contracts::CommitState> = get(client, &contracts::keys::commit_state(&id)).await?;
            let state = state.unwrap_or_default();
            lines.push(format!(
                "  committed: block #{} root {} ({} delta records)",
                state.block,
                hex0x(&state.state_root.0),
                state.deltas
            ));
            let contracts_of: Vec<H256> =
                get(client, &contracts::keys::cluster_contracts(&id)).await?.unwrap_or_default();
            lines.push(format!("  contracts: {}", contracts_of.len()));
            lines.extend(contracts_of.iter().map(|c| format!("    {}", hex0x(&c.0))));
            let frozen: Option<u32> = get(client, &contracts::keys::frozen(&id)).await?;
            if let Some(block) = frozen {
                lines.push(format!("  FROZEN since block #{block} (a replica diverged)"));
            }
            let json = json!({
                "cluster": hex0x(&id.0),
                "epoch": info.epoch,
                "signing_key": key.map(|(_, k)| hex0x(&k.0)),
                "x25519_key": ecdh.map(|k| hex0x(&k)),
                "workers": info.workers.iter().map(|w| hex0x(&w.0)).collect::<Vec<_>>(),
                "committed": { "block": state.block, "state_root": hex0x(&state.state_root.0), "deltas": state.deltas },
                "contracts": contracts_of.iter().map(|c| hex0x(&c.0)).collect::<Vec<_>>(),
                "frozen_since": frozen,
            });
            Ok(Report::new(lines.join("\n"), json))
        }
    }
}

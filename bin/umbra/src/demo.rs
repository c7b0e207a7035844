//! `umbra devnet --demo`: the confidential token end to end on the running
//! devnet — build, upload, a 2-replica cluster by random dispatch,
//! instantiate, a transfer, private balance queries on both replicas, an
//! anonymous query refused — printing each step, then `demo complete`.

use std::path::Path;
use std::time::Duration;

use umbra_client::Client;
use umbra_crypto::{suri::SecretUri, Pair, Scheme};
use umbra_primitives::{AccountId32, H256};
use umbra_runtime::modules::contracts;

use crate::contract::{run as contract, ContractCommand};
use crate::CliError;

fn account(suri: &str) -> Result<AccountId32, CliError> {
    Ok(AccountId32(Pair::from_suri(Scheme::Sr25519, &SecretUri::parse(suri)?)?.public()))
}

fn step(n: u32, text: &str) {
    println!("demo [{n}/7] {text}");
}

/// Runs the demo against the devnet `client` is connected to, with the
/// two workers' public APIs on `worker1` and `worker2`.
pub(crate) async fn run(client: &Client, worker1: u16, worker2: u16) -> Result<(), CliError> {
    println!("\nconfidential token demo");
    step(1, "building contracts/token for wasm32 (release)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let wasm = umbra_toolchain::build_workspace_contract(&root, "umbra-example-token")
        .map_err(|e| CliError::new(format!("building the token: {e}")))?;
    let code = std::fs::read(&wasm).map_err(|e| CliError::new(format!("{}: {e}", wasm.display())))?;
    let code_hash = H256(umbra_crypto::hashing::blake2_256(&code));
    println!("  {} ({} bytes)", wasm.display(), code.len());

    step(2, "uploading the code (validated on chain)");
    if client.code(&code_hash).await?.is_none() {
        println!("  {}", contract(client, ContractCommand::Upload { wasm, from: "//Alice".into() }).await?);
    } else {
        println!("  code 0x{} already on chain", hex::encode(code_hash.0));
    }

    step(3, "creating a 2-replica cluster by random dispatch");
    let cluster_cmd = crate::gatekeeper::ClusterCommand::Create {
        workers: Vec::new(),
        replicas: 2,
        from: "//Alice".into(),
        sudo: "//Alice".into(),
    };
    let count: u64 = client
        .storage(&contracts::keys::cluster_count(), None)
        .await?
        .and_then(|b| parity_scale_codec::Decode::decode(&mut &b[..]).ok())
        .unwrap_or(0);
    println!("{}", crate::gatekeeper::cluster_command(client, cluster_cmd).await?);
    let cluster = contracts::cluster_id(count);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while client.cluster_ecdh(&cluster).await?.is_none() {
        if tokio::time::Instant::now() >= deadline {
            return Err(CliError::new("the gatekeeper did not deliver the cluster key"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("  cluster key delivered by the gatekeeper to both replicas");

    step(4, "instantiating the token with a supply of 1000000 (arguments sealed to the cluster key)");
    let salt = format!("demo-{count}");
    let out = contract(
        client,
        ContractCommand::Instantiate {
            code_hash: format!("0x{}", hex::encode(code_hash.0)),
            cluster: format!("0x{}", hex::encode(cluster.0)),
            args: "[\"1000000\"]".into(),
            salt: salt.clone(),
            gas: 100_000_000,
            from: "//Alice".into(),
        },
    )
    .await?;
    println!("  {out}");
    let id = contracts::contract_id(&account("//Alice")?, &code_hash, &cluster, salt.as_bytes());
    let id_hex = format!("0x{}", hex::encode(id.0));

    step(5, "Alice transfers 250 to Bob (a sealed command; the chain sees ciphertext only)");
    let bob = format!("0x{}", hex::encode(account("//Bob")?.0));
    let out = contract(
        client,
        ContractCommand::Call {
            contract: id_hex.clone(),
            method: "transfer".into(),
            args: format!("[\"{bob}\", \"250\"]"),
            gas: 100_000_000,
            from: "//Alice".into(),
        },
    )
    .await?;
    println!("  transfer: {out}");

    step(6, "Bob and Alice query their own balances (signed queries, one per replica)");
    let query = |who: &str, worker: u16| ContractCommand::Query {
        contract: id_hex.clone(),
        method: "balance_of".into(),
        args: format!("[\"0x{}\"]", hex::encode(account(who).map(|a| a.0).unwrap_or_default())),
        worker: format!("http://127.0.0.1:{worker}"),
        from: Some(who.into()),
        max_lag: umbra_client::contracts::DEFAULT_MAX_LAG,
    };
    println!("  Bob on replica 1:   {}", contract(client, query("//Bob", worker1)).await?);
    println!("  Alice on replica 2: {}", contract(client, query("//Alice", worker2)).await?);

    step(7, "an anonymous query for Bob's balance is refused by the contract");
    let anonymous = ContractCommand::Query {
        contract: id_hex.clone(),
        method: "balance_of".into(),
        args: format!("[\"{bob}\"]"),
        worker: format!("http://127.0.0.1:{worker1}"),
        from: None,
        max_lag: umbra_client::contracts::DEFAULT_MAX_LAG,
    };
    println!("  anonymous: {}", contract(client, anonymous).await?);
    println!("demo complete (contract {id_hex}; the network keeps running)");
    Ok(())
}

//! `umbra balance | transfer | chain status | block`: chain access through
//! the Rust client SDK.

use std::time::Duration;

use clap::{Args, Subcommand};
use parity_scale_codec::Encode;
use serde_json::json;
use umbra_client::{amount, Client};
use umbra_crypto::{suri::SecretUri, Pair, Scheme};
use umbra_primitives::{extrinsic::MultiAddress, AccountId32, H256};
use umbra_runtime::{extrinsic, modules::balances, RuntimeCall, RuntimeEvent};

use crate::report::{hex0x, Report};
use crate::CliError;

/// How long `transfer` waits for finality.
const FINALITY_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Subcommand)]
pub(crate) enum ChainCommand {
    /// Chain name, best and finalized blocks, pending transactions.
    Status,
}

#[derive(Args)]
pub(crate) struct TransferArgs {
    /// Secret URI of the sender (`-` reads it from stdin).
    #[arg(long)]
    from: String,
    /// Receiver: SS58 address, 0x account id, or a dev URI like //Bob.
    #[arg(long)]
    to: String,
    /// Amount in UMB (up to 12 decimals), e.g. 1.5.
    amount: String,
    /// Tip in UMB added to the fee.
    #[arg(long, default_value = "0")]
    tip: String,
    /// Allow the sender's balance to drop below the existential deposit (reaping it).
    #[arg(long)]
    allow_death: bool,
    /// Signature scheme of the sender.
    #[arg(long, default_value = "sr25519")]
    scheme: String,
}

/// An account from SS58, `0x` hex, or a secret URI (its sr25519 public key).
pub(crate) fn parse_account(s: &str) -> Result<AccountId32, CliError> {
    if let Ok(a) = AccountId32::parse(s) {
        return Ok(a);
    }
    if s.starts_with('/') {
        let uri = SecretUri::parse(s)?;
        return Ok(AccountId32(Pair::from_suri(Scheme::Sr25519, &uri)?.public()));
    }
    Err(CliError::new(format!("`{s}` is not an SS58 address, a 0x account id or a //dev URI")))
}

pub(crate) async fn balance(client: &Client, account: &str) -> Result<Report, CliError> {
    let who = parse_account(account)?;
    let best = client.best_header().await?;
    let info = client.account(&who, Some(best.hash())).await?;
    let json = json!({
        "account": who.to_ss58(42),
        "id": hex0x(&who.0),
        "free": info.data.free.to_string(),
        "reserved": info.data.reserved.to_string(),
        "frozen": info.data.frozen.to_string(),
        "nonce": info.nonce,
        "block": { "number": best.number, "hash": format!("{:?}", best.hash()) },
    });
    let text = format!(
        "account {} (0x{})\n  free:     {}\n  reserved: {}\n  frozen:   {}\n  nonce:    {}\n  at block #{} ({:?})",
        who.to_ss58(42),
        hex::encode(who.0),
        amount::format(info.data.free),
        amount::format(info.data.reserved),
        amount::format(info.data.frozen),
        info.nonce,
        best.number,
        best.hash()
    );
    Ok(Report::new(text, json))
}

pub(crate) async fn transfer(client: &Client, args: TransferArgs) -> Result<Report, CliError> {
    let scheme: Scheme = args.scheme.parse()?;
    let suri = crate::key::secret_arg(&args.from)?;
    let signer = Pair::from_suri(scheme, &SecretUri::parse(&suri)?)?;
    let from = AccountId32(signer.public());
    let to = parse_account(&args.to)?;
    let value = amount::parse(&args.amount).map_err(CliError::new)?;
    let tip = amount::parse(&args.tip).map_err(CliError::new)?;
    let dest = MultiAddress::Id(to);
    let call = if args.allow_death {
        RuntimeCall::Balances(balances::Call::transfer_allow_death { dest, value })
    } else {
        RuntimeCall::Balances(balances::Call::transfer_keep_alive { dest, value })
    };
    let before_from = client.account(&from, None).await?;
    let before_to = client.account(&to, None).await?;
    let nonce = client.next_nonce(&from).await?;
    let xt = client.sign(call, &signer, nonce, tip).await?;
    let estimate = client.estimate_fee(&xt).await?;
    eprintln!(
        "sending {} from {} to {} (nonce {nonce}, estimated fee {})",
        amount::format(value),
        from.to_ss58(42),
        to.to_ss58(42),
        amount::format(estimate.saturating_add(tip))
    );
    let spinner = crate::progress::spinner("submitting");
    let included = client
        .submit_and_finalize(&xt, FINALITY_TIMEOUT, |status| crate::progress::show_status(&spinner, status))
        .await?;
    spinner.done(format!("included in block #{} and finalized", included.block_number));
    let after_from = client.account(&from, Some(included.block_hash)).await?;
    let after_to = client.account(&to, Some(included.block_hash)).await?;
    let mut out = format!(
        "finalized in block #{} ({:?}), extrinsic {}\n  tx hash:  {:?}\n  fee paid: {}",
        included.block_number,
        included.block_hash,
        included.index,
        included.tx_hash,
        amount::format(included.fee)
    );
    let side = |who: &AccountId32,
                before: &umbra_runtime::modules::system::AccountInfo,
                after: &umbra_runtime::modules::system::AccountInfo| {
        json!({
            "account": who.to_ss58(42),
            "free_before": before.data.free.to_string(),
            "free_after": after.data.free.to_string(),
            "nonce_before": before.nonce,
            "nonce_after": after.nonce,
        })
    };
    match included.error {
        None => {
            let json = json!({
                "block": included.block_number,
                "block_hash": format!("{:?}", included.block_hash),
                "index": included.index,
                "tx_hash": format!("{:?}", included.tx_hash),
                "value": value.to_string(),
                "fee": included.fee.to_string(),
                "from": side(&from, &before_from, &after_from),
                "to": side(&to, &before_to, &after_to),
            });
            out.push_str(&format!(
                "\n  {}: {} -> {} (nonce {} -> {})\n  {}: {} -> {}",
                from.to_ss58(42),
                amount::format(before_from.data.free),
                amount::format(after_from.data.free),
                before_from.nonce,
                after_from.nonce,
                to.to_ss58(42),
                amount::format(before_to.data.free),
                amount::format(after_to.data.free)
            ));
            Ok(Report::new(out, json))
        }
        Some(e) => Err(CliError::new(format!(
            "transfer failed in block #{} ({}); the fee of {} was charged",
            included.block_number,
            umbra_client::describe_error(&e),
            amount::format(included.fee)
        ))),
    }
}

/// `umbra chain status`: name, best and finalized blocks.
pub(crate) async fn status(client: &Client) -> Result<Report, CliError> {
    let name = client.chain_name().await?;
    let best = client.best_header().await?;
    let finalized = client.finalized_hash().await?;
    let finalized_number = client.header(finalized).await?.map(|h| h.number).unwrap_or(0);
    let health = client.call("system_health", vec![]).await?;
    let pending = client.call("author_pendingExtrinsics", vec![]).await?;
    let version = client.call("state_getRuntimeVersion", vec![]).await?;
    let txpool = pending.as_array().map(Vec::len).unwrap_or(0);
    let json = json!({
        "chain": name,
        "genesis": format!("{:?}", client.genesis_hash()),
        "spec_name": version["specName"],
        "spec_version": version["specVersion"],
        "best": { "number": best.number, "hash": format!("{:?}", best.hash()) },
        "finalized": { "number": finalized_number, "hash": format!("{finalized:?}") },
        "peers": health["peers"],
        "txpool": txpool,
    });
    let text = format!(
        "chain:      {name}\n  genesis:    {:?}\n  runtime:    {} v{}\n  best:       #{} ({:?})\n  finalized:  #{} ({:?})\n  peers:      {}\n  txpool:     {} pending",
        client.genesis_hash(),
        version["specName"].as_str().unwrap_or("?"),
        version["specVersion"],
        best.number,
        best.hash(),
        finalized_number,
        finalized,
        health["peers"],
        txpool
    );
    Ok(Report::new(text, json))
}

fn describe_call(call: &RuntimeCall) -> String {
    match call {
        RuntimeCall::Balances(balances::Call::transfer_keep_alive { dest, value }) => {
            format!("balances.transfer_keep_alive({}, {})", dest_text(dest), amount::format(*value))
        }
        RuntimeCall::Balances(balances::Call::transfer_allow_death { dest, value }) => {
            format!("balances.transfer_allow_death({}, {})", dest_text(dest), amount::format(*value))
        }
        RuntimeCall::Timestamp(umbra_runtime::modules::timestamp::Call::set { now }) => format!("timestamp.set({now})"),
        other => {
            let encoded = other.encode();
            format!("call {}.{} ({} bytes)", encoded.first().unwrap_or(&0), encoded.get(1).unwrap_or(&0), encoded.len())
        }
    }
}

fn dest_text(d: &MultiAddress) -> String {
    match d {
        MultiAddress::Id(a) => a.to_ss58(42),
        other => format!("{other:?}"),
    }
}

pub(crate) async fn block(client: &Client, which: &str) -> Result<Report, CliError> {
    let hash = if let Some(h) = which.strip_prefix("0x") {
        let bytes = hex::decode(h).map_err(|_| CliError::new("block hash must be 0x and 64 hex digits"))?;
        if bytes.len() != 32 {
            return Err(CliError::new("block hash must be 32 bytes"));
        }
        H256::from_slice(&bytes)
    } else {
        let n: u32 = which.parse().map_err(|_| CliError::new(format!("`{which}` is not a block number or 0x hash")))?;
        client.block_hash(n).await?.ok_or_else(|| CliError::new(format!("no block #{n} on the best chain")))?
    };
    let block = client.block(hash).await?.ok_or_else(|| CliError::new(format!("block {hash:?} is unknown")))?;
    let finalized = client.finalized_hash().await?;
    let finalized_number = client.header(finalized).await?.map(|h| h.number).unwrap_or(0);
    let events = client.events(hash).await?;
    let h = &block.header;
    let mut out = format!(
        "block #{} ({hash:?}){}\n  parent:          {:?}\n  state root:      {:?}\n  extrinsics root: {:?}\n  digest items:    {}\n  justification:   {}\n  extrinsics:      {}",
        h.number,
        if h.number <= finalized_number { " finalized" } else { "" },
        h.parent_hash,
        h.state_root,
        h.extrinsics_root,
        h.digest.logs.len(),
        if block.justified { "stored" } else { "none" },
        block.extrinsics.len()
    );
    let mut extrinsics_json = Vec::new();
    for (i, xt) in block.extrinsics.iter().enumerate() {
        let mut entry = json!({ "index": i });
        let line = match extrinsic::decode(xt) {
            Ok(x) => {
                let call = describe_call(&x.call);
                entry["call"] = json!(call);
                match &x.signature {
                    Some(part) => {
                        let signer = dest_text(&part.signer);
                        let line = format!("signed by {signer} nonce {}: {call}", part.extra.nonce);
                        entry["signer"] = json!(signer);
                        entry["nonce"] = json!(part.extra.nonce);
                        line
                    }
                    None => format!("inherent: {call}"),
                }
            }
            Err(e) => {
                entry["undecodable"] = json!(e.to_string());
                format!("undecodable: {e}")
            }
        };
        let outcome = events
            .iter()
            .filter(|e| e.phase == umbra_runtime::event::Phase::ApplyExtrinsic(i as u32))
            .find_map(|e| match &e.event {
                RuntimeEvent::System(umbra_runtime::modules::system::Event::ExtrinsicSuccess { .. }) => {
                    Some("ok".to_string())
                }
                RuntimeEvent::System(umbra_runtime::modules::system::Event::ExtrinsicFailed {
                    dispatch_error, ..
                }) => Some(format!("failed: {}", umbra_client::describe_error(dispatch_error))),
                _ => None,
            });
        let outcome = outcome.unwrap_or_else(|| "?".into());
        out.push_str(&format!("\n    [{i}] {line} -> {outcome}"));
        entry["outcome"] = json!(outcome);
        extrinsics_json.push(entry);
    }
    out.push_str(&format!("\n  events:          {}", events.len()));
    let mut events_json = Vec::new();
    for e in &events {
        // The event's variant and fields (long ones cut at 200 chars).
        let text = format!("{:?}", e.event);
        let cut: String = text.chars().take(200).collect();
        out.push_str(&format!("\n    {cut}{}", if cut.len() < text.len() { "…" } else { "" }));
        let (pallet, rest) = text.split_once('(').unwrap_or((&text, ""));
        let name = rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or_default();
        events_json.push(json!({
            "phase": format!("{:?}", e.phase),
            "pallet": pallet,
            "name": name,
            "detail": text,
        }));
    }
    let json = json!({
        "number": h.number,
        "hash": format!("{hash:?}"),
        "finalized": h.number <= finalized_number,
        "parent": format!("{:?}", h.parent_hash),
        "state_root": format!("{:?}", h.state_root),
        "extrinsics_root": format!("{:?}", h.extrinsics_root),
        "digest_items": h.digest.logs.len(),
        "justified": block.justified,
        "extrinsics": extrinsics_json,
        "events": events_json,
    });
    Ok(Report::new(out, json))
}

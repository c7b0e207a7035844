//! Subscriptions: new, all and finalized heads, runtime version, storage
//! changes, and watched extrinsics.

use jsonrpsee::{
    core::SubscriptionResult,
    server::{PendingSubscriptionSink, SubscriptionMessage, SubscriptionSink},
    RpcModule,
};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use umbra_consensus::ChainEvent;
use umbra_txpool::TxStatus;

use crate::{
    error::{author_error, invalid_params, state_client},
    json::{self, Bytes, Hash},
    methods::decode_extrinsic,
    Context, MAX_KEYS,
};

/// Most changes in one `state_storage` notification when watching all keys.
const MAX_CHANGES_PER_NOTIFICATION: usize = 10_000;

async fn send(sink: &SubscriptionSink, value: &impl Serialize) -> bool {
    match serde_json::value::to_raw_value(value) {
        Ok(raw) => sink.send(SubscriptionMessage::from(raw)).await.is_ok(),
        Err(_) => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Heads {
    Best,
    All,
    Finalized,
}

async fn heads(pending: PendingSubscriptionSink, ctx: std::sync::Arc<Context>, kind: Heads) -> SubscriptionResult {
    let mut events = ctx.chain.subscribe();
    let sink = pending.accept().await?;
    let start = match kind {
        Heads::Finalized => ctx.chain.finalized(),
        _ => ctx.chain.best(),
    };
    if let Ok(start) = start {
        if let Ok(Some(header)) = ctx.chain.header(&start.hash) {
            if !send(&sink, &json::header(&header)).await {
                return Ok(());
            }
        }
    }
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            event = events.recv() => match event {
                Ok(ChainEvent::Imported { header, is_best, .. }) if kind == Heads::All || (kind == Heads::Best && is_best) => {
                    if !send(&sink, &json::header(&header)).await {
                        return Ok(());
                    }
                }
                Ok(ChainEvent::Finalized { blocks, .. }) if kind == Heads::Finalized => {
                    for block in blocks {
                        if let Ok(Some(header)) = ctx.chain.header(&block.hash) {
                            if !send(&sink, &json::header(&header)).await {
                                return Ok(());
                            }
                        }
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Ok(()),
            }
        }
    }
}

fn status_json(status: &TxStatus) -> Value {
    match status {
        TxStatus::Future => json!("future"),
        TxStatus::Ready => json!("ready"),
        TxStatus::InBlock(h) => json!({ "inBlock": Hash(*h) }),
        TxStatus::Retracted(h) => json!({ "retracted": Hash(*h) }),
        TxStatus::Finalized(h) => json!({ "finalized": Hash(*h) }),
        TxStatus::Usurped(h) => json!({ "usurped": Hash(*h) }),
        TxStatus::Dropped => json!("dropped"),
        TxStatus::Invalid => json!("invalid"),
    }
}

fn storage_values(ctx: &Context, hash: umbra_primitives::H256, keys: &[Vec<u8>]) -> Result<Vec<Value>, String> {
    let state = ctx.chain.state(&hash).map_err(|e| e.to_string())?;
    keys.iter().map(|k| Ok(json!([Bytes(k.clone()), state.get(k).map_err(|e| e.to_string())?.map(Bytes)]))).collect()
}

pub(crate) fn register(module: &mut RpcModule<Context>) {
    for (sub, notif, unsub, kind) in [
        ("chain_subscribeNewHeads", "chain_newHead", "chain_unsubscribeNewHeads", Heads::Best),
        ("chain_subscribeAllHeads", "chain_allHead", "chain_unsubscribeAllHeads", Heads::All),
        ("chain_subscribeFinalizedHeads", "chain_finalizedHead", "chain_unsubscribeFinalizedHeads", Heads::Finalized),
    ] {
        let _ = module.register_subscription(sub, notif, unsub, move |_, pending, ctx, _| heads(pending, ctx, kind));
    }
    let _ = module.register_alias("chain_subscribeNewHead", "chain_subscribeNewHeads");
    let _ = module.register_alias("chain_unsubscribeNewHead", "chain_unsubscribeNewHeads");
    let _ = module.register_alias("chain_subscribeFinalisedHeads", "chain_subscribeFinalizedHeads");
    let _ = module.register_alias("chain_unsubscribeFinalisedHeads", "chain_unsubscribeFinalizedHeads");

    let _ = module.register_subscription(
        "state_subscribeRuntimeVersion",
        "state_runtimeVersion",
        "state_unsubscribeRuntimeVersion",
        |_, pending, _ctx, _| async move {
            let sink = pending.accept().await?;
            // The runtime is native and only changes with the node binary:
            // one notification, then the subscription stays open.
            if send(&sink, &json::runtime_version(&umbra_runtime::version())).await {
                sink.closed().await;
            }
            Ok(())
        },
    );
    let _ = module.register_alias("chain_subscribeRuntimeVersion", "state_subscribeRuntimeVersion");
    let _ = module.register_alias("chain_unsubscribeRuntimeVersion", "state_unsubscribeRuntimeVersion");

    let _ = module.register_subscription("state_subscribeStorage", "state_storage", "state_unsubscribeStorage", |params, pending, ctx, _| async move {
        let keys: Option<Vec<Bytes>> = match params.sequence().optional_next() {
            Ok(k) => k,
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        if keys.as_ref().is_some_and(|k| k.len() > MAX_KEYS) {
            pending.reject(invalid_params(format!("at most {MAX_KEYS} keys"))).await;
            return Ok(());
        }
        let keys: Option<Vec<Vec<u8>>> = keys.map(|k| k.into_iter().map(|b| b.0).collect());
        let mut events = ctx.chain.subscribe();
        let best = match ctx.chain.best() {
            Ok(b) => b,
            Err(e) => {
                pending.reject(state_client(e)).await;
                return Ok(());
            }
        };
        let sink = pending.accept().await?;
        if let Some(keys) = &keys {
            match storage_values(&ctx, best.hash, keys) {
                Ok(changes) => {
                    if !send(&sink, &json!({ "block": Hash(best.hash), "changes": changes })).await {
                        return Ok(());
                    }
                }
                Err(_) => return Ok(()),
            }
        }
        loop {
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                event = events.recv() => match event {
                    Ok(ChainEvent::Imported { header, is_best: true, retracted }) => {
                        let hash = header.hash();
                        let changes: Vec<Value> = match (&keys, retracted.is_empty()) {
                            // After a reorg the block's own changes are not the whole
                            // story: send the current values.
                            (Some(keys), false) => storage_values(&ctx, hash, keys).unwrap_or_default(),
                            (keys, _) => {
                                let Ok(Some(block_changes)) = ctx.chain.db().changes(&hash) else { continue };
                                block_changes
                                    .into_iter()
                                    .filter(|(k, _)| keys.as_ref().is_none_or(|keys| keys.contains(k)))
                                    .take(MAX_CHANGES_PER_NOTIFICATION)
                                    .map(|(k, v)| json!([Bytes(k), v.map(Bytes)]))
                                    .collect()
                            }
                        };
                        if !changes.is_empty() && !send(&sink, &json!({ "block": Hash(hash), "changes": changes })).await {
                            return Ok(());
                        }
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return Ok(()),
                }
            }
        }
    });

    let _ = module.register_subscription(
        "author_submitAndWatchExtrinsic",
        "author_extrinsicUpdate",
        "author_unwatchExtrinsic",
        |params, pending, ctx, _| async move {
            let bytes: Bytes = match params.one() {
                Ok(b) => b,
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            };
            let xt = match decode_extrinsic(&bytes.0) {
                Ok(xt) => xt,
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            };
            let pool = ctx.pool.clone();
            let submitted = tokio::task::spawn_blocking(move || pool.submit_and_watch(xt)).await;
            let mut statuses = match submitted {
                Ok(Ok((_, rx))) => rx,
                Ok(Err(e)) => {
                    pending.reject(author_error(e)).await;
                    return Ok(());
                }
                Err(e) => {
                    pending.reject(state_client(e)).await;
                    return Ok(());
                }
            };
            let sink = pending.accept().await?;
            loop {
                tokio::select! {
                    _ = sink.closed() => return Ok(()),
                    status = statuses.recv() => {
                        let Some(status) = status else { return Ok(()) };
                        if !send(&sink, &status_json(&status)).await || status.is_final() {
                            return Ok(());
                        }
                    }
                }
            }
        },
    );
}

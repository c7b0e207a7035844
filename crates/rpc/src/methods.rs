//! Request/response methods: `system_*`, `chain_*`, `state_*`, `author_*`
//! (submission), `grandpa_*`, `payment_*`, `umbra_*`.

use jsonrpsee::{
    types::{ErrorObjectOwned, Params},
    RpcModule,
};
use parity_scale_codec::{Decode, Encode};
use serde_json::{json, Value};
use umbra_consensus::grandpa;
use umbra_primitives::{
    block::OpaqueExtrinsic,
    sync::{StatePage, StorageChanges, SyncBatch, MAX_HEADER_BATCH, MAX_STATE_PAGE, MAX_SYNC_BATCH_BLOCKS},
    AccountId32, H256,
};
use umbra_runtime::{
    modules::{
        message_queue::{self, MessageOrigin},
        system,
    },
    weights::{DispatchClass, RuntimeDispatchInfo},
};

use crate::{
    error::{author_error, bad_format, chain_error, invalid_params, state_client},
    json::{self, Bytes, Hash, NumberOrHex},
    Context, MAX_CHANGES_RANGE, MAX_KEYS, MAX_PAGED_KEYS,
};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Longest runtime API method name accepted by `state_call`.
const MAX_METHOD_NAME: usize = 128;
/// Longest storage key a caller may name as a continuation.
const MAX_STORAGE_KEY_LEN: usize = 4096;

/// The block `at`, or the best block.
fn resolve(ctx: &Context, at: Option<Hash>) -> RpcResult<H256> {
    match at {
        Some(Hash(h)) => {
            if ctx.chain.header(&h).map_err(state_client)?.is_none() {
                return Err(state_client(format!("UnknownBlock: header not found for {h:?}")));
            }
            Ok(h)
        }
        None => Ok(ctx.chain.best().map_err(state_client)?.hash),
    }
}

fn seq2<A: serde::de::DeserializeOwned, B: serde::de::DeserializeOwned>(
    params: &Params<'_>,
) -> RpcResult<(A, Option<B>)> {
    let mut seq = params.sequence();
    let a: A = seq.next()?;
    let b: Option<B> = seq.optional_next()?;
    Ok((a, b))
}

fn opt1<A: serde::de::DeserializeOwned>(params: &Params<'_>) -> RpcResult<Option<A>> {
    if params.is_object() {
        return Err(invalid_params("expected positional parameters"));
    }
    let mut seq = params.sequence();
    seq.optional_next()
}

/// Decodes an extrinsic as `author_submit*` receives it: the full encoding.
pub(crate) fn decode_extrinsic(bytes: &[u8]) -> RpcResult<OpaqueExtrinsic> {
    let xt =
        OpaqueExtrinsic::from_encoded(bytes, umbra_runtime::weights::limits::MAX_EXTRINSIC_LEN).map_err(bad_format)?;
    umbra_runtime::extrinsic::decode(&xt).map_err(bad_format)?;
    Ok(xt)
}

/// Refuses an unsafe method on a server that does not serve them
/// (Substrate's error: -32601, "RPC call is unsafe to be called externally").
fn unsafe_allowed(ctx: &Context) -> RpcResult<()> {
    if ctx.unsafe_methods {
        return Ok(());
    }
    Err(jsonrpsee::types::ErrorObject::owned(-32601, "RPC call is unsafe to be called externally", None::<()>))
}

fn parse_account(s: &str) -> RpcResult<AccountId32> {
    AccountId32::parse(s).map_err(|e| invalid_params(format!("invalid account: {e}")))
}

fn changes_json(changes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>) -> Vec<Value> {
    changes.into_iter().map(|(k, v)| json!([Bytes(k), v.map(Bytes)])).collect()
}

#[allow(clippy::too_many_lines)]
pub(crate) fn register(module: &mut RpcModule<Context>) {
    // --- system ---
    let _ = module.register_method("system_name", |_, ctx, _| ctx.info.name.clone());
    let _ = module.register_method("system_version", |_, ctx, _| ctx.info.version.clone());
    let _ = module.register_method("system_chain", |_, ctx, _| ctx.info.chain_name.clone());
    let _ = module.register_method("system_chainType", |_, ctx, _| ctx.info.chain_type.clone());
    let _ = module.register_method("system_properties", |_, ctx, _| ctx.info.properties.clone());
    let _ = module.register_method("system_health", |_, ctx, _| match &ctx.network {
        Some(net) => json!({
            "peers": net.peers().len(),
            "isSyncing": net.is_syncing(),
            "shouldHavePeers": ctx.info.chain_type != "Development",
        }),
        None => json!({ "peers": 0, "isSyncing": false, "shouldHavePeers": false }),
    });
    let _ = module.register_method("system_peers", |_, ctx, _| -> Vec<Value> {
        let peers = ctx.network.as_ref().map(|n| n.peers()).unwrap_or_default();
        peers
            .into_iter()
            .map(|p| {
                json!({ "peerId": p.peer_id, "roles": p.roles, "bestHash": Hash(p.best_hash), "bestNumber": p.best_number })
            })
            .collect()
    });
    let _ = module.register_method("system_localPeerId", |_, ctx, _| ctx.info.peer_id.clone());
    let _ = module.register_method("system_localListenAddresses", |_, ctx, _| -> Vec<String> {
        ctx.network.as_ref().map(|n| n.listen_addresses()).unwrap_or_default()
    });
    let _ = module.register_method("system_networkState", |_, ctx, _| -> RpcResult<Value> {
        unsafe_allowed(ctx)?;
        Ok(ctx.network.as_ref().map(|n| n.network_state()).unwrap_or_else(|| json!({ "peerId": ctx.info.peer_id })))
    });
    let _ = module.register_method("system_addReservedPeer", |params, ctx, _| -> RpcResult<Value> {
        unsafe_allowed(ctx)?;
        let address: String = params.one()?;
        let net = ctx.network.as_ref().ok_or_else(|| invalid_params("the node runs no network"))?;
        net.add_reserved(&address).map_err(invalid_params)?;
        Ok(Value::Null)
    });
    let _ = module.register_method("system_removeReservedPeer", |params, ctx, _| -> RpcResult<Value> {
        unsafe_allowed(ctx)?;
        let peer: String = params.one()?;
        let net = ctx.network.as_ref().ok_or_else(|| invalid_params("the node runs no network"))?;
        net.remove_reserved(&peer).map_err(invalid_params)?;
        Ok(Value::Null)
    });
    let _ = module.register_method("system_nodeRoles", |_, ctx, _| {
        vec![if ctx.info.is_authority { "Authority" } else { "Full" }]
    });
    let _ = module.register_method("system_syncState", |_, ctx, _| -> RpcResult<Value> {
        let best = ctx.chain.best().map_err(chain_error)?;
        let (starting, highest) = match &ctx.network {
            Some(net) => (net.starting_block(), net.highest_block().unwrap_or(0).max(best.number)),
            None => (0, best.number),
        };
        Ok(json!({ "startingBlock": starting, "currentBlock": best.number, "highestBlock": highest }))
    });
    let _ = module.register_blocking_method("system_accountNextIndex", |params, ctx, _| -> RpcResult<u32> {
        let account: String = params.one()?;
        let who = parse_account(&account)?;
        let best = ctx.chain.best().map_err(state_client)?;
        let state = ctx.chain.state(&best.hash).map_err(state_client)?;
        let nonce = system::account(&umbra_runtime::state::Ext::new(&state), &who).nonce;
        Ok(ctx.pool.next_nonce(&who, nonce))
    });

    // --- chain ---
    let get_block_hash = |params: Params<'_>, ctx: &Context, _: &jsonrpsee::Extensions| -> RpcResult<Value> {
        if params.is_object() {
            return Err(invalid_params("expected positional parameters"));
        }
        let one = |n: Option<NumberOrHex>| -> RpcResult<Value> {
            let number = match n {
                None => return Ok(json!(Hash(ctx.chain.best().map_err(chain_error)?.hash))),
                Some(NumberOrHex(n)) => n,
            };
            let Ok(number) = u32::try_from(number) else { return Ok(Value::Null) };
            Ok(ctx.chain.db().hash_at(number).map_err(chain_error)?.map(|h| json!(Hash(h))).unwrap_or(Value::Null))
        };
        let raw: Option<Value> = params.sequence().optional_next()?;
        match raw {
            Some(Value::Array(items)) => {
                if items.len() > MAX_KEYS {
                    return Err(invalid_params("too many block numbers"));
                }
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let n: NumberOrHex = serde_json::from_value(item).map_err(|e| invalid_params(e.to_string()))?;
                    out.push(one(Some(n))?);
                }
                Ok(Value::Array(out))
            }
            Some(Value::Null) | None => one(None),
            Some(v) => one(Some(serde_json::from_value(v).map_err(|e| invalid_params(e.to_string()))?)),
        }
    };
    let _ = module.register_method("chain_getBlockHash", get_block_hash);
    let _ = module.register_alias("chain_getHead", "chain_getBlockHash");
    let _ = module.register_method("chain_getFinalizedHead", |_, ctx, _| -> RpcResult<Hash> {
        Ok(Hash(ctx.chain.finalized().map_err(chain_error)?.hash))
    });
    let _ = module.register_alias("chain_getFinalisedHead", "chain_getFinalizedHead");
    let _ = module.register_method("chain_getHeader", |params, ctx, _| -> RpcResult<Value> {
        let at: Option<Hash> = opt1(&params)?;
        let hash = match at {
            Some(Hash(h)) => h,
            None => ctx.chain.best().map_err(chain_error)?.hash,
        };
        Ok(ctx.chain.header(&hash).map_err(chain_error)?.map(|h| json::header(&h)).unwrap_or(Value::Null))
    });
    let _ = module.register_blocking_method("chain_getBlock", |params, ctx, _| -> RpcResult<Value> {
        let at: Option<Hash> = opt1(&params)?;
        let hash = match at {
            Some(Hash(h)) => h,
            None => ctx.chain.best().map_err(chain_error)?.hash,
        };
        let Some(header) = ctx.chain.header(&hash).map_err(chain_error)? else { return Ok(Value::Null) };
        let body = ctx.chain.db().body(&hash).map_err(chain_error)?.unwrap_or_default();
        let justifications = ctx
            .chain
            .db()
            .justification(&hash)
            .map_err(chain_error)?
            .map(|j| json!([[umbra_primitives::header::GRANDPA_ENGINE_ID, j]]))
            .unwrap_or(Value::Null);
        Ok(json!({
            "block": { "header": json::header(&header), "extrinsics": body.iter().map(|x| Bytes(x.encode())).collect::<Vec<_>>() },
            "justifications": justifications,
        }))
    });

    // --- state ---
    let _ = module.register_blocking_method("state_getStorage", |params, ctx, _| -> RpcResult<Option<Bytes>> {
        let (key, at): (Bytes, Option<Hash>) = seq2(&params)?;
        let hash = resolve(&ctx, at)?;
        let state = ctx.chain.state(&hash).map_err(state_client)?;
        Ok(state.get(&key.0).map_err(state_client)?.map(Bytes))
    });
    let _ = module.register_alias("state_getStorageAt", "state_getStorage");
    let _ = module.register_blocking_method("state_getStorageHash", |params, ctx, _| -> RpcResult<Option<Hash>> {
        let (key, at): (Bytes, Option<Hash>) = seq2(&params)?;
        let hash = resolve(&ctx, at)?;
        let state = ctx.chain.state(&hash).map_err(state_client)?;
        Ok(state.get(&key.0).map_err(state_client)?.map(|v| Hash(umbra_primitives::blake2_256(&v))))
    });
    let _ = module.register_blocking_method("state_getStorageSize", |params, ctx, _| -> RpcResult<Option<u64>> {
        let (key, at): (Bytes, Option<Hash>) = seq2(&params)?;
        let hash = resolve(&ctx, at)?;
        let state = ctx.chain.state(&hash).map_err(state_client)?;
        Ok(state.get(&key.0).map_err(state_client)?.map(|v| v.len() as u64))
    });
    let _ = module.register_blocking_method("state_getKeysPaged", |params, ctx, _| -> RpcResult<Vec<Bytes>> {
        let mut seq = params.sequence();
        let prefix: Option<Bytes> = seq.next()?;
        let count: u32 = seq.next()?;
        let start: Option<Bytes> = seq.optional_next()?;
        let at: Option<Hash> = seq.optional_next()?;
        if count > MAX_PAGED_KEYS {
            return Err(jsonrpsee::types::ErrorObject::owned(
                crate::codes::STATE_INVALID_COUNT,
                format!("count exceeds maximum value. value: {count}, max: {MAX_PAGED_KEYS}"),
                None::<()>,
            ));
        }
        let hash = resolve(&ctx, at)?;
        let state = ctx.chain.state(&hash).map_err(state_client)?;
        let prefix = prefix.map(|p| p.0).unwrap_or_default();
        let keys =
            state.keys_paged(&prefix, count as usize, start.as_ref().map(|s| s.0.as_slice())).map_err(state_client)?;
        Ok(keys.into_iter().map(Bytes).collect())
    });
    let _ = module.register_alias("state_getKeysPagedAt", "state_getKeysPaged");
    let _ = module.register_blocking_method("state_queryStorageAt", |params, ctx, _| -> RpcResult<Value> {
        let (keys, at): (Vec<Bytes>, Option<Hash>) = seq2(&params)?;
        if keys.len() > MAX_KEYS {
            return Err(invalid_params(format!("at most {MAX_KEYS} keys")));
        }
        let hash = resolve(&ctx, at)?;
        let state = ctx.chain.state(&hash).map_err(state_client)?;
        let mut changes = Vec::with_capacity(keys.len());
        for key in keys {
            let value = state.get(&key.0).map_err(state_client)?;
            changes.push((key.0, value));
        }
        Ok(json!([{ "block": Hash(hash), "changes": changes_json(changes) }]))
    });
    let _ = module.register_blocking_method("state_getReadProof", |params, ctx, _| -> RpcResult<Value> {
        let (keys, at): (Vec<Bytes>, Option<Hash>) = seq2(&params)?;
        if keys.len() > MAX_KEYS {
            return Err(invalid_params(format!("at most {MAX_KEYS} keys")));
        }
        let hash = resolve(&ctx, at)?;
        let state = ctx.chain.state(&hash).map_err(state_client)?;
        let keys: Vec<Vec<u8>> = keys.into_iter().map(|k| k.0).collect();
        let proof = state.read_proof(&keys).map_err(state_client)?;
        Ok(json!({ "at": Hash(hash), "proof": proof.nodes().map(|n| Bytes(n.to_vec())).collect::<Vec<_>>() }))
    });
    let _ = module.register_blocking_method("state_getMetadata", |params, ctx, _| -> RpcResult<Bytes> {
        let at: Option<Hash> = opt1(&params)?;
        let hash = resolve(&ctx, at)?;
        let state = ctx.chain.state(&hash).map_err(state_client)?;
        Ok(Bytes(ctx.chain.metadata_at(&state).map_err(state_client)?.as_ref().clone()))
    });
    let _ = module.register_blocking_method("state_getRuntimeVersion", |params, ctx, _| -> RpcResult<Value> {
        let at: Option<Hash> = opt1(&params)?;
        resolve(&ctx, at)?;
        Ok(json::runtime_version(&umbra_runtime::version()))
    });
    let _ = module.register_alias("chain_getRuntimeVersion", "state_getRuntimeVersion");
    let _ = module.register_blocking_method("state_call", |params, ctx, _| -> RpcResult<Bytes> {
        let mut seq = params.sequence();
        let method: String = seq.next()?;
        let data: Bytes = seq.next()?;
        let at: Option<Hash> = seq.optional_next()?;
        if method.len() > MAX_METHOD_NAME {
            return Err(invalid_params("runtime API method name too long"));
        }
        let hash = resolve(&ctx, at)?;
        ctx.chain
            .runtime_call(&hash, &method, &data.0)
            .map(Bytes)
            .map_err(|e| state_client(format!("Execution failed: {e}")))
    });
    let _ = module.register_alias("state_callAt", "state_call");

    // --- author ---
    let _ = module.register_blocking_method("author_submitExtrinsic", |params, ctx, _| -> RpcResult<Hash> {
        let bytes: Bytes = params.one()?;
        let xt = decode_extrinsic(&bytes.0)?;
        ctx.pool.submit(xt).map(Hash).map_err(author_error)
    });
    let _ = module.register_method("author_pendingExtrinsics", |_, ctx, _| {
        ctx.pool.pending().iter().map(|x| Bytes(x.encode())).collect::<Vec<_>>()
    });

    // --- grandpa ---
    let _ = module.register_method("grandpa_roundState", |_, ctx, _| -> RpcResult<Value> {
        let summary = ctx.grandpa.round_summary().ok_or_else(|| state_client("GRANDPA voter is not running"))?;
        let ids = |v: &[umbra_crypto::ed25519::Public]| -> Vec<String> {
            v.iter().map(|p| umbra_crypto::ss58::encode_account(42, &p.0).unwrap_or_default()).collect()
        };
        Ok(json!({
            "setId": summary.set_id,
            "best": {
                "round": summary.round,
                "totalWeight": summary.total_weight,
                "thresholdWeight": summary.threshold_weight,
                "prevotes": { "currentWeight": summary.prevote_weight, "missing": ids(&summary.missing_prevotes) },
                "precommits": { "currentWeight": summary.precommit_weight, "missing": ids(&summary.missing_precommits) },
            },
            "background": [],
        }))
    });
    let _ = module.register_blocking_method("grandpa_proveFinality", |params, ctx, _| -> RpcResult<Option<Bytes>> {
        let NumberOrHex(number) = params.one()?;
        let Ok(number) = u32::try_from(number) else { return Ok(None) };
        let proof = grandpa::prove_finality(&ctx.chain, number).map_err(state_client)?;
        Ok(proof.map(|p| Bytes(p.encode())))
    });

    // --- payment ---
    let _ = module.register_blocking_method("payment_queryInfo", |params, ctx, _| -> RpcResult<Value> {
        let (bytes, at): (Bytes, Option<Hash>) = seq2(&params)?;
        let xt = decode_extrinsic(&bytes.0)?;
        let hash = resolve(&ctx, at)?;
        let out = ctx
            .chain
            .runtime_call(&hash, "TransactionPaymentApi_query_info", &(&xt, bytes.0.len() as u32).encode())
            .map_err(state_client)?;
        let info = RuntimeDispatchInfo::decode(&mut &out[..]).map_err(state_client)?;
        let class = match info.class {
            DispatchClass::Normal => "normal",
            DispatchClass::Operational => "operational",
            DispatchClass::Mandatory => "mandatory",
        };
        Ok(json!({
            "weight": { "refTime": info.weight.ref_time, "proofSize": info.weight.proof_size },
            "class": class,
            "partialFee": info.partial_fee.to_string(),
        }))
    });

    // --- umbra ---
    let _ = module.register_blocking_method("umbra_getStorageChanges", |params, ctx, _| -> RpcResult<Value> {
        let (Hash(from), to): (Hash, Option<Hash>) = seq2(&params)?;
        let from_header = ctx
            .chain
            .header(&from)
            .map_err(state_client)?
            .ok_or_else(|| state_client(format!("UnknownBlock: {from:?}")))?;
        let to = match to {
            Some(Hash(h)) => h,
            None => ctx.chain.best().map_err(state_client)?.hash,
        };
        let to_header = ctx
            .chain
            .header(&to)
            .map_err(state_client)?
            .ok_or_else(|| state_client(format!("UnknownBlock: {to:?}")))?;
        if to_header.number < from_header.number {
            return Err(jsonrpsee::types::ErrorObject::owned(
                crate::codes::STATE_INVALID_BLOCK_RANGE,
                "Cannot resolve a block range: `to` is before `from`",
                None::<()>,
            ));
        }
        if to_header.number - from_header.number >= MAX_CHANGES_RANGE {
            return Err(jsonrpsee::types::ErrorObject::owned(
                crate::codes::STATE_INVALID_BLOCK_RANGE,
                format!("Cannot resolve a block range: at most {MAX_CHANGES_RANGE} blocks per call"),
                None::<()>,
            ));
        }
        // Walk back from `to` to `from` so forks are followed correctly.
        let mut blocks = Vec::new();
        let mut current = to_header;
        loop {
            let hash = current.hash();
            let changes = ctx.chain.db().changes(&hash).map_err(state_client)?.ok_or_else(|| {
                state_client(format!("storage changes of block {} are no longer kept", current.number))
            })?;
            blocks.push(json!({ "block": Hash(hash), "number": current.number, "changes": changes_json(changes) }));
            if hash == from {
                break;
            }
            if current.number <= from_header.number {
                return Err(jsonrpsee::types::ErrorObject::owned(
                    crate::codes::STATE_INVALID_BLOCK_RANGE,
                    "Cannot resolve a block range: `to` does not descend from `from`",
                    None::<()>,
                ));
            }
            current = ctx.chain.expect_header(&current.parent_hash).map_err(state_client)?;
        }
        blocks.reverse();
        Ok(Value::Array(blocks))
    });

    // --- relayer support: SCALE payloads (hex) for pRuntime ---
    let _ = module.register_method("umbra_getGenesisAnchor", |_, ctx, _| -> RpcResult<Bytes> {
        Ok(Bytes(ctx.chain.genesis_anchor().encode()))
    });
    let _ = module.register_blocking_method("umbra_getSyncBatch", |params, ctx, _| -> RpcResult<Option<Bytes>> {
        let mut seq = params.sequence();
        let from: u32 = seq.next()?;
        let max_blocks: u32 = seq.next()?;
        let with_changes: bool = seq.optional_next()?.unwrap_or(true);
        let start_after: Option<Bytes> = seq.optional_next()?;
        sync_batch(&ctx, from, max_blocks, with_changes, start_after.map(|b| b.0))
    });
    let _ = module.register_blocking_method("umbra_getStatePairs", |params, ctx, _| -> RpcResult<Bytes> {
        let mut seq = params.sequence();
        let Hash(at): Hash = seq.next()?;
        let start_after: Option<Bytes> = seq.optional_next()?;
        let count: Option<u32> = seq.optional_next()?;
        let count = count.unwrap_or(MAX_STATE_PAGE).clamp(1, MAX_STATE_PAGE) as usize;
        let state = ctx.chain.state(&at).map_err(state_client)?;
        let mut keys =
            state.keys_paged(&[], count + 1, start_after.as_ref().map(|b| b.0.as_slice())).map_err(state_client)?;
        let mut more = keys.len() > count;
        keys.truncate(count);
        let mut pairs = Vec::with_capacity(keys.len());
        let mut bytes = 0usize;
        for key in keys {
            // Cut at the byte budget (at least one pair): the caller
            // continues after the last key.
            if bytes >= ctx.sync_byte_budget {
                more = true;
                break;
            }
            let value = state.get(&key).map_err(state_client)?.unwrap_or_default();
            bytes = bytes.saturating_add(key.len() + value.len() + 8);
            pairs.push((key, value));
        }
        Ok(Bytes(StatePage { pairs, more }.encode()))
    });
    let _ = module.register_blocking_method("umbra_getMqNextSequence", |params, ctx, _| -> RpcResult<u64> {
        let (origin, at): (Bytes, Option<Hash>) = seq2(&params)?;
        let origin: MessageOrigin = umbra_primitives::decode_bounded(&origin.0, 1024)
            .map_err(|e| invalid_params(format!("message origin: {e}")))?;
        let hash = resolve(&ctx, at)?;
        let state = ctx.chain.state(&hash).map_err(state_client)?;
        let value = state.get(&message_queue::keys::next_sequence(&origin)).map_err(state_client)?;
        Ok(value.and_then(|v| u64::decode(&mut &v[..]).ok()).unwrap_or(0))
    });
}

/// Finalized headers from `from` up to the first block `J` at or after it
/// with a justification, at most `max_blocks` of them (then without the
/// justification), with each block's storage changes when asked — the first
/// block's only after `start_after`. With changes, the answer is cut at the
/// node's sync byte budget (at most `SYNC_BYTE_BUDGET`): at a block boundary (fewer headers, no
/// justification), or inside a block (`partial` names the last key sent).
fn sync_batch(
    ctx: &Context,
    from: u32,
    max_blocks: u32,
    with_changes: bool,
    start_after: Option<Vec<u8>>,
) -> RpcResult<Option<Bytes>> {
    let cap = if with_changes { MAX_SYNC_BATCH_BLOCKS } else { MAX_HEADER_BATCH };
    let max_blocks = max_blocks.clamp(1, cap);
    let finalized = ctx.chain.finalized().map_err(state_client)?;
    if from == 0 || from > finalized.number {
        return Ok(None);
    }
    if start_after.as_ref().is_some_and(|k| k.len() > MAX_STORAGE_KEY_LEN) || (start_after.is_some() && !with_changes) {
        return Err(invalid_params("start_after: a storage key (at most 4096 bytes) of a batch with changes"));
    }
    let justified = match ctx.chain.db().next_justified(from).map_err(state_client)? {
        Some(found) => Some(found),
        None => grandpa::latest_justification(&ctx.chain)
            .map_err(state_client)?
            .filter(|l| l.block.number >= from)
            .map(|l| (l.block, l.justification)),
    };
    let limit = from.saturating_add(max_blocks - 1).min(finalized.number);
    let (end, mut justification) = match justified {
        Some((target, j)) if target.number <= limit => (target.number, Some(j)),
        _ => (limit, None),
    };
    let mut headers = Vec::with_capacity((end - from + 1) as usize);
    let mut changes = Vec::new();
    let mut bytes = 0usize;
    let mut partial = None;
    for number in from..=end {
        if with_changes && bytes >= ctx.sync_byte_budget {
            // Cut at a block boundary: the justification belongs to `end`.
            justification = None;
            break;
        }
        let hash = ctx
            .chain
            .db()
            .hash_at(number)
            .map_err(state_client)?
            .ok_or_else(|| state_client(format!("no canonical block {number}")))?;
        headers.push(ctx.chain.expect_header(&hash).map_err(state_client)?);
        if with_changes {
            let block = ctx
                .chain
                .db()
                .changes(&hash)
                .map_err(state_client)?
                .ok_or_else(|| state_client(format!("storage changes of block {number} are no longer kept")))?;
            let skip = if number == from { start_after.as_deref() } else { None };
            let mut mine: StorageChanges = Vec::new();
            for (key, value) in block {
                if skip.is_some_and(|after| key.as_slice() <= after) {
                    continue;
                }
                if bytes >= ctx.sync_byte_budget && !mine.is_empty() {
                    // Cut inside this block: the rest after the last key.
                    partial = mine.last().map(|(k, _)| k.clone());
                    break;
                }
                bytes = bytes.saturating_add(key.len() + value.as_ref().map_or(0, Vec::len) + 8);
                mine.push((key, value));
            }
            changes.push(mine);
            if partial.is_some() {
                justification = None;
                break;
            }
        }
    }
    let batch = SyncBatch { headers, justification, changes: with_changes.then_some(changes), partial };
    Ok(Some(Bytes(batch.encode())))
}

//! The transaction pool bound to the chain: validation through the runtime
//! at the best block, and the adapters RPC and authoring use.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;
use umbra_consensus::{aura::TransactionProvider, Chain};
use umbra_primitives::{block::OpaqueExtrinsic, AccountId32, BlockNumber, H256};
use umbra_runtime::{
    validation::{self, TransactionSource, ValidTransaction},
    TransactionValidityError,
};
use umbra_txpool::{Limits, Pool, PoolError, TxStatus, Validator};

/// Validates with the runtime against a block's state.
pub struct RuntimeValidator {
    chain: Arc<Chain>,
}

impl Validator for RuntimeValidator {
    fn validate(&self, hash: H256, number: BlockNumber, xt: &OpaqueExtrinsic) -> Result<ValidTransaction, PoolError> {
        let state = self.chain.state(&hash).map_err(|e| PoolError::Validation(e.to_string()))?;
        let result = validation::validate_transaction(&state, hash, number, TransactionSource::External, xt);
        if let Some(e) = state.take_error() {
            return Err(PoolError::Validation(e.to_string()));
        }
        Ok(result?)
    }
}

/// The node's pool.
pub struct NodePool {
    pool: Pool<RuntimeValidator>,
    chain: Arc<Chain>,
    local: tokio::sync::broadcast::Sender<OpaqueExtrinsic>,
}

impl NodePool {
    /// A pool validating against `chain`.
    pub fn new(chain: Arc<Chain>, limits: Limits) -> Self {
        let (local, _) = tokio::sync::broadcast::channel(4096);
        NodePool { pool: Pool::new(RuntimeValidator { chain: chain.clone() }, limits), chain, local }
    }

    /// Transactions submitted to this node (RPC) and accepted, for the
    /// network to propagate.
    pub fn local_transactions(&self) -> tokio::sync::broadcast::Receiver<OpaqueExtrinsic> {
        self.local.subscribe()
    }

    /// A transaction from a peer: validated like any other, not announced
    /// again here (the gossip layer passes on what the pool accepts).
    pub fn submit_external(&self, xt: OpaqueExtrinsic) -> Result<H256, PoolError> {
        let (hash, number) = self.best()?;
        self.pool.submit(hash, number, xt)
    }

    /// The pool itself.
    pub fn inner(&self) -> &Pool<RuntimeValidator> {
        &self.pool
    }

    fn best(&self) -> Result<(H256, BlockNumber), PoolError> {
        let best = self.chain.best().map_err(|e| PoolError::Validation(e.to_string()))?;
        Ok((best.hash, best.number))
    }
}

impl umbra_rpc::PoolApi for NodePool {
    fn submit(&self, xt: OpaqueExtrinsic) -> Result<H256, PoolError> {
        let (hash, number) = self.best()?;
        let result = self.pool.submit(hash, number, xt.clone());
        if result.is_ok() {
            let _ = self.local.send(xt);
        }
        result
    }

    fn submit_and_watch(&self, xt: OpaqueExtrinsic) -> Result<(H256, UnboundedReceiver<TxStatus>), PoolError> {
        let (hash, number) = self.best()?;
        let result = self.pool.submit_and_watch(hash, number, xt.clone());
        if result.is_ok() {
            let _ = self.local.send(xt);
        }
        result
    }

    fn pending(&self) -> Vec<OpaqueExtrinsic> {
        self.pool.pending()
    }

    fn status(&self) -> (usize, usize) {
        self.pool.status()
    }

    fn next_nonce(&self, who: &AccountId32, state_nonce: u32) -> u32 {
        let mut nonce = state_nonce;
        while self.pool.provides(&validation::nonce_tag(who, nonce)) {
            nonce = nonce.wrapping_add(1);
        }
        nonce
    }
}

impl TransactionProvider for NodePool {
    fn ready(&self) -> Vec<(H256, OpaqueExtrinsic)> {
        self.pool.ready()
    }

    fn report_invalid(&self, invalid: &[(H256, TransactionValidityError)]) {
        for (hash, reason) in invalid {
            tracing::debug!(target: "umbra::txpool", ?hash, ?reason, "dropping transaction invalid at authoring");
        }
        self.pool.remove_invalid(invalid);
    }

    fn report_included(&self, included: &[H256]) {
        self.pool.remove_included(included);
    }
}

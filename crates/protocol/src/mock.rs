//! An in-memory [`PrivateApi`] for testing what drives pRuntime (the
//! relayer): it records every request and answers like a pRuntime that
//! believes whatever it is sent. It verifies nothing — never a stand-in for
//! pRuntime's own checks.

use std::sync::Mutex;

use umbra_primitives::{sync::GenesisAnchor, BlockNumber};
use umbra_runtime::modules::message_queue::SignedMessage;

use crate::{api, Error, PrivateApi, RegistrationData, Result};

/// What the mock holds and has been sent.
#[derive(Clone, Debug, Default)]
pub struct MockState {
    /// The status it reports.
    pub status: api::Status,
    /// Anchors `init` received.
    pub anchors: Vec<GenesisAnchor>,
    /// Header batches received.
    pub header_batches: Vec<api::HeadersRequest>,
    /// State loads received: (block, pairs).
    pub loads: Vec<(BlockNumber, usize)>,
    /// Blocks dispatched, in order.
    pub dispatched: Vec<BlockNumber>,
    /// What `/egress` returns.
    pub egress: Vec<SignedMessage>,
    /// What `/registration` returns (`None`: refused as not caught up).
    pub registration: Option<RegistrationData>,
    /// When set, every call is refused with this status and message.
    pub refuse: Option<(u16, String)>,
}

/// The mock.
#[derive(Debug, Default)]
pub struct MockPruntime {
    /// Its state, open to the test.
    pub state: Mutex<MockState>,
}

impl MockPruntime {
    /// A fresh, uninitialized mock.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, path: &str, f: impl FnOnce(&mut MockState) -> T) -> Result<T> {
        let mut state =
            self.state.lock().map_err(|_| Error::Transport { path: path.into(), message: "poisoned".into() })?;
        if let Some((status, message)) = &state.refuse {
            return Err(Error::Refused { path: path.into(), status: *status, message: message.clone() });
        }
        Ok(f(&mut state))
    }
}

fn refresh(state: &mut MockState) {
    let core = &mut state.status.core;
    core.caught_up = core.finality_progressed && core.synced_block == Some(core.headers_finalized);
    core.egress_pending = state.egress.len();
}

impl PrivateApi for MockPruntime {
    async fn status(&self) -> Result<api::Status> {
        self.with("/status", |s| s.status.clone())
    }

    async fn init(&self, anchor: &GenesisAnchor) -> Result<api::Status> {
        self.with("/init", |s| {
            s.anchors.push(anchor.clone());
            s.status.core.initialized = true;
            s.status.core.genesis_hash = Some(anchor.header.hash());
            refresh(s);
            s.status.clone()
        })
    }

    async fn sync_headers(&self, request: &api::HeadersRequest) -> Result<api::HeadersImported> {
        let from = request.headers.first().map(|h| h.number).unwrap_or_default();
        let last = request.headers.last().cloned();
        self.with("/sync_headers", |s| {
            s.header_batches.push(request.clone());
            let to = last.as_ref().map_or(s.status.core.headers_finalized, |h| h.number);
            s.status.core.headers_finalized = to;
            s.status.core.finality_progressed = true;
            refresh(s);
            api::HeadersImported { from, to, hash: last.map(|h| h.hash()).unwrap_or_default(), new_set_id: None }
        })
    }

    async fn load_state(&self, request: &api::LoadStateRequest) -> Result<api::Status> {
        self.with("/load_state", |s| {
            s.loads.push((request.block, request.pairs.len()));
            s.status.core.synced_block = Some(request.block);
            refresh(s);
            s.status.clone()
        })
    }

    async fn dispatch_blocks(&self, request: &api::DispatchRequest) -> Result<api::Dispatched> {
        self.with("/dispatch_blocks", |s| {
            s.dispatched.extend(request.blocks.iter().map(|(n, _)| *n));
            if let Some((last, _)) = request.blocks.last() {
                s.status.core.synced_block = Some(*last);
            }
            refresh(s);
            api::Dispatched { applied: request.blocks.len(), synced_block: s.status.core.synced_block }
        })
    }

    async fn egress(&self) -> Result<Vec<SignedMessage>> {
        self.with("/egress", |s| s.egress.clone())
    }

    async fn registration(&self) -> Result<RegistrationData> {
        self.with("/registration", |s| s.registration.clone())?.ok_or_else(|| Error::Refused {
            path: "/registration".into(),
            status: 503,
            message: "not caught up with the chain's finalized head yet".into(),
        })
    }
}

//! Test suites that hold a [`Store`] to the API's claims through the real handlers, on whichever
//! store they are given: the in-memory twin (the `logic` tests, no services) and DynamoDB Local (the
//! end-to-end tests). The same assertions on both are what makes the twin trustworthy.

mod approvals;
mod create;
pub mod http;
mod limits;
mod proxy;
mod read_path;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use egress_core::{ApprovalsService, CachedPolicySource, CreateService, CursorCodec, FileFetcher, ListService, Store};

pub use approvals::{
    approvals_expire, approvals_lifecycle, approvals_under_concurrency, grants_cover_only_the_path_shown,
};
pub use create::{idempotency_outcomes, rejected_inputs_write_nothing, replays_are_re_decided};
pub use limits::{ask as ask_in_zone, burst, not_near_a_window_end, rate_limits, LIMITS_POLICY};
pub use proxy::on_behalf_of_an_agent;
pub use read_path::read_path;

/// The API services, on one store and one policy source.
pub struct Services {
    pub create: CreateService,
    pub list: ListService,
    pub approvals: ApprovalsService,
}

/// The API services on `store`, in dev mode, with the policy file at `policy` re-read after `ttl`.
pub fn services(store: Arc<dyn Store>, policy: &Path, ttl: Duration) -> Services {
    let policy = Arc::new(CachedPolicySource::new(FileFetcher::new(policy), ttl));
    let cursors = || CursorCodec::new(&[42u8; 32]).expect("32-byte key");
    Services {
        create: CreateService {
            store: store.clone(),
            policy: policy.clone(),
            dev_mode: true,
            organization: None,
            idempotency_ttl: Duration::from_secs(3600),
            proxy_keys: Some(proxy_keys()),
        },
        list: ListService {
            store: store.clone(),
            policy: policy.clone(),
            cursors: cursors(),
            dev_mode: true,
        },
        approvals: ApprovalsService {
            store,
            policy,
            cursors: cursors(),
            dev_mode: true,
        },
    }
}

/// The audience of the test proxy tokens (the local stack's, `<stack>-egress-proxy` with stack `egress`).
pub const PROXY_AUDIENCE: &str = "egress-egress-proxy";

/// The proxy-token keys the test services verify with (a fixed test secret).
pub fn proxy_keys() -> Arc<egress_core::proxy_token::ProxyKeys> {
    Arc::new(egress_core::proxy_token::ProxyKeys::new(&[42u8; 32], None, PROXY_AUDIENCE).expect("32-byte secret"))
}

/// A policy file in the temp directory, removed when dropped.
pub struct PolicyFile(pub std::path::PathBuf);

impl PolicyFile {
    pub fn new(tag: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!("egress-{tag}-{}.yaml", ulid::Ulid::new()));
        std::fs::write(&path, text).expect("write policy");
        Self(path)
    }
    pub fn set(&self, text: &str) {
        std::fs::write(&self.0, text).expect("write policy");
    }
}

impl Drop for PolicyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

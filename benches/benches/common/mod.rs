//! What the DynamoDB and EventBridge benchmarks share: the runtime, the real policy and a realistic request
//! item decided by it.

use egress_core::{authorize_egress, CompiledPolicy, RequestItem, RequestRecord, Target};
use tokio::runtime::Runtime;

pub const POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/policy/default.yaml");

pub fn rt() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The repository's policy, compiled.
pub fn policy() -> CompiledPolicy {
    CompiledPolicy::from_yaml(&std::fs::read_to_string(POLICY).expect("policy")).expect("compiles")
}

/// A realistic request item, decided by the real policy.
pub fn item(policy: &CompiledPolicy, i: usize) -> RequestItem {
    let principal = format!("arn:aws:iam::000000000000:role/agent-{}", i % 50);
    let url = match i % 3 {
        0 => format!("https://api.github.com/repos/{i}"),
        1 => format!("https://pastebin.com/{i}"),
        _ => format!("https://example.org/{i}"),
    };
    let target = Target::from_url(&url).expect("target");
    let decision = authorize_egress(policy, &principal, "default", &target);
    RequestItem::new(RequestRecord::new(
        ulid::Ulid::new(),
        principal,
        egress_core::Identity::dev(),
        "default".into(),
        target,
        None,
        &decision,
    ))
}

//! Policy sources against real services: the SSM source against moto's server (started by the test
//! setup), and the file source. Caching, last-good on a bad update, fail closed with no policy at all.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use egress_core::{authorize_egress, Decision, Target};
use egress_core::{CachedPolicySource, FileFetcher, PolicySource, SsmFetcher};
use egress_core::{Effect, Reason};
use egress_e2e::*;

const GOOD: &str =
    "zones:\n  default:\n    members: ['*']\n    rules:\n      - {id: gh, effect: allow, hosts: [github.com]}\n";
const KILLED: &str = "kill_switch: {engaged: true, reason: drill}\nzones:\n  default:\n    members: ['*']\n";
const INVALID: &str =
    "zones:\n  default:\n    members: ['*']\n    rules:\n      - {id: bad, effect: allow, hosts: ['*example.com']}\n";
const TTL: Duration = Duration::from_millis(300);

async fn decide(src: &dyn PolicySource) -> Decision {
    let target = Target::from_url("https://github.com/").unwrap();
    match src.current().await {
        Some(p) => authorize_egress(&p, "agent", "default", &target),
        None => Decision::policy_unavailable(),
    }
}

async fn put(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .expect("put parameter");
}

#[tokio::test]
async fn ssm_source_caches_keeps_last_good_and_fails_closed() {
    let ssm = ssm().await;
    let name = format!("/egress-test/policy-{}", ulid::Ulid::new());

    // No parameter at all: fail closed.
    let src = CachedPolicySource::new(SsmFetcher::new(ssm.clone(), &name), TTL);
    let d = decide(&src).await;
    assert_eq!((d.effective(), d.reason()), (Effect::Deny, Reason::PolicyUnavailable));

    put(&ssm, &name, GOOD).await;
    tokio::time::sleep(TTL).await;
    let d = decide(&src).await;
    assert_eq!((d.effective(), d.reason()), (Effect::Allow, Reason::RuleAllow));
    let good_version = d.policy_version().unwrap().to_owned();

    // Within the TTL the cached policy answers, even though the parameter changed.
    put(&ssm, &name, KILLED).await;
    assert_eq!(decide(&src).await.reason(), Reason::RuleAllow);
    // After it, the kill switch is in force: no deploy, no restart.
    tokio::time::sleep(TTL).await;
    let d = decide(&src).await;
    assert_eq!((d.effective(), d.reason()), (Effect::Deny, Reason::KillSwitch));

    // An invalid update keeps the last good policy.
    put(&ssm, &name, GOOD).await;
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.policy_version(), Some(good_version.as_str()));
    put(&ssm, &name, INVALID).await;
    tokio::time::sleep(TTL).await;
    let d = decide(&src).await;
    assert_eq!(d.reason(), Reason::RuleAllow, "last good policy kept");
    assert_eq!(d.policy_version(), Some(good_version.as_str()));

    // A deleted policy fails closed.
    ssm.delete_parameter().name(&name).send().await.expect("delete");
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.reason(), Reason::PolicyUnavailable);

    // An invalid policy from the start fails closed too.
    put(&ssm, &name, INVALID).await;
    let fresh = CachedPolicySource::new(SsmFetcher::new(ssm.clone(), &name), TTL);
    assert_eq!(decide(&fresh).await.reason(), Reason::PolicyUnavailable);
}

#[tokio::test]
async fn ssm_source_keeps_last_good_when_ssm_is_unreachable() {
    let ssm = ssm().await;
    let name = format!("/egress-test/policy-{}", ulid::Ulid::new());
    put(&ssm, &name, GOOD).await;
    let outage = Outage::proxy_to(&moto_endpoint()).await;
    let conf = aws_sdk_ssm::config::Builder::from(&sdk_config(&outage.endpoint).await).build();
    let src = CachedPolicySource::new(SsmFetcher::new(aws_sdk_ssm::Client::from_conf(conf), &name), TTL);
    assert_eq!(decide(&src).await.reason(), Reason::RuleAllow);
    // SSM unreachable: a transient error keeps the last good policy (the kill switch stays as it was).
    outage.set_up(false);
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.reason(), Reason::RuleAllow);
    // Back: changes apply again.
    put(&ssm, &name, KILLED).await;
    outage.set_up(true);
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.reason(), Reason::KillSwitch);
    // Never loaded and unreachable: closed.
    outage.set_up(false);
    let conf = aws_sdk_ssm::config::Builder::from(&sdk_config(&outage.endpoint).await).build();
    let cold = CachedPolicySource::new(SsmFetcher::new(aws_sdk_ssm::Client::from_conf(conf), &name), TTL);
    assert_eq!(decide(&cold).await.reason(), Reason::PolicyUnavailable);
}

#[tokio::test]
async fn file_source_reloads_keeps_last_good_and_fails_closed() {
    let path = std::env::temp_dir().join(format!("egress-policy-{}.yaml", ulid::Ulid::new()));
    std::fs::write(&path, GOOD).unwrap();
    let src = CachedPolicySource::new(FileFetcher::new(&path), TTL);
    assert_eq!(decide(&src).await.reason(), Reason::RuleAllow);
    std::fs::write(&path, INVALID).unwrap();
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.reason(), Reason::RuleAllow, "last good kept");
    std::fs::write(&path, KILLED).unwrap();
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.reason(), Reason::KillSwitch);
    std::fs::remove_file(&path).unwrap();
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.reason(), Reason::PolicyUnavailable);
}

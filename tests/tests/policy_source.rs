//! Policy sources against real services: the SSM and S3 sources and the kill-switch parameter against
//! moto's server (started by the test setup; outages through a proxy that stops answering), and the file
//! source. Caching, last good on a bad update or an outage, fail closed with no policy at all.

use std::sync::Arc;
use std::time::Duration;

use egress_core::{authorize_egress, Decision, Target};
use egress_core::{
    CachedPolicySource, FetchError, Fetched, FileFetcher, KillSwitchGuard, KillSwitchState, PolicyFetcher,
    PolicySource, S3Fetcher, S3Location, SsmFetcher,
};
use egress_core::{Effect, Metric, Reason};
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

#[tokio::test]
async fn ssm_source_caches_keeps_last_good_and_fails_closed() {
    let ssm = ssm().await;
    let name = format!("/egress-test/policy-{}", ulid::Ulid::new());

    // No parameter at all: fail closed.
    let src = CachedPolicySource::new(SsmFetcher::new(ssm.clone(), &name), TTL);
    let d = decide(&src).await;
    assert_eq!((d.effective(), d.reason()), (Effect::Deny, Reason::PolicyUnavailable));

    put_parameter(&name, GOOD).await;
    tokio::time::sleep(TTL).await;
    let d = decide(&src).await;
    assert_eq!((d.effective(), d.reason()), (Effect::Allow, Reason::RuleAllow));
    let good_version = d.policy_version().unwrap().to_owned();

    // Within the TTL the cached policy answers, even though the parameter changed.
    put_parameter(&name, KILLED).await;
    assert_eq!(decide(&src).await.reason(), Reason::RuleAllow);
    // After it, the kill switch is in force: no deploy, no restart.
    tokio::time::sleep(TTL).await;
    let d = decide(&src).await;
    assert_eq!((d.effective(), d.reason()), (Effect::Deny, Reason::KillSwitch));

    // An invalid update keeps the last good policy.
    put_parameter(&name, GOOD).await;
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.policy_version(), Some(good_version.as_str()));
    put_parameter(&name, INVALID).await;
    tokio::time::sleep(TTL).await;
    let d = decide(&src).await;
    assert_eq!(d.reason(), Reason::RuleAllow, "last good policy kept");
    assert_eq!(d.policy_version(), Some(good_version.as_str()));

    // A deleted policy fails closed.
    ssm.delete_parameter().name(&name).send().await.expect("delete");
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.reason(), Reason::PolicyUnavailable);

    // An invalid policy from the start fails closed too.
    put_parameter(&name, INVALID).await;
    let fresh = CachedPolicySource::new(SsmFetcher::new(ssm.clone(), &name), TTL);
    assert_eq!(decide(&fresh).await.reason(), Reason::PolicyUnavailable);
}

#[tokio::test]
async fn ssm_source_keeps_last_good_when_ssm_is_unreachable() {
    let name = format!("/egress-test/policy-{}", ulid::Ulid::new());
    put_parameter(&name, GOOD).await;
    let outage = Outage::proxy_to(&moto_endpoint()).await;
    let conf = aws_sdk_ssm::config::Builder::from(&sdk_config(&outage.endpoint).await).build();
    let src = CachedPolicySource::new(SsmFetcher::new(aws_sdk_ssm::Client::from_conf(conf), &name), TTL);
    assert_eq!(decide(&src).await.reason(), Reason::RuleAllow);
    // SSM unreachable: a transient error keeps the last good policy (the kill switch stays as it was).
    outage.set_up(false);
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.reason(), Reason::RuleAllow);
    // Back: changes apply again.
    put_parameter(&name, KILLED).await;
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

/// A versioned bucket in moto's S3 holding one policy object.
async fn bucket_with(key: &str, body: &str) -> (aws_sdk_s3::Client, String) {
    let s3 = s3().await;
    let bucket = format!("egress-policy-{}", ulid::Ulid::new().to_string().to_lowercase());
    s3.create_bucket().bucket(&bucket).send().await.expect("create bucket");
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
    put_object(&s3, &bucket, key, body).await;
    (s3, bucket)
}

async fn put_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .expect("put object");
}

async fn delete_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) {
    s3.delete_object().bucket(bucket).key(key).send().await.expect("delete");
}

fn location(bucket: &str, key: &str) -> S3Location {
    format!("s3://{bucket}/{key}").parse().unwrap()
}

#[tokio::test]
async fn s3_fetcher_gets_conditionally_and_reports_deletion() {
    let key = "egress/policy.yaml";
    let (s3, bucket) = bucket_with(key, GOOD).await;
    let fetcher = S3Fetcher::new(s3.clone(), location(&bucket, key));
    assert_eq!(fetcher.fetch().await.unwrap(), Fetched::Document(GOOD.into()));
    // The same version again: a 304, no body.
    assert_eq!(fetcher.fetch().await.unwrap(), Fetched::Unchanged);
    assert_eq!(fetcher.fetch().await.unwrap(), Fetched::Unchanged);
    put_object(&s3, &bucket, key, KILLED).await;
    assert_eq!(fetcher.fetch().await.unwrap(), Fetched::Document(KILLED.into()));
    // Deleted in a versioned bucket (a delete marker): not found, not an outage.
    delete_object(&s3, &bucket, key).await;
    assert!(matches!(fetcher.fetch().await, Err(FetchError::NotFound(_))));
    // Put back with the same bytes as before the deletion: read again, not "unchanged".
    put_object(&s3, &bucket, key, KILLED).await;
    assert_eq!(fetcher.fetch().await.unwrap(), Fetched::Document(KILLED.into()));
    // A missing bucket is not the policy's absence but a misconfiguration: an outage, last good kept.
    let nobucket = S3Fetcher::new(s3.clone(), location("egress-no-such-bucket-x1", key));
    assert!(matches!(
        nobucket.fetch().await,
        Err(FetchError::Unavailable(_)) | Err(FetchError::NotFound(_))
    ));
    // Not text: refused like an invalid policy.
    s3.put_object()
        .bucket(&bucket)
        .key("binary")
        .body(vec![0xff, 0xfe, 0x00].into())
        .send()
        .await
        .unwrap();
    let binary = S3Fetcher::new(s3.clone(), location(&bucket, "binary"));
    assert!(matches!(binary.fetch().await, Err(FetchError::Invalid(_))));
}

#[tokio::test]
async fn s3_source_keeps_last_good_through_an_outage_and_fails_closed_when_deleted() {
    let key = "policy.json";
    let (s3, bucket) = bucket_with(key, GOOD).await;
    let outage = Outage::proxy_to(&moto_endpoint()).await;
    let conf = aws_sdk_s3::config::Builder::from(&sdk_config(&outage.endpoint).await).build();
    let src = CachedPolicySource::new(
        S3Fetcher::new(aws_sdk_s3::Client::from_conf(conf.clone()), location(&bucket, key)),
        TTL,
    );
    let d = decide(&src).await;
    assert_eq!((d.effective(), d.reason()), (Effect::Allow, Reason::RuleAllow));
    let good_version = d.policy_version().unwrap().to_owned();

    // S3 unreachable: the last good policy answers.
    outage.set_up(false);
    put_object(&s3, &bucket, key, KILLED).await;
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.policy_version(), Some(good_version.as_str()));
    // Back: the new version applies.
    outage.set_up(true);
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.reason(), Reason::KillSwitch);
    // Deleted: closed.
    delete_object(&s3, &bucket, key).await;
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.reason(), Reason::PolicyUnavailable);
    // Restored: open again.
    put_object(&s3, &bucket, key, GOOD).await;
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&src).await.policy_version(), Some(good_version.as_str()));

    // Unreachable at cold start: closed.
    outage.set_up(false);
    let cold = CachedPolicySource::new(
        S3Fetcher::new(aws_sdk_s3::Client::from_conf(conf), location(&bucket, key)),
        TTL,
    );
    assert_eq!(decide(&cold).await.reason(), Reason::PolicyUnavailable);
}

/// Every refresh that finds an invalid document counts `PolicyRejected` (from the S3 source a 304 of the
/// rejected version counts too), so the alarm stays on until the document is fixed; the fix stops it.
#[tokio::test]
async fn an_invalid_document_is_counted_on_every_refresh_until_fixed() {
    egress_core::capture_metrics();
    let key = "policy.yaml";
    let (s3, bucket) = bucket_with(key, GOOD).await;
    let fetcher = S3Fetcher::new(s3.clone(), location(&bucket, key));
    let source = fetcher.describe();
    let src = CachedPolicySource::new(fetcher, TTL);
    let good = decide(&src).await.policy_version().unwrap().to_owned();
    put_object(&s3, &bucket, key, INVALID).await;
    for _ in 0..3 {
        tokio::time::sleep(TTL).await;
        assert_eq!(
            decide(&src).await.policy_version(),
            Some(good.as_str()),
            "last good kept"
        );
    }
    let lines = egress_core::captured_metrics();
    let rejected = captured(&lines, Metric::PolicyRejected, &[("source", source.as_str())]);
    assert_eq!(rejected.len(), 3, "one per refresh: {rejected:?}");
    // The process's namespace: the stack's when the environment names one (as the local stack's does).
    assert_eq!(
        rejected[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        egress_core::metrics_namespace()
    );
    put_object(&s3, &bucket, key, GOOD).await;
    for _ in 0..2 {
        tokio::time::sleep(TTL).await;
        assert_eq!(decide(&src).await.policy_version(), Some(good.as_str()));
    }
    let lines = egress_core::captured_metrics();
    assert!(captured(&lines, Metric::PolicyRejected, &[("source", source.as_str())]).is_empty());
}

/// The kill-switch parameter over a policy source: engaged within its refresh age whatever the document
/// says, off again when set back; deleted or unreadable at cold start is engaged; an outage later keeps
/// the state; the document's own kill switch still applies when the parameter is off.
#[tokio::test]
async fn kill_switch_parameter_overrides_the_document_and_fails_closed() {
    let ssm = ssm().await;
    let policy_name = format!("/egress-test/policy-{}", ulid::Ulid::new());
    let switch = format!("/egress-test/kill-switch-{}", ulid::Ulid::new());
    put_parameter(&policy_name, GOOD).await;
    put_parameter(&switch, "off").await;
    let policy: Arc<dyn PolicySource> =
        Arc::new(CachedPolicySource::new(SsmFetcher::new(ssm.clone(), &policy_name), TTL));
    let outage = Outage::proxy_to(&moto_endpoint()).await;
    let conf = aws_sdk_ssm::config::Builder::from(&sdk_config(&outage.endpoint).await).build();
    let via_outage = aws_sdk_ssm::Client::from_conf(conf);
    let guard = KillSwitchGuard::new(Arc::clone(&policy), SsmFetcher::new(via_outage.clone(), &switch), TTL);
    assert_eq!(guard.refresh().await, KillSwitchState::Off);
    assert_eq!(decide(&guard).await.reason(), Reason::RuleAllow);

    put_parameter(&switch, "incident-7: exfiltration suspected").await;
    tokio::time::sleep(TTL).await;
    let d = decide(&guard).await;
    assert_eq!((d.effective(), d.reason()), (Effect::Deny, Reason::KillSwitch));
    let overlaid = guard.current().await.unwrap();
    assert_eq!(
        overlaid.kill_switch_reason(),
        Some("incident-7: exfiltration suspected")
    );
    assert!(
        !policy.current().await.unwrap().kill_switch_engaged(),
        "the document itself is untouched"
    );
    // Laid over once per state: the same overlay answers until something changes.
    assert!(Arc::ptr_eq(&overlaid, &guard.current().await.unwrap()));

    // An outage keeps the state it had (engaged here) ...
    outage.set_up(false);
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&guard).await.reason(), Reason::KillSwitch);
    outage.set_up(true);
    // ... and off again when set back.
    put_parameter(&switch, "off").await;
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&guard).await.reason(), Reason::RuleAllow);
    outage.set_up(false);
    tokio::time::sleep(TTL).await;
    assert_eq!(
        decide(&guard).await.reason(),
        Reason::RuleAllow,
        "an outage keeps off too"
    );
    outage.set_up(true);

    // The document's own switch applies with the parameter off.
    put_parameter(&policy_name, KILLED).await;
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&guard).await.reason(), Reason::KillSwitch);
    put_parameter(&policy_name, GOOD).await;
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&guard).await.reason(), Reason::RuleAllow);

    // Deleted: engaged.
    ssm.delete_parameter().name(&switch).send().await.expect("delete");
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&guard).await.reason(), Reason::KillSwitch);

    // Unreadable at cold start: engaged, until it can be read.
    put_parameter(&switch, "off").await;
    outage.set_up(false);
    let cold = KillSwitchGuard::new(Arc::clone(&policy), SsmFetcher::new(via_outage, &switch), TTL);
    assert!(matches!(cold.refresh().await, KillSwitchState::Engaged { .. }));
    assert_eq!(decide(&cold).await.reason(), Reason::KillSwitch);
    outage.set_up(true);
    tokio::time::sleep(TTL).await;
    assert_eq!(decide(&cold).await.reason(), Reason::RuleAllow);
}

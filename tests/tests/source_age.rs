//! Staleness is visible: the policy source and the kill-switch parameter each write their age
//! (`PolicyAgeSeconds`, `KillSwitchAgeSeconds`) at every refresh, against moto's SSM through a proxy the
//! test switches off. The age grows while the source fails (the last good state still answers, as it
//! must) and is back to zero once the source answers; `KillSwitchEngaged` says what is in force. A
//! process of its own: it captures the metric lines of the whole process.

use std::sync::Arc;
use std::time::Duration;

use egress_core::{authorize_egress, CachedPolicySource, KillSwitchGuard, Metric, PolicyFetcher, PolicySource};
use egress_core::{Reason, SsmFetcher, Target};
use egress_e2e::*;

const GOOD: &str =
    "zones:\n  default:\n    members: ['*']\n    rules:\n      - {id: gh, effect: allow, hosts: [github.com]}\n";
const TTL: Duration = Duration::from_millis(300);
const OUTAGE_REFRESHES: usize = 4;

async fn reason(src: &dyn PolicySource) -> Option<Reason> {
    let target = Target::from_url("https://github.com/").unwrap();
    let p = src.current().await?;
    Some(authorize_egress(&p, "agent", "default", &target).reason())
}

#[tokio::test]
async fn a_failing_source_shows_as_an_age_that_grows() {
    egress_core::capture_metrics();
    let (policy_name, switch_name) = (
        format!("/egress-test/policy-{}", ulid::Ulid::new()),
        format!("/egress-test/kill-switch-{}", ulid::Ulid::new()),
    );
    for (name, value) in [(&policy_name, GOOD), (&switch_name, "off")] {
        put_parameter(name, value).await;
    }
    let outage = Outage::proxy_to(&moto_endpoint()).await;
    let conf = aws_sdk_ssm::config::Builder::from(&sdk_config(&outage.endpoint).await).build();
    let via_outage = aws_sdk_ssm::Client::from_conf(conf);
    let (policy_fetcher, switch_fetcher) = (
        SsmFetcher::new(via_outage.clone(), &policy_name),
        SsmFetcher::new(via_outage, &switch_name),
    );
    let sources = [
        (Metric::PolicyAgeSeconds, policy_fetcher.describe()),
        (Metric::KillSwitchAgeSeconds, switch_fetcher.describe()),
    ];
    let policy: Arc<dyn PolicySource> = Arc::new(CachedPolicySource::new(policy_fetcher, TTL));
    let guard = KillSwitchGuard::new(policy, switch_fetcher, TTL);
    assert_eq!(reason(&guard).await, Some(Reason::RuleAllow));

    outage.set_up(false);
    for _ in 0..OUTAGE_REFRESHES {
        tokio::time::sleep(TTL).await;
        assert_eq!(
            reason(&guard).await,
            Some(Reason::RuleAllow),
            "the last good state answers"
        );
    }
    outage.set_up(true);
    tokio::time::sleep(TTL).await;
    assert_eq!(reason(&guard).await, Some(Reason::RuleAllow));

    let lines = egress_core::captured_metrics();
    for (metric, source) in &sources {
        let points = captured(&lines, *metric, &[("source", source)]);
        assert_eq!(
            points.len(),
            OUTAGE_REFRESHES + 2,
            "{metric:?}: one point per refresh: {points:?}"
        );
        assert_eq!(
            points[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Seconds"
        );
        let ages: Vec<f64> = points.iter().filter_map(|p| p[metric.as_str()].as_f64()).collect();
        let during = &ages[1..=OUTAGE_REFRESHES];
        assert!(ages[0] < 0.1, "{metric:?}: a good read is age 0: {ages:?}");
        assert!(
            during.windows(2).all(|w| w[1] > w[0]),
            "{metric:?}: grows while failing: {ages:?}"
        );
        let outage_secs = (TTL * OUTAGE_REFRESHES as u32).as_secs_f64();
        assert!(
            during[OUTAGE_REFRESHES - 1] >= outage_secs * 0.9,
            "{metric:?}: {ages:?}"
        );
        assert!(
            ages[OUTAGE_REFRESHES + 1] < 0.1,
            "{metric:?}: back to 0 when the source answers: {ages:?}"
        );
    }

    // KillSwitchEngaged follows the state in force: 0 so far (the outage kept `off`), 1 with the reason once
    // the parameter engages it.
    let switch_source = &sources[1].1;
    let engaged = |lines: &[String]| -> Vec<(u64, String)> {
        captured(lines, Metric::KillSwitchEngaged, &[("source", switch_source)])
            .iter()
            .map(|p| {
                (
                    p["KillSwitchEngaged"].as_u64().unwrap_or(9),
                    p["reason"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let so_far = engaged(&lines);
    assert_eq!(so_far.len(), OUTAGE_REFRESHES + 2, "{so_far:?}");
    assert!(so_far.iter().all(|(v, _)| *v == 0), "{so_far:?}");
    put_parameter(&switch_name, "INC-9: drill").await;
    tokio::time::sleep(TTL).await;
    assert_eq!(reason(&guard).await, Some(Reason::KillSwitch));
    let now = engaged(&egress_core::captured_metrics());
    assert_eq!(now, vec![(1, "INC-9: drill".to_owned())]);
}

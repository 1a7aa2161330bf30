//! Metrics in CloudWatch embedded metric format: one JSON line on stdout per data point, which CloudWatch
//! Logs turns into metrics (no API call, no agent). The names and dimension sets are the contract of
//! docs/DESIGN.md ("Metrics and operations"); alarms and the dashboard in template.yaml read them. The
//! namespace is `EgressGateway`, or `EGRESS_METRICS_NAMESPACE` (the template scopes it to the stack, so two
//! stacks in one account do not mix their metrics).

use std::sync::{Mutex, OnceLock};

use serde_json::{json, Map, Value};

use crate::{approval::ApprovalRecord, request::RequestRecord};

/// The CloudWatch namespace written unless `EGRESS_METRICS_NAMESPACE` names another (see [`namespace`]).
pub const NAMESPACE: &str = "EgressGateway";

/// The namespace this process writes: `EGRESS_METRICS_NAMESPACE`, else [`NAMESPACE`].
pub fn namespace() -> &'static str {
    static NS: OnceLock<String> = OnceLock::new();
    NS.get_or_init(|| {
        std::env::var(crate::env::METRICS_NAMESPACE)
            .ok()
            .filter(|n| !n.is_empty() && n.len() <= 255)
            .unwrap_or_else(|| NAMESPACE.to_owned())
    })
}

crate::wire_enum::wire_enum! {
    /// Every metric the functions emit.
    #[allow(clippy::enum_variant_names)]
    pub enum Metric in "PascalCase" {
        /// A recorded decision (create-request), by `[decision, reason]`, `[zone, decision]`, `[mode]` and
        /// `[mode, policy_decision]` (what enforce would have done, in shadow).
        Decisions,
        /// A policy edit rejected as invalid; the last good policy stays in force.
        PolicyRejected,
        /// A request decided without a policy (none could be read): denied as `policy_unavailable`.
        PolicyUnavailable,
        /// Events PutEvents accepted (publish-events).
        EventsPublished,
        /// Events PutEvents rejected, or too large to send (publish-events).
        EventsRejected,
        /// An approval granted or denied (approvals).
        ApprovalsDecided,
        /// A proxy token minted (proxy-tokens); `token_id` is a property, the token never.
        ProxyTokensMinted,
        /// Seconds since the policy source was last read well (the policy in force is what it holds),
        /// written at every refresh attempt; `source` is a property. Grows while the source fails.
        PolicyAgeSeconds,
        /// Seconds since the kill-switch parameter was last read, written at every refresh attempt;
        /// `source` is a property. Grows while the parameter cannot be read (or is missing).
        KillSwitchAgeSeconds,
        /// 1 while the kill-switch parameter engages the switch (a missing one included), else 0; written
        /// at every refresh attempt, with `source` and `reason` as properties.
        KillSwitchEngaged,
    }
}

impl Metric {
    /// The CloudWatch unit of the metric's values.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::PolicyAgeSeconds | Metric::KillSwitchAgeSeconds => "Seconds",
            _ => "Count",
        }
    }
}

#[cfg(feature = "aws")]
tokio::task_local! {
    /// The Lambda request id of the invocation whose handler is running (`init::in_invocation`).
    pub(crate) static INVOCATION: std::sync::Arc<str>;
}

/// The running invocation's Lambda request id, if any.
fn invocation() -> Option<std::sync::Arc<str>> {
    #[cfg(feature = "aws")]
    return INVOCATION
        .try_with(std::sync::Arc::clone)
        .ok()
        .filter(|id| !id.is_empty());
    #[cfg(not(feature = "aws"))]
    None
}

/// Where lines go: stdout, or (tests) a buffer. One sink per process, like stdout.
static CAPTURE: Mutex<Option<Vec<String>>> = Mutex::new(None);

/// One EMF line: `value` of `metric`, with the dimension sets and the properties (dimension values, and
/// searchable context such as a request id) at the top level.
pub fn line(metric: Metric, value: u64, dimension_sets: &[&[&str]], properties: &[(&str, &str)]) -> String {
    line_of(metric, json!(value), dimension_sets, properties)
}

fn line_of(metric: Metric, value: Value, dimension_sets: &[&[&str]], properties: &[(&str, &str)]) -> String {
    let timestamp = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": namespace(),
                "Dimensions": dimension_sets,
                "Metrics": [{"Name": metric.as_str(), "Unit": metric.unit()}],
            }],
        }),
    );
    for (k, v) in properties {
        root.insert((*k).to_owned(), Value::String((*v).to_owned()));
    }
    if let Some(id) = invocation() {
        root.insert("requestId".into(), Value::String(id.to_string()));
    }
    root.insert(metric.as_str().to_owned(), value);
    Value::Object(root).to_string()
}

/// Writes one data point.
pub fn emit(metric: Metric, value: u64, dimension_sets: &[&[&str]], properties: &[(&str, &str)]) {
    write(line(metric, value, dimension_sets, properties));
}

/// Writes whether the kill switch is engaged (1) or not (0) after a read of `source`, and why.
pub fn kill_switch_engaged(engaged: bool, source: &str, reason: &str) {
    emit(
        Metric::KillSwitchEngaged,
        u64::from(engaged),
        &[&[]],
        &[("source", source), ("reason", reason)],
    );
}

/// Writes how old a source's state is (`PolicyAgeSeconds`, `KillSwitchAgeSeconds`), to the millisecond,
/// without dimensions; `source` names it in the line.
pub fn age(metric: Metric, age: std::time::Duration, source: &str) {
    let seconds = (age.as_millis() as f64) / 1000.0;
    write(line_of(metric, json!(seconds), &[&[]], &[("source", source)]));
}

fn write(l: String) {
    let mut capture = CAPTURE.lock().unwrap_or_else(|p| p.into_inner());
    match capture.as_mut() {
        Some(lines) => lines.push(l),
        None => println!("{l}"),
    }
}

/// The `zone` dimension of a request whose zone the policy does not define. A caller names its zone, and
/// every distinct dimension value is a custom metric CloudWatch bills: only the policy's zones (bounded by
/// whoever writes the policy) become dimension values. Zone names are lowercase letters, digits and `-`,
/// so no zone can be called this.
pub const UNKNOWN_ZONE: &str = "_unknown";

/// The decision metric of a recorded request (the request id is a property: logs find the line).
/// `zone_defined`: whether the policy that decided defines the request's zone; if not, the dimension is
/// [`UNKNOWN_ZONE`] and the zone as asked is the property `zone_requested`, for the logs.
pub fn decision(record: &RequestRecord, zone_defined: bool) {
    let zone = if zone_defined {
        record.zone.as_str()
    } else {
        UNKNOWN_ZONE
    };
    emit(
        Metric::Decisions,
        1,
        &[
            &["decision", "reason"],
            &["zone", "decision"],
            &["mode"],
            &["mode", "policy_decision"],
        ],
        &[
            ("decision", record.decision.as_str()),
            ("policy_decision", record.policy_decision.as_str()),
            ("reason", record.reason.as_str()),
            ("zone", zone),
            ("zone_requested", &record.zone),
            ("mode", record.mode.as_str()),
            ("request_id", &record.request_id),
            // For the runbook's Logs Insights queries (decisions per rule, top denied hosts); the host is
            // what the record stores too (never a path or query, where secrets could be).
            ("rule", record.rule.as_deref().unwrap_or("")),
            ("host", &record.target.host().to_string()),
        ],
    );
    if record.reason == crate::policy::Reason::PolicyUnavailable {
        count(Metric::PolicyUnavailable, 1);
    }
}

/// A refresh that found an invalid document in `source` (named as a property, for the logs).
pub fn policy_rejected(source: &str) {
    emit(Metric::PolicyRejected, 1, &[&[]], &[("source", source)]);
}

/// A decided approval (the approval id is a property).
pub fn approval_decided(approval: &ApprovalRecord) {
    emit(
        Metric::ApprovalsDecided,
        1,
        &[&[], &["decision"]],
        &[
            ("decision", approval.state.as_str()),
            ("zone", &approval.zone),
            ("approval_id", &approval.approval_id),
        ],
    );
}

/// What one invocation of the publisher did: events PutEvents accepted, and the events of the records
/// it hands back to the event source (an entry rejected, a failed call, an event too large to send).
pub fn published(accepted: u64, given_back: u64) {
    count(Metric::EventsPublished, accepted);
    count(Metric::EventsRejected, given_back);
}

/// A metric without dimensions.
pub fn count(metric: Metric, value: u64) {
    emit(metric, value, &[&[]], &[]);
}

/// Collects the lines emitted from now on instead of printing them (tests); `take_captured` ends it.
pub fn capture() {
    *CAPTURE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
}

/// The lines collected since [`capture`], which goes on.
pub fn take_captured() -> Vec<String> {
    CAPTURE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_mut()
        .map(std::mem::take)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_embedded_metric_format() {
        let l = line(
            Metric::Decisions,
            1,
            &[&["decision", "reason"], &["mode"]],
            &[("decision", "allow"), ("reason", "rule_allow"), ("mode", "enforce")],
        );
        let v: Value = serde_json::from_str(&l).unwrap();
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(
            m["Namespace"],
            namespace(),
            "the environment's namespace, else the default"
        );
        assert_eq!(m["Dimensions"], json!([["decision", "reason"], ["mode"]]));
        assert_eq!(m["Metrics"], json!([{"Name": "Decisions", "Unit": "Count"}]));
        assert!(v["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
        assert_eq!(
            (v["Decisions"].as_u64(), v["decision"].as_str()),
            (Some(1), Some("allow"))
        );
        assert_eq!(Metric::PolicyRejected.as_str(), "PolicyRejected");
    }
}

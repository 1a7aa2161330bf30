//! Deciding offline, for policy authors and policy CI (`egress-policy eval|test|diff`): the request body
//! read by the gateway's own parser, steps 1-6 of the precedence by `authorize_egress` itself. Steps 7
//! (approval grants) and 8 (rate limits) need the store, so an offline answer is what the policy says
//! before them: a `require_approval` here may be allowed by a grant, an `allow` denied by a limit.

use serde::{Deserialize, Serialize};

use crate::{
    normalize::Requested,
    policy::{authorize_egress, CompiledPolicy, Decision, Detector, Effect, Mode, Reason, Subject},
    request::{parse_body, BodyError, RequestRecord, MAX_BODY_BYTES},
};

/// Who asks: the principal and what an authorizer would vouch for (`account:` and `org:` patterns).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caller {
    /// The principal to decide for, as the authorizer would name it.
    pub principal: String,
    /// The caller's AWS account id (12 digits), for `account:` member patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The caller's AWS Organizations id, for `org:` member patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

impl Caller {
    fn subject(&self) -> Subject<'_> {
        Subject {
            principal: &self.principal,
            account: self.account.as_deref(),
            org: self.org.as_deref(),
        }
    }
}

/// What the policy decides, with the fields of a recorded request that say why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The answer the caller would get, after shadow mode.
    pub decision: Effect,
    /// What the policy says, before shadow mode.
    pub policy_decision: Effect,
    /// Which precedence step decided.
    pub reason: Reason,
    /// Id of the rule that matched, for the `rule_*` reasons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The secrets-in-URL detector that found a credential, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dlp: Option<Detector>,
    /// The zone's mode (`enforce` or `shadow`).
    pub mode: Mode,
}

impl From<&Decision> for Outcome {
    fn from(d: &Decision) -> Self {
        Self {
            decision: d.effective(),
            policy_decision: d.policy_decision(),
            reason: d.reason(),
            rule: d.rule().map(str::to_owned),
            dlp: d.dlp(),
            mode: d.mode(),
        }
    }
}

/// Why a request is not decided offline: what the API would refuse before deciding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The API's `400`, with the same problems.
    #[error("the request is not valid: {}", .0.detail)]
    Body(BodyError),
    /// The API's `413`.
    #[error("the body is larger than the API's {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// An enforcer asks only on an agent's behalf, with its proxy token (the API's `400` without one):
    /// decide for the agent's principal instead.
    #[error("the principal is an enforcer of this policy: it asks only with an agent's proxy token; eval the agent's principal")]
    Enforcer,
}

/// Decides `body` (a `POST /v1/egress/requests` body, as JSON) for `caller` under `policy`; what the API
/// would refuse before deciding is refused here too (see [`EvalError`]).
pub fn eval(policy: &CompiledPolicy, caller: &Caller, body: &[u8]) -> Result<Outcome, EvalError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(EvalError::TooLarge);
    }
    if policy.is_enforcer(caller.subject()) {
        return Err(EvalError::Enforcer);
    }
    let valid = parse_body(body).map_err(EvalError::Body)?;
    let decision = authorize_egress(policy, caller.subject(), &valid.body.zone, valid.requested());
    Ok(Outcome::from(&decision))
}

/// One case of a policy test file: a caller, a request body, and what must come of it. `reason` and
/// `rule` are checked when given; `rule: ""` expects no rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A name to report the case by; unnamed cases are reported by position only.
    #[serde(default)]
    pub name: Option<String>,
    /// Who asks: `principal`, `account` and `org` at the case's top level.
    #[serde(flatten)]
    pub caller: Caller,
    /// The request body, decided as if it were posted to the API.
    pub request: serde_json::Value,
    /// What must come of it.
    pub expect: Expected,
}

/// What a [`Case`] must come to: always the decision, and the reason and rule only when given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// The answer the caller must get (after shadow mode).
    pub decision: Effect,
    /// The reason code; not checked when absent.
    #[serde(default)]
    pub reason: Option<Reason>,
    /// The rule id; `""` expects no rule, absent is not checked.
    #[serde(default)]
    pub rule: Option<String>,
}

/// A case that did not come out as expected: its position (from 1), name, and what happened instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The case's position in the file, from 1.
    pub case: usize,
    /// The case's name, if it had one.
    pub name: Option<String>,
    /// What came of it instead, or why it could not be decided.
    pub problem: String,
}

/// Runs every case; the failures, in order (none: the policy passes).
pub fn run_cases(policy: &CompiledPolicy, cases: &[Case]) -> Vec<Failure> {
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let fail = |problem: String| Failure {
            case: i + 1,
            name: case.name.clone(),
            problem,
        };
        let body = case.request.to_string();
        let got = match eval(policy, &case.caller, body.as_bytes()) {
            Ok(got) => got,
            Err(e) => {
                failures.push(fail(e.to_string()));
                continue;
            }
        };
        let want = &case.expect;
        let rule_differs = want
            .rule
            .as_deref()
            .is_some_and(|r| got.rule.as_deref().unwrap_or("") != r);
        if got.decision != want.decision || want.reason.is_some_and(|r| r != got.reason) || rule_differs {
            failures.push(fail(format!(
                "expected {}{}{}, got {} (reason {}, rule {})",
                want.decision.as_str(),
                want.reason
                    .map(|r| format!(" (reason {})", r.as_str()))
                    .unwrap_or_default(),
                want.rule
                    .as_deref()
                    .map(|r| format!(" (rule {r:?})"))
                    .unwrap_or_default(),
                got.decision.as_str(),
                got.reason.as_str(),
                got.rule.as_deref().unwrap_or("none"),
            )));
        }
    }
    failures
}

/// A recorded request that a candidate policy would decide differently from the current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The recorded request's id.
    pub request_id: String,
    /// The principal it was decided for.
    pub principal: String,
    /// The zone it was decided in.
    pub zone: String,
    /// The recorded (redacted) target as `scheme://host:port/path`.
    pub target: String,
    /// Whether the request was a CONNECT tunnel.
    pub tunnel: bool,
    /// What the current policy decides.
    pub current: Outcome,
    /// What the candidate policy decides.
    pub candidate: Outcome,
}

/// Decides every recorded request under `current` and `candidate` and returns those that change. A
/// record keeps the normalized target, never the query or fragment (nor a credential: it is redacted),
/// so what is replayed is the host, port and path; secrets-in-URL findings in the query are not.
pub fn replay(current: &CompiledPolicy, candidate: &CompiledPolicy, records: &[RequestRecord]) -> Vec<Change> {
    records
        .iter()
        .filter_map(|r| {
            let caller = Caller {
                principal: r.principal.clone(),
                account: r.identity.account.clone(),
                org: r.identity.org.clone(),
            };
            let requested = Requested {
                target: &r.target,
                tail: None,
                tunnel: r.tunnel,
            };
            let decide = |p: &CompiledPolicy| Outcome::from(&authorize_egress(p, caller.subject(), &r.zone, requested));
            let (before, after) = (decide(current), decide(candidate));
            (before != after).then(|| Change {
                request_id: r.request_id.clone(),
                principal: r.principal.clone(),
                zone: r.zone.clone(),
                target: r.target.to_string(),
                tunnel: r.tunnel,
                current: before,
                candidate: after,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
zones:
  default:
    members: ["*"]
    default: deny
    rules:
      - {id: gh, effect: allow, hosts: [api.github.com], schemes: [https]}
      - {id: gh-admin, effect: deny, hosts: [api.github.com], paths: ["/admin/"]}
      - {id: paste, effect: require_approval, hosts: [pastebin.com]}
  agents:
    members: ["org:o-a1b2c3d4e5"]
    default: allow
"#;

    fn policy(text: &str) -> CompiledPolicy {
        CompiledPolicy::from_yaml(text).unwrap()
    }

    fn caller(p: &str) -> Caller {
        Caller {
            principal: p.into(),
            ..Caller::default()
        }
    }

    #[test]
    fn eval_decides_like_the_gateway_and_refuses_what_the_api_refuses() {
        let p = policy(POLICY);
        let got = eval(
            &p,
            &caller("alice"),
            br#"{"url":"https://api.github.com/repos","zone":"default"}"#,
        )
        .unwrap();
        assert_eq!(
            (got.decision, got.reason, got.rule.as_deref()),
            (Effect::Allow, Reason::RuleAllow, Some("gh"))
        );
        let got = eval(
            &p,
            &caller("alice"),
            br#"{"url":"https://api.github.com/ADMIN","zone":"default"}"#,
        )
        .unwrap();
        assert_eq!((got.decision, got.rule.as_deref()), (Effect::Deny, Some("gh-admin")));
        let got = eval(
            &p,
            &caller("alice"),
            br#"{"url":"https://x.test/?token=ghp_0123456789abcdefghij0123456789abcdef","zone":"default"}"#,
        )
        .unwrap();
        assert_eq!(got.reason, Reason::InternalTarget, "step 2 before step 4");
        let secret = eval(
            &p,
            &caller("alice"),
            br#"{"url":"https://api.github.com/?t=ghp_0123456789abcdefghij0123456789abcdef","zone":"default"}"#,
        )
        .unwrap();
        assert_eq!(
            (secret.decision, secret.dlp),
            (Effect::Deny, Some(Detector::GithubToken))
        );
        // The org comes from the caller's identity, as the authorizer vouches for it.
        let org = Caller {
            org: Some("o-a1b2c3d4e5".into()),
            ..caller("bob")
        };
        let body = br#"{"domain":"example.org","zone":"agents"}"#;
        assert_eq!(eval(&p, &org, body).unwrap().decision, Effect::Allow);
        assert_eq!(eval(&p, &caller("bob"), body).unwrap().reason, Reason::ZoneNotPermitted);
        let bad = eval(
            &p,
            &caller("alice"),
            br#"{"url":"https://a.com/","zone":"default","principal":"x"}"#,
        );
        assert!(matches!(bad, Err(EvalError::Body(e)) if e.errors[0].field == "principal"));
        assert!(eval(&p, &caller("alice"), br#"{"url":"ftp://a.com/","zone":"default"}"#).is_err());
        let large = format!(
            r#"{{"domain":"a.com","zone":"default","purpose":"{}"}}"#,
            "x".repeat(MAX_BODY_BYTES)
        );
        assert_eq!(eval(&p, &caller("alice"), large.as_bytes()), Err(EvalError::TooLarge));
        // An enforcer is refused, as the API refuses it without an agent's token.
        let with_enforcer = policy(&format!("enforcers: [proxy-role]\n{POLICY}"));
        let asked = eval(
            &with_enforcer,
            &caller("proxy-role"),
            br#"{"domain":"a.com","zone":"default"}"#,
        );
        assert_eq!(asked, Err(EvalError::Enforcer));
    }

    #[test]
    fn cases_pass_and_fail_on_decision_reason_and_rule() {
        let p = policy(POLICY);
        let cases: Vec<Case> = serde_norway::from_str(
            r#"
- {principal: alice, request: {url: "https://api.github.com/", zone: default}, expect: {decision: allow, rule: gh}}
- {name: paste, principal: alice, request: {domain: pastebin.com, zone: default}, expect: {decision: require_approval, reason: rule_require_approval}}
- {name: wrong decision, principal: alice, request: {domain: example.org, zone: default}, expect: {decision: allow}}
- {name: wrong rule, principal: alice, request: {url: "https://api.github.com/admin/x", zone: default}, expect: {decision: deny, rule: gh}}
- {name: no rule expected, principal: alice, request: {domain: example.org, zone: default}, expect: {decision: deny, rule: ""}}
- {name: invalid, principal: alice, request: {url: "https://a.com/", zone: "Not A Zone"}, expect: {decision: deny}}
"#,
        )
        .unwrap();
        let failures = run_cases(&p, &cases);
        let failed: Vec<(usize, Option<&str>)> = failures.iter().map(|f| (f.case, f.name.as_deref())).collect();
        assert_eq!(
            failed,
            vec![
                (3, Some("wrong decision")),
                (4, Some("wrong rule")),
                (6, Some("invalid"))
            ]
        );
        assert!(
            failures[0].problem.contains("expected allow, got deny"),
            "{}",
            failures[0].problem
        );
        let unknown =
            serde_norway::from_str::<Vec<Case>>("- {principal: a, request: {}, expect: {decision: allow}, extra: 1}");
        assert!(unknown.is_err(), "unknown keys in a case are refused");
    }

    #[test]
    fn replay_reports_exactly_the_requests_a_candidate_changes() {
        let current = policy(POLICY);
        let candidate = policy(&POLICY.replace("{id: paste, effect: require_approval", "{id: paste, effect: deny"));
        let records: Vec<RequestRecord> = [
            r#"{"url":"https://api.github.com/","zone":"default"}"#,
            r#"{"domain":"pastebin.com","zone":"default"}"#,
            r#"{"url":"https://pastebin.com/raw/x","zone":"default"}"#,
        ]
        .iter()
        .enumerate()
        .map(|(i, body)| record(&current, &format!("r{i}"), body))
        .collect();
        let changes = replay(&current, &candidate, &records);
        let ids: Vec<&str> = changes.iter().map(|c| c.request_id.as_str()).collect();
        assert_eq!(ids, ["r1", "r2"]);
        assert_eq!(
            (changes[0].current.decision, changes[0].candidate.decision),
            (Effect::RequireApproval, Effect::Deny)
        );
        assert!(replay(&current, &current, &records).is_empty());
    }

    /// A record as the gateway writes it, for `body` decided under `p`.
    fn record(p: &CompiledPolicy, id: &str, body: &str) -> RequestRecord {
        let valid = parse_body(body.as_bytes()).unwrap();
        let d = authorize_egress(p, "alice", &valid.body.zone, valid.requested());
        let identity = crate::identity::Identity::dev();
        let mut r = RequestRecord::new(
            ulid::Ulid::new(),
            "alice".into(),
            identity,
            valid.body.zone.clone(),
            valid.target.clone(),
            None,
            &d,
        );
        r.request_id = id.into();
        r
    }
}

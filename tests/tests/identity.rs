//! Real callers: API Gateway HTTP API payload 2.0 events with IAM and JWT authorizer contexts, in the
//! shapes AWS sends (`tests/fixtures/`, modelled on the `aws_lambda_events` fixtures), through the real
//! handlers in process and through the Lambda Invoke API of `cargo lambda watch`.
//!
//! The example policy's zone `agents` has members `arn:aws:iam::123456789012:role/agent-*` and
//! `org:o-a1b2c3d4e5`; its only rule allows `api.github.com` over https.

use std::time::Duration;

use egress_e2e::*;
use lambda_http::Body;
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";
const ORG: &str = "o-a1b2c3d4e5";

/// The fixture with another IAM authorizer context.
fn iam_event(user_arn: &str, account: &str, org: Option<&str>, cognito: Value) -> Value {
    let mut e = fixture("apigw-v2-post-iam-assumed-role");
    let iam = &mut e["requestContext"]["authorizer"]["iam"];
    iam["userArn"] = json!(user_arn);
    iam["accountId"] = json!(account);
    iam["principalOrgId"] = json!(org);
    iam["cognitoIdentity"] = cognito;
    e["requestContext"]["accountId"] = json!(account);
    e
}

/// The same request as a GET of the list route with a JWT authorizer context.
fn jwt_list_event(claims: Value, scopes: Value, query: &str) -> Value {
    let mut e = fixture("apigw-v2-post-iam-assumed-role");
    e["routeKey"] = json!("GET /v1/egress/requests");
    e["requestContext"]["routeKey"] = json!("GET /v1/egress/requests");
    e["requestContext"]["http"]["method"] = json!("GET");
    e["rawQueryString"] = json!(query);
    e["queryStringParameters"] = json!(query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect::<std::collections::HashMap<_, _>>());
    e["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": scopes}});
    e.as_object_mut().map(|o| o.remove("body"));
    e
}

struct Expect {
    principal: &'static str,
    session: Option<&'static str>,
    account: &'static str,
    org: Option<&'static str>,
    decision: &'static str,
    reason: &'static str,
}

fn iam_cases() -> Vec<(&'static str, Value, Option<Expect>)> {
    let agent = "arn:aws:iam::123456789012:role/agent-runner";
    let cognito = json!({
        "amr": ["authenticated", "cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"],
        "identityId": "us-east-1:3f291106-8703-466b-8f2b-3ecee1ca56ce",
        "identityPoolId": "us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce"
    });
    let allowed = |principal, session, org| Expect {
        principal,
        session,
        account: ACCOUNT,
        org,
        decision: "allow",
        reason: "rule_allow",
    };
    let outsider = |principal, session, account| Expect {
        principal,
        session,
        account,
        org: None,
        decision: "deny",
        reason: "zone_not_permitted",
    };
    vec![
        (
            "Lambda function role, org present",
            iam_event(
                "arn:aws:sts::123456789012:assumed-role/agent-runner/agent-runner-fn",
                ACCOUNT,
                Some(ORG),
                Value::Null,
            ),
            Some(allowed(agent, Some("agent-runner-fn"), Some(ORG))),
        ),
        (
            "ECS task role, no org",
            iam_event(
                "arn:aws:sts::123456789012:assumed-role/agent-runner/8f3c2a1b9d4e4f0a9b1c2d3e4f5a6b7c",
                ACCOUNT,
                None,
                Value::Null,
            ),
            Some(allowed(agent, Some("8f3c2a1b9d4e4f0a9b1c2d3e4f5a6b7c"), None)),
        ),
        (
            "EC2 instance profile",
            iam_event(
                "arn:aws:sts::123456789012:assumed-role/agent-runner/i-0abc123def4567890",
                ACCOUNT,
                None,
                Value::Null,
            ),
            Some(allowed(agent, Some("i-0abc123def4567890"), None)),
        ),
        (
            "SSO user, member through the org",
            iam_event(
                "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_PowerUser_0123456789abcdef/alice@example.com",
                ACCOUNT,
                Some(ORG),
                Value::Null,
            ),
            Some(allowed(
                "arn:aws:iam::123456789012:role/AWSReservedSSO_PowerUser_0123456789abcdef",
                Some("alice@example.com"),
                Some(ORG),
            )),
        ),
        (
            "same role name in another account",
            iam_event(
                "arn:aws:sts::210987654321:assumed-role/agent-runner/x",
                "210987654321",
                None,
                Value::Null,
            ),
            Some(outsider(
                "arn:aws:iam::210987654321:role/agent-runner",
                Some("x"),
                "210987654321",
            )),
        ),
        (
            "IAM user",
            iam_event("arn:aws:iam::123456789012:user/ci-bot", ACCOUNT, None, Value::Null),
            Some(outsider("arn:aws:iam::123456789012:user/ci-bot", None, ACCOUNT)),
        ),
        (
            "Cognito identity pool role",
            iam_event(
                "arn:aws:sts::123456789012:assumed-role/Cognito_AgentsAuth_Role/CognitoIdentityCredentials",
                ACCOUNT,
                None,
                cognito,
            ),
            // The identity, not the pool's shared role, is the principal (the role is not a member).
            Some(outsider(
                "cognito:us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce/us-east-1:3f291106-8703-466b-8f2b-3ecee1ca56ce",
                Some("CognitoIdentityCredentials"),
                ACCOUNT,
            )),
        ),
        (
            "Cognito identity AWS reported without an identity id",
            iam_event(
                "arn:aws:sts::123456789012:assumed-role/Cognito_AgentsAuth_Role/CognitoIdentityCredentials",
                ACCOUNT,
                None,
                json!({"amr": ["authenticated"], "identityId": null,
                       "identityPoolId": "us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce"}),
            ),
            None,
        ),
        (
            "account root",
            iam_event("arn:aws:iam::123456789012:root", ACCOUNT, None, Value::Null),
            None,
        ),
        (
            "a role ARN is not what IAM reports",
            iam_event(
                "arn:aws:iam::123456789012:role/agent-runner",
                ACCOUNT,
                None,
                Value::Null,
            ),
            None,
        ),
    ]
}

fn check(case: &str, status: u16, body: &Value, want: &Option<Expect>) {
    let Some(w) = want else {
        assert_eq!(status, 401, "{case}: {body}");
        return;
    };
    assert_eq!(status, 201, "{case}: {body}");
    assert_eq!(body["principal"], w.principal, "{case}");
    assert_eq!(
        body["identity"],
        json!({"kind": "iam", "session": w.session, "account": w.account, "org": w.org}),
        "{case}"
    );
    assert_eq!(
        (body["decision"].as_str(), body["reason"].as_str()),
        (Some(w.decision), Some(w.reason)),
        "{case}"
    );
}

#[tokio::test]
async fn iam_callers_through_the_invoke_api() {
    for (case, event, want) in iam_cases() {
        let answer = invoke("create-request", &event).await;
        let status = answer["statusCode"].as_u64().unwrap_or_default() as u16;
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        check(case, status, &body, &want);
        if want.is_some() {
            // The row and the events carry the same identity (the stream publishes the row).
            let id = body["request_id"].as_str().unwrap();
            let events = wait_events(ALL_EVENTS_QUEUE, 2, Duration::from_secs(60), |e| {
                detail_field(e, "request_id") == Some(id)
            })
            .await;
            for e in events {
                assert_eq!(e["detail"]["identity"], body["identity"], "{case}");
                assert_eq!(e["detail"]["principal"], body["principal"], "{case}");
            }
        }
    }
}

#[tokio::test]
async fn iam_callers_through_the_handler_in_process() {
    // Dev mode on, as under `cargo lambda watch`: an authorizer context still wins over the header.
    let svc = create_service(dynamodb().await, true, DEFAULT_POLICY, Duration::from_secs(1));
    for (case, event, want) in iam_cases() {
        let mut req = lambda_http::request::from_str(&event.to_string()).expect("a payload 2.0 event");
        req.headers_mut().insert(
            egress_core::PRINCIPAL_HEADER,
            "arn:aws:iam::123456789012:role/agent-spoofed".parse().unwrap(),
        );
        let resp = svc.handle(req).await;
        let status = resp.status().as_u16();
        let body: Value = match resp.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("{case}: {other:?}"),
        };
        check(case, status, &body, &want);
    }
}

async fn list_as(claims: Value, scopes: Value, query: &str) -> (u16, Value) {
    let answer = invoke("list-requests", &jwt_list_event(claims, scopes, query)).await;
    let status = answer["statusCode"].as_u64().unwrap_or_default() as u16;
    (
        status,
        serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn jwt_scopes_come_from_the_scope_and_scp_claims_too() {
    // Someone else's request, so an auditor's list has another principal in it.
    let other = unique_principal("jwt-other");
    assert_eq!(
        post_json(&other, &json!({"url": "https://api.github.com/", "zone": "default"}))
            .await
            .status,
        201
    );
    let sub = format!("jwt-user-{}", ulid::Ulid::new());
    let lists_other = |body: &Value| {
        body["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i["principal"] == other.as_str()))
    };
    // API Gateway leaves `scopes` null unless the route declares scopes; the claim carries them.
    for (case, claims, scopes) in [
        (
            "scope claim, scopes null",
            json!({"sub": sub, "scope": "openid egress:audit"}),
            Value::Null,
        ),
        (
            "scp array claim",
            json!({"sub": sub, "scp": "[openid egress:audit]"}),
            Value::Null,
        ),
        (
            "both, and declared scopes",
            json!({"sub": sub, "scope": "openid", "scp": "egress:audit"}),
            json!(["openid"]),
        ),
    ] {
        let (status, body) = list_as(claims, scopes, &format!("principal={other}&limit=200")).await;
        assert_eq!(status, 200, "{case}: {body}");
        assert!(lists_other(&body), "{case}: an auditor sees every principal: {body}");
    }
    // Without the scope: only one's own requests, and asking for another principal is a 403.
    let plain = json!({"sub": sub, "scope": "openid profile"});
    let (status, body) = list_as(plain.clone(), Value::Null, "limit=200").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["principal"] == sub.as_str()));
    let (status, _) = list_as(plain, Value::Null, &format!("principal={other}")).await;
    assert_eq!(status, 403);
}

/// The services in process on DynamoDB Local, with a policy whose zone `people` lets Identity Center
/// users of the EgressApprover permission set approve, and every Cognito user of one pool ask.
async fn people_services(file: &suites::PolicyFile) -> suites::Services {
    let store = std::sync::Arc::new(egress_core::DynamoStore::new(dynamodb().await, table()));
    suites::services(store, &file.0, Duration::from_secs(5))
}

const POOL: &str = "us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce";
const PEOPLE_POLICY: &str = r#"
zones:
  people:
    members: ["arn:aws:iam::123456789012:role/AWSReservedSSO_Developer_*", "cognito:us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce/*"]
    approvers: ["arn:aws:iam::210987654321:role/AWSReservedSSO_EgressApprover_*"]
    default: require_approval
"#;

/// An event of route `route` (e.g. `POST /v1/egress/requests`) at `path`, by `user_arn`.
fn event_as(
    user_arn: &str,
    cognito: Value,
    route: &str,
    path: &str,
    query: &str,
    body: Option<Value>,
) -> lambda_http::Request {
    let account = user_arn.split(':').nth(4).unwrap_or(ACCOUNT);
    let mut e = iam_event(user_arn, account, Some(ORG), cognito);
    let method = route.split(' ').next().unwrap_or("GET");
    e["routeKey"] = json!(route);
    e["requestContext"]["routeKey"] = json!(route);
    e["requestContext"]["http"]["method"] = json!(method);
    e["rawPath"] = json!(path);
    e["requestContext"]["http"]["path"] = json!(path);
    e["rawQueryString"] = json!(query);
    if !query.is_empty() {
        e["queryStringParameters"] = json!(query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect::<std::collections::HashMap<_, _>>());
    }
    if let Some(id) = path.strip_prefix("/v1/egress/requests/") {
        e["pathParameters"] = json!({"request_id": id});
    }
    if let Some(rest) = path.strip_prefix("/v1/egress/approvals/") {
        e["pathParameters"] = json!({"approval_id": rest.trim_end_matches("/decision")});
    }
    match body {
        Some(b) => e["body"] = json!(b.to_string()),
        None => {
            e.as_object_mut().map(|o| o.remove("body"));
        }
    }
    lambda_http::request::from_str(&e.to_string()).expect("a payload 2.0 event")
}

fn answer(resp: lambda_http::Response<Body>) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body = match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body)
}

/// Four eyes across Identity Center permission sets: the session name of an `AWSReservedSSO_` role is the
/// directory user, set by AWS, so alice through the EgressApprover permission set (another account even)
/// is still alice, and may not grant what she asked for as a Developer; bob may.
#[tokio::test]
async fn one_person_never_approves_their_own_request_through_another_permission_set() {
    let file = suites::PolicyFile::new("people", PEOPLE_POLICY);
    let s = people_services(&file).await;
    let dev =
        |user: &str| format!("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Developer_0123456789abcdef/{user}");
    let approver = |user: &str| {
        format!("arn:aws:sts::210987654321:assumed-role/AWSReservedSSO_EgressApprover_fedcba9876543210/{user}")
    };
    let ask = json!({"url": "https://paste.example.com/raw/four-eyes", "zone": "people"});
    let (status, asked) = answer(
        s.create
            .handle(event_as(
                &dev("alice@example.com"),
                Value::Null,
                "POST /v1/egress/requests",
                "/v1/egress/requests",
                "",
                Some(ask),
            ))
            .await,
    );
    assert_eq!(
        (status, asked["decision"].as_str()),
        (201, Some("require_approval")),
        "{asked}"
    );
    let id = asked["approval_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/egress/approvals/{id}/decision");
    let route = "POST /v1/egress/approvals/{approval_id}/decision";
    let grant = json!({"decision": "grant", "scope": "once"});
    for alice in ["alice@example.com", "Alice@Example.com"] {
        let (status, body) = answer(
            s.approvals
                .handle(event_as(
                    &approver(alice),
                    Value::Null,
                    route,
                    &path,
                    "",
                    Some(grant.clone()),
                ))
                .await,
        );
        assert_eq!(status, 403, "{alice}: {body}");
        assert_eq!(body["type"], "urn:egress:problem:forbidden", "{body}");
    }
    let (status, body) = answer(
        s.approvals
            .handle(event_as(
                &approver("bob@example.com"),
                Value::Null,
                route,
                &path,
                "",
                Some(grant),
            ))
            .await,
    );
    assert_eq!((status, body["state"].as_str()), (200, Some("granted")), "{body}");
    assert!(
        body["decided_by"]
            .as_str()
            .unwrap_or_default()
            .contains("AWSReservedSSO_EgressApprover_"),
        "{body}"
    );
}

/// Users of one Cognito identity pool share the pool's role, but each is a principal of its own: B neither
/// lists nor reads A's requests, nor uses A's grants or idempotency keys.
#[tokio::test]
async fn cognito_users_of_one_pool_are_separate_principals() {
    let file = suites::PolicyFile::new("cognito", PEOPLE_POLICY);
    let s = people_services(&file).await;
    let role = "arn:aws:sts::123456789012:assumed-role/Cognito_AgentsAuth_Role/CognitoIdentityCredentials";
    let user = |n: u32| {
        json!({"amr": ["authenticated", "cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"],
               "identityId": format!("us-east-1:{:08x}-8703-466b-8f2b-{:012x}", n, ulid::Ulid::new().random() & 0xffff_ffff_ffff),
               "identityPoolId": POOL})
    };
    let (a, b) = (user(1), user(2));
    let ask = json!({"url": "https://paste.example.com/cognito", "zone": "people"});
    let post = |who: &Value, key: &str| {
        let mut req = event_as(
            role,
            who.clone(),
            "POST /v1/egress/requests",
            "/v1/egress/requests",
            "",
            Some(ask.clone()),
        );
        req.headers_mut().insert("idempotency-key", key.parse().unwrap());
        req
    };
    let key = format!("k-{}", ulid::Ulid::new());
    let (status, first) = answer(s.create.handle(post(&a, &key)).await);
    assert_eq!(status, 201, "{first}");
    let principal_a = first["principal"].as_str().unwrap().to_owned();
    assert!(
        principal_a.starts_with(&format!("cognito:{POOL}/us-east-1:")),
        "{first}"
    );
    assert_eq!(
        first["decision"], "require_approval",
        "member through the pool pattern: {first}"
    );
    // The same idempotency key from B is B's own request, not a replay of A's.
    let (status, other) = answer(s.create.handle(post(&b, &key)).await);
    assert_eq!(status, 201, "{other}");
    assert_ne!(other["principal"], first["principal"]);
    assert_ne!(other["request_id"], first["request_id"]);
    assert_ne!(
        other["approval_id"], first["approval_id"],
        "one pending approval per person"
    );
    // B cannot read or list A's request.
    let rid = first["request_id"].as_str().unwrap();
    let get = |who: &Value, path: &str, query: &str| {
        event_as(
            role,
            who.clone(),
            "GET /v1/egress/requests/{request_id}",
            path,
            query,
            None,
        )
    };
    let (status, _) = answer(s.list.handle(get(&b, &format!("/v1/egress/requests/{rid}"), "")).await);
    assert_eq!(status, 404);
    let (status, _) = answer(s.list.handle(get(&a, &format!("/v1/egress/requests/{rid}"), "")).await);
    assert_eq!(status, 200);
    let list = |who: &Value, query: &str| {
        event_as(
            role,
            who.clone(),
            "GET /v1/egress/requests",
            "/v1/egress/requests",
            query,
            None,
        )
    };
    let (status, page) = answer(s.list.handle(list(&b, "limit=200")).await);
    assert_eq!(status, 200, "{page}");
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["principal"] != principal_a.as_str()),
        "{page}"
    );
    let (status, _) = answer(s.list.handle(list(&b, &format!("principal={principal_a}"))).await);
    assert_eq!(status, 403);
}

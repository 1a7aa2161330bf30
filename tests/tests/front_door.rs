//! Callers in other accounts of the organization (DESIGN "Callers in other accounts"): the create-request
//! and proxy-token functions behind Lambda function URLs (`AWS_IAM`, resource policy on
//! `aws:PrincipalOrgID`). The events are function URL payloads in the shape AWS sends
//! (`tests/fixtures/function-url-post-iam-cross-account.json`, after the Lambda developer guide's "Request
//! payload format": `routeKey` and `stage` `$default`, `authentication` null, the caller's account in
//! `authorizer.iam`, the function owner's in `requestContext.accountId`), through the real handlers in
//! process with the organization set as the template sets it, and through the Lambda Invoke API of
//! `cargo lambda watch`.
//!
//! The example policy's zone `agents` has members `arn:aws:iam::123456789012:role/agent-*` and
//! `org:o-a1b2c3d4e5`; its only rule allows `api.github.com` over https.

use std::sync::Arc;
use std::time::Duration;

use egress_core::api::{ProxyTokensService, PROXY_TOKENS_PATH};
use egress_core::OrganizationId;
use egress_e2e::*;
use lambda_http::Body;
use serde_json::{json, Value};

const ORG: &str = "o-a1b2c3d4e5";
const OTHER_ACCOUNT: &str = "210987654321";

/// The fixture as `role` of `account` with `org` reported (`None`: an account in no organization), at
/// `path` with `body`.
fn url_event(account: &str, role: &str, org: Option<&str>, path: &str, body: &str) -> Value {
    let mut e = fixture("function-url-post-iam-cross-account");
    let iam = &mut e["requestContext"]["authorizer"]["iam"];
    iam["accountId"] = json!(account);
    iam["principalOrgId"] = json!(org);
    iam["userArn"] = json!(format!("arn:aws:sts::{account}:assumed-role/{role}/{role}-fn"));
    e["rawPath"] = json!(path);
    e["requestContext"]["http"]["path"] = json!(path);
    e["headers"]["content-length"] = json!(body.len().to_string());
    e["body"] = json!(body);
    e
}

fn request(event: &Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).expect("a function URL event")
}

/// Status, content type and JSON body of a handler's answer.
fn answer(resp: lambda_http::Response<Body>) -> (u16, String, Value) {
    let answer = suites::http::Answer::of(resp);
    let content_type = answer.header("content-type").unwrap_or_default().to_owned();
    (answer.status, content_type, answer.body)
}

/// Rows of any kind written for `principal`.
async fn rows_of(principal: &str) -> usize {
    scan_items("principal = :p", &[(":p", principal)])
        .await
        .expect("scan")
        .len()
}

const ASK: &str = r#"{"url":"https://api.github.com/repos/acme/x","zone":"agents"}"#;

#[tokio::test]
async fn org_members_are_served_and_outsiders_refused_by_the_create_handler() {
    let org = OrganizationId::parse(ORG).expect("an organization id");
    let mut svc = create_service(dynamodb().await, false, DEFAULT_POLICY, Duration::from_secs(1));
    svc.organization = Some(org);
    let run = ulid::Ulid::new().to_string().to_lowercase();

    // A role of another account of the organization: a member of `agents` through `org:`.
    let member = format!("agent-fu-{run}");
    let (status, ct, body) = answer(
        svc.handle(request(&url_event(
            OTHER_ACCOUNT,
            &member,
            Some(ORG),
            "/v1/egress/requests",
            ASK,
        )))
        .await,
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(ct, "application/json");
    assert_eq!(body["principal"], format!("arn:aws:iam::{OTHER_ACCOUNT}:role/{member}"));
    assert_eq!(
        body["identity"],
        json!({"kind": "iam", "session": format!("{member}-fn"), "account": OTHER_ACCOUNT, "org": ORG})
    );
    assert_eq!(
        (body["decision"].as_str(), body["reason"].as_str()),
        (Some("allow"), Some("rule_allow"))
    );
    assert_eq!(rows_of(&format!("arn:aws:iam::{OTHER_ACCOUNT}:role/{member}")).await, 1);

    // Outside the organization: another organization, and an account in none. A 403 problem before
    // anything is read or written.
    for (case, org) in [
        ("another organization", Some("o-zz9yx8wv7u")),
        ("no organization", None),
    ] {
        let role = format!("agent-out-{run}");
        let resp = svc
            .handle(request(&url_event(
                "999988887777",
                &role,
                org,
                "/v1/egress/requests",
                ASK,
            )))
            .await;
        let (status, ct, body) = answer(resp);
        assert_eq!(status, 403, "{case}: {body}");
        assert_eq!(ct, "application/problem+json", "{case}");
        assert_eq!(body["type"], "urn:egress:problem:forbidden", "{case}");
        assert_eq!(
            rows_of(&format!("arn:aws:iam::999988887777:role/{role}")).await,
            0,
            "{case}"
        );
    }

    // The gateway's own account through the HTTP API (the proxy's role, operators): served whether or not
    // AWS reports an organization for it. Here an agent role of this account with none reported.
    let mut own = fixture("apigw-v2-post-iam-assumed-role");
    own["requestContext"]["authorizer"]["iam"]["principalOrgId"] = Value::Null;
    let (status, _, body) = answer(svc.handle(request(&own)).await);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["identity"]["account"], "123456789012");
    // ... and an outsider through the HTTP API's shape is refused like through a function URL.
    let mut stranger = fixture("apigw-v2-post-iam-assumed-role");
    let iam = &mut stranger["requestContext"]["authorizer"]["iam"];
    iam["accountId"] = json!("999988887777");
    iam["principalOrgId"] = Value::Null;
    iam["userArn"] = json!(format!("arn:aws:sts::999988887777:assumed-role/agent-http-{run}/x"));
    let (status, _, body) = answer(svc.handle(request(&stranger)).await);
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        rows_of(&format!("arn:aws:iam::999988887777:role/agent-http-{run}")).await,
        0
    );

    // A function URL serves every path; only the route's is answered.
    for path in [
        "/",
        "/v1/egress/requests/x",
        "/v1/egress/approvals",
        "/v1/egress/requestsx",
    ] {
        let role = format!("agent-path-{run}");
        let (status, ct, body) = answer(
            svc.handle(request(&url_event(OTHER_ACCOUNT, &role, Some(ORG), path, ASK)))
                .await,
        );
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(ct, "application/problem+json", "{path}");
        assert_eq!(
            rows_of(&format!("arn:aws:iam::{OTHER_ACCOUNT}:role/{role}")).await,
            0,
            "{path}"
        );
    }

    // Without the organization set (the HTTP API's deployment: this account's callers only), the
    // outsider is not refused at the door but decided like any caller: not a member of `agents`.
    svc.organization = None;
    let role = format!("agent-out-{run}");
    let (status, _, body) = answer(
        svc.handle(request(&url_event(
            "999988887777",
            &role,
            None,
            "/v1/egress/requests",
            ASK,
        )))
        .await,
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["decision"].as_str(), body["reason"].as_str()),
        (Some("deny"), Some("zone_not_permitted"))
    );
}

#[tokio::test]
async fn org_members_mint_proxy_tokens_and_outsiders_are_refused() {
    let keys = suites::proxy_keys();
    let svc = ProxyTokensService {
        keys: Arc::clone(&keys),
        dev_mode: false,
        organization: OrganizationId::parse(ORG),
    };
    let mint = r#"{"ttl_seconds":600}"#;

    let (status, _, body) = answer(
        svc.handle(request(&url_event(
            OTHER_ACCOUNT,
            "agent-runner",
            Some(ORG),
            PROXY_TOKENS_PATH,
            mint,
        )))
        .await,
    );
    assert_eq!(status, 201, "{body}");
    // The token names the caller from the authorizer: the other account's role, and its organization.
    let verified = keys
        .verify(
            body["token"].as_str().expect("a token"),
            time::OffsetDateTime::now_utc(),
        )
        .expect("the minted token verifies");
    assert_eq!(
        verified.principal,
        format!("arn:aws:iam::{OTHER_ACCOUNT}:role/agent-runner")
    );
    assert_eq!(verified.identity.org.as_deref(), Some(ORG));
    assert_eq!(verified.identity.account.as_deref(), Some(OTHER_ACCOUNT));

    for (case, org) in [
        ("another organization", Some("o-zz9yx8wv7u")),
        ("no organization", None),
    ] {
        let (status, ct, body) = answer(
            svc.handle(request(&url_event(
                "999988887777",
                "agent-runner",
                org,
                PROXY_TOKENS_PATH,
                mint,
            )))
            .await,
        );
        assert_eq!(status, 403, "{case}: {body}");
        assert_eq!(ct, "application/problem+json", "{case}");
        assert!(body.get("token").is_none(), "{case}: {body}");
    }
}

#[tokio::test]
async fn the_function_url_shape_reaches_the_deployed_handler() {
    // The binary `cargo lambda watch` serves, fed the function URL event through the Invoke API (the
    // local stack leaves the organization unset, as a deployment without `OrganizationId`).
    let run = ulid::Ulid::new().to_string().to_lowercase();
    let member = format!("agent-fu-{run}");
    let answer = invoke(
        "create-request",
        &url_event(OTHER_ACCOUNT, &member, Some(ORG), "/v1/egress/requests", ASK),
    )
    .await;
    assert_eq!(answer["statusCode"], 201, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    assert_eq!(body["principal"], format!("arn:aws:iam::{OTHER_ACCOUNT}:role/{member}"));
    assert_eq!(body["identity"]["org"], ORG);
    assert_eq!(body["decision"], "allow");

    // The shape aws-lambda-go's fixture has (no routeKey, no stage) is read alike.
    let mut bare = url_event(OTHER_ACCOUNT, &member, Some(ORG), "/v1/egress/requests", ASK);
    for key in ["routeKey", "pathParameters", "stageVariables"] {
        bare.as_object_mut().map(|o| o.remove(key));
    }
    for key in ["routeKey", "stage", "authentication"] {
        bare["requestContext"].as_object_mut().map(|o| o.remove(key));
    }
    let answer = invoke("create-request", &bare).await;
    assert_eq!(answer["statusCode"], 201, "{answer}");

    let stray = invoke(
        "create-request",
        &url_event(OTHER_ACCOUNT, &member, Some(ORG), "/admin", ASK),
    )
    .await;
    assert_eq!(stray["statusCode"], 404, "{stray}");
}

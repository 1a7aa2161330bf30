//! The create-request handler in process against DynamoDB Local: the request path makes exactly one
//! DynamoDB call and no EventBridge call (the service has no event bus client at all: events leave
//! through the table's stream, the outbox).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use egress_core::CreateService;
use egress_e2e::*;
use lambda_http::Body;
use serde_json::json;

#[derive(Debug, Clone, Default)]
struct CallLog(Arc<Mutex<Vec<String>>>);

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }
    /// Every HTTP request on the wire, by its `X-Amz-Target` operation (retries would show up too).
    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = ctx.request().headers().get("x-amz-target").unwrap_or_default();
        let op = target.rsplit('.').next().unwrap_or_default().to_owned();
        self.0.lock().unwrap().push(op);
        Ok(())
    }
}

async fn service(log: &CallLog) -> CreateService {
    service_at(log, &dynamodb_endpoint(), true).await
}

async fn service_at(log: &CallLog, endpoint: &str, dev_mode: bool) -> CreateService {
    service_with_policy(log, endpoint, dev_mode, DEFAULT_POLICY, Duration::from_secs(1)).await
}

async fn service_with_policy(
    log: &CallLog,
    endpoint: &str,
    dev_mode: bool,
    policy_path: &str,
    policy_ttl: Duration,
) -> CreateService {
    let sdk = sdk_config(endpoint).await;
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(log.clone())
        .build();
    create_service(
        aws_sdk_dynamodb::Client::from_conf(conf),
        dev_mode,
        policy_path,
        policy_ttl,
    )
}

#[tokio::test]
async fn request_path_makes_exactly_one_dynamodb_call() {
    let log = CallLog::default();
    let svc = service(&log).await;
    let principal = unique_principal("onecall");
    let body = json!({"url": "https://api.github.com/", "zone": "default"});

    let resp = svc.handle(create_request(&principal, None, &body)).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(*log.0.lock().unwrap(), vec!["PutItem".to_owned()]);

    log.0.lock().unwrap().clear();
    let resp = svc.handle(create_request(&principal, Some("k1"), &body)).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(*log.0.lock().unwrap(), vec!["TransactWriteItems".to_owned()]);

    // A replay is answered from the transaction's cancellation reason (no read), then counted on the
    // original row so it shows in the audit trail: one write more, on the replay path only.
    log.0.lock().unwrap().clear();
    let resp = svc.handle(create_request(&principal, Some("k1"), &body)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        *log.0.lock().unwrap(),
        vec!["TransactWriteItems".to_owned(), "UpdateItem".to_owned()]
    );

    // Rejected input makes no call at all.
    log.0.lock().unwrap().clear();
    let resp = svc
        .handle(create_request(
            &principal,
            None,
            &json!({"url": "ftp://x.com/", "zone": "default"}),
        ))
        .await;
    assert_eq!(resp.status(), 400);
    assert!(log.0.lock().unwrap().is_empty());
}

/// A replay answers the original only while the current policy gives the same decision (the suite the
/// logic tests run on the memory store), here on DynamoDB Local.
#[tokio::test]
async fn replays_are_re_decided_under_the_current_policy() {
    let store = Arc::new(egress_core::DynamoStore::new(dynamodb().await, table()));
    suites::replays_are_re_decided(store).await;
    suites::idempotency_outcomes(Arc::new(egress_core::DynamoStore::new(dynamodb().await, table()))).await;
}

#[tokio::test]
async fn invalid_utf8_body_is_a_400_with_no_call() {
    let log = CallLog::default();
    let svc = service(&log).await;
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/v1/egress/requests")
        .header("content-type", "application/json")
        .header(egress_core::PRINCIPAL_HEADER, "alice")
        .body(Body::Binary(
            b"{\"url\":\"https://a.com/\xff\",\"zone\":\"default\"}".to_vec(),
        ))
        .unwrap();
    let resp = svc.handle(req).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert!(log.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn dynamodb_outage_is_a_503_with_retry_after_and_the_handler_recovers() {
    let outage = Outage::proxy_to(&dynamodb_endpoint()).await;
    let log = CallLog::default();
    let svc = service_at(&log, &outage.endpoint, true).await;
    let principal = unique_principal("ddb-outage");
    let body = json!({"url": "https://api.github.com/", "zone": "default"});
    assert_eq!(svc.handle(create_request(&principal, None, &body)).await.status(), 201);

    outage.set_up(false);
    for key in [None, Some("k-outage")] {
        let resp = svc.handle(create_request(&principal, key, &body)).await;
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        assert_eq!(resp.headers()["retry-after"], "1");
    }
    // Nothing was written while DynamoDB was unreachable (so nothing reaches the stream either).
    assert_eq!(rows_for(&principal).await.len(), 1);

    // Same service instance, no restart: it recovers as soon as DynamoDB answers again.
    outage.set_up(true);
    assert_eq!(
        svc.handle(create_request(&principal, Some("k-outage"), &body))
            .await
            .status(),
        201
    );
    assert_eq!(rows_for(&principal).await.len(), 2);
}

#[tokio::test]
async fn the_dev_principal_header_is_ignored_unless_dev_mode_is_on() {
    let log = CallLog::default();
    let body = json!({"url": "https://api.github.com/", "zone": "default"});
    let off = service_at(&log, &dynamodb_endpoint(), false).await;
    let resp = off.handle(create_request("alice", None, &body)).await;
    assert_eq!(resp.status(), 401, "header must not authenticate outside dev mode");
    assert!(log.0.lock().unwrap().is_empty(), "no write without a principal");
    let on = service_at(&log, &dynamodb_endpoint(), true).await;
    assert_eq!(on.handle(create_request("alice", None, &body)).await.status(), 201);
}

#[test]
fn the_template_never_enables_dev_mode() {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    assert!(
        !template.contains("EGRESS_DEV_MODE"),
        "template.yaml must not set EGRESS_DEV_MODE"
    );
}

/// `RequestRetentionDays`: request rows carry the table's TTL attribute (`expires_at`, epoch seconds) that
/// far ahead, on both write shapes (PutItem alone, and the transaction with an idempotency claim); without
/// a retention they carry none and are kept.
#[tokio::test]
async fn request_rows_expire_after_the_retention_only_when_one_is_set() {
    const WEEK: i64 = 7 * 86_400;
    let ddb = dynamodb().await;
    let ttl = ddb.describe_time_to_live().table_name(table()).send().await.unwrap();
    let spec = ttl.time_to_live_description().unwrap();
    assert_eq!(spec.attribute_name(), Some("expires_at"), "{spec:?}");

    let mut svc = create_service(ddb.clone(), true, DEFAULT_POLICY, Duration::from_secs(1));
    svc.store = Arc::new(
        egress_core::DynamoStore::new(ddb.clone(), table())
            .with_request_retention(Some(Duration::from_secs(WEEK as u64))),
    );
    let kept = create_service(ddb, true, DEFAULT_POLICY, Duration::from_secs(1));
    let body = json!({"url": "https://api.github.com/", "zone": "default"});
    for (svc, key, retained) in [
        (&svc, None, true),
        (&svc, Some(ulid::Ulid::new().to_string()), true),
        (&kept, None, false),
    ] {
        let principal = unique_principal("retention");
        let before = time::OffsetDateTime::now_utc().unix_timestamp();
        let resp = svc.handle(create_request(&principal, key.as_deref(), &body)).await;
        assert_eq!(resp.status(), 201);
        let after = time::OffsetDateTime::now_utc().unix_timestamp();
        let rows = rows_for(&principal).await;
        assert_eq!(rows.len(), 1);
        let expires = rows[0]
            .get("expires_at")
            .map(|v| v.as_n().unwrap().parse::<i64>().unwrap());
        if retained {
            let at = expires.unwrap_or_else(|| panic!("no expires_at with a retention (key {key:?})"));
            assert!(
                (before + WEEK..=after + WEEK).contains(&at),
                "{at} not a week after {before}..{after}"
            );
        } else {
            assert_eq!(expires, None, "a row without retention must be kept");
        }
    }
}

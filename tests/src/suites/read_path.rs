//! The read path's claims, on any [`Store`]: 1,000 requests recorded through the real create
//! handler, then every filter combination, full pagination walks, bounded pages, cursor tampering and
//! cross-principal isolation through the real list handler. Run on the in-memory store (`logic` tests)
//! and on DynamoDB Local (`read_path`), so the twin is held to the same answers as the table.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use egress_core::{CachedPolicySource, CreateService, CursorCodec, FileFetcher, ListService, Store};
use lambda_http::Body;

use super::http::{get, Answer};
use serde_json::{json, Value};

const ZONES: [&str; 3] = ["alpha", "beta", "gamma"];
const HOSTS: [&str; 3] = ["a.allow.example.com", "b.approve.example.com", "c.other.example.com"];

fn policy_file(auditor: &str) -> std::path::PathBuf {
    let zone = |z: &str| {
        format!(
            "  {z}:\n    members: ['*']\n    default: deny\n    rules:\n      - {{id: {z}-allow, effect: allow, hosts: ['*.allow.example.com']}}\n      - {{id: {z}-approve, effect: require_approval, hosts: ['*.approve.example.com']}}\n"
        )
    };
    let doc = format!("auditors: ['{auditor}']\nzones:\n{}", ZONES.map(zone).concat());
    let path = std::env::temp_dir().join(format!("egress-read-path-{}.yaml", ulid::Ulid::new()));
    std::fs::write(&path, doc).unwrap();
    path
}

async fn call(svc: &ListService, principal: &str, path: &str, query: &[(&str, String)]) -> (u16, Value) {
    let a = Answer::of(svc.handle(get(principal, path, query)).await);
    (a.status, a.body)
}

/// Walks every page; returns the ids in order and the number of pages.
async fn walk(svc: &ListService, principal: &str, query: &[(&str, String)]) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = query.to_vec();
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let (status, body) = call(svc, principal, "/v1/egress/requests", &q).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        for item in body["items"].as_array().unwrap() {
            ids.push(item["request_id"].as_str().unwrap().to_owned());
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (ids, pages),
        }
        assert!(pages < 2000, "runaway pagination");
    }
}

/// Seeds through the create handler and checks the read path's claims; the store starts empty of this run's
/// principals (a shared table is fine: every principal is unique to the run).
pub async fn read_path(store: Arc<dyn Store>) {
    let run = ulid::Ulid::new().to_string();
    let principals: Vec<String> = (0..5)
        .map(|i| format!("arn:aws:iam::000000000000:role/reader-{i}-{run}"))
        .collect();
    let auditor = format!("arn:aws:iam::000000000000:role/auditor-{run}");
    let policy_path = policy_file(&auditor);
    let policy = Arc::new(CachedPolicySource::new(
        FileFetcher::new(&policy_path),
        Duration::from_secs(1),
    ));
    let create = CreateService {
        store: store.clone(),
        policy: policy.clone(),
        dev_mode: true,
        organization: None,
        idempotency_ttl: Duration::from_secs(60),
        proxy_keys: None,
    };
    let list = ListService {
        store: store.clone(),
        policy: policy.clone(),
        cursors: CursorCodec::new(&[42u8; 32]).unwrap(),
        dev_mode: true,
    };
    let since = time::OffsetDateTime::now_utc() - time::Duration::milliseconds(5);

    // Seed 1,000 requests: 5 principals x 3 zones x 3 outcomes, recorded by the real handler.
    let mut rows: Vec<Value> = Vec::new();
    for i in 0..1000usize {
        let principal = &principals[i % 5];
        let zone = ZONES[(i / 5) % 3];
        let host = HOSTS[(i / 15) % 3];
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/v1/egress/requests")
            .header("content-type", "application/json")
            .header(egress_core::PRINCIPAL_HEADER, principal.as_str())
            .body(Body::Text(
                json!({"url": format!("https://{host}/{i}"), "zone": zone}).to_string(),
            ))
            .unwrap();
        let resp = create.handle(req).await;
        assert_eq!(resp.status(), 201);
        let Body::Text(t) = resp.body() else { panic!("body") };
        rows.push(serde_json::from_str(t).unwrap());
    }
    let decisions: BTreeSet<&str> = rows.iter().map(|r| r["decision"].as_str().unwrap()).collect();
    assert_eq!(decisions.len(), 3, "all decisions present");
    let since_s = since.format(&time::format_description::well_known::Rfc3339).unwrap();

    let expected = |principal: Option<&str>, zone: Option<&str>, decision: Option<&str>| -> Vec<String> {
        let mut ids: Vec<String> = rows
            .iter()
            .filter(|r| principal.is_none_or(|p| r["principal"] == p))
            .filter(|r| zone.is_none_or(|z| r["zone"] == z))
            .filter(|r| decision.is_none_or(|d| r["decision"] == d))
            .map(|r| r["request_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort_by(|a, b| b.cmp(a));
        ids
    };

    // Every filter combination, as the auditor (all principals) and as each principal (own rows only).
    let mut combos = 0;
    for p in std::iter::once(None).chain(principals.iter().map(|p| Some(p.as_str()))) {
        for z in std::iter::once(None).chain(ZONES.iter().copied().map(Some)) {
            for d in [None, Some("allow"), Some("deny"), Some("require_approval")] {
                let mut q = vec![("since", since_s.clone()), ("limit", "200".to_owned())];
                if let Some(p) = p {
                    q.push(("principal", p.to_owned()));
                }
                if let Some(z) = z {
                    q.push(("zone", z.to_owned()));
                }
                if let Some(d) = d {
                    q.push(("decision", d.to_owned()));
                }
                let (ids, _) = walk(&list, &auditor, &q).await;
                assert_eq!(ids, expected(p, z, d), "auditor p={p:?} z={z:?} d={d:?}");
                combos += 1;
            }
        }
    }
    assert_eq!(combos, 6 * 4 * 4);
    for p in &principals {
        let (ids, _) = walk(&list, p, &[("since", since_s.clone()), ("limit", "200".to_owned())]).await;
        assert_eq!(ids, expected(Some(p), None, None), "own rows of {p}");
    }

    // Small pages: each row exactly once, newest first.
    let (ids, pages) = walk(
        &list,
        &auditor,
        &[("since", since_s.clone()), ("limit", "37".to_owned())],
    )
    .await;
    assert_eq!(ids, expected(None, None, None));
    assert_eq!(pages, 1000usize.div_ceil(37));
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 1000);

    // A filter that matches nothing: each page reads a fixed budget per shard (limit + 1 items), so the
    // first page is empty but has a cursor, and the walk ends after a bounded number of pages.
    let (status, first) = call(
        &list,
        &auditor,
        "/v1/egress/requests",
        &[
            ("zone", "no-rows-here".to_owned()),
            ("since", since_s.clone()),
            ("limit", "10".to_owned()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["items"].as_array().map(Vec::len), Some(0));
    assert!(first["next_cursor"].is_string(), "more rows remain unread: {first}");
    let (ids, pages) = walk(
        &list,
        &auditor,
        &[
            ("zone", "no-rows-here".to_owned()),
            ("since", since_s.clone()),
            ("limit", "10".to_owned()),
        ],
    )
    .await;
    assert!(ids.is_empty());
    // Each page moves past the 11 items one shard evaluated, so at most 1000 / 11 + 1 pages (about 10 in
    // practice); the old reader scanned the whole history in one page.
    assert!((2..=1000usize.div_ceil(11) + 1).contains(&pages), "{pages} pages");
    println!("no-match walk: {pages} pages");

    // Time window: since/until select exactly the rows created inside it.
    let mid = &rows[500]["created_at"];
    let late = &rows[800]["created_at"];
    let (ids, _) = walk(
        &list,
        &auditor,
        &[
            ("since", mid.as_str().unwrap().to_owned()),
            ("until", late.as_str().unwrap().to_owned()),
            ("limit", "200".to_owned()),
        ],
    )
    .await;
    let parse = |v: &Value| {
        time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
    };
    let (lo, hi) = (parse(mid), parse(late));
    let mut want: Vec<String> = rows
        .iter()
        .filter(|r| {
            let t = parse(&r["created_at"]);
            t >= lo && t <= hi
        })
        .map(|r| r["request_id"].as_str().unwrap().to_owned())
        .collect();
    want.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, want);

    // Cursors: tampered, replayed against another query, or used by another caller are 400s.
    let q = vec![("since", since_s.clone()), ("limit", "10".to_owned())];
    let (_, first) = call(&list, &auditor, "/v1/egress/requests", &q).await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let mut tampered = cursor.clone().into_bytes();
    tampered[5] = if tampered[5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (who, query, what) in [
        (&auditor, [q.clone(), vec![("cursor", tampered)]].concat(), "tampered"),
        (
            &auditor,
            [
                vec![("since", since_s.clone()), ("limit", "11".to_owned())],
                vec![("cursor", cursor.clone())],
            ]
            .concat(),
            "other query",
        ),
        (
            &principals[0],
            [q.clone(), vec![("cursor", cursor.clone())]].concat(),
            "other caller",
        ),
    ] {
        let (status, body) = call(&list, who, "/v1/egress/requests", &query).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["errors"][0]["field"], "cursor", "{what}");
    }

    // Isolation: a non-auditor cannot list another principal, and another's request by id is a 404.
    let (status, _) = call(
        &list,
        &principals[0],
        "/v1/egress/requests",
        &[("principal", principals[1].clone())],
    )
    .await;
    assert_eq!(status, 403);
    let theirs = rows.iter().find(|r| r["principal"] == principals[1].as_str()).unwrap();
    let id = theirs["request_id"].as_str().unwrap();
    let (status, body) = call(&list, &principals[0], &format!("/v1/egress/requests/{id}"), &[]).await;
    assert_eq!(status, 404, "{body}");
    let missing = ulid::Ulid::new().to_string();
    let (status_missing, body_missing) =
        call(&list, &principals[0], &format!("/v1/egress/requests/{missing}"), &[]).await;
    assert_eq!(status_missing, 404);
    assert_eq!(
        body["title"], body_missing["title"],
        "another's request looks exactly like a missing one"
    );
    let (status, body) = call(&list, &principals[1], &format!("/v1/egress/requests/{id}"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(&body, theirs);
    let (status, body) = call(&list, &auditor, &format!("/v1/egress/requests/{id}"), &[]).await;
    assert_eq!((status, &body), (200, theirs));

    // Bad parameters are problem+json 400s.
    for bad in [
        vec![("limit", "0".to_owned())],
        vec![("limit", "201".to_owned())],
        vec![("decision", "maybe".to_owned())],
        vec![("since", "yesterday".to_owned())],
        vec![("zone", "Bad Zone".to_owned())],
        vec![
            ("until", "2026-01-01T00:00:00Z".to_owned()),
            ("since", "2026-02-01T00:00:00Z".to_owned()),
        ],
        vec![("color", "blue".to_owned())],
        vec![("limit", "5".to_owned()), ("limit", "6".to_owned())],
    ] {
        let (status, body) = call(&list, &auditor, "/v1/egress/requests", &bad).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(body["errors"].is_array());
    }
    let _ = std::fs::remove_file(policy_path);
}

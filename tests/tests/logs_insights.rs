//! The runbook's CloudWatch Logs Insights queries (docs/OPERATIONS.md, "Logs": the fenced `logs-insights`
//! blocks) run against the log lines the functions write under `cargo lambda watch` in this run
//! (.local/logs/watch.log, the same lines Lambda ships to CloudWatch), through a small evaluator of the
//! query commands they use. So a query cannot name a field the lines do not have, and every line of an
//! invocation, metric lines included, carries its Lambda request id.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html>

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use egress_e2e::*;
use serde_json::{json, Value};

fn log_path() -> String {
    format!("{}/../.local/logs/watch.log", env!("CARGO_MANIFEST_DIR"))
}

fn runbook_queries() -> BTreeMap<String, String> {
    let doc = format!("{}/../docs/OPERATIONS.md", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(doc).expect("OPERATIONS.md");
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```logs-insights" {
            continue;
        }
        let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        // The first line names the query (a comment), the rest is the query.
        let name = block[0].trim_start_matches('#').trim().to_owned();
        out.insert(name, block[1..].join("\n"));
    }
    out
}

/// A field of a line by Logs Insights' name for it: nested JSON keys joined by dots.
fn field<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    name.split('.').try_fold(line, |v, k| v.get(k)).filter(|v| !v.is_null())
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// One condition of a `filter`: `f = "x"`, `f != "x"` or `ispresent(f)`.
fn term(line: &Value, t: &str) -> bool {
    let t = t.trim();
    if let Some(f) = t.strip_prefix("ispresent(").and_then(|r| r.strip_suffix(')')) {
        return field(line, f.trim()).is_some();
    }
    let (f, negated, value) = match (t.split_once("!="), t.split_once('=')) {
        (Some((f, v)), _) => (f, true, v),
        (None, Some((f, v))) => (f, false, v),
        _ => panic!("unsupported filter term {t:?}"),
    };
    let value = value.trim().trim_matches('"');
    (text(field(line, f.trim())) == value) != negated
}

/// `filter a or b and c`: `and` binds tighter, as in Logs Insights (no parentheses in the runbook).
fn filter(line: &Value, expr: &str) -> bool {
    expr.split(" or ").any(|alt| alt.split(" and ").all(|t| term(line, t)))
}

/// Runs `query` over `lines`: filter, fields, stats count(*) as N by f..., sort N asc|desc, limit N.
fn run(query: &str, lines: &[Value]) -> Vec<Value> {
    let mut rows: Vec<Value> = lines.to_vec();
    let query: String = query
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    for stage in query.split('|').map(str::trim).filter(|s| !s.is_empty()) {
        let (command, rest) = stage.split_once(' ').unwrap_or((stage, ""));
        match command {
            "filter" => rows.retain(|l| filter(l, rest)),
            "fields" => {
                let names: Vec<&str> = rest.split(',').map(str::trim).filter(|n| !n.starts_with('@')).collect();
                rows = rows
                    .iter()
                    .map(|l| {
                        Value::Object(
                            names
                                .iter()
                                .map(|n| ((*n).to_owned(), json!(text(field(l, n)))))
                                .collect(),
                        )
                    })
                    .collect();
            }
            "stats" => {
                let (count, by) = rest.split_once(" by ").expect("stats ... by ...");
                let as_name = count.split_once(" as ").expect("count(*) as NAME").1.trim();
                let keys: Vec<&str> = by.split(',').map(str::trim).collect();
                let mut groups: BTreeMap<Vec<String>, u64> = BTreeMap::new();
                for l in &rows {
                    *groups
                        .entry(keys.iter().map(|k| text(field(l, k))).collect())
                        .or_default() += 1;
                }
                rows = groups
                    .into_iter()
                    .map(|(vals, n)| {
                        let mut o: serde_json::Map<String, Value> = keys
                            .iter()
                            .zip(vals)
                            .map(|(k, v)| ((*k).to_owned(), json!(v)))
                            .collect();
                        o.insert(as_name.to_owned(), json!(n));
                        Value::Object(o)
                    })
                    .collect();
            }
            "sort" => {
                let (by, order) = rest.split_once(' ').unwrap_or((rest, "asc"));
                rows.sort_by_key(|r| r[by.trim()].as_u64().unwrap_or(0));
                if order.trim() == "desc" {
                    rows.reverse();
                }
            }
            "limit" => rows.truncate(rest.trim().parse().expect("limit N")),
            other => panic!("the evaluator does not know `{other}`: extend it with the runbook"),
        }
    }
    rows
}

/// The JSON lines the functions wrote after byte `from` of the watch log.
fn lines_since(from: usize) -> Vec<Value> {
    let log = std::fs::read(log_path()).expect("watch log (make watch-up)");
    String::from_utf8_lossy(&log[from.min(log.len())..])
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

#[tokio::test]
async fn the_runbook_queries_answer_on_the_functions_log_lines() {
    let queries = runbook_queries();
    let names: Vec<&str> = queries.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "Decisions per rule",
            "Every line of one invocation",
            "Top refused hosts",
            "Why was this request refused?"
        ],
        "the runbook's queries"
    );
    let start = std::fs::metadata(log_path()).map(|m| m.len() as usize).unwrap_or(0);

    // Three allowed by the example policy's GitHub rule; two refusals of one host, one of another.
    let agent = unique_principal("insights");
    let tag = agent.rsplit('-').next().unwrap_or("x").to_lowercase();
    let (twice, once) = (format!("twice-{tag}.example.org"), format!("once-{tag}.example.org"));
    let mut refused = None;
    for url in [
        "https://api.github.com/".to_owned(),
        "https://api.github.com/".to_owned(),
        "https://api.github.com/".to_owned(),
        format!("https://{twice}/"),
        format!("https://{twice}/"),
        format!("https://{once}/"),
    ] {
        let ans = post_json(&agent, &json!({"url": url, "zone": "default"})).await;
        assert_eq!(ans.status, 201, "{}", ans.body);
        if url.contains(&once) {
            assert_ne!(ans.body["decision"], "allow", "{}", ans.body);
            refused = Some(ans.body.clone());
        }
    }
    let refused = refused.unwrap();
    let id = refused["request_id"].as_str().unwrap();
    // A request the API itself refuses (400): its only trace is a log line, `request rejected`.
    let bad = post_json(
        &agent,
        &json!({"url": "ftp://insights.example.org/", "zone": "default"}),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    // stdout reaches the file a little after the answer
    let deadline = Instant::now() + Duration::from_secs(20);
    let lines = loop {
        let lines = lines_since(start);
        let rejected = lines
            .iter()
            .any(|l| text(field(l, "fields.message")) == "request rejected");
        if (rejected && lines.iter().any(|l| text(field(l, "request_id")) == id)) || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let why = run(
        &queries["Why was this request refused?"].replace("REQUEST_ID", id),
        &lines,
    );
    assert_eq!(why.len(), 1, "{why:?}");
    let row = &why[0];
    for f in ["decision", "reason", "mode", "policy_decision"] {
        assert_eq!(row[f], refused[f], "{f}: {row}");
    }
    assert_eq!(row["host"], json!(once), "{row}");
    let invocation = row["requestId"].as_str().unwrap().to_owned();
    assert_eq!(invocation.len(), 36, "a Lambda request id (UUID): {row}");

    let per_rule = run(&queries["Decisions per rule"], &lines);
    let github = per_rule
        .iter()
        .find(|r| r["decision"] == "allow" && r["rule"].as_str().is_some_and(|r| !r.is_empty()))
        .unwrap_or_else(|| panic!("an allow by a named rule: {per_rule:?}"));
    assert!(github["decisions"].as_u64() >= Some(3), "{per_rule:?}");

    let top = run(&queries["Top refused hosts"], &lines);
    let ours: Vec<(&str, u64)> = top
        .iter()
        .filter(|r| {
            r["host"]
                .as_str()
                .is_some_and(|h| h.ends_with(&format!("{tag}.example.org")))
        })
        .map(|r| (r["host"].as_str().unwrap(), r["refused"].as_u64().unwrap()))
        .collect();
    assert_eq!(ours, [(twice.as_str(), 2), (once.as_str(), 1)], "{top:?}");
    assert!(top.len() <= 10);

    let invocation_lines = run(
        &queries["Every line of one invocation"].replace("LAMBDA_REQUEST_ID", &invocation),
        &lines,
    );
    // The decision's invocation: its metric line and its `egress request recorded` line.
    let messages: Vec<String> = invocation_lines.iter().map(|r| text(r.get("fields.message"))).collect();
    assert!(
        invocation_lines.iter().any(|r| r["decision"] == refused["decision"])
            && messages.iter().any(|m| m == "egress request recorded"),
        "{invocation_lines:?}"
    );

    // The refused request's invocation, found from its log line, holds that line with the runbook's fields.
    let rejected = lines
        .iter()
        .find(|l| text(field(l, "fields.message")) == "request rejected" && text(field(l, "fields.status")) == "400")
        .unwrap_or_else(|| panic!("a `request rejected` line for the 400"));
    let its_invocation = text(field(rejected, "span.requestId"));
    assert_eq!(its_invocation.len(), 36, "{rejected}");
    let rows = run(
        &queries["Every line of one invocation"].replace("LAMBDA_REQUEST_ID", &its_invocation),
        &lines,
    );
    assert!(
        rows.iter().any(|r| r["level"] == "INFO"
            && r["fields.status"] == "400"
            && r["fields.kind"]
                .as_str()
                .is_some_and(|k| k.starts_with("urn:egress:problem:"))),
        "{rows:?}"
    );

    // Every line written while serving an invocation names it: the runtime's span on log lines, `requestId`
    // on metric lines. (Lines written at a cold start, before any invocation, have neither.)
    for l in &lines {
        let traced = field(l, "span.requestId").is_some();
        let metric = field(l, "requestId").is_some();
        let per_request =
            ["request rejected", "egress request recorded"].contains(&text(field(l, "fields.message")).as_str());
        if per_request {
            assert!(traced, "a request's log line without its invocation: {l}");
        }
        if l.get("Decisions").is_some() {
            assert!(metric, "a decision line without its invocation: {l}");
        }
    }
}

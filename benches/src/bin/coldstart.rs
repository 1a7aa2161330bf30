//! Exec-to-first-event under cargo-lambda's runtime emulator (`make coldstart`, which builds the release
//! binaries and starts `cargo lambda watch --only-lambda-apis` first).
//!
//! For each run: queue one invocation in the emulator, start the function's binary, and time from just
//! before the exec to the invocation's answer. The events need no I/O to answer (an unauthenticated API
//! request gets 401, an empty stream batch nothing to publish), so the time is the function's init (tokio,
//! logging, configuration, SDK clients, a 10,000-rule policy for the API functions) plus the runtime's
//! first poll. Each function is reported against `noop-function` (the same runtime, no init) measured in
//! the same run, interleaved, so machine noise hits both alike.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use egress_bench::{policy_json, policy_yaml, rules};
use egress_e2e::percentile;
use serde_json::{json, Value};

struct Case {
    label: &'static str,
    binary: &'static str,
    env: Vec<(&'static str, String)>,
    event: Value,
    /// Checks the invocation's answer, so a run that failed to init is never counted as a fast one.
    expect: fn(&Value) -> bool,
}

fn api_event(method: &str) -> Value {
    // An API Gateway HTTP API (v2) event without an authorizer: the handler answers 401 without I/O.
    json!({
        "version": "2.0",
        "routeKey": format!("{method} /v1/egress/requests"),
        "rawPath": "/v1/egress/requests",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": method, "path": "/v1/egress/requests", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "coldstart"},
            "requestId": "coldstart", "routeKey": format!("{method} /v1/egress/requests"), "stage": "$default",
            "time": "27/Nov/2026:00:00:00 +0000", "timeEpoch": 0
        },
        "body": if method == "POST" { "{}" } else { "" },
        "isBase64Encoded": false
    })
}

fn status_401(v: &Value) -> bool {
    v["statusCode"] == 401
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = arg("--runs", "30").parse()?;
    let emulator = arg("--emulator", "127.0.0.1:9300");
    let bin_dir = PathBuf::from(arg("--bin-dir", "target/release"));
    let dir = std::env::temp_dir().join(format!("egress-coldstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let policy = rules(10_000);
    let json_file = dir.join("policy-10k.json");
    let yaml_file = dir.join("policy-10k.yaml");
    std::fs::write(&json_file, policy_json(&policy))?;
    std::fs::write(&yaml_file, policy_yaml(&policy))?;

    let api_env = |file: &Path| {
        vec![
            ("EGRESS_POLICY_FILE", file.display().to_string()),
            ("EGRESS_TABLE", "sec_egress_requests".to_owned()),
            (
                "EGRESS_CURSOR_KEY",
                "coldstart-cursor-key-0123456789abcdef0123456789".to_owned(),
            ),
        ]
    };
    let cases = [
        Case {
            label: "noop-function (baseline)",
            binary: "noop-function",
            env: vec![],
            event: json!({"ping": 1}),
            expect: |v| v["ping"] == 1,
        },
        Case {
            label: "create-request, 10k rules (JSON)",
            binary: "create-request",
            env: api_env(&json_file),
            event: api_event("POST"),
            expect: status_401,
        },
        Case {
            label: "create-request, 10k rules (YAML)",
            binary: "create-request",
            env: api_env(&yaml_file),
            event: api_event("POST"),
            expect: status_401,
        },
        Case {
            label: "list-requests, 10k rules (JSON)",
            binary: "list-requests",
            env: api_env(&json_file),
            event: api_event("GET"),
            expect: status_401,
        },
        Case {
            label: "publish-events",
            binary: "publish-events",
            env: vec![("EGRESS_BUS_NAME", "egress".to_owned())],
            event: json!({"Records": []}),
            expect: |v| v["batchItemFailures"] == json!([]),
        },
    ];

    let http = reqwest::Client::new();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    // One extra round first, not counted: it brings the binaries into the page cache.
    for round in 0..=runs {
        for (i, case) in cases.iter().enumerate() {
            let t = run_once(&http, &emulator, &bin_dir, case).await?;
            if round > 0 {
                times[i].push(t);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    for t in &mut times {
        t.sort();
    }
    let base = percentile(&times[0], 50.0);
    println!("exec-to-first-event under `cargo lambda watch --only-lambda-apis`, {runs} runs each, interleaved\n");
    println!("| function | p50 | p90 | min | p50 / baseline p50 |");
    println!("|---|---:|---:|---:|---:|");
    for (case, t) in cases.iter().zip(&times) {
        let p50 = percentile(t, 50.0);
        println!(
            "| {} | {} | {} | {} | {:.2} |",
            case.label,
            ms(p50),
            ms(percentile(t, 90.0)),
            ms(t[0]),
            p50.as_secs_f64() / base.as_secs_f64()
        );
    }
    Ok(())
}

/// Queues one invocation, execs the function, and returns the time from the exec to the answer.
async fn run_once(
    http: &reqwest::Client,
    emulator: &str,
    bin_dir: &Path,
    case: &Case,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let url = format!("http://{emulator}/2015-03-31/functions/{}/invocations", case.binary);
    let invoke = http
        .post(&url)
        .json(&case.event)
        .timeout(Duration::from_secs(30))
        .send();
    let answer = tokio::spawn(async move {
        let res = invoke.await?;
        let done = Instant::now();
        let body: Value = res.json().await?;
        Ok::<_, reqwest::Error>((done, body))
    });
    // Let the emulator queue the invocation before the function's first poll for it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut cmd = Command::new(bin_dir.join(case.binary));
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://{emulator}/.rt/{}", case.binary),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", case.binary)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "coldstart")
        .env("AWS_SECRET_ACCESS_KEY", "coldstart")
        // Nothing is called; an unroutable endpoint makes sure of it.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("RUST_LOG", "info")
        .envs(case.env.iter().map(|(k, v)| (*k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let outcome = answer.await;
    let _ = child.kill();
    let _ = child.wait();
    let (done, body) = outcome??;
    if !(case.expect)(&body) {
        return Err(format!("{}: unexpected answer {body}", case.label).into());
    }
    Ok(done.saturating_duration_since(start))
}

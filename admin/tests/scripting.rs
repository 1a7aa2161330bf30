//! egress-admin as scripts use it, on the local stack: the exit code says what kind of failure it was
//! (docs/OPERATIONS.md "egress-admin exit codes"), `--json` errors are JSON on stderr, `approvals wait`
//! ends with the approver's decision, and `--stack` finds the API and the kill-switch parameter from a
//! real CloudFormation stack's outputs (moto's CloudFormation).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use egress_e2e::{lambda_endpoint, moto_endpoint, post_json, sdk_config, stack_setting, unique_principal};
use serde_json::{json, Value};

const APPROVER: &str = "approver@example.com";

/// The variables that name the stack's resources: a `--stack` run must not find them in the environment.
const RESOURCE_VARS: [&str; 5] = [
    "EGRESS_API_URL",
    "EGRESS_KILL_SWITCH_PARAMETER",
    "EGRESS_TABLE",
    "EGRESS_BUS_NAME",
    "EGRESS_PUBLISH_EVENTS_DLQ_QUEUE_URL",
];

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_egress-admin"));
    c.args(["--principal", APPROVER])
        .env("EGRESS_API_URL", lambda_endpoint())
        // moto serves CloudFormation too (the local stack itself is not a CloudFormation stack).
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", moto_endpoint());
    c
}

fn run(c: &mut Command) -> Run {
    let out = c.output().expect("egress-admin runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn admin(args: &[&str]) -> Run {
    run(command().args(args))
}

/// An approval an agent's request opened, still pending.
async fn pending_approval() -> String {
    let agent = unique_principal("cli-wait");
    let asked = post_json(&agent, &json!({"domain": "cli.pastebin.com", "zone": "default"})).await;
    assert_eq!(asked.body["decision"], "require_approval", "{}", asked.body);
    asked.body["approval_id"].as_str().expect("approval_id").to_owned()
}

#[tokio::test]
async fn each_failure_has_its_exit_code_and_json_errors_go_to_stderr() {
    let unknown = ulid::Ulid::new().to_string();
    let r = admin(&["approvals", "show", &unknown]);
    assert_eq!(r.code, Some(4), "not found: {}", r.stderr);

    let r = admin(&["--json", "approvals", "show", &unknown]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(4), ""), "{}", r.stderr);
    let e: Value = serde_json::from_str(&r.stderr).expect("a JSON error on stderr");
    assert_eq!(
        (e["error"].as_str(), e["exit_code"].as_u64()),
        (Some("not_found"), Some(4)),
        "{e}"
    );
    assert!(e["message"].as_str().is_some_and(|m| m.contains("404")), "{e}");

    let id = pending_approval().await;
    let r = admin(&["approvals", "grant", &id]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = admin(&["approvals", "grant", &id]);
    assert_eq!(r.code, Some(5), "conflict: {}", r.stderr);

    let r = admin(&["--api-url", "http://127.0.0.1:1", "approvals", "ls"]);
    assert_eq!(r.code, Some(6), "unavailable: {}", r.stderr);

    // The API refuses a caller it does not know (no principal): the gateway's problem, so no hint.
    let r = run(Command::new(env!("CARGO_BIN_EXE_egress-admin"))
        .args([
            "--api-url",
            &lambda_endpoint(),
            "--auth",
            "bearer",
            "--token",
            "not-a-jwt",
        ])
        .args(["approvals", "ls"]));
    assert_eq!(r.code, Some(3), "auth: {}", r.stderr);
    assert!(!r.stderr.contains("hint:"), "{}", r.stderr);

    // Usage: clap's own, and a flag neither given nor found in a stack.
    assert_eq!(admin(&["approvals", "frobnicate"]).code, Some(2));
    let r = run(command()
        .env_remove("EGRESS_KILL_SWITCH_PARAMETER")
        .args(["kill-switch", "status"]));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("--parameter"), "{}", r.stderr);

    // No AWS credentials anywhere: `auth` (fix the login), not `unavailable` (retry later).
    let r = run(command()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["kill-switch", "status"]));
    assert_eq!(r.code, Some(3), "no credentials: {}", r.stderr);
}

/// `approvals wait` in the background while an approver decides: it ends promptly with the decision.
fn wait_for(id: &str, extra: &[&str]) -> std::process::Child {
    command()
        .args(["--json", "approvals", "wait", id, "--interval", "0.2"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("egress-admin runs")
}

fn finished(child: std::process::Child, within: Duration) -> Run {
    let started = Instant::now();
    let mut child = child;
    while child.try_wait().expect("try_wait").is_none() {
        assert!(started.elapsed() < within, "approvals wait still runs after {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn approvals_wait_ends_with_the_decision_or_its_timeout() {
    let granted = pending_approval().await;
    let waiting = wait_for(&granted, &["--timeout", "60"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = admin(&["approvals", "grant", &granted, "--note", "wait test"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let decided = Instant::now();
    let r = finished(waiting, Duration::from_secs(20));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        decided.elapsed() < Duration::from_secs(10),
        "promptly: {:?}",
        decided.elapsed()
    );
    let a: Value = serde_json::from_str(&r.stdout).expect("the approval as JSON");
    assert_eq!(
        (a["approval_id"].as_str(), a["state"].as_str()),
        (Some(granted.as_str()), Some("granted"))
    );

    let denied = pending_approval().await;
    let waiting = wait_for(&denied, &["--timeout", "60"]);
    let r = admin(&["approvals", "deny", &denied]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = finished(waiting, Duration::from_secs(20));
    assert_eq!(r.code, Some(1), "denied: {}", r.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&r.stdout).expect("JSON")["state"],
        "denied"
    );
    let e: Value = serde_json::from_str(&r.stderr).expect("a JSON error");
    assert_eq!(e["error"], "failure", "{e}");

    let pending = pending_approval().await;
    let r = finished(wait_for(&pending, &["--timeout", "1"]), Duration::from_secs(20));
    assert_eq!(r.code, Some(7), "timeout: {}", r.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&r.stdout).expect("JSON")["state"],
        "pending"
    );
    assert_eq!(admin(&["approvals", "wait", &pending, "--timeout", "0"]).code, Some(2));
}

/// Creates a stack in moto's CloudFormation whose outputs are the local stack's (an SSM parameter is its
/// one resource: a stack needs one).
async fn create_stack(outputs: &[(&str, String)]) -> String {
    let name = format!("egress-cli-{}", ulid::Ulid::new().to_string().to_lowercase());
    let template = json!({
        "Resources": {"Marker": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": format!("/{name}/marker"), "Type": "String", "Value": "egress-admin --stack test"}}},
        "Outputs": outputs.iter().map(|(k, v)| (k.to_string(), json!({"Value": v}))).collect::<serde_json::Map<_, _>>(),
    });
    let cfn = aws_sdk_cloudformation::Client::new(&sdk_config(&moto_endpoint()).await);
    cfn.create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .expect("CreateStack (moto)");
    let status = cfn
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await
        .expect("DescribeStacks")
        .stacks()[0]
        .stack_status()
        .map(|s| s.as_str().to_owned());
    assert_eq!(status.as_deref(), Some("CREATE_COMPLETE"));
    name
}

fn with_stack(stack: &str, args: &[&str]) -> Run {
    let mut c = command();
    for v in RESOURCE_VARS {
        c.env_remove(v);
    }
    run(c.args(["--stack", stack]).args(args))
}

#[tokio::test]
async fn the_stack_outputs_name_the_api_and_the_kill_switch() {
    let parameter = stack_setting("EGRESS_KILL_SWITCH_PARAMETER");
    let stack = create_stack(&[
        ("ApiUrl", lambda_endpoint()),
        ("KillSwitchParameterName", parameter.clone()),
        ("TableName", stack_setting("EGRESS_TABLE")),
        ("EventBusName", stack_setting("EGRESS_BUS_NAME")),
    ])
    .await;
    // This stack's API (the default URL would be another one): it knows the approval.
    let id = pending_approval().await;
    let r = with_stack(&stack, &["--json", "approvals", "show", &id]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&r.stdout).expect("JSON")["approval_id"],
        json!(id)
    );

    let r = with_stack(&stack, &["--json", "kill-switch", "status"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&r.stdout).expect("JSON")["parameter"],
        json!(parameter)
    );

    // A flag wins over the output.
    let r = with_stack(&stack, &["--api-url", "http://127.0.0.1:1", "approvals", "show", &id]);
    assert_eq!(r.code, Some(6), "{}", r.stderr);
    // An output the command needs and the stack lacks: usage, naming it.
    let r = with_stack(&stack, &["redrive", "--dry-run"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("PublishEventsDlqUrl"), "{}", r.stderr);
    // No such stack.
    let r = with_stack("egress-no-such-stack", &["--json", "kill-switch", "status"]);
    assert_eq!(r.code, Some(4), "{}", r.stderr);
    let e: Value = serde_json::from_str(&r.stderr).expect("a JSON error");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("egress-no-such-stack")),
        "{e}"
    );
}

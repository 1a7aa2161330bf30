//! egress-admin against the local stack (`cargo lambda watch`, dev mode): an approver lists the pending
//! approval an agent opened, shows it, grants it once (JSON for scripts), and a second decision fails
//! with the API's 409; the agent's next request is allowed by the grant.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use std::process::Command;

use egress_e2e::{lambda_endpoint, post_json, unique_principal};
use serde_json::{json, Value};

const APPROVER: &str = "approver@example.com";

fn admin(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_egress-admin"))
        .args(["--api-url", &lambda_endpoint(), "--principal", APPROVER])
        .args(args)
        .output()
        .expect("egress-admin runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn an_approver_grants_with_the_cli() {
    let agent = unique_principal("cli");
    let asked = post_json(&agent, &json!({"domain": "cli.pastebin.com", "zone": "default"})).await;
    assert_eq!(asked.body["decision"], "require_approval", "{}", asked.body);
    let id = asked.body["approval_id"].as_str().unwrap().to_owned();

    let (ok, table, err) = admin(&["approvals", "ls", "--zone", "default", "--state", "pending", "--all"]);
    assert!(ok, "{err}");
    assert!(table.starts_with("APPROVAL_ID"), "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} in {table}"));
    assert!(
        row.contains("pending") && row.contains("https://cli.pastebin.com:443/"),
        "{row}"
    );

    let (ok, shown, err) = admin(&["approvals", "show", &id]);
    assert!(ok, "{err}");
    assert!(shown.contains(&format!("principal    {agent}")), "{shown}");
    // What a grant will cover, exactly: this target and path, this principal and zone.
    let covers = shown.lines().find(|l| l.starts_with("covers")).unwrap_or_default();
    assert!(
        covers.contains("https://cli.pastebin.com:443/ exactly")
            && covers.contains("no other path")
            && covers.contains(&format!("for {agent} in zone default")),
        "{shown}"
    );

    let (ok, granted, err) = admin(&[
        "--json",
        "approvals",
        "grant",
        &id,
        "--scope",
        "once",
        "--ttl",
        "600",
        "--note",
        "cli test",
    ]);
    assert!(ok, "{err}");
    let granted: Value = serde_json::from_str(&granted).expect("JSON");
    assert_eq!(
        (granted["state"].as_str(), granted["grant"]["scope"].as_str()),
        (Some("granted"), Some("once"))
    );
    assert_eq!(granted["decided_by"], APPROVER);

    let (ok, _, err) = admin(&["approvals", "deny", &id]);
    assert!(!ok, "a second decision fails");
    assert!(err.contains("409") && err.contains("write-once"), "{err}");

    let (ok, shown, err) = admin(&["approvals", "show", &id]);
    assert!(ok, "{err}");
    assert!(shown.contains("the next such request only"), "{shown}");

    let allowed = post_json(&agent, &json!({"domain": "cli.pastebin.com", "zone": "default"})).await;
    assert_eq!(allowed.body["reason"], "approval_granted", "{}", allowed.body);
}

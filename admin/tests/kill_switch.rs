//! `egress-admin kill-switch` against the local stack: engaged and released through the parameter and
//! confirmed through the API within the documented 5 s; a re-run of the bootstrap, which creates the
//! stack's resources from the template as a deploy would, leaves an engaged switch engaged (the template
//! no longer owns the parameter); a missing parameter denies everything until `release` creates it. Its
//! own test binary: while engaged it denies everyone's requests.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use std::process::Command;
use std::time::Duration;

use egress_e2e::proxy_lab::python;
use egress_e2e::{lambda_endpoint, post_json, ssm, stack_setting, unique_principal};
use serde_json::{json, Value};

fn admin(principal: &str, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_egress-admin"))
        .args([
            "--api-url",
            &lambda_endpoint(),
            "--principal",
            principal,
            "--json",
            "kill-switch",
        ])
        .args(args)
        .output()
        .expect("egress-admin runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::String(stdout));
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sets the switch back to off whatever happens (a panic included): other test binaries follow.
struct ReleaseOnDrop(String);
impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        let _ = admin(&self.0, &["release"]);
    }
}

async fn reason_now(principal: &str) -> Value {
    let ans = post_json(principal, &json!({"domain": "example.com", "zone": "default"})).await;
    assert_eq!(ans.status, 201, "{}", ans.body);
    ans.body["reason"].clone()
}

#[tokio::test]
async fn engage_and_release_are_confirmed_and_a_redeploy_keeps_an_engaged_switch() {
    let operator = unique_principal("kill-switch-cli");
    let _release = ReleaseOnDrop(operator.clone());
    let (ok, status, err) = admin(&operator, &["status"]);
    assert!(ok, "{err}");
    assert_eq!(status["state"], "off", "{status}");
    assert_eq!(
        status["parameter"],
        json!(stack_setting("EGRESS_KILL_SWITCH_PARAMETER"))
    );

    let (ok, engaged, err) = admin(&operator, &["engage", "INC-7: drill", "--wait"]);
    assert!(ok, "{err}");
    assert_eq!(engaged["state"], "engaged");
    let after = engaged["confirmed_after_ms"].as_u64().expect("confirmed");
    assert!(after <= 5_000, "confirmed within 5 s: {after} ms");
    let (_, status, _) = admin(&operator, &["status"]);
    assert_eq!(
        (&status["state"], &status["reason"]),
        (&json!("engaged"), &json!("INC-7: drill"))
    );

    // A deploy-shaped re-run: the bootstrap creates the stack's resources from template.yaml again.
    let boot = Command::new(python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/local/bootstrap.py"))
        .output()
        .expect("bootstrap runs");
    assert!(boot.status.success(), "{}", String::from_utf8_lossy(&boot.stderr));
    let (_, status, _) = admin(&operator, &["status"]);
    assert_eq!(
        status["state"], "engaged",
        "a redeploy must not release the switch: {status}"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(reason_now(&operator).await, "kill_switch");

    // Refused: `off` is not a reason; nothing changes.
    let (ok, _, err) = admin(&operator, &["engage", "OFF"]);
    assert!(!ok && err.contains("not `off`"), "{err}");

    let (ok, released, err) = admin(&operator, &["release", "--wait"]);
    assert!(ok, "{err}");
    assert!(
        released["confirmed_after_ms"].as_u64().is_some_and(|ms| ms <= 5_000),
        "{released}"
    );
    assert_eq!(reason_now(&operator).await, "default_deny");

    // No parameter at all (a new stack): status says so, the gateway denies every request within its
    // refresh, and `release` creates it.
    ssm()
        .await
        .delete_parameter()
        .name(stack_setting("EGRESS_KILL_SWITCH_PARAMETER"))
        .send()
        .await
        .expect("delete parameter");
    let (_, status, _) = admin(&operator, &["status"]);
    assert_eq!(status["state"], "missing", "{status}");
    // Engaging a name that does not exist is refused (it would create a parameter nobody reads).
    let (ok, _, err) = admin(&operator, &["engage", "INC-8: typo"]);
    assert!(!ok && err.contains("does not exist"), "{err}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        reason_now(&operator).await,
        "kill_switch",
        "a missing switch fails closed"
    );
    let (ok, _, err) = admin(&operator, &["release", "--wait"]);
    assert!(ok, "{err}");
    let (_, status, _) = admin(&operator, &["status"]);
    assert_eq!(status["state"], "off");
}

//! `egress-policy` as an operator runs it: the binary itself, on the repository's policy and case files,
//! with its exit codes (0 done, 1 invalid policy / failed case / changed decision with `--exit-code`,
//! 2 unusable input).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use std::path::PathBuf;
use std::process::{Command, Output};

use egress_core::{authorize_egress, parse_body, CompiledPolicy, Identity, RequestRecord};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn policy_cli(args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } = Command::new(env!("CARGO_BIN_EXE_egress-policy"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("egress-policy runs");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (status.code().unwrap_or(-1), text(stdout), text(stderr))
}

/// A scratch file under the target directory, named for the test.
fn scratch(name: &str, contents: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("policy-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).expect("scratch file");
    path.to_string_lossy().into_owned()
}

const DEFAULT: &str = "infra/policy/default.yaml";

#[test]
fn check_json_and_eval() {
    let (code, out, _) = policy_cli(&["check", DEFAULT]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("valid; version sha256:"), "{out}");
    let broken = scratch("broken.yaml", "zones: {}\n");
    let (code, out, err) = policy_cli(&["check", &broken]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.contains("invalid policy") && err.contains("at least one zone"),
        "{err}"
    );
    let (code, out, _) = policy_cli(&["json", DEFAULT]);
    assert_eq!(code, 0);
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());

    let body = r#"{"url":"https://api.github.com/Admin/x","zone":"default"}"#;
    let (code, out, _) = policy_cli(&["eval", DEFAULT, "--principal", "alice", body]);
    assert_eq!(
        (code, out.trim()),
        (0, "deny (reason rule_deny, rule deny-github-admin, mode enforce)")
    );
    let (code, out, _) = policy_cli(&["eval", DEFAULT, "--principal", "alice", "--json", body]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        (code, v["decision"].as_str(), v["rule"].as_str()),
        (0, Some("deny"), Some("deny-github-admin"))
    );
    // A body the API refuses is refused (exit 2), never decided.
    let (code, _, err) = policy_cli(&[
        "eval",
        DEFAULT,
        "--principal",
        "a",
        r#"{"url":"https://a.com/","zone":"default","principal":"x"}"#,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("never taken from the body"), "{err}");
    let (code, _, _) = policy_cli(&["eval", DEFAULT, body]);
    assert_eq!(code, 2, "--principal is required");
    let (code, _, _) = policy_cli(&["no-such-command"]);
    assert_eq!(code, 2);
}

#[test]
fn test_cases_pass_and_a_failing_case_fails_the_run() {
    let (code, out, _) = policy_cli(&["test", DEFAULT, "infra/policy/default.tests.yaml"]);
    assert_eq!((code, out.trim()), (0, "8 case(s), 0 failed"));
    let cases = scratch(
        "cases.yaml",
        "- {name: hopeful, principal: a, request: {domain: example.org, zone: default}, expect: {decision: allow}}\n",
    );
    let (code, out, _) = policy_cli(&["test", DEFAULT, &cases]);
    assert_eq!(code, 1);
    assert!(
        out.contains("case 1 (hopeful): expected allow, got deny (reason default_deny"),
        "{out}"
    );
    let unknown = scratch(
        "unknown.yaml",
        "- {principal: a, request: {}, expect: {decision: allow}, typo: 1}\n",
    );
    let (code, _, err) = policy_cli(&["test", DEFAULT, &unknown]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn diff_lists_the_recorded_requests_whose_decision_changes() {
    let text = std::fs::read_to_string(root().join(DEFAULT)).unwrap();
    let current = CompiledPolicy::from_yaml(&text).unwrap();
    let stricter = text.replace(
        "      - id: approve-paste-sites\n        effect: require_approval",
        "      - id: approve-paste-sites\n        effect: deny",
    );
    assert_ne!(stricter, text, "the example policy still has the paste-site rule");
    let candidate = scratch("candidate.yaml", &stricter);
    let records: Vec<String> = [
        r#"{"domain":"pastebin.com","zone":"default"}"#,
        r#"{"url":"https://pypi.org/simple/","zone":"default"}"#,
        r#"{"url":"https://gist.github.com/x","zone":"default"}"#,
    ]
    .iter()
    .map(|body| {
        let valid = parse_body(body.as_bytes()).unwrap();
        let d = authorize_egress(&current, "alice", &valid.body.zone, valid.requested());
        let r = RequestRecord::new(
            ulid::Ulid::new(),
            "alice".into(),
            Identity::dev(),
            valid.body.zone.clone(),
            valid.target.clone(),
            None,
            &d,
        );
        serde_json::to_string(&r).unwrap()
    })
    .collect();
    let lines = scratch("records.jsonl", &(records.join("\n") + "\n"));
    let (code, out, err) = policy_cli(&["diff", DEFAULT, &candidate, &lines]);
    assert_eq!(code, 0, "{err}");
    let changed: Vec<&str> = out.lines().collect();
    assert_eq!(changed.len(), 3, "{out}");
    assert!(
        changed[0].contains("alice default https://pastebin.com:443/: require_approval"),
        "{out}"
    );
    assert!(
        changed[0].ends_with("-> deny (reason rule_deny, rule approve-paste-sites, mode enforce)"),
        "{out}"
    );
    assert!(changed[1].contains("gist.github.com"), "{out}");
    assert_eq!(changed[2], "2 of 3 recorded request(s) would change");
    // A list page is read too; --exit-code makes a change exit 1; nothing changes against itself.
    let page = scratch(
        "page.json",
        &format!("{{\"items\": [{}], \"next_cursor\": null}}", records.join(",")),
    );
    let (code, out, _) = policy_cli(&["diff", DEFAULT, &candidate, &page, "--json", "--exit-code"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!((code, v.as_array().map(Vec::len)), (1, Some(2)));
    assert_eq!(v[0]["candidate"]["decision"], "deny");
    let (code, out, _) = policy_cli(&["diff", DEFAULT, DEFAULT, &page, "--exit-code"]);
    assert_eq!((code, out.trim()), (0, "0 of 3 recorded request(s) would change"));
    let junk = scratch("junk.jsonl", "{\"request_id\": 1}\nnot json\n");
    let (code, _, err) = policy_cli(&["diff", DEFAULT, &candidate, &junk]);
    assert_eq!(code, 2, "{err}");
}

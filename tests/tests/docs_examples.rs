//! The README and docs/OPERATIONS.md work as written. Every fenced `sh` block of a document runs, in
//! order, in one bash session (`set -euo pipefail`, so a failing command fails its block) against the
//! local stack, as a new user would paste them; blocks for AWS are fenced `bash` and are not run. A `json`
//! block right after an `sh` block documents the shape of the block's last JSON answer: every documented
//! key is there with the same type, and outcome fields (decision, reason, state, ...) have the documented
//! value. So the docs cannot drift from the product.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Fields whose documented value is the outcome itself, compared exactly.
const OUTCOMES: [&str; 9] = [
    "decision", "reason", "state", "scope", "mode", "status", "code", "type", "detector",
];

struct Example {
    line: usize,
    script: String,
    expected: Option<Value>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn examples(doc: &str) -> Vec<Example> {
    let text = std::fs::read_to_string(root().join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<Example> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let info = lines[i].trim_start().strip_prefix("```").map(str::trim);
        let Some(info) = info.filter(|s| !s.is_empty()) else {
            i += 1;
            continue;
        };
        let start = i;
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim_start().starts_with("```"))
            .unwrap_or_else(|| panic!("{doc}:{}: unclosed fence", start + 1));
        let body = lines[start + 1..end].join("\n");
        match info {
            "sh" => out.push(Example {
                line: start + 1,
                script: body,
                expected: None,
            }),
            "json" => {
                // Documents the answer of the sh block right before it (nothing but blank lines between).
                let previous = out.last_mut().filter(|e| {
                    let gap_from = e.line + e.script.lines().count() + 1;
                    lines[gap_from..start].iter().all(|l| l.trim().is_empty())
                });
                if let Some(e) = previous.filter(|e| e.expected.is_none()) {
                    let v = serde_json::from_str(&body)
                        .unwrap_or_else(|err| panic!("{doc}:{}: documented answer is not JSON: {err}", start + 1));
                    e.expected = Some(v);
                }
            }
            _ => {}
        }
        i = end + 1;
    }
    out
}

/// `actual` has every key of `expected`, with the same JSON type; outcome fields are equal; arrays are
/// compared by their first element.
fn same_shape(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a
                    .get(k)
                    .ok_or_else(|| format!("{at}.{k}: missing (answer has {:?})", a.keys().collect::<Vec<_>>()))?;
                if OUTCOMES.contains(&k.as_str()) && ev.is_string() && ev != av {
                    return Err(format!("{at}.{k}: documented {ev}, got {av}"));
                }
                same_shape(ev, av, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => match (e.first(), a.first()) {
            (Some(ev), Some(av)) => same_shape(ev, av, &format!("{at}[0]")),
            (Some(_), None) => Err(format!("{at}: documented items, got none")),
            _ => Ok(()),
        },
        // A documented null stands for "may be absent or anything".
        (Value::Null, _) => Ok(()),
        (e, a) if std::mem::discriminant(e) == std::mem::discriminant(a) => Ok(()),
        (e, a) => Err(format!("{at}: documented {e}, got {a}")),
    }
}

/// The last JSON value a block printed: the text from the last line that opens an object or array to the
/// end (a one-line answer, or pretty-printed JSON), if it parses.
fn last_json(out: &str) -> Option<Value> {
    let lines: Vec<&str> = out.lines().collect();
    (0..lines.len()).rev().find_map(|i| {
        let first = lines[i].trim_start();
        if !(first.starts_with('{') || first.starts_with('[')) {
            return None;
        }
        serde_json::from_str::<Value>(&lines[i..].join("\n")).ok()
    })
}

fn run(doc: &str) {
    let examples = examples(doc);
    assert!(!examples.is_empty(), "{doc} has sh examples");
    let mut script = String::from("set -euo pipefail\n");
    for (n, e) in examples.iter().enumerate() {
        script.push_str(&format!("printf '\\n@@example {n}\\n'\n{}\n", e.script));
    }
    let venv = root().join(".local/venv/bin");
    let path = format!("{}:{}", venv.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(root())
        .env("PATH", path)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut outputs: Vec<String> = Vec::new();
    for chunk in stdout.split("\n@@example ").skip(1) {
        let (_, rest) = chunk.split_once('\n').unwrap_or((chunk, ""));
        outputs.push(rest.to_owned());
    }
    if !out.status.success() {
        let failed = outputs.len().saturating_sub(1);
        let e = &examples[failed];
        panic!(
            "{doc}:{}: example failed ({}):\n{}\n--- output ---\n{}\n--- stderr ---\n{stderr}",
            e.line,
            out.status,
            e.script,
            outputs.last().map(String::as_str).unwrap_or_default()
        );
    }
    assert_eq!(outputs.len(), examples.len(), "{doc}: one output per example");
    let mut checked = 0;
    for (e, output) in examples.iter().zip(&outputs) {
        let Some(expected) = &e.expected else { continue };
        let actual = last_json(output)
            .unwrap_or_else(|| panic!("{doc}:{}: documented a JSON answer, printed:\n{output}", e.line));
        if let Err(why) = same_shape(expected, &actual, "$") {
            panic!(
                "{doc}:{}: the answer differs from the documented one: {why}\n{actual}",
                e.line
            );
        }
        checked += 1;
    }
    println!(
        "{doc}: {} examples ran, {checked} answers checked against the documented shape",
        examples.len()
    );
}

/// One test, README first: the runbook's examples flip the kill switch, which must not overlap the
/// README's.
#[test]
fn readme_and_runbook_examples_work_as_written() {
    run("README.md");
    run("docs/OPERATIONS.md");
}

#[test]
fn the_shape_check_fails_on_drift() {
    let doc: Value =
        serde_json::json!({"decision": "allow", "target": {"host": "x", "port": 443}, "items": [{"id": "a"}]});
    let ok = serde_json::json!({"decision": "allow", "extra": 1, "target": {"host": "y", "port": 8443}, "items": [{"id": "b", "n": 2}]});
    assert!(same_shape(&doc, &ok, "$").is_ok());
    for bad in [
        serde_json::json!({"decision": "deny", "target": {"host": "x", "port": 443}, "items": [{"id": "a"}]}),
        serde_json::json!({"decision": "allow", "target": {"host": "x"}, "items": [{"id": "a"}]}),
        serde_json::json!({"decision": "allow", "target": {"host": "x", "port": "443"}, "items": [{"id": "a"}]}),
        serde_json::json!({"decision": "allow", "target": {"host": "x", "port": 443}, "items": []}),
    ] {
        assert!(same_shape(&doc, &bad, "$").is_err(), "{bad}");
    }
}

//! `egress-admin approvals ls|show|grant|deny|wait`: the approvals API for approvers, as tables or JSON.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api::Api;
use crate::cli::{ApiOptions, ApprovalsCommand};
use crate::error::{usage, Class, Error};

pub async fn run(options: &ApiOptions, as_json: bool, command: ApprovalsCommand) -> anyhow::Result<()> {
    let api = Api::connect(options).await?;
    match command {
        ApprovalsCommand::Ls {
            state,
            zone,
            of,
            limit,
            all,
        } => {
            let mut query: Vec<(&str, String)> = vec![("limit", limit.to_string())];
            query.extend(state.map(|s| ("state", s)));
            query.extend(zone.map(|z| ("zone", z)));
            query.extend(of.map(|p| ("principal", p)));
            let mut items: Vec<Value> = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut q = query.clone();
                q.extend(cursor.take().map(|c| ("cursor", c)));
                let page = api.get(&format!("/v1/egress/approvals?{}", encode(&q))).await?;
                items.extend(page["items"].as_array().cloned().unwrap_or_default());
                match page["next_cursor"].as_str() {
                    Some(c) if all => cursor = Some(c.to_owned()),
                    _ => break,
                }
            }
            match as_json {
                true => println!("{}", serde_json::to_string_pretty(&json!({ "items": items }))?),
                false => print!("{}", table(&items)),
            }
        }
        ApprovalsCommand::Show { approval_id } => {
            let a = api
                .get(&format!("/v1/egress/approvals/{}", segment(&approval_id)))
                .await?;
            print_one(&a, as_json)?;
        }
        ApprovalsCommand::Grant {
            approval_id,
            scope,
            ttl,
            note,
        } => {
            let mut body = json!({ "decision": "grant", "scope": scope });
            if let Some(t) = ttl {
                body["ttl_seconds"] = json!(t);
            }
            if let Some(n) = note {
                body["note"] = json!(n);
            }
            let a = api.post(&decision_path(&approval_id), &body).await?;
            print_one(&a, as_json)?;
        }
        ApprovalsCommand::Deny { approval_id, note } => {
            let mut body = json!({ "decision": "deny" });
            if let Some(n) = note {
                body["note"] = json!(n);
            }
            let a = api.post(&decision_path(&approval_id), &body).await?;
            print_one(&a, as_json)?;
        }
        ApprovalsCommand::Wait {
            approval_id,
            timeout,
            interval,
        } => {
            let (timeout, interval) = match (seconds(timeout), seconds(interval)) {
                (Some(t), Some(i)) => (t, i),
                _ => return Err(usage("--timeout and --interval: seconds, more than 0").into()),
            };
            let a = wait(&api, &approval_id, timeout, interval).await?;
            print_one(&a, as_json)?;
            outcome(&approval_id, &a, timeout)?;
        }
    }
    Ok(())
}

fn seconds(s: f64) -> Option<Duration> {
    (s.is_finite() && s > 0.0).then(|| Duration::from_secs_f64(s))
}

/// Reads the approval every `interval` until it is no longer pending or `timeout` has passed; the last
/// read either way (an error of the API ends the wait with its class).
async fn wait(api: &Api, id: &str, timeout: Duration, interval: Duration) -> anyhow::Result<Value> {
    let started = Instant::now();
    let path = format!("/v1/egress/approvals/{}", segment(id));
    loop {
        let answer = api.get(&path).await;
        let left = timeout.saturating_sub(started.elapsed());
        match answer {
            Ok(a) if a["state"] != "pending" || left.is_zero() => return Ok(a),
            Ok(_) => {}
            // A blip (5xx, 429, a dropped connection) does not end a long wait: only the deadline does.
            Err(e) if crate::error::classify(&e).0 == Class::Unavailable && !left.is_zero() => {}
            Err(e) => return Err(e),
        }
        tokio::time::sleep(interval.min(left)).await;
    }
}

/// Granted is success; denied and expired are failures, still pending is the timeout's own code.
fn outcome(id: &str, a: &Value, timeout: Duration) -> Result<(), Error> {
    match a["state"].as_str() {
        Some("granted") => Ok(()),
        Some("pending") => Err(Error::new(
            Class::Timeout,
            format!("approval {id} is still pending after {} s", timeout.as_secs_f64()),
        )),
        other => Err(Error::new(
            Class::Failure,
            format!("approval {id} was not granted: {}", other.unwrap_or("no state")),
        )),
    }
}

fn decision_path(id: &str) -> String {
    format!("/v1/egress/approvals/{}/decision", segment(id))
}

/// An approval id as a path segment (an invalid one then reaches the API, which says why).
fn segment(id: &str) -> String {
    id.chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_string(),
            false => format!("%{:02X}", c as u32 & 0xff),
        })
        .collect()
}

fn encode(q: &[(&str, String)]) -> String {
    q.iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                        _ => format!("%{b:02X}"),
                    })
                    .collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn target(a: &Value) -> String {
    let t = &a["target"];
    format!(
        "{}://{}:{}{}",
        t["scheme"].as_str().unwrap_or(""),
        t["host"].as_str().unwrap_or(""),
        t["port"],
        t["path"].as_str().unwrap_or("")
    )
}

/// Exactly what a grant of this approval lets through (DESIGN §6, "Grants"): the requester, in the zone,
/// to this scheme, host, port and path, nothing else; with a credential in the URL, only that exact URL.
fn covers(a: &Value) -> String {
    let t = &a["target"];
    let origin = format!(
        "{}://{}:{}",
        t["scheme"].as_str().unwrap_or(""),
        t["host"].as_str().unwrap_or(""),
        t["port"]
    );
    let what = if a["tunnel"] == true {
        format!("{origin} with ANY path (a CONNECT tunnel: the path is unknown)")
    } else if !a["dlp"].is_null() {
        format!(
            "{} with exactly the URL tail the request sent (path, query, fragment: it held a {} credential)",
            target(a),
            text(&a["dlp"])
        )
    } else if let Some(written) = a["path_as_written"].as_str() {
        format!("{} exactly, sent as `{written}` (any query; no other path)", target(a))
    } else {
        format!("{} exactly (any query; no other path)", target(a))
    };
    let scope = match a["grant"]["scope"].as_str() {
        Some("once") => "the next such request only".to_owned(),
        Some("window") => format!("every such request until {}", text(&a["grant"]["expires_at"])),
        _ => "once granted: the next such request (once) or every one until the grant expires (window)".to_owned(),
    };
    format!(
        "{what}, for {} in zone {}; {scope}",
        text(&a["principal"]),
        text(&a["zone"])
    )
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One line per approval, columns padded to their widest value.
fn table(items: &[Value]) -> String {
    let header = ["APPROVAL_ID", "STATE", "ZONE", "PRINCIPAL", "TARGET", "EXPIRES_AT"];
    let rows: Vec<[String; 6]> = items
        .iter()
        .map(|a| {
            [
                text(&a["approval_id"]),
                text(&a["state"]),
                text(&a["zone"]),
                text(&a["principal"]),
                target(a),
                text(&a["expires_at"]),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.to_vec());
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn print_one(a: &Value, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        println!("{}", serde_json::to_string_pretty(a)?);
        return Ok(());
    }
    let grant = &a["grant"];
    let fields = [
        ("approval_id", text(&a["approval_id"])),
        ("state", text(&a["state"])),
        ("principal", text(&a["principal"])),
        ("zone", text(&a["zone"])),
        ("target", target(a)),
        ("as written", text(&a["path_as_written"])),
        ("covers", covers(a)),
        ("reason", text(&a["reason"])),
        ("rule", text(&a["rule"])),
        ("request_id", text(&a["request_id"])),
        ("created_at", text(&a["created_at"])),
        ("expires_at", text(&a["expires_at"])),
        ("decided_by", text(&a["decided_by"])),
        ("decided_at", text(&a["decided_at"])),
        ("note", text(&a["note"])),
        (
            "grant",
            match grant.is_null() {
                true => "-".into(),
                false => format!(
                    "{} until {}, used by {}",
                    text(&grant["scope"]),
                    text(&grant["expires_at"]),
                    text(&grant["used_by"])
                ),
            },
        ),
    ];
    for (k, v) in fields {
        println!("{k:<12} {v}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ends_in_the_class_of_the_final_state() {
        let t = Duration::from_secs(1);
        let class = |state: &str| outcome("01J", &json!({ "state": state }), t).err().map(|e| e.class);
        assert_eq!(class("granted"), None);
        assert_eq!(class("denied"), Some(Class::Failure));
        assert_eq!(class("expired"), Some(Class::Failure));
        assert_eq!(class("pending"), Some(Class::Timeout));
        assert_eq!((seconds(0.0), seconds(-1.0), seconds(f64::NAN)), (None, None, None));
    }
}

//! What the record keeps of a target that carries a credential, whichever step decided and whatever the
//! zone's DLP setting: the decision reads the real target in memory; the record, hence the table, the
//! events, the API answer and the log line, only ever the redacted one.
//!
//! - The path: each credential replaced by `[REDACTED]`, or the whole path by `/[REDACTED]` when one is
//!   still readable in another text of it (percent-encoded, `%u`-escaped, base64).
//! - The host: every label a credential overlaps replaced by the label `redacted` (the labels of one run
//!   by a single one), so `ghp_….attacker.example` is recorded as `redacted.attacker.example`: still a
//!   valid host name, which deserialization (re-normalizing the stored target) reads back.

use std::ops::Range;

use super::detectors::{first_host_match, first_match, host_spans, tail_spans};
use super::texts::path_texts;
use crate::normalize::{normalize_host, Host, Target};

/// The label a host label carrying a credential is recorded as.
const REDACTED_LABEL: &str = "redacted";

/// The target as the record keeps it: no credential in its path or host.
pub fn redact_target(target: Target) -> Target {
    let target = match redact_path(target.path()) {
        Some(path) => target.with_path(&path),
        None => target,
    };
    match redact_host(target.host()) {
        Some(host) => target.with_host(host),
        None => target,
    }
}

/// The path to record when it carries a credential: each match replaced by `[REDACTED]`, or the whole path
/// when a credential would still be readable (for example percent-encoded). `None`: nothing to redact.
pub fn redact_path(path: &str) -> Option<String> {
    let found = |p: &str| path_texts(p).iter().any(|t| first_match(t).is_some());
    if !found(path) {
        return None;
    }
    let redacted = match tail_spans(path) {
        Some(spans) => replace(path, spans),
        None => return Some("/[REDACTED]".to_owned()),
    };
    Some(match found(&redacted) {
        true => "/[REDACTED]".to_owned(),
        false => redacted,
    })
}

/// `text` with each run of (possibly overlapping) `spans` replaced by `[REDACTED]`.
fn replace(text: &str, mut spans: Vec<Range<usize>>) -> String {
    spans.sort_by_key(|s| s.start);
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for span in spans {
        if span.end <= done {
            continue;
        }
        let start = span.start.max(done);
        out.push_str(&text[done..start]);
        if start == span.start {
            out.push_str("[REDACTED]");
        }
        done = span.end;
    }
    out.push_str(&text[done..]);
    out
}

/// The host to record when a label carries a credential (see the module). `None`: nothing to redact.
fn redact_host(host: &Host) -> Option<Host> {
    let Host::Domain(name) = host else {
        return None; // an IP literal holds no credential
    };
    first_host_match(name)?;
    let Some(spans) = host_spans(name) else {
        return Some(Host::Domain(REDACTED_LABEL.to_owned())); // no detectors: keep nothing (fail closed)
    };
    let mut labels: Vec<&str> = Vec::new();
    let mut start = 0;
    for label in name.split('.') {
        let here = start..start + label.len();
        start = here.end + 1;
        let hit = spans.iter().any(|s| s.start < here.end && here.start < s.end);
        match hit {
            true if labels.last() == Some(&REDACTED_LABEL) => {}
            true => labels.push(REDACTED_LABEL),
            false => labels.push(label),
        }
    }
    let redacted = labels.join(".");
    // Never longer than the original (a label holding a credential is longer than `redacted`), so this
    // normalizes; should it not, or should a credential remain, nothing of the host is kept.
    match normalize_host(&redacted) {
        Ok(h) if first_host_match(&redacted).is_none() => Some(h),
        _ => Some(Host::Domain(REDACTED_LABEL.to_owned())),
    }
}

//! Squid's helper line protocol with concurrency (channel ids): one request per line, `<channel-id>
//! <value> <value> ...`, each value URL-escaped by Squid (`-` when Squid has none); one reply per line,
//! `<channel-id> OK|ERR key=value ...`, in any order (<https://wiki.squid-cache.org/Features/AddonHelpers>,
//! `external_acl_type` and `auth_param` in squid.conf.documented).
//!
//! We never answer `BH` ("broken helper"): Squid may retry a BH elsewhere or treat it as unknown, and a
//! refusal must be a plain refusal. Every error is `ERR`, which every rule of ours reads as "no".

use std::borrow::Cow;
use std::fmt::Write as _;

use percent_encoding::percent_decode_str;

/// One request line, split: its channel id and its values, unescaped. `None` for an absent value (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperLine {
    /// Squid's channel id, all digits (at most 10): echoed at the head of the reply.
    pub channel: String,
    /// The values after it, in the order Squid sends them (the helper's format in squid.conf).
    pub values: Vec<Option<String>>,
}

/// Why a request line could not be split.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LineError {
    /// Nothing but whitespace: skipped, there is nothing to answer.
    #[error("empty helper line")]
    Empty,
    /// The first word is not 1-10 ASCII digits, so no reply can safely echo it.
    #[error("the channel id is not a number")]
    Channel,
}

/// Splits a request line. The channel id is echoed back verbatim, so it must be a plain number (Squid's
/// are); anything else could inject a second reply line.
pub fn parse_line(line: &str) -> Result<HelperLine, LineError> {
    let mut parts = line.split_ascii_whitespace();
    let channel = parts.next().ok_or(LineError::Empty)?;
    if channel.is_empty() || channel.len() > 10 || !channel.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LineError::Channel);
    }
    let values = parts
        .map(|v| {
            (v != "-").then(|| {
                // Squid escapes with RFC 1738 rules; invalid UTF-8 after unescaping is kept lossily: the
                // gateway refuses what it cannot read, and a lossy text never turns a "no" into a "yes".
                percent_decode_str(v).decode_utf8_lossy().into_owned()
            })
        })
        .collect();
    Ok(HelperLine {
        channel: channel.to_owned(),
        values,
    })
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `OK`: the ACL matches (or the credentials are accepted).
    Ok,
    /// `ERR`: no match; every failure is answered so, never `BH`.
    Err,
}

/// A reply: the verdict and its annotations (`key=value`, which Squid keeps as transaction notes for
/// `%note{key}` in headers and logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `OK` or `ERR`.
    pub verdict: Verdict,
    /// `key=value` annotations, in the order they were added; none has an empty value.
    pub notes: Vec<(&'static str, String)>,
}

impl Reply {
    /// An `OK` reply without notes.
    pub fn ok() -> Self {
        Self {
            verdict: Verdict::Ok,
            notes: Vec::new(),
        }
    }

    /// An `ERR` reply without notes.
    pub fn err() -> Self {
        Self {
            verdict: Verdict::Err,
            notes: Vec::new(),
        }
    }

    /// Adds `key=value` unless the value is empty.
    pub fn note(mut self, key: &'static str, value: impl Into<String>) -> Self {
        let value = value.into();
        if !value.is_empty() {
            self.notes.push((key, value));
        }
        self
    }

    /// The reply line for `channel`, newline included. Values are quoted with `\` escapes (the helper
    /// protocol's quoted-string form); control characters are dropped, so no value can end the line.
    pub fn line(&self, channel: &str) -> String {
        let mut out = String::with_capacity(64);
        out.push_str(channel);
        out.push_str(match self.verdict {
            Verdict::Ok => " OK",
            Verdict::Err => " ERR",
        });
        for (k, v) in &self.notes {
            let _ = write!(out, " {k}=\"{}\"", quote(v));
        }
        out.push('\n');
        out
    }
}

fn quote(v: &str) -> Cow<'_, str> {
    if v.chars().all(|c| !c.is_control() && c != '"' && c != '\\') {
        return Cow::Borrowed(v);
    }
    let mut s = String::with_capacity(v.len() + 4);
    for c in v.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    Cow::Owned(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_splits_into_channel_and_unescaped_values() {
        let l = parse_line("7 default CONNECT - origin.example 443 - Basic%20eno6Z29vZA== 55").unwrap();
        assert_eq!(l.channel, "7");
        assert_eq!(l.values[0].as_deref(), Some("default"));
        assert_eq!(l.values[2], None);
        assert_eq!(l.values[6].as_deref(), Some("Basic eno6Z29vZA=="));
        assert_eq!(l.values.len(), 8);
    }

    #[test]
    fn a_channel_that_is_not_a_number_is_refused() {
        assert_eq!(parse_line(""), Err(LineError::Empty));
        assert_eq!(parse_line("   "), Err(LineError::Empty));
        assert_eq!(parse_line("OK x"), Err(LineError::Channel));
        assert_eq!(parse_line("1a x"), Err(LineError::Channel));
        assert_eq!(parse_line("12345678901 x"), Err(LineError::Channel));
    }

    #[test]
    fn replies_quote_their_values_and_cannot_break_the_line() {
        let r = Reply::err()
            .note("reason", "rule_deny")
            .note("message", "a \"quoted\"\nline\\")
            .note("approval_id", "");
        assert_eq!(
            r.line("3"),
            "3 ERR reason=\"rule_deny\" message=\"a \\\"quoted\\\"line\\\\\"\n"
        );
        assert_eq!(
            Reply::ok().note("request_id", "01J").line("0"),
            "0 OK request_id=\"01J\"\n"
        );
    }
}

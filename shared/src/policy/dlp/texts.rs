//! The texts a URL's tail is scanned as. Each part (path, query, fragment) is read:
//! - as written;
//! - fully percent-decoded (`+` as a space in the query and fragment, as form decoding reads them);
//! - fully decoded with IIS's `%uXXXX` escapes as well (`%u0067hp_…`);
//! - as the base64 or base64url runs of 16 characters or more it holds, decoded (lossy UTF-8), one level:
//!   `?data=Z2hwX…` hides nothing.
//!
//! No dot or `;` handling: nothing is thrown away. Every step is linear in the part (at most 16 decoding
//! rounds), so a hostile 8 KiB URL costs a bounded number of passes.

use std::sync::LazyLock;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use regex::Regex;

use crate::{fully_decoded, UrlTail};

/// Decoding rounds before giving up, as for path readings: a text still decoding after that is scanned
/// as far as it got.
const MAX_DECODE_ROUNDS: usize = 16;
/// Shortest run read as base64: shorter ones are words, and hold no credential worth finding.
const MIN_BASE64_RUN: usize = 16;

/// Every text the tail is scanned as.
pub(super) fn tail_texts(tail: &UrlTail) -> Vec<String> {
    let mut out = Vec::new();
    part_texts(tail.path(), false, &mut out);
    for part in [tail.query(), tail.fragment()].into_iter().flatten() {
        part_texts(part, true, &mut out);
    }
    out
}

/// Every text a recorded path is scanned as (the same readings as a tail's path).
pub(super) fn path_texts(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    part_texts(path, false, &mut out);
    out
}

fn part_texts(part: &str, form: bool, out: &mut Vec<String>) {
    let mut push = |text: String| {
        if !text.is_empty() && !out.contains(&text) {
            out.push(text);
        }
    };
    push(part.to_owned());
    push(match form {
        true => fully_decoded(&part.replace('+', " ")),
        false => fully_decoded(part),
    });
    // `+` kept: base64 uses it.
    let iis = iis_decoded(part);
    push(base64_decoded(&iis));
    push(iis);
}

/// `text` decoded until nothing changes (bounded), `%XX` and `%uXXXX` alike; invalid UTF-8 replaced.
pub(super) fn iis_decoded(text: &str) -> String {
    let mut current = text.to_owned();
    for _ in 0..MAX_DECODE_ROUNDS {
        if !current.contains('%') {
            break;
        }
        let next = iis_round(&current);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

fn iis_round(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = bytes.get(i + 1..i + 3).and_then(hex) {
                out.push(b as u8);
                i += 3;
                continue;
            }
            let unit = match bytes.get(i + 1) {
                Some(b'u' | b'U') => bytes.get(i + 2..i + 6).and_then(hex).and_then(char::from_u32),
                _ => None,
            };
            if let Some(c) = unit {
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                i += 6;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of hex digits (all of them), `None` if one is not.
fn hex(digits: &[u8]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0u32, |acc, &b| Some(acc * 16 + (b as char).to_digit(16)?))
}

/// Runs of base64 or base64url characters (`/` included: a run holding one is also read per segment).
static RUN: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/_\-]{16,}").ok());

/// Padding optional, stray low bits allowed: the run was cut out of a URL, not produced by an encoder.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Each long base64 or base64url run of `text` decoded, joined by `&` (a boundary for every detector).
fn base64_decoded(text: &str) -> String {
    let Some(run) = RUN.as_ref() else {
        return String::new();
    };
    let mut out = String::new();
    for m in run.find_iter(text) {
        let whole = m.as_str();
        let segments = whole
            .split('/')
            .filter(|s| s.len() >= MIN_BASE64_RUN && s.len() < whole.len());
        for candidate in std::iter::once(whole).chain(segments) {
            if let Some(decoded) = decode_base64(candidate) {
                out.push('&');
                out.push_str(&decoded);
            }
        }
    }
    out
}

fn decode_base64(run: &str) -> Option<String> {
    let standard: String = run
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    // A length of 4n+1 cannot be base64: the last character is not part of it.
    let usable = match standard.len() % 4 {
        1 => &standard[..standard.len() - 1],
        _ => &standard[..],
    };
    let bytes = LENIENT.decode(usable).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iis_escapes_and_base64_runs_are_read() {
        assert_eq!(iis_decoded("%u0067hp_%2541"), "ghp_A");
        assert_eq!(iis_decoded("%u00"), "%u00");
        let b64 = LENIENT.encode("password=hunter2x");
        assert!(base64_decoded(&format!("data={b64}")).contains("password=hunter2x"));
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("\u{fb}\u{ff}ghp_token");
        assert!(base64_decoded(&format!("/x/{url_safe}/y")).contains("ghp_token"));
    }
}

//! The texts a URL's tail is scanned as. Each part (path, query, fragment) is read:
//! - as written;
//! - fully percent-decoded (`+` as a space in the query and fragment, as form decoding reads them);
//! - fully decoded with IIS's `%uXXXX` escapes as well (`%u0067hp_…`);
//! - folded: that, with JSON/JavaScript `\uXXXX` escapes decoded and NFKC-normalized (fullwidth
//!   `ＡＫＩＡ…`, `%uFF47hp_…`), then decoded again (a fullwidth `％` may start an escape), until nothing
//!   changes (at most 4 rounds);
//! - as the base64 or base64url runs of 16 characters or more it holds (of the `%u`-decoded and of the
//!   folded text), decoded (lossy UTF-8), one level: `?data=Z2hwX…` hides nothing. Each run, each of its
//!   `/` segments and each of its `-`/`_` pieces is decoded from its first four offsets, so a junk prefix
//!   (`x-Z2hwX…`, `xZ2hwX…`) does not shift the token out of alignment.
//!
//! No dot or `;` handling: nothing is thrown away. Every step is linear in the part (at most 16 decoding
//! rounds; base64 reads each character at most 12 times), so a hostile 8 KiB URL costs a bounded number of
//! passes.

use std::sync::LazyLock;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use crate::normalize::{fully_decoded, UrlTail};

/// Shortest run read as base64: shorter ones are words, and hold no credential worth finding.
const MIN_BASE64_RUN: usize = 16;
/// Rounds of folding (decode, unescape, normalize) before giving up.
const MAX_FOLD_ROUNDS: usize = 4;

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
    let folded = folded(&iis);
    push(base64_decoded(&iis));
    if folded != iis {
        push(base64_decoded(&folded));
    }
    push(iis);
    push(folded);
}

/// `text` (already `%`-decoded) with `\uXXXX` escapes decoded and NFKC-normalized, decoded again, until
/// nothing changes (bounded).
fn folded(text: &str) -> String {
    let mut current = text.to_owned();
    for _ in 0..MAX_FOLD_ROUNDS {
        let next = iis_decoded(&unicode_unescaped(&current).nfkc().collect::<String>());
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// `text` with JSON/JavaScript `\uXXXX` escapes decoded (a surrogate pair as one character, a lone
/// surrogate as U+FFFD); everything else as it is.
fn unicode_unescaped(text: &str) -> String {
    if !text.contains("\\u") {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let unit = |at: usize| match bytes.get(at..at + 2) {
        Some(b"\\u") => bytes.get(at + 2..at + 6).and_then(hex),
        _ => None,
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut plain = 0;
    while i < bytes.len() {
        let Some(high) = unit(i) else {
            i += 1;
            continue;
        };
        out.push_str(&text[plain..i]);
        i += 6;
        let c = match (high, unit(i)) {
            (0xD800..=0xDBFF, Some(low @ 0xDC00..=0xDFFF)) => {
                i += 6;
                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            }
            (code, _) => char::from_u32(code),
        };
        out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
        plain = i;
    }
    out.push_str(&text[plain..]);
    out
}

/// `text` decoded until nothing changes (bounded), `%XX` and `%uXXXX` alike; invalid UTF-8 replaced: the
/// path readings' IIS decoder, one source for both.
pub(super) fn iis_decoded(text: &str) -> String {
    crate::normalize::fully_decoded_iis(text)
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

/// Each long base64 or base64url run of `text` decoded, joined by `&` (a boundary for every detector):
/// the run, its `/` segments and its `-`/`_` pieces, each from offsets 0 to 3 (a token after a junk prefix
/// of any length is aligned at one of them).
fn base64_decoded(text: &str) -> String {
    let Some(run) = RUN.as_ref() else {
        return String::new();
    };
    let mut out = String::new();
    for m in run.find_iter(text) {
        let whole = m.as_str();
        let part = |s: &&str| s.len() >= MIN_BASE64_RUN && s.len() < whole.len();
        let segments = whole.split('/').filter(part);
        let pieces = whole.split(['-', '_']).filter(part);
        for candidate in std::iter::once(whole).chain(segments).chain(pieces) {
            // ASCII only (the run's characters), so every offset is a character boundary.
            let offsets = (0..4).filter_map(|at| candidate.get(at..));
            for shifted in offsets.filter(|s| s.len() >= MIN_BASE64_RUN) {
                if let Some(decoded) = decode_base64(shifted) {
                    out.push('&');
                    out.push_str(&decoded);
                }
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
        for junk in ["x", "xy", "xyz", "x-", "ab_"] {
            assert!(
                base64_decoded(&format!("{junk}{b64}")).contains("password=hunter2x"),
                "{junk}"
            );
        }
    }

    #[test]
    fn escapes_and_compatibility_forms_are_folded() {
        assert_eq!(
            unicode_unescaped(r"pass\u0077ord \uD83D\uDE00 \uD800x \u00"),
            "password \u{1F600} \u{FFFD}x \\u00"
        );
        assert_eq!(folded("ＡＫＩＡ"), "AKIA");
        assert_eq!(folded("％67hp"), "ghp");
        assert_eq!(folded(r"\u0025u0067hp"), "ghp");
    }
}

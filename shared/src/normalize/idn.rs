//! Do the IDNA stacks that clients use agree on a Unicode host?
//!
//! Specs: UTS #46 (<https://www.unicode.org/reports/tr46/>, transitional and non-transitional processing),
//! IDNA2008 (RFC 5891, RFC 5892) and Punycode (RFC 3492).
//!
//! We authorize the host a WHATWG parser produces (UTS-46 non-transitional, the `url` crate), but callers
//! connect with their own stack. Three readings of one Unicode name are in wide use:
//! - UTS-46 non-transitional: browsers, Node's `URL`, the `url` crate, Python's `idna` package (requests);
//! - UTS-46 transitional: older libidn2/curl builds and Go's `x/net/idna` lookup profile. It differs from
//!   non-transitional exactly on the four deviation characters (UTS #46 §4.1): ß, ς, ZWJ and ZWNJ, which it
//!   maps (ß to `ss`) instead of keeping;
//! - IDNA2003 (RFC 3490 ToASCII with the Nameprep profile, RFC 3491): Python's stdlib `idna` codec, used by
//!   `socket.getaddrinfo` and `http.client`. It maps some characters to nothing that UTS-46 keeps, and it
//!   knows only Unicode 3.2.
//!
//! A host is accepted only when all three give the same ASCII name; otherwise the recorded host would not be
//! the host some client fetches (e.g. `169.254.169.254` followed by U+1806 is a harmless punycode name to
//! WHATWG and the metadata address to Python).

use std::borrow::Cow;

use stringprep::tables;
use unicode_normalization::{is_nfkc, UnicodeNormalization};

/// The dots IDNA2003 splits labels on (RFC 3490 §3.1), as Python's codec does.
const IDNA2003_DOTS: [char; 4] = ['.', '\u{3002}', '\u{FF0E}', '\u{FF61}'];
/// Labels are 1-63 octets in ASCII form (RFC 3490 ToASCII step 8).
const MAX_LABEL: usize = 63;

/// `raw` is the host as the caller wrote it; `uts46` is the ASCII host WHATWG made of it (lowercase,
/// punycode, no trailing dot). True when every reading gives that same name.
///
/// Python lowercases the host (`str.lower()`, with the final-sigma rule) before it encodes it:
/// `urllib.parse` (`.hostname`, used by `http.client`) the whole host, `urllib3` (`requests`) each label
/// between ASCII dots. So those lowercased texts must give the same name too, under UTS-46 and under
/// IDNA2003: `examplΣ` lowercases to `examplς` (final sigma) while UTS-46 maps `Σ` to `σ`.
pub(crate) fn stacks_agree(raw: &str, uts46: &str) -> bool {
    if raw.is_ascii() {
        // Every stack passes ASCII labels through (only case differs, and DNS ignores case).
        return true;
    }
    let ours = uts46.strip_suffix('.').unwrap_or(uts46);
    if ours.split('.').any(has_deviation) {
        return false;
    }
    let same = |theirs: &str| theirs.strip_suffix('.').unwrap_or(theirs).eq_ignore_ascii_case(ours);
    let whole = raw.to_lowercase();
    let per_label = raw.split('.').map(str::to_lowercase).collect::<Vec<_>>().join(".");
    let lowered_agree = [&whole, &per_label].iter().all(|text| {
        text.as_str() == raw
            || idna::domain_to_ascii_cow(text.as_bytes(), idna::AsciiDenyList::URL).is_ok_and(|a| same(&a))
    });
    lowered_agree
        && [raw, &whole, &per_label]
            .iter()
            .all(|text| idna2003_to_ascii(text).is_some_and(|a| same(&a)))
}

/// Whether a label of the non-transitional result keeps a deviation character, where transitional
/// processing would have mapped it to something else.
fn has_deviation(label: &str) -> bool {
    let Some(puny) = label.strip_prefix("xn--") else {
        return false;
    };
    idna::punycode::decode(puny)
        .is_none_or(|chars| chars.iter().any(|c| matches!(c, 'ß' | 'ς' | '\u{200C}' | '\u{200D}')))
}

/// RFC 3490 ToASCII over a whole name, with the same label split, trailing-dot handling and
/// AllowUnassigned behaviour as CPython's `encodings.idna`. `None` where it fails or where its result
/// cannot be predicted (see [`nameprep`]).
fn idna2003_to_ascii(name: &str) -> Option<String> {
    let mut labels: Vec<&str> = name.split(IDNA2003_DOTS).collect();
    let trailing_dot = labels.len() > 1 && labels.last().is_some_and(|l| l.is_empty());
    if trailing_dot {
        labels.pop();
    }
    let mut out = String::with_capacity(name.len());
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&label_to_ascii(label)?);
    }
    if trailing_dot {
        out.push('.');
    }
    Some(out)
}

fn label_to_ascii(label: &str) -> Option<Cow<'_, str>> {
    fn sized(s: Cow<'_, str>) -> Option<Cow<'_, str>> {
        (1..=MAX_LABEL).contains(&s.len()).then_some(s)
    }
    if label.is_ascii() {
        // Steps 1-3: ASCII labels skip Nameprep entirely (case is kept).
        return sized(Cow::Borrowed(label));
    }
    let prepared = nameprep(label)?;
    if prepared.is_ascii() {
        return sized(Cow::Owned(prepared));
    }
    if prepared.starts_with("xn--") {
        return None; // step 5: a non-ASCII label may not carry the ACE prefix
    }
    let puny = idna::punycode::encode_str(&prepared)?;
    sized(Cow::Owned(format!("xn--{puny}")))
}

/// Nameprep (RFC 3491) as CPython implements it: map (B.1 to nothing, B.2 case fold), NFKC, prohibit
/// (C.1.2, C.2.2, C.3-C.9), bidi (RFC 3454 §6), and unassigned code points allowed.
///
/// CPython normalizes with Unicode 3.2 data, `unicode-normalization` with current data. The two agree on
/// code points assigned in 3.2 (normalization stability), and on a string whose unassigned code points
/// need no normalization; for any other string we cannot tell what Python produces, so it is refused.
fn nameprep(label: &str) -> Option<String> {
    let mapped: String = label
        .chars()
        .filter(|&c| !tables::commonly_mapped_to_nothing(c))
        .flat_map(tables::case_fold_for_nfkc)
        .collect();
    if mapped.chars().any(tables::unassigned_code_point) && !is_nfkc(&mapped) {
        return None;
    }
    let normalized: String = mapped.nfkc().collect();
    let prohibited = |c: char| {
        tables::non_ascii_space_character(c)
            || tables::non_ascii_control_character(c)
            || tables::private_use(c)
            || tables::non_character_code_point(c)
            || tables::surrogate_code(c)
            || tables::inappropriate_for_plain_text(c)
            || tables::inappropriate_for_canonical_representation(c)
            || tables::change_display_properties_or_deprecated(c)
            || tables::tagging_character(c)
    };
    if normalized.chars().any(prohibited) {
        return None;
    }
    let rtl: Vec<bool> = normalized.chars().map(tables::bidi_r_or_al).collect();
    if rtl.iter().any(|r| *r) {
        let ends_rtl = rtl.first() == Some(&true) && rtl.last() == Some(&true);
        if normalized.chars().any(tables::bidi_l) || !ends_rtl {
            return None;
        }
    }
    Some(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idna2003_matches_cpython_on_known_names() {
        // Expected values are what CPython 3.11's `str.encode("idna")` returns.
        let cases: &[(&str, Option<&str>)] = &[
            ("bücher.de", Some("xn--bcher-kva.de")),
            ("BÜCHER.de", Some("xn--bcher-kva.de")),
            ("faß.de", Some("fass.de")),
            ("ｅｘａｍｐｌｅ．com", Some("example.com")),
            ("example。com。", Some("example.com.")),
            ("169.254.169.25\u{1806}4", Some("169.254.169.254")),
            ("ex\u{034F}ample.com", Some("example.com")),
            ("☃.net", Some("xn--n3h.net")),
            ("💩.la", Some("xn--ls8h.la")),
            ("a..b", None),
            ("xn--ü.com", None),
        ];
        for (input, want) in cases {
            assert_eq!(idna2003_to_ascii(input).as_deref(), *want, "{input}");
        }
    }

    /// `stacks_agree` against the real UTS-46 non-transitional result of the `idna` crate.
    fn agree(raw: &str) -> bool {
        let uts46 = idna::domain_to_ascii(raw).unwrap_or_else(|e| panic!("{raw}: {e:?}"));
        stacks_agree(raw, &uts46)
    }

    #[test]
    fn stacks_disagree_on_deviations_and_on_characters_idna2003_drops() {
        assert!(agree("bücher.de"));
        assert!(agree("BÜCHER.DE"));
        assert!(agree("ｅｘａｍｐｌｅ．com"));
        assert!(!agree("faß.de"), "ß: fass.de for IDNA2003 and transitional");
        assert!(!agree("FAẞ.de"), "capital sharp s maps to the deviation ß");
        assert!(!agree("ὀδυσσεύς.gr"), "final sigma is a deviation");
        assert!(
            !agree("169.254.169.254\u{1806}"),
            "IDNA2003 drops U+1806, UTS-46 keeps it"
        );
        // ASCII, including the punycode of a deviation, is read identically by every stack.
        assert!(agree("xn--fa-hia.de"));
    }
}

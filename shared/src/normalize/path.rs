//! The readings of a path. The gateway authorizes a path, but the caller's client and the remote server
//! each read it their own way, so a path rule is held against every reading they may make.
//!
//! From each spelling (the normalized WHATWG path, what browsers and `fetch` send; the path as written,
//! what RFC 3986 clients such as Go or curl `--path-as-is` send) come texts at every decoding depth: as
//! sent (routers that match the raw path: Express, ASP.NET), decoded once, twice, ... until nothing changes
//! (servers that decode once, or twice), each also with `%2F` and `%5C` kept encoded (servers that decode
//! per segment: Go's ServeMux, Kestrel, Tomcat), with IIS's `%uXXXX`, and with the legacy decoders' UTF-8
//! (overlong forms such as `%C0%AE` read as the character they spell, other invalid bytes as Latin-1: old
//! Tomcat, GlassFish, IIS); each decoded text also in NFKC (Unicode normalization: NFD spellings and .NET's
//! best-fit of fullwidth `．`/`／`). Each text is then read with
//! every combination of what servers do on top: cut at a decoded `?`, `#` or NUL, `\` as `/`, `;params`
//! cut from segments (Tomcat, Spring), segments cut at their first `:` (an NTFS stream name: IIS serves
//! `/web.config::$DATA` as `/web.config`; a reading so cut is compared with the prefix cut the same way),
//! characters up to U+0020 trimmed from both ends of segments (Java's `String.trim`, old Spring's
//! `trimTokens`), `//` merged (nginx), dot segments removed, trailing dots and spaces dropped from segments
//! (Windows), and case folded (none, full lowercase, or Java's per-character fold).
//!
//! A restricting rule (deny, require_approval) applies when any reading is under one of its prefixes, also
//! at a format suffix (`/admin.json` under `/admin`: Rails, older Spring), a prefix `P/` also covering `P`
//! itself (servers serve or redirect `/admin` to `/admin/`), and an IIS 8.3 short name (`ADMINI~1`)
//! standing for a segment it may abbreviate; an allow only when every reading
//! is, at a segment boundary. So no reading can take an allowed request outside its prefixes, and none can
//! slip a restricted path past its rule. A path with more readings than [`MAX_READINGS`] is treated as
//! read every way: restrictions apply, allows do not (also past [`MAX_READING_BYTES`] of readings).

use std::collections::HashSet;

use percent_encoding::{percent_decode_str, utf8_percent_encode, CONTROLS};
use unicode_normalization::{is_nfkc, UnicodeNormalization};

/// Enough rounds for any encoding a server undoes; each round shortens the text, so this only bounds work.
/// A path that still decodes further after it is read every way.
const MAX_DECODE_ROUNDS: usize = 16;
/// More distinct readings than a path written in good faith has; past it the path counts as read every way.
const MAX_READINGS: usize = 512;
/// The text all readings together may hold (and the variants of one text), so a long hostile path costs a
/// bounded amount of work before it counts as read every way; a path in good faith stays far below.
const MAX_READING_BYTES: usize = 64 * 1024;

/// How a reading's case was folded; a prefix is compared in the same fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Fold {
    // The discriminants index a prefix's forms (the order of FOLDS).
    None = 0,
    /// Unicode lowercase, as `str::to_lowercase` (case-insensitive routers in most languages).
    Lower = 1,
    /// Per character: the lowercase of the uppercase, one character each (Java's `equalsIgnoreCase`,
    /// .NET's ordinal ignore-case), so `ſ` reads as `s` and `İ` as `i`.
    PerChar = 2,
}

const FOLDS: [Fold; 3] = [Fold::None, Fold::Lower, Fold::PerChar];

fn fold(text: &str, how: Fold) -> String {
    match how {
        Fold::None => text.to_owned(),
        Fold::Lower => text.to_lowercase(),
        Fold::PerChar => text
            .chars()
            .map(|c| {
                let mut up = c.to_uppercase();
                let u = match (up.next(), up.next()) {
                    (Some(u), None) => u,
                    _ => c,
                };
                u.to_lowercase().next().unwrap_or(u)
            })
            .collect(),
    }
}

/// A rule's path prefix in the forms a reading is compared with: as written or decoded, with its segments
/// cut at `:` or not, in each fold. The policy admits only prefixes that every other server step leaves
/// alone (see [`PathPrefix::check`]), so those texts and their folds are all the forms there are.
#[derive(Debug, Clone)]
pub struct PathPrefix {
    /// Indexed by decoded, cut at `:` (see [`cut_streams`]), fold.
    forms: [[[String; FOLDS.len()]; 2]; 2],
}

impl PathPrefix {
    /// `prefix` is in normalized form and passed [`PathPrefix::check`] (both checked when the policy is
    /// compiled).
    pub fn new(prefix: &str) -> Self {
        let decoded = decode_round(prefix, Decoder::Standard);
        Self {
            forms: [prefix, decoded.as_str()]
                .map(|text| [text.to_owned(), cut_streams(text)].map(|t| FOLDS.map(|f| fold(&t, f)))),
        }
    }

    /// Why a normalized prefix cannot be compared with server readings, if it cannot: it must name the same
    /// segments however a server reads it (no `;`, `\\`, `//`, dot segment, encoded `/`, `%`, `?`, `#` or
    /// control character once decoded, no segment starting with a space, which Java's `trim` drops, or
    /// ending in `.` or a space, which Windows drops; cut at its first `:`, a segment is still plain), and be
    /// escaped exactly as clients escape it (`/%61dmin` would never meet the `/admin` clients send).
    pub fn check(prefix: &str) -> Result<(), String> {
        let decoded = decode_round(prefix, Decoder::Standard);
        let same_segments = decoded.matches('/').count() == prefix.matches('/').count();
        let plain = !decoded.contains([';', '\\', '%', '?', '#']) && !decoded.chars().any(char::is_control);
        let odd_segment = |text: &str| {
            text.split('/')
                .any(|s| s == "." || s == ".." || s.starts_with(' ') || s.ends_with(['.', ' ']))
                || text.contains("//")
        };
        if !same_segments || !plain || odd_segment(&decoded) {
            return Err(
                "a path prefix names plain segments: no `;`, `\\`, `//`, dot segment, segment starting with a \
                 space or ending in `.` or a space, `%2F`, `%25` or control character"
                    .into(),
            );
        }
        // Windows servers read `name:stream` as `name` (NTFS alternate data streams), and readings so cut are
        // compared with the prefix cut the same way: the cut must leave plain segments too.
        if odd_segment(&cut_streams(&decoded)) {
            return Err(
                "a segment cut at its first `:` (Windows reads `name:stream` as `name`) must still be a plain \
                 segment: not empty, no dot segment, not ending in `.` or a space"
                    .into(),
            );
        }
        // Readings are compared in NFKC too (an NFD `/cafe%CC%81` is the NFC `/caf%C3%A9` to a normalizing
        // server), so a prefix must be NFKC already, or an allow could never meet its own NFKC reading.
        let decoded = match is_nfkc(&decoded) {
            true => decoded,
            false => {
                let nfkc: String = decoded.nfkc().collect();
                let canonical = url::Url::parse(&format!("http://h{nfkc}")).map(|u| u.path().to_owned());
                return Err(format!(
                    "write the prefix in Unicode NFKC form: `{}`",
                    canonical.unwrap_or_default()
                ));
            }
        };
        // What a WHATWG client sends for the decoded text: the one spelling that can meet a request.
        let canonical = url::Url::parse(&format!("http://h{decoded}")).map(|u| u.path().to_owned());
        if canonical.as_deref() != Ok(prefix) {
            let canonical = canonical.unwrap_or_default();
            return Err(format!("escape only what clients escape; write `{canonical}`"));
        }
        Ok(())
    }

    fn form(&self, r: &Reading) -> &str {
        &self.forms[usize::from(r.decoded)][usize::from(r.streams)][r.fold as usize]
    }
}

/// One reading: its text, whether it was decoded (then it is compared with the decoded prefix), whether
/// its segments were cut at `:` (then with the prefix cut so), its fold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Reading {
    decoded: bool,
    streams: bool,
    fold: Fold,
    text: String,
}

/// The readings of one request's path.
#[derive(Debug, Clone)]
pub struct PathReadings {
    /// A set: a hostile path repeats the same reading many ways, and a list would compare them pairwise.
    readings: HashSet<Reading>,
    /// More readings than [`MAX_READINGS`] or [`MAX_READING_BYTES`]: the path counts as under every prefix
    /// and under none.
    every_way: bool,
    bytes: usize,
}

impl PathReadings {
    /// `normalized` is the target's (WHATWG) path, `written` the path as the caller wrote it, if any.
    pub(super) fn new(normalized: &str, written: Option<&str>) -> Self {
        let mut spellings = vec![normalized.to_owned()];
        if let Some(raw) = written {
            // Non-ASCII as the UTF-8 bytes a client sends, so it compares with prefixes (written encoded).
            let raw = utf8_percent_encode(raw, CONTROLS).to_string();
            if raw != normalized {
                spellings.push(raw);
            }
        }
        let mut out = Self {
            readings: HashSet::new(),
            every_way: false,
            bytes: 0,
        };
        for spelling in &spellings {
            let Some(texts) = decodings(spelling) else {
                out.every_way = true;
                return out;
            };
            for (decoded, text) in texts {
                let Some(variants) = server_variants(&text, decoded) else {
                    out.every_way = true;
                    return out;
                };
                for (variant, streams) in variants {
                    for how in FOLDS {
                        out.push(Reading {
                            decoded,
                            streams,
                            fold: how,
                            text: fold(&variant, how),
                        });
                    }
                }
                if out.every_way {
                    return out;
                }
            }
        }
        out
    }

    fn push(&mut self, reading: Reading) {
        if self.every_way || self.readings.contains(&reading) {
            return;
        }
        self.bytes += reading.text.len();
        if self.readings.len() == MAX_READINGS || self.bytes > MAX_READING_BYTES {
            self.every_way = true;
            return;
        }
        self.readings.insert(reading);
    }
}

impl PathReadings {
    /// A path that could be anything (a CONNECT tunnel's): under every prefix and under none, like a path
    /// with too many readings.
    pub fn every_path() -> Self {
        Self {
            readings: HashSet::new(),
            every_way: true,
            bytes: 0,
        }
    }
}

/// Whether some reading of the path is under one of the prefixes (restricting rules); a format suffix
/// (`.json`) counts as a boundary, a prefix `P/` covers `P` itself, and an 8.3 short name its long name.
pub fn any_reading_under(prefixes: &[PathPrefix], readings: &PathReadings) -> bool {
    readings.every_way
        || readings.readings.iter().any(|r| {
            prefixes.iter().any(|p| {
                let form = restricting(p.form(r));
                under(form, &r.text, Boundary::SegmentOrSuffix)
                    // Short names are case-insensitive: the unfolded reading, compared in uppercase, is enough.
                    || (r.fold == Fold::None && r.text.contains('~') && under_short_names(form, &r.text))
            })
        })
}

/// A restricting prefix `P/` as `P`: the directory itself is restricted too (and `P` covers `P/…`). Express
/// serves `/admin` from its `/admin/` routes, a Servlet mapping `/admin/*` matches `/admin`, and Flask
/// (308), Django (301) and nginx redirect `/admin` to `/admin/`, which clients follow without asking again.
fn restricting(form: &str) -> &str {
    match form.strip_suffix('/') {
        Some(dir) if !dir.is_empty() => dir,
        _ => form,
    }
}

/// Whether `path` is under `prefix` (a restricting prefix, no trailing `/`) once some of its segments are
/// read as IIS 8.3 short names: `/BACKUP~1/x` may be `/backups/x`, `/ADMINI~1` `/administrator`. At least
/// one segment must be a short name (the plain comparison covers the rest); the others compare as IIS
/// does, ASCII case-insensitively, the last also at a format suffix.
fn under_short_names(prefix: &str, path: &str) -> bool {
    let (Some(prefix), Some(path)) = (prefix.strip_prefix('/'), path.strip_prefix('/')) else {
        return false;
    };
    let names: Vec<&str> = prefix.split('/').collect();
    let mut segments = path.split('/');
    let mut short = false;
    for (i, name) in names.iter().enumerate() {
        let Some(segment) = segments.next() else {
            return false;
        };
        let last = i + 1 == names.len();
        let (seg, n) = (segment.as_bytes(), name.as_bytes());
        let same = seg.eq_ignore_ascii_case(n)
            || (last && seg.len() > n.len() && seg[..n.len()].eq_ignore_ascii_case(n) && seg[n.len()] == b'.');
        if same {
            continue;
        }
        if !short_name_of(segment, name) {
            return false;
        }
        short = true;
    }
    short
}

/// Whether `segment` has the form of an 8.3 short name (`STEM~N[.EXT]`: a stem of 1-6 characters, `~`,
/// digits, at most 8 before the extension; or Windows' hashed form, 2 characters and 4 hex digits before
/// the `~`) that Windows may have made for `name`: the stem begins the name uppercased without dots and
/// spaces (<https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file#short-vs-long-names>),
/// where Windows writes `_` for each character a short name cannot hold (`+ , ; = [ ]`, and what the OEM
/// code page lacks: any non-ASCII character here), so `MY_FIL~1` is `my+files`.
fn short_name_of(segment: &str, name: &str) -> bool {
    let (base, ext) = segment.split_once('.').unwrap_or((segment, ""));
    let Some((stem, n)) = base.rsplit_once('~') else {
        return false;
    };
    let well_formed = (1..=6).contains(&stem.len())
        && stem.is_ascii()
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && base.len() <= 8
        && ext.len() <= 3
        && !ext.contains('.');
    if !well_formed {
        return false;
    }
    // The name as Windows holds it: a prefix's written form is percent-encoded (`/r%C3%A9sum%C3%A9s`);
    // decoding its decoded form changes nothing (an admitted prefix holds no `%` once decoded).
    let name = percent_decode_str(name).decode_utf8_lossy();
    let kept = || name.chars().filter(|c| !matches!(c, '.' | ' '));
    // As Windows writes it, and (for restrictions, one more reading is safe) as the Unicode uppercase,
    // which an OEM code page holding the character would keep (`ß` as `SS`).
    let substituted: String = kept()
        .map(|c| match c {
            '+' | ',' | ';' | '=' | '[' | ']' => '_',
            c if !c.is_ascii() => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    let uppercased: String = kept().flat_map(char::to_uppercase).collect();
    let stem = stem.to_ascii_uppercase();
    let hashed = stem.len() == 6 && stem.bytes().skip(2).all(|b| b.is_ascii_hexdigit());
    [substituted, uppercased]
        .iter()
        .any(|long| long.starts_with(&stem) || (hashed && long.starts_with(&stem[..2])))
}

/// Whether every reading of the path is under one of the prefixes (allow rules), at a segment boundary.
pub fn every_reading_under(prefixes: &[PathPrefix], readings: &PathReadings) -> bool {
    !readings.every_way
        && readings
            .readings
            .iter()
            .all(|r| prefixes.iter().any(|p| under(p.form(r), &r.text, Boundary::Segment)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    Segment,
    SegmentOrSuffix,
}

/// Prefix match at a segment boundary: `/v1/chat` covers `/v1/chat` and `/v1/chat/x`, not `/v1/chatter`;
/// a prefix ending in `/` covers everything below it. With `SegmentOrSuffix`, `/v1/chat.json` too.
fn under(prefix: &str, path: &str, boundary: Boundary) -> bool {
    match path.strip_prefix(prefix) {
        None => false,
        Some(rest) => {
            prefix.ends_with('/')
                || rest.is_empty()
                || rest.starts_with('/')
                || (boundary == Boundary::SegmentOrSuffix && rest.starts_with('.'))
        }
    }
}

/// How one decoding round treats escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoder {
    /// Every `%XX` (what a server that decodes the whole path does).
    Standard,
    /// Every `%XX` but `%2F` and `%5C`, which stay in their segment (servers that decode per segment).
    KeepSeparators,
    /// `%XX` and IIS's `%uXXXX`.
    Iis,
    /// Every `%XX`, the bytes read as legacy decoders read UTF-8 (see [`legacy_utf8`]).
    Legacy,
}

/// `text` percent-decoded until nothing changes (bounded), invalid UTF-8 replaced: what a server that
/// decodes more than once, or a log reader, finally sees.
pub fn fully_decoded(text: &str) -> String {
    decoded_until_settled(text, Decoder::Standard)
}

/// The same with IIS's `%uXXXX` escapes decoded as well (what IIS finally sees; DLP reads it too).
pub fn fully_decoded_iis(text: &str) -> String {
    decoded_until_settled(text, Decoder::Iis)
}

fn decoded_until_settled(text: &str, decoder: Decoder) -> String {
    let mut current = text.to_owned();
    for _ in 0..MAX_DECODE_ROUNDS {
        if !current.contains('%') {
            break;
        }
        let next = decode_round(&current, decoder);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// Every text a server may route on before its own steps: the spelling as sent (`false`: compared with the
/// prefix as written), then each decoding depth of each decoder (`true`).
/// `None` when some decoder still changes the text after [`MAX_DECODE_ROUNDS`]: then it is read every way.
fn decodings(spelling: &str) -> Option<Vec<(bool, String)>> {
    let mut out = vec![(false, spelling.to_owned())];
    if !spelling.contains('%') {
        return Some(out);
    }
    for decoder in [
        Decoder::Standard,
        Decoder::KeepSeparators,
        Decoder::Iis,
        Decoder::Legacy,
    ] {
        let mut current = spelling.to_owned();
        let mut settled = false;
        for _ in 0..MAX_DECODE_ROUNDS {
            let next = decode_round(&current, decoder);
            if next == current {
                settled = true;
                break;
            }
            // Also in NFKC: a normalizing server reads the NFD `e` + U+0301 as `é`, .NET's best fit reads
            // fullwidth `．` and `／` as `.` and `/` (so dot segments made by normalization are removed too).
            let nfkc = (!is_nfkc(&next)).then(|| next.nfkc().collect::<String>());
            for text in [Some(&next), nfkc.as_ref()].into_iter().flatten() {
                if !out.iter().any(|(d, t)| *d && t == text) {
                    out.push((true, text.clone()));
                }
            }
            current = next;
        }
        if !settled {
            return None;
        }
    }
    Some(out)
}

/// One round of `decoder` over `text`; invalid UTF-8 replaced (but by the legacy decoder). The standard
/// round is the crate's; the others differ from it only at `%2F`/`%5C`, `%u` and invalid UTF-8.
fn decode_round(text: &str, decoder: Decoder) -> String {
    match decoder {
        Decoder::Standard => return percent_decode_str(text).decode_utf8_lossy().into_owned(),
        Decoder::Legacy => return legacy_utf8(&percent_decode_str(text).collect::<Vec<u8>>()),
        Decoder::KeepSeparators | Decoder::Iis => {}
    }
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = hex_byte(bytes.get(i + 1..i + 3)) {
                if decoder == Decoder::KeepSeparators && (b == b'/' || b == b'\\') {
                    out.extend_from_slice(&bytes[i..i + 3]);
                } else {
                    out.push(b);
                }
                i += 3;
                continue;
            }
            if decoder == Decoder::Iis && matches!(bytes.get(i + 1), Some(b'u' | b'U')) {
                let unit = bytes
                    .get(i + 2..i + 6)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32);
                if let Some(c) = unit {
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    i += 6;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `bytes` as a legacy decoder reads them: valid UTF-8 as usual; overlong forms as the code point they
/// spell (`C0 AE` is `.`, `C0 AF` `/`, `C1 9C` `\`, `E0 80 AE` `.`: Tomcat before 6.0.18, CVE-2008-2938;
/// GlassFish, CVE-2017-1000028; IIS 4/5, CVE-2000-0884), including IIS's unchecked continuation byte
/// (`C0 2F` is `/`: it took the low 6 bits of whatever followed); any other invalid byte as Latin-1 (an old
/// Tomcat reads `%E9` as `é`).
fn legacy_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b0 = bytes[i];
        let len = match b0 {
            0x00..=0x7F => 1,
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 0,
        };
        // `len` 0: no valid sequence starts here (an empty slice would be valid and never advance).
        let valid = (len > 0).then(|| bytes.get(i..i + len)).flatten();
        if let Some(valid) = valid.and_then(|s| std::str::from_utf8(s).ok()) {
            out.push_str(valid);
            i += len;
            continue;
        }
        let low = |k: usize| bytes.get(i + k).map(|b| u32::from(b & 0x3F));
        let cont = |k: usize| bytes.get(i + k).is_some_and(|b| b & 0xC0 == 0x80);
        let overlong = match b0 {
            // Two bytes for an ASCII character; IIS did not check the second byte's top bits.
            0xC0 | 0xC1 => low(1).map(|lo| (2, (u32::from(b0 & 0x1F) << 6) | lo)),
            // Three bytes for a code point below U+0800.
            0xE0 if cont(1) && cont(2) && bytes[i + 1] < 0xA0 => low(1).zip(low(2)).map(|(a, b)| (3, (a << 6) | b)),
            // Four bytes for a code point below U+10000.
            0xF0 if cont(1) && cont(2) && cont(3) && bytes[i + 1] < 0x90 => low(1)
                .zip(low(2))
                .zip(low(3))
                .map(|((a, b), c)| (4, (a << 12) | (b << 6) | c)),
            _ => None,
        };
        match overlong.and_then(|(n, cp)| char::from_u32(cp).map(|c| (n, c))) {
            Some((n, c)) => {
                out.push(c);
                i += n;
            }
            None => {
                out.push(char::from(b0));
                i += 1;
            }
        }
    }
    out
}

fn hex_byte(pair: Option<&[u8]>) -> Option<u8> {
    let pair = pair?;
    let digit = |b: u8| (b as char).to_digit(16);
    Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
}

/// The server steps, in the order servers take them; each may be taken or not. Every step but the cut at
/// `:` leaves an admitted prefix alone; a text that cut changed is compared with the prefix cut too.
const STEPS: [fn(&str) -> String; 8] = [
    cut_at_delimiter,
    |t| t.replace('\\', "/"),
    cut_params,
    cut_streams,
    trim_segments,
    merge_slashes,
    remove_dot_segments,
    trim_segment_ends,
];
/// The index of [`cut_streams`] in [`STEPS`].
const CUT_STREAMS: usize = 3;

/// Every distinct text the steps make of `text` (each step taken or not, in order), each with whether the
/// cut at `:` changed it, or `None` past [`MAX_READING_BYTES`]. The cut at a decoded delimiter applies to
/// decoded texts only: as sent, `?` and `#` are not part of the path.
fn server_variants(text: &str, decoded: bool) -> Option<HashSet<(String, bool)>> {
    let mut variants = HashSet::from([(text.to_owned(), false)]);
    for (i, step) in STEPS.iter().enumerate() {
        if i == 0 && !decoded {
            continue;
        }
        if variants.len() * 2 * text.len() > MAX_READING_BYTES {
            return None;
        }
        let made: Vec<(String, bool)> = variants
            .iter()
            .map(|(v, cut)| {
                let next = step(v);
                let cut = *cut || (i == CUT_STREAMS && next != *v);
                (next, cut)
            })
            .collect();
        variants.extend(made);
    }
    Some(variants)
}

/// A decoded `?`, `#` or NUL ends the path for servers that split or terminate after decoding.
fn cut_at_delimiter(text: &str) -> String {
    text.split(['?', '#', '\0']).next().unwrap_or_default().to_owned()
}

fn cut_params(text: &str) -> String {
    text.split('/')
        .map(|segment| segment.split(';').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
}

/// Windows reads `name:stream` as the file or folder `name` (NTFS alternate data streams: IIS serves
/// `/web.config::$DATA` and `/admin::$INDEX_ALLOCATION` as `/web.config` and `/admin`): each segment cut at
/// its first `:`.
fn cut_streams(text: &str) -> String {
    if !text.contains(':') {
        return text.to_owned();
    }
    text.split('/')
        .map(|segment| segment.split(':').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
}

/// Java's `String.trim` on each segment: every character up to U+0020 (controls and the space) dropped from
/// both ends. Old Spring's `AntPathMatcher` tokenized paths with `trimTokens` (CVE-2016-5007), so
/// `/admin%09/x` and `/%20admin` reached `/admin/**`, and `..%0d%0a` was a dot segment.
fn trim_segments(text: &str) -> String {
    let is_trimmed = |c: char| c <= ' ';
    if !text
        .split('/')
        .any(|s| s.starts_with(is_trimmed) || s.ends_with(is_trimmed))
    {
        return text.to_owned();
    }
    text.split('/')
        .map(|segment| segment.trim_matches(is_trimmed))
        .collect::<Vec<_>>()
        .join("/")
}

fn merge_slashes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

/// Windows drops trailing dots and spaces from a name (`/admin./` is `/admin/`); dot segments stay.
fn trim_segment_ends(text: &str) -> String {
    text.split('/')
        .map(|segment| match segment {
            "." | ".." => segment,
            other => match other.trim_end_matches(['.', ' ']) {
                "" => other,
                trimmed => trimmed,
            },
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// RFC 3986 §5.2.4 on an absolute path, with `/` the only separator.
fn remove_dot_segments(path: &str) -> String {
    let path = path.strip_prefix('/').unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {}
            ".." => {
                out.pop();
            }
            other => {
                out.push(other);
                continue;
            }
        }
        // A trailing dot segment leaves the path ending in `/`, as the resolver does.
        if last {
            out.push("");
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_resolve_as_rfc_3986_says() {
        for (input, want) in [
            ("/a/b/c/./../../g", "/a/g"),
            ("/a/b/..", "/a/"),
            ("/..", "/"),
            ("/../x", "/x"),
            ("/a//../b", "/a/b"),
            ("/a/.", "/a/"),
            ("/", "/"),
            ("/a/b", "/a/b"),
        ] {
            assert_eq!(remove_dot_segments(input), want, "{input}");
        }
    }

    #[test]
    fn decoding_repeats_until_nothing_changes() {
        assert_eq!(fully_decoded("%252e%252E"), "..");
        assert_eq!(fully_decoded("%25252F"), "/");
        assert_eq!(fully_decoded("%ff"), "\u{FFFD}");
        assert_eq!(fully_decoded("%"), "%");
    }

    /// Paths that a decode-everything-then-resolve reading alone misses (found in review): each is routed
    /// under the prefix by some server, so a restriction must apply and an allow must not.
    #[test]
    fn raw_once_decoded_and_per_segment_readings_are_held_too() {
        let restricted: &[(&str, &str)] = &[
            // Express/ASP.NET: case-insensitive match on the raw path, `..%2F` a plain segment.
            ("/ADMIN/..%2F", "/admin"),
            // A server decoding once sees `/admin/%2e%2e`; decoding until done would pop `admin`.
            ("/%61dmin/%252e%252e", "/admin"),
            // Go's ServeMux and Kestrel decode per segment: `%2F` stays inside the segment.
            ("/%61dmin/..%2F", "/admin"),
            // Rails and older Spring route a format suffix to the resource.
            ("/admin.json", "/admin"),
            // Windows drops trailing dots; IIS decodes %u; a decoded NUL or `?` ends the path.
            ("/admin./x", "/admin/x"),
            ("/%u0061dmin/x", "/admin"),
            ("/admin%3Fx", "/admin"),
            // Java's per-character fold reads the long s as `s`.
            ("/%C5%BFecrets", "/secrets"),
        ];
        for (path, prefix) in restricted {
            let r = PathReadings::new(path, Some(path));
            assert!(!r.every_way, "{path}: {} readings", r.readings.len());
            assert!(
                any_reading_under(&[PathPrefix::new(prefix)], &r),
                "{path} under {prefix}"
            );
        }
        // nginx decodes once: `%252F` becomes `%2F`, a real separator for it, and `..` climbs out.
        let path = "/repos/acme/a%252Fb%252Fc/..%2F..%2F..%2Fother";
        let r = PathReadings::new(path, Some(path));
        assert!(!r.every_way);
        assert!(!every_reading_under(&[PathPrefix::new("/repos/acme/")], &r));
        // An allow is still an allow for a plain path, and a suffix is no boundary for it.
        let r = PathReadings::new("/repos/acme/web", None);
        assert!(every_reading_under(&[PathPrefix::new("/repos/acme/")], &r));
        let r = PathReadings::new("/v1/chat.json", None);
        assert!(!every_reading_under(&[PathPrefix::new("/v1/chat")], &r));
    }

    #[test]
    fn a_path_that_decodes_past_the_round_limit_is_read_every_way() {
        let deep_dot = format!("%{}2e", "25".repeat(MAX_DECODE_ROUNDS));
        let path = format!("/repos/acme/{deep_dot}/{deep_dot}/other");
        let r = PathReadings::new(&path, Some(&path));
        assert!(r.every_way);
        assert!(!every_reading_under(&[PathPrefix::new("/repos/acme/")], &r));
        // Fewer levels settle within the limit, and their dots are read.
        let settles = format!("%{}2e", "25".repeat(MAX_DECODE_ROUNDS - 2));
        let path = format!("/repos/acme/{settles}{settles}/other");
        let r = PathReadings::new(&path, Some(&path));
        assert!(!r.every_way);
        assert!(!every_reading_under(&[PathPrefix::new("/repos/acme/")], &r));
    }

    #[test]
    fn a_path_with_too_many_readings_is_read_every_way() {
        let path = "/a;b/.//%2e%2e/c./%252e%252e;x/%u002e%u002e/%25252e%25252e/d%3F/%C5%BF/İ/".repeat(8);
        let r = PathReadings::new(&path, Some(&path));
        assert!(r.every_way);
        assert!(any_reading_under(&[PathPrefix::new("/elsewhere")], &r));
        assert!(!every_reading_under(&[PathPrefix::new("/")], &r));
    }

    /// The benchmark's hostile 8 KB path, also with the spellings the legacy and NFKC readings decode:
    /// still bounded, still read every way.
    #[test]
    fn an_8kb_hostile_path_is_read_every_way() {
        for unit in [
            "/a;b/.//%2e%2e/c./%252e%252e;x/%u002e%u002e/%25252e%25252e/d%3F/%C5%BF",
            "/%C0%AE%C0%AE/%E0%80%AE/%EF%BC%8E%EF%BC%8E/BACKUP~1/cafe%CC%81/%E9/%C0%2F/%2e%2e;x",
        ] {
            let path = format!("/repos/acme{}", unit.repeat(8000 / unit.len()));
            let started = std::time::Instant::now();
            let r = PathReadings::new(&path, Some(&path));
            assert!(r.every_way, "{unit}");
            assert!(!every_reading_under(&[PathPrefix::new("/repos/acme/")], &r));
            assert!(any_reading_under(&[PathPrefix::new("/elsewhere")], &r));
            eprintln!("{unit}: {:?}", started.elapsed());
        }
    }

    #[test]
    fn prefixes_must_read_the_same_everywhere() {
        for ok in ["/repos/acme/", "/v1/chat", "/caf%C3%A9"] {
            assert_eq!(PathPrefix::check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "/a;v=1/",
            "/a//b",
            "/a/..%2Fb",
            "/a%2Fb",
            "/a%252e",
            "/a/%2e%2e/b",
            "/a%5Cb",
            "/a%00",
            // Escaped where clients do not escape, or in lowercase hex: never what a client sends.
            "/%61dmin",
            "/%7Euser/",
            "/caf%c3%a9",
            // Windows drops a trailing dot or space: `/files./` would be `/files/` there.
            "/files./",
            "/a%20/",
        ] {
            assert!(PathPrefix::check(bad).is_err(), "{bad}");
        }
    }

    /// Security round 3, class 1: a restricting prefix `P/` covers `P` itself in every reading (at the
    /// same boundaries as `P`), an allow keeps its meaning.
    #[test]
    fn a_restricting_folder_prefix_covers_the_folder_itself() {
        let admin = [PathPrefix::new("/admin/")];
        for path in [
            "/admin",
            "/ADMIN",
            "/admin;jsessionid=0123",
            "/admin.json",
            "/admin%2e",
            "/Admin%2E%2E/admin",
            "/admin/",
            "/admin/x",
            "/x/../admin",
            "/%61dmin",
            "/admin%3Fq",
            "/admin./",
        ] {
            let r = PathReadings::new(path, Some(path));
            assert!(any_reading_under(&admin, &r), "{path}");
        }
        for path in ["/adminx", "/administrator", "/admi", "/x/admin", "/"] {
            let r = PathReadings::new(path, Some(path));
            assert!(!any_reading_under(&admin, &r), "{path}");
        }
        // `/` stays `/`; an allow on a folder still does not cover the folder's own name.
        assert!(any_reading_under(
            &[PathPrefix::new("/")],
            &PathReadings::new("/x", None)
        ));
        let r = PathReadings::new("/repos/acme", None);
        assert!(!every_reading_under(&[PathPrefix::new("/repos/acme/")], &r));
    }

    /// Security round 3, class 2: legacy UTF-8 (overlong forms, IIS's unchecked continuation, Latin-1).
    #[test]
    fn legacy_decoders_read_overlong_utf8_as_the_character_it_spells() {
        for (bytes, want) in [
            (&b"\xC0\xAE"[..], "."),
            (b"\xC0\xAF", "/"),
            (b"\xC1\x9C", "\\"),
            (b"\xE0\x80\xAE", "."),
            (b"\xF0\x80\x80\xAF", "/"),
            (b"\xC0\x2F", "/"),
            (b"\xC0\x6F", "/"),
            (b"\xC0\xEF", "/"),
            (b"\xE9", "\u{e9}"),
            (b"caf\xC3\xA9", "caf\u{e9}"),
            (b"\xFF\xFE", "\u{ff}\u{fe}"),
            (b"\xC0", "\u{c0}"),
            (b"\xE0\x80", "\u{e0}\u{80}"),
            (b"\xED\xA0\x80", "\u{ed}\u{a0}\u{80}"),
            (b"a\xE0\xA4\xB9", "a\u{939}"),
        ] {
            assert_eq!(legacy_utf8(bytes), want, "{bytes:x?}");
        }
        let acme = [PathPrefix::new("/repos/acme/")];
        for path in [
            "/repos/acme/%C0%AE%C0%AE/other",
            "/repos/acme/%C0%AE%C0%AE%C0%AFother",
            "/repos/acme/x/..%C0%AF..%C0%AFother",
            "/repos/acme/..%C1%9Cother",
            "/repos/acme/%E0%80%AE%E0%80%AE/other",
            "/repos/acme/..%C0%2Fother",
            "/repos/acme/%25C0%25AE%25C0%25AE/other",
            "/repos/acme/%F0%80%80%AE%F0%80%80%AE/other",
        ] {
            let r = PathReadings::new(path, Some(path));
            assert!(!r.every_way, "{path}");
            assert!(!every_reading_under(&acme, &r), "allowed {path}");
            assert!(any_reading_under(&[PathPrefix::new("/repos/other")], &r), "{path}");
        }
        // Valid UTF-8 reads as usual: a path in good faith stays allowed.
        let r = PathReadings::new("/repos/acme/caf%C3%A9", None);
        assert!(every_reading_under(&acme, &r));
        // Latin-1 for a lone byte: old Tomcat reads `%E9` as `é`.
        let r = PathReadings::new("/caf%E9", None);
        assert!(any_reading_under(&[PathPrefix::new("/caf%C3%A9")], &r));
    }

    /// Security round 3, class 2: NFKC readings (an NFD spelling of an NFC prefix; fullwidth dot and
    /// solidus), and prefixes that are not NFKC-stable refused with the form to write.
    #[test]
    fn unicode_normalized_readings_are_held_too() {
        let cafe = [PathPrefix::new("/caf%C3%A9")];
        for path in [
            "/cafe%CC%81",
            "/CAFE%CC%81/x",
            "/caf%EF%BD%85%CC%81",
            "/x/%EF%BC%8E%EF%BC%8E/cafe%CC%81",
        ] {
            let r = PathReadings::new(path, Some(path));
            assert!(any_reading_under(&cafe, &r), "{path}");
        }
        let acme = [PathPrefix::new("/repos/acme/")];
        for path in [
            "/repos/acme/%EF%BC%8E%EF%BC%8E/%EF%BC%8E%EF%BC%8E/other",
            "/repos/acme/%EF%BC%8E%EF%BC%8E%EF%BC%8F%EF%BC%8E%EF%BC%8E%EF%BC%8Fother",
            "/repos/acme/%E2%80%A5/other",
        ] {
            let r = PathReadings::new(path, Some(path));
            assert!(!every_reading_under(&acme, &r), "allowed {path}");
        }
        for (bad, write) in [
            ("/cafe%CC%81", "`/caf%C3%A9`"),
            ("/%EF%BD%81dmin", "`/admin`"),
            ("/a%EF%AC%81le", "`/afile`"),
            ("/x%E2%85%A0", "`/xI`"),
        ] {
            let err = PathPrefix::check(bad).unwrap_err();
            assert!(err.contains("NFKC") && err.contains(write), "{bad}: {err}");
        }
        assert_eq!(PathPrefix::check("/caf%C3%A9"), Ok(()));
    }

    /// Security round 3, class 2: IIS 8.3 short names stand for the long segment they may abbreviate, for
    /// restrictions; an allow already fails on them (the segment differs).
    #[test]
    fn short_names_count_as_the_segments_they_abbreviate() {
        let cases: &[(&str, &str, bool)] = &[
            ("/BACKUP~1/db.sql", "/backups/", true),
            ("/backup~1/", "/backups/", true),
            ("/BACKUP~1", "/backups/", true),
            ("/BACKU~12/x", "/backups/", true),
            ("/ADMINI~1", "/administrator", true),
            ("/ADMINI~1.PHP", "/administrator", true),
            ("/ADMINI~1/x", "/administrator", true),
            ("/api/PRIVAT~1/x", "/api/private-keys/", true),
            ("/API/PRIVAT~1/x", "/api/private-keys/", true),
            ("/PROGRA~1/x", "/program%20files/", true),
            ("/BA1F2C~1/x", "/backups/", true),
            ("/%42ACKUP~1/x", "/backups/", true),
            ("/BACKUP%7E1/x", "/backups/", true),
            // Not a short name of it: another stem, too long a stem, no digits, another segment.
            ("/BACKUQ~1/x", "/backups/", false),
            ("/BACKUPS1~1/x", "/backups/", false),
            ("/BACKUP~/x", "/backups/", false),
            ("/BACKUP~A/x", "/backups/", false),
            ("/x/BACKUP~1", "/backups/", false),
            ("/ADMIN~1", "/administrator/x", false),
            ("/ZZ1F2C~1/x", "/backups/", false),
        ];
        for (path, prefix, want) in cases {
            let r = PathReadings::new(path, Some(path));
            assert_eq!(
                any_reading_under(&[PathPrefix::new(prefix)], &r),
                *want,
                "{path} under {prefix}"
            );
        }
        for (path, prefix) in [("/REPOS~1/acme/x", "/repos/acme/"), ("/repos/ACME~1/x", "/repos/acme/")] {
            let r = PathReadings::new(path, Some(path));
            assert!(!every_reading_under(&[PathPrefix::new(prefix)], &r), "allowed {path}");
        }
    }

    /// Security round 4, class 1: NTFS alternate data streams. Windows reads `name:stream` as `name`, so a
    /// segment cut at its first `:` is a reading: restrictions see it, and an allow must hold in it too.
    #[test]
    fn segments_cut_at_a_stream_name_are_read_as_the_name() {
        let restricted: &[(&str, &str)] = &[
            ("/admin::$INDEX_ALLOCATION", "/admin/"),
            ("/admin:$i30:$INDEX_ALLOCATION/x", "/admin/"),
            ("/ADMIN::$INDEX_ALLOCATION/x", "/admin/"),
            ("/Admin:$I30:$Index_Allocation", "/admin/"),
            ("/admin%3A%3A$INDEX_ALLOCATION/x", "/admin/"),
            ("/admin%253A%253A$INDEX_ALLOCATION/x", "/admin/"),
            ("/admin%EF%BC%9A%EF%BC%9A$INDEX_ALLOCATION/x", "/admin/"),
            ("/admin:x/y", "/admin/"),
            ("/x/..::$INDEX_ALLOCATION/admin", "/admin/"),
            ("/x/..:$DATA/admin/", "/admin/"),
            ("/ADMINI~1::$INDEX_ALLOCATION/x", "/administrator/"),
            ("/web.config::$DATA", "/web.config"),
            ("/WEB.CONFIG::$DATA", "/web.config"),
            ("/Web.Config:$DATA", "/web.config"),
            ("/web.config%3A%3A%24DATA", "/web.config"),
            ("/web.config%3a%3a%24data", "/web.config"),
            ("/x/%2e%2e::$DATA/web.config::$DATA", "/web.config"),
        ];
        for (path, prefix) in restricted {
            let r = PathReadings::new(path, Some(path));
            assert!(!r.every_way, "{path}");
            assert!(
                any_reading_under(&[PathPrefix::new(prefix)], &r),
                "{path} under {prefix}"
            );
        }
        for (path, prefix) in [
            ("/administrator::$DATA", "/admin/"),
            ("/x::$DATA/admin", "/admin/"),
            ("/web.configs::$DATA", "/web.config"),
        ] {
            let r = PathReadings::new(path, Some(path));
            assert!(
                !any_reading_under(&[PathPrefix::new(prefix)], &r),
                "{path} under {prefix}"
            );
        }
        // An allow holds in the cut reading too: a cut `..` climbs out of the prefix.
        let public = [PathPrefix::new("/public/")];
        for path in [
            "/public/..::$DATA/admin",
            "/public/..:x/admin",
            "/public/x/..:$INDEX_ALLOCATION/..:y/admin",
            "/public/..%3A%3A$DATA/admin",
            "/public::$INDEX_ALLOCATION/../admin",
        ] {
            let r = PathReadings::new(path, Some(path));
            assert!(!every_reading_under(&public, &r), "allowed {path}");
        }
        for path in ["/public/x::$DATA", "/public/a:b/c", "/public/"] {
            let r = PathReadings::new(path, Some(path));
            assert!(every_reading_under(&public, &r), "refused {path}");
        }
        // A prefix holding `:` (Google's `:verb` methods) is compared cut with readings cut: its own
        // request is still allowed, another verb is not.
        let verb = [PathPrefix::new("/v1/models/gemini:generateContent")];
        for (path, want) in [
            ("/v1/models/gemini:generateContent", true),
            ("/v1/models/gemini:generateContent/x", true),
            ("/v1/models/gemini:streamGenerateContent", false),
            ("/v1/models/gemini", false),
            ("/v1/models/gemini:generateContent/..:x/../other", false),
        ] {
            let r = PathReadings::new(path, Some(path));
            assert_eq!(every_reading_under(&verb, &r), want, "{path}");
        }
        let r = PathReadings::new("/v1/models/gemini:x", None);
        assert!(any_reading_under(&verb, &r), "a restriction on a verb covers its name");
    }

    /// Security round 4, class 2: Java's `String.trim` on each segment (old Spring's `trimTokens`,
    /// CVE-2016-5007) drops every character up to U+0020 from both ends, before dot segments are removed.
    #[test]
    fn segments_are_read_trimmed_of_controls_and_spaces() {
        let admin = [PathPrefix::new("/admin/")];
        let mut restricted = vec![
            "/admin%09/x".to_owned(),
            "/admin%0a".to_owned(),
            "/%20admin/x".to_owned(),
            "/%09admin".to_owned(),
            "/admin%0d%0a/x".to_owned(),
            "/%0b%0cadmin%1f%20/x".to_owned(),
            "/%20/admin/x".to_owned(),
            "/x/..%20/admin".to_owned(),
            "/x/%09..%09/admin".to_owned(),
            "/%2509admin/x".to_owned(),
        ];
        // Every control character and the space, before and after.
        for b in (0x01..=0x20).filter(|b| *b != 0x00) {
            restricted.push(format!("/%{b:02X}admin/x"));
            restricted.push(format!("/admin%{b:02X}/x"));
        }
        for path in &restricted {
            let r = PathReadings::new(path, Some(path));
            assert!(!r.every_way, "{path}");
            assert!(any_reading_under(&admin, &r), "{path}");
        }
        let public = [PathPrefix::new("/public/")];
        for path in [
            "/public/..%09/admin",
            "/public/..%0d%0a/admin",
            "/public/%20../admin",
            "/public/%0b..%0c/admin",
            "/public/..%2509/admin",
            "/public/x/..%20/..%1f/admin",
        ] {
            let r = PathReadings::new(path, Some(path));
            assert!(!every_reading_under(&public, &r), "allowed {path}");
        }
        for path in ["/public/a%09b", "/public/%20x"] {
            let r = PathReadings::new(path, Some(path));
            assert!(every_reading_under(&public, &r), "refused {path}");
        }
        // Inside a segment nothing is trimmed.
        let r = PathReadings::new("/ad%09min/x", None);
        assert!(!any_reading_under(&admin, &r));
    }

    /// Security round 4, class 3: Windows writes `_` in a short name for `+ , ; = [ ]` and for characters
    /// the OEM code page lacks.
    #[test]
    fn short_names_substitute_what_they_cannot_hold() {
        for (path, prefix) in [
            ("/MY_FIL~1/x", "/my+files/"),
            ("/my_fil~1", "/my+files/"),
            ("/A_B_C~1/x", "/a,b=c/"),
            ("/_DRAFT~1/x", "/[draft]/"),
            ("/R_SUM_~1/x", "/r%C3%A9sum%C3%A9s/"),
            ("/STRA_E~1/x", "/stra%C3%9Fe/"),
            ("/STRASS~1/x", "/stra%C3%9Fe/"),
            ("/__~1/x", "/%E6%97%A5%E8%AE%B0/"),
            ("/API/PRIVAT~1/x", "/api/private+keys/"),
            ("/MY_FIL~1::$INDEX_ALLOCATION/x", "/my+files/"),
        ] {
            let r = PathReadings::new(path, Some(path));
            assert!(
                any_reading_under(&[PathPrefix::new(prefix)], &r),
                "{path} under {prefix}"
            );
        }
        for (path, prefix) in [("/MYFILE~1/x", "/my+files/"), ("/MY_FIX~1/x", "/my+files/")] {
            let r = PathReadings::new(path, Some(path));
            assert!(
                !any_reading_under(&[PathPrefix::new(prefix)], &r),
                "{path} under {prefix}"
            );
        }
    }

    #[test]
    fn prefixes_read_the_same_trimmed_and_cut_at_streams() {
        for ok in ["/v1/models/gemini:generateContent", "/a:b/", "/a%20b/", "/my+files/"] {
            assert_eq!(PathPrefix::check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "/%20admin/",
            "/a/%20b",
            "/:x/",
            "/a/..:x/",
            "/a.:b/",
            "/a%20:b/",
            "/a/:/b",
        ] {
            assert!(PathPrefix::check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn readings_cover_what_servers_route_on() {
        let r = PathReadings::new("/public/..%2Fprivate;v=1/x", Some("/public/..%2Fprivate;v=1/x"));
        let private = [PathPrefix::new("/private/")];
        let public = [PathPrefix::new("/public/")];
        assert!(any_reading_under(&private, &r));
        assert!(!every_reading_under(&public, &r));
        let r = PathReadings::new("/Admin//x", None);
        assert!(any_reading_under(&[PathPrefix::new("/admin/x")], &r));
        assert!(!any_reading_under(&[PathPrefix::new("/adm")], &r));
    }
}

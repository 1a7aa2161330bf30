//! The readings of a path. The gateway authorizes a path, but the caller's client and the remote server
//! each read it their own way, so a path rule is held against every reading they may make:
//!
//! - the normalized WHATWG path (what the target records, and what browsers and `fetch` send);
//! - the path as written (what RFC 3986 clients such as curl with `--path-as-is`, or Go, send);
//! - from each of those, what a server routes on: percent-decoded (repeatedly, as servers that decode
//!   twice do), `\` as `/`, with and without `;parameters` cut from each segment (Tomcat, Spring), with and
//!   without `//` merged (nginx), dot segments removed, and case-folded or not (case-insensitive routers).
//!
//! A restricting rule (deny, require_approval) applies when any reading is under one of its prefixes, an
//! allow only when every reading is: so no reading can take an allowed request outside its prefixes, and
//! no reading can slip a restricted path past its rule.

use percent_encoding::{percent_decode_str, utf8_percent_encode, CONTROLS};

/// Enough rounds for any encoding a server undoes; each round shortens the text, so this only bounds work.
const MAX_DECODE_ROUNDS: usize = 16;

/// One way a server may read a decoded path.
#[derive(Debug, Clone, Copy)]
struct ServerView {
    cut_params: bool,
    merge_slashes: bool,
    fold_case: bool,
}

/// Every combination, so a reading never depends on which server sits behind the host.
const SERVER_VIEWS: [ServerView; 8] = {
    let mut views = [ServerView {
        cut_params: false,
        merge_slashes: false,
        fold_case: false,
    }; 8];
    let mut i = 0;
    while i < 8 {
        views[i] = ServerView {
            cut_params: i & 1 != 0,
            merge_slashes: i & 2 != 0,
            fold_case: i & 4 != 0,
        };
        i += 1;
    }
    views
};

/// A rule's path prefix, with its own server readings precomputed (a prefix is compared with a reading of
/// the same kind: a decoded, folded path against the decoded, folded prefix).
#[derive(Debug, Clone)]
pub struct PathPrefix {
    written: String,
    server: [String; SERVER_VIEWS.len()],
}

impl PathPrefix {
    /// `prefix` is in normalized form (checked when the policy is compiled).
    pub fn new(prefix: &str) -> Self {
        Self {
            written: prefix.to_owned(),
            server: {
                let decoded = server_decoded(prefix);
                SERVER_VIEWS.map(|v| server_view(&decoded, v))
            },
        }
    }
    fn form(&self, view: Option<usize>) -> &str {
        match view {
            None => &self.written,
            Some(i) => &self.server[i],
        }
    }
}

/// The readings of one request's path. `None` marks a reading compared as written (WHATWG or raw),
/// `Some(i)` one made with server view `i`.
#[derive(Debug, Clone)]
pub struct PathReadings {
    readings: Vec<(Option<usize>, String)>,
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
        let mut readings: Vec<(Option<usize>, String)> = spellings.iter().map(|s| (None, s.clone())).collect();
        for spelling in &spellings {
            let decoded = server_decoded(spelling);
            for (i, view) in SERVER_VIEWS.iter().enumerate() {
                let form = server_view(&decoded, *view);
                if !readings.iter().any(|(v, s)| *v == Some(i) && *s == form) {
                    readings.push((Some(i), form));
                }
            }
        }
        Self { readings }
    }
}

/// Whether some reading of the path is under one of the prefixes (restricting rules).
pub fn any_reading_under(prefixes: &[PathPrefix], readings: &PathReadings) -> bool {
    readings
        .readings
        .iter()
        .any(|(view, path)| prefixes.iter().any(|p| under(p.form(*view), path)))
}

/// Whether every reading of the path is under one of the prefixes (allow rules).
pub fn every_reading_under(prefixes: &[PathPrefix], readings: &PathReadings) -> bool {
    readings
        .readings
        .iter()
        .all(|(view, path)| prefixes.iter().any(|p| under(p.form(*view), path)))
}

/// Prefix match at a segment boundary: `/v1/chat` covers `/v1/chat` and `/v1/chat/x`, not `/v1/chatter`;
/// a prefix ending in `/` covers everything below it.
fn under(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        None => false,
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
    }
}

/// `text` percent-decoded until nothing changes (bounded), invalid UTF-8 replaced: what a server that
/// decodes more than once, or a log reader, finally sees.
pub fn fully_decoded(text: &str) -> String {
    let mut current = text.to_owned();
    for _ in 0..MAX_DECODE_ROUNDS {
        let next = percent_decode_str(&current).decode_utf8_lossy();
        if next == current {
            break;
        }
        current = next.into_owned();
    }
    current
}

/// What every server view starts from: `path` fully decoded, `\` as `/` (computed once per spelling).
fn server_decoded(path: &str) -> String {
    fully_decoded(path).replace('\\', "/")
}

/// What a server routes on under `view`, from the [`server_decoded`] text.
fn server_view(decoded: &str, view: ServerView) -> String {
    let mut text = match view.cut_params {
        true => decoded
            .split('/')
            .map(|segment| segment.split(';').next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("/"),
        false => decoded.to_owned(),
    };
    if view.merge_slashes {
        while text.contains("//") {
            text = text.replace("//", "/");
        }
    }
    let resolved = remove_dot_segments(&text);
    match view.fold_case {
        true => resolved.to_lowercase(),
        false => resolved,
    }
}

/// RFC 3986 §5.2.4 on an absolute path, with `/` the only separator (the text is already decoded).
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

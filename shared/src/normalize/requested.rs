//! What a caller asked for: the normalized target and, for a `url` input, the rest of the URL as written
//! (path, query, fragment). The decision reads the tail for path rules and secrets-in-URL detection; it is
//! never stored, only a fingerprint of it.

use super::path::PathReadings;
use super::Target;

/// What follows the authority of a URL, exactly as the caller wrote it. The path is empty when the URL has
/// none (`https://host?q`); a client then sends `/`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlTail {
    path: String,
    query: Option<String>,
    fragment: Option<String>,
}

impl UrlTail {
    /// Splits `rest` (the text after the authority: empty or starting with `/`, `?` or `#`) the way every
    /// URL parser does: the fragment from the first `#`, the query from the first `?` before it.
    pub(super) fn parse(rest: &str) -> Self {
        let (before_fragment, fragment) = match rest.split_once('#') {
            Some((b, f)) => (b, Some(f.to_owned())),
            None => (rest, None),
        };
        let (path, query) = match before_fragment.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (before_fragment, None),
        };
        Self {
            path: path.to_owned(),
            query,
            fragment,
        }
    }

    /// The path as written, up to the first `?` or `#`; empty when the URL has none.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The text after the first `?` (before any `#`); `None` without a `?`, `Some("")` for a bare one.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    /// The text after the first `#`; `None` without a `#`. Clients never send it, but it may hold secrets.
    pub fn fragment(&self) -> Option<&str> {
        self.fragment.as_deref()
    }
}

/// The input of a decision: a target, with the tail of its URL when the caller gave one, or a tunnel.
#[derive(Debug, Clone, Copy)]
pub struct Requested<'r> {
    /// The normalized target the decision is about.
    pub target: &'r Target,
    /// The URL's tail as written; `None` for a `domain` input or a tunnel.
    pub tail: Option<&'r UrlTail>,
    /// A CONNECT tunnel: the path is unknown (whatever the tunnel will carry), so it is read every way.
    pub tunnel: bool,
}

impl<'r> Requested<'r> {
    /// A CONNECT tunnel to `target` (its path is `/` and stands for any path).
    pub fn tunnel(target: &'r Target) -> Self {
        Self {
            target,
            tail: None,
            tunnel: true,
        }
    }

    /// Every reading of the path a client or server may make (see [`PathReadings`]); for a tunnel, every
    /// path: path-limited restrictions apply to it and path-limited allows do not.
    pub fn path_readings(&self) -> PathReadings {
        if self.tunnel {
            return PathReadings::every_path();
        }
        let written = self.tail.map(UrlTail::path).filter(|p| !p.is_empty());
        PathReadings::new(self.target.path(), written)
    }
}

impl<'r> From<&'r Target> for Requested<'r> {
    fn from(target: &'r Target) -> Self {
        Self {
            target,
            tail: None,
            tunnel: false,
        }
    }
}

impl<'r> From<(&'r Target, &'r UrlTail)> for Requested<'r> {
    fn from((target, tail): (&'r Target, &'r UrlTail)) -> Self {
        Self {
            target,
            tail: Some(tail),
            tunnel: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_splits_like_a_url_parser() {
        let t = UrlTail::parse("/a/b?x=1?y#f?g#h");
        assert_eq!(
            (t.path(), t.query(), t.fragment()),
            ("/a/b", Some("x=1?y"), Some("f?g#h"))
        );
        let t = UrlTail::parse("#f?q");
        assert_eq!((t.path(), t.query(), t.fragment()), ("", None, Some("f?q")));
        let t = UrlTail::parse("?");
        assert_eq!((t.path(), t.query(), t.fragment()), ("", Some(""), None));
        assert_eq!(UrlTail::parse(""), UrlTail::default());
    }
}

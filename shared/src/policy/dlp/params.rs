//! Credential-named parameters (`db_password=…`, `apiSecret=…`, `"password":"…"`, `;jsessionid=…`): which
//! names name a credential, and which of their values are one.
//!
//! A name is read as words (snake, kebab and camel case; a leading `x-` dropped) and classed by how it ends:
//! - **strong**, a password or a secret whatever qualifies it (`*password`, `*passwd`, `*passphrase`,
//!   `*secret`), or a key or token of one (`secret_access_key`, `private_key`, `secret_token`):
//!   any value but a setting, a path or a trivial one (under 4 characters, or under 6 of one class);
//! - **generic**, a word also used for what is not a credential: `token` (not `page_token`, `next_token`,
//!   `csrf_token`: pagination and anti-forgery), `key` qualified as a credential (`api_key`, `access_key`;
//!   a bare `key` or `sort_key` is a lookup key), `auth`, `authorization`, `pass`, `pwd`, `pw`,
//!   `credential(s)`, `signature`, `sig`: 8 characters with a digit, capital or symbol, or 12 (an auth
//!   scheme such as `Basic …` always counts);
//! - **bearer**, the value of an authorization scheme: 8 characters;
//! - **session ids** (`jsessionid`, `session_id`, `PHPSESSID`, `ASPSESSIONID…`, `sid`): 16 characters. A bare
//!   `session` is left alone: `session=summer-2024` names a conference session far more often than a login.
//!
//! Not names: `pin` (a Pinterest pin, a map pin, pinning a tab; and a 4-6 digit PIN would be under every
//! length bar anyway) and `code` (OAuth callbacks, country and postal codes): both far too noisy.

use crate::normalize::fully_decoded;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Strong,
    Generic,
    Session,
    Bearer,
}

/// Whether `name=value` (or `"name":"value"`) passes a credential.
pub(super) fn is_credential(name: &str, value: &str) -> bool {
    kind(name).is_some_and(|k| credential_value(k, value))
}

/// The lowercase words of a name: split at `_`, `-`, `.` and camelCase humps (`AWSAccessKey`: aws, access,
/// key).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if matches!(c, '_' | '-' | '.') {
            out.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let hump = c.is_ascii_uppercase()
            && (prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(|p| p.is_ascii_uppercase()) && next.is_some_and(|n| n.is_ascii_lowercase())));
        if hump && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        word.push(c.to_ascii_lowercase());
    }
    out.extend((!word.is_empty()).then_some(word));
    out
}

/// Qualifiers of `token` that make it something other than a credential.
const NOT_CREDENTIAL_TOKENS: [&str; 14] = [
    "page",
    "next",
    "prev",
    "previous",
    "continuation",
    "cursor",
    "pagination",
    "sync",
    "resume",
    "csrf",
    "xsrf",
    "form",
    "max",
    "count",
];
/// Qualifiers of `key` that make it a credential.
const CREDENTIAL_KEYS: [&str; 20] = [
    "api",
    "access",
    "account",
    "auth",
    "signing",
    "encryption",
    "master",
    "subscription",
    "session",
    "security",
    "license",
    "app",
    "client",
    "consumer",
    "shared",
    "storage",
    "webhook",
    "admin",
    "service",
    "hmac",
];

fn kind(name: &str) -> Option<Kind> {
    let mut words = words(name);
    if words.len() > 1 && words[0] == "x" {
        words.remove(0); // headers as parameters: `x-api-key`, `X-Amz-Signature`
    }
    let last = words.last()?.as_str();
    if last == "bearer" {
        return Some(Kind::Bearer);
    }
    let all = words.concat();
    let ends = |list: &[&str]| list.iter().any(|w| all.ends_with(w));
    if ends(&["password", "passwd", "passphrase", "passcode", "secret", "secrets"]) {
        return Some(Kind::Strong);
    }
    if all.starts_with("aspsessionid") || ends(&["sessionid", "sessid"]) || last == "sid" {
        return Some(Kind::Session);
    }
    // A key or token of a secret (`secret_access_key`, `private_key`) is one.
    let of_secret = ["secret", "private", "password"].iter().any(|w| all.contains(w));
    for head in ["key", "token"] {
        let Some(qualifier) = all.strip_suffix(head) else {
            continue;
        };
        if of_secret {
            return Some(Kind::Strong);
        }
        let credential = match head {
            "key" => CREDENTIAL_KEYS.iter().any(|q| qualifier.ends_with(q)),
            _ => !NOT_CREDENTIAL_TOKENS.iter().any(|q| qualifier.ends_with(q)),
        };
        return credential.then_some(Kind::Generic);
    }
    // Whole words only: `bypass`, `compass` and `oauth` are not `pass` or `auth`.
    const GENERIC: [&str; 9] = [
        "auth",
        "authorization",
        "pass",
        "pwd",
        "pw",
        "credential",
        "credentials",
        "signature",
        "sig",
    ];
    GENERIC.contains(&last).then_some(Kind::Generic)
}

/// Settings and other values that credential-named parameters take and that are not credentials.
const SETTINGS: [&str; 18] = [
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "include",
    "omit",
    "same-origin",
    "null",
    "nil",
    "undefined",
    "none",
    "required",
    "optional",
    "enabled",
    "disabled",
    "default",
];

/// Authorization schemes: `authorization=Basic …` passes what follows.
const SCHEMES: [&str; 6] = ["basic", "bearer", "token", "digest", "negotiate", "ntlm"];

/// Whether a credential-named parameter's value is a credential. Judged on the first 512 characters,
/// percent-decoded.
fn credential_value(kind: Kind, value: &str) -> bool {
    let value = match value.char_indices().nth(512) {
        Some((cut, _)) => &value[..cut],
        None => value,
    };
    // Form reading: a raw `+` is a space. A strong name's value is taken whole (a passphrase has spaces);
    // others up to the first space, unless it follows an authorization scheme.
    let decoded = fully_decoded(value);
    let mut pieces = decoded.split(|c: char| c == '+' || c.is_whitespace());
    let first = pieces.next().unwrap_or_default();
    let rest: usize = pieces.map(str::len).sum();
    if rest > 0 && SCHEMES.iter().any(|s| first.eq_ignore_ascii_case(s)) {
        return rest >= 8;
    }
    let judged = match kind {
        Kind::Strong => decoded.trim(),
        Kind::Generic | Kind::Session | Kind::Bearer => first,
    };
    if not_a_credential(judged) {
        return false;
    }
    let len = judged.chars().count();
    let has = |class: fn(&char) -> bool| judged.chars().any(|c| class(&c));
    let classes = [
        has(char::is_ascii_lowercase),
        has(char::is_ascii_uppercase),
        has(char::is_ascii_digit),
        has(|c| !c.is_ascii_alphanumeric()),
    ];
    let varied = classes.iter().filter(|&&b| b).count() >= 2;
    // A digit, a capital or a symbol.
    let other = classes[1..].iter().any(|&b| b);
    match kind {
        Kind::Strong => len >= 6 || (len >= 4 && varied),
        Kind::Generic => len >= 12 || (len >= 8 && other),
        Kind::Session => len >= 16,
        Kind::Bearer => len >= 8,
    }
}

/// Empty, a setting word, a path (`/usr/lib`, `~/src/app`, `./a/b`: a second `/` after the start), a
/// placeholder filling the whole value (`{password}`, `{{ token }}`, `<your-api-key>`, `${DB_PASSWORD}`,
/// `%PASSWORD%`, `%s`) or a mask (`****`). A prefix alone exempts nothing: `/hunter22x`, `{hunter22x}`,
/// `${hunter22x` and `%shunter22x` are credentials.
fn not_a_credential(v: &str) -> bool {
    v.is_empty()
        || SETTINGS.iter().any(|s| v.eq_ignore_ascii_case(s))
        || is_path(v)
        || v == "%s"
        || placeholder(v)
        || v.chars().all(|c| c == '*')
}

/// A file path: a start (`/`, `~/`, `./`, `../`) and, after it, another `/` with something between.
fn is_path(v: &str) -> bool {
    ["../", "./", "~/", "/"]
        .iter()
        .find_map(|p| v.strip_prefix(p))
        .and_then(|rest| rest.find('/'))
        .is_some_and(|at| at > 0)
}

/// Words a placeholder's name may hold besides credential words (`<your-value-here>`).
const PLACEHOLDER_WORDS: [&str; 8] = [
    "your",
    "my",
    "value",
    "here",
    "placeholder",
    "redacted",
    "hidden",
    "masked",
];

/// A placeholder: the whole value one wrapping (`{…}`, `{{…}}`, `${…}`, `<…>`, `%…%`) around a name made of
/// letters and `_`, `-`, `.` or spaces (no digits: `{hunter22x}` is a credential in braces) that names a
/// credential or says it is a placeholder (`{password}`, `<YOUR_TOKEN>`, `{value}`).
fn placeholder(v: &str) -> bool {
    let inner = [("${", "}"), ("{{", "}}"), ("{", "}"), ("<", ">"), ("%", "%")]
        .iter()
        .find_map(|(open, close)| v.strip_prefix(open)?.strip_suffix(close));
    let Some(inner) = inner.map(str::trim) else {
        return false;
    };
    let name_like = !inner.is_empty()
        && inner.len() <= 64
        && inner
            .chars()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '-' | '.' | ' '));
    let inner = inner.replace(' ', "_");
    name_like && (kind(&inner).is_some() || words(&inner).iter().any(|w| PLACEHOLDER_WORDS.contains(&w.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_words_and_class_by_their_end() {
        assert_eq!(words("AWSAccessKeyId"), ["aws", "access", "key", "id"]);
        assert_eq!(words("x-api-key"), ["x", "api", "key"]);
        assert_eq!(words("apiSecret"), ["api", "secret"]);
        for (name, want) in [
            ("db_password", Some(Kind::Strong)),
            ("SecretAccessKey", Some(Kind::Strong)),
            ("secret_access_key", Some(Kind::Strong)),
            ("consumer_secret", Some(Kind::Strong)),
            ("privateKey", Some(Kind::Strong)),
            ("oauth_token", Some(Kind::Generic)),
            ("X-Amz-Signature", Some(Kind::Generic)),
            ("X-Goog-Credential", Some(Kind::Generic)),
            ("x-api-key", Some(Kind::Generic)),
            ("auth", Some(Kind::Generic)),
            ("JSESSIONID", Some(Kind::Session)),
            ("PHPSESSID", Some(Kind::Session)),
            ("ASPSESSIONIDQQGGGNCG", Some(Kind::Session)),
            ("session_id", Some(Kind::Session)),
            ("api.key", Some(Kind::Generic)),
            ("client.secret", Some(Kind::Strong)),
            ("user_pw", Some(Kind::Generic)),
            ("bearer", Some(Kind::Bearer)),
            ("x-bearer", Some(Kind::Bearer)),
            ("passcode", Some(Kind::Strong)),
            ("pin", None),
            ("npw", None),
            ("page_token", None),
            ("nextPageToken", None),
            ("csrf_token", None),
            ("key", None),
            ("sort_key", None),
            ("public_key", None),
            ("oauth", None),
            ("bypass", None),
            ("session", None),
            ("access_key_id", None),
        ] {
            assert_eq!(kind(name), want, "{name}");
        }
    }

    #[test]
    fn only_whole_paths_and_placeholders_are_exempt() {
        for v in [
            "/home/user",
            "~/src/app",
            "./a/b",
            "../a/b",
            "{password}",
            "{{ token }}",
            "${DB_PASSWORD}",
        ] {
            assert!(not_a_credential(v), "{v}");
        }
        for v in ["<your-api-key>", "%PASSWORD%", "%s", "{value}", "********"] {
            assert!(not_a_credential(v), "{v}");
        }
        for v in [
            "/hunter22x",
            "//hunter",
            "./hunter22x",
            "~hunter",
            "{hunter22x}",
            "<hunter22x>",
            "${hunter22x",
        ] {
            assert!(!not_a_credential(v), "{v}");
        }
        for v in [
            "${hunter22x}",
            "{hunter",
            "%shunter22x",
            "{dragonfly}",
            "{password}x",
            "x{password}",
        ] {
            assert!(!not_a_credential(v), "{v}");
        }
    }
}

//! Principal patterns (zone members, auditors): exact, `prefix*` ending at a separator, `account:<id>`,
//! `org:<id>`, or `*`; compiled into a set that answers "is this subject in it?".

use std::collections::HashSet;

/// Who a decision is for: the principal, and the account and organization the authorizer vouched for
/// (`account:` and `org:` patterns match on those, never on text the caller chose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    /// The caller's principal, matched by exact and `prefix*` patterns.
    pub principal: &'a str,
    /// The AWS account the authorizer reported, matched by `account:` patterns.
    pub account: Option<&'a str>,
    /// The AWS Organizations id the authorizer reported, matched by `org:` patterns.
    pub org: Option<&'a str>,
}

impl<'a> From<&'a str> for Subject<'a> {
    fn from(principal: &'a str) -> Self {
        Self {
            principal,
            account: None,
            org: None,
        }
    }
}

impl<'a> From<&'a String> for Subject<'a> {
    fn from(principal: &'a String) -> Self {
        Self::from(principal.as_str())
    }
}

/// A principal pattern: exact, `prefix*`, `account:<id>`, `org:<id>`, or `*`.
#[derive(Debug, Clone)]
enum PrincipalPattern {
    Exact(String),
    Prefix(String),
    Account(String),
    Org(String),
}

#[derive(Debug, Clone, Default)]
pub(super) struct PrincipalSet {
    everyone: bool,
    exact: HashSet<String>,
    prefixes: Vec<String>,
    accounts: HashSet<String>,
    orgs: HashSet<String>,
}

impl PrincipalSet {
    pub(super) fn contains(&self, who: Subject<'_>) -> bool {
        self.everyone
            || self.exact.contains(who.principal)
            || self.prefixes.iter().any(|p| who.principal.starts_with(p.as_str()))
            || who.account.is_some_and(|a| self.accounts.contains(a))
            || who.org.is_some_and(|o| self.orgs.contains(o))
    }
}

/// Whether a principal list may say `*`: zone members may (an open zone), auditors may not (everyone
/// reading everyone's audit trail is never what a policy means).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Everyone {
    Allowed,
    Refused,
}

pub(super) fn compile_principals(
    at: &str,
    patterns: &[String],
    everyone: Everyone,
    problems: &mut Vec<String>,
) -> PrincipalSet {
    let mut set = PrincipalSet::default();
    for (i, p) in patterns.iter().enumerate() {
        match parse_principal_pattern(p) {
            Ok(None) if everyone == Everyone::Refused => problems.push(format!(
                "{at}[{i}]: `*` (everyone) is not allowed here; name the principals or a prefix"
            )),
            Ok(None) => set.everyone = true,
            Ok(Some(PrincipalPattern::Exact(e))) => {
                set.exact.insert(e);
            }
            Ok(Some(PrincipalPattern::Prefix(pre))) => set.prefixes.push(pre),
            Ok(Some(PrincipalPattern::Account(a))) => {
                set.accounts.insert(a);
            }
            Ok(Some(PrincipalPattern::Org(o))) => {
                set.orgs.insert(o);
            }
            Err(msg) => problems.push(format!("{at}[{i}]: `{p}`: {msg}")),
        }
    }
    set
}

/// Characters a prefix pattern may end with: the separators of ARNs, IAM names and e-mail-like subjects.
/// A prefix that ends inside a word (`role/agent*`) silently grants every name that merely starts alike.
const PREFIX_BOUNDARIES: [char; 9] = ['-', '_', '/', ':', '.', '@', '+', '=', ','];

/// `Ok(None)` is the `*` pattern (everyone).
fn parse_principal_pattern(p: &str) -> Result<Option<PrincipalPattern>, &'static str> {
    if p == "*" {
        return Ok(None);
    }
    if !crate::names::valid_principal(p) {
        return Err("empty, longer than a principal can be, or contains whitespace or control characters");
    }
    if let Some(account) = p.strip_prefix("account:") {
        return match crate::identity::is_account_id(account) {
            true => Ok(Some(PrincipalPattern::Account(account.to_owned()))),
            false => Err("`account:` takes a 12-digit AWS account id"),
        };
    }
    if let Some(org) = p.strip_prefix("org:") {
        return match crate::identity::is_org_id(org) {
            true => Ok(Some(PrincipalPattern::Org(org.to_owned()))),
            false => Err("`org:` takes an AWS Organizations id (`o-` and 10-32 lowercase letters or digits)"),
        };
    }
    if p.contains(":assumed-role/") {
        return Err(
            "write the role, `arn:aws:iam::<account>:role/<name>`: a caller's assumed-role session is \
                    recorded but never authorizes (any holder of the role chooses its name)",
        );
    }
    if let Some((_, role)) = p.split_once(":role/") {
        if role.trim_end_matches('*').contains('/') {
            return Err(
                "role patterns are written without a role path: an assumed-role ARN (what IAM callers \
                        present) carries none, so `role/path/name` would never match; write `role/name`",
            );
        }
    }
    let star_count = p.matches('*').count();
    match (star_count, p.strip_suffix('*')) {
        (0, _) => Ok(Some(PrincipalPattern::Exact(p.to_owned()))),
        (1, Some(prefix)) if prefix.ends_with(PREFIX_BOUNDARIES) => {
            Ok(Some(PrincipalPattern::Prefix(prefix.to_owned())))
        }
        (1, Some(_)) => Err(
            "a prefix pattern must end at a separator (one of - _ / : . @ + = ,) before the `*`, so that \
             `role/agent*` cannot also match `role/agentsmith`: write `role/agent-*`",
        ),
        _ => Err("`*` is only allowed once, as the last character (a prefix pattern)"),
    }
}

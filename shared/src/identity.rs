//! Who the caller is, from what API Gateway's authorizer says: the principal policy decides for, and the
//! identity recorded with every request and event.
//!
//! IAM callers on Lambda, ECS, EC2 and SSO sign with role credentials, so API Gateway reports
//! `arn:aws:sts::<account>:assumed-role/<role>/<session>`. The principal is the role
//! (`arn:aws:iam::<account>:role/<role>`): the session name is chosen by whoever holds the role, so it is
//! recorded and never authorizes anything.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

crate::wire_enum::wire_enum! {
    pub enum IdentityKind in "lowercase" {
        Iam,
        Jwt,
        // The development header (`EGRESS_DEV_MODE=1` only).
        Dev,
    }
}

/// What the authorizer said about the caller: `iam` (principal = the IAM user, the role of an assumed-role
/// session, or the federated user), `jwt` (principal = `sub`) or `dev` (the local development header);
/// `null` where it said nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Identity {
    pub kind: IdentityKind,
    /// Assumed-role session name (recorded, never authorizes)
    pub session: Option<String>,
    /// The caller's AWS account (IAM `accountId`)
    #[schemars(regex(pattern = "^[0-9]{12}$"))]
    pub account: Option<String>,
    /// The caller's AWS Organizations id (IAM `principalOrgId`)
    pub org: Option<String>,
}

impl Identity {
    pub fn dev() -> Self {
        Self {
            kind: IdentityKind::Dev,
            session: None,
            account: None,
            org: None,
        }
    }
}

/// The partitions whose ARNs we accept.
const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

/// An IAM caller as policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamPrincipal {
    /// The IAM user, the federated user, or the role of an assumed-role session.
    pub principal: String,
    /// The assumed-role session name.
    pub session: Option<String>,
}

/// An IAM `userArn` as a principal and the session name, or `None` for anything that is not an IAM user,
/// an assumed role or a federated user (the caller then has no principal: 401).
pub fn iam_principal(user_arn: &str) -> Option<IamPrincipal> {
    let as_is = || IamPrincipal {
        principal: user_arn.to_owned(),
        session: None,
    };
    let mut parts = user_arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if !PARTITIONS.contains(&partition) || !is_account_id(account) {
        return None;
    }
    let named = |rest: &str| !rest.is_empty() && !rest.starts_with('/') && !rest.ends_with('/');
    match service {
        "sts" => {
            if let Some(rest) = resource.strip_prefix("assumed-role/") {
                // Role names carry no `/`; the session name is everything after the role.
                let (role, session) = rest.split_once('/')?;
                return (!role.is_empty() && !session.is_empty()).then(|| IamPrincipal {
                    principal: format!("arn:{partition}:iam::{account}:role/{role}"),
                    session: Some(session.to_owned()),
                });
            }
            let name = resource.strip_prefix("federated-user/")?;
            named(name).then(as_is)
        }
        "iam" => {
            let name = resource.strip_prefix("user/")?;
            named(name).then(as_is)
        }
        _ => None,
    }
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `o-` and 10 to 32 lowercase letters or digits (the AWS Organizations id format).
pub fn is_org_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|r| {
        (10..=32).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// JWT scopes: the union of `authorizer.jwt.scopes` (API Gateway fills it only for routes that declare
/// scopes), the `scope` claim (space-separated, RFC 8693) and the `scp` claim (Okta, Entra: an array,
/// which API Gateway renders as `[a b]`, or a space-separated string). Sorted, without duplicates.
pub fn jwt_scopes(scopes: Option<&[String]>, scope_claim: Option<&str>, scp_claim: Option<&str>) -> Vec<String> {
    let scp = scp_claim.map(|s| {
        let s = s.trim();
        s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(s)
    });
    let mut all: Vec<String> = scopes
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .chain(scope_claim.into_iter().flat_map(str::split_whitespace))
        .chain(
            scp.into_iter()
                .flat_map(|s| s.split([' ', ',']).filter(|p| !p.is_empty())),
        )
        .map(|s| s.trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    all.sort();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_arns() {
        let p = |principal: &str, session: Option<&str>| {
            Some(IamPrincipal {
                principal: principal.to_owned(),
                session: session.map(str::to_owned),
            })
        };
        let role = |s: &str| p("arn:aws:iam::123456789012:role/agent-runner", Some(s));
        let cases: &[(&str, Option<IamPrincipal>)] = &[
            // Lambda: the session is the function name; ECS: the task id; EC2: the instance id; SSO: the user.
            (
                "arn:aws:sts::123456789012:assumed-role/agent-runner/agent-fn",
                role("agent-fn"),
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/agent-runner/8f3c2a1b9d",
                role("8f3c2a1b9d"),
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/agent-runner/i-0abc123def4567890",
                role("i-0abc123def4567890"),
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/agent-runner/alice@example.com",
                role("alice@example.com"),
            ),
            (
                "arn:aws-us-gov:sts::123456789012:assumed-role/r/s",
                p("arn:aws-us-gov:iam::123456789012:role/r", Some("s")),
            ),
            (
                "arn:aws:iam::123456789012:user/division/alice",
                p("arn:aws:iam::123456789012:user/division/alice", None),
            ),
            (
                "arn:aws:sts::123456789012:federated-user/bob",
                p("arn:aws:sts::123456789012:federated-user/bob", None),
            ),
            ("arn:aws:sts::123456789012:assumed-role/agent-runner", None),
            ("arn:aws:sts::123456789012:assumed-role//s", None),
            ("arn:aws:iam::123456789012:root", None),
            ("arn:aws:iam::123456789012:role/agent-runner", None),
            ("arn:aws:iam::1234567890:user/Admin", None),
            ("arn:aws:iam:us-east-1:123456789012:user/a", None),
            ("arn:evil:iam::123456789012:user/a", None),
            ("arn:aws:s3:::bucket", None),
            ("alice", None),
            ("", None),
        ];
        for (arn, want) in cases {
            assert_eq!(iam_principal(arn), *want, "{arn}");
        }
    }

    #[test]
    fn scopes_are_the_union_of_every_source() {
        let from = |scopes: Option<&[String]>, scope: Option<&str>, scp: Option<&str>| jwt_scopes(scopes, scope, scp);
        assert_eq!(
            from(None, Some("openid egress:audit"), None),
            ["egress:audit", "openid"]
        );
        assert_eq!(
            from(None, None, Some("[egress:audit egress:approve]")),
            ["egress:approve", "egress:audit"]
        );
        assert_eq!(from(None, None, Some("egress:audit")), ["egress:audit"]);
        let declared = ["a".to_owned()];
        assert_eq!(from(Some(&declared), Some("b a"), Some("[c]")), ["a", "b", "c"]);
        assert!(from(None, None, None).is_empty());
    }

    #[test]
    fn ids() {
        assert!(is_account_id("123456789012") && !is_account_id("12345678901") && !is_account_id("12345678901a"));
        assert!(
            is_org_id("o-a1b2c3d4e5") && !is_org_id("o-short") && !is_org_id("AwsOrgId") && !is_org_id("o-A1B2C3D4E5")
        );
    }
}

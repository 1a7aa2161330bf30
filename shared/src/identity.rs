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
    /// How the caller authenticated: with AWS credentials, with a JWT, or by the development header.
    pub enum IdentityKind in "lowercase" {
        /// Signed with AWS credentials (SigV4); the principal comes from `userArn` or a Cognito identity.
        Iam,
        /// A JWT the authorizer validated; the principal is its `sub`.
        Jwt,
        /// The development header (`EGRESS_DEV_MODE=1` only).
        Dev,
    }
}

/// What the authorizer said about the caller: `iam` (principal = the IAM user, the role of an assumed-role
/// session, or the federated user), `jwt` (principal = `sub`) or `dev` (the local development header);
/// `null` where it said nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Identity {
    /// How the caller authenticated, and so what its principal is
    pub kind: IdentityKind,
    /// Assumed-role session name (recorded, never authorizes)
    pub session: Option<String>,
    /// The caller's AWS account (IAM `accountId`)
    #[schemars(regex(pattern = "^[0-9]{12}$"))]
    pub account: Option<String>,
    /// The caller's AWS Organizations id (IAM `principalOrgId`)
    pub org: Option<String>,
    /// The enforcer (the proxy's principal) that asked on this principal's behalf with a proxy token;
    /// absent when the principal asked itself
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The proxy token's id (`jti`) when an enforcer asked with one (the token itself is never recorded)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
}

impl Identity {
    /// A `dev` identity with nothing else known: the development header's caller, and the base that
    /// other identities fill in (`..Identity::dev()`).
    pub fn dev() -> Self {
        Self {
            kind: IdentityKind::Dev,
            session: None,
            account: None,
            org: None,
            via: None,
            token_id: None,
        }
    }
}

/// An AWS Organizations id: `o-` and 10 to 32 lowercase letters or digits
/// (<https://docs.aws.amazon.com/organizations/latest/APIReference/API_Organization.html>, `Id`). What the
/// IAM authorizer reports as `principalOrgId` and what `aws:PrincipalOrgID` conditions compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationId(String);

impl OrganizationId {
    /// The id, when `value` is one; anything else (blank, another case, another shape) is `None`.
    pub fn parse(value: &str) -> Option<Self> {
        is_org_id(value).then(|| Self(value.to_owned()))
    }

    /// The id as AWS writes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The role-name prefix AWS IAM Identity Center gives the roles of permission sets
/// (<https://docs.aws.amazon.com/singlesignon/latest/userguide/using-service-linked-roles.html>: roles
/// `AWSReservedSSO_<permission set>_<hash>` under the reserved path `/aws-reserved/sso.amazonaws.com/`).
/// Only Identity Center can create or assume them (their trust policy names its SAML provider, and IAM
/// refuses other roles under the reserved path), and it sets the session name to the directory user's
/// user name: there, unlike anywhere else, the session name is evidence of who the person is.
pub const IDENTITY_CENTER_ROLE_PREFIX: &str = "AWSReservedSSO_";

/// The person behind a caller, by evidence the gateway can trust, for four-eyes checks: two callers with
/// the same person are one person, whatever principal each presents. Trusted evidence:
/// - an IAM Identity Center role session: the session name (the directory user, set by AWS, compared
///   without case: Identity Center user names are unique regardless of case), whichever permission set or
///   account the role belongs to;
/// - otherwise the principal itself (an IAM user, a role, a federated user, a JWT `sub`, a Cognito
///   identity): a session name the caller chose, or a federated user's name, proves nothing.
pub fn person(principal: &str, identity: &Identity) -> String {
    let sso_role = principal
        .split_once(":role/")
        .is_some_and(|(_, role)| role.starts_with(IDENTITY_CENTER_ROLE_PREFIX));
    match (identity.kind, sso_role, identity.session.as_deref()) {
        (IdentityKind::Iam, true, Some(user)) => format!("identity-center:{}", user.to_lowercase()),
        _ => format!("principal:{principal}"),
    }
}

/// The principal of an Amazon Cognito identity-pool caller: every user of a pool signs with the pool's
/// role, so the role names the pool, not the user. API Gateway reports the identity (`cognitoIdentity`:
/// `identityPoolId`, `identityId`, set by AWS from the credentials), and the principal is
/// `cognito:<identityPoolId>/<identityId>`: one per user, so lists, grants, idempotency keys and rate
/// limits are per user; `cognito:<identityPoolId>/*` names every user of a pool in a policy.
pub fn cognito_principal(identity_pool_id: &str, identity_id: &str) -> Option<String> {
    // Both are `<region>:<uuid>` (<https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetId.html>).
    let valid = |id: &str| {
        id.split_once(':').is_some_and(|(region, uuid)| {
            !region.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !uuid.is_empty()
                && uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        })
    };
    (valid(identity_pool_id) && valid(identity_id)).then(|| format!("cognito:{identity_pool_id}/{identity_id}"))
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

/// 12 ASCII digits (the AWS account id format).
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
    fn organization_ids() {
        for ok in ["o-a1b2c3d4e5", "o-abcdefghij0123456789abcdefghij01"] {
            assert_eq!(
                OrganizationId::parse(ok).map(|o| o.as_str().to_owned()),
                Some(ok.to_owned())
            );
        }
        for bad in [
            "",
            "o-",
            "o-a1b2c3d4e",                         // 9: too short
            "o-abcdefghij0123456789abcdefghij012", // 33: too long
            "O-a1b2c3d4e5",
            "o-A1B2C3D4E5",
            " o-a1b2c3d4e5",
            "o-a1b2c3d4e5 ",
            "o-a1b2c3-4e5",
            "r-a1b2c3d4e5",
            "*",
        ] {
            assert_eq!(OrganizationId::parse(bad), None, "{bad:?}");
        }
    }

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
    fn one_person_through_any_identity_center_permission_set() {
        let iam = |session: &str| Identity {
            kind: IdentityKind::Iam,
            session: Some(session.to_owned()),
            account: Some("123456789012".into()),
            org: None,
            via: None,
            token_id: None,
        };
        let dev = "arn:aws:iam::123456789012:role/AWSReservedSSO_Developer_0123456789abcdef";
        let approver = "arn:aws:iam::210987654321:role/AWSReservedSSO_EgressApprover_fedcba9876543210";
        let alice = person(dev, &iam("alice@example.com"));
        assert_eq!(alice, person(approver, &iam("alice@example.com")));
        assert_eq!(alice, person(approver, &iam("Alice@Example.com")));
        assert_ne!(alice, person(approver, &iam("bob@example.com")));
        // A session name on any other role is the caller's choice: no evidence, the principal decides.
        let agent = "arn:aws:iam::123456789012:role/agent-runner";
        assert_ne!(person(agent, &iam("alice@example.com")), alice);
        assert_ne!(
            person(agent, &iam("alice@example.com")),
            person("arn:aws:iam::123456789012:role/other", &iam("alice@example.com"))
        );
        // Not a role named like one: the prefix must start the role name.
        let lookalike = "arn:aws:iam::123456789012:role/MyAWSReservedSSO_x";
        assert_ne!(person(lookalike, &iam("alice@example.com")), alice);
        // A JWT or dev caller is its principal.
        let jwt = Identity {
            kind: IdentityKind::Jwt,
            ..Identity::dev()
        };
        assert_eq!(person("alice", &jwt), person("alice", &Identity::dev()));
    }

    #[test]
    fn cognito_identities_are_principals_of_their_own() {
        let pool = "us-east-1:11111111-2222-3333-4444-555555555555";
        let a = cognito_principal(pool, "us-east-1:aaaaaaaa-0000-0000-0000-000000000001");
        let b = cognito_principal(pool, "us-east-1:aaaaaaaa-0000-0000-0000-000000000002");
        assert_eq!(
            a.as_deref(),
            Some(
                "cognito:us-east-1:11111111-2222-3333-4444-555555555555/us-east-1:aaaaaaaa-0000-0000-0000-000000000001"
            )
        );
        assert_ne!(a, b);
        for (p, i) in [
            (pool, ""),
            ("", "us-east-1:aaaa"),
            (pool, "us-east-1:aaaa/../x"),
            (pool, "us-east-1:aa aa"),
            (pool, "aaaa"),
            ("us-east-1:*", "us-east-1:aaaa"),
        ] {
            assert_eq!(cognito_principal(p, i), None, "{p} {i}");
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

//! Who is calling: the principal and identity from API Gateway's authorizer context (IAM or JWT), or, in
//! development mode only, from the `X-Egress-Principal` header. Never from the body.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::identity::{cognito_principal, OrganizationId};
use crate::names::valid_principal;
use crate::problem::Problem;
use crate::{
    identity::{iam_principal, is_account_id, jwt_scopes, IamPrincipal, Identity, IdentityKind},
    policy::Subject,
};

/// The development principal header (`EGRESS_DEV_MODE=1` only, and only without an authorizer context).
pub const PRINCIPAL_HEADER: &str = "x-egress-principal";

/// The authenticated caller. Never read from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who policy decides for: an IAM user, role (never its session) or federated user, a Cognito
    /// identity, a JWT `sub`, or the development header's value.
    pub principal: String,
    /// What the authorizer said about the caller, recorded with every request.
    pub identity: Identity,
    /// JWT scopes, when the JWT authorizer is in use (`egress:audit` grants auditor rights).
    pub scopes: Vec<String>,
}

impl Caller {
    /// Who policy decides for: the principal, and the account and organization the authorizer reported.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            principal: &self.principal,
            account: self.identity.account.as_deref(),
            org: self.identity.org.as_deref(),
        }
    }
}

/// The caller from the API Gateway authorizer context (DESIGN "Identity"): an IAM user, assumed role
/// (principal: the role) or federated user, or a JWT `sub`; with `dev_mode` only, and only when no
/// authorizer context exists, the `X-Egress-Principal` header. `None` is a 401.
pub fn caller(req: &Request, dev_mode: bool) -> Option<Caller> {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(auth) = &ctx.authorizer {
            if let Some(iam) = &auth.iam {
                let IamPrincipal { principal, session } = iam_principal(iam.user_arn.as_deref()?)?;
                // A Cognito identity-pool caller is its identity, not the pool's shared role. An identity
                // AWS reported but we cannot read is no principal (401), never the shared role.
                let principal = match &iam.cognito_identity {
                    Some(c) if c.identity_id.is_some() || c.identity_pool_id.is_some() => cognito_principal(
                        c.identity_pool_id.as_deref().unwrap_or_default(),
                        c.identity_id.as_deref().unwrap_or_default(),
                    )?,
                    _ => principal,
                };
                let attested = |v: &Option<String>| v.clone().filter(|v| valid_principal(v) && v.len() <= 64);
                return valid_principal(&principal).then(|| Caller {
                    principal,
                    identity: Identity {
                        kind: IdentityKind::Iam,
                        session: session.filter(|s| valid_principal(s)),
                        account: iam.account_id.clone().filter(|a| is_account_id(a)),
                        org: attested(&iam.principal_org_id),
                        via: None,
                        token_id: None,
                    },
                    scopes: Vec::new(),
                });
            }
            if let Some(jwt) = &auth.jwt {
                let sub = jwt.claims.get("sub")?;
                let claim = |name: &str| jwt.claims.get(name).map(String::as_str);
                return valid_principal(sub).then(|| Caller {
                    principal: sub.clone(),
                    identity: Identity {
                        kind: IdentityKind::Jwt,
                        ..Identity::dev()
                    },
                    scopes: jwt_scopes(jwt.scopes.as_deref(), claim("scope"), claim("scp")),
                });
            }
        }
    }
    if !dev_mode {
        return None;
    }
    let mut values = req.headers().get_all(PRINCIPAL_HEADER).iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None; // two principals is no principal
    }
    valid_principal(value).then(|| Caller {
        principal: value.to_owned(),
        identity: Identity::dev(),
        scopes: Vec::new(),
    })
}

/// The account that owns the API or function the request came through (`requestContext.accountId`:
/// the HTTP API's account, or the function URL's owner), as AWS set it.
pub fn owner_account(req: &Request) -> Option<&str> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.account_id.as_deref(),
        _ => None,
    }
}

/// The organization rule of the routes that callers in other accounts reach (DESIGN "Callers in other
/// accounts"): with `organization` set, an IAM caller from another account than `owner` (the gateway's,
/// [`owner_account`]) is served only when AWS reports it a member (`principalOrgId`); any other is a 403
/// before anything is read or written. The gateway's own account is never refused here: its callers (the
/// proxy's role, operators) reach the HTTP API as before, whether or not AWS reports an organization for
/// them. The function URLs' resource policy holds the same condition (`aws:PrincipalOrgID`), so this
/// refuses only what a misconfigured policy would let through. JWT and development callers have no
/// organization and are not concerned: JWTs come through the HTTP API's authorizer only, the header only
/// locally.
pub fn check_organization(
    caller: &Caller,
    organization: Option<&OrganizationId>,
    owner: Option<&str>,
) -> Result<(), Problem> {
    let Some(org) = organization else {
        return Ok(());
    };
    let identity = &caller.identity;
    let own_account = matches!((identity.account.as_deref(), owner), (Some(a), Some(o)) if a == o);
    if identity.kind != IdentityKind::Iam || own_account || identity.org.as_deref() == Some(org.as_str()) {
        return Ok(());
    }
    tracing::warn!(
        principal = %caller.principal,
        account = identity.account.as_deref().unwrap_or("-"),
        caller_org = identity.org.as_deref().unwrap_or("-"),
        "caller outside the organization: refused"
    );
    Err(Problem::forbidden(
        "the caller is outside the organization this gateway serves",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iam(org: Option<&str>) -> Caller {
        Caller {
            principal: "arn:aws:iam::210987654321:role/agent".into(),
            identity: Identity {
                kind: IdentityKind::Iam,
                account: Some("210987654321".into()),
                org: org.map(str::to_owned),
                ..Identity::dev()
            },
            scopes: Vec::new(),
        }
    }

    #[test]
    fn the_organization_rule() {
        let org = OrganizationId::parse("o-a1b2c3d4e5");
        let gateway = Some("123456789012");
        assert!(check_organization(&iam(Some("o-a1b2c3d4e5")), org.as_ref(), gateway).is_ok());
        for outside in [None, Some("o-zz9yx8wv7u"), Some("o-a1b2c3d4e5x"), Some("O-A1B2C3D4E5")] {
            let refused = check_organization(&iam(outside), org.as_ref(), gateway).map_err(|p| p.status);
            assert_eq!(refused, Err(403), "{outside:?}");
            // ... unless AWS says the owner is unknown: still refused (no exemption without both accounts).
            let refused = check_organization(&iam(outside), org.as_ref(), None).map_err(|p| p.status);
            assert_eq!(refused, Err(403), "{outside:?}");
        }
        // The gateway's own account is served whatever organization AWS reports for it.
        assert!(check_organization(&iam(None), org.as_ref(), Some("210987654321")).is_ok());
        // No organization set: the door does not refuse (the front door's own policy decides who arrives).
        assert!(check_organization(&iam(None), None, gateway).is_ok());
        // JWT and development callers have no organization to check.
        let mut jwt = iam(None);
        jwt.identity.kind = IdentityKind::Jwt;
        assert!(check_organization(&jwt, org.as_ref(), gateway).is_ok());
    }
}

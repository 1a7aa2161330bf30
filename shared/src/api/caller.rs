//! Who is calling: the principal and identity from API Gateway's authorizer context (IAM or JWT), or, in
//! development mode only, from the `X-Egress-Principal` header. Never from the body.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::identity::cognito_principal;
use crate::names::valid_principal;
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

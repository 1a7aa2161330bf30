//! Signing requests to the gateway's own API (IAM-authorized API Gateway routes) with SigV4
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html>): the
//! operators' CLI and the enforcing proxy's helper both call the API as an IAM principal.

use std::time::SystemTime;

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;

/// The service name API Gateway checks SigV4 signatures for.
pub const EXECUTE_API: &str = "execute-api";

/// Why a request could not be signed (the signing library's message: bad credentials, URL or region).
#[derive(Debug, thiserror::Error)]
#[error("the request could not be signed: {0}")]
pub struct SignError(String);

/// The SigV4 headers (`authorization`, `x-amz-date`, the session token) for a request to API Gateway in
/// `region`; `headers` are the request's other headers, signed too.
pub fn execute_api_headers(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    credentials: &aws_credential_types::Credentials,
    region: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, SignError> {
    let fail = |e: &dyn std::fmt::Display| SignError(e.to_string());
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(EXECUTE_API)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| fail(&e))?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| fail(&e))?;
    let (instructions, _signature) = sign(signable, &params).map_err(|e| fail(&e))?.into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigv4_signs_for_execute_api_in_the_region() {
        let creds = aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let url = "https://abc.execute-api.eu-west-1.amazonaws.com/v1/egress/approvals?state=pending";
        let signed = |body: &str| {
            execute_api_headers("POST", url, &[], body.as_bytes(), &creds, "eu-west-1", time).expect("signs")
        };
        let a = signed("{}");
        let auth = a
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20270115/eu-west-1/execute-api/aws4_request"),
            "{auth}"
        );
        assert!(a.iter().any(|(k, v)| k == "x-amz-date" && v == "20270115T080000Z"));
        assert!(a.iter().any(|(k, v)| k == "x-amz-security-token" && v == "token"));
        // The signature covers the body: another body, another signature.
        assert_ne!(a, signed(r#"{"decision":"deny"}"#));
        // ... and the other headers.
        let with_token = execute_api_headers(
            "POST",
            url,
            &[("x-egress-proxy-token".into(), "v4.public.x".into())],
            b"{}",
            &creds,
            "eu-west-1",
            time,
        )
        .expect("signs");
        assert_ne!(a, with_token);
    }
}

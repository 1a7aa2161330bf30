//! Signing requests to the gateway's own API with SigV4
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html>): the
//! operators' CLI and the enforcing proxy's helper both call the API as an IAM principal, through the
//! HTTP API (service `execute-api`) or, from another account of the organization, through a Lambda
//! function URL (service `lambda`, DESIGN §4 "Callers in other accounts").

use std::time::SystemTime;

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;

/// The service name API Gateway checks SigV4 signatures for.
pub const EXECUTE_API: &str = "execute-api";

/// The service name Lambda checks the SigV4 signatures of `AWS_IAM` function URLs for
/// (<https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html>).
pub const LAMBDA: &str = "lambda";

/// The service a request to `url` is signed for: [`LAMBDA`] for a Lambda function URL (host
/// `<url-id>.lambda-url.<region>.on.aws`), [`EXECUTE_API`] for anything else (the HTTP API, its custom
/// domain, the local stack).
pub fn service_for(url: &str) -> &'static str {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let mut labels = host.split('.');
    let is_function_url = matches!(
        (labels.next(), labels.next(), labels.next(), labels.next(), labels.next(), labels.next()),
        (Some(id), Some("lambda-url"), Some(region), Some("on"), Some("aws"), None)
            if !id.is_empty() && !region.is_empty()
    );
    if is_function_url {
        LAMBDA
    } else {
        EXECUTE_API
    }
}

/// Why a request could not be signed (the signing library's message: bad credentials, URL or region).
#[derive(Debug, thiserror::Error)]
#[error("the request could not be signed: {0}")]
pub struct SignError(String);

/// The SigV4 headers (`authorization`, `x-amz-date`, the session token) for a request to `url` in
/// `region`, signed for the service its host names ([`service_for`]: the HTTP API or a function URL);
/// `headers` are the request's other headers, signed too.
pub fn signed_headers(
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
        .name(service_for(url))
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
    fn function_urls_are_signed_for_lambda_and_everything_else_for_execute_api() {
        for url in [
            "https://k3xq7h2mzv5wbt4ynd6cjf8gpr2lsa9e.lambda-url.eu-west-1.on.aws/v1/egress/proxy-tokens",
            "https://K3XQ7H2MZV5WBT4YND6CJF8GPR2LSA9E.LAMBDA-URL.EU-WEST-1.ON.AWS",
        ] {
            assert_eq!(service_for(url), LAMBDA, "{url}");
        }
        for url in [
            "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/v1/egress/requests",
            "https://egress.example.com/",
            "http://127.0.0.1:9000",
            "https://x.lambda-url.eu-west-1.on.aws.example.com/",
            "https://lambda-url.eu-west-1.on.aws/",
            "not a url",
        ] {
            assert_eq!(service_for(url), EXECUTE_API, "{url}");
        }
    }

    #[test]
    fn sigv4_signs_for_execute_api_in_the_region() {
        let creds = aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let url = "https://abc.execute-api.eu-west-1.amazonaws.com/v1/egress/approvals?state=pending";
        let signed =
            |body: &str| signed_headers("POST", url, &[], body.as_bytes(), &creds, "eu-west-1", time).expect("signs");
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
        let with_token = signed_headers(
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

//! `egress-admin proxy token|env`: mint a proxy token for the caller, or print the environment that
//! routes an agent through the enforcing proxy with one (DESIGN §12).

use anyhow::bail;
use serde_json::{json, Value};

use crate::api::Api;
use crate::cli::{ApiOptions, ProxyCommand};
use crate::error::usage;

pub async fn run(options: &ApiOptions, as_json: bool, command: ProxyCommand) -> anyhow::Result<()> {
    let api = Api::connect(options).await?;
    match command {
        ProxyCommand::Token { ttl } => {
            let minted = mint(&api, ttl).await?;
            match as_json {
                true => println!("{}", serde_json::to_string_pretty(&minted)?),
                false => println!("{}", text(&minted["token"])?),
            }
        }
        ProxyCommand::Env { zone, proxy, ttl } => {
            if !egress_core::valid_zone_name(&zone) {
                return Err(usage("--zone: 1-64 characters of a-z, 0-9 and `-`").into());
            }
            let minted = mint(&api, ttl).await?;
            let url = proxy_url(&proxy, &zone, text(&minted["token"])?)?;
            match as_json {
                true => println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "HTTPS_PROXY": url, "HTTP_PROXY": url,
                        "token_id": minted["token_id"], "expires_at": minted["expires_at"],
                    }))?
                ),
                false => print!("{}", env_lines(&url, &minted)),
            }
        }
    }
    Ok(())
}

async fn mint(api: &Api, ttl: Option<u32>) -> anyhow::Result<Value> {
    let body = match ttl {
        Some(t) => json!({ "ttl_seconds": t }),
        None => json!({}),
    };
    api.post("/v1/egress/proxy-tokens", &body).await
}

fn text(v: &Value) -> anyhow::Result<&str> {
    v.as_str()
        .ok_or_else(|| anyhow::anyhow!("the API's answer has no token"))
}

/// `http://<zone>:<token>@<proxy host:port>`: the zone and token are the proxy credential (Basic auth on
/// the CONNECT). Both are made of URL-safe characters (a zone name, a PASETO token), checked here.
fn proxy_url(proxy: &str, zone: &str, token: &str) -> anyhow::Result<String> {
    let Some(authority) = proxy.strip_prefix("http://") else {
        return Err(usage("--proxy: an http:// URL (the proxy itself is plain HTTP; tunnels carry TLS)").into());
    };
    let authority = authority.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '@', '?', '#']) {
        return Err(usage("--proxy: http://host:port").into());
    }
    let safe = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    if !safe(token) {
        bail!("the token has characters that need escaping in a URL");
    }
    Ok(format!("http://{zone}:{token}@{authority}"))
}

/// Lines to `eval`: both spellings of each variable (curl reads only the lowercase `http_proxy`).
fn env_lines(url: &str, minted: &Value) -> String {
    let mut out = format!(
        "# proxy token {} for this shell, valid until {}\n",
        minted["token_id"].as_str().unwrap_or("?"),
        minted["expires_at"].as_str().unwrap_or("?")
    );
    for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        out.push_str(&format!("export {name}='{url}'\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_url_carries_zone_and_token() {
        assert_eq!(
            proxy_url("http://proxy.internal:3128/", "default", "v4.public.abc-_x").unwrap(),
            "http://default:v4.public.abc-_x@proxy.internal:3128"
        );
        for bad in [
            "https://p:3128",
            "http://",
            "http://u@p:3128",
            "p:3128",
            "http://p:3128/x",
        ] {
            assert!(proxy_url(bad, "default", "v4.public.a").is_err(), "{bad}");
        }
        assert!(proxy_url("http://p:3128", "default", "v4.public.a b").is_err());
        let lines = env_lines("http://z:t@p:3128", &json!({"token_id": "01J", "expires_at": "2026"}));
        assert!(lines.contains("export HTTPS_PROXY='http://z:t@p:3128'\n"));
        assert!(lines.contains("export http_proxy='http://z:t@p:3128'\n"));
    }
}

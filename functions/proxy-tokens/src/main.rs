//! POST /v1/egress/proxy-tokens, GET /v1/egress/proxy-keys. Thin: all logic is in
//! `egress_core::ProxyTokensService`.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    egress_core::init_telemetry();
    let service = Arc::new(egress_core::proxy_tokens_service().await?);
    lambda_http::run(service_fn(move |req: Request| {
        let service = Arc::clone(&service);
        async move {
            let id = egress_core::invocation_id(&req);
            Ok::<_, Infallible>(egress_core::in_invocation(&id, service.handle(req)).await)
        }
    }))
    .await
}

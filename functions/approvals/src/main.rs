//! GET /v1/egress/approvals[/{approval_id}], POST /v1/egress/approvals/{approval_id}/decision. Thin: all
//! logic is in `egress_core::ApprovalsService`.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    egress_core::init_telemetry();
    let service = Arc::new(egress_core::approvals_service().await?);
    lambda_http::run(service_fn(move |req: Request| {
        let service = Arc::clone(&service);
        async move {
            let id = egress_core::invocation_id(&req);
            Ok::<_, Infallible>(egress_core::in_invocation(&id, service.handle(req)).await)
        }
    }))
    .await
}

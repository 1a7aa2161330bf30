//! Logs for CloudWatch: the Lambda runtime's own subscriber, and the invocation each metric line belongs to.
//!
//! The runtime's subscriber honours Lambda's advanced logging controls: the level is
//! `AWS_LAMBDA_LOG_LEVEL` (the function's `ApplicationLogLevel`) unless `RUST_LOG` is set, whose directives
//! win (so the template sets none; the local stack sets `info`); JSON lines when `AWS_LAMBDA_LOG_FORMAT` is
//! `JSON` (the template's `LoggingConfig.LogFormat`). Each line names the invocation in `span.requestId`: the
//! runtime enters a span with the Lambda request id around every handler call.
//! <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html>

use std::future::Future;

/// Installs the runtime's subscriber, once per process (main calls it first).
pub fn init() {
    lambda_http::tracing::init_default_subscriber();
}

/// Runs one invocation's handler with its Lambda request id, which every metric line written meanwhile
/// carries as `requestId` (the field Lambda's own JSON lines use), so Logs Insights joins a data point
/// to the invocation's other lines.
pub async fn in_invocation<F: Future>(request_id: &str, handler: F) -> F::Output {
    crate::metrics::INVOCATION.scope(request_id.into(), handler).await
}

/// The Lambda request id of an HTTP API invocation (empty outside Lambda, e.g. in process tests).
pub fn invocation_id(req: &lambda_http::Request) -> String {
    use lambda_http::RequestExt;
    req.lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default()
}

//! The environment variables the functions read: one name each. The template sets them by these names
//! and the local stack takes the functions' environment from the template; `test_template.py` checks
//! that every name the template sets is one of these, and that the rest are marked "local only".

/// The table (every function but the publisher).
pub const TABLE: &str = "EGRESS_TABLE";
/// The event bus (publisher).
pub const BUS_NAME: &str = "EGRESS_BUS_NAME";
/// The policy as a local file; wins over the other sources (local only: the local stack, tests).
pub const POLICY_FILE: &str = "EGRESS_POLICY_FILE";
/// The policy as an SSM parameter (documents up to 8 KB).
pub const POLICY_PARAMETER: &str = "EGRESS_POLICY_PARAMETER";
/// The policy as an S3 object, `s3://bucket/key`.
pub const POLICY_S3_URI: &str = "EGRESS_POLICY_S3_URI";
/// The SSM parameter of the kill switch (create-request).
pub const KILL_SWITCH_PARAMETER: &str = "EGRESS_KILL_SWITCH_PARAMETER";
/// The cursor key itself (local only).
pub const CURSOR_KEY: &str = "EGRESS_CURSOR_KEY";
/// The Secrets Manager secret (id or ARN) holding the cursor key (the stack generates it).
pub const CURSOR_KEY_SECRET: &str = "EGRESS_CURSOR_KEY_SECRET";
/// The proxy-token secret itself (local only).
pub const PROXY_KEY: &str = "EGRESS_PROXY_KEY";
/// The Secrets Manager secret (id or ARN) the proxy-token keys derive from (the stack generates it).
pub const PROXY_KEY_SECRET: &str = "EGRESS_PROXY_KEY_SECRET";
/// The audience of proxy tokens: `<stack>-egress-proxy`.
pub const PROXY_AUDIENCE: &str = "EGRESS_PROXY_AUDIENCE";
/// Days a request row is kept before DynamoDB's TTL deletes it (`0` or unset: kept).
pub const REQUEST_RETENTION_DAYS: &str = "EGRESS_REQUEST_RETENTION_DAYS";
/// Lifetime of idempotency keys in seconds.
pub const IDEMPOTENCY_TTL_SECONDS: &str = "EGRESS_IDEMPOTENCY_TTL_SECONDS";
/// `1` enables the local principal header (local only: never set by the template).
pub const DEV_MODE: &str = "EGRESS_DEV_MODE";
/// The CloudWatch namespace of the functions' metrics (default `EgressGateway`).
pub const METRICS_NAMESPACE: &str = "EGRESS_METRICS_NAMESPACE";
/// The AWS Organizations id whose IAM callers the create-request and proxy-token routes serve when it is
/// set (`o-...`): an IAM caller from outside it is refused (403), whatever front door it came through.
/// Set by the template with the `OrganizationId` parameter, which also opens the function URLs to the
/// organization's accounts.
pub const ORGANIZATION_ID: &str = "EGRESS_ORGANIZATION_ID";

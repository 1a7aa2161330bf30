//! The HTTP API (API Gateway HTTP API, payload format 2.0): the services behind the routes, and their
//! plumbing (caller, responses, cursors).

mod approvals;
mod caller;
mod create;
mod cursor;
mod http;
mod list;
mod on_behalf;
mod params;
mod proxy_tokens;
mod roles;

pub use approvals::{ApprovalsPage, ApprovalsService};
pub use caller::{caller, check_organization, owner_account, Caller, PRINCIPAL_HEADER};
pub use create::{idempotency_key, CreateService, IDEMPOTENCY_HEADER, MAX_IDEMPOTENCY_KEY_LEN, REQUESTS_PATH};
pub use cursor::{query_binding, CursorCodec, CursorError, MIN_KEY_LEN};
pub use http::{body_bytes, is_json_content_type, json_response, respond};
pub use list::{parse_params, ListParams, ListService, RequestsPage};
pub use on_behalf::PROXY_TOKEN_HEADER;
pub use params::{DEFAULT_LIMIT, MAX_LIMIT};
pub use proxy_tokens::{ProxyKeysPage, ProxyTokensService, PROXY_KEYS_PATH, PROXY_TOKENS_PATH};
pub use roles::{approver_zones, approves, is_auditor, APPROVE_SCOPE, AUDIT_SCOPE};

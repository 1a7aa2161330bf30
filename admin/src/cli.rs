//! The command line: global connection options, then a command.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "egress-admin",
    version,
    about = "Operate the egress gateway: approvals, proxy tokens, the kill switch, redrive",
    after_help = crate::error::exit_code_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub api: ApiOptions,
    /// Print JSON instead of tables and sentences; an error is then a JSON object on stderr
    /// (`{"error": class, "message": ..., "exit_code": n, "hint": ...}`).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// How to reach the API and who to be.
#[derive(Debug, Args)]
pub struct ApiOptions {
    /// The API's base URL (default: the stack output ApiUrl with --stack, else http://127.0.0.1:9000, the
    /// local stack).
    #[arg(long, env = "EGRESS_API_URL", global = true)]
    pub api_url: Option<String>,
    /// Read the defaults of --api-url, --parameter, --queue-url, --table and --bus from this stack's
    /// outputs (ApiUrl, KillSwitchParameterName, PublishEventsDlqUrl, TableName, EventBusName);
    /// a flag or its environment variable wins.
    #[arg(long, env = "EGRESS_STACK", global = true)]
    pub stack: Option<String>,
    /// The stack's outputs, read once --stack is known (not a flag).
    #[arg(skip)]
    pub outputs: Option<crate::stack::Outputs>,
    /// How to authenticate. Default: bearer with --token, dev with --principal, else sigv4.
    #[arg(long, value_enum, global = true)]
    pub auth: Option<AuthMode>,
    /// A bearer token (AuthMode=JWT stacks).
    #[arg(long, env = "EGRESS_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// The principal to act as through the development header (local stacks in dev mode only).
    #[arg(long, env = "EGRESS_PRINCIPAL", global = true)]
    pub principal: Option<String>,
    /// The region to sign for (SigV4) and of the stack, parameter and queue; default: the AWS
    /// configuration's.
    #[arg(long, global = true)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// SigV4 with the default AWS credential chain (AuthMode=IAM stacks).
    Sigv4,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `X-Egress-Principal: <principal>` (EGRESS_DEV_MODE=1 only).
    Dev,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, show, grant, deny or wait for approvals.
    Approvals {
        #[command(subcommand)]
        command: ApprovalsCommand,
    },
    /// Mint a proxy token, or print the environment that routes an agent through the enforcing proxy.
    Proxy {
        #[command(subcommand)]
        command: ProxyCommand,
    },
    /// Read, engage or release the kill switch (its SSM parameter, with the caller's AWS credentials);
    /// `--wait` confirms the change through the API.
    KillSwitch(KillSwitchArgs),
    /// Re-publish the events of the stream batches in the publisher's on-failure queue.
    Redrive(RedriveArgs),
}

#[derive(Debug, Args)]
pub struct KillSwitchArgs {
    /// The kill-switch parameter (default with --stack: its output KillSwitchParameterName).
    #[arg(long, env = egress_core::env::KILL_SWITCH_PARAMETER)]
    pub parameter: Option<String>,
    #[command(subcommand)]
    pub command: KillSwitchCommand,
}

#[derive(Debug, Subcommand)]
pub enum KillSwitchCommand {
    /// Print the state: off, engaged (and why), or missing (which the gateway treats as engaged).
    Status,
    /// Deny every request, in every mode, within 5 s; the reason is kept in the gateway's logs. Refused
    /// when the parameter does not exist (a typo or another region would otherwise create a new one).
    Engage {
        /// Why (an incident id, a name): any text but `off`, at most 512 characters.
        reason: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Let requests be decided by the policy again (on a new stack, creates the parameter, off).
    Release {
        #[command(flatten)]
        wait: WaitArgs,
    },
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Confirm through the API within the documented 5 s: probe requests (recorded, purpose
    /// "egress-admin kill-switch probe") until 5 s after the flip, every one from some point on decided
    /// `kill_switch` after an engage, or anything else after a release. Exit 1 if not.
    #[arg(long)]
    pub wait: bool,
    /// The zone of the probe requests.
    #[arg(long, default_value = "default")]
    pub probe_zone: String,
    /// The host of the probe requests.
    #[arg(long, default_value = "example.com")]
    pub probe_domain: String,
}

#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// Mint a proxy token for the caller and print it (`--json`: token, token_id, expires_at).
    Token {
        /// Lifetime in seconds (1-3600; default 3600).
        #[arg(long)]
        ttl: Option<u32>,
    },
    /// Mint a token and print `export HTTPS_PROXY=...` lines (and the lowercase spellings) to `eval`.
    Env {
        /// The zone the agent asks in (the proxy credential's user name).
        #[arg(long)]
        zone: String,
        /// The enforcing proxy (stack output, or the local `make proxy`).
        #[arg(long, env = "EGRESS_PROXY_URL", default_value = "http://127.0.0.1:3128")]
        proxy: String,
        /// Lifetime of the token in seconds (1-3600; default 3600).
        #[arg(long)]
        ttl: Option<u32>,
    },
}

/// Talks to AWS directly with the default credential chain (SQS, S3, DynamoDB and its stream,
/// EventBridge), not to the API: an operator's tool.
#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// The on-failure queue (default with --stack: its output PublishEventsDlqUrl).
    #[arg(long, env = "EGRESS_PUBLISH_EVENTS_DLQ_QUEUE_URL")]
    pub queue_url: Option<String>,
    /// The requests table (default with --stack: its output TableName).
    #[arg(long, env = egress_core::env::TABLE)]
    pub table: Option<String>,
    /// The event bus (default with --stack: its output EventBusName).
    #[arg(long, env = egress_core::env::BUS_NAME)]
    pub bus: Option<String>,
    /// Show what each message would re-publish; publish nothing, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The failure bucket the publisher writes given-up batches to (default with --stack: its output
    /// PublishFailuresBucketName). Failure objects are read from this bucket only.
    #[arg(long, env = "EGRESS_PUBLISH_FAILURES_BUCKET")]
    pub bucket: Option<String>,
    /// After the queue, redrive every object left in the failure bucket too (objects whose message was
    /// lost: its event undeliverable, or the queue's 14 days past).
    #[arg(long)]
    pub scan_bucket: bool,
    /// Redrive a message even when its stream records are gone (past the stream's 24 h): requests are
    /// re-published from the table, approval decisions and expiries of that window are not. Only for
    /// messages without a failure object (a stack from before the failure bucket).
    #[arg(long)]
    pub table_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// List approvals, newest first (every page with --all).
    Ls {
        /// pending, granted, denied or expired.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        zone: Option<String>,
        /// Whose approvals (auditors; approvers within their zones).
        #[arg(long)]
        of: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Follow the cursors to the last page.
        #[arg(long)]
        all: bool,
    },
    /// Show one approval.
    Show { approval_id: String },
    /// Grant an approval: the next matching request (once) or every one until it expires (window).
    Grant {
        approval_id: String,
        #[arg(long, value_parser = ["once", "window"], default_value = "once")]
        scope: String,
        /// How long the grant lasts, in seconds (default: an hour, at most the zone's limit).
        #[arg(long)]
        ttl: Option<u32>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Deny an approval.
    Deny {
        approval_id: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Wait until an approval leaves `pending` and print it: exit 0 when granted, 1 when denied or
    /// expired, 7 when still pending after --timeout.
    Wait {
        approval_id: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300.0)]
        timeout: f64,
        /// Seconds between two reads of the approval.
        #[arg(long, default_value_t = 2.0)]
        interval: f64,
    },
}

//! `egress-policy`: a policy document's checks before it is deployed, and what it would decide.
//! `egress-policy --help` lists the commands; `docs/OPERATIONS.md` ("Rolling out a policy") uses them.
//!
//! Exit status: 0 done (valid, every case passed, the diff printed); 1 an invalid policy, a failed case,
//! or (`diff --exit-code`) a decision that changes; 2 a usage error or an input that cannot be read.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use egress_core::offline::{self, Caller, Case, Change, Outcome};
use egress_core::{to_json_form, CompiledPolicy, RequestRecord};

#[derive(Parser)]
#[command(
    name = "egress-policy",
    version,
    about = "Check a policy document, and decide with it offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate; print the version and the number of zones and rules
    Check { file: String },
    /// Validate; print the same document in JSON form (loads several times faster at cold start)
    Json { file: String },
    /// Decide one request body (as POST /v1/egress/requests takes it) for a principal: steps 1-6, without
    /// approval grants and rate limits, which need the table
    Eval {
        policy: String,
        /// The request body, JSON: `{"url": "...", "zone": "..."}` or `{"domain": ..., "zone": ...}`
        body: String,
        #[arg(long)]
        principal: String,
        /// The caller's AWS account, as the authorizer would vouch for it (`account:` patterns)
        #[arg(long)]
        account: Option<String>,
        /// The caller's AWS organization (`org:` patterns)
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Run a file of cases (YAML or JSON: a list of {name?, principal, account?, org?, request, expect:
    /// {decision, reason?, rule?}}); exit 1 when one fails
    Test { policy: String, cases: String },
    /// Decide recorded requests (a GET /v1/egress/requests page, a JSON array, or JSON Lines of request
    /// records) under the current and a candidate policy; print every request whose decision changes
    Diff {
        current: String,
        candidate: String,
        records: String,
        #[arg(long)]
        json: bool,
        /// Exit 1 when a decision changes (as `git diff --exit-code`)
        #[arg(long)]
        exit_code: bool,
    },
}

/// Why a command stopped: an input it could not use (exit 2), an invalid policy (exit 1, the problems on
/// stderr), or a verdict of the command (exit 1, the report on stdout).
enum Stop {
    Usage(String),
    Invalid(Vec<String>),
    Failed(Vec<String>),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Check { file } => load(&file).map(|p| {
            vec![format!(
                "{file}: valid; version {}, {} zone(s), {} rule(s)",
                p.version(),
                p.zone_count(),
                p.rule_count()
            )]
        }),
        Command::Json { file } => {
            read(&file).and_then(|text| to_json_form(&text).map(|j| vec![j]).map_err(|e| invalid(&file, e)))
        }
        Command::Eval {
            policy,
            body,
            principal,
            account,
            org,
            json,
        } => load(&policy).and_then(|p| {
            let caller = Caller {
                principal,
                account,
                org,
            };
            let got = offline::eval(&p, &caller, body.as_bytes()).map_err(|e| Stop::Usage(e.to_string()))?;
            Ok(vec![if json { to_json(&got)? } else { describe(&got) }])
        }),
        Command::Test { policy, cases } => test(&policy, &cases),
        Command::Diff {
            current,
            candidate,
            records,
            json,
            exit_code,
        } => diff(&current, &candidate, &records, json, exit_code),
    };
    let (lines, code) = match result {
        Ok(lines) => (lines, ExitCode::SUCCESS),
        Err(Stop::Failed(lines)) => (lines, ExitCode::FAILURE),
        Err(Stop::Invalid(problems)) => {
            problems.iter().for_each(|p| eprintln!("{p}"));
            return ExitCode::FAILURE;
        }
        Err(Stop::Usage(message)) => {
            eprintln!("egress-policy: {message}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not a reason to panic.
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    code
}

fn read(file: &str) -> Result<String, Stop> {
    std::fs::read_to_string(file).map_err(|e| Stop::Usage(format!("{file}: {e}")))
}

fn invalid(file: &str, e: egress_core::PolicyError) -> Stop {
    let mut lines = vec![format!("{file}: invalid policy")];
    lines.extend(e.problems.iter().map(|p| format!("  - {p}")));
    Stop::Invalid(lines)
}

fn load(file: &str) -> Result<CompiledPolicy, Stop> {
    CompiledPolicy::from_yaml(&read(file)?).map_err(|e| invalid(file, e))
}

fn to_json(value: &impl serde::Serialize) -> Result<String, Stop> {
    serde_json::to_string(value).map_err(|e| Stop::Usage(e.to_string()))
}

/// `deny (reason rule_deny, rule deny-github-admin, mode enforce)`.
fn describe(o: &Outcome) -> String {
    let mut s = format!("{} (reason {}", o.decision.as_str(), o.reason.as_str());
    if let Some(rule) = &o.rule {
        s.push_str(&format!(", rule {rule}"));
    }
    if let Some(d) = o.dlp {
        s.push_str(&format!(", detector {}", d.as_str()));
    }
    if o.policy_decision != o.decision {
        s.push_str(&format!(", enforce would {}", o.policy_decision.as_str()));
    }
    s.push_str(&format!(", mode {})", o.mode.as_str()));
    s
}

fn test(policy: &str, cases_file: &str) -> Result<Vec<String>, Stop> {
    let p = load(policy)?;
    // YAML is a superset of JSON: one parser reads both.
    let cases: Vec<Case> =
        serde_norway::from_str(&read(cases_file)?).map_err(|e| Stop::Usage(format!("{cases_file}: {e}")))?;
    let failures = offline::run_cases(&p, &cases);
    let summary = format!("{} case(s), {} failed", cases.len(), failures.len());
    if failures.is_empty() {
        return Ok(vec![summary]);
    }
    let mut lines: Vec<String> = failures
        .iter()
        .map(|f| {
            format!(
                "case {}{}: {}",
                f.case,
                f.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default(),
                f.problem
            )
        })
        .collect();
    lines.push(summary);
    Err(Stop::Failed(lines))
}

fn diff(current: &str, candidate: &str, records_file: &str, json: bool, exit_code: bool) -> Result<Vec<String>, Stop> {
    let (now, next) = (load(current)?, load(candidate)?);
    let records = records(records_file)?;
    let changes = offline::replay(&now, &next, &records);
    let mut lines = match json {
        true => vec![to_json(&changes)?],
        false => changes.iter().map(describe_change).collect(),
    };
    if !json {
        lines.push(format!(
            "{} of {} recorded request(s) would change",
            changes.len(),
            records.len()
        ));
    }
    match exit_code && !changes.is_empty() {
        true => Err(Stop::Failed(lines)),
        false => Ok(lines),
    }
}

fn describe_change(c: &Change) -> String {
    format!(
        "{} {} {} {}{}: {} -> {}",
        c.request_id,
        c.principal,
        c.zone,
        c.target,
        if c.tunnel { " (tunnel)" } else { "" },
        describe(&c.current),
        describe(&c.candidate)
    )
}

/// Request records from a list page (`{"items": [...]}`), a JSON array, one record, or JSON Lines.
fn records(file: &str) -> Result<Vec<RequestRecord>, Stop> {
    let text = read(file)?;
    let bad = |what: String| Stop::Usage(format!("{file}: {what}"));
    let values: Vec<serde_json::Value> = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(mut page)) if page.contains_key("items") => match page.remove("items") {
            Some(serde_json::Value::Array(items)) => items,
            _ => return Err(bad("`items` is not a list".into())),
        },
        Ok(serde_json::Value::Array(items)) => items,
        Ok(one) => vec![one],
        Err(_) => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| bad(format!("line {}: {e}", i + 1))))
            .collect::<Result<_, _>>()?,
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| serde_json::from_value(v).map_err(|e| bad(format!("record {}: {e}", i + 1))))
        .collect()
}

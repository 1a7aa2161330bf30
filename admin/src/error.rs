//! What went wrong, as a class a script can branch on: each class is one exit code. The table here is the
//! one source; `--help` prints it and docs/OPERATIONS.md lists it (a test compares the two).

use std::fmt;

/// The exit code classes, in the order of the table. `Success` (0) is not an error and not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Anything else: a denied or expired approval, a `--wait` that could not confirm, a failed redrive.
    Failure,
    /// Bad arguments (clap's own code): a missing flag or stack output, an invalid value.
    Usage,
    /// Refused: 401/403 from the API or AWS, no credentials, no region.
    Auth,
    /// 404 from the API; a stack, or the kill-switch parameter `engage` needs, that does not exist.
    NotFound,
    /// 409 from the API: e.g. an approval already decided.
    Conflict,
    /// Could not be reached or is overloaded: connection refused, timeout, 5xx, 429.
    Unavailable,
    /// `approvals wait` gave up: still pending at `--timeout`.
    Timeout,
}

impl Class {
    pub const ALL: [Class; 7] = [
        Class::Failure,
        Class::Usage,
        Class::Auth,
        Class::NotFound,
        Class::Conflict,
        Class::Unavailable,
        Class::Timeout,
    ];

    pub fn code(self) -> u8 {
        match self {
            Class::Failure => 1,
            Class::Usage => 2,
            Class::Auth => 3,
            Class::NotFound => 4,
            Class::Conflict => 5,
            Class::Unavailable => 6,
            Class::Timeout => 7,
        }
    }

    /// The name in `--json` errors and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Class::Failure => "failure",
            Class::Usage => "usage",
            Class::Auth => "auth",
            Class::NotFound => "not_found",
            Class::Conflict => "conflict",
            Class::Unavailable => "unavailable",
            Class::Timeout => "timeout",
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Class::Failure => "any other failure: a denied or expired approval (`approvals wait`), a `--wait` that could not confirm, a message redrive kept",
            Class::Usage => "bad arguments: clap's own errors, a missing flag or stack output, an invalid value",
            Class::Auth => "refused: 401/403 from the API or AWS, no credentials, no region",
            Class::NotFound => "404 from the API; a stack (`--stack`) or a kill-switch parameter (`engage`) that does not exist",
            Class::Conflict => "409 from the API: e.g. an approval already decided",
            Class::Unavailable => "not reachable or overloaded: connection refused, timeout, 5xx, 429",
            Class::Timeout => "`approvals wait`: still pending when `--timeout` ran out",
        }
    }

    /// The class of an HTTP status the API answered with (not a success).
    pub fn of_status(status: u16) -> Class {
        match status {
            401 | 403 => Class::Auth,
            404 => Class::NotFound,
            409 => Class::Conflict,
            429 | 500..=599 => Class::Unavailable,
            _ => Class::Failure,
        }
    }
}

/// `--help`'s epilogue: the exit codes.
pub fn exit_code_help() -> String {
    let mut out = String::from("Exit codes:\n  0  success\n");
    for c in Class::ALL {
        out.push_str(&format!("  {}  {}: {}\n", c.code(), c.name(), c.meaning()));
    }
    out
}

/// An error whose class decides the exit code; a hint, when there is one, says what to check.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    pub class: Class,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error {
    pub fn new(class: Class, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

pub fn usage(message: impl Into<String>) -> Error {
    Error::new(Class::Usage, message)
}

/// The class of an error from anywhere in the tool (the typed one in its chain; else `Failure`), and its
/// hint. anyhow's context may wrap the typed error: the class survives.
pub fn classify(e: &anyhow::Error) -> (Class, Option<&str>) {
    e.chain()
        .find_map(|c| c.downcast_ref::<Error>())
        .map_or((Class::Failure, None), |t| (t.class, t.hint.as_deref()))
}

/// The class of an AWS SDK error: not reachable, refused, throttled or failed on AWS's side.
pub fn of_sdk<E>(e: &aws_sdk_ssm::error::SdkError<E, aws_sdk_ssm::config::http::HttpResponse>) -> Class
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_ssm::error::SdkError;
    match e {
        // The SDK resolves credentials while it dispatches: a failure to find any is a dispatch failure
        // too, but retrying will not help, so it is `auth`, not `unavailable`.
        SdkError::DispatchFailure(d) if !d.is_io() && !d.is_timeout() && lacks_credentials(e) => Class::Auth,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => Class::Unavailable,
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("");
            let auth_codes = [
                "AccessDenied",
                "AccessDeniedException",
                "ExpiredToken",
                "ExpiredTokenException",
                "InvalidClientTokenId",
                "UnrecognizedClientException",
                "SignatureDoesNotMatch",
            ];
            match (s.raw().status().as_u16(), code) {
                (_, c) if auth_codes.contains(&c) => Class::Auth,
                (_, "ThrottlingException" | "Throttling") => Class::Unavailable,
                (status, _) => Class::of_status(status),
            }
        }
        // Building the request failed: most often no credentials or no region.
        SdkError::ConstructionFailure(_) => Class::Auth,
        _ => Class::Failure,
    }
}

/// Whether an error's chain holds a credentials provider's failure (none found, none loadable).
fn lacks_credentials(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if err.is::<aws_credential_types::provider::error::CredentialsError>() {
            return true;
        }
        next = err.source();
    }
    false
}

/// An SDK error as a typed one: its class, and the SDK's own chain as the message.
pub fn sdk<E>(what: &str, e: aws_sdk_ssm::error::SdkError<E, aws_sdk_ssm::config::http::HttpResponse>) -> Error
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let class = of_sdk(&e);
    Error::new(
        class,
        format!("{what}: {}", aws_sdk_ssm::error::DisplayErrorContext(&e)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_statuses_map_to_their_class() {
        let mut codes: Vec<u8> = Class::ALL.iter().map(|c| c.code()).collect();
        codes.dedup();
        assert_eq!(codes, vec![1, 2, 3, 4, 5, 6, 7]);
        let got: Vec<Class> = [401, 403, 404, 409, 429, 500, 503, 400, 422]
            .into_iter()
            .map(Class::of_status)
            .collect();
        use Class::*;
        assert_eq!(
            got,
            vec![
                Auth,
                Auth,
                NotFound,
                Conflict,
                Unavailable,
                Unavailable,
                Unavailable,
                Failure,
                Failure
            ]
        );
    }

    #[test]
    fn the_class_survives_context() {
        let e = anyhow::Error::new(Error::new(Class::Conflict, "409")).context("granting");
        assert_eq!(classify(&e).0, Class::Conflict);
        assert_eq!(classify(&anyhow::anyhow!("plain")).0, Class::Failure);
    }

    /// docs/OPERATIONS.md's "egress-admin exit codes" table lists exactly these codes and names.
    #[test]
    fn the_runbook_table_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/OPERATIONS.md");
        let doc = std::fs::read_to_string(path).expect("OPERATIONS.md");
        let section = doc
            .split("### egress-admin exit codes")
            .nth(1)
            .expect("an `### egress-admin exit codes` section");
        let rows: Vec<(u8, String)> = section
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let code = cells.get(1)?.parse().ok()?;
                Some((code, cells.get(2)?.trim_matches('`').to_owned()))
            })
            .collect();
        let mut expected = vec![(0, "success".to_owned())];
        expected.extend(Class::ALL.iter().map(|c| (c.code(), c.name().to_owned())));
        assert_eq!(rows, expected);
        let help = exit_code_help();
        assert!(Class::ALL
            .iter()
            .all(|c| help.contains(&format!("{}  {}:", c.code(), c.name()))));
    }
}

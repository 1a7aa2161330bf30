//! `egress-policy`: check a policy document before it is deployed, and write it in JSON form.
//!
//!   egress-policy check FILE   validate; print the version and the number of zones and rules
//!   egress-policy json FILE    validate; print the same document in JSON form (loads several times faster
//!                              at cold start than YAML: deploy large policies this way)
//!
//! Exit status 0 when the document is valid, 1 with every problem listed when it is not, 2 on usage errors.

use std::io::Write as _;
use std::process::ExitCode;

use egress_core::{to_json_form, CompiledPolicy, PolicyError};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, file) = match args.as_slice() {
        [cmd, file] if cmd == "check" || cmd == "json" => (cmd.as_str(), file),
        _ => {
            eprintln!("usage: egress-policy check|json FILE");
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::from(2);
        }
    };
    let result = if cmd == "check" {
        CompiledPolicy::from_yaml(&text).map(|p| {
            format!(
                "{file}: valid; version {}, {} zone(s), {} rule(s)",
                p.version(),
                p.zone_count(),
                p.rule_count()
            )
        })
    } else {
        to_json_form(&text)
    };
    match result {
        // A closed pipe (`| head`) is not a reason to panic.
        Ok(out) => match writeln!(std::io::stdout(), "{out}") {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        },
        Err(PolicyError { problems }) => {
            eprintln!("{file}: invalid policy");
            for p in problems {
                eprintln!("  - {p}");
            }
            ExitCode::FAILURE
        }
    }
}

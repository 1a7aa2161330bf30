//! Writes the event detail JSON Schemas (`infra/events/<detail-type>.schema.json`) from the types, and the
//! nested CloudFormation template of the schema registry that inlines them (infra/events/schemas.yaml,
//! the `EventSchemas` application of template.yaml), or with `--check` exits 1 when a checked-in file
//! differs from what the types give (`make lint`).
//!
//! Usage: `egress-schemas [--check] [DIR]` (DIR defaults to `infra/events`)

use std::path::PathBuf;
use std::process::ExitCode;

use egress_core::{detail_schema, render_schema, schemas_template, DETAIL_TYPES};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("infra/events"));
    let mut files = Vec::new();
    for (detail_type, _) in DETAIL_TYPES {
        let Some(schema) = detail_schema(detail_type) else {
            eprintln!("no schema for {detail_type}");
            return ExitCode::FAILURE;
        };
        files.push((dir.join(format!("{detail_type}.schema.json")), render_schema(&schema)));
    }
    files.push((dir.join("schemas.yaml"), schemas_template()));
    let mut drift = Vec::new();
    for (path, text) in files {
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        drift.push(path.display().to_string());
        if !check {
            if let Err(e) = std::fs::write(&path, &text) {
                eprintln!("{}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    match (check, drift.is_empty()) {
        (_, true) => ExitCode::SUCCESS,
        (true, false) => {
            eprintln!("event schemas differ from the types: {}", drift.join(", "));
            eprintln!("run: cargo run -q -p egress-core --bin egress-schemas");
            ExitCode::FAILURE
        }
        (false, false) => {
            println!("wrote {}", drift.join(", "));
            ExitCode::SUCCESS
        }
    }
}

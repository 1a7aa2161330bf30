//! Writes the event detail JSON Schemas (infra/events/<detail-type>.schema.json) from the types, or with
//! `--check` exits 1 when a checked-in file differs from what the types give (`make lint`). The copies
//! inlined in template.yaml are synced from these files by infra/local/sync_schemas.py.
//!
//! Usage: egress-schemas [--check] [DIR]   (DIR defaults to infra/events)

use std::path::PathBuf;
use std::process::ExitCode;

use egress_core::{detail_schema, render_schema, DETAIL_TYPES};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("infra/events"));
    let mut drift = Vec::new();
    for (detail_type, _) in DETAIL_TYPES {
        let Some(schema) = detail_schema(detail_type) else {
            eprintln!("no schema for {detail_type}");
            return ExitCode::FAILURE;
        };
        let path = dir.join(format!("{detail_type}.schema.json"));
        let text = render_schema(&schema);
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
            eprintln!("run: cargo run -q -p egress-core --bin egress-schemas && python3 infra/local/sync_schemas.py");
            ExitCode::FAILURE
        }
        (false, false) => {
            println!("wrote {}", drift.join(", "));
            ExitCode::SUCCESS
        }
    }
}

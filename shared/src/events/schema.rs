//! JSON Schemas of the event details, generated from the types that serialize them ([`EventDetail`]), in
//! the draft-04 dialect the EventBridge schema registry reads (`JSONSchemaDraft4`). `egress-schemas` writes
//! them to infra/events/, each as a file and all inlined in the registry's nested template
//! ([`schemas_template`]); `make lint` fails on drift.

use std::fmt::Write as _;

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Value};
use strum::VariantArray;

use super::contract::{
    outcome_type, ApprovalEventDetail, EventDetail, ALLOWED, APPROVAL_DENIED, APPROVAL_EXPIRED, APPROVAL_GRANTED,
    BLOCKED, REQUESTED, SOURCE,
};
use crate::{approval::ApprovalState, policy::Effect};

/// Every detail-type with a schema, and what its events say.
pub const DETAIL_TYPES: [(&str, &str); 6] = [
    (
        REQUESTED,
        "A request was recorded; always followed by egress.allowed or egress.blocked.",
    ),
    (ALLOWED, "A recorded request was allowed (decision allow)."),
    (
        BLOCKED,
        "A recorded request was not allowed: decision deny, or require_approval (then approval_id names \
         the approval it opened or joined; this event is the approval request).",
    ),
    (
        APPROVAL_GRANTED,
        "An approver granted an approval (state granted, with the grant).",
    ),
    (APPROVAL_DENIED, "An approver denied an approval (state denied)."),
    (
        APPROVAL_EXPIRED,
        "A pending approval expired without a decision (state expired).",
    ),
];

/// The draft-04 schema of `T` as it serializes: nested types inlined (no `$ref`), `Option` fields
/// required and nullable unless they are skipped when empty.
fn draft04<T: JsonSchema>() -> Value {
    let schema = SchemaSettings::draft07()
        .for_serialize()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator()
        .into_root_schema_for::<T>();
    let mut v = schema.to_value();
    tidy(&mut v);
    v
}

/// schemars annotates integers with Rust's widths (`uint16`), which draft-04 does not know, and keeps the
/// line breaks of doc comments in descriptions.
fn tidy(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let rust_width = |f: &str| f.starts_with("int") || f.starts_with("uint");
            if m.get("format").and_then(Value::as_str).is_some_and(rust_width) {
                m.remove("format");
            }
            if let Some(Value::String(d)) = m.get_mut("description") {
                *d = d.split_whitespace().collect::<Vec<_>>().join(" ");
            }
            m.values_mut().for_each(tidy);
        }
        Value::Array(a) => a.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// The schema of the detail of `detail_type` (one of [`DETAIL_TYPES`]).
pub fn detail_schema(detail_type: &str) -> Option<Value> {
    let (_, about) = DETAIL_TYPES.iter().find(|(t, _)| *t == detail_type)?;
    let approval_state = match detail_type {
        APPROVAL_GRANTED => Some(ApprovalState::Granted),
        APPROVAL_DENIED => Some(ApprovalState::Denied),
        APPROVAL_EXPIRED => Some(ApprovalState::Expired),
        _ => None,
    };
    let mut schema = match approval_state {
        Some(_) => draft04::<ApprovalEventDetail>(),
        None => draft04::<EventDetail>(),
    };
    let obj = schema.as_object_mut()?;
    obj.remove("title");
    obj.remove("description");
    let mut out = serde_json::Map::new();
    out.insert("$schema".into(), json!("http://json-schema.org/draft-04/schema#"));
    out.insert("title".into(), json!(detail_type));
    out.insert(
        "description".into(),
        json!(format!("{about} Source `{SOURCE}`, detail-type `{detail_type}`.")),
    );
    out.extend(std::mem::take(obj));
    // Each approval event carries one state; the outcome events only the decisions that lead to them.
    if let Some(state) = approval_state {
        out["properties"]["state"]["enum"] = json!([state.as_str()]);
    } else if detail_type != REQUESTED {
        let decisions: Vec<&str> = Effect::VARIANTS
            .iter()
            .filter(|d| outcome_type(**d) == detail_type)
            .map(|d| d.as_str())
            .collect();
        out["properties"]["decision"]["enum"] = json!(decisions);
    }
    Some(Value::Object(out))
}

/// Pretty JSON with a trailing newline, as the files are checked in.
pub fn render(schema: &Value) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap_or_default();
    s.push('\n');
    s
}

/// The nested CloudFormation template of the schema registry (infra/events/schemas.yaml, the parent's
/// `EventSchemas` application): the registry, named by the parent (parameter `RegistryName`, since a
/// nested stack's own name is not the parent's), and one `AWS::EventSchemas::Schema` per detail-type
/// whose `Content` is the file's text. CloudFormation cannot read local files; `sam package` uploads
/// this template, so the content has to be in it. Plain YAML (no short-form tags), deterministic.
pub fn schemas_template() -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut t = String::from(
        "# Generated by egress-schemas from the event types (shared/src/events/schema.rs); do not edit.\n\
         # Regenerate: cargo run -p egress-core --bin egress-schemas (`make lint` fails on drift).\n\
         # The parent template.yaml deploys it as the nested application EventSchemas.\n\
         AWSTemplateFormatVersion: \"2010-09-09\"\n\
         Description: The schema registry of the egress.* event details (one JSON Schema per detail-type).\n\
         \n\
         Parameters:\n  \
           RegistryName:\n    \
             Type: String\n    \
             Description: The registry's name (the parent passes <stack>-events).\n\
         \n\
         Resources:\n  \
           EgressSchemaRegistry:\n    \
             Type: AWS::EventSchemas::Registry\n    \
             Properties:\n      \
               RegistryName:\n        \
                 Ref: RegistryName\n",
    );
    let _ = writeln!(
        t,
        "      Description: {}",
        q(&format!("Schemas of the detail of egress.* events (source {SOURCE})."))
    );
    for (detail_type, _) in DETAIL_TYPES {
        let content = detail_schema(detail_type).map(|s| render(&s)).unwrap_or_default();
        let _ = write!(
            t,
            "\n  {}:\n    Type: AWS::EventSchemas::Schema\n    Properties:\n      \
             RegistryName:\n        Fn::GetAtt: [EgressSchemaRegistry, RegistryName]\n      \
             SchemaName: {}\n      Type: JSONSchemaDraft4\n      Description: {}\n      \
             Content: |  # = infra/events/{detail_type}.schema.json\n",
            logical_id(detail_type),
            q(&format!("{SOURCE}@{detail_type}")),
            q(&format!("Detail of {detail_type}.")),
        );
        for line in content.lines() {
            let _ = writeln!(t, "        {line}");
        }
    }
    t.push_str(
        "\nOutputs:\n  \
           RegistryName:\n    \
             Value:\n      \
               Fn::GetAtt: [EgressSchemaRegistry, RegistryName]\n  \
           RegistryArn:\n    \
             Value:\n      \
               Fn::GetAtt: [EgressSchemaRegistry, RegistryArn]\n",
    );
    t
}

/// `egress.approval.granted` -> `EgressApprovalGrantedSchema`.
fn logical_id(detail_type: &str) -> String {
    let mut id: String = detail_type
        .split(['.', '_', '-'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    id.push_str("Schema");
    id
}

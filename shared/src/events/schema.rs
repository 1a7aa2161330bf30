//! JSON Schemas of the event details, generated from the types that serialize them ([`EventDetail`]), in
//! the draft-04 dialect the EventBridge schema registry reads (`JSONSchemaDraft4`). Written to
//! infra/events/ and inlined into template.yaml by `egress-schemas`; `make lint` fails on drift.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Value};
use strum::VariantArray;

use super::contract::{
    outcome_type, ApprovalEventDetail, EventDetail, ALLOWED, APPROVAL_DENIED, APPROVAL_EXPIRED, APPROVAL_GRANTED,
    BLOCKED, REQUESTED, SOURCE,
};
use crate::{ApprovalState, Effect};

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

//! `wire_enum!`: declares an enum whose variant names are a wire contract (API, table, events, policy
//! documents). serde, strum (`as_str`, `Display`, parsing, `VARIANTS`) and schemars all derive the names
//! from the one declaration, in the one case given; `tests/enum_names.rs` pins them.

use serde_json::Value;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident in $case:literal { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            serde::Deserialize,
            schemars::JsonSchema,
            strum::Display,
            strum::EnumString,
            strum::IntoStaticStr,
            strum::VariantArray,
        )]
        #[serde(rename_all = $case)]
        #[strum(serialize_all = $case)]
        #[schemars(transform = $crate::wire_enum::plain_enum)]
        $vis enum $name { $($body)* }

        impl $name {
            /// The variant's name on the wire: the text serde, `Display` and parsing use.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}

pub(crate) use wire_enum;

/// Keeps a wire enum's schema a plain `{"type": "string", "enum": [...]}` when its variants carry doc
/// comments: schemars then writes a `oneOf` of `const` schemas, and the event schemas are JSON Schema
/// draft 04 (the EventBridge registry's format), which has no `const`, so each branch would match any
/// string and `oneOf` would refuse every event. The variants' docs stay in the code.
pub fn plain_enum(schema: &mut schemars::Schema) {
    let Some(Value::Array(branches)) = schema.get("oneOf") else {
        return;
    };
    let names: Option<Vec<Value>> = branches
        .iter()
        .map(|b| match (b.get("type"), b.get("const")) {
            (Some(Value::String(t)), Some(name @ Value::String(_))) if t == "string" => Some(name.clone()),
            _ => None,
        })
        .collect();
    if let Some(names) = names {
        schema.remove("oneOf");
        schema.insert("type".into(), Value::String("string".into()));
        schema.insert("enum".into(), Value::Array(names));
    }
}

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
    // A documented variant is a `const` branch; the undocumented ones, if any, share one `enum` branch.
    let names: Option<Vec<Vec<Value>>> = branches
        .iter()
        .map(|b| match (b.get("type"), b.get("const"), b.get("enum")) {
            (Some(Value::String(t)), Some(name @ Value::String(_)), None) if t == "string" => Some(vec![name.clone()]),
            (Some(Value::String(t)), None, Some(Value::Array(names))) if t == "string" => {
                names.iter().all(Value::is_string).then(|| names.clone())
            }
            _ => None,
        })
        .collect();
    if let Some(names) = names.map(|n| n.concat()) {
        schema.remove("oneOf");
        schema.insert("type".into(), Value::String("string".into()));
        schema.insert("enum".into(), Value::Array(names));
    }
}

#[cfg(test)]
mod tests {
    use super::plain_enum;
    use serde_json::json;

    #[test]
    fn documented_variants_fold_back_into_one_enum() {
        let mut s = schemars::Schema::try_from(json!({"description": "d", "oneOf": [
            {"type": "string", "const": "a", "description": "A"},
            {"type": "string", "enum": ["b", "c"]},
            {"type": "string", "const": "d"},
        ]}))
        .unwrap();
        plain_enum(&mut s);
        assert_eq!(
            s.as_value(),
            &json!({"description": "d", "type": "string", "enum": ["a", "b", "c", "d"]})
        );
    }

    #[test]
    fn anything_but_string_names_is_left_alone() {
        let original = json!({"oneOf": [{"type": "string", "const": "a"}, {"type": "object"}]});
        let mut s = schemars::Schema::try_from(original.clone()).unwrap();
        plain_enum(&mut s);
        assert_eq!(s.as_value(), &original);
    }
}

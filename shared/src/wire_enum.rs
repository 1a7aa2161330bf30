//! `wire_enum!`: declares an enum whose variant names are a wire contract (API, table, events, policy
//! documents). serde, strum (`as_str`, `Display`, parsing, `VARIANTS`) and schemars all derive the names
//! from the one declaration, in the one case given; `tests/enum_names.rs` pins them.

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
        $vis enum $name { $($body)* }

        impl $name {
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}

pub(crate) use wire_enum;

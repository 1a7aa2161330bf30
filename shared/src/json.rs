//! JSON input rules the request bodies share.

use serde::{Deserialize, Deserializer};

/// An optional member that is present must have a value: `null` is refused like a wrong type would be
/// (the OpenAPI document types optional members without `null`). An absent member never gets here:
/// `#[serde(default)]` makes it `None`.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

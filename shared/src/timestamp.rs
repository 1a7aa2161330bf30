//! A point in time as the API, the table and the events write it: RFC 3339 in UTC with milliseconds
//! (`2026-12-07T10:00:00.000Z`, [RFC 3339 §5.6](https://www.rfc-editor.org/rfc/rfc3339#section-5.6)).
//! Held as time and compared as time; written as that text, which sorts as the time does, so DynamoDB
//! conditions (`expires_at > :now`) and stored items keep their form.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A UTC instant to the millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// `t` in UTC, truncated to the millisecond (what the text keeps, so a round trip is the identity).
    pub fn new(t: OffsetDateTime) -> Self {
        let t = t.to_offset(UtcOffset::UTC);
        let millis = t.millisecond();
        Self(t.replace_millisecond(millis).unwrap_or(t))
    }

    /// The current time, to the millisecond.
    pub fn now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    /// The instant as `time`'s type, for arithmetic and comparisons with other times.
    pub fn time(self) -> OffsetDateTime {
        self.0
    }

    /// Parses any RFC 3339 date-time (any offset, any precision).
    pub fn parse(text: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(text, &Rfc3339).map(Self::new)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date-time"})
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn written_as_the_api_writes_and_read_back_as_the_same_time() {
        let t = Timestamp::new(datetime!(2026-12-07 10:00:00.123_456 +02:00));
        assert_eq!(t.to_string(), "2026-12-07T08:00:00.123Z");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-12-07T08:00:00.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert_eq!(t.to_string(), crate::request::rfc3339_millis(t.time()));
        // Leap-free edges: the epoch, and the year's last millisecond.
        assert_eq!(
            Timestamp::new(OffsetDateTime::UNIX_EPOCH).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::new(datetime!(2026-12-31 23:59:59.999_999 UTC)).to_string(),
            "2026-12-31T23:59:59.999Z"
        );
        for bad in ["\"\"", "\"2026-12-07\"", "\"yesterday\"", "17"] {
            assert!(serde_json::from_str::<Timestamp>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compared_as_time_not_as_text() {
        // The same instant in other offsets and precisions compares equal; text would not.
        let a = Timestamp::parse("2026-12-07T10:00:00.500+01:00").unwrap();
        let b = Timestamp::parse("2026-12-07T09:00:00.5Z").unwrap();
        assert_eq!(a, b);
        let later = Timestamp::parse("2026-12-07T09:00:01Z").unwrap();
        assert!(a < later);
        assert!(
            "2026-12-07T10:00:00.500+01:00" > "2026-12-07T09:00:01Z",
            "as text, the order is wrong"
        );
    }
}

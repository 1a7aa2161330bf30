//! The on-failure record Lambda writes for a stream batch that exhausted its retries: where the records
//! are (shard, sequence numbers, arrival times) and, at an S3 destination only, the failed invocation's
//! payload, the records themselves.
//! <https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html>

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::RedriveError;

/// How far before the first record's arrival a request of the batch can have been minted: its id is
/// taken before the write, which lands within the request path's operation timeout (5 s), retries of a
/// lost race included.
const MINTED_BEFORE_ARRIVAL: Duration = Duration::seconds(10);
/// Arrival times are whole seconds (truncated), and clocks differ a little.
const AFTER_LAST_ARRIVAL: Duration = Duration::seconds(2);

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Info {
    shard_id: String,
    start_sequence_number: String,
    end_sequence_number: String,
    approximate_arrival_of_first_record: String,
    approximate_arrival_of_last_record: String,
    batch_size: u64,
    stream_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Message {
    #[serde(rename = "DDBStreamBatchInfo")]
    info: Info,
    /// The invocation event as JSON text (`{"Records": [...]}`); S3 destinations only.
    payload: Option<String>,
}

/// One failed batch, as its on-failure message describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedBatch {
    /// The table stream the batch was read from.
    pub stream_arn: String,
    /// The stream shard holding the batch's records.
    pub shard_id: String,
    /// Sequence number of the batch's first record.
    pub start_sequence_number: String,
    /// Sequence number of the batch's last record.
    pub end_sequence_number: String,
    /// When the first record reached the stream (approximate, whole seconds).
    pub first_arrival: OffsetDateTime,
    /// When the last record reached the stream (approximate, whole seconds).
    pub last_arrival: OffsetDateTime,
    /// How many records the batch held.
    pub batch_size: u64,
    /// The invocation event the function failed on, when the record carries it (an S3 destination).
    pub payload: Option<String>,
}

impl FailedBatch {
    /// Reads Lambda's on-failure record (its `DDBStreamBatchInfo`, and `payload` when present).
    pub fn parse(body: &str) -> Result<Self, RedriveError> {
        let m: Message =
            serde_json::from_str(body).map_err(|e| RedriveError::Message(format!("not an on-failure message: {e}")))?;
        let at = |s: &str| {
            OffsetDateTime::parse(s, &Rfc3339).map_err(|e| RedriveError::Message(format!("arrival time {s:?}: {e}")))
        };
        let i = m.info;
        Ok(Self {
            first_arrival: at(&i.approximate_arrival_of_first_record)?,
            last_arrival: at(&i.approximate_arrival_of_last_record)?,
            stream_arn: i.stream_arn,
            shard_id: i.shard_id,
            start_sequence_number: i.start_sequence_number,
            end_sequence_number: i.end_sequence_number,
            batch_size: i.batch_size,
            payload: m.payload,
        })
    }

    /// The creation times a request of the batch can have (inclusive): read on the time index.
    pub fn window(&self) -> (OffsetDateTime, OffsetDateTime) {
        (
            self.first_arrival - MINTED_BEFORE_ARRIVAL,
            self.last_arrival + AFTER_LAST_ARRIVAL,
        )
    }

    /// Whether a sequence number is past the batch (sequence numbers are decimal strings of varying
    /// length: compared as numbers).
    pub fn is_past_end(&self, sequence_number: &str) -> bool {
        let key = |s: &str| (s.len(), s.to_owned());
        key(sequence_number) > key(&self.end_sequence_number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape AWS documents for a DynamoDB stream's on-failure destination (Lambda developer guide,
    /// "Retaining records of invocations", DynamoDB example).
    const AWS_EXAMPLE: &str = r#"{
        "requestContext": {"requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
            "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2019-11-14T00:38:06.021Z",
        "DDBStreamBatchInfo": {
            "shardId": "shardId-00000001573689847184-864758bb",
            "startSequenceNumber": "800000000003126276362",
            "endSequenceNumber": "800000000003126276362",
            "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04Z",
            "approximateArrivalOfLastRecord": "2019-11-14T00:38:04Z",
            "batchSize": 1,
            "streamArn": "arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388"
        }
    }"#;

    #[test]
    fn reads_the_documented_message() {
        let b = FailedBatch::parse(AWS_EXAMPLE).unwrap();
        assert_eq!(b.shard_id, "shardId-00000001573689847184-864758bb");
        assert_eq!(b.batch_size, 1);
        let (from, to) = b.window();
        assert_eq!(from, time::macros::datetime!(2019-11-14 00:37:54 UTC));
        assert_eq!(to, time::macros::datetime!(2019-11-14 00:38:06 UTC));
        assert!(!b.is_past_end("800000000003126276362"));
        assert!(!b.is_past_end("99999999999999999999"));
        assert!(b.is_past_end("800000000003126276363"));
        assert!(b.is_past_end("1000000000000000000000"));
    }

    #[test]
    fn keeps_the_payload_of_an_s3_destinations_record() {
        let mut doc: serde_json::Value = serde_json::from_str(AWS_EXAMPLE).unwrap();
        doc["payload"] = serde_json::json!(r#"{"Records":[]}"#);
        let b = FailedBatch::parse(&doc.to_string()).unwrap();
        assert_eq!(b.payload.as_deref(), Some(r#"{"Records":[]}"#));
        assert_eq!(FailedBatch::parse(AWS_EXAMPLE).unwrap().payload, None);
        doc["payload"] = serde_json::json!({"Records": []});
        assert!(
            FailedBatch::parse(&doc.to_string()).is_err(),
            "the payload is JSON text, not an object"
        );
    }

    #[test]
    fn refuses_other_messages() {
        for body in [
            "",
            "{}",
            r#"{"Records": []}"#,
            &AWS_EXAMPLE.replace("2019-11-14T00:38:04Z", "yesterday"),
        ] {
            assert!(FailedBatch::parse(body).is_err(), "{body}");
        }
    }
}

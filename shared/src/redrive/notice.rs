//! A message of the publisher's on-failure queue: either S3's "Object Created" event for a failure
//! object in the failure bucket (EventBridge delivers it; the object holds the on-failure record and
//! its payload), or Lambda's on-failure record itself (an SQS destination, as stacks had before the S3
//! one: such messages may still wait in the queue).
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html>

use serde::Deserialize;

use super::{FailedBatch, RedriveError};

/// What a queue message points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureNotice {
    /// Lambda's on-failure record, in the message itself (no payload: an SQS destination).
    Record(FailedBatch),
    /// A failure object: read it for the record and its payload.
    Object {
        /// The failure bucket.
        bucket: String,
        /// The failure object's key, as stored (not URL-encoded).
        key: String,
    },
}

#[derive(Deserialize)]
struct S3Event {
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: S3Detail,
}

#[derive(Deserialize)]
struct S3Detail {
    bucket: Named,
    object: Key,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct Key {
    key: String,
}

impl FailureNotice {
    /// Reads a queue message's body: an S3 "Object Created" event, else Lambda's on-failure record;
    /// anything else (another S3 event, S3's test event, not JSON) is an error.
    pub fn parse(body: &str) -> Result<Self, RedriveError> {
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| RedriveError::Message(format!("not JSON: {e}")))?;
        if value.get("source").is_none() {
            return FailedBatch::parse(body).map(Self::Record);
        }
        let event: S3Event =
            serde_json::from_value(value).map_err(|e| RedriveError::Message(format!("not an S3 event: {e}")))?;
        if event.source != "aws.s3" || event.detail_type != "Object Created" {
            return Err(RedriveError::Message(format!(
                "an event of {} / {}, not a new failure object",
                event.source, event.detail_type
            )));
        }
        // EventBridge gives the key as stored (S3's direct notifications URL-encode it; these do not).
        let Key { key } = event.detail.object;
        if key.is_empty() || event.detail.bucket.name.is_empty() {
            return Err(RedriveError::Message("an S3 event without bucket or key".into()));
        }
        Ok(Self::Object {
            bucket: event.detail.bucket.name,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape S3 documents for an "Object Created" event on EventBridge (S3 user guide, "EventBridge
    /// message structure").
    const OBJECT_CREATED: &str = r#"{
        "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
        "source": "aws.s3", "account": "111122223333", "time": "2021-11-12T00:00:00Z",
        "region": "ca-central-1", "resources": ["arn:aws:s3:::amzn-s3-demo-bucket1"],
        "detail": {"version": "0", "bucket": {"name": "amzn-s3-demo-bucket1"},
            "object": {"key": "aws/lambda/0b1e5a53-7a5e-4b2c-9a52-4c6f2e1d2f3a/shardId-00000001/2026/12/07/2026-12-07T10.00.00-5f2c",
                "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "617f08299329d189"},
            "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
            "source-ip-address": "1.2.3.4", "reason": "PutObject"}
    }"#;

    #[test]
    fn reads_an_object_created_event() {
        assert_eq!(
            FailureNotice::parse(OBJECT_CREATED).unwrap(),
            FailureNotice::Object {
                bucket: "amzn-s3-demo-bucket1".into(),
                key: "aws/lambda/0b1e5a53-7a5e-4b2c-9a52-4c6f2e1d2f3a/shardId-00000001/2026/12/07/2026-12-07T10.00.00-5f2c"
                    .into(),
            }
        );
    }

    #[test]
    fn reads_lambdas_own_record() {
        let record = r#"{"DDBStreamBatchInfo": {"shardId": "s", "startSequenceNumber": "1",
            "endSequenceNumber": "2", "approximateArrivalOfFirstRecord": "2026-12-07T10:00:00Z",
            "approximateArrivalOfLastRecord": "2026-12-07T10:00:01Z", "batchSize": 2,
            "streamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/x"}}"#;
        match FailureNotice::parse(record).unwrap() {
            FailureNotice::Record(b) => assert_eq!((b.batch_size, b.payload), (2, None)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_other_messages() {
        let deleted = OBJECT_CREATED.replace("Object Created", "Object Deleted");
        let other_source = OBJECT_CREATED.replace("\"aws.s3\"", "\"egress.gateway\"");
        let no_key = OBJECT_CREATED.replace(r#""key": "aws/lambda"#, r#""id": "aws/lambda"#);
        let empty_key = OBJECT_CREATED.replace(
            "aws/lambda/0b1e5a53-7a5e-4b2c-9a52-4c6f2e1d2f3a/shardId-00000001/2026/12/07/2026-12-07T10.00.00-5f2c",
            "",
        );
        // S3's test event, sent when a direct notification is configured: not a failure.
        let test_event =
            r#"{"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-12-07T10:00:00Z", "Bucket": "b"}"#;
        for body in ["", "[]", "{}", &deleted, &other_source, &no_key, &empty_key, test_event] {
            assert!(FailureNotice::parse(body).is_err(), "{body}");
        }
    }
}

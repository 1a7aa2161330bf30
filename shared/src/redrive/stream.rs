//! Reading a failed batch's records again from the table's stream (GetShardIterator at its first
//! sequence number, GetRecords to its last), through the publisher's own mapping.

use aws_lambda_events::event::dynamodb::{EventRecord, UserIdentity};
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};

use super::{BatchRecords, FailedBatch};
use crate::events::{events_of_record, Event};

/// Empty GetRecords answers in a row after which an open shard is taken to hold nothing more of the
/// batch (a batch's records were all written before it failed).
const EMPTY_READS: usize = 5;

pub(super) async fn read_batch(client: &aws_sdk_dynamodbstreams::Client, batch: &FailedBatch) -> BatchRecords {
    match read(client, batch).await {
        Ok((records, events)) => BatchRecords::Stream { records, events },
        Err(why) => BatchRecords::Unavailable(why),
    }
}

async fn read(client: &aws_sdk_dynamodbstreams::Client, batch: &FailedBatch) -> Result<(usize, Vec<Event>), String> {
    let show = |e: aws_sdk_dynamodbstreams::error::SdkError<_, _>| -> String {
        aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string()
    };
    let mut iterator = client
        .get_shard_iterator()
        .stream_arn(&batch.stream_arn)
        .shard_id(&batch.shard_id)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&batch.start_sequence_number)
        .send()
        .await
        .map_err(show)?
        .shard_iterator;
    let (mut records, mut events, mut empty) = (0, Vec::new(), 0);
    while let Some(it) = iterator {
        let out = client
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())?;
        if out.records().is_empty() {
            empty += 1;
            if empty >= EMPTY_READS {
                break;
            }
        }
        for r in out.records() {
            let seq = r.dynamodb().and_then(|d| d.sequence_number()).unwrap_or_default();
            if batch.is_past_end(seq) {
                return Ok((records, events));
            }
            records += 1;
            events.extend(events_of_record(&lambda_record(r)).map_err(|e| format!("record {seq}: {e}"))?);
        }
        iterator = out.next_shard_iterator;
    }
    Ok((records, events))
}

/// A GetRecords record in the form the publisher receives it from Lambda (the fields the mapping reads).
fn lambda_record(r: &Record) -> EventRecord {
    let mut out = EventRecord::default();
    out.event_name = r.event_name().map(|n| n.as_str().to_owned()).unwrap_or_default();
    if let Some(u) = r.user_identity() {
        let mut who = UserIdentity::default();
        who.type_ = u.r#type().unwrap_or_default().to_owned();
        who.principal_id = u.principal_id().unwrap_or_default().to_owned();
        out.user_identity = Some(who);
    }
    if let Some(d) = r.dynamodb() {
        out.change.sequence_number = d.sequence_number().map(str::to_owned);
        if let Some(img) = d.new_image() {
            out.change.new_image = serde_dynamo::Item::from(img.clone());
        }
        if let Some(img) = d.old_image() {
            out.change.old_image = serde_dynamo::Item::from(img.clone());
        }
        if let Some(keys) = d.keys() {
            out.change.keys = serde_dynamo::Item::from(keys.clone());
        }
    }
    out
}

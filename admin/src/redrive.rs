//! `egress-admin redrive`: each on-failure message's batch found again (egress_core's redrive) and its
//! events re-published; a message is deleted only once PutEvents accepted every event of its window.
//! Messages it cannot redrive stay in the queue (visible again when the run ends) and fail the run.

use egress_core::{republish, rfc3339_millis, window_events, DynamoStore, EventBridgeBus, FailedBatch, StreamRead};
use serde_json::{json, Value};

use crate::cli::{ApiOptions, RedriveArgs};
use crate::error;
use crate::stack::pick;

/// Long enough to re-read a window and publish it before SQS shows the message to someone else.
const VISIBILITY_SECONDS: i32 = 300;

/// The queue, table and bus, from the flags or the stack's outputs.
struct Targets {
    queue_url: String,
    table: String,
    bus: String,
}

pub async fn run(options: &ApiOptions, args: &RedriveArgs, as_json: bool) -> anyhow::Result<()> {
    let outputs = options.outputs.as_ref();
    let to = Targets {
        queue_url: pick(args.queue_url.as_deref(), outputs, "PublishEventsDlqUrl", "--queue-url")?,
        table: pick(args.table.as_deref(), outputs, "TableName", "--table")?,
        bus: pick(args.bus.as_deref(), outputs, "EventBusName", "--bus")?,
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &to.table);
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), &to.bus);

    let mut reports: Vec<Value> = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&to.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(VISIBILITY_SECONDS)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| error::sdk("reading the on-failure queue", e))?;
        if received.messages().is_empty() {
            break;
        }
        for m in received.messages() {
            let (Some(body), Some(handle)) = (m.body(), m.receipt_handle()) else {
                continue;
            };
            let id = m.message_id().unwrap_or_default().to_owned();
            let (report, done) = redrive_one(args, &store, &streams, &bus, body).await;
            if done && !args.dry_run {
                sqs.delete_message()
                    .queue_url(&to.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| error::sdk("deleting a redriven message", e))?;
            } else {
                kept.push(handle.to_owned());
            }
            let mut report = report;
            report["message_id"] = json!(id);
            report["deleted"] = json!(done && !args.dry_run);
            if !as_json {
                println!("{}", line(&report));
            }
            reports.push(report);
        }
    }
    // Give the kept messages back now rather than after the visibility timeout.
    for handle in &kept {
        let _ = sqs
            .change_message_visibility()
            .queue_url(&to.queue_url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await;
    }
    let failed = reports.iter().filter(|r| r["ok"] != json!(true)).count();
    let published: u64 = reports.iter().filter_map(|r| r["published"].as_u64()).sum();
    if as_json {
        println!("{}", serde_json::to_string_pretty(&json!({"messages": reports}))?);
    } else {
        println!(
            "{} message(s): {} redriven, {} kept; {} event(s) published{}",
            reports.len(),
            reports.len() - failed,
            failed,
            published,
            if args.dry_run {
                " (dry run: nothing published or deleted)"
            } else {
                ""
            }
        );
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} message(s) could not be redriven and stay in the queue"
    );
    Ok(())
}

/// One message: its report, and whether it may be deleted.
async fn redrive_one(
    args: &RedriveArgs,
    store: &DynamoStore,
    streams: &aws_sdk_dynamodbstreams::Client,
    bus: &EventBridgeBus,
    body: &str,
) -> (Value, bool) {
    let batch = match FailedBatch::parse(body) {
        Ok(b) => b,
        Err(e) => return (json!({"ok": false, "error": e.to_string()}), false),
    };
    let (from, to) = batch.window();
    let mut report = json!({
        "shard": batch.shard_id,
        "sequence_numbers": [batch.start_sequence_number, batch.end_sequence_number],
        "window": [rfc3339_millis(from), rfc3339_millis(to)],
    });
    let found = match window_events(store, streams, &batch).await {
        Ok(f) => f,
        Err(e) => {
            report["ok"] = json!(false);
            report["error"] = json!(e.to_string());
            return (report, false);
        }
    };
    report["requests"] = json!(found.requests);
    report["events"] = json!(found.events.len());
    match &found.stream {
        StreamRead::Read { records, .. } => report["stream_records"] = json!(records),
        StreamRead::Unavailable(why) => {
            report["stream_unavailable"] = json!(why);
            if !args.table_only {
                report["ok"] = json!(false);
                report["error"] = json!(
                    "the stream no longer holds this batch (rerun with --table-only to redrive what the table holds)"
                );
                return (report, false);
            }
        }
    }
    if args.dry_run {
        report["ok"] = json!(true);
        report["published"] = json!(0);
        return (report, false);
    }
    let ok = republish(bus, &found.events).await;
    report["ok"] = json!(ok);
    report["published"] = json!(if ok { found.events.len() } else { 0 });
    if !ok {
        report["error"] = json!("PutEvents did not accept every event; the message stays");
    }
    (report, ok)
}

fn line(r: &Value) -> String {
    let seqs = r["sequence_numbers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(".."));
    format!(
        "{} shard {} seq {}: {} request(s), {} stream record(s), {} event(s) -> {}{}",
        r["message_id"].as_str().unwrap_or("?"),
        r["shard"].as_str().unwrap_or("?"),
        seqs.unwrap_or_default(),
        r["requests"].as_u64().unwrap_or(0),
        r["stream_records"].as_u64().map_or("no".to_owned(), |n| n.to_string()),
        r["events"].as_u64().unwrap_or(0),
        if r["deleted"] == json!(true) {
            "published, deleted"
        } else if r["ok"] == json!(true) {
            "kept (dry run)"
        } else {
            "kept"
        },
        r["error"].as_str().map(|e| format!(": {e}")).unwrap_or_default(),
    )
}

//! `egress-admin redrive`: each on-failure message's batch found again (egress_core's redrive) and its
//! events re-published; a message is deleted only once PutEvents accepted every event of its window,
//! and its failure object (S3 destination) before it. Messages it cannot redrive stay in the queue
//! (visible again when the run ends) and fail the run. `--scan-bucket` also redrives the failure objects
//! no message points at any more.

use std::collections::BTreeSet;

use egress_core::{
    republish, rfc3339_millis, window_events, BatchRecords, DynamoStore, EventBridgeBus, FailedBatch, FailureNotice,
};
use serde_json::{json, Value};

use crate::cli::{ApiOptions, RedriveArgs};
use crate::error;
use crate::stack::pick;

/// Long enough to re-read a window and publish it before SQS shows the message to someone else.
const VISIBILITY_SECONDS: i32 = 300;

/// The queue, table, bus and failure bucket, from the flags or the stack's outputs, with their clients.
struct Redrive<'a> {
    args: &'a RedriveArgs,
    bucket: Option<String>,
    s3: aws_sdk_s3::Client,
    store: DynamoStore,
    streams: aws_sdk_dynamodbstreams::Client,
    bus: EventBridgeBus,
}

pub async fn run(options: &ApiOptions, args: &RedriveArgs, as_json: bool) -> anyhow::Result<()> {
    let outputs = options.outputs.as_ref();
    let queue_url = pick(args.queue_url.as_deref(), outputs, "PublishEventsDlqUrl", "--queue-url")?;
    let table = pick(args.table.as_deref(), outputs, "TableName", "--table")?;
    let bus = pick(args.bus.as_deref(), outputs, "EventBusName", "--bus")?;
    // Optional: only failure objects need it, and a run over older messages does without.
    let bucket = pick(args.bucket.as_deref(), outputs, "PublishFailuresBucketName", "--bucket").ok();
    if args.scan_bucket && bucket.is_none() {
        return Err(error::usage("--scan-bucket needs the failure bucket: give --bucket, or --stack").into());
    }
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let ctx = Redrive {
        args,
        bucket,
        s3: aws_sdk_s3::Client::new(&sdk),
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table),
        streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
        bus: EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), &bus),
    };

    let mut reports: Vec<Value> = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    let mut seen_objects = BTreeSet::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
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
            let (mut report, done) = ctx.message(body).await;
            if let Some(key) = report["object"].as_str() {
                seen_objects.insert(key.to_owned());
            }
            if done && !args.dry_run {
                sqs.delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| error::sdk("deleting a redriven message", e))?;
            } else {
                kept.push(handle.to_owned());
            }
            report["message_id"] = json!(m.message_id().unwrap_or_default());
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
            .queue_url(&queue_url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await;
    }
    if let (true, Some(bucket)) = (args.scan_bucket, ctx.bucket.as_deref()) {
        for key in ctx.objects(bucket).await? {
            if seen_objects.contains(&key) {
                continue;
            }
            let (mut report, done) = ctx.object(bucket, &key).await;
            report["deleted"] = json!(done && !args.dry_run);
            if !as_json {
                println!("{}", line(&report));
            }
            reports.push(report);
        }
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

impl Redrive<'_> {
    /// One queue message: its report, and whether it may be deleted.
    async fn message(&self, body: &str) -> (Value, bool) {
        match FailureNotice::parse(body) {
            Err(e) => (json!({"ok": false, "error": e.to_string()}), false),
            Ok(FailureNotice::Record(batch)) => self.batch(&batch).await,
            Ok(FailureNotice::Object { bucket, key }) => match &self.bucket {
                Some(ours) if *ours == bucket => self.object(ours, &key).await,
                // Never read a bucket a message names on its own say.
                Some(ours) => (
                    json!({"ok": false, "object": key,
                           "error": format!("the object is in bucket {bucket}, not the failure bucket {ours}: not read")}),
                    false,
                ),
                None => (
                    json!({"ok": false, "object": key,
                           "error": "a failure object: give --bucket (the stack's PublishFailuresBucketName) or --stack"}),
                    false,
                ),
            },
        }
    }

    /// One failure object: read, redriven, deleted once its events are published. An object already
    /// gone was redriven before (by `--scan-bucket`, or a run interrupted before the message's delete).
    async fn object(&self, bucket: &str, key: &str) -> (Value, bool) {
        let fail = |e: String| (json!({"ok": false, "object": key, "error": e}), false);
        let got = match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(got) => got,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return (
                    json!({"ok": true, "object": key, "published": 0, "already_redriven": true}),
                    true,
                )
            }
            Err(e) => {
                return fail(format!(
                    "reading the failure object: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                ))
            }
        };
        let body = match got.body.collect().await {
            Ok(b) => b.into_bytes(),
            Err(e) => return fail(format!("reading the failure object: {e}")),
        };
        let batch = match std::str::from_utf8(&body)
            .map_err(|e| e.to_string())
            .and_then(|text| FailedBatch::parse(text).map_err(|e| e.to_string()))
        {
            Ok(b) => b,
            Err(e) => return fail(e),
        };
        let (mut report, done) = self.batch(&batch).await;
        report["object"] = json!(key);
        if !done || self.args.dry_run {
            return (report, done);
        }
        if let Err(e) = self.s3.delete_object().bucket(bucket).key(key).send().await {
            report["ok"] = json!(false);
            report["error"] = json!(format!(
                "published, but the object stays (a later redrive publishes its events again, harmlessly): {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            ));
            return (report, false);
        }
        (report, true)
    }

    /// Every object in the failure bucket.
    async fn objects(&self, bucket: &str) -> anyhow::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self.s3.list_objects_v2().bucket(bucket).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| error::sdk("listing the failure bucket", e))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        }
        Ok(keys)
    }

    /// One failed batch: its report, and whether its events were all published.
    async fn batch(&self, batch: &FailedBatch) -> (Value, bool) {
        let (from, to) = batch.window();
        let mut report = json!({
            "shard": batch.shard_id,
            "sequence_numbers": [batch.start_sequence_number, batch.end_sequence_number],
            "window": [rfc3339_millis(from), rfc3339_millis(to)],
        });
        let found = match window_events(&self.store, &self.streams, batch).await {
            Ok(f) => f,
            Err(e) => {
                report["ok"] = json!(false);
                report["error"] = json!(e.to_string());
                return (report, false);
            }
        };
        report["requests"] = json!(found.requests);
        report["events"] = json!(found.events.len());
        match &found.records {
            BatchRecords::Payload { records, .. } => report["payload_records"] = json!(records),
            BatchRecords::Stream { records, .. } => report["stream_records"] = json!(records),
            BatchRecords::Unavailable(why) => {
                report["stream_unavailable"] = json!(why);
                if !self.args.table_only {
                    report["ok"] = json!(false);
                    report["error"] = json!(
                        "the stream no longer holds this batch (rerun with --table-only to redrive what the table holds)"
                    );
                    return (report, false);
                }
            }
        }
        if self.args.dry_run {
            report["ok"] = json!(true);
            report["published"] = json!(0);
            return (report, false);
        }
        let ok = republish(&self.bus, &found.events).await;
        report["ok"] = json!(ok);
        report["published"] = json!(if ok { found.events.len() } else { 0 });
        if !ok {
            report["error"] = json!("PutEvents did not accept every event; the message stays");
        }
        (report, ok)
    }
}

fn line(r: &Value) -> String {
    let seqs = r["sequence_numbers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(".."));
    let records = match (r["payload_records"].as_u64(), r["stream_records"].as_u64()) {
        (Some(n), _) => format!("{n} record(s) from the failure object"),
        (None, Some(n)) => format!("{n} stream record(s)"),
        (None, None) => "no stream records".to_owned(),
    };
    let what = match (r["message_id"].as_str(), r["object"].as_str()) {
        (Some(id), Some(key)) => format!("{id} (object {key})"),
        (Some(id), None) => id.to_owned(),
        (None, Some(key)) => format!("object {key}"),
        (None, None) => "?".to_owned(),
    };
    if r["already_redriven"] == json!(true) {
        let deleted = if r["deleted"] == json!(true) { " -> deleted" } else { "" };
        return format!("{what}: already redriven (its object is gone){deleted}");
    }
    format!(
        "{} shard {} seq {}: {} request(s), {}, {} event(s) -> {}{}",
        what,
        r["shard"].as_str().unwrap_or("?"),
        seqs.unwrap_or_default(),
        r["requests"].as_u64().unwrap_or(0),
        records,
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

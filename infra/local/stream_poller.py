#!/usr/bin/env python3
"""Local stand-in for the Lambda DynamoDB event source mapping of template.yaml.

Reads the table's stream on DynamoDB Local (DescribeStream / GetShardIterator / GetRecords, every
shard from TRIM_HORIZON, children after their parents; positions kept in memory), keeps the records
that match the event's FilterCriteria (moto's EventBridge pattern matcher), and invokes the function
through `cargo lambda watch`'s Invoke API with the Lambda DynamoDB event JSON, in batches of at most
BatchSize records.

Like ReportBatchItemFailures: the records before the first reported `itemIdentifier` are done, the
batch is retried from it after a backoff (0.5 s doubling to 5 s). An invoke that fails (watch not up,
connection refused, function error, bad response) retries the whole batch. After the mapping's
MaximumRetryAttempts retries, the failing records are given up as in AWS: an on-failure record in the
shape Lambda sends (requestContext, responseContext, DDBStreamBatchInfo with the shard, the sequence
numbers and the arrival times) goes to DestinationConfig.OnFailure's destination in moto, and the shard
moves on. To a bucket (an S3 destination) Lambda writes the record with the failed invocation's payload
(the records) as one object under `aws/lambda/<mapping UUID>/<shard>/YYYY/MM/DD/<time>-<UUID>`; to a
queue it sends the record alone. BisectBatchOnFunctionError is not emulated (the publisher reports partial
failures, so a bisection would only split what it already names).

Configuration comes from template.yaml; the environment can override:
  DYNAMODB_PORT, LAMBDA_PORT (infra/local/local.env), POLLER_FUNCTION, POLLER_POLL_SECONDS (0.25),
  POLLER_RECORD_FILE (append every record, before filtering, as a JSON line)
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from moto.events.models import EventPattern

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import local_env
from cfn_yaml import PSEUDO, Resolver, bucket_name, load_template

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEMPLATE = os.path.join(ROOT, "template.yaml")
REGION = PSEUDO["AWS::Region"]
DYNAMODB_URL = f"http://127.0.0.1:{int(local_env.setting('DYNAMODB_PORT'))}"
LAMBDA_URL = f"http://127.0.0.1:{int(local_env.setting('LAMBDA_PORT'))}"
# Appends every stream record, converted and before filtering, to this file (JSON lines): how the
# recorded stream fixtures of shared/tests/fixtures/ were made.
RECORD_FILE = os.environ.get("POLLER_RECORD_FILE", "")
POLL_SECONDS = float(os.environ.get("POLLER_POLL_SECONDS", "0.25"))
ITERATOR_REFRESH_SECONDS = 3.0  # renew an iterator that has seen nothing for this long
# generous: under `make dev` the first invoke compiles the function
INVOKE_TIMEOUT = float(os.environ.get("POLLER_INVOKE_TIMEOUT", "300"))
BACKOFF_MIN, BACKOFF_MAX = 0.5, 5.0
DESCRIBE_EVERY = 2.0

log = logging.getLogger("poller")


# ----------------------------------------------------------------------------------------------
# Configuration from the template
# ----------------------------------------------------------------------------------------------
class MappingConfig:
    def __init__(self, template_path: str = TEMPLATE) -> None:
        template = load_template(template_path)
        r = Resolver(template)
        resources = template["Resources"]
        tables = {lid: res for lid, res in resources.items() if res["Type"] == "AWS::DynamoDB::Table"}
        for lid, res in tables.items():
            name = r.resolve(res["Properties"]["TableName"])
            # A stand-in for the stream ARN that names its table (the poller reads the table's stream).
            stream_arn = f"arn:aws:dynamodb:{REGION}:000000000000:table/{name}/stream/local"
            r.resources[lid] = {"Ref": name, "StreamArn": stream_arn}
        found = None
        for lid, res in resources.items():
            if res["Type"] != "AWS::Serverless::Function":
                continue
            for ev in (res["Properties"].get("Events") or {}).values():
                if ev.get("Type") == "DynamoDB":
                    found = (lid, res, ev["Properties"])
        if not found:
            raise SystemExit("template.yaml has no function with a DynamoDB event")
        lid, res, props = found
        binary = ((res.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary") or lid
        self.function = os.environ.get("POLLER_FUNCTION", binary)
        # The stack's own table's stream, or an adopted table's (ExistingTableStreamArn): either way an ARN
        # `arn:...:table/<name>/stream/<label>`.
        stream = r.resolve(props["Stream"])
        self.table = stream.split(":table/", 1)[1].split("/stream/", 1)[0]
        self.batch_size = int(props.get("BatchSize", 100))
        self.starting_position = props.get("StartingPosition", "TRIM_HORIZON")
        self.filters = load_filters(props.get("FilterCriteria"))
        # -1: retry until the records expire (AWS's default); never given up locally then.
        self.max_retry_attempts = int(props.get("MaximumRetryAttempts", -1))
        self.function_arn = f"arn:aws:lambda:{REGION}:{PSEUDO['AWS::AccountId']}:function:{self.function}"
        self.on_failure_queue: str | None = None
        self.on_failure_bucket: str | None = None
        dest = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if isinstance(dest, dict) and "Fn::GetAtt" in dest:
            target_lid = dest["Fn::GetAtt"][0]
            target = resources[target_lid]
            if target["Type"] == "AWS::SQS::Queue":
                self.on_failure_queue = r.resolve(target["Properties"].get("QueueName") or target_lid)
            elif target["Type"] == "AWS::S3::Bucket":
                self.on_failure_bucket = bucket_name(r, target_lid, target.get("Properties") or {})
        # Stands in for the mapping's UUID, which names the failure objects' prefix.
        self.mapping_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.function_arn}#{stream}"))

    @property
    def on_failure_destination(self) -> str | None:
        if self.on_failure_bucket:
            return f"s3://{self.on_failure_bucket}"
        return self.on_failure_queue


# ----------------------------------------------------------------------------------------------
# Event filtering: Lambda filter criteria use EventBridge's pattern syntax, so moto's EventBridge
# matcher applies (exact values, prefix, suffix, anything-but, exists, numeric, nested objects,
# arrays as OR on both sides). It flattens objects into dotted paths and does not look into arrays of
# objects; a Lambda DynamoDB record has those only inside `L` attribute values, and patterns that
# reach into those are not emulated.
# ----------------------------------------------------------------------------------------------
def load_filters(criteria: dict[str, Any] | None) -> list[EventPattern]:
    """FilterCriteria.Filters[].Pattern (JSON strings). An invalid pattern fails here, at start."""
    return [EventPattern.load(f["Pattern"]) for f in (criteria or {}).get("Filters") or []]


def selected(filters: list[EventPattern], record: dict[str, Any]) -> bool:
    """As Lambda: no filters keep every record; several filters are OR-ed."""
    return not filters or any(f.matches_event(record) for f in filters)


# ----------------------------------------------------------------------------------------------
# Lambda event shape
# ----------------------------------------------------------------------------------------------
def wire(av: dict[str, Any]) -> dict[str, Any]:
    """botocore's parsed AttributeValue back to the JSON wire form (bytes -> base64)."""
    (t, v), = av.items()
    if t == "B":
        return {"B": base64.b64encode(v).decode()}
    if t == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in v]}
    if t == "M":
        return {"M": {k: wire(x) for k, x in v.items()}}
    if t == "L":
        return {"L": [wire(x) for x in v]}
    return {t: v}


def wire_map(m: dict[str, Any]) -> dict[str, Any]:
    return {k: wire(v) for k, v in m.items()}


def epoch(value: Any) -> int | float:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        ts = value.timestamp()
    else:
        ts = float(value)
    return int(ts) if ts == int(ts) else ts


def lambda_record(rec: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    d = rec["dynamodb"]
    out_d: dict[str, Any] = {}
    if "ApproximateCreationDateTime" in d:
        out_d["ApproximateCreationDateTime"] = epoch(d["ApproximateCreationDateTime"])
    out_d["Keys"] = wire_map(d.get("Keys", {}))
    if "NewImage" in d:
        out_d["NewImage"] = wire_map(d["NewImage"])
    if "OldImage" in d:
        out_d["OldImage"] = wire_map(d["OldImage"])
    out_d["SequenceNumber"] = d["SequenceNumber"]
    out_d["SizeBytes"] = d.get("SizeBytes", 0)
    if "StreamViewType" in d:  # always there; a default would go stale when the table's view changes
        out_d["StreamViewType"] = d["StreamViewType"]
    out = {
        "eventID": rec.get("eventID"),
        "eventName": rec.get("eventName"),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": out_d,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in rec:
        out["userIdentity"] = rec["userIdentity"]
    return out


# ----------------------------------------------------------------------------------------------
# Invoke
# ----------------------------------------------------------------------------------------------
class InvokeError(Exception):
    pass


def invoke(function: str, payload: dict[str, Any]) -> Any:
    url = f"{LAMBDA_URL}/2015-03-31/functions/{function}/invocations"
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=INVOKE_TIMEOUT) as resp:  # the URL is the local watch, on loopback
            body = resp.read()
            func_error = resp.headers.get("X-Amz-Function-Error")
            status = resp.status
    except urllib.error.HTTPError as e:
        raise InvokeError(f"HTTP {e.code}: {e.read()[:500]!r}") from None
    except (urllib.error.URLError, OSError) as e:
        raise InvokeError(f"cannot reach {url}: {getattr(e, 'reason', e)}") from None
    if func_error or status != 200:
        raise InvokeError(f"function error ({func_error or status}): {body[:500]!r}")
    if not body.strip():
        return None
    try:
        result = json.loads(body)
    except ValueError:
        raise InvokeError(f"response is not JSON: {body[:200]!r}") from None
    if isinstance(result, dict) and "errorType" in result and "batchItemFailures" not in result:
        raise InvokeError(f"function error: {result}")
    return result


def first_failure(result: Any, batch: list[dict[str, Any]]) -> int | None:
    """Index of the first record to retry, or None when the whole batch succeeded. As in Lambda:
    null, {} and an empty/null batchItemFailures are success; a response of another shape, or an
    empty/null/unknown itemIdentifier, fails the whole batch."""
    if result is None:
        return None
    if not isinstance(result, dict):
        log.warning("response is not an object (%r): retrying the whole batch", result)
        return 0
    failures = result.get("batchItemFailures")
    if failures is None or failures == []:
        return None
    if not isinstance(failures, list):
        log.warning("batchItemFailures is not a list (%r): retrying the whole batch", failures)
        return 0
    index = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
    first = len(batch)
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or ident not in index:
            log.warning("batchItemFailures has unknown itemIdentifier %r: retrying the whole batch", ident)
            return 0
        first = min(first, index[ident])
    return first


# ----------------------------------------------------------------------------------------------
# Stream reading
# ----------------------------------------------------------------------------------------------
class Shard:
    def __init__(self, shard_id: str, parent: str | None):
        self.id = shard_id
        self.parent = parent
        self.iterator: str | None = None
        self.last_seq: str | None = None  # last record read from the stream (filtered or not)
        self.buffer: list[dict[str, Any]] = []  # matching records, in Lambda form, not yet done
        self.closed = False  # the stream said there is nothing more in this shard
        self.retry_at = 0.0
        self.attempts = 0
        self.idle_since: float | None = None  # first empty GetRecords of the current idle spell

    @property
    def done(self) -> bool:
        return self.closed and not self.buffer


def client(service: str):
    """A boto3 client for DynamoDB Local."""
    conf = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3, read_timeout=30)
    return boto3.client(service, endpoint_url=DYNAMODB_URL, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test", aws_session_token="test", config=conf)


def send_to_queue(queue: str) -> Callable[[dict[str, Any]], None]:
    """Sends on-failure messages to `queue` in moto (looked up by name on each send: moto restarts)."""
    moto_url = f"http://127.0.0.1:{int(local_env.setting('MOTO_PORT'))}"
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="test",
                       aws_secret_access_key="test", aws_session_token="test",
                       config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3))

    def send(message: dict[str, Any]) -> None:
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
    return send


def send_to_bucket(bucket: str, mapping_uuid: str) -> Callable[[dict[str, Any]], None]:
    """Writes on-failure records as objects of `bucket` in moto, under the key Lambda uses."""
    moto_url = f"http://127.0.0.1:{int(local_env.setting('MOTO_PORT'))}"
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="test",
                      aws_secret_access_key="test", aws_session_token="test",
                      config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3))

    def send(message: dict[str, Any]) -> None:
        s3.put_object(Bucket=bucket, Key=object_key(mapping_uuid, message), Body=json.dumps(message).encode(),
                      ContentType="application/json")
    return send


def object_key(mapping_uuid: str, message: dict[str, Any]) -> str:
    """aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<random UUID>: how Lambda names
    an S3 destination's objects."""
    at = dt.datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00"))
    shard = message["DDBStreamBatchInfo"]["shardId"]
    return f"aws/lambda/{mapping_uuid}/{shard}/{at:%Y/%m/%d}/{at:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"


def iso_seconds(epoch_seconds: float) -> str:
    return dt.datetime.fromtimestamp(epoch_seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def on_failure_message(cfg: MappingConfig, stream_arn: str, shard_id: str, records: list[dict[str, Any]],
                       invokes: int, invoke_failed: bool) -> dict[str, Any]:
    """What Lambda sends to a stream mapping's on-failure destination: where the records are and, to a
    bucket only, the invocation's payload (the records, as JSON text)."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if invoke_failed:
        response["functionError"] = "Unhandled"
    message: dict[str, Any] = {
        "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": cfg.function_arn,
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": invokes},
        "responseContext": response,
        "version": "1.0",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": iso_seconds(first["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": iso_seconds(last["ApproximateCreationDateTime"]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }
    if cfg.on_failure_bucket:
        message["payload"] = json.dumps({"Records": records})
    return message


class Poller:
    """`ddb` and `streams` are boto3 clients (or fakes, in the tests); `invoke(function, payload)`
    returns the function's parsed response or raises InvokeError; `send_failure(message)` delivers an
    on-failure message; `clock` is monotonic seconds."""

    def __init__(self, cfg: MappingConfig, ddb: Any, streams: Any,
                 invoke: Callable[[str, dict[str, Any]], Any] = invoke,
                 clock: Callable[[], float] = time.monotonic,
                 send_failure: Callable[[dict[str, Any]], None] | None = None):
        self.cfg = cfg
        self.ddb = ddb
        self.streams = streams
        self.invoke = invoke
        self.clock = clock
        if send_failure is None and cfg.on_failure_bucket:
            send_failure = send_to_bucket(cfg.on_failure_bucket, cfg.mapping_uuid)
        elif send_failure is None and cfg.on_failure_queue:
            send_failure = send_to_queue(cfg.on_failure_queue)
        self.send_failure = send_failure
        self.stream_arn: str | None = None
        self.shards: dict[str, Shard] = {}
        self.last_describe = 0.0
        self.last_error = ""

    # -- discovery ------------------------------------------------------------------------------
    def check_stream(self) -> None:
        arn = self.ddb.describe_table(TableName=self.cfg.table)["Table"].get("LatestStreamArn")
        if arn != self.stream_arn:
            if self.stream_arn:
                pending = sum(len(s.buffer) for s in self.shards.values())
                log.warning("stream changed (%s -> %s); dropping state (%d undelivered records of the old "
                            "stream)", self.stream_arn, arn, pending)
            else:
                log.info("reading stream %s of table %s", arn, self.cfg.table)
            self.stream_arn = arn
            self.shards = {}

    def describe_shards(self) -> None:
        start: str | None = None
        while True:
            kw: dict[str, Any] = {"StreamArn": self.stream_arn}
            if start:
                kw["ExclusiveStartShardId"] = start
            desc = self.streams.describe_stream(**kw)["StreamDescription"]
            for s in desc.get("Shards", []):
                if s["ShardId"] not in self.shards:
                    self.shards[s["ShardId"]] = Shard(s["ShardId"], s.get("ParentShardId"))
                    log.info("shard %s (parent %s)", s["ShardId"], s.get("ParentShardId"))
            start = desc.get("LastEvaluatedShardId")
            if not start:
                break

    def ready(self, shard: Shard) -> bool:
        parent = self.shards.get(shard.parent) if shard.parent else None
        return parent is None or parent.done

    # -- reading --------------------------------------------------------------------------------
    def new_iterator(self, shard: Shard) -> None:
        kw: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.id}
        if shard.last_seq:
            kw.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.last_seq)
        else:
            kw["ShardIteratorType"] = self.cfg.starting_position
        shard.iterator = self.streams.get_shard_iterator(**kw)["ShardIterator"]

    def fetch(self, shard: Shard) -> int:
        try:
            if shard.iterator is None:
                self.new_iterator(shard)
            resp = self.streams.get_records(ShardIterator=shard.iterator, Limit=1000)
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code == "ExpiredIteratorException":
                log.info("shard %s: iterator expired; new iterator", shard.id)
                shard.iterator = None
                return 0
            if code == "TrimmedDataAccessException":
                # The records after last_seq are gone (past the stream's retention), so an
                # AFTER_SEQUENCE_NUMBER iterator would fail again: go on from the starting position
                # (TRIM_HORIZON: the oldest record left).
                log.warning("shard %s: records after %s were trimmed; reading on from %s", shard.id,
                            shard.last_seq, self.cfg.starting_position)
                shard.iterator = None
                shard.last_seq = None
                return 0
            raise
        n = 0
        for rec in resp.get("Records", []):
            shard.last_seq = rec["dynamodb"]["SequenceNumber"]
            lrec = lambda_record(rec, self.stream_arn or "")
            if RECORD_FILE:
                # Every record as the function would get it, before filtering: recorded fixtures.
                with open(RECORD_FILE, "a", encoding="utf-8") as f:
                    f.write(json.dumps(lrec) + "\n")
            if selected(self.cfg.filters, lrec):
                shard.buffer.append(lrec)
                n += 1
        shard.iterator = resp.get("NextShardIterator")
        # DynamoDB Local can hand out an iterator that never sees records written after it was created
        # (seen on an empty shard: new records showed up only once it expired, about 60 s later). Renew an
        # idle iterator from the last position every few seconds; with nothing read yet that re-reads from
        # the starting position, so nothing is skipped and nothing is delivered twice.
        if n or resp.get("Records"):
            shard.idle_since = None
        elif shard.idle_since is None:
            shard.idle_since = self.clock()
        elif self.clock() - shard.idle_since >= ITERATOR_REFRESH_SECONDS and shard.iterator is not None:
            shard.iterator = None
            shard.idle_since = None
        if shard.iterator is None and resp.get("NextShardIterator") is None:
            shard.closed = True
            log.info("shard %s closed", shard.id)
        return n

    # -- delivery -------------------------------------------------------------------------------
    def deliver(self, shard: Shard) -> None:
        batch = shard.buffer[: self.cfg.batch_size]
        seqs = f"{batch[0]['dynamodb']['SequenceNumber']}..{batch[-1]['dynamodb']['SequenceNumber']}"
        invoke_failed = False
        try:
            result = self.invoke(self.cfg.function, {"Records": batch})
            first = first_failure(result, batch)
        except InvokeError as e:
            first, result, invoke_failed = 0, None, True
            reason = str(e)
        else:
            reason = f"response {json.dumps(result)[:300]}" if first is not None else ""
        if first is None:
            del shard.buffer[: len(batch)]
            shard.attempts = 0
            shard.retry_at = 0.0
            log.info("%s: delivered %d record(s) %s", self.cfg.function, len(batch), seqs)
            return
        del shard.buffer[:first]
        if 0 <= self.cfg.max_retry_attempts < shard.attempts + 1 and self.send_failure:
            if self.give_up(shard, len(batch) - first, invoke_failed):
                return
        delay = min(BACKOFF_MAX, BACKOFF_MIN * (2 ** shard.attempts))
        shard.attempts += 1
        shard.retry_at = self.clock() + delay
        log.warning("%s: batch %s (%d records): %d done, retrying from %s in %.1fs (attempt %d): %s",
                    self.cfg.function, seqs, len(batch), first,
                    shard.buffer[0]["dynamodb"]["SequenceNumber"], delay, shard.attempts, reason)

    def give_up(self, shard: Shard, count: int, invoke_failed: bool) -> bool:
        """Retries exhausted: the failing records go to the on-failure destination and the shard moves
        on. False when the message could not be sent (the records stay and are retried)."""
        failed = shard.buffer[:count]
        message = on_failure_message(self.cfg, self.stream_arn or "", shard.id, failed, shard.attempts + 1,
                                     invoke_failed)
        try:
            assert self.send_failure is not None
            self.send_failure(message)
        except (BotoCoreError, ClientError) as e:
            log.warning("%s: on-failure destination unreachable (%s); keeping the records", self.cfg.function, e)
            return False
        del shard.buffer[:count]
        shard.attempts = 0
        shard.retry_at = 0.0
        info = message["DDBStreamBatchInfo"]
        log.error("%s: retries exhausted; %d record(s) %s..%s sent to %s", self.cfg.function, count,
                  info["startSequenceNumber"], info["endSequenceNumber"], self.cfg.on_failure_destination)
        return True

    # -- loop -----------------------------------------------------------------------------------
    def step(self) -> bool:
        """One pass over the shards; True when something happened."""
        now = self.clock()
        if now - self.last_describe >= DESCRIBE_EVERY or not self.shards:
            self.check_stream()
            if self.stream_arn:
                self.describe_shards()
            self.last_describe = now
        if not self.stream_arn:
            return False
        busy = False
        for shard in list(self.shards.values()):
            if shard.done or not self.ready(shard):
                continue
            if shard.buffer:
                if self.clock() >= shard.retry_at:
                    self.deliver(shard)
                    busy = True
            elif not shard.closed:
                if self.fetch(shard):
                    busy = True
        return busy

    def run(self) -> None:
        log.info("function %s via %s; table %s; batch %d; filters %s", self.cfg.function, LAMBDA_URL,
                 self.cfg.table, self.cfg.batch_size, json.dumps([f.get_pattern() for f in self.cfg.filters]))
        while True:
            try:
                busy = self.step()
                if self.last_error:
                    log.info("DynamoDB Local reachable again")
                    self.last_error = ""
            except (BotoCoreError, ClientError) as e:
                msg = str(e)
                if msg != self.last_error:
                    log.warning("stream read failed (will retry): %s", msg)
                    self.last_error = msg
                if isinstance(e, ClientError) and e.response["Error"]["Code"] == "ResourceNotFoundException":
                    self.stream_arn, self.shards = None, {}
                time.sleep(1.0)
                continue
            if not busy:
                time.sleep(POLL_SECONDS)


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Poller(MappingConfig(), client("dynamodb"), client("dynamodbstreams")).run()


if __name__ == "__main__":
    main()

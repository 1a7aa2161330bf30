"""stream_poller.py against in-memory fakes of DynamoDB Streams, DescribeTable and the Invoke API:
no network, no services, a fake clock (so nothing sleeps)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import unittest
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from moto.events.exceptions import InvalidEventPatternException

import stream_poller as sp

ARN = "arn:aws:dynamodb:ddblocal:000000000000:table/sec_egress_requests/stream/2026-05-01T12:00:00.000"
CREATED = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)  # 1777636800


def seq(n: int) -> str:
    return f"{n:021d}"


def stream_record(n: int, event: str = "INSERT", kind: str = "request", view: str = "NEW_IMAGE",
                  old_kind: str | None = None) -> dict[str, Any]:
    """A GetRecords record as botocore parses it (datetime, bytes), from DynamoDB Local (awsRegion)."""
    keys = {"pk": {"S": f"R#{n}"}, "sk": {"S": kind}}
    d: dict[str, Any] = {"ApproximateCreationDateTime": CREATED, "Keys": keys, "SequenceNumber": seq(n),
                         "SizeBytes": 40 + n, "StreamViewType": view}
    if event != "REMOVE":
        d["NewImage"] = {**keys, "kind": {"S": kind}}
    if old_kind:
        d["OldImage"] = {**keys, "kind": {"S": old_kind}}
    return {"eventID": f"e{n}", "eventName": event, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "ddblocal", "dynamodb": d}


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeStreams:
    """DynamoDB Streams in memory. An iterator is an absolute position in a shard; `trim` drops the
    oldest records like the 24 h retention; `fail` makes the next call of an operation raise."""

    def __init__(self) -> None:
        self.shards: dict[str, dict[str, Any]] = {}
        self.iterators: dict[str, tuple[str, int]] = {}
        self.iterator_calls: list[dict[str, Any]] = []
        self.errors: list[tuple[str, str]] = []

    def add_shard(self, shard_id: str, parent: str | None = None, records: list | None = None,
                  closed: bool = False) -> None:
        self.shards[shard_id] = {"parent": parent, "records": list(records or []), "trimmed": 0,
                                 "closed": closed}

    def put(self, shard_id: str, *records: dict[str, Any]) -> None:
        self.shards[shard_id]["records"].extend(records)

    def trim(self, shard_id: str, count: int) -> None:
        self.shards[shard_id]["trimmed"] = count

    def fail(self, operation: str, code: str) -> None:
        self.errors.append((operation, code))

    def _maybe_fail(self, operation: str) -> None:
        if self.errors and self.errors[0][0] == operation:
            raise client_error(self.errors.pop(0)[1], operation)

    def _iterator(self, shard_id: str, pos: int) -> str:
        token = f"it-{len(self.iterators)}"
        self.iterators[token] = (shard_id, pos)
        return token

    def describe_stream(self, StreamArn: str, ExclusiveStartShardId: str | None = None) -> dict[str, Any]:
        # one shard a page, so the poller has to follow LastEvaluatedShardId
        ids = list(self.shards)
        start = ids.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId else 0
        page = ids[start : start + 1]
        desc: dict[str, Any] = {"StreamArn": StreamArn, "Shards": [
            {"ShardId": i, **({"ParentShardId": self.shards[i]["parent"]} if self.shards[i]["parent"] else {})}
            for i in page]}
        if start + 1 < len(ids):
            desc["LastEvaluatedShardId"] = page[-1]
        return {"StreamDescription": desc}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str,
                           SequenceNumber: str | None = None) -> dict[str, Any]:
        self.iterator_calls.append({"ShardId": ShardId, "ShardIteratorType": ShardIteratorType,
                                    "SequenceNumber": SequenceNumber})
        self._maybe_fail("GetShardIterator")
        shard = self.shards[ShardId]
        if ShardIteratorType == "TRIM_HORIZON":
            pos = shard["trimmed"]
        elif ShardIteratorType == "AFTER_SEQUENCE_NUMBER":
            index = [r["dynamodb"]["SequenceNumber"] for r in shard["records"]].index(SequenceNumber)
            if index < shard["trimmed"]:
                raise client_error("TrimmedDataAccessException", "GetShardIterator")
            pos = index + 1
        else:
            raise AssertionError(f"unexpected iterator type {ShardIteratorType}")
        return {"ShardIterator": self._iterator(ShardId, pos)}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self._maybe_fail("GetRecords")
        shard_id, pos = self.iterators[ShardIterator]
        shard = self.shards[shard_id]
        if pos < shard["trimmed"]:
            raise client_error("TrimmedDataAccessException", "GetRecords")
        records = shard["records"][pos : pos + Limit]
        resp: dict[str, Any] = {"Records": records}
        end = pos + len(records)
        if not (shard["closed"] and end == len(shard["records"])):
            resp["NextShardIterator"] = self._iterator(shard_id, end)
        return resp


class FakeTable:
    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {"Table": {"TableName": TableName, "LatestStreamArn": ARN}}


class FakeInvoke:
    """The Invoke API: answers from `responses` in order (an exception is raised), then null
    (success). Keeps each batch's sequence numbers; the payload goes through JSON like the real one."""

    def __init__(self, *responses: Any) -> None:
        self.responses = list(responses)
        self.batches: list[list[str]] = []
        self.payloads: list[dict[str, Any]] = []

    def __call__(self, function: str, payload: dict[str, Any]) -> Any:
        payload = json.loads(json.dumps(payload))
        self.payloads.append(payload)
        self.batches.append([r["dynamodb"]["SequenceNumber"] for r in payload["Records"]])
        result = self.responses.pop(0) if self.responses else None
        if isinstance(result, Exception):
            raise result
        return result


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def failures(*ns: int) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": seq(n)} for n in ns]}


class PollerTest(unittest.TestCase):
    """The template's mapping (batch size, filters), with the fakes."""

    cfg: sp.MappingConfig

    @classmethod
    def setUpClass(cls) -> None:
        cls.cfg = sp.MappingConfig()

    def setUp(self) -> None:
        self.streams = FakeStreams()
        self.invoke = FakeInvoke()
        self.clock = FakeClock()
        self.sent: list[dict[str, Any]] = []
        self.poller = sp.Poller(self.cfg, FakeTable(), self.streams, self.invoke, self.clock, self.sent.append)

    def steps(self, n: int = 5, seconds: float = 0.0) -> None:
        for _ in range(n):
            self.poller.step()
            self.clock.advance(seconds)

    def iterator_types(self, shard: str = "s1") -> list[tuple[str, str | None]]:
        return [(c["ShardIteratorType"], c["SequenceNumber"]) for c in self.streams.iterator_calls
                if c["ShardId"] == shard]


class ReadingTest(PollerTest):
    def test_new_shard_is_read_from_trim_horizon_in_batches_of_batch_size(self) -> None:
        self.poller.cfg = cfg = copy.copy(self.cfg)
        cfg.batch_size = 2
        self.streams.add_shard("s1", records=[stream_record(n) for n in (1, 2, 3)])
        self.steps()
        self.assertEqual(self.iterator_types(), [("TRIM_HORIZON", None)])
        self.assertEqual(self.invoke.batches, [[seq(1), seq(2)], [seq(3)]])

    def test_idle_iterator_is_renewed_after_refresh_seconds(self) -> None:
        self.streams.add_shard("s1")
        self.steps(1)  # the first empty read starts the idle spell
        self.clock.advance(sp.ITERATOR_REFRESH_SECONDS - 0.5)
        self.steps(3)
        self.assertEqual(self.iterator_types(), [("TRIM_HORIZON", None)])
        self.clock.advance(0.5)
        self.steps(2)  # renewed, from the start: nothing was read yet
        self.assertEqual(self.iterator_types(), [("TRIM_HORIZON", None)] * 2)

    def test_renewed_iterator_resumes_after_the_last_record(self) -> None:
        self.streams.add_shard("s1", records=[stream_record(1), stream_record(2)])
        self.steps(3)
        self.steps(5, seconds=1.0)
        self.assertEqual(self.iterator_types(), [("TRIM_HORIZON", None), ("AFTER_SEQUENCE_NUMBER", seq(2))])
        self.streams.put("s1", stream_record(3))
        self.steps(5, seconds=1.0)
        self.assertEqual(self.invoke.batches, [[seq(1), seq(2)], [seq(3)]])  # nothing twice

    def test_children_are_read_after_their_parent_is_done(self) -> None:
        # the child is listed first and the parent's first delivery fails: the child must still wait
        self.streams.add_shard("child", parent="parent", records=[stream_record(3)])
        self.streams.add_shard("parent", records=[stream_record(1), stream_record(2)], closed=True)
        self.invoke.responses = [sp.InvokeError("watch is not up")]
        with self.assertLogs("poller", "WARNING"):
            self.steps(5)
        self.assertEqual(self.iterator_types("child"), [])
        self.clock.advance(sp.BACKOFF_MIN)
        self.steps(5)
        self.assertTrue(self.poller.shards["parent"].done)
        self.assertEqual(self.iterator_types("child"), [("TRIM_HORIZON", None)])
        self.assertEqual(self.invoke.batches, [[seq(1), seq(2)], [seq(1), seq(2)], [seq(3)]])

    def test_expired_iterator_is_replaced_from_the_last_record(self) -> None:
        self.streams.add_shard("s1", records=[stream_record(1)])
        self.steps(2)
        self.streams.fail("GetRecords", "ExpiredIteratorException")
        self.streams.put("s1", stream_record(2))
        self.steps(3)
        self.assertEqual(self.iterator_types(), [("TRIM_HORIZON", None), ("AFTER_SEQUENCE_NUMBER", seq(1))])
        self.assertEqual(self.invoke.batches, [[seq(1)], [seq(2)]])

    def test_trimmed_records_are_skipped_from_trim_horizon(self) -> None:
        self.streams.add_shard("s1", records=[stream_record(1)])
        self.steps(2)
        self.streams.put("s1", stream_record(2), stream_record(3))
        self.streams.trim("s1", 2)  # 1 (read) and 2 (not read) are gone
        with self.assertLogs("poller", "WARNING") as logs:
            self.steps(3)
        self.assertIn(f"records after {seq(1)} were trimmed", logs.output[0])
        self.assertEqual(self.iterator_types(), [("TRIM_HORIZON", None)] * 2)
        self.assertEqual(self.invoke.batches, [[seq(1)], [seq(3)]])

    def test_trimmed_position_on_a_new_iterator(self) -> None:
        self.streams.add_shard("s1", records=[stream_record(1)])
        self.steps(2)
        self.streams.put("s1", stream_record(2))
        self.streams.trim("s1", 1)
        self.streams.fail("GetRecords", "ExpiredIteratorException")
        with self.assertLogs("poller", "WARNING"):
            self.steps(4)
        self.assertEqual(self.iterator_types(), [("TRIM_HORIZON", None), ("AFTER_SEQUENCE_NUMBER", seq(1)),
                                                 ("TRIM_HORIZON", None)])
        self.assertEqual(self.invoke.batches, [[seq(1)], [seq(2)]])

    def test_closed_shard_is_done_once_delivered(self) -> None:
        self.streams.add_shard("s1", records=[stream_record(1)], closed=True)
        self.steps(3)
        self.assertTrue(self.poller.shards["s1"].done)
        self.assertEqual(len(self.streams.iterator_calls), 1)


class DeliveryTest(PollerTest):
    def setUp(self) -> None:
        super().setUp()
        self.streams.add_shard("s1", records=[stream_record(n) for n in (1, 2, 3, 4)])

    def test_records_before_the_first_failure_are_done_and_the_rest_retried_after_a_backoff(self) -> None:
        self.invoke.responses = [failures(4, 2)]
        with self.assertLogs("poller", "WARNING"):
            self.steps(5)
        self.assertEqual(self.invoke.batches, [[seq(1), seq(2), seq(3), seq(4)]])  # backing off
        self.clock.advance(sp.BACKOFF_MIN)
        self.steps(5)
        self.assertEqual(self.invoke.batches[1:], [[seq(2), seq(3), seq(4)]])

    def test_failed_invoke_retries_the_whole_batch_with_a_doubling_backoff(self) -> None:
        self.invoke.responses = [sp.InvokeError("connection refused"), sp.InvokeError("function error")]
        with self.assertLogs("poller", "WARNING"):
            self.steps(3)
            self.clock.advance(sp.BACKOFF_MIN)
            self.steps(3)
            self.clock.advance(2 * sp.BACKOFF_MIN - 0.25)
            self.steps(3)
        self.assertEqual(len(self.invoke.batches), 2)
        self.clock.advance(0.25)
        self.steps(3)
        self.assertEqual(self.invoke.batches, [[seq(n) for n in (1, 2, 3, 4)]] * 3)
        self.assertEqual(self.poller.shards["s1"].attempts, 0)

    def test_unknown_item_identifier_retries_the_whole_batch(self) -> None:
        self.invoke.responses = [{"batchItemFailures": [{"itemIdentifier": "nope"}]}]
        with self.assertLogs("poller", "WARNING"):
            self.steps(3)
        self.clock.advance(sp.BACKOFF_MIN)
        self.steps(3)
        self.assertEqual(self.invoke.batches, [[seq(n) for n in (1, 2, 3, 4)]] * 2)

    def test_first_failure_reads_the_response_as_lambda_does(self) -> None:
        batch = [sp.lambda_record(stream_record(n), ARN) for n in (1, 2, 3)]
        for success in (None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}):
            self.assertIsNone(sp.first_failure(success, batch), success)
        with self.assertLogs("poller", "WARNING"):
            for whole in ("ok", [], {"batchItemFailures": {}}, {"batchItemFailures": [{}]},
                          {"batchItemFailures": [{"itemIdentifier": ""}]}):
                self.assertEqual(sp.first_failure(whole, batch), 0, whole)
        self.assertEqual(sp.first_failure(failures(3, 2), batch), 1)


class OnFailureTest(PollerTest):
    """MaximumRetryAttempts (10 in the template), then the on-failure destination."""

    def setUp(self) -> None:
        super().setUp()
        self.streams.add_shard("s1", records=[stream_record(n) for n in (1, 2, 3, 4)])

    def run_out(self, responses: list[Any]) -> None:
        self.invoke.responses = responses
        with self.assertLogs("poller", "WARNING"):
            for _ in range(self.cfg.max_retry_attempts + 1):
                self.steps(2)
                self.clock.advance(sp.BACKOFF_MAX)

    def test_failing_records_go_to_the_bucket_in_lambdas_shape_after_the_last_retry(self) -> None:
        tries = self.cfg.max_retry_attempts + 1
        self.run_out([failures(3, 4)] + [failures(3, 4)] * (tries - 1))
        self.assertEqual(len(self.invoke.batches), tries)
        self.assertEqual(self.invoke.batches[1:], [[seq(3), seq(4)]] * (tries - 1))
        self.assertEqual(len(self.sent), 1)
        msg = self.sent[0]
        self.assertEqual(msg["requestContext"]["condition"], "RetryAttemptsExhausted")
        self.assertEqual(msg["requestContext"]["approximateInvokeCount"], tries)
        self.assertTrue(msg["requestContext"]["functionArn"].endswith(":function:publish-events"))
        self.assertEqual(msg["responseContext"], {"statusCode": 200, "executedVersion": "$LATEST"})
        self.assertEqual(msg["version"], "1.0")
        self.assertEqual(msg["DDBStreamBatchInfo"], {
            "shardId": "s1", "startSequenceNumber": seq(3), "endSequenceNumber": seq(4),
            "approximateArrivalOfFirstRecord": "2026-05-01T12:00:00Z",
            "approximateArrivalOfLastRecord": "2026-05-01T12:00:00Z", "batchSize": 2, "streamArn": ARN})
        # To an S3 destination, the failed invocation's payload too: the records, as JSON text.
        payload = json.loads(msg["payload"])
        self.assertEqual([r["dynamodb"]["SequenceNumber"] for r in payload["Records"]], [seq(3), seq(4)])
        self.assertEqual(payload["Records"][0], sp.lambda_record(stream_record(3), ARN))
        key = sp.object_key(self.cfg.mapping_uuid, msg)
        uuid_, day, at = r"[0-9a-f-]{36}", r"\d{4}/\d{2}/\d{2}", r"\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}"
        self.assertRegex(key, rf"^aws/lambda/{uuid_}/s1/{day}/{at}-{uuid_}$")
        day_of_message = msg["timestamp"][:10].replace("-", "/")
        self.assertTrue(key.startswith(f"aws/lambda/{self.cfg.mapping_uuid}/s1/{day_of_message}/"))
        # The shard moved on: later records are delivered.
        self.streams.put("s1", stream_record(5))
        self.steps(3)
        self.assertEqual(self.invoke.batches[-1], [seq(5)])
        self.assertEqual(len(self.sent), 1)

    def test_a_queue_destination_gets_the_record_without_the_records(self) -> None:
        self.poller.cfg = cfg = copy.copy(self.cfg)
        cfg.on_failure_bucket, cfg.on_failure_queue = None, "egress-publish-events-dlq"
        self.run_out([failures(3, 4)] * (cfg.max_retry_attempts + 1))
        self.assertEqual(self.sent[0]["DDBStreamBatchInfo"]["batchSize"], 2)
        self.assertNotIn("Records", json.dumps(self.sent[0]))
        self.assertNotIn("payload", self.sent[0])

    def test_a_failing_invoke_is_reported_as_a_function_error(self) -> None:
        self.run_out([sp.InvokeError("boom")] * (self.cfg.max_retry_attempts + 1))
        self.assertEqual(self.sent[0]["responseContext"]["functionError"], "Unhandled")
        self.assertEqual(self.sent[0]["DDBStreamBatchInfo"]["batchSize"], 4)

    def test_records_stay_while_the_destination_is_unreachable(self) -> None:
        def unreachable(_: dict[str, Any]) -> None:
            raise client_error("ServiceUnavailable", "SendMessage")
        self.poller.send_failure = unreachable
        self.run_out([sp.InvokeError("boom")] * (self.cfg.max_retry_attempts + 3))
        self.assertEqual(len(self.poller.shards["s1"].buffer), 4)


class FilterTest(PollerTest):
    REQUEST: ClassVar[dict] = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["request"]}}}}
    APPROVAL: ClassVar[dict] = {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"kind": {"S": ["approval"]}}}}
    SLOT: ClassVar[dict] = {"eventName": ["REMOVE"], "dynamodb": {"OldImage": {"kind": {"S": ["approval_slot"]}}}}

    @staticmethod
    def filters(*patterns: dict[str, Any]) -> list:
        return sp.load_filters({"Filters": [{"Pattern": json.dumps(p)} for p in patterns]})

    @staticmethod
    def record(n: int, event: str = "INSERT", kind: str = "request", **kw: Any) -> dict[str, Any]:
        return sp.lambda_record(stream_record(n, event, kind, **kw), ARN)

    def test_template_mapping(self) -> None:
        cfg = self.cfg
        self.assertEqual((cfg.function, cfg.table, cfg.batch_size, cfg.starting_position),
                         ("publish-events", "egress-sec_egress_requests", 100, "TRIM_HORIZON"))
        self.assertEqual((cfg.max_retry_attempts, cfg.on_failure_queue, cfg.on_failure_bucket),
                         (10, None, "egress-publishfailuresbucket"))
        self.assertTrue(sp.selected(cfg.filters, self.record(1)))
        for event, kind in (("INSERT", "idempotency"), ("MODIFY", "request"), ("REMOVE", "request")):
            rec = self.record(2, event, kind, old_kind=kind if event != "INSERT" else None)
            self.assertFalse(sp.selected(cfg.filters, rec), (event, kind))

    def test_unmatched_records_are_skipped_and_the_position_still_advances(self) -> None:
        self.streams.add_shard("s1", records=[stream_record(1), stream_record(2, kind="idempotency"),
                                              stream_record(3, "MODIFY", view="NEW_AND_OLD_IMAGES",
                                                            old_kind="request")])
        self.steps(3)
        self.steps(5, seconds=1.0)
        self.assertEqual(self.invoke.batches, [[seq(1)]])
        self.assertEqual(self.iterator_types()[-1], ("AFTER_SEQUENCE_NUMBER", seq(3)))

    def test_several_filters_are_ored(self) -> None:
        self.poller.cfg = cfg = copy.copy(self.cfg)
        cfg.filters = self.filters(self.REQUEST, self.APPROVAL, self.SLOT)
        view = "NEW_AND_OLD_IMAGES"
        self.streams.add_shard("s1", records=[
            stream_record(1, view=view),
            stream_record(2, "MODIFY", "approval", view, old_kind="approval"),
            stream_record(3, "MODIFY", "request", view, old_kind="request"),
            stream_record(4, "REMOVE", "approval_slot", view, old_kind="approval_slot"),
            stream_record(5, "INSERT", "approval", view),
        ])
        self.steps(3)
        self.assertEqual(self.invoke.batches, [[seq(1), seq(2), seq(4)]])

    def test_no_filters_keep_every_record(self) -> None:
        self.assertTrue(sp.selected([], self.record(1, "REMOVE", old_kind="request")))

    def test_pattern_syntax(self) -> None:
        rec = self.record(7, "MODIFY", "approval", old_kind="request", view="NEW_AND_OLD_IMAGES")
        rec["dynamodb"]["NewImage"]["tags"] = {"SS": ["a", "b"]}
        cases = {
            # exact, nested objects, arrays as OR in the pattern and in the record
            '{"eventName": ["INSERT", "MODIFY"]}': True,
            '{"dynamodb": {"NewImage": {"tags": {"SS": ["b"]}}}}': True,
            '{"dynamodb": {"OldImage": {"kind": {"S": ["approval"]}}}}': False,
            '{"dynamodb": {"NewImage": {"kind": {"S": [{"prefix": "appr"}]}}}}': True,
            '{"dynamodb": {"NewImage": {"kind": {"S": [{"anything-but": ["approval"]}]}}}}': False,
            '{"dynamodb": {"NewImage": {"kind": {"S": [{"anything-but": "request"}]}}}}': True,
            # anything-but does not match a missing field, exists does
            '{"dynamodb": {"NewImage": {"x": {"S": [{"anything-but": "request"}]}}}}': False,
            '{"dynamodb": {"NewImage": {"x": {"S": [{"exists": false}]}}}}': True,
            '{"userIdentity": {"type": [{"exists": true}]}}': False,
            '{"dynamodb": {"SizeBytes": [{"numeric": [">", 40, "<=", 47]}]}}': True,
            '{"dynamodb": {"SizeBytes": [{"numeric": [">", 47]}]}}': False,
        }
        for pattern, expected in cases.items():
            self.assertEqual(sp.selected(sp.load_filters({"Filters": [{"Pattern": pattern}]}), rec), expected,
                             pattern)

    def test_invalid_pattern_fails_at_load(self) -> None:
        with self.assertRaises(InvalidEventPatternException):
            sp.load_filters({"Filters": [{"Pattern": '{"eventName": "INSERT"}'}]})


class LambdaRecordTest(unittest.TestCase):
    def test_insert(self) -> None:
        rec = stream_record(1)
        rec["dynamodb"]["NewImage"].update({
            "blob": {"B": b"\x00\xff"}, "blobs": {"BS": [b"a", b"b"]}, "n": {"N": "1.5"}, "ok": {"BOOL": True},
            "none": {"NULL": True}, "tags": {"SS": ["x"]},
            "nested": {"M": {"l": {"L": [{"B": b"z"}, {"N": "2"}]}}},
        })
        self.assertEqual(sp.lambda_record(rec, ARN), {
            "eventID": "e1",
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1777636800,
                "Keys": {"pk": {"S": "R#1"}, "sk": {"S": "request"}},
                "NewImage": {
                    "pk": {"S": "R#1"}, "sk": {"S": "request"}, "kind": {"S": "request"},
                    "blob": {"B": "AP8="}, "blobs": {"BS": ["YQ==", "Yg=="]}, "n": {"N": "1.5"},
                    "ok": {"BOOL": True}, "none": {"NULL": True}, "tags": {"SS": ["x"]},
                    "nested": {"M": {"l": {"L": [{"B": "eg=="}, {"N": "2"}]}}},
                },
                "SequenceNumber": seq(1),
                "SizeBytes": 41,
                "StreamViewType": "NEW_IMAGE",
            },
            "eventSourceARN": ARN,
        })

    def test_modify_passes_the_old_image(self) -> None:
        out = sp.lambda_record(stream_record(2, "MODIFY", "approval", "NEW_AND_OLD_IMAGES", "approval"), ARN)
        self.assertEqual(out["dynamodb"]["OldImage"]["kind"], {"S": "approval"})
        self.assertEqual(out["dynamodb"]["NewImage"]["kind"], {"S": "approval"})
        self.assertEqual(out["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES")
        self.assertNotIn("userIdentity", out)

    def test_ttl_delete_passes_the_user_identity(self) -> None:
        rec = stream_record(3, "REMOVE", "approval_slot", "NEW_AND_OLD_IMAGES", "approval_slot")
        rec["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        out = sp.lambda_record(rec, ARN)
        self.assertEqual(out["userIdentity"], {"type": "Service", "principalId": "dynamodb.amazonaws.com"})
        self.assertEqual(out["dynamodb"]["OldImage"]["kind"], {"S": "approval_slot"})
        self.assertNotIn("NewImage", out["dynamodb"])

    def test_creation_time_is_epoch_seconds(self) -> None:
        plus2 = dt.timezone(dt.timedelta(hours=2))
        self.assertEqual(sp.epoch(CREATED.astimezone(plus2)), 1777636800)
        self.assertEqual(sp.epoch(CREATED.replace(tzinfo=None)), 1777636800)  # naive is UTC
        self.assertEqual(sp.epoch(CREATED + dt.timedelta(milliseconds=500)), 1777636800.5)


if __name__ == "__main__":
    unittest.main()

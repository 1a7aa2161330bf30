"""Schemathesis hooks of the contract test (infra/local/contract.sh loads this file through
SCHEMATHESIS_HOOKS).

Two kinds of generated cases are not sent, because the local HTTP front end (`cargo lambda watch`,
standing in for API Gateway) answers them itself with a 500 before it builds the API Gateway event,
so our code never runs and the answer says nothing about the API:

- non-ASCII characters in a header: `requests` encodes header values as Latin-1, so they reach the
  server as bytes that are not UTF-8;
- a body that is not valid UTF-8 sent as `application/json` or `text/*`: watch puts such bodies
  into the event as a string and fails to decode them.

Everything else is sent: non-ASCII in JSON bodies, query parameters and paths; printable-ASCII header
values that break the rules (they must get a documented 4xx); bodies that are not JSON at all.

The hooks also count the requests actually sent, by status, into the JSON file named by
CONTRACT_STATS (contract.sh prints the summary line from it).
"""

import atexit
import collections
import json
import os
import threading

import schemathesis

_lock = threading.Lock()
_by_status: collections.Counter = collections.Counter()
_by_operation: collections.Counter = collections.Counter()
_network_errors = 0


def _write_stats() -> None:
    path = os.environ.get("CONTRACT_STATS")
    if not path:
        return
    with _lock:
        stats = {
            "requests": sum(_by_status.values()) + _network_errors,
            "by_status": {str(k): v for k, v in sorted(_by_status.items())},
            "by_operation": dict(sorted(_by_operation.items())),
            "server_errors": sum(v for k, v in _by_status.items() if k >= 500),
            "network_errors": _network_errors,
        }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(stats, f, indent=1)


atexit.register(_write_stats)


@schemathesis.hook
def after_call(context, case, response):
    with _lock:
        _by_status[response.status_code] += 1
        _by_operation[f"{case.method.upper()} {case.path}"] += 1


@schemathesis.hook
def after_network_error(context, case, request):
    global _network_errors
    with _lock:
        _network_errors += 1
        _by_operation[f"{case.method.upper()} {case.path}"] += 1


def _ascii_headers(headers) -> bool:
    return all(
        part.isascii()
        for name, value in (headers or {}).items()
        for part in (name, value)
        if isinstance(part, (str, bytes, bytearray))
    )


def _utf8_body(case) -> bool:
    body = case.body
    if not isinstance(body, (bytes, bytearray)):
        return True  # JSON values are serialized as UTF-8; no body at all is fine
    media_type = (case.media_type or "").lower()
    if not media_type.startswith(("text/", "application/json")):
        return True  # watch base64-encodes other media types
    try:
        bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@schemathesis.hook
def filter_case(context, case):
    return _ascii_headers(case.headers) and _utf8_body(case)

#!/usr/bin/env python3
"""`moto_server`, with one local-only performance patch.

moto (5.2) computes every queue attribute, including the ApproximateNumberOfMessages* counts that
walk the whole queue, each time it enqueues a message (SendMessage, SendMessageBatch and every
EventBridge -> SQS delivery). Enqueueing is then O(queue length): with a few thousand undrained
events in `egress-all-events` each PutEvents takes hundreds of milliseconds and the local outbox
falls minutes behind. The patch makes those counts read as 0 *only while a message is being
enqueued* (the enqueue path reads just ContentBasedDeduplication); GetQueueAttributes is unchanged.

Usage: moto_server.py [moto_server options], e.g. -H 127.0.0.1 -p 5000
"""

from __future__ import annotations

import sys
import threading

from moto.server import main
from moto.sqs import models as sqs_models

_state = threading.local()
_COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_delayed",
    "approximate_number_of_messages_not_visible",
)


def _patch() -> None:
    queue = sqs_models.Queue
    backend = sqs_models.SQSBackend
    if not all(isinstance(getattr(queue, n, None), property) for n in _COUNTS) or not hasattr(
        backend, "send_message"
    ):
        print("[moto_server.py] moto changed shape; running unpatched", file=sys.stderr)
        return

    for name in _COUNTS:
        original = getattr(queue, name).fget

        def count(self, _original=original):
            if getattr(_state, "enqueueing", False):
                return 0
            return _original(self)

        setattr(queue, name, property(count))

    original_send = backend.send_message

    def send_message(self, *args, **kwargs):
        outer = getattr(_state, "enqueueing", False)
        _state.enqueueing = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            _state.enqueueing = outer

    backend.send_message = send_message


if __name__ == "__main__":
    _patch()
    sys.argv[0] = "moto_server"
    sys.exit(main())

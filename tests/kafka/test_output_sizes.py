"""An output is refused exactly when the producer would refuse it, without counting
every output exactly.

``oversize`` clears a message by a bound from its lengths (issue 13: the exact estimate
was a second size count per output, beside the one the record batch makes) and counts
exactly only near the limit; it must agree with the exact count at every limit.
"""

from __future__ import annotations

import pytest

from stream.core.transport import OutgoingMessage
from stream.kafka._sender import oversize, record_size

MESSAGES = [
    OutgoingMessage("out", b"x" * 100),
    OutgoingMessage("out", None, b"key"),
    OutgoingMessage("out", b"x" * 300, b"k" * 200),
    OutgoingMessage("out", b"v", b"k", (("traceparent", b"00-" + b"a" * 52),)),
    OutgoingMessage("out", b"v" * 1000, None, (("naïve-ü", b""), ("x", b"y" * 130))),
]


@pytest.mark.parametrize("message", MESSAGES)
def test_oversize_agrees_with_the_exact_size_at_every_limit(message: OutgoingMessage) -> None:
    size = record_size(message)
    for limit in range(size - 300, size + 300):
        assert oversize(message, limit) == (size if size > limit else None), limit

"""stream's core: what a service author writes with.

Subclass :class:`Service`, mark async methods with :func:`consume` and :func:`produce`,
and set a delivery policy where the default (at-least-once, three tries, then the
``<topic>.dlq`` dead-letter topic) does not fit. Whoever writes a transport or a tool
that reads services uses :mod:`stream.core.transport`; every other module of this
package is private.
"""

from stream.core._codec import Codec, JsonCodec
from stream.core._decorators import consume, produce
from stream.core._delivery import DeadLetter, DeliveryPolicy, Guarantee, Retry
from stream.core._errors import (
    BindError,
    DecodeError,
    EncodeError,
    HookError,
    NotRunningError,
    StreamError,
)
from stream.core._injection import Logger
from stream.core._messages import (
    HeadersInput,
    Message,
    OutgoingMessage,
    Response,
    TopicPartition,
)
from stream.core._middleware import CallNext, Middleware
from stream.core._msgpack import MsgPackCodec
from stream.core._propagation import PropagateHeaders
from stream.core._publisher import Publisher, outgoing
from stream.core._requests import Request, RequestError, RequestTimeoutError
from stream.core._service import Service
from stream.core._topics import Topic

__all__ = (
    "BindError",
    "CallNext",
    "Codec",
    "DeadLetter",
    "DecodeError",
    "DeliveryPolicy",
    "EncodeError",
    "Guarantee",
    "HeadersInput",
    "HookError",
    "JsonCodec",
    "Logger",
    "Message",
    "Middleware",
    "MsgPackCodec",
    "NotRunningError",
    "OutgoingMessage",
    "PropagateHeaders",
    "Publisher",
    "Request",
    "RequestError",
    "RequestTimeoutError",
    "Response",
    "Retry",
    "Service",
    "StreamError",
    "Topic",
    "TopicPartition",
    "consume",
    "outgoing",
    "produce",
)

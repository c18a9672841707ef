"""stream's core: services, handlers, delivery policies and the ``Transport`` interface."""

from stream.core.binding import HandlerSpec
from stream.core.decorators import consume, produce
from stream.core.delivery import DeadLetter, DeliveryPolicy, Guarantee, Retry
from stream.core.errors import (
    BindError,
    DecodeError,
    EncodeError,
    HookError,
    NotRunningError,
    StreamError,
)
from stream.core.injection import Logger
from stream.core.messages import HeadersInput, Message, OutgoingMessage, TopicPartition
from stream.core.options import ConsumeOptions, ProduceOptions
from stream.core.publisher import Publisher, outgoing
from stream.core.service import Service
from stream.core.transport import (
    Failure,
    Outcome,
    RecordHandler,
    ServerDescription,
    Subscription,
    Transport,
    TransportDescription,
)

__all__ = (
    "BindError",
    "ConsumeOptions",
    "DeadLetter",
    "DecodeError",
    "DeliveryPolicy",
    "EncodeError",
    "Failure",
    "Guarantee",
    "HandlerSpec",
    "HeadersInput",
    "HookError",
    "Logger",
    "Message",
    "NotRunningError",
    "Outcome",
    "OutgoingMessage",
    "ProduceOptions",
    "Publisher",
    "RecordHandler",
    "Retry",
    "ServerDescription",
    "Service",
    "StreamError",
    "Subscription",
    "TopicPartition",
    "Transport",
    "TransportDescription",
    "consume",
    "outgoing",
    "produce",
)

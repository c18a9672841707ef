"""The per-message path: decode, validate, call the handler, retry, build outputs.

A ``Dispatcher`` is built once per handler when its service starts; everything it
needs per message (the decoder, the injectors, the output targets) is ready by then.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio

from stream.core._codec import (
    CONTENT_TYPE,
    TEXT,
    Codec,
    body_encoder,
    encode_headers,
    encode_key,
    labelled,
)
from stream.core._delivery import DeliveryPolicy
from stream.core._errors import DecodeError, EncodeError
from stream.core._failure_log import FailureLog
from stream.core._messages import (
    DeadLetterMessage,
    HeaderItems,
    Message,
    OutgoingMessage,
    Record,
    Response,
    last_header,
    message_of,
)
from stream.core._middleware import Middleware, handling_chain, publishing_chain
from stream.core._options import ProduceOptions
from stream.core._requests import (
    CORRELATION_ID,
    REPLY_TO,
    error_reply,
    honoured_reply_to,
    unanswered_reason,
)
from stream.core._specs import ConsumerSpec
from stream.core._text import error_text, safe_text
from stream.core.transport import Sleep

__all__ = (
    "Dispatcher",
    "Injector",
    "OutputTarget",
    "Refusal",
    "dead_letter",
    "response_outputs",
)

Injector = Callable[[Message], Any]
"""Gives one injected argument for a received message (may return an awaitable)."""

Refusal = Callable[[OutgoingMessage], str | None]
"""The transport's verdict on an output: why it could never be sent, or ``None``."""

# The first try was left to _handle_one (a handler with injections or a timeout).
_NOT_TRIED = object()

_OWN_HEADERS = "stream."
# Headers of ours that came with the input: kept, but where no tool takes them for ours.
_FORWARDED = "forwarded."


@dataclass(frozen=True, slots=True)
class OutputTarget:
    """One ``@produce`` of a handler, with its headers encoded once.

    ``headers`` are the ``@produce`` headers, sent as they are with a raw ``bytes`` body
    or a tombstone; ``encoded_headers`` and ``text_headers`` add the ``content-type`` of
    a body the codec encoded and of a ``str`` body.
    """

    topic: str
    key: Callable[[Any], Any] | None
    partition: int | None
    headers: HeaderItems
    encoded_headers: HeaderItems
    text_headers: HeaderItems

    @classmethod
    def from_options(cls, options: ProduceOptions, codec: Codec) -> OutputTarget:
        """Prepares ``options`` for the hot path, for bodies encoded with ``codec``."""
        key = options.key
        key_of: Callable[[Any], Any] | None
        if key is None:
            key_of = None
        elif isinstance(key, str):
            field_name = key

            def key_of(result: Any) -> Any:
                return getattr(result, field_name)
        else:
            key_of = key
        headers = encode_headers(options.headers)
        return cls(
            options.topic,
            key_of,
            options.partition,
            headers,
            labelled(headers, codec.content_type),
            labelled(headers, TEXT),
        )

    def message(
        self, value: bytes | None, result: Any, source_key: bytes | None
    ) -> OutgoingMessage:
        """The message sending ``result`` (already encoded as ``value``) here."""
        key = source_key if self.key is None else encode_key(self.key(result))
        headers = self.encoded_headers
        if isinstance(result, _RAW_BODIES):
            headers = self.text_headers if isinstance(result, str) else self.headers
        return OutgoingMessage(self.topic, value, key, headers, self.partition)


# Bodies no codec sees (see stream.core._codec.content_type_of).
_RAW_BODIES = (bytes, str, type(None))


def response_outputs(
    response: Response[Any],
    targets: Sequence[OutputTarget],
    source_key: bytes | None,
    codec: Codec,
) -> list[OutgoingMessage]:
    # A Response's own key, headers, partition and topic, over the @produce options.
    body = response.body
    value = body_encoder(codec)(body)
    if response.topic is not None:
        targets = (OutputTarget.from_options(ProduceOptions(topic=response.topic), codec),)
    key = encode_key(response.key) if response.key is not None else None
    extra = encode_headers(response.headers)
    outputs = []
    for target in targets:
        output = target.message(value, body, source_key)
        if key is not None:
            output.key = key
        if extra:
            output.headers = _relabelled(output.headers, extra) + extra
        if response.partition is not None:
            output.partition = response.partition
        outputs.append(output)
    return outputs


def _relabelled(headers: HeaderItems, extra: HeaderItems) -> HeaderItems:
    # A Response naming its own content-type replaces the codec's, never doubles it.
    if any(name == CONTENT_TYPE for name, _ in extra):
        return tuple(header for header in headers if header[0] != CONTENT_TYPE)
    return headers


def dead_letter(
    message: Record, error: BaseException, attempts: int, handler: str, policy: DeliveryPolicy
) -> DeadLetterMessage:
    """The dead-letter copy of ``message``: its key, value and headers, plus why it failed."""
    assert policy.dead_letter is not None
    reason: HeaderItems = (
        ("stream.error.type", _error_type(error).encode()),
        ("stream.error.message", safe_text(str(error)).encode()),
        ("stream.source.topic", message.topic.encode()),
        ("stream.source.partition", str(message.partition).encode()),
        ("stream.source.offset", str(message.offset).encode()),
        ("stream.handler", handler.encode()),
        ("stream.attempts", str(attempts).encode()),
    )
    return DeadLetterMessage(
        topic=policy.dead_letter.topic_for(message.topic),
        value=message.value,
        key=message.key,
        headers=_forwarded(message.headers) + reason,
        error=error,
        attempts=attempts,
    )


def _still_dead_letter(record: OutgoingMessage, letter: DeadLetterMessage) -> DeadLetterMessage:
    # A middleware may hand back a plain copy; the transport still needs to know why.
    if isinstance(record, DeadLetterMessage):
        return record
    return DeadLetterMessage(
        record.topic,
        record.value,
        record.key,
        record.headers,
        record.partition,
        record.timestamp,
        error=letter.error,
        attempts=letter.attempts,
    )


def _forwarded(headers: HeaderItems) -> HeaderItems:
    # A producer may send its own stream.error.type or stream.source.topic: tools that
    # read the first match must find ours, so the input's move under another prefix.
    if not any(name.startswith(_OWN_HEADERS) for name, _ in headers):
        return headers
    return tuple(
        (_FORWARDED + name if name.startswith(_OWN_HEADERS) else name, value)
        for name, value in headers
    )


def _error_type(error: BaseException) -> str:
    # A decode error's interesting type is its cause's (e.g. pydantic's ValidationError).
    shown = error.__cause__ if isinstance(error, DecodeError) and error.__cause__ else error
    module = type(shown).__module__
    if module.startswith("stream."):
        # Our errors by the path users import them from: stream.core._errors -> stream.core.
        module = module.split("._", 1)[0]
    return f"{module}.{type(shown).__qualname__}"


class Dispatcher:
    """Runs one handler over messages of one partition, in order (a ``RecordHandler``).

    Args:
        spec: The handler.
        call: What to call with the body and the injected arguments: the service's
            method, or what ``Service.start(wrap=...)`` made of it.
        injectors: How each injected parameter is filled.
        logger: The service's logger.
        refusal: The transport's verdict on an output (see ``Transport.refusal``), or
            ``None`` when it refuses nothing.
        middlewares: The service's then the handler's, outermost first.
    """

    def __init__(
        self,
        spec: ConsumerSpec,
        call: Callable[..., Awaitable[Any]],
        injectors: Sequence[tuple[str, Injector]],
        logger: logging.Logger,
        *,
        refusal: Refusal | None = None,
        middlewares: Sequence[Middleware] = (),
    ) -> None:
        self.spec = spec
        self._call = call
        self._injectors = tuple(injectors)
        self._logger = logger
        self._decode = spec.decode
        self._batch = spec.options.batch
        self._policy = spec.options.delivery
        self._codec = spec.codec
        self._encode = body_encoder(spec.codec)
        self._check_content_type = spec.check_content_type
        self._targets = tuple(OutputTarget.from_options(p, spec.codec) for p in spec.produces)
        self._name = spec.qualname
        self._around = handling_chain(middlewares)
        self._on_publish = publishing_chain(middlewares)
        self._plain_call = (
            not self._injectors and self._policy.timeout is None and self._around is None
        )
        # Middlewares around a handler that needs nothing injected and has no timeout: the
        # chain calls it straight, without _invoke's frame.
        self._around_plain = (
            self._around if not self._injectors and self._policy.timeout is None else None
        )
        # Transports may hand over their own records (see transport.Record); a Message is
        # made only for what is given one.
        self._needs_messages = bool(self._injectors) or any(
            chain is not None for chain in (self._around, self._on_publish)
        )
        # The one target of most handlers: a body goes there without a list.
        self._one_target = self._targets[0] if len(self._targets) == 1 else None
        self._refusal = refusal
        self._sleep: Sleep = anyio.sleep
        self._failure_log = FailureLog(logger, self._name)

    def use_retry_sleep(self, sleep: Sleep) -> None:
        """Waits with ``sleep`` between retries (a test transport's skips the wait)."""
        self._sleep = sleep

    async def __call__(self, messages: Sequence[Record], /) -> list[OutgoingMessage]:
        """Handles ``messages`` and returns the outputs to send, dead letters included."""
        outputs: list[OutgoingMessage] = []
        if self._needs_messages:
            # One Message per record, made once: the middlewares, an injected `Message`
            # and the outputs' `source` all see the same object.
            messages = [message_of(record) for record in messages]
        if self._batch:
            await self._handle_batch(messages, outputs)
            return outputs
        check_content_type = self._check_content_type
        decode = self._decode
        # A bare handler (nothing injected or around it, no timeout) is called right here
        # for its first try: no coroutine of ours between the loop and the user's method.
        # Likewise a handler with middlewares around it and nothing else: the chain is
        # called here, with the Message made above.
        bare_call = self._call if self._plain_call else None
        around, call = self._around_plain, self._call
        for message in messages:
            try:
                if message.headers and check_content_type is not None:
                    check_content_type(message.headers)
                value = decode(message.value)
            except Exception as error:
                self._fail(message, self._decode_error(message, error), 1, outputs)
                continue
            try:
                if bare_call is not None:
                    result = await bare_call(value)
                elif around is not None:
                    result = await around(message_of(message), value, partial(call, value))
                else:
                    result = _NOT_TRIED
            except Exception as error:
                await self._handle_one(message, value, outputs, error)
                continue
            if result is _NOT_TRIED:
                await self._handle_one(message, value, outputs)
                continue
            self._produce(result, message, 1, outputs)
        if self._failure_log.pending:
            self._failure_log.summarise_due()
        return outputs

    def reject(self, message: Record, error: Exception) -> list[OutgoingMessage]:
        """Fails ``message`` without calling the handler (its filter raised), as a decode
        failure is: its dead letter, or ``error`` raised when there is no dead-letter topic."""
        outputs: list[OutgoingMessage] = []
        self._fail(message, error, 1, outputs)
        return outputs

    async def _handle_one(
        self,
        message: Record,
        value: Any,
        outputs: list[OutgoingMessage],
        error: Exception | None = None,
    ) -> None:
        """Handles one decoded message; ``error`` is the first try's, when it was made."""
        attempts = 1
        result = None
        if error is None:
            try:
                if self._around_plain is not None:
                    result = await self._around_plain(
                        message_of(message), value, partial(self._call, value)
                    )
                else:
                    result = await self._invoke(value, message)
            except Exception as first_error:
                error = first_error
        if error is not None:
            result, failure, attempts = await self._retries(value, message, error)
            if failure is not None:
                self._fail(message, failure, attempts, outputs)
                return
        self._produce(result, message, attempts, outputs)

    def _produce(
        self, result: Any, message: Record, attempts: int, outputs: list[OutgoingMessage]
    ) -> None:
        """Adds what the handler's ``result`` sends, and the reply to a request, to
        ``outputs``; an output that cannot be encoded or sent dead-letters ``message``."""
        output: OutgoingMessage | None = None
        produced: Sequence[OutgoingMessage] = ()
        try:
            if result is not None and self._targets:
                if self._one_target is not None and type(result) is not Response:
                    # The usual case (one target): one output, no list.
                    output = self._one_target.message(self._encode(result), result, message.key)
                    if self._on_publish is not None:
                        output = self._on_publish(output, message_of(message))
                    if self._refusal is not None:
                        self._check_sendable(output)
                else:
                    produced = self._outputs(result, message)
            reply = self._reply(result, message) if message.headers else None
        except EncodeError as error:
            # Encoding is deterministic: retrying cannot help, so dead-letter now.
            self._fail(message, error, attempts, outputs)
            return
        if output is not None:
            outputs.append(output)
        elif produced:
            outputs.extend(produced)
        if reply is not None:
            outputs.append(reply)

    async def _retries(
        self, value: Any, message: Record, error: Exception | None
    ) -> tuple[Any, Exception | None, int]:
        """Calls the handler until it returns or the retry budget is spent.

        ``error`` is the first try's, when that try was made already. Returns the result,
        the last error (``None`` on success) and the number of attempts.
        """
        attempts = 0 if error is None else 1
        while error is None or attempts < self._policy.retry.attempts:
            if error is not None:
                await self._wait_before_retry(message, error, attempts)
            attempts += 1
            try:
                return await self._invoke(value, message), None, attempts
            except Exception as next_error:
                error = next_error
        return None, error, attempts

    async def _handle_batch(
        self, messages: Sequence[Record], outputs: list[OutgoingMessage]
    ) -> None:
        good: list[Record] = []
        values: list[Any] = []
        check_content_type = self._check_content_type
        for message in messages:
            try:
                if message.headers and check_content_type is not None:
                    check_content_type(message.headers)
                values.append(self._decode(message.value))
                good.append(message)
            except Exception as error:
                self._fail(message, self._decode_error(message, error), 1, outputs)
        if not good:
            return
        result, failure, attempts = await self._retries(values, good[-1], None)
        if failure is not None:
            for message in good:
                self._fail(message, failure, attempts, outputs)
            return
        results: list[OutgoingMessage] = []
        try:
            for item in result if isinstance(result, list) else [result]:
                if item is not None:
                    results.extend(self._outputs(item, good[-1], keep_key=False))
        except EncodeError as error:
            for message in good:
                self._fail(message, error, attempts, outputs)
            return
        outputs.extend(results)

    async def _invoke(self, value: Any, record: Record) -> Any:
        message = message_of(record)  # made already when anything here needs one
        kwargs = {}
        for name, inject in self._injectors:
            argument = inject(message)
            kwargs[name] = await argument if inspect.isawaitable(argument) else argument
        around = self._around
        if around is None:
            call = self._call(value, **kwargs)
        else:
            call = around(message, value, lambda: self._call(value, **kwargs))
        if self._policy.timeout is None:
            return await call
        with anyio.fail_after(self._policy.timeout):
            return await call

    def _outputs(
        self, result: Any, source: Record, *, keep_key: bool = True
    ) -> list[OutgoingMessage]:
        """The messages sending ``result`` to every target; ``EncodeError`` if one cannot be.

        ``keep_key``: an output without a key of its own keeps ``source``'s (one message's
        result; a batch's results have no one source key)."""
        source_key = source.key if keep_key else None
        if type(result) is Response:
            outputs = response_outputs(result, self._targets, source_key, self._codec)
        else:
            value = self._encode(result)
            outputs = [t.message(value, result, source_key) for t in self._targets]
        if self._on_publish is not None:
            on_publish = self._on_publish
            message = message_of(source)
            outputs = [on_publish(output, message) for output in outputs]
        if self._refusal is not None:
            for output in outputs:
                self._check_sendable(output)
        return outputs

    def _check_sendable(self, output: OutgoingMessage) -> None:
        assert self._refusal is not None
        reason = self._refusal(output)
        if reason is not None:
            raise EncodeError(f"{self._name}: its output to {output.topic}: {reason}")

    def _reply(self, result: Any, source: Record) -> OutgoingMessage | None:
        """The reply to ``source`` if it is a request (it has ``reply_to``): ``result``'s
        body, with the request's correlation id; ``EncodeError`` if it cannot be sent."""
        if last_header(source.headers, REPLY_TO) is None:
            return None
        asked = honoured_reply_to(source)
        if asked is None:
            self._logger.warning("%s: %s", self._name, unanswered_reason(source))
            return None
        topic, correlation_id = asked
        # Encoded like the handler's outputs (its codec, its content-type); the Response's
        # key and headers, never its topic or partition: the requester names the topic.
        body, key, headers = (
            (result.body, result.key, result.headers)
            if type(result) is Response
            else (result, None, None)
        )
        [reply] = response_outputs(
            Response(body=body, key=key, headers=headers, topic=topic), (), None, self._codec
        )
        reply.headers = ((CORRELATION_ID, correlation_id), *reply.headers)
        if self._on_publish is not None:
            reply = self._on_publish(reply, message_of(source))
        reason = self._refusal(reply) if self._refusal is not None else None
        if reason is not None:
            raise EncodeError(f"{self._name}: its reply to {topic}: {reason}")
        return reply

    async def _wait_before_retry(self, message: Record, error: Exception, attempts: int) -> None:
        delay = self._policy.retry.delay(attempts)
        if self._logger.isEnabledFor(logging.WARNING):
            self._logger.warning(
                "%s: %s[%d]@%d failed (attempt %d of %d), retrying in %.2fs: %s",
                self._name,
                message.topic,
                message.partition,
                message.offset,
                attempts,
                self._policy.retry.attempts,
                delay,
                error_text(error),
            )
        await self._sleep(delay)

    def _decode_error(self, message: Record, error: Exception) -> DecodeError:
        reason = "empty (tombstone) value" if message.value is None else error_text(error)
        decode_error = DecodeError(
            f"{self._name}: cannot decode {message.topic}[{message.partition}]@{message.offset}"
            f" as {getattr(self.spec.message_type, '__name__', self.spec.message_type)}: {reason}"
        )
        decode_error.__cause__ = error
        return decode_error

    def _truncated(self, letter: DeadLetterMessage) -> DeadLetterMessage:
        # The input fitted, its copy plus the error does not: keep why it failed and where
        # the input is (stream.source.* name its partition and offset), flagged, rather than
        # stop the partition on a letter that can never be sent. Under a very small limit
        # the error's text goes too (its type stays).
        reason = tuple((n, v) for n, v in letter.headers if n.startswith(_OWN_HEADERS))
        without_text = tuple((n, v) for n, v in reason if n != "stream.error.message")
        refused: str | None = None
        for headers in (reason, without_text):
            short = DeadLetterMessage(
                topic=letter.topic,
                value=b"",
                key=None,
                headers=(*headers, ("stream.dlq.truncated", b"value,key,headers")),
                error=letter.error,
                attempts=letter.attempts,
            )
            refused = self._refusal(short) if self._refusal is not None else None
            if refused is None:
                return short
        raise EncodeError(f"{self._name}: even a truncated dead letter is refused: {refused}")

    def _fail(
        self, message: Record, error: Exception, attempts: int, outputs: list[OutgoingMessage]
    ) -> None:
        if self._policy.dead_letter is None:
            # No dead-letter topic: stop here so nothing past this message is committed.
            raise error
        letter = dead_letter(message, error, attempts, self._name, self._policy)
        if self._on_publish is not None:
            letter = _still_dead_letter(self._on_publish(letter, message_of(message)), letter)
        if self._refusal is not None and self._refusal(letter) is not None:
            letter = self._truncated(letter)
        outputs.append(letter)
        asked = honoured_reply_to(message) if message.headers else None
        if asked is not None:
            outputs.append(error_reply(*asked, letter.headers))
        if not self._failure_log.should_log(message.topic, message.partition, letter.topic):
            return
        # Decode and encode errors explain themselves; a handler's own error gets the
        # frames it was raised from (the code's lines, never the message's text).
        frames = (
            ""
            if isinstance(error, DecodeError | EncodeError)
            else "\nTraceback (most recent call last):\n"
            + "".join(traceback.format_tb(error.__traceback__)).rstrip("\n")
        )
        self._logger.error(
            "%s: %s[%d]@%d sent to dead-letter topic %s after %d attempt(s): %s%s",
            self._name,
            message.topic,
            message.partition,
            message.offset,
            letter.topic,
            attempts,
            error_text(error),
            frames,
        )

"""Quiets aiokafka's ERROR lines for states that are normal while a service starts.

On a fresh topic or a new group, aiokafka logs "Topic X not found in cluster metadata"
and "Group Coordinator Request failed: GroupCoordinatorNotAvailableError" at ERROR,
then retries and succeeds by itself. A user reading the banner takes them for real
errors. They are demoted to DEBUG: shown only when that logger's DEBUG is on.
"""

from __future__ import annotations

import logging

__all__ = ("quiet_transient_client_errors",)

_TRANSIENT = {
    ("aiokafka.cluster", "Topic %s not found in cluster metadata"): None,
    (
        "aiokafka.consumer.group_coordinator",
        "Group Coordinator Request failed: %s",
    ): "GroupCoordinatorNotAvailableError",
}


class _DemoteTransient(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.ERROR or (record.name, record.msg) not in _TRANSIENT:
            return True
        error_name = _TRANSIENT[record.name, record.msg]
        if error_name is not None and not any(
            type(argument).__name__ == error_name for argument in (record.args or ())
        ):
            return True  # a real coordinator failure stays an ERROR
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        # Handlers only compare the record's level with their own, so drop it here
        # unless DEBUG is on for its logger.
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_filter = _DemoteTransient()


def quiet_transient_client_errors() -> None:
    """Installs the filter on aiokafka's loggers (once; calling again changes nothing)."""
    for name in {name for name, _ in _TRANSIENT}:
        client_logger = logging.getLogger(name)
        if _filter not in client_logger.filters:
            client_logger.addFilter(_filter)

"""aiokafka's start-up noise is demoted; its real errors are not."""

import logging

import pytest
from aiokafka.errors import GroupCoordinatorNotAvailableError, KafkaConnectionError

from stream.kafka._client_logs import quiet_transient_client_errors


@pytest.fixture(autouse=True)
def _quiet() -> None:
    quiet_transient_client_errors()


def test_transient_start_up_errors_are_demoted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("aiokafka.cluster").error("Topic %s not found in cluster metadata", "t")
    logging.getLogger("aiokafka.consumer.group_coordinator").error(
        "Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError()
    )
    assert caplog.records == []


def test_other_errors_stay_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("aiokafka.consumer.group_coordinator").error(
        "Group Coordinator Request failed: %s", KafkaConnectionError()
    )
    logging.getLogger("aiokafka.cluster").error("something else %s", "x")
    assert [r.levelname for r in caplog.records] == ["ERROR", "ERROR"]


def test_demoted_lines_show_with_debug_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="aiokafka.cluster")
    logging.getLogger("aiokafka.cluster").error("Topic %s not found in cluster metadata", "t")
    assert [r.levelname for r in caplog.records] == ["DEBUG"]

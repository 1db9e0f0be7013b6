"""At the task boundary a configuration refusal fails the task without retries; a transient
error is raised as itself, so Airflow retries it (operators/base.py, the sensor too).

The whole-DAG check, with Airflow counting the tries, is
``tests/system/dags/test_refusal_retries.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_posthog_recordings.client.errors import (
    PostHogConfigError,
    PostHogConnectionError,
    PostHogError,
    PostHogServerError,
)
from airflow_provider_posthog_recordings.operators import PostHogListRecordingsOperator
from airflow_provider_posthog_recordings.operators.base import PostHogConfigRefusal
from airflow_provider_posthog_recordings.sensors.recordings_sensor import PostHogRecordingsSensor
from tests.helpers import connection_json


def _refusal(raised: pytest.ExceptionInfo[BaseException]) -> PostHogConfigError:
    """The typed refusal behind an AirflowFailException."""
    assert isinstance(raised.value, AirflowFailException)
    assert isinstance(raised.value, PostHogConfigRefusal)
    cause = raised.value.__cause__
    assert type(cause) is PostHogConfigError
    assert str(raised.value) == str(cause)
    return cause


def test_a_refused_argument_fails_the_operator_without_retry(posthog_conn: Any) -> None:
    op = PostHogListRecordingsOperator(task_id="l", query={"date_form": "-3d"}, retries=3)
    with pytest.raises(AirflowFailException) as raised:
        op.execute({})
    assert "date_form" in str(_refusal(raised))
    assert posthog_conn.request_count == 0  # refused before any request
    # Code that catches the package's errors still catches it.
    assert isinstance(raised.value, PostHogError)


def test_a_refused_argument_fails_the_sensor_without_retry(posthog_conn: Any) -> None:
    sensor = PostHogRecordingsSensor(
        task_id="w", query={"date_from": "-1d"}, min_count=0, retries=3, timeout=5
    )
    with pytest.raises(AirflowFailException) as raised:
        sensor.execute({})
    assert "min_count must be 1 or more" in str(_refusal(raised))


def test_a_server_error_is_raised_as_itself_and_retried(
    posthog: Any, monkeypatch: Any, no_sleep: Any
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(posthog, max_retries=0))
    posthog.inject("503", times=5)
    op = PostHogListRecordingsOperator(task_id="l", query={"date_from": "-3d"}, retries=3)
    with pytest.raises(PostHogServerError) as raised:
        op.execute({})
    assert not isinstance(raised.value, AirflowFailException)
    assert raised.value.status == 503


def test_an_unreachable_server_is_raised_as_itself_and_retried(
    posthog: Any, monkeypatch: Any, no_sleep: Any
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(posthog, max_retries=0))
    posthog.stop()  # nothing listens on its port any more
    op = PostHogListRecordingsOperator(task_id="l", query={"date_from": "-3d"}, retries=3)
    with pytest.raises(PostHogConnectionError) as raised:
        op.execute({})
    assert not isinstance(raised.value, AirflowFailException)

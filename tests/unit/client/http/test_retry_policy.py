"""The retry policy as a table: (attempt, rules) -> action, ambiguity."""

from __future__ import annotations

import pytest

from airflow_provider_posthog_recordings.client.http.retry_policy import (
    RETRYABLE_STATUSES,
    Action,
    Attempt,
    RequestRules,
    decide,
)

SAFE = RequestRules()
UNSAFE = RequestRules(idempotent=False)
DELETE_RECORDING = RequestRules(
    retry_statuses=RETRYABLE_STATUSES - {500}, accept=frozenset({404, 500})
)
BULK = RequestRules(accept=frozenset({403, 404, 405}))

R, T, Y, F = Action.RETURN, Action.THROTTLED, Action.RETRY, Action.FAIL

TABLE = [
    # (attempt, rules, action, ambiguous)
    (Attempt(200), SAFE, R, False),
    (Attempt(204), UNSAFE, R, False),
    (Attempt(201, body_is_json=True), UNSAFE, R, False),
    (Attempt(200, body_is_json=False), SAFE, Y, True),  # a proxy page or a truncated body
    (Attempt(200, body_is_json=False), UNSAFE, F, True),
    (Attempt(200, body_is_json=False, faults=5), SAFE, F, True),
    (Attempt(404), SAFE, F, False),
    (Attempt(404), DELETE_RECORDING, R, False),
    (Attempt(500), DELETE_RECORDING, R, False),  # settled by looking, not retried
    (Attempt(502), DELETE_RECORDING, Y, True),
    (Attempt(403), BULK, R, False),
    (Attempt(405), BULK, R, False),
    (Attempt(403), SAFE, F, False),
    (Attempt(401), SAFE, F, False),
    (Attempt(400), SAFE, F, False),
    (Attempt(301), SAFE, F, False),  # redirects are never followed
    (Attempt(429), SAFE, T, False),
    (Attempt(429), UNSAFE, T, False),  # the server did not act: always safe to wait
    (Attempt(429, throttles=19), SAFE, T, False),
    (Attempt(429, throttles=20), SAFE, F, False),
    (Attempt(500), SAFE, Y, True),
    (Attempt(503, faults=4), SAFE, Y, True),
    (Attempt(503, faults=5), SAFE, F, True),
    (Attempt(500), UNSAFE, F, True),
    (Attempt(None, exception="ConnectTimeout"), UNSAFE, Y, False),  # never reached the server
    (Attempt(None, exception="ConnectTimeout", faults=5), SAFE, F, False),
    (Attempt(None, exception="ReadTimeout"), SAFE, Y, True),
    (Attempt(None, exception="ReadTimeout"), UNSAFE, F, True),
    (Attempt(None, exception="ConnectionError"), SAFE, Y, True),
    (Attempt(None, exception="ChunkedEncodingError", faults=5), SAFE, F, True),
]


@pytest.mark.parametrize(("attempt", "rules", "action", "ambiguous"), TABLE)
def test_decide(attempt: Attempt, rules: RequestRules, action: Action, ambiguous: bool) -> None:
    verdict = decide(attempt, rules)
    assert (verdict.action, verdict.ambiguous) == (action, ambiguous)


def test_unsafe_failure_says_why_it_was_not_retried() -> None:
    verdict = decide(Attempt(None, exception="ReadTimeout"), UNSAFE)
    assert verdict.reason == "ReadTimeout (not retried: not safe to repeat)"


def test_fewer_retries_when_asked() -> None:
    rules = RequestRules(max_retries=0, max_throttle_retries=0)
    assert decide(Attempt(503), rules).action is F
    assert decide(Attempt(429), rules).action is F

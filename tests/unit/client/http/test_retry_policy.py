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

NOT_JSON = " with a body that is not JSON"
UNSAFE_NOTE = " (not retried: not safe to repeat)"

TABLE = [
    # (attempt, rules, action, ambiguous, reason: the words the log or the error shows)
    (Attempt(200), SAFE, R, False, ""),
    (Attempt(204), UNSAFE, R, False, ""),
    (Attempt(201, body_is_json=True), UNSAFE, R, False, ""),
    (Attempt(299), SAFE, R, False, ""),
    # a proxy page or a truncated body
    (Attempt(200, body_is_json=False), SAFE, Y, True, "answer 200" + NOT_JSON),
    (Attempt(299, body_is_json=False), SAFE, Y, True, "answer 299" + NOT_JSON),
    (Attempt(200, body_is_json=False), UNSAFE, F, True, "answer 200" + NOT_JSON),
    (Attempt(200, body_is_json=False, faults=5), SAFE, F, True, "answer 200" + NOT_JSON),
    (Attempt(404), SAFE, F, False, "answer 404"),
    (Attempt(404), DELETE_RECORDING, R, False, ""),
    (Attempt(500), DELETE_RECORDING, R, False, ""),  # settled by looking, not retried
    (Attempt(502), DELETE_RECORDING, Y, True, "answer 502"),
    (Attempt(403), BULK, R, False, ""),
    (Attempt(405), BULK, R, False, ""),
    (Attempt(403), SAFE, F, False, "answer 403"),
    (Attempt(401), SAFE, F, False, "answer 401"),
    (Attempt(400), SAFE, F, False, "answer 400"),
    (Attempt(400, body_is_json=False), SAFE, F, False, "answer 400"),
    # redirects are never followed, whatever the body
    (Attempt(300), SAFE, F, False, "redirect"),
    (Attempt(301), SAFE, F, False, "redirect"),
    (Attempt(302, body_is_json=False), SAFE, F, False, "redirect"),
    (Attempt(399), SAFE, F, False, "redirect"),
    (Attempt(429), SAFE, T, False, "throttled (429)"),
    # the server did not act: always safe to wait
    (Attempt(429), UNSAFE, T, False, "throttled (429)"),
    (Attempt(429, throttles=19), SAFE, T, False, "throttled (429)"),
    (Attempt(429, throttles=20), SAFE, F, False, "throttled (429) after all retries"),
    (Attempt(500), SAFE, Y, True, "answer 500"),
    (Attempt(503, faults=4), SAFE, Y, True, "answer 503"),
    (Attempt(503, faults=5), SAFE, F, True, "answer 503"),
    (Attempt(500), UNSAFE, F, True, "answer 500"),
    # never reached the server
    (Attempt(None, exception="ConnectTimeout"), UNSAFE, Y, False, "ConnectTimeout"),
    (Attempt(None, exception="ConnectTimeout", faults=5), SAFE, F, False, "ConnectTimeout"),
    (Attempt(None, exception="ConnectTimeout", faults=5), UNSAFE, F, False, "ConnectTimeout"),
    (Attempt(None, exception="ReadTimeout"), SAFE, Y, True, "ReadTimeout"),
    (Attempt(None, exception="ReadTimeout"), UNSAFE, F, True, "ReadTimeout" + UNSAFE_NOTE),
    (Attempt(None, exception="ReadTimeout", faults=5), SAFE, F, True, "ReadTimeout"),
    (Attempt(None, exception="ConnectionError"), SAFE, Y, True, "ConnectionError"),
    (Attempt(None), SAFE, Y, True, "no answer"),
    (Attempt(None), UNSAFE, F, True, "no answer" + UNSAFE_NOTE),
    (
        Attempt(None, exception="ChunkedEncodingError", faults=5),
        SAFE,
        F,
        True,
        "ChunkedEncodingError",
    ),
]


@pytest.mark.parametrize(("attempt", "rules", "action", "ambiguous", "reason"), TABLE)
def test_decide(
    attempt: Attempt, rules: RequestRules, action: Action, ambiguous: bool, reason: str
) -> None:
    verdict = decide(attempt, rules)
    assert (verdict.action, verdict.ambiguous, verdict.reason) == (action, ambiguous, reason)


def test_unsafe_failure_says_why_it_was_not_retried() -> None:
    verdict = decide(Attempt(None, exception="ReadTimeout"), UNSAFE)
    assert verdict.reason == "ReadTimeout (not retried: not safe to repeat)"


def test_fewer_retries_when_asked() -> None:
    rules = RequestRules(max_retries=0, max_throttle_retries=0)
    assert decide(Attempt(503), rules).action is F
    assert decide(Attempt(429), rules).action is F

"""What to do with one HTTP attempt: return it, retry it, wait for the budget, or fail (pure).

This is the whole retry policy of the package, as one function of the attempt and the
request's rules, so that it can be read in one place and tested as a table
(``tests/unit/test_retry_policy.py``). The transport (:mod:`.transport`) only carries it out.

* 2xx with a JSON body (or no body) is returned.
* A status the caller accepts (e.g. 404 on a DELETE) is returned for the caller to read.
* 3xx is an error: redirects are not followed, so the key only goes to the configured host.
* 429 waits and retries, up to ``max_throttle_retries`` (throttles have their own budget).
* A status in ``retry_statuses`` (5xx by default), a 2xx whose body is not JSON, a dropped
  connection or a read timeout is retried with backoff only when the request is idempotent:
  the server may have acted. A refused connection (connect timeout) is always retried.
* Anything else is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


class Action(str, Enum):
    """The transport's next step."""

    RETURN = "return"
    RETRY = "retry"
    THROTTLED = "throttled"
    FAIL = "fail"


@dataclass(frozen=True)
class RequestRules:
    """How one request may be retried.

    :ivar idempotent: the request may be repeated after an ambiguous failure (the server may
        have acted): GET, PATCH of a flag, DELETE. Creating something is not.
    :ivar retry_statuses: error statuses retried as passing faults.
    :ivar accept: error statuses returned to the caller instead of raised.
    :ivar max_retries: retries after faults.
    :ivar max_throttle_retries: retries after 429s.
    """

    idempotent: bool = True
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES
    accept: frozenset[int] = frozenset()
    max_retries: int = 5
    max_throttle_retries: int = 20


@dataclass(frozen=True)
class Attempt:
    """One attempt's outcome.

    :ivar status: the HTTP status, or None when no answer came (see ``exception``).
    :ivar body_is_json: the body parsed as JSON (or was empty).
    :ivar exception: the transport exception's class name when no answer came.
    :ivar faults: faults (retries) spent before this attempt.
    :ivar throttles: 429s waited out before this attempt.
    """

    status: int | None
    body_is_json: bool = True
    exception: str | None = None
    faults: int = 0
    throttles: int = 0


@dataclass(frozen=True)
class Verdict:
    """The decision on one attempt.

    :ivar action: what to do next.
    :ivar ambiguous: the server may have acted on this attempt (an answer lost, a 5xx).
    :ivar reason: a few words for the log or the error.
    """

    action: Action
    ambiguous: bool = False
    reason: str = ""


#: Exceptions after which the server certainly did not act.
NOT_SENT_EXCEPTIONS = frozenset({"ConnectTimeout"})


def decide(attempt: Attempt, rules: RequestRules) -> Verdict:
    """Decide what to do after one attempt (see the module docstring for the rules)."""
    status = attempt.status
    if status is None:
        not_sent = attempt.exception in NOT_SENT_EXCEPTIONS
        reason = attempt.exception or "no answer"
        if (not_sent or rules.idempotent) and attempt.faults < rules.max_retries:
            return Verdict(Action.RETRY, ambiguous=not not_sent, reason=reason)
        if not rules.idempotent and not not_sent:
            reason += " (not retried: not safe to repeat)"
        return Verdict(Action.FAIL, ambiguous=not not_sent, reason=reason)
    success = 200 <= status < 300
    if success and attempt.body_is_json:
        return Verdict(Action.RETURN)
    if status in rules.accept:
        return Verdict(Action.RETURN)
    if 300 <= status < 400:
        return Verdict(Action.FAIL, reason="redirect")
    if status == 429:
        if attempt.throttles < rules.max_throttle_retries:
            return Verdict(Action.THROTTLED, reason="throttled (429)")
        return Verdict(Action.FAIL, reason="throttled (429) after all retries")
    if status in rules.retry_statuses or success:
        reason = f"answer {status}" + (" with a body that is not JSON" if success else "")
        if rules.idempotent and attempt.faults < rules.max_retries:
            return Verdict(Action.RETRY, ambiguous=True, reason=reason)
        return Verdict(Action.FAIL, ambiguous=True, reason=reason)
    return Verdict(Action.FAIL, reason=f"answer {status}")

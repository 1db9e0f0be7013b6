"""HTTP to one PostHog project: the session, the key's budget, and the one retry loop.

:class:`Transport` sends a request, asks :func:`.retry_policy.decide` what to do with each
attempt, waits as told (backoff, or as long as a 429 says), and turns every error answer into
a :class:`~airflow_provider_posthog_recordings.client.errors.PostHogAPIError` in one place. It
knows nothing of recordings or playlists: those are the resource modules' business
(``airflow_provider_posthog_recordings.client.resources``: ``recordings``, ``deletion``,
``sharing``, ``playlists``, ``snapshots``, ``bulk``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from airflow_provider_posthog_recordings.client.errors import (
    PostHogAPIError,
    PostHogBudgetWait,
    PostHogConnectionError,
    PostHogServerError,
    api_error_from_response,
)
from airflow_provider_posthog_recordings.client.http import backoff
from airflow_provider_posthog_recordings.client.http.key_budget import KeyBudget
from airflow_provider_posthog_recordings.client.http.pagination import (
    PageRequest,
    PagingReport,
    iter_pages,
)
from airflow_provider_posthog_recordings.client.http.retry_policy import (
    Action,
    Attempt,
    RequestRules,
    Verdict,
    decide,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """A successful (or accepted) HTTP answer.

    ``after_ambiguous`` is True when an earlier attempt of the same request may have been
    acted on by the server (its answer was lost or was a 5xx).
    """

    status: int
    body: Any
    after_ambiguous: bool = False


#: Content types of a text answer read as is (``raw=True``): PostHog's JSON lines.
RAW_CONTENT_TYPES = ("application/jsonl", "application/json", "text/plain")


def _parse_body(response: requests.Response, raw: bool = False) -> tuple[Any, bool]:
    if not response.content:
        return ("" if raw else None), True
    if raw and response.ok:
        # A proxy's HTML page is not the answer asked for, nor a body cut short (urllib3 1.x
        # does not check Content-Length): both are retried like a non-JSON body.
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        declared = response.headers.get("Content-Length", "")
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        whole = encoded or not declared.isdigit() or int(declared) == len(response.content)
        try:  # JSON is UTF-8 (RFC 8259): no charset guessing, which is slow and can be wrong
            text = response.content.decode("utf-8")
        except UnicodeDecodeError:
            return response.text, False
        return text, whole and content_type in RAW_CONTENT_TYPES
    try:
        return response.json(), True
    except ValueError:
        return response.text, False


@dataclass(frozen=True)
class _Request:
    """What one attempt sends."""

    method: str
    url: str
    params: Mapping[str, str] | None
    json_body: Any
    raw: bool


@dataclass
class _Try:
    """What came of one attempt: the answer (None when none came), its body and verdict."""

    response: requests.Response | None
    body: Any
    verdict: Verdict
    seconds: float = 0.0
    throttle_wait: float | None = None


class Transport:
    """Requests to ``{base_url}/api/projects/{project_id}/...`` with PostHog's retry rules.

    :param base_url: normalised ``scheme://host[:port]``.
    :param api_key: the personal API key (sent only to ``base_url``; never logged).
    :param project_id: the project's id.
    :param budget: the key's shared request budget.
    :param list_budget: the recordings-list budget (the plan's), or None.
    :param snapshot_budget: the snapshots budget (the plan's), or None.
    :param timeout: seconds to connect and to read.
    :param max_retries: retry budgets (see :class:`RequestRules`).
    :param max_throttle_retries: see ``max_retries``.
    :param backoff_base: exponential backoff parameters in seconds.
    :param backoff_cap: see ``backoff_base``.
    :param max_budget_wait: the longest wait for the budget (or a 429) this transport sleeps
        through; a longer one raises :class:`PostHogBudgetWait` (None: always sleep).
    :param sleep: the sleep function for waits (default: ``backoff.sleep``).
    :param clock: the wall clock in epoch seconds (for HTTP-date ``Retry-After``).
    :param session: a requests session (default: a new one).
    :param pool_size: HTTP connections kept per host.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        project_id: int,
        budget: KeyBudget,
        list_budget: KeyBudget | None,
        snapshot_budget: KeyBudget | None = None,
        timeout: float | tuple[float, float],
        max_retries: int,
        max_throttle_retries: int,
        backoff_base: float,
        backoff_cap: float,
        max_budget_wait: float | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.time,
        session: requests.Session | None = None,
        pool_size: int = 10,
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self.project_path = f"/api/projects/{project_id}"
        self.budget = budget
        self.list_budget = list_budget
        self.snapshot_budget = snapshot_budget
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_throttle_retries = max_throttle_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_budget_wait = max_budget_wait
        self._custom_sleep = sleep
        self._clock = clock
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update(
            {
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "airflow-provider-posthog-recordings",
            }
        )
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self.request_count = 0
        self.throttled_count = 0

    @contextmanager
    def waiting_allowed(self) -> Iterator[None]:
        """Within this block, this thread waits for the budget however long it takes.

        For requests that must follow one already sent (settling what a delete did): giving
        up there would leave an action unaccounted for.
        """
        before = getattr(self._local, "must_wait", False)
        self._local.must_wait = True
        try:
            yield
        finally:
            self._local.must_wait = before

    def _max_wait(self, ambiguous: bool) -> float | None:
        # After an ambiguous attempt the server may have acted: finish the request instead.
        if ambiguous or getattr(self._local, "must_wait", False):
            return None
        return self.max_budget_wait

    def rules(self, **overrides: Any) -> RequestRules:
        """This transport's retry rules with ``overrides`` (idempotent, accept, ...)."""
        values: dict[str, Any] = {
            "max_retries": self.max_retries,
            "max_throttle_retries": self.max_throttle_retries,
        }
        values.update(overrides)
        if "accept" in values:
            values["accept"] = frozenset(values["accept"])
        return RequestRules(**values)

    def sleep(self, seconds: float) -> None:
        """Wait (through the replaceable sleep function)."""
        (self._custom_sleep or backoff.sleep)(seconds)

    def _locate(self, path_or_url: str) -> tuple[str, str]:
        """The full URL and the path (for messages) of a project path or a full URL."""
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url, urlsplit(path_or_url).path
        path = f"{self.project_path}/{path_or_url.lstrip('/')}"
        return f"{self.base_url}{path}", path

    def error(self, status: int, method: str, path_or_url: str, body: Any) -> PostHogAPIError:
        """The typed error of an error answer to ``method path_or_url`` (a project path or a
        full URL; the key is scrubbed from anything echoed)."""
        return api_error_from_response(
            status=status,
            method=method,
            path=self._locate(path_or_url)[1],
            body=body,
            secret=self._api_key,
        )

    def send(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        rules: RequestRules | None = None,
        listing: bool = False,
        snapshots: bool = False,
        raw: bool = False,
    ) -> Answer:
        """Send one request, retrying as :func:`decide` says; the one place that makes errors.

        :param rules: how the request may be retried (default: idempotent, 5xx retried).
        :param listing: the request counts against the recordings-list budget too.
        :param snapshots: the request counts against the snapshots budget too.
        :param raw: a 2xx body is returned as text (JSON lines), not parsed.

        :raises PostHogAPIError: an error answer (typed by status).
        :raises PostHogConnectionError: no answer after the retries.
        :raises PostHogBudgetWait: the budget's next slot is beyond ``max_budget_wait``.
        """
        rules = rules or self.rules()
        url, path = self._locate(path_or_url)
        extra = self._extra_budgets(listing, snapshots)
        faults = throttles = 0
        ambiguous = False
        while True:
            tried = self._try_once(
                _Request(method, url, params, json_body, raw),
                rules,
                extra,
                self._max_wait(ambiguous),
                faults,
                throttles,
            )
            verdict, response = tried.verdict, tried.response
            if response is None:
                ambiguous = ambiguous or verdict.ambiguous
                if verdict.action is Action.FAIL:
                    raise PostHogConnectionError(
                        f"PostHog API {method} {path}: {verdict.reason} after {faults + 1} "
                        f"attempt(s); check the host ({self.base_url}) and the network"
                    ) from None
                faults += 1
                self._backoff(method, path, verdict.reason, faults)
                continue
            status = response.status_code
            log.debug("PostHog %s %s -> %s in %.3fs", method, path, status, tried.seconds)
            if verdict.action is Action.RETURN:
                return Answer(status, tried.body, ambiguous)
            if verdict.action is Action.THROTTLED:
                throttles += 1
                wait = tried.throttle_wait or 0.0
                self._after_throttle(method, path, wait, throttles, self._max_wait(ambiguous))
                continue
            if verdict.action is Action.RETRY:
                ambiguous = True
                faults += 1
                self._backoff(method, path, verdict.reason, faults)
                continue
            if status == 429:
                self.throttled_count += 1
            raise self._failure(status, method, path, tried.body, response.headers)

    def _try_once(
        self,
        request: _Request,
        rules: RequestRules,
        extra: list[KeyBudget],
        max_wait: float | None,
        faults: int,
        throttles: int,
    ) -> _Try:
        """One attempt, in the key's turn: one request at a time while the key's history is
        unknown (see :meth:`.KeyBudget.turn`); a 429's wait is known before the turn ends, so
        the next request already waits for it."""
        with self.budget.turn() as turn:
            self._acquire(extra, max_wait)
            with self._count_lock:
                self.request_count += 1
            started = time.monotonic()
            try:
                got = self.session.request(
                    request.method,
                    request.url,
                    params=request.params,
                    json=request.json_body,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
                body, is_json = _parse_body(got, request.raw)
            except requests.exceptions.RequestException as exc:
                failed = Attempt(None, exception=type(exc).__name__, faults=faults)
                return _Try(None, None, decide(failed, rules))
            turn.status = got.status_code
            answered = Attempt(
                got.status_code, body_is_json=is_json, faults=faults, throttles=throttles
            )
            tried = _Try(got, body, decide(answered, rules), time.monotonic() - started)
            if tried.verdict.action is Action.THROTTLED:
                self.throttled_count += 1
                tried.throttle_wait = self._throttle_wait(got.headers, body, throttles + 1)
            return tried

    def _extra_budgets(self, listing: bool, snapshots: bool) -> list[KeyBudget]:
        """The endpoint budgets a request counts against on top of the key's."""
        chosen = [self.list_budget if listing else None]
        chosen.append(self.snapshot_budget if snapshots else None)
        return [budget for budget in chosen if budget is not None]

    def _acquire(self, extra: list[KeyBudget], max_wait: float | None) -> None:
        # Checked first, so that a refusal here reserves nothing in the key's budget.
        if max_wait is not None:
            for budget in extra:
                wait = budget.wait_needed()
                if wait > max_wait:
                    raise PostHogBudgetWait(wait)
        self.budget.acquire(self.sleep, max_wait=max_wait)
        for budget in extra:
            budget.acquire(self.sleep)

    def _failure(
        self, status: int, method: str, path: str, body: Any, headers: Mapping[str, str]
    ) -> PostHogAPIError:
        if 300 <= status < 400:
            target = headers.get("Location", "another address")
            return PostHogAPIError(
                status=status,
                method=method,
                path=path,
                detail=f"the host redirects to {target}",
                hint="set the connection's host to where it redirects (e.g. "
                "https://us.posthog.com); redirects are not followed so that the key is "
                "only sent to the configured host",
            )
        if 200 <= status < 300:
            return PostHogServerError(
                status=status,
                method=method,
                path=path,
                detail="the answer was not JSON (a proxy or a truncated answer?)",
                hint="check that the host is PostHog's API host",
            )
        return self.error(status, method, self.base_url + path, body)

    def _throttle_wait(self, headers: Mapping[str, str], body: Any, throttles: int) -> float:
        """How long a 429 says to wait; the key's budget holds every request back that long."""
        wait = backoff.throttle_wait(
            headers,
            body,
            throttles,
            base=self.backoff_base,
            cap=max(self.backoff_cap, 3700.0),
            now_epoch=self._clock(),
        )
        self.budget.throttled(wait)
        return wait

    def _after_throttle(
        self, method: str, path: str, wait: float, throttles: int, max_wait: float | None
    ) -> None:
        """Log a 429; raise :class:`PostHogBudgetWait` when its wait is longer than allowed
        (the caller defers instead: no 'waiting' line then). The retry waits in acquire()."""
        if max_wait is not None and wait > max_wait:
            log.info(
                "PostHog %s %s was throttled (429): the key's budget is back in %.0f s",
                method,
                path,
                wait,
            )
            raise PostHogBudgetWait(wait)
        log.warning(
            "PostHog %s %s was throttled (429); waiting %.1f s (retry %d/%d)",
            method,
            path,
            wait,
            throttles,
            self.max_throttle_retries,
        )

    def _backoff(self, method: str, path: str, reason: str, attempt: int) -> None:
        wait = backoff.exponential_backoff(
            attempt - 1, base=self.backoff_base, cap=self.backoff_cap
        )
        log.warning(
            "PostHog %s %s failed (%s); retrying in %.1f s (retry %d/%d)",
            method,
            path,
            reason,
            wait,
            attempt,
            self.max_retries,
        )
        self.sleep(wait)

    def pages(
        self,
        path: str,
        params: dict[str, str],
        *,
        listing: bool = False,
        prefetch: bool = False,
        repeated_page_ends: bool = False,
        report: PagingReport | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of raw items of a list endpoint (see :func:`.pagination.iter_pages`)."""

        def fetch(request: PageRequest) -> dict[str, Any]:
            if request.url is not None:
                answer = self.send("GET", request.url, listing=listing)
            else:
                answer = self.send("GET", path, params=request.params, listing=listing)
            if not isinstance(answer.body, dict):
                raise PostHogServerError(
                    status=answer.status,
                    method="GET",
                    path=self._locate(path)[1],
                    detail="the list answer is not a JSON object",
                )
            return answer.body

        return iter_pages(
            fetch,
            PageRequest(params=params),
            self.base_url,
            prefetch=prefetch,
            repeated_page_ends=repeated_page_ends,
            report=report,
        )

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

"""PostHog's bulk endpoints, tried first and given up for the run when a server refuses them.

A personal API key may not call most bulk actions on PostHog Cloud (403 "This action does not
support personal API key access"); older servers lack them (404) or refuse the method (405).
:class:`BulkActions` tries each action once, remembers the answer for the rest of the client's
life, and lets the caller fall back to one request per recording. A 403 that names a missing
scope is a real error and is raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_posthog_recordings.client.http.transport import Answer, Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BulkAttempt:
    """What came of a bulk action: the server's answer, and whether the action is refused.

    :param answer: the answer (None when the action was refused earlier in the run).
    :param refused: the server does not take this action (the caller sends single requests).
    """

    answer: Answer | None
    refused: bool

    @property
    def accepted(self) -> bool:
        """Whether the server took the bulk action (its answer says what it did)."""
        return not self.refused


REFUSED_STATUSES = frozenset({403, 404, 405})


class BulkActions:
    """Which bulk actions this server takes, learnt by trying.

    :param transport: the transport to send through.
    :param on_route_missing: called after a 404 on a bulk route, before falling back (the client
        checks there that the project itself exists, so that a wrong project id cannot
        turn every single delete into "already gone").
    """

    def __init__(self, transport: Transport, on_route_missing: Callable[[], Any]) -> None:
        self._transport = transport
        self._on_route_missing = on_route_missing
        self._refused: set[str] = set()
        self._accepted: set[str] = set()
        self._lock = threading.Lock()

    def known(self, name: str) -> bool:
        """Whether the server has already answered whether it takes action ``name``."""
        with self._lock:
            return name in self._refused or name in self._accepted

    def refused(self, name: str) -> bool:
        """Whether action ``name`` was refused (the caller sends single requests)."""
        with self._lock:
            return name in self._refused

    def refused_names(self) -> list[str]:
        """The actions refused so far (carried across a deferral)."""
        with self._lock:
            return sorted(self._refused)

    def remember_refused(self, names: list[str]) -> None:
        """Take over refusals learnt by an earlier client (a resumed task's new process)."""
        with self._lock:
            self._refused.update(names)

    def accepted_names(self) -> list[str]:
        """The actions accepted so far (carried across a deferral)."""
        with self._lock:
            return sorted(self._accepted)

    def remember_accepted(self, names: list[str]) -> None:
        """Take over what an earlier client learnt the server accepts: a resumed task does not
        send its first bulk call alone, nor check existence before it (a later refusal is
        still handled as a refusal)."""
        with self._lock:
            self._accepted.update(names)

    def attempt(
        self, name: str, path: str, ids: list[str], extra: dict[str, Any] | None = None
    ) -> BulkAttempt:
        """POST bulk action ``name`` unless the server already refused it; say what came of it.

        A refusal that came after an attempt whose answer was lost
        (``answer.after_ambiguous``) may follow a first attempt that did act.

        :param name: the action's name, remembered when refused.
        :param path: the project path of the action.
        :param ids: the recording ids of the body.
        :param extra: more fields of the body.
        :return: the answer (None when refused earlier) and whether the action is refused.
        :raises PostHogAuthError: a 403 that names a missing scope.
        """
        if self.refused(name):
            return BulkAttempt(None, refused=True)
        answer = self._transport.send(
            "POST",
            path,
            json_body={"session_recording_ids": ids, **(extra or {})},
            rules=self._transport.rules(accept=REFUSED_STATUSES),
        )
        if answer.status not in REFUSED_STATUSES:
            with self._lock:
                self._accepted.add(name)
            return BulkAttempt(answer, refused=False)
        detail = answer.body.get("detail") if isinstance(answer.body, dict) else None
        if answer.status == 403 and detail and "scope" in str(detail).lower():
            raise self._transport.error(answer.status, "POST", path, answer.body)
        # The expected path on PostHog Cloud (a personal API key may not call bulk actions)
        # and on older servers: information, not a warning.
        log.info(
            "Bulk action %s not available to this key (%s%s): one request per recording, "
            "as expected on PostHog Cloud",
            path,
            answer.status,
            f": {detail}" if detail else "",
        )
        with self._lock:
            self._refused.add(name)
        if answer.status == 404:
            self._on_route_missing()
        return BulkAttempt(answer, refused=True)

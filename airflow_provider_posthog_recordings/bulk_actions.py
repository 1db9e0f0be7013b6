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
from typing import Any

from airflow_provider_posthog_recordings.transport import Answer, Transport

log = logging.getLogger(__name__)

REFUSED_STATUSES = frozenset({403, 404, 405})


class BulkActions:
    """Which bulk actions this server takes, learnt by trying.

    Args:
        transport: the transport to send through.
        on_route_missing: called after a 404 on a bulk route, before falling back (the client
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

    def post(
        self, name: str, path: str, ids: list[str], extra: dict[str, Any] | None = None
    ) -> Answer | None:
        """POST a bulk action; None when the server refuses bulk actions (remembered).

        Raises:
            PostHogAuthError: a 403 that names a missing scope.
        """
        answer, refused = self.try_post(name, path, ids, extra)
        return None if refused else answer

    def try_post(
        self, name: str, path: str, ids: list[str], extra: dict[str, Any] | None = None
    ) -> tuple[Answer | None, bool]:
        """Like :meth:`post`, but also return the refusal's answer and whether it was refused.

        A refusal that came after an attempt whose answer was lost
        (``answer.after_ambiguous``) may follow a first attempt that did act.
        """
        if self.refused(name):
            return None, True
        answer = self._transport.send(
            "POST",
            path,
            json_body={"session_recording_ids": ids, **(extra or {})},
            rules=self._transport.rules(accept=REFUSED_STATUSES),
        )
        if answer.status not in REFUSED_STATUSES:
            with self._lock:
                self._accepted.add(name)
            return answer, False
        detail = answer.body.get("detail") if isinstance(answer.body, dict) else None
        if answer.status == 403 and detail and "scope" in str(detail).lower():
            raise self._transport.error(
                answer.status, "POST", self._transport.url(path)[1], answer.body
            )
        log.warning(
            "PostHog refused the bulk action %s (%s%s); using one request per recording from "
            "now on",
            path,
            answer.status,
            f": {detail}" if detail else "",
        )
        with self._lock:
            self._refused.add(name)
        if answer.status == 404:
            self._on_route_missing()
        return answer, True

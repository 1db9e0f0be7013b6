"""The request pipeline: faults, authentication, permissions, rate limits, handlers.

Independent of HTTP: it takes a method, a path, headers and a body and returns
an :class:`Outcome` for the server to put on the wire.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import api_playlists, api_recordings, api_sharing, api_snapshots
from .context import RequestContext
from .faults import PRE_ACTION_KINDS, Fault, FaultPlan, FaultTarget, fault_response
from .recording_query import SortedIndex
from .responses import (
    ApiError,
    Response,
    authentication_failed,
    method_not_allowed,
    not_authenticated,
    not_found,
    parse_error,
    permission_denied,
    server_error,
    throttled,
)
from .routing import Route, resolve
from .state import ApiKey, EmulatorConfig, EmulatorState
from .throttling import KeyBudgets

Handler = Callable[[RequestContext, dict[str, str]], Response]
#: Answers the emulator's own admin routes: method, path, query, body.
AdminHandler = Callable[[str, str, dict[str, str], Any], Response]
ADMIN_PREFIX = "/_emulator/"

HANDLERS: dict[tuple[str, str], Handler] = {
    ("recordings.list", "GET"): api_recordings.list_recordings,
    ("recordings.one", "GET"): api_recordings.get_recording,
    ("recordings.one", "PATCH"): api_recordings.patch_recording,
    ("recordings.one", "DELETE"): api_recordings.delete_recording,
    ("recordings.snapshots", "GET"): api_snapshots.get_snapshots,
    ("recordings.bulk_delete", "POST"): api_recordings.bulk_delete,
    ("recordings.bulk_viewed", "POST"): api_recordings.bulk_viewed,
    ("recordings.bulk_not_viewed", "POST"): api_recordings.bulk_not_viewed,
    ("sharing.one", "GET"): api_sharing.get_sharing,
    ("sharing.one", "PATCH"): api_sharing.patch_sharing,
    ("sharing.refresh", "POST"): api_sharing.refresh_sharing,
    ("playlists.list", "GET"): api_playlists.list_playlists,
    ("playlists.list", "POST"): api_playlists.create_playlist,
    ("playlists.one", "GET"): api_playlists.get_playlist,
    ("playlists.one", "PATCH"): api_playlists.patch_playlist,
    ("playlists.one", "DELETE"): api_playlists.delete_playlist,
    ("playlists.items", "GET"): api_playlists.playlist_recordings,
    ("playlists.item", "POST"): api_playlists.add_item,
    ("playlists.item", "DELETE"): api_playlists.remove_item,
    ("playlists.bulk_add", "POST"): api_playlists.bulk_add,
    ("playlists.bulk_delete", "POST"): api_playlists.bulk_remove,
}

RECORDING_DELETES = frozenset({("recordings.one", "DELETE"), ("recordings.bulk_delete", "POST")})
KEY_REFUSED = "This action does not support personal API key access"
TRUNCATED_FILLER = {"success": True, "detail": "this body is cut short by the emulator"}


@dataclass
class RequestRecord:
    """One request the emulator received and how it was answered.

    ``status`` is None when the connection was dropped without an answer;
    ``fault`` names the injected fault, if any; ``at`` is when it came (epoch seconds) and
    ``key`` the valid key it was sent with.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int | None
    api_key_valid: bool
    body: Any = None
    fault: str | None = None
    at: float = field(default_factory=time.time)
    key: str | None = None


@dataclass
class Outcome:
    """What to put on the wire: a response, or None to drop the connection."""

    response: Response | None
    truncate: bool = False


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    token: str | None
    body: Any
    body_error: str | None


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Authorization") or headers.get("authorization") or ""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _parse_body(raw: bytes) -> tuple[Any, str | None]:
    if not raw.strip():
        return None, None
    try:
        return json.loads(raw.decode("utf-8")), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, str(exc)


@dataclass
class EmulatorCore:
    """State, configuration and the pipeline every request goes through."""

    config: EmulatorConfig
    now: Callable[[], datetime]
    base_url: Callable[[], str]
    latency: float = 0.0
    budgets: KeyBudgets = field(default_factory=lambda: KeyBudgets([]))
    lock: threading.RLock = field(default_factory=threading.RLock)
    state: EmulatorState = field(default_factory=EmulatorState)
    faults: FaultPlan = field(default_factory=FaultPlan)
    requests: list[RequestRecord] = field(default_factory=list)
    faults_injected: Counter[str] = field(default_factory=Counter)
    internal_errors: list[str] = field(default_factory=list)
    index: SortedIndex = field(default_factory=SortedIndex)
    admin: AdminHandler | None = None

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], raw_body: bytes
    ) -> Outcome:
        """Answer one request (thread-safe; sleeps happen outside the lock)."""
        split = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        body, body_error = _parse_body(raw_body)
        if self.admin is not None and split.path.startswith(ADMIN_PREFIX):
            # Out of band (tests in another process): neither recorded nor budgeted.
            if body_error is not None:
                return Outcome(Response(400, {"detail": body_error}))
            return Outcome(self.admin(method.upper(), split.path, query, body))
        request = _Request(method.upper(), split.path, query, _bearer(headers), body, body_error)
        route = resolve(request.path)
        with self.lock:
            key = self.state.keys.get(request.token) if request.token else None
            fault = self.faults.pick(request.method, request.path, _target(route, request.method))
            if fault is not None:
                self.faults_injected[fault.kind] += 1
        delay = self.latency + (fault.seconds if fault and fault.kind == "slow" else 0.0)
        if delay > 0:
            time.sleep(delay)
        outcome = self._outcome(request, route, key, fault)
        status = None
        if outcome.response is not None:
            status = 200 if outcome.truncate else outcome.response.status
        record = RequestRecord(
            request.method,
            request.path,
            query,
            status,
            key is not None,
            body,
            fault.kind if fault else None,
            key=key.key if key is not None else None,
        )
        with self.lock:
            self.requests.append(record)
        return outcome

    def note_internal_error(self, text: str) -> None:
        """Keep the traceback of an emulator bug (never printed)."""
        with self.lock:
            self.internal_errors.append(text)

    def _outcome(
        self, request: _Request, route: Route | None, key: ApiKey | None, fault: Fault | None
    ) -> Outcome:
        if fault is not None and fault.kind in PRE_ACTION_KINDS:
            return Outcome(fault_response(fault))
        with self.lock:
            response = self._answer(request, route, key, fault)
        if fault is not None and fault.kind == "drop_after":
            return Outcome(None)
        if fault is not None and fault.kind == "truncated":
            if response.body is None and response.raw is None:
                response = Response(200, TRUNCATED_FILLER)
            return Outcome(response, truncate=True)
        return Outcome(response)

    def _answer(
        self, request: _Request, route: Route | None, key: ApiKey | None, fault: Fault | None
    ) -> Response:
        try:
            route, key = self._authorize(request, route, key)
            if request.body_error is not None:
                raise parse_error(request.body_error)
            ctx = RequestContext(
                state=self.state,
                config=self.config,
                key=key,
                method=request.method,
                path=request.path,
                query=request.query,
                body=request.body,
                now=self.now(),
                base_url=self.base_url(),
                index=self.index,
                fault=fault.kind if fault is not None else None,
            )
            return HANDLERS[(route.name, request.method)](ctx, route.params)
        except ApiError as error:
            return error.to_response()
        except Exception as exc:  # noqa: BLE001 - the server must survive a handler bug
            self.note_internal_error(traceback.format_exc())
            return server_error(f"Emulator error: {exc!r}")

    def _authorize(
        self, request: _Request, route: Route | None, key: ApiKey | None
    ) -> tuple[Route, ApiKey]:
        """Route, authentication, project, method, key refusals, scope and budgets."""
        if route is None:
            raise not_found()
        if request.token is None:
            raise not_authenticated()
        if key is None:
            raise authentication_failed()
        try:
            project_id = int(route.project)
        except ValueError:
            raise not_found() from None
        if project_id != self.config.project_id:
            raise not_found()
        if not key.may_use_project(project_id):
            raise permission_denied("API key does not have access to the requested project")
        if request.method not in route.methods:
            raise method_not_allowed(request.method)
        if route.is_bulk and self.config.bulk_mode == "missing":
            raise not_found()
        # PostHog checks permissions before it looks the object up: a refused action is a
        # 403 even on a playlist that does not exist.
        if self.config.refuses_key(route.name):
            raise permission_denied(KEY_REFUSED)
        scope = route.scope_for(request.method)
        if not key.has_scope(scope):
            raise permission_denied(f"API key missing required scope '{scope}'")
        if route.budgeted:
            wait = self.budgets.wait_needed(
                key.key, is_list=route.list_limited, is_snapshots=route.snapshots_limited
            )
            if wait:
                raise throttled(wait)
        return route, key


def _target(route: Route | None, method: str) -> FaultTarget:
    """What a fault needs to know about the endpoint of a request."""
    if route is None:
        return FaultTarget()
    deletes = (route.name, method) in RECORDING_DELETES
    return FaultTarget(is_list=route.is_list, deletes_recordings=deletes)

"""URL routing: which endpoint a path names, with its methods and scope."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PREFIX = re.compile(r"^/api/(?:projects|environments)/(?P<project>[^/]+)/(?P<rest>.*)$")

RECORDINGS = "session_recordings"
PLAYLISTS = "session_recording_playlists"
RECORDING_BULK = ("bulk_delete", "bulk_viewed", "bulk_not_viewed")
PLAYLIST_BULK = ("bulk_add", "bulk_delete")


@dataclass(frozen=True)
class Route:
    """A resolved endpoint.

    ``resource`` is the scope resource (``<resource>:read`` for GET, ``:write``
    otherwise); ``is_list`` marks recordings-shaped lists; ``list_limited`` the
    recordings list, which also has its own budgets; ``budgeted`` the routes that
    count against the recordings/playlists budgets (not sharing); ``snapshots_limited``
    the snapshots endpoint, which also has the plan's snapshots budgets.
    """

    name: str
    project: str
    methods: frozenset[str]
    resource: str
    params: dict[str, str] = field(default_factory=dict)
    is_list: bool = False
    is_bulk: bool = False
    list_limited: bool = False
    budgeted: bool = True
    snapshots_limited: bool = False

    def scope_for(self, method: str) -> str:
        """The scope a request with ``method`` needs."""
        return f"{self.resource}:{'read' if method == 'GET' else 'write'}"


def _methods(*names: str) -> frozenset[str]:
    return frozenset(names)


def _recordings(project: str, parts: list[str]) -> Route | None:
    resource = "session_recording"
    if not parts:
        return Route(
            "recordings.list", project, _methods("GET"), resource, is_list=True, list_limited=True
        )
    if len(parts) == 1 and parts[0] in RECORDING_BULK:
        return Route(f"recordings.{parts[0]}", project, _methods("POST"), resource, is_bulk=True)
    params = {"recording_id": parts[0]}
    if len(parts) == 1:
        return Route(
            "recordings.one", project, _methods("GET", "PATCH", "DELETE"), resource, params
        )
    if parts[1:] == ["snapshots"]:
        return Route(
            "recordings.snapshots",
            project,
            _methods("GET"),
            resource,
            params,
            snapshots_limited=True,
        )
    sharing = "sharing_configuration"
    if parts[1:] == ["sharing"]:
        return Route(
            "sharing.one", project, _methods("GET", "PATCH"), sharing, params, budgeted=False
        )
    if parts[1:] == ["sharing", "refresh"]:
        return Route("sharing.refresh", project, _methods("POST"), sharing, params, budgeted=False)
    return None


def _playlists(project: str, parts: list[str]) -> Route | None:
    resource = "session_recording_playlist"
    if not parts:
        return Route("playlists.list", project, _methods("GET", "POST"), resource)
    params = {"short_id": parts[0]}
    if len(parts) == 1:
        return Route("playlists.one", project, _methods("GET", "PATCH", "DELETE"), resource, params)
    if parts[1] != "recordings":
        return None
    if len(parts) == 2:
        return Route("playlists.items", project, _methods("GET"), resource, params, is_list=True)
    if len(parts) != 3:
        return None
    if parts[2] in PLAYLIST_BULK:
        name = f"playlists.{parts[2]}"
        return Route(name, project, _methods("POST"), resource, params, is_bulk=True)
    item = {**params, "recording_id": parts[2]}
    return Route("playlists.item", project, _methods("POST", "DELETE"), resource, item)


def resolve(path: str) -> Route | None:
    """The route of ``path`` (trailing slash optional, as on PostHog), or None."""
    match = _PREFIX.match(path if path.endswith("/") else path + "/")
    if match is None:
        return None
    parts = [part for part in match.group("rest").split("/") if part]
    if not parts:
        return None
    project = match.group("project")
    if parts[0] == RECORDINGS:
        return _recordings(project, parts[1:])
    if parts[0] == PLAYLISTS:
        return _playlists(project, parts[1:])
    return None

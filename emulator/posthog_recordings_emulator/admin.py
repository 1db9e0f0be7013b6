"""The emulator's admin routes: what a test in another process does out of band.

Served only when the emulator is started with ``admin=True`` (``--admin`` on the command
line), under ``/_emulator/``, without a key, neither recorded nor budgeted:

* ``GET  /_emulator/recordings``: every existing recording (``id``, ``start_time``,
  ``end_time``, ``ongoing``, ``distinct_id``) and ``deleted_ids``;
* ``POST /_emulator/recordings`` ``{"recordings": [{field: value}, ...]}``: add recordings
  (as :meth:`PostHogEmulator.add_recording`); answers them;
* ``POST /_emulator/seed`` ``{"n": 50, "days": 30, "seed": 1, "end": "<iso>", ...}``: seed
  recordings (as :meth:`PostHogEmulator.seed_recordings`); answers their ids;
* ``POST /_emulator/delete`` ``{"ids": [...]}``: someone else deletes recordings; answers the
  ids that existed;
* ``POST /_emulator/playlists`` ``{"name": ..., "pinned": true, "recording_ids": [...]}``:
  create a collection out of band;
* ``POST /_emulator/keys`` ``{"key": "phx_...", "scopes": null}``: another personal API key
  (every scope unless ``scopes``), with budgets of its own;
* ``POST /_emulator/faults`` ``{"kind": "slow", "times": 1, "method": "POST",
  "path_contains": "bulk_delete", "seconds": 4, "skip": 1}``: give the next matching requests
  a fault (as :meth:`PostHogEmulator.inject`); answers the fault counters so far;
* ``GET  /_emulator/requests``: every API request received (``method``, ``path``,
  ``status``, ``at`` in epoch seconds, the ``key`` it came with), e.g. to count 429s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .responses import Response
from .timeutil import coerce_datetime

if TYPE_CHECKING:
    from .emulator import PostHogEmulator

AdminRoute = Callable[["PostHogEmulator", dict[str, str], Any], Any]


def _recordings(emulator: PostHogEmulator, query: dict[str, str], body: Any) -> Any:
    fields = ("id", "start_time", "end_time", "ongoing", "distinct_id")
    recordings = []
    for rid in sorted(emulator.recording_ids()):
        recording = emulator.recording(rid) or {}
        recordings.append({name: recording.get(name) for name in fields})
    return {"recordings": recordings, "deleted_ids": sorted(emulator.deleted_ids)}


def _add(emulator: PostHogEmulator, query: dict[str, str], body: Any) -> Any:
    return {"recordings": [emulator.add_recording(**fields) for fields in body["recordings"]]}


def _seed(emulator: PostHogEmulator, query: dict[str, str], body: Any) -> Any:
    options = dict(body)
    count = int(options.pop("n"))
    if options.get("end") is not None:
        options["end"] = coerce_datetime(options["end"])
    return {"ids": emulator.seed_recordings(count, **options)}


def _delete(emulator: PostHogEmulator, query: dict[str, str], body: Any) -> Any:
    existing = emulator.recording_ids()
    gone = [rid for rid in body["ids"] if rid in existing]
    for rid in gone:
        emulator.delete_recording(rid)
    return {"deleted": gone}


def _playlist(emulator: PostHogEmulator, query: dict[str, str], body: Any) -> Any:
    return emulator.create_playlist(**body)


def _key(emulator: PostHogEmulator, query: dict[str, str], body: Any) -> Any:
    emulator.add_api_key(str(body["key"]), scopes=body.get("scopes"))
    return {"key": body["key"]}


def _fault(emulator: PostHogEmulator, query: dict[str, str], body: Any) -> Any:
    emulator.inject(
        str(body["kind"]),
        times=int(body.get("times", 1)),
        method=body.get("method"),
        path_contains=body.get("path_contains"),
        seconds=float(body.get("seconds", 1.0)),
        skip=int(body.get("skip", 0)),
    )
    return {"faults_injected": dict(emulator.faults_injected)}


def _requests(emulator: PostHogEmulator, query: dict[str, str], body: Any) -> Any:
    return {
        "requests": [
            {
                "method": r.method,
                "path": r.path,
                "status": r.status,
                "at": r.at,
                "fault": r.fault,
                "key": r.key,
            }
            for r in emulator.requests
        ]
    }


ROUTES: dict[tuple[str, str], AdminRoute] = {
    ("GET", "/_emulator/recordings"): _recordings,
    ("POST", "/_emulator/recordings"): _add,
    ("POST", "/_emulator/seed"): _seed,
    ("POST", "/_emulator/delete"): _delete,
    ("POST", "/_emulator/playlists"): _playlist,
    ("POST", "/_emulator/keys"): _key,
    ("POST", "/_emulator/faults"): _fault,
    ("GET", "/_emulator/requests"): _requests,
}


def admin_handler(
    emulator: PostHogEmulator,
) -> Callable[[str, str, dict[str, str], Any], Response]:
    """The handler of the admin routes of ``emulator``."""

    def handle(method: str, path: str, query: dict[str, str], body: Any) -> Response:
        route = ROUTES.get((method, path.rstrip("/")))
        if route is None:
            return Response(404, {"detail": f"no admin route {method} {path}"})
        try:
            return Response(200, route(emulator, query, body or {}))
        except (KeyError, TypeError, ValueError) as exc:
            return Response(400, {"detail": f"{type(exc).__name__}: {exc}"})

    return handle

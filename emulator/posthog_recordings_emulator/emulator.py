"""PostHogEmulator: a real HTTP server on 127.0.0.1 that behaves like PostHog's
session-recordings API, with seeded data, observation and fault injection.

Example::

    with PostHogEmulator() as posthog:
        posthog.seed_recordings(500, days=30)
        client = PostHogClient(posthog.url, posthog.api_key, posthog.project_id)
        ...
        assert posthog.request_count < 20
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from .admin import admin_handler
from .api_sharing import save_sharing, token_valid
from .api_snapshots import snapshots_of
from .core import EmulatorCore
from .observation import ObservationAndFaults
from .playlist_records import add_playlist, check_type_and_filters, serialize_playlist
from .profiles import DEFAULT_PROFILE, build_config, get_profile, snapshot_limits
from .profiles import pick as _pick
from .recording_records import build_recording, serialize_recording
from .seeding import SeedSpec, generate_recordings
from .server import EmulatorHTTPServer
from .state import ALL_SCOPES, BULK_MODES, ApiKey
from .throttling import KeyBudgets, build_budgets
from .timeutil import coerce_datetime, ensure_utc

POLL_INTERVAL = 0.05


class PostHogEmulator(ObservationAndFaults):
    """An in-process PostHog session-recordings API server for tests, demos and benchmarks.

    It serves one project (``project_id``, default 1) to one personal API key with
    every scope (``api_key``, default ``phx_emulator_test_key``); add more keys with
    :meth:`add_api_key`.

    ``profile`` chooses which PostHog it pretends to be (:data:`PROFILES`):

    * ``"cloud"`` (default): PostHog Cloud for a personal API key. Recordings
      ``bulk_delete``/``bulk_viewed``/``bulk_not_viewed`` and every change of a
      collection's items answer 403 "This action does not support personal API key
      access" whatever the scopes (checked before the playlist is looked up, so an
      unknown short id is a 403 too); DELETE of a missing recording is 204;
      synthetic playlists are listed.
    * ``"cloud_bulk_delete"``: as cloud, but recordings ``bulk_delete`` is accepted.
    * ``"self_hosted_legacy"``: offset pagination only, 404 on deleting a deleted
      recording, ``bulk_delete`` of up to 20 ids without ``failed_ids``, playlist items
      honour ``limit``/``offset``, item changes refused, no synthetic playlists.
    * ``"permissive"``: every action allowed to keys, otherwise as cloud.

    Every profile has PostHog's quirks: playlist items ignore pagination (one answer,
    a cursor leading to the same page; ``playlist_items_max_rows`` caps it), ``pinned``
    ignores its value, ``bulk_delete`` skips ids outside its ``date_from`` window,
    recording metrics filter only in ``having_predicates``, sharing endpoints do not
    check that the recording exists, naive dates are read in ``project_timezone``.

    Options given explicitly (not None) override the profile: ``offset_only``,
    ``bulk_mode`` (``"allow"``, ``"refuse"`` with 403, ``"missing"`` with 404: every
    bulk endpoint), ``bulk_delete_cap``, ``legacy_bulk_response``,
    ``delete_missing_status``, ``synthetic_playlists``, ``playlist_items_paginated``
    (playlist items honour ``limit``/``offset``/``after``, as on older servers).

    ``posthog_schema`` chooses PostHog's published schema that every list query (decoded as
    PostHog's view decodes it) and every saved search's ``filters`` are checked against (400
    ``validation_error`` on an unknown field or a wrong type, as PostHog answers):
    ``"newer"`` (default; has ``hide_viewed_recordings``), ``"0000f87b"`` (the verbatim
    schema of that commit, a server from before it: the ``self_hosted_legacy`` default) or
    ``"off"``. See :mod:`.schema_check`.

    Recordings have snapshots (``GET session_recordings/{id}/snapshots``, see
    :mod:`.api_snapshots`), generated from their id: :meth:`snapshot_lines` and
    :meth:`snapshot_info` show them, :meth:`fail_snapshot_blocks` and
    :meth:`empty_snapshot_sources` plant PostHog's silent failures.

    Budgets per key (429 with the wait only in ``detail``): ``rate_limit_per_minute``
    and ``rate_limit_per_hour`` shared by the recordings and playlists endpoints (the
    profile's default is PostHog's 240/minute and 1,200/hour, and they apply by
    default: an emulator is as strict as the real server unless a test says
    otherwise), ``list_rate_limit_per_minute``/``_per_hour`` for listing recordings
    (off unless given; PostHog's plans: :data:`LIST_PLAN_LIMITS`), and the snapshots
    endpoint's budgets of ``snapshot_plan`` (``free`` by default on every profile: 12 a
    minute and 60 an hour; ``paid``, ``enterprise``, or ``none``), overridden by
    ``snapshot_rate_limit_per_minute``/``_per_hour``. 0 turns one off;
    ``rate_limits=False`` turns every budget off. ``monotonic`` is the clock of every
    budget (default :func:`time.monotonic`); ``clock`` returns the aware UTC "now" of
    the data; ``latency`` adds seconds to every answer. ``window_scale`` stretches or
    shrinks every budget's window (0.1: PostHog's minute lasts 6 s), for real-time tests of
    processes that wait for the budget.

    ``admin=True`` serves the admin routes of :mod:`.admin` under ``/_emulator/`` (without a
    key): what a test in another process needs to add, delete and look.
    """

    def __init__(
        self,
        *,
        profile: str = DEFAULT_PROFILE,
        api_key: str = "phx_emulator_test_key",
        project_id: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        offset_only: bool | None = None,
        bulk_mode: str | None = None,
        bulk_delete_cap: int | None = None,
        legacy_bulk_response: bool | None = None,
        delete_missing_status: int | None = None,
        synthetic_playlists: bool | None = None,
        playlist_items_paginated: bool | None = None,
        playlist_items_max_rows: int | None = None,
        project_timezone: str = "UTC",
        posthog_schema: str | None = None,
        latency: float = 0.0,
        rate_limits: bool = True,
        rate_limit_per_minute: int | None = None,
        rate_limit_per_hour: int | None = None,
        list_rate_limit_per_minute: int | None = None,
        list_rate_limit_per_hour: int | None = None,
        snapshot_plan: str | None = None,
        snapshot_rate_limit_per_minute: int | None = None,
        snapshot_rate_limit_per_hour: int | None = None,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] | None = None,
        window_scale: float = 1.0,
        admin: bool = False,
    ) -> None:
        if bulk_mode is not None and bulk_mode not in BULK_MODES:
            raise ValueError(f"bulk_mode must be one of {BULK_MODES}")
        ZoneInfo(project_timezone)  # an unknown zone fails here, not at the first request
        server = get_profile(profile)
        self.profile = server.name
        self.api_key = api_key
        self.project_id = project_id
        self.host = host
        self.port = port
        self._clock = clock
        config = build_config(
            server,
            project_id=project_id,
            offset_only=offset_only,
            bulk_mode=bulk_mode,
            bulk_delete_cap=bulk_delete_cap,
            legacy_bulk_response=legacy_bulk_response,
            delete_missing_status=delete_missing_status,
            synthetic_playlists=synthetic_playlists,
            playlist_items_paginated=playlist_items_paginated,
            playlist_items_max_rows=playlist_items_max_rows,
            project_timezone=project_timezone,
            posthog_schema=posthog_schema,
        )
        plan_minute, plan_hour = snapshot_limits(_pick(snapshot_plan, server.snapshot_plan))
        budgets = build_budgets(
            per_minute=_pick(rate_limit_per_minute, server.rate_limit_per_minute),
            per_hour=_pick(rate_limit_per_hour, server.rate_limit_per_hour),
            list_per_minute=list_rate_limit_per_minute,
            list_per_hour=list_rate_limit_per_hour,
            snapshots_per_minute=_pick(snapshot_rate_limit_per_minute, plan_minute),
            snapshots_per_hour=_pick(snapshot_rate_limit_per_hour, plan_hour),
            time_fn=monotonic or time.monotonic,
            window_scale=window_scale,
        )
        self._core = EmulatorCore(
            config=config,
            now=self.now,
            base_url=lambda: self.url,
            latency=latency,
            budgets=budgets if rate_limits else KeyBudgets([]),
        )
        if admin:
            self._core.admin = admin_handler(self)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        owner = self._core.state.new_user()
        self._default_owner = owner
        self._core.state.keys[api_key] = ApiKey(api_key, owner, ALL_SCOPES, None)

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Base URL such as ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._url is None:
            raise RuntimeError("the emulator is not started; call start() or use `with`")
        return self._url

    def now(self) -> datetime:
        """The emulator's "now" (the injected clock, else real UTC time)."""
        if self._clock is None:
            return datetime.now(timezone.utc)
        return ensure_utc(self._clock())

    def start(self) -> PostHogEmulator:
        """Listen and serve in a daemon thread. Returns self."""
        if self._server is not None:
            return self
        server = EmulatorHTTPServer((self.host, self.port), self._core)
        self.port = server.server_address[1]
        self._url = f"http://{self.host}:{self.port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"posthog-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection (safe to call twice)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> PostHogEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ keys

    def add_api_key(
        self, key: str, scopes: list[str] | None = None, project_ids: list[int] | None = None
    ) -> None:
        """Add a personal API key owned by a new user.

        ``scopes`` None means every scope (``x:write`` implies ``x:read``);
        ``project_ids`` None means every project.
        """
        with self._core.lock:
            state = self._core.state
            owner = state.keys[key].owner if key in state.keys else state.new_user()
            granted = ALL_SCOPES if scopes is None else frozenset(scopes)
            projects = None if project_ids is None else frozenset(project_ids)
            state.keys[key] = ApiKey(key, owner, granted, projects)

    # ------------------------------------------------------------------ data

    def seed_recordings(
        self,
        n: int,
        *,
        days: float = 90,
        seed: int = 0,
        ongoing: int = 0,
        error_fraction: float = 0.2,
        persons: int | None = None,
        end: datetime | None = None,
    ) -> list[str]:
        """Add ``n`` realistic recordings spread over the ``days`` before ``end``.

        The same arguments (including ``end``) always give the same recordings.
        ``ongoing`` of them started minutes ago and are still ongoing;
        ``error_fraction`` of them have console errors. Returns their ids.
        """
        with self._core.lock:
            state = self._core.state
            spec = SeedSpec(
                n, days, seed, ongoing, error_fraction, persons, ensure_utc(end or self.now())
            )
            records = generate_recordings(
                spec,
                taken_ids=set(state.recordings) | state.deleted_ids,
                first_person_id=state.next_person_id,
            )
            for record in records:
                person = record["person"]
                for distinct_id in person["distinct_ids"]:
                    state.persons.setdefault(distinct_id, person)
                state.next_person_id = max(state.next_person_id, person["id"] + 1)
                state.put_recording(record)
            return [record["id"] for record in records]

    def add_recording(self, **fields: Any) -> dict[str, Any]:
        """Add one recording with the given fields (defaults for the rest); returns it.

        ``start_time``/``end_time`` accept datetimes, ISO strings or None;
        ``viewed=True`` marks it viewed by the default key's owner.
        """
        with self._core.lock:
            state = self._core.state
            now = self.now()
            viewed = fields.pop("viewed", False)
            record = build_recording(state, fields, now)
            if record["id"] in state.recordings:
                raise ValueError(f"recording {record['id']!r} already exists")
            state.put_recording(record)
            if viewed:
                state.mark_viewed(record["id"], self._default_owner.id)
            return serialize_recording(state, record, self._default_owner.id, now)

    def update_recording(self, recording_id: str, **fields: Any) -> dict[str, Any]:
        """Change fields of an existing recording (e.g. ``ongoing=False``); returns it.

        KeyError when it does not exist.
        """
        with self._core.lock:
            state = self._core.state
            if recording_id not in state.recordings:
                raise KeyError(recording_id)
            fields.pop("id", None)
            for name in ("start_time", "end_time"):
                if name in fields:
                    fields[name] = coerce_datetime(fields[name])
            record = {**state.recordings[recording_id], **fields}
            state.put_recording(record)
            return serialize_recording(state, record, self._default_owner.id, self.now())

    def recording_ids(self) -> set[str]:
        """Ids of the recordings that currently exist."""
        with self._core.lock:
            return set(self._core.state.recordings)

    def recording(self, recording_id: str) -> dict[str, Any] | None:
        """A recording as the default key sees it, or None when it does not exist."""
        with self._core.lock:
            record = self._core.state.recordings.get(recording_id)
            if record is None:
                return None
            return serialize_recording(self._core.state, record, self._default_owner.id, self.now())

    @property
    def deleted_ids(self) -> set[str]:
        """Ids deleted through the API or :meth:`delete_recording` (a copy)."""
        with self._core.lock:
            return set(self._core.state.deleted_ids)

    def delete_recording(self, recording_id: str) -> None:
        """Delete a recording out of band ("someone else deleted it")."""
        with self._core.lock:
            self._core.state.remove_recording(recording_id)

    def viewed_ids(self) -> set[str]:
        """Ids of existing recordings viewed by the default key's owner."""
        with self._core.lock:
            state = self._core.state
            owner = self._default_owner.id
            return {rid for rid in state.recordings if state.is_viewed_by(rid, owner)}

    def create_playlist(
        self,
        name: str,
        *,
        type: str = "collection",
        pinned: bool = False,
        filters: dict[str, Any] | None = None,
        recording_ids: list[str] | None = None,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Create a playlist out of band; returns it as the API shows it (with short_id)."""
        if type not in ("collection", "filters"):
            raise ValueError("type must be 'collection' or 'filters'")
        check_type_and_filters(type, filters or {})
        if recording_ids and type != "collection":
            raise ValueError("only a collection holds recordings")
        with self._core.lock:
            state = self._core.state
            fields = {
                "name": name,
                "description": "",
                "pinned": pinned,
                "deleted": deleted,
                "filters": dict(filters or {}),
                "type": type,
            }
            playlist = add_playlist(state, fields, self._default_owner, self.now())
            items = state.playlist_items[playlist["short_id"]]
            items.extend(dict.fromkeys(recording_ids or []))
            return serialize_playlist(state, playlist, self._default_owner.id)

    def playlist_items(self, short_id: str) -> list[str]:
        """Ids held by a playlist, in the order they were added (KeyError if unknown)."""
        with self._core.lock:
            if short_id not in self._core.state.playlists:
                raise KeyError(short_id)
            return list(self._core.state.playlist_items.get(short_id, []))

    def playlists(self) -> list[dict[str, Any]]:
        """Every stored playlist, soft-deleted ones included."""
        with self._core.lock:
            state = self._core.state
            return [
                serialize_playlist(state, playlist, self._default_owner.id)
                for playlist in state.playlists.values()
            ]

    # ------------------------------------------------------------------ snapshots

    def snapshot_lines(self, recording_id: str) -> list[str]:
        """Every JSON line of a recording's snapshots, block after block (also after it was
        deleted, once generated). KeyError when the emulator never had it."""
        with self._core.lock:
            data = snapshots_of(self._core.state, recording_id)
            if data is None:
                raise KeyError(recording_id)
            return data.lines()

    def snapshot_info(self, recording_id: str) -> dict[str, Any]:
        """How a recording's snapshots are stored: ``blocks``, ``compressed``, ``mobile``,
        ``lts`` (KeyError when unknown)."""
        with self._core.lock:
            data = snapshots_of(self._core.state, recording_id)
            if data is None:
                raise KeyError(recording_id)
            return {
                "blocks": len(data.blocks),
                "compressed": data.compressed,
                "mobile": data.mobile,
                "lts": data.lts_path is not None,
            }

    def replace_snapshot_lines(self, recording_id: str, lines: list[str]) -> None:
        """Serve ``lines`` instead of a recording's lines (as many, block by block, with the
        blocks' time windows unchanged): for events a test writes itself."""
        with self._core.lock:
            data = snapshots_of(self._core.state, recording_id)
            if data is None:
                raise KeyError(recording_id)
            if len(lines) != len(data.lines()):
                raise ValueError(f"{len(data.lines())} lines expected, got {len(lines)}")
            rest = list(lines)
            for block in data.blocks:
                block.lines, rest = rest[: len(block.lines)], rest[len(block.lines) :]

    def fail_snapshot_blocks(self, recording_id: str, blocks: list[int], times: int = 1) -> None:
        """Make blocks of a recording fail for their next ``times`` fetches (-1: always).

        A range with some failing blocks answers 200 without them; all failing, 502.
        """
        if times == 0 or times < -1:
            raise ValueError("times must be >= 1, or -1 for always")
        with self._core.lock:
            for index in blocks:
                self._core.state.failing_blocks[(recording_id, index)] = times

    def empty_snapshot_sources(self, recording_id: str = "*", times: int = 1) -> None:
        """Answer the next ``times`` sources listings of a recording (``*``: of any) with
        ``{"sources": []}``, as PostHog does when its block listing fails upstream."""
        if times == 0 or times < -1:
            raise ValueError("times must be >= 1, or -1 for always")
        with self._core.lock:
            self._core.state.empty_sources[recording_id] = times

    def set_sharing(self, recording_id: str, enabled: bool) -> None:
        """Save the sharing config of a recording with ``enabled``, out of band."""
        with self._core.lock:
            save_sharing(self._core.state, recording_id, self.now()).enabled = enabled

    def share_token_valid(self, token: str) -> bool:
        """Whether a public link with ``token`` works now.

        True for the token of an enabled sharing config, and for a token replaced by
        ``sharing/refresh/`` less than 5 minutes ago (of a config still enabled).
        """
        with self._core.lock:
            return token_valid(self._core.state, token, self.now())

    def sharing_enabled_ids(self) -> set[str]:
        """Ids of recordings whose public link is enabled."""
        with self._core.lock:
            return {rid for rid, cfg in self._core.state.sharing.items() if cfg.enabled}

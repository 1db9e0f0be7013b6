"""Every JSON body the client sends uses only fields PostHog's views and serializers read.

``request_bodies.json`` (``emulator/posthog_recordings_emulator/posthog_schema/``) lists, per
endpoint, the body fields PostHog reads (from ``session_recording_api.py`` @ 004ffdf6 and the
playlist and sharing serializers). DRF ignores unknown fields silently, so a misnamed one would
be lost without a word: this test catches it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from posthog_recordings_emulator.schema_check import SCHEMA_DIR

from airflow_provider_posthog_recordings.jobs import curation
from airflow_provider_posthog_recordings.jobs.curation import CurationSettings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
BODIES = json.loads((SCHEMA_DIR / "request_bodies.json").read_text(encoding="utf-8"))["bodies"]

ROUTES = [
    ("POST", r"session_recording_playlists/$", "POST session_recording_playlists/"),
    (
        "PATCH",
        r"session_recording_playlists/[^/]+/$",
        "PATCH session_recording_playlists/{short_id}/",
    ),
    ("POST", r"session_recordings/bulk_delete/$", "POST session_recordings/bulk_delete/"),
    ("POST", r"session_recordings/bulk_viewed/$", "POST session_recordings/bulk_viewed/"),
    ("PATCH", r"session_recordings/[^/]+/sharing/$", "PATCH session_recordings/{id}/sharing/"),
    ("PATCH", r"session_recordings/[^/]+/$", "PATCH session_recordings/{id}/"),
]


def _endpoint(method: str, path: str) -> str | None:
    for wanted, pattern, name in ROUTES:
        if method == wanted and re.search(pattern, path):
            return name
    return None


def test_body_fields_are_the_ones_posthog_reads(emulator_factory: Any, client_for: Any) -> None:
    posthog = emulator_factory(profile="permissive", clock=lambda: NOW)
    ids = posthog.seed_recordings(30, days=5, end=NOW)
    client = client_for(posthog)
    query = {
        "date_from": "-7d",
        "having_predicates": [{"key": "duration", "operator": "gt", "value": 5}],
    }
    curation.run(client, CurationSettings(name="s", query=query, pinned=True, description="d"))
    curation.run(client, CurationSettings(name="s", query={**query, "date_from": "-3d"}))
    client.mark_viewed(ids[:3])
    client.enable_sharing(ids[3])
    client.disable_sharing(ids[3])
    client.delete_recordings(ids[5:8])
    cloud = emulator_factory(profile="cloud", clock=lambda: NOW)
    client_for(cloud).mark_viewed(cloud.seed_recordings(2, days=1, end=NOW))  # one PATCH each
    seen: dict[str, set[str]] = {}
    for emulator in (posthog, cloud):
        for request in emulator.requests:
            name = _endpoint(request.method, request.path)
            if name is not None and isinstance(request.body, dict):
                seen.setdefault(name, set()).update(request.body)
    assert set(seen) >= {
        "POST session_recording_playlists/",
        "PATCH session_recording_playlists/{short_id}/",
        "POST session_recordings/bulk_delete/",
        "POST session_recordings/bulk_viewed/",
        "PATCH session_recordings/{id}/sharing/",
        "PATCH session_recordings/{id}/",
    }
    for name, fields in seen.items():
        assert fields <= set(BODIES[name]["fields"]), (name, fields - set(BODIES[name]["fields"]))

"""A purge written the naive way, from the API summaries, with plain requests.

This is what a user writes from PostHog's published summaries: default page size (50),
offset pagination until ``has_next`` is false, then one DELETE per recording, sequentially.
On a 429 it waits ``Retry-After`` or, when there is none (PostHog's usual case), one second.
"""

from __future__ import annotations

import time
from datetime import datetime

import requests


def _send(session: requests.Session, method: str, url: str, **kwargs: object) -> requests.Response:
    while True:
        response = session.request(method, url, timeout=60, **kwargs)  # type: ignore[arg-type]
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("Retry-After", 1)))


def naive_purge(url: str, api_key: str, project_id: int, cutoff: datetime) -> int:
    """Delete every recording that started before ``cutoff``; return how many."""
    base = f"{url}/api/projects/{project_id}/session_recordings/"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    ids: list[str] = []
    offset = 0
    while True:
        params = {"date_from": "-1900d", "date_to": cutoff.isoformat(), "offset": offset}
        page = _send(session, "GET", base, params=params).json()
        ids.extend(item["id"] for item in page["results"])
        if not page.get("has_next"):
            break
        offset += len(page["results"])
    for recording_id in ids:
        _send(session, "DELETE", f"{base}{recording_id}/")
    return len(ids)

"""What an endpoint handler gets: the state, the config and the request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .recording_query import SortedIndex
from .recording_records import serialize_recording
from .responses import validation_error
from .state import ApiKey, EmulatorConfig, EmulatorState, User

IDS_FIELD = "session_recording_ids"


@dataclass
class RequestContext:
    """One authenticated request, as seen by an endpoint handler (under the state lock)."""

    state: EmulatorState
    config: EmulatorConfig
    key: ApiKey
    method: str
    path: str
    query: dict[str, str]
    body: Any
    now: datetime
    base_url: str
    index: SortedIndex
    fault: str | None = None

    @property
    def repeat_items(self) -> bool:
        """Whether a ``repeat_items`` fault applies to this list request."""
        return self.fault == "repeat_items"

    @property
    def recording_api_fails(self) -> bool:
        """Whether a ``recording_api_failure`` fault applies (deletions fail)."""
        return self.fault == "recording_api_failure"

    @property
    def user(self) -> User:
        """The owner of the calling key."""
        return self.key.owner

    def body_object(self) -> dict[str, Any]:
        """The JSON body as an object ({} when empty); 400 for any other JSON value."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise validation_error("Expected a JSON object in the request body")
        return self.body

    def serialize(self, record: dict[str, Any]) -> dict[str, Any]:
        """A stored recording as this key's owner sees it."""
        return serialize_recording(self.state, record, self.user.id, self.now)

    def bulk_ids(self, cap: int) -> list[str]:
        """``session_recording_ids`` of a bulk request: a non-empty list of at most ``cap``."""
        ids = self.body_object().get(IDS_FIELD)
        if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
            raise validation_error(f"{IDS_FIELD} must be a list of strings", IDS_FIELD)
        if not ids:
            raise validation_error(f"{IDS_FIELD} must not be empty", IDS_FIELD)
        if len(ids) > cap:
            raise validation_error(f"Cannot process more than {cap} recordings at once", IDS_FIELD)
        return ids

"""Public sharing links of recordings (a part of :class:`~.client.PostHogClient`).

PostHog's sharing endpoints do not check that the recording exists: they answer 200 for any
id, so a caller that must not make a link to nothing checks existence first (the share
operator does). A refreshed token leaves the old one working for five more minutes.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_posthog_recordings.client.http.paths import safe_id
from airflow_provider_posthog_recordings.client.http.transport import Transport
from airflow_provider_posthog_recordings.client.models import SharingConfiguration


class RecordingSharing:
    """Read, enable, revoke and rotate sharing links.

    :param transport: the client's HTTP transport.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def _sharing(self, body: Any) -> SharingConfiguration:
        config = SharingConfiguration.model_validate(body or {})
        return config.model_copy(update={"public_host": self.transport.base_url})

    def get_sharing(self, recording_id: str) -> SharingConfiguration:
        """The sharing state of a recording (an unsaved config when never shared)."""
        answer = self.transport.send("GET", f"session_recordings/{safe_id(recording_id)}/sharing/")
        return self._sharing(answer.body)

    def _set_sharing(self, recording_id: str, enabled: bool) -> SharingConfiguration:
        answer = self.transport.send(
            "PATCH",
            f"session_recordings/{safe_id(recording_id)}/sharing/",
            json_body={"enabled": enabled},
        )
        return self._sharing(answer.body)

    def enable_sharing(self, recording_id: str) -> SharingConfiguration:
        """Enable public sharing; the returned config has the stable ``share_url``.

        PostHog answers 200 even for a recording that does not exist: check first when that
        matters (:meth:`existing_recording_ids`).
        """
        return self._set_sharing(recording_id, True)

    def disable_sharing(self, recording_id: str) -> SharingConfiguration:
        """Revoke public sharing (the old link stops working)."""
        return self._set_sharing(recording_id, False)

    def refresh_sharing(self, recording_id: str) -> SharingConfiguration:
        """Issue a new access token (rotating the public link). Not retried when ambiguous.

        The old token keeps working for five more minutes.
        """
        answer = self.transport.send(
            "POST",
            f"session_recordings/{safe_id(recording_id)}/sharing/refresh/",
            rules=self.transport.rules(idempotent=False),
        )
        return self._sharing(answer.body)

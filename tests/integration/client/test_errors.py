"""Error answers become readable, typed errors that never contain the key."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import (
    PostHogAPIError,
    PostHogAuthError,
    PostHogConfigError,
    PostHogNotFoundError,
)


def test_invalid_key_is_a_401_with_a_hint(posthog: Any, client_for: Any) -> None:
    client = PostHogClient(posthog.url, "phx_wrong_key_123", posthog.project_id)
    with pytest.raises(PostHogAuthError) as caught:
        list(client.iter_recordings({"date_from": "-1d"}))
    message = str(caught.value)
    assert caught.value.status == 401
    assert "GET /api/projects/1/session_recordings/" in message
    assert "authentication_failed" in message and "personal API key" in message
    assert "phx_wrong_key_123" not in message and "phx_wrong_key_123" not in repr(client)


def test_missing_scope_names_the_scope(posthog: Any) -> None:
    posthog.add_api_key("phx_read_only_key", scopes=["session_recording:read"])
    [rid] = posthog.seed_recordings(1, days=1)
    client = PostHogClient(posthog.url, "phx_read_only_key", posthog.project_id)
    with pytest.raises(PostHogAuthError) as caught:
        client.delete_recordings([rid])
    assert caught.value.status == 403
    assert "session_recording:write" in str(caught.value)
    assert "phx_read_only_key" not in str(caught.value)
    assert rid in posthog.recording_ids()


def test_key_without_project_access(posthog: Any) -> None:
    posthog.add_api_key("phx_other_project", project_ids=[999])
    client = PostHogClient(posthog.url, "phx_other_project", posthog.project_id)
    with pytest.raises(PostHogAuthError, match="project_id"):
        list(client.iter_recordings({"date_from": "-1d"}))


def test_unknown_project_is_a_404_with_a_hint(posthog: Any) -> None:
    client = PostHogClient(posthog.url, posthog.api_key, 4242)
    with pytest.raises(PostHogNotFoundError, match="project_id and host"):
        list(client.iter_recordings({"date_from": "-1d"}))


def test_missing_recording_is_a_404(client: Any) -> None:
    with pytest.raises(PostHogNotFoundError, match="does not exist"):
        client.get_recording("no-such-session")


def test_ids_cannot_change_the_path(client: Any, posthog: Any) -> None:
    with pytest.raises(PostHogConfigError):
        client.get_recording("../../users")
    assert posthog.request_count == 0


@pytest.mark.parametrize(
    ("host", "match"),
    [
        ("us.posthog.com", "https://"),
        ("http://posthog.example.com", "unencrypted"),
        ("https://us.i.posthog.com", "ingestion"),
        ("https://us.posthog.com/project/1", "no path"),
    ],
)
def test_bad_hosts_fail_before_any_request(host: str, match: str) -> None:
    with pytest.raises(PostHogConfigError, match=match):
        PostHogClient(host, "phx_key", 1)


def test_http_elsewhere_is_allowed_only_when_asked() -> None:
    client = PostHogClient("http://posthog.internal", "phx_key", 1, allow_insecure_http=True)
    assert client.base_url == "http://posthog.internal"


@pytest.mark.parametrize("project_id", [None, "", "abc", "12a", 0, -3])
def test_bad_project_ids_fail_before_any_request(project_id: Any) -> None:
    with pytest.raises(PostHogConfigError, match="project id"):
        PostHogClient("https://us.posthog.com", "phx_key", project_id)


def test_check_access_reports_what_it_reached(client: Any, posthog: Any) -> None:
    assert client.check_access() == f"Connected to {posthog.url}, project 1"


def test_redirects_are_not_followed_and_say_where_to_go() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen: list[str | None] = []

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            seen.append(self.headers.get("Authorization"))
            self.send_response(301)
            self.send_header("Location", "https://us.posthog.com" + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = PostHogClient(f"http://127.0.0.1:{server.server_port}", "phx_secret_1", 1)
        with pytest.raises(PostHogAPIError) as caught:
            list(client.iter_recordings({"date_from": "-1d"}))
    finally:
        server.shutdown()
        server.server_close()
    message = str(caught.value)
    assert caught.value.status == 301 and "redirects to https://us.posthog.com/api/" in message
    assert "phx_secret_1" not in message
    assert len(seen) == 1


def test_a_connection_failure_is_ours_alone_with_no_requests_traceback(sleeps: Any) -> None:
    """Nothing listens on the port: the error is the package's own, typed, and its traceback
    holds no frame from inside requests (nor a chained requests exception)."""
    import socket
    import traceback

    from airflow_provider_posthog_recordings.client.errors import PostHogConnectionError

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = PostHogClient(f"http://127.0.0.1:{port}", "phx_test_key_123456", 1, max_retries=1)
    with pytest.raises(PostHogConnectionError) as caught:
        client.get_recording("abc")
    text = "".join(traceback.format_exception(caught.value))
    assert "check the host" in str(caught.value)
    assert "requests/" not in text and "urllib3" not in text, text

"""api_error_from_response: the error type, its message, and that the key never leaks."""

from __future__ import annotations

import pytest

from airflow_provider_posthog_recordings.client.errors import (
    PostHogAPIError,
    PostHogAuthError,
    PostHogConfigError,
    PostHogError,
    PostHogNotFoundError,
    PostHogRateLimitError,
    PostHogServerError,
    PostHogValidationError,
    api_error_from_response,
)

KEY = "phx_s3cr3tKeyValue0123456789abcdefXYZ"
RECORDINGS = "/api/projects/1/session_recordings/"


def error(
    status: int,
    body: object,
    *,
    method: str = "GET",
    path: str = RECORDINGS,
    secret: str | None = KEY,
) -> PostHogAPIError:
    return api_error_from_response(
        status=status, method=method, path=path, body=body, secret=secret
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, PostHogValidationError),
        (401, PostHogAuthError),
        (403, PostHogAuthError),
        (404, PostHogNotFoundError),
        (429, PostHogRateLimitError),
        (500, PostHogServerError),
        (502, PostHogServerError),
        (503, PostHogServerError),
        (504, PostHogServerError),
        (599, PostHogServerError),
        (405, PostHogAPIError),
        (409, PostHogAPIError),
        (418, PostHogAPIError),
    ],
)
def test_class_by_status(status: int, cls: type[PostHogAPIError]) -> None:
    err = error(status, {"detail": "x"})
    assert type(err) is cls
    assert isinstance(err, PostHogAPIError)
    assert isinstance(err, PostHogError)
    assert err.status == status


def test_config_error_is_a_value_error() -> None:
    assert issubclass(PostHogConfigError, ValueError)
    assert issubclass(PostHogConfigError, PostHogError)


def test_validation_error_message() -> None:
    body = {
        "type": "validation_error",
        "code": "invalid_input",
        "detail": "At least one of viewed or analyzed must be true",
        "attr": "viewed",
    }
    err = error(400, body, method="PATCH", path=f"{RECORDINGS}abc/")
    assert (err.status, err.method, err.path) == (400, "PATCH", f"{RECORDINGS}abc/")
    assert (err.code, err.attr) == ("invalid_input", "viewed")
    assert err.detail == "At least one of viewed or analyzed must be true"
    assert err.hint is None
    assert str(err) == (
        f"PostHog API PATCH {RECORDINGS}abc/ answered 400 (invalid_input): At least one of "
        "viewed or analyzed must be true [field: viewed]"
    )


def test_401_message_and_hint() -> None:
    body = {
        "type": "authentication_error",
        "code": "authentication_failed",
        "detail": "Personal API key found in request Authorization header is invalid.",
    }
    err = error(401, body)
    assert str(err) == (
        f"PostHog API GET {RECORDINGS} answered 401 (authentication_failed): Personal API key "
        "found in request Authorization header is invalid. Hint: check the personal API key (it "
        "starts with 'phx_'; a project key 'phc_' does not work) and that the host is the app "
        "host (https://us.posthog.com or https://eu.posthog.com), not an ingestion host "
        "(*.i.posthog.com)"
    )


@pytest.mark.parametrize(
    ("detail", "hint"),
    [
        (
            "API key missing required scope 'session_recording:write'",
            "give the personal API key the scope named above in PostHog's settings",
        ),
        (
            "API key does not have access to the requested project",
            "check the connection's project_id and the projects this key may access",
        ),
        (
            "This action does not support personal API key access",
            "this endpoint refuses personal API keys",
        ),
        (
            "You do not have permission to perform this action.",
            "check the key's scopes and project access",
        ),
    ],
)
def test_403_hints(detail: str, hint: str) -> None:
    err = error(
        403, {"type": "authentication_error", "code": "permission_denied", "detail": detail}
    )
    assert err.hint == hint
    period = "" if detail.endswith(".") else "."
    assert str(err) == (
        f"PostHog API GET {RECORDINGS} answered 403 (permission_denied): {detail}{period} "
        f"Hint: {hint}"
    )


@pytest.mark.parametrize(
    ("path", "hint"),
    [
        (
            f"{RECORDINGS}0191-abc/",
            "the object does not exist (never existed, expired, or was deleted)",
        ),
        (
            f"{RECORDINGS}0191-abc/sharing/",
            "the object does not exist (never existed, expired, or was deleted)",
        ),
        (RECORDINGS, "check the connection's project_id and host (US and EU clouds are separate)"),
        (
            "/api/projects/99/session_recording_playlists/",
            "check the connection's project_id and host (US and EU clouds are separate)",
        ),
    ],
)
def test_404_hints(path: str, hint: str) -> None:
    body = {"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": None}
    err = error(404, body, path=path)
    assert err.hint == hint
    assert err.attr is None
    assert str(err) == f"PostHog API GET {path} answered 404 (not_found): Not found. Hint: {hint}"


def test_429_message() -> None:
    body = {
        "type": "throttled_error",
        "code": "throttled",
        "detail": "Request was throttled. Expected available in 12 seconds.",
        "attr": None,
    }
    err = error(429, body)
    assert str(err) == (
        f"PostHog API GET {RECORDINGS} answered 429 (throttled): Request was throttled. Expected "
        "available in 12 seconds. Hint: PostHog's rate limit for this key was still exceeded "
        "after all retries"
    )


def test_error_key_body() -> None:
    err = error(500, {"error": "ClickHouse query failed"}, method="DELETE", path=f"{RECORDINGS}a/")
    assert type(err) is PostHogServerError
    assert err.detail == "ClickHouse query failed"
    assert err.code is None
    assert str(err) == (
        f"PostHog API DELETE {RECORDINGS}a/ answered 500: ClickHouse query failed. Hint: PostHog "
        "had a server error; retrying later usually helps"
    )


def test_detail_wins_over_error() -> None:
    assert error(500, {"detail": "d", "error": "e"}).detail == "d"


def test_non_text_detail_code_attr() -> None:
    err = error(400, {"detail": ["a", "b"], "code": 7, "attr": ["x"]})
    assert err.detail == "['a', 'b']"
    assert err.code is None
    assert err.attr is None


@pytest.mark.parametrize("body", [None, {}, "", "   ", 12, ["x"]])
def test_empty_or_odd_bodies(body: object) -> None:
    err = error(418, body)
    assert err.detail is None
    assert str(err) == f"PostHog API GET {RECORDINGS} answered 418"


def test_html_body_is_shortened_and_flattened() -> None:
    html = "<html>\n  <head><title>502 Bad Gateway</title></head>\n<body>" + "x" * 500 + "</body>"
    err = error(502, html)
    assert err.detail is not None
    assert len(err.detail) == 200
    assert err.detail.startswith("<html> <head><title>502 Bad Gateway</title></head> <body>xxx")
    assert "\n" not in str(err)


def test_short_text_body_is_kept() -> None:
    assert error(503, "Service Unavailable\n").detail == "Service Unavailable"


def test_secret_is_scrubbed_from_an_echoed_detail() -> None:
    body = {
        "detail": f"Personal API key {KEY} is invalid; {KEY} again",
        "code": "authentication_failed",
    }
    err = error(401, body)
    assert err.detail == "Personal API key *** is invalid; *** again"
    assert KEY not in str(err)


@pytest.mark.parametrize("prefix", [0, 150, 170, 185, 199])
def test_secret_is_scrubbed_from_a_text_body_before_it_is_shortened(prefix: int) -> None:
    # A key that straddles the cut must not leave its first characters in the message.
    body = "<p>" + "y" * prefix + KEY + "</p>" + "z" * 300
    err = error(500, body)
    assert KEY[:5] not in str(err)
    assert "phx_" not in str(err)


def test_scrubbing_without_a_secret_keeps_the_detail() -> None:
    assert error(400, {"detail": "bad phx_x"}, secret=None).detail == "bad phx_x"


def test_attributes_without_a_body() -> None:
    err = PostHogAPIError(status=409, method="POST", path="/x/")
    assert str(err) == "PostHog API POST /x/ answered 409"
    assert (err.detail, err.code, err.attr, err.hint) == (None, None, None, None)


@pytest.mark.parametrize(
    ("detail", "shown"),
    [
        ("Not found.", "Not found. Hint:"),
        ("Really?", "Really? Hint:"),
        ("Stop!", "Stop! Hint:"),
        ("No period", "No period. Hint:"),
    ],
)
def test_hint_follows_the_detail_with_one_period(detail: str, shown: str) -> None:
    message = str(error(404, {"detail": detail}))
    assert shown in message
    assert ".." not in message


def test_hint_after_a_field_gets_its_period() -> None:
    err = error(403, {"detail": "No access.", "attr": "project"})
    assert str(err).endswith(
        "No access. [field: project]. Hint: check the key's scopes and project access"
    )

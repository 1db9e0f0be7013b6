"""Connection settings: host, project id and API key, checked before any request."""

from __future__ import annotations

import hashlib

import pytest

from airflow_provider_posthog_recordings.client.config import (
    DEFAULT_HOST,
    connection_host,
    key_fingerprint,
    normalize_host,
    validate_api_key,
    validate_project_id,
)
from airflow_provider_posthog_recordings.client.errors import PostHogConfigError

KEY = "phx_s3cr3tKeyValue0123456789abcdefXYZ"


# ------------------------------------------------------------------ normalize_host


@pytest.mark.parametrize("host", [None, "", "   "])
def test_default_host(host: str | None) -> None:
    assert normalize_host(host) == "https://us.posthog.com"
    assert DEFAULT_HOST == "https://us.posthog.com"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("https://us.posthog.com", "https://us.posthog.com"),
        ("https://eu.posthog.com/", "https://eu.posthog.com"),
        ("  https://app.posthog.com/  ", "https://app.posthog.com"),
        ("https://EU.PostHog.com", "https://eu.posthog.com"),
        ("HTTPS://posthog.example.com", "https://posthog.example.com"),
        ("https://posthog.example.com:8443", "https://posthog.example.com:8443"),
        ("https://posthog.example.com:443/", "https://posthog.example.com:443"),
        ("https://user:pw@posthog.example.com", "https://posthog.example.com"),
        ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
    ],
)
def test_normalize_host(host: str, expected: str) -> None:
    assert normalize_host(host) == expected


@pytest.mark.parametrize(
    "host", ["us.posthog.com", "localhost:8000", "ftp://us.posthog.com", "https://"]
)
def test_host_without_http_scheme_is_refused(host: str) -> None:
    with pytest.raises(PostHogConfigError) as info:
        normalize_host(host)
    assert str(info.value) == (
        f"host {host!r} must start with https:// (for example https://us.posthog.com or "
        "https://eu.posthog.com)"
    )


@pytest.mark.parametrize(
    "host",
    [
        "https://us.posthog.com/api",
        "https://us.posthog.com/project/1",
        "https://us.posthog.com/api/projects/1/",
        "https://us.posthog.com?x=1",
        "https://us.posthog.com/#frag",
    ],
)
def test_host_with_a_path_is_refused(host: str) -> None:
    with pytest.raises(PostHogConfigError) as info:
        normalize_host(host)
    assert str(info.value) == (
        f"host {host!r} must be only scheme and host (no path such as /api or /project/1)"
    )


@pytest.mark.parametrize(
    ("host", "suggestion"),
    [
        ("https://us.i.posthog.com", "https://us.posthog.com"),
        ("https://eu.i.posthog.com/", "https://eu.posthog.com"),
        ("https://EU.I.POSTHOG.COM", "https://eu.posthog.com"),
        ("https://us.i.posthog.com:443", "https://us.posthog.com"),
        ("https://us-assets.i.posthog.com", "https://us.posthog.com"),
        ("https://eu-assets.i.posthog.com", "https://eu.posthog.com"),
    ],
)
def test_ingestion_hosts_are_refused_with_a_suggestion(host: str, suggestion: str) -> None:
    with pytest.raises(PostHogConfigError) as info:
        normalize_host(host)
    message = str(info.value)
    assert "is PostHog's ingestion host and does not serve this API" in message
    assert message.endswith(f"use {suggestion} instead")


def test_ingestion_message_names_the_host() -> None:
    with pytest.raises(PostHogConfigError) as info:
        normalize_host("https://eu.i.posthog.com")
    assert str(info.value) == (
        "eu.i.posthog.com is PostHog's ingestion host and does not serve this API: use "
        "https://eu.posthog.com instead"
    )


def test_a_host_merely_named_like_posthog_is_not_an_ingestion_host() -> None:
    assert normalize_host("https://i.posthog.example.com") == "https://i.posthog.example.com"


@pytest.mark.parametrize(
    "host",
    [
        "http://us.posthog.com",
        "http://posthog.internal:8000",
        "http://10.0.0.5",
        "http://localhost.evil.com",
    ],
)
def test_plain_http_is_refused(host: str) -> None:
    with pytest.raises(PostHogConfigError) as info:
        normalize_host(host)
    assert str(info.value) == (
        f"host {host!r} uses plain http, which would send the API key unencrypted; use https, "
        "or set allow_insecure_http in the connection extra if you really mean it"
    )


def test_plain_http_allowed_when_asked() -> None:
    assert (
        normalize_host("http://posthog.internal:8000/", allow_insecure_http=True)
        == "http://posthog.internal:8000"
    )


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("http://localhost", "http://localhost"),
        ("http://localhost:8000/", "http://localhost:8000"),
        ("http://LOCALHOST:8000", "http://localhost:8000"),
        ("http://127.0.0.1:8010", "http://127.0.0.1:8010"),
        ("http://127.0.0.2", "http://127.0.0.2"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://[::1]", "http://[::1]"),
    ],
)
def test_plain_http_to_loopback_is_allowed(host: str, expected: str) -> None:
    assert normalize_host(host) == expected


@pytest.mark.parametrize(
    "host", ["https://posthog.example.com:99999", "https://posthog.example.com:abc"]
)
def test_invalid_port_is_refused(host: str) -> None:
    with pytest.raises(PostHogConfigError) as info:
        normalize_host(host)
    assert str(info.value) == f"host {host!r} has an invalid port"


# ------------------------------------------------------------------ validate_project_id


@pytest.mark.parametrize(
    ("value", "expected"), [("42", 42), (42, 42), (" 7 ", 7), ("1", 1), (123456789, 123456789)]
)
def test_project_id(value: object, expected: int) -> None:
    result = validate_project_id(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_project_id(value: object) -> None:
    with pytest.raises(PostHogConfigError) as info:
        validate_project_id(value)
    assert str(info.value) == (
        "the PostHog project id is missing: set project_id in the connection extra "
        "(the number in https://us.posthog.com/project/<id>)"
    )


@pytest.mark.parametrize("value", [True, False])
def test_bool_project_id_is_refused(value: bool) -> None:
    with pytest.raises(PostHogConfigError) as info:
        validate_project_id(value)
    assert str(info.value) == f"project id must be a number, not {value!r}"


@pytest.mark.parametrize("value", ["12a", "abc", "4.2", 4.2, "1e3", [1]])
def test_non_number_project_id_is_refused(value: object) -> None:
    with pytest.raises(PostHogConfigError) as info:
        validate_project_id(value)
    assert str(info.value) == (
        f"project id must be a number (the <id> in /project/<id>), not {value!r}"
    )


@pytest.mark.parametrize(("value", "shown"), [(0, 0), ("0", 0), (-5, -5), ("-12", -12)])
def test_non_positive_project_id_is_refused(value: object, shown: int) -> None:
    with pytest.raises(PostHogConfigError) as info:
        validate_project_id(value)
    assert str(info.value) == f"project id must be a positive number, not {shown}"


# ------------------------------------------------------------------ validate_api_key


def test_api_key_is_stripped() -> None:
    assert validate_api_key(f"  {KEY}\n") == KEY


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_missing_api_key(value: str | None) -> None:
    with pytest.raises(PostHogConfigError) as info:
        validate_api_key(value)
    assert str(info.value) == (
        "the PostHog personal API key is missing: put it in the connection's password field"
    )


@pytest.mark.parametrize("key", [f"{KEY} extra", f"phx_abc\tdef{KEY}", f"{KEY[:10]}\n{KEY[10:]}"])
def test_api_key_with_whitespace_is_refused_without_echoing_it(key: str) -> None:
    with pytest.raises(PostHogConfigError) as info:
        validate_api_key(key)
    message = str(info.value)
    assert message == "the PostHog personal API key contains whitespace"
    for part in key.split():
        assert part not in message


# ------------------------------------------------------------------ key_fingerprint


def test_key_fingerprint_is_stable_and_short() -> None:
    fingerprint = key_fingerprint(KEY)
    assert fingerprint == key_fingerprint(KEY)
    assert fingerprint == hashlib.sha256(KEY.encode()).hexdigest()[:12]
    assert len(fingerprint) == 12
    assert all(ch in "0123456789abcdef" for ch in fingerprint)


def test_key_fingerprint_does_not_contain_the_key() -> None:
    fingerprint = key_fingerprint(KEY)
    assert KEY not in fingerprint
    assert KEY[4:16] not in fingerprint
    assert "phx_" not in fingerprint


def test_key_fingerprint_differs_by_key() -> None:
    assert key_fingerprint(KEY) != key_fingerprint(KEY + "x")
    assert key_fingerprint("phx_a") == "f74e00244fa9"


# ------------------------------------------------------------------ connection_host


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        (None, None, None, "https://us.posthog.com"),
        ("", "http", 8000, "https://us.posthog.com"),
        ("us.posthog.com", None, None, "https://us.posthog.com"),
        ("us.posthog.com", "", None, "https://us.posthog.com"),
        ("posthog.example.com", "HTTP", 8000, "http://posthog.example.com:8000"),
        ("posthog.example.com", "https", 8443, "https://posthog.example.com:8443"),
        ("https://eu.posthog.com", None, None, "https://eu.posthog.com"),
        ("https://eu.posthog.com", "http", None, "https://eu.posthog.com"),
        ("http://127.0.0.1", None, 8010, "http://127.0.0.1:8010"),
        ("http://127.0.0.1:8010", None, 8010, "http://127.0.0.1:8010"),
        ("http://[::1]", None, 8010, "http://[::1]:8010"),
        # The scheme's default port (the form's 443, for the Test button) adds nothing.
        ("https://eu.posthog.com", None, 443, "https://eu.posthog.com"),
        ("http://127.0.0.1", None, 80, "http://127.0.0.1"),
    ],
)
def test_connection_host(
    host: str | None, schema: str | None, port: int | None, expected: str
) -> None:
    assert connection_host(host, schema, port) == expected


def test_a_port_that_differs_from_the_hosts_own_is_refused() -> None:
    with pytest.raises(PostHogConfigError) as info:
        connection_host("http://127.0.0.1:8010", None, 9999)
    assert str(info.value) == (
        "the connection's port 9999 differs from the port of host 'http://127.0.0.1:8010': "
        "give the same port, or leave one of them empty"
    )


def test_connection_host_refuses_another_schema() -> None:
    with pytest.raises(PostHogConfigError) as info:
        connection_host("us.posthog.com", "postgres", 5432)
    assert str(info.value) == (
        "the connection's schema field must be http or https (the scheme of host "
        "'us.posthog.com'), not 'postgres'"
    )


def test_messages_show_the_port() -> None:
    with pytest.raises(PostHogConfigError) as info:
        normalize_host(connection_host("posthog.internal", "http", 8000))
    assert "'http://posthog.internal:8000' uses plain http" in str(info.value)

"""Validation of connection settings, before any request is sent (pure)."""

from __future__ import annotations

import hashlib
import ipaddress
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError

DEFAULT_HOST = "https://us.posthog.com"
_INGESTION_HOSTS = {"us.i.posthog.com", "eu.i.posthog.com"}


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def normalize_host(host: str | None, *, allow_insecure_http: bool = False) -> str:
    """Return ``scheme://host[:port]`` without a trailing slash.

    :raises PostHogConfigError: no scheme, a scheme other than http(s), an ingestion host, a path,
        or plain ``http://`` to anything but loopback without ``allow_insecure_http``
        (the key would travel in clear text).
    """
    text = (host or "").strip() or DEFAULT_HOST
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PostHogConfigError(
            f"host {text!r} must start with https:// (for example {DEFAULT_HOST} or "
            "https://eu.posthog.com)"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise PostHogConfigError(
            f"host {text!r} must be only scheme and host (no path such as /api or /project/1)"
        )
    hostname = parts.hostname.lower()
    if hostname in _INGESTION_HOSTS or hostname.endswith(".i.posthog.com"):
        cloud = "eu" if hostname.startswith("eu") else "us"
        raise PostHogConfigError(
            f"{hostname} is PostHog's ingestion host and does not serve this API: use "
            f"https://{cloud}.posthog.com instead"
        )
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(hostname):
        raise PostHogConfigError(
            f"host {text!r} uses plain http, which would send the API key unencrypted; use "
            "https, or set allow_insecure_http in the connection extra if you really mean it"
        )
    try:
        port = parts.port
    except ValueError:
        raise PostHogConfigError(f"host {text!r} has an invalid port") from None
    netloc = hostname if ":" not in hostname else f"[{hostname}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}"


def connection_host(host: str | None, schema: str | None = None, port: int | None = None) -> str:
    """The host URL of an Airflow connection's ``host``, ``schema`` and ``port`` fields.

    A host with a scheme (the JSON and UI forms: ``https://eu.posthog.com``) is kept. A host
    without one (the URI form ``posthog://:KEY@eu.posthog.com?project_id=1`` cannot carry one)
    gets the connection's ``schema`` (``http`` or ``https``), else ``https``, as in Airflow's
    HTTP provider. ``port`` is added when the host has none (and it is not the scheme's
    default: 443 for https, 80 for http); a host with a port of its own must agree with it.
    The result still has to pass :func:`normalize_host`.

    The form shows the port for one reason: Airflow 3.3.2's Test button sends ``port: 0`` for a
    connection stored without one, and the api-server answers *Bad Request* before any hook
    runs (apache/airflow#73298); a stored port (443) avoids it.

    :raises PostHogConfigError: a ``schema`` other than http or https for a host without a
        scheme; a port that differs from the host's own.
    """
    text = (host or "").strip()
    if not text:
        return DEFAULT_HOST
    if "://" not in text:
        scheme = (schema or "").strip().lower() or "https"
        if scheme not in ("http", "https"):
            raise PostHogConfigError(
                f"the connection's schema field must be http or https (the scheme of host "
                f"{text!r}), not {schema!r}"
            )
        text = f"{scheme}://{text}"
    if port:
        parts = urlsplit(text)
        try:
            explicit = parts.port
        except ValueError:  # normalize_host reports it
            return text
        if explicit is not None and explicit != port:
            raise PostHogConfigError(
                f"the connection's port {port} differs from the port of host {text!r}: "
                "give the same port, or leave one of them empty"
            )
        default = 443 if parts.scheme == "https" else 80
        if explicit is None and port != default and parts.netloc:
            text = urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))
    return text


def validate_project_id(project_id: object) -> int:
    """Return the project id as a positive int.

    :raises PostHogConfigError: when missing, not a whole number, or not positive.
    """
    if project_id is None or (isinstance(project_id, str) and not project_id.strip()):
        raise PostHogConfigError(
            "the PostHog project id is missing: set project_id in the connection extra "
            "(the number in https://us.posthog.com/project/<id>)"
        )
    if isinstance(project_id, bool):
        raise PostHogConfigError(f"project id must be a number, not {project_id!r}")
    try:
        value = int(str(project_id).strip())
    except ValueError:
        raise PostHogConfigError(
            f"project id must be a number (the <id> in /project/<id>), not {project_id!r}"
        ) from None
    if value <= 0:
        raise PostHogConfigError(f"project id must be a positive number, not {value}")
    return value


def validate_api_key(api_key: str | None) -> str:
    """Return the key stripped; refuse an empty one (the key itself is never echoed)."""
    key = (api_key or "").strip()
    if not key:
        raise PostHogConfigError(
            "the PostHog personal API key is missing: put it in the connection's password field"
        )
    if any(ch.isspace() for ch in key):
        raise PostHogConfigError("the PostHog personal API key contains whitespace")
    return key


def key_fingerprint(api_key: str) -> str:
    """A short, non-reversible id of a key, for grouping (never the key itself)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]

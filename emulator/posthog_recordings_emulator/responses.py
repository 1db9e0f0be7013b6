"""HTTP answers of the emulator: a small response type and PostHog-shaped errors."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

JSON_CONTENT_TYPE = "application/json"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"


@dataclass
class Response:
    """An answer to send: a status, a JSON body (or raw bytes) and extra headers.

    ``body`` None with ``raw`` None means "no body" (used for 204).
    """

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = JSON_CONTENT_TYPE

    def payload(self) -> bytes:
        """The bytes of the body (empty when there is none)."""
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body).encode("utf-8")


class ApiError(Exception):
    """An error answered with PostHog's ``{"type", "code", "detail", "attr"}`` body."""

    def __init__(
        self,
        status: int,
        type_: str,
        code: str,
        detail: str,
        attr: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.type = type_
        self.code = code
        self.detail = detail
        self.attr = attr
        self.headers = headers or {}

    def to_response(self) -> Response:
        """The error as a :class:`Response`."""
        body = {"type": self.type, "code": self.code, "detail": self.detail, "attr": self.attr}
        return Response(self.status, body, headers=dict(self.headers))


def validation_error(detail: str, attr: str | None = None, code: str = "invalid_input") -> ApiError:
    """400 validation error."""
    return ApiError(400, "validation_error", code, detail, attr)


def parse_error(detail: str) -> ApiError:
    """400 for a body that is not valid JSON."""
    return ApiError(400, "validation_error", "parse_error", f"JSON parse error - {detail}")


def not_found(detail: str = "Not found.") -> ApiError:
    """404 in PostHog's shape."""
    return ApiError(404, "invalid_request", "not_found", detail)


def permission_denied(detail: str) -> ApiError:
    """403 in PostHog's shape (as sent for scopes and project access)."""
    return ApiError(403, "authentication_error", "permission_denied", detail)


def not_authenticated() -> ApiError:
    """401 when no Authorization header was sent."""
    return ApiError(
        401,
        "authentication_error",
        "not_authenticated",
        "Authentication credentials were not provided.",
    )


def authentication_failed() -> ApiError:
    """401 for an unknown personal API key."""
    return ApiError(
        401,
        "authentication_error",
        "authentication_failed",
        "Personal API key found in request Authorization header is invalid.",
    )


def method_not_allowed(method: str) -> ApiError:
    """405 for a method a route does not support."""
    return ApiError(405, "invalid_request", "method_not_allowed", f'Method "{method}" not allowed.')


def throttle_detail(seconds: float) -> str:
    """PostHog's throttling message for a wait of ``seconds``."""
    return f"Request was throttled. Expected available in {seconds:g} seconds."


def throttled(seconds: float, retry_after: bool = False) -> ApiError:
    """429 with the wait in ``detail`` and, only when asked, a Retry-After header."""
    headers = {"Retry-After": str(math.ceil(seconds))} if retry_after else None
    return ApiError(429, "throttled_error", "throttled", throttle_detail(seconds), headers=headers)


def server_error(message: str) -> Response:
    """A 500 with the ``{"error": ...}`` body some PostHog endpoints send."""
    return Response(500, {"error": message})


def html_error(status: int) -> Response:
    """An HTML error page as a proxy or load balancer would send it."""
    reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(
        status, "Error"
    )
    page = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return Response(status, raw=page.encode("utf-8"), content_type=HTML_CONTENT_TYPE)

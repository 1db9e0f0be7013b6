"""Errors raised by the PostHog client.

Every HTTP failure becomes a :class:`PostHogAPIError` (or one of its subclasses) in exactly
one place, :func:`api_error_from_response`, so messages always say the same things: the method,
the path, the status, PostHog's own ``detail``/``code`` and a hint on what to check. The API key
never appears in any of them.
"""

from __future__ import annotations

from typing import Any


class PostHogError(Exception):
    """Base class of every error this package raises on purpose."""


class PostHogConfigError(PostHogError, ValueError):
    """Bad configuration or input, detected before any request is sent."""


class PostHogConnectionError(PostHogError):
    """The server could not be reached (or kept dropping the connection) after all retries."""


class PostHogRecordingsMissingError(PostHogError):
    """Some recordings a task was asked to act on do not exist (nothing was done to any).

    :param missing: the ids that do not exist.
    """

    def __init__(self, message: str, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing


class PostHogPaginationError(PostHogError):
    """The server's pagination cannot be followed safely (foreign host, a loop, ...)."""


class PostHogBudgetWait(PostHogError):
    """The key's request budget allows the next request only after a long wait.

    Raised instead of sleeping when the caller set a longest acceptable wait (a deferrable
    task defers for ``wait_seconds`` and resumes). Nothing was sent.

    :ivar wait_seconds: how long until the next request may go.
    """

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = max(0.0, float(wait_seconds))
        super().__init__(
            f"the PostHog key's request budget allows the next request in {self.wait_seconds:.0f} s"
        )


class PostHogAPIError(PostHogError):
    """PostHog answered with an error status.

    :ivar status: the HTTP status code.
    :ivar method: the HTTP method of the request.
    :ivar path: the path of the request (no query string, no host).
    :ivar detail: PostHog's ``detail`` (or ``error``) text, if any.
    :ivar code: PostHog's ``code``, if any (e.g. ``permission_denied``).
    :ivar attr: the request field PostHog blames, if any.
    :ivar hint: what the user should check.
    """

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        detail: str | None = None,
        code: str | None = None,
        attr: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.detail = detail
        self.code = code
        self.attr = attr
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"PostHog API {self.method} {self.path} answered {self.status}"
        if self.code:
            text += f" ({self.code})"
        if self.detail:
            text += f": {self.detail}"
        if self.attr:
            text += f" [field: {self.attr}]"
        if self.hint:
            # PostHog's detail often ends a sentence itself ("Not found."): no second period.
            text += " " if text.endswith((".", "!", "?")) else ". "
            text += f"Hint: {self.hint}"
        return text


class PostHogValidationError(PostHogAPIError):
    """400: PostHog refused the request's content."""


class PostHogAuthError(PostHogAPIError):
    """401 or 403: bad key, missing scope, or no access to the project."""


class PostHogNotFoundError(PostHogAPIError):
    """404: the object (or the project, or the route) does not exist."""


class PostHogGoneError(PostHogAPIError):
    """410: the object was deleted (PostHog's snapshots answer ``recording_deleted``)."""


class PostHogRateLimitError(PostHogAPIError):
    """429 after all retries."""


class PostHogServerError(PostHogAPIError):
    """5xx after all retries (or on a request that is not safe to retry)."""


_CLASS_BY_STATUS: dict[int, type[PostHogAPIError]] = {
    400: PostHogValidationError,
    401: PostHogAuthError,
    403: PostHogAuthError,
    404: PostHogNotFoundError,
    410: PostHogGoneError,
    429: PostHogRateLimitError,
}


def _hint(status: int, detail: str, path: str) -> str | None:
    lowered = detail.lower()
    if status == 401:
        return (
            "check the personal API key (it starts with 'phx_'; a project key 'phc_' does not "
            "work) and that the host is the app host (https://us.posthog.com or "
            "https://eu.posthog.com), not an ingestion host (*.i.posthog.com)"
        )
    if status == 403:
        if "scope" in lowered:
            return "give the personal API key the scope named above in PostHog's settings"
        if "project" in lowered:
            return "check the connection's project_id and the projects this key may access"
        if "personal api key" in lowered:
            return "this endpoint refuses personal API keys"
        return "check the key's scopes and project access"
    if status == 404:
        if "/session_recordings/" in path and not path.endswith("session_recordings/"):
            return "the object does not exist (never existed, expired, or was deleted)"
        return "check the connection's project_id and host (US and EU clouds are separate)"
    if status == 400 and "hide_viewed_recordings" in detail:
        return (
            "this PostHog server predates hide_viewed_recordings (it needs a newer PostHog "
            "than schema.json @ 0000f87b): leave it out of the query"
        )
    if status == 429:
        return "PostHog's rate limit for this key was still exceeded after all retries"
    if status >= 500:
        return "PostHog had a server error; retrying later usually helps"
    return None


def api_error_from_response(
    *, status: int, method: str, path: str, body: Any, secret: str | None = None
) -> PostHogAPIError:
    """Build the typed error for an error answer.

    :param status: HTTP status.
    :param method: HTTP method.
    :param path: request path without host and query.
    :param body: the parsed JSON body, or the raw text when it was not JSON.
    :param secret: a value (the API key) to scrub from anything the server echoed.

    :return: The :class:`PostHogAPIError` subclass that fits the status.
    """
    detail: str | None = None
    code: str | None = None
    attr: str | None = None
    if isinstance(body, dict):
        raw_detail = body.get("detail", body.get("error"))
        detail = None if raw_detail is None else str(raw_detail)
        code = body.get("code") if isinstance(body.get("code"), str) else None
        attr = body.get("attr") if isinstance(body.get("attr"), str) else None
    elif isinstance(body, str) and body.strip():
        # Scrub before shortening: a key cut in two would otherwise leave its start behind.
        text = body.replace(secret, "***") if secret else body
        detail = " ".join(text.split())[:200]
    if detail and secret:
        detail = detail.replace(secret, "***")
    cls = _CLASS_BY_STATUS.get(status)
    if cls is None:
        cls = PostHogServerError if status >= 500 else PostHogAPIError
    return cls(
        status=status,
        method=method,
        path=path,
        detail=detail,
        code=code,
        attr=attr,
        hint=_hint(status, detail or "", path),
    )


class PostHogSnapshotsError(PostHogError):
    """The snapshots of a recording cannot be trusted whole: an empty sources list, a block
    that stays missing, lines that are not ``[windowId, event]``. Never "nothing to archive".

    :ivar recording_id: the recording concerned.
    """

    def __init__(self, recording_id: str, message: str) -> None:
        self.recording_id = recording_id
        super().__init__(f"recording {recording_id}: {message}")


#: Errors that mean "try again later", not "this cannot work": a sensor or trigger that is
#: waiting treats them as "not yet".
TRANSIENT_ERRORS: tuple[type[PostHogError], ...] = (
    PostHogRateLimitError,
    PostHogServerError,
    PostHogConnectionError,
)

"""Endpoints under ``session_recordings/{id}/sharing/``."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from .context import RequestContext
from .responses import Response, validation_error
from .state import EmulatorState, SharingConfig
from .timeutil import to_iso

#: How long a token replaced by ``sharing/refresh/`` keeps working.
OLD_TOKEN_GRACE = timedelta(minutes=5)


def token_valid(state: EmulatorState, token: str, now: datetime) -> bool:
    """Whether a public link with ``token`` works now (an enabled config's token, or one
    it replaced less than :data:`OLD_TOKEN_GRACE` ago)."""
    for config in state.sharing.values():
        if not config.enabled:
            continue
        if config.access_token == token or config.previous_tokens.get(token, now) > now:
            return True
    return False


def new_access_token() -> str:
    """A random token like PostHog's sharing tokens."""
    return secrets.token_urlsafe(22)


def sharing_json(config: SharingConfig | None) -> dict[str, Any]:
    """A saved config, or (for None) a fresh unsaved one with an unstable token."""
    if config is None:
        return {
            "created_at": None,
            "enabled": False,
            "access_token": new_access_token(),
            "settings": {},
            "password_required": False,
            "share_passwords": [],
        }
    return {
        "created_at": to_iso(config.created_at),
        "enabled": config.enabled,
        "access_token": config.access_token,
        "settings": dict(config.settings),
        "password_required": config.password_required,
        "share_passwords": [],
    }


def save_sharing(state: EmulatorState, recording_id: str, now: datetime) -> SharingConfig:
    """The saved config of a recording, created (disabled) when there is none."""
    config = state.sharing.get(recording_id)
    if config is None:
        config = SharingConfig(enabled=False, access_token=new_access_token(), created_at=now)
        state.sharing[recording_id] = config
    return config


def get_sharing(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``GET .../sharing/``."""
    recording_id = params["recording_id"]
    return Response(200, sharing_json(ctx.state.sharing.get(recording_id)))


def patch_sharing(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``PATCH .../sharing/``: saves the config; ``enabled`` turns the link on or off.

    Like every sharing endpoint, it does not check that the recording exists.
    """
    recording_id = params["recording_id"]
    body = ctx.body_object()
    for name in ("enabled", "password_required"):
        if name in body and not isinstance(body[name], bool):
            raise validation_error("Must be a valid boolean.", name)
    if "settings" in body and not isinstance(body["settings"], dict):
        raise validation_error("Expected a dictionary of items.", "settings")
    config = save_sharing(ctx.state, recording_id, ctx.now)
    config.enabled = body.get("enabled", config.enabled)
    config.password_required = body.get("password_required", config.password_required)
    config.settings = body.get("settings", config.settings)
    return Response(200, sharing_json(config))


def refresh_sharing(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``POST .../sharing/refresh/``: a new token; the old one works 5 more minutes."""
    config = save_sharing(ctx.state, params["recording_id"], ctx.now)
    config.previous_tokens[config.access_token] = ctx.now + OLD_TOKEN_GRACE
    config.access_token = new_access_token()
    return Response(200, sharing_json(config))

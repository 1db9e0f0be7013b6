"""Endpoints under ``session_recordings/{id}/sharing/``."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from .context import RequestContext
from .responses import Response, not_found, validation_error
from .state import EmulatorState, SharingConfig
from .timeutil import to_iso


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


def _recording_id(ctx: RequestContext, params: dict[str, str]) -> str:
    recording_id = params["recording_id"]
    if ctx.state.existing(recording_id) is None:
        raise not_found("Recording not found")
    return recording_id


def get_sharing(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``GET .../sharing/``."""
    recording_id = _recording_id(ctx, params)
    return Response(200, sharing_json(ctx.state.sharing.get(recording_id)))


def patch_sharing(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``PATCH .../sharing/``: saves the config; ``enabled`` turns the link on or off."""
    recording_id = _recording_id(ctx, params)
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
    """``POST .../sharing/refresh/``: a new token (the old link stops working)."""
    recording_id = _recording_id(ctx, params)
    config = save_sharing(ctx.state, recording_id, ctx.now)
    config.access_token = new_access_token()
    return Response(200, sharing_json(config))

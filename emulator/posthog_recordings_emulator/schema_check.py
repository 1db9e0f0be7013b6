"""PostHog's published schema as the emulator's second witness (no dependency of its own).

The emulator reads what it receives the way PostHog does and checks it against PostHog's own
schema files (``posthog_schema/``, copied from PostHog/posthog at the commits named in its
README):

* the recordings list's query string is decoded as PostHog's view decodes it (``json.loads``
  of every value that parses, others stay text; ``as_query``, ``version``,
  ``hogql_filtering`` and ``add_events_to_property_queries`` dropped) and validated as
  ``RecordingsQuery``, whose pydantic model forbids unknown fields: a failure is a 400;
* a saved search's ``filters`` are checked against ``RecordingUniversalFilters``, the shape
  PostHog's replay UI writes and reads back (PostHog's server stores any JSON there; the
  emulator refuses what PostHog's UI could not read, and says so).

Two schema profiles: ``"0000f87b"`` (the verbatim schema of that commit: servers from before
``hide_viewed_recordings``) and ``"newer"`` (plus ``newer_posthog_deltas.json``).

The validator below covers exactly the JSON Schema keywords these files use: ``type``,
``enum``, ``const``, ``properties``, ``required``, ``additionalProperties``, ``items``,
``anyOf``/``oneOf``/``allOf`` and local ``$ref``; annotations (``description``, ``default``,
``$comment``) are ignored. It is a few dozen lines, so the emulator needs no new dependency.

One place where it is stricter than PostHog's server: the server's pydantic model takes any
string as ``RecordingPropertyFilter.key`` (``server_facts.json``), the schema only the keys
PostHog's UI sends. The emulator follows the schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from .responses import ApiError, validation_error

SCHEMA_DIR = Path(__file__).with_name("posthog_schema")
SCHEMA_PROFILES = ("0000f87b", "newer")
#: Keys PostHog's list view drops before validating (``session_recording_api.py`` @ 004ffdf6,
#: ``utils.py`` @ 201dc13e).
DROPPED_LIST_KEYS = ("as_query", "version", "hogql_filtering", "add_events_to_property_queries")

Schema = Mapping[str, Any]
Definitions = dict[str, Any]
Problem = tuple[str, str]  # (where, what)

_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _load(name: str) -> Any:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


def _apply_patch(definitions: Definitions, patch: Mapping[str, Any]) -> None:
    target = definitions[patch["definition"]]
    op = patch["op"]
    if op == "add_property":
        target["properties"][patch["name"]] = patch["schema"]
    elif op == "add_enum":
        target["enum"] = [*target["enum"], *patch["values"]]
    elif op == "add_key_consts":
        consts = [{"const": value, "type": "string"} for value in patch["values"]]
        target["properties"]["key"]["anyOf"] = [*target["properties"]["key"]["anyOf"], *consts]
    else:
        raise ValueError(f"unknown schema patch {op!r}")


@cache
def definitions(profile: str) -> Definitions:
    """Every definition of PostHog's schema under ``profile`` (``0000f87b`` or ``newer``).

    :param profile: one of :data:`SCHEMA_PROFILES`.
    :return: the merged ``definitions`` of both schema files (a fresh copy per profile).
    """
    if profile not in SCHEMA_PROFILES:
        raise ValueError(f"unknown schema profile {profile!r}; known: {SCHEMA_PROFILES}")
    merged: Definitions = {}
    merged.update(_load("schema_subset_0000f87b.json")["definitions"])
    merged.update(_load("recording_universal_filters.schema.json")["definitions"])
    merged = json.loads(json.dumps(merged))  # deep copy: patches must not leak between profiles
    if profile == "newer":
        for patch in _load("newer_posthog_deltas.json")["patches"]:
            _apply_patch(merged, patch)
    return merged


def validate(instance: Any, schema: Schema, defs: Definitions, where: str = "") -> list[Problem]:
    """The problems of ``instance`` against ``schema`` (empty when it is valid).

    :param instance: a decoded JSON value.
    :param schema: a JSON Schema (the subset of keywords this module documents).
    :param defs: the definitions ``$ref`` resolves into.
    :param where: the dotted location of ``instance``, for messages.
    :return: a list of ``(location, message)``.
    """
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return validate(instance, defs[name], defs, where)
    problems = _check_scalar(instance, schema, where)
    if problems:
        return problems
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            problems += _check_any(instance, schema[keyword], defs, where, keyword)
    for branch in schema.get("allOf", ()):
        problems += validate(instance, branch, defs, where)
    if isinstance(instance, dict):
        problems += _check_object(instance, schema, defs, where)
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            problems += validate(item, schema["items"], defs, f"{where}[{index}]")
    return problems


def _check_scalar(instance: Any, schema: Schema, where: str) -> list[Problem]:
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_TYPES[name](instance) for name in names):
            return [(where, f"Input should be of type {' or '.join(names)}, not {instance!r}")]
    if "const" in schema and instance != schema["const"]:
        return [(where, f"Input should be {schema['const']!r}, not {instance!r}")]
    if "enum" in schema and not any(
        instance == value and type(instance) is type(value) for value in schema["enum"]
    ):
        allowed = ", ".join(repr(value) for value in schema["enum"])
        return [(where, f"Input should be one of {allowed}, not {instance!r}")]
    return []


def _check_any(
    instance: Any, branches: list[Schema], defs: Definitions, where: str, keyword: str
) -> list[Problem]:
    results = [validate(instance, branch, defs, where) for branch in branches]
    passing = sum(1 for problems in results if not problems)
    if passing and (keyword == "anyOf" or passing == 1):
        return []
    if passing > 1:
        return [(where, "Input matches more than one of the allowed shapes (oneOf)")]
    # Blame the branch the instance meant: the one whose "type" discriminator it has.
    wanted = [p for p in results if not any(w == f"{where}.type" for w, _ in p)]
    best = min(wanted or results, key=len)
    return best


def _check_object(
    instance: dict[str, Any], schema: Schema, defs: Definitions, where: str
) -> list[Problem]:
    problems: list[Problem] = []
    properties = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in instance:
            problems.append((_join(where, name), "Field required"))
    extra = schema.get("additionalProperties", True)
    for name, value in instance.items():
        if name in properties:
            problems += validate(value, properties[name], defs, _join(where, name))
        elif extra is False:
            problems.append((_join(where, name), "Extra inputs are not permitted"))
        elif isinstance(extra, dict):
            problems += validate(value, extra, defs, _join(where, name))
    return problems


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def decode_list_query(params: Mapping[str, str]) -> dict[str, Any]:
    """The list query string as PostHog's view reads it, before validation.

    :param params: the query string, one value per name.
    :return: every value ``json.loads``-ed when it parses (else kept as text), without the
        keys PostHog drops, and ``kind`` defaulted as PostHog's pydantic model does.
    """
    decoded: dict[str, Any] = {}
    for name, text in params.items():
        try:
            decoded[name] = json.loads(text)
        except ValueError:
            decoded[name] = text
    for name in DROPPED_LIST_KEYS:
        decoded.pop(name, None)
    decoded.setdefault("kind", "RecordingsQuery")
    return decoded


def _refusal(model: str, problems: list[Problem], attr: str | None) -> ApiError:
    lines = [f"{len(problems)} validation error(s) for {model}"]
    for where, message in problems:
        lines.append(f"{where or model}\n  {message}")
    return validation_error("\n".join(lines), attr)


def check_list_query(params: Mapping[str, str], profile: str | None) -> None:
    """400 (as PostHog answers it) when the list query is no valid ``RecordingsQuery``.

    :param params: the query string of ``GET session_recordings/``.
    :param profile: the schema profile, or None to check nothing.
    :raises ApiError: a 400 ``validation_error`` naming every problem.
    """
    if profile is None:
        return
    defs = definitions(profile)
    problems = validate(decode_list_query(params), defs["RecordingsQuery"], defs)
    if problems:
        raise _refusal("RecordingsQuery", problems, None)


def check_saved_search(filters: Any, profile: str | None) -> None:
    """400 when a saved search's ``filters`` are not in the shape PostHog's UI reads.

    :param filters: the ``filters`` of a ``filters`` playlist, as sent.
    :param profile: the schema profile, or None to check nothing.
    :raises ApiError: a 400 ``validation_error`` on ``filters``.
    """
    if profile is None:
        return
    defs = definitions(profile)
    problems = validate(filters, defs["RecordingUniversalFilters"], defs, "filters")
    if problems:
        error = _refusal("RecordingUniversalFilters", problems, "filters")
        error.detail += (
            "\n(PostHog's server would store these filters, but its replay UI and its saved-"
            "search count could not read them: the emulator refuses them)"
        )
        raise error

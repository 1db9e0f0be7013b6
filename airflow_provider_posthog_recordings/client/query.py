"""Building the query string of the recordings list (pure, no I/O).

PostHog wants complex values as JSON text (``distinct_ids=["a","b"]``), and silently looks
only at the last three days when ``date_from`` is missing. :class:`RecordingsQuery` validates
what a user asks for, refuses unknown names (a typo such as ``date_form`` would otherwise
fall back to that 3-day window without a word), and encodes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.models import as_utc
from airflow_provider_posthog_recordings.client.query_filters import (
    check_console_filters,
    check_entities,
    check_having_predicates,
    check_properties,
)

RecordingOrder = Literal[
    "start_time",
    "duration",
    "recording_duration",
    "active_seconds",
    "inactive_seconds",
    "console_error_count",
    "click_count",
    "keypress_count",
    "mouse_activity_count",
    "activity_score",
    "recording_ttl",
]

# PostHog's units: h(ours) d w m(onths) q y, M(inutes) s(econds). Its pattern also admits other
# letters (``-24H``, ``-7D``), which it then silently reads as "now": refused here.
_RELATIVE_DATE = re.compile(r"^-?\d+[hdwmqyMs]$|^all$|^mStart$|^dStart$|^wStart$|^yStart$")
_LOOKS_RELATIVE = re.compile(r"^-?\d+[A-Za-z]$")

#: The longest retention PostHog offers (5 years), plus slack: a window that reaches back
#: this far sees every recording a project can still hold.
LONGEST_RETENTION_DAYS = 5 * 366 + 7


def widest_window_start(now: datetime | None = None) -> str:
    """``date_from`` reaching back past PostHog's longest retention, as ISO text in UTC."""
    moment = now or datetime.now(timezone.utc)
    return encode_date(moment - timedelta(days=LONGEST_RETENTION_DAYS))


#: Parameters the client sets itself; users choose the page size with ``page_size``.
PAGINATION_PARAMS = frozenset({"limit", "offset", "after"})

DateValue = datetime | date | str


def _no_number_date(value: Any) -> Any:
    # Without this, pydantic reads a number as a Unix timestamp (7 -> 1970-01-01T00:00:07).
    if isinstance(value, int | float):
        raise ValueError(
            f"{value!r} is a number, not a date: give a relative date such as '-7d' or an ISO date"
        )
    return value


def _check_date(value: DateValue | None) -> DateValue | None:
    if isinstance(value, datetime):
        return as_utc(value)
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if _RELATIVE_DATE.match(text):
        return text
    if _LOOKS_RELATIVE.match(text):
        raise ValueError(
            f"{value!r} is not a relative date PostHog understands (it would silently read it "
            "as 'now'): use h (hours), d, w, m (months), q, y, M (minutes) or s, e.g. '-24h'"
        )
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a relative date such as '-7d' or '-24h' nor an ISO date"
        ) from None
    return as_utc(parsed)


def encode_date(value: DateValue) -> str:
    """Encode a date bound for PostHog: ISO 8601 in UTC, or the relative text as given.

    A naive datetime is taken as UTC and always sent with its offset: PostHog reads an ISO
    datetime without one in the project's time zone.
    """
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def encode_value(name: str, value: Any) -> str:
    """Encode one query parameter value as PostHog expects it.

    :raises PostHogConfigError: for a value that has no sensible encoding.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, datetime | date):
        return encode_date(value)
    if isinstance(value, list | tuple | dict):
        try:
            return json.dumps(value, separators=(",", ":"), default=_json_default)
        except TypeError as exc:
            raise PostHogConfigError(f"query parameter {name!r}: {exc}") from None
    raise PostHogConfigError(
        f"query parameter {name!r} has a value of type {type(value).__name__}, which cannot "
        "be sent to PostHog: use a string, number, boolean, date, list or dict"
    )


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return encode_date(value)
    raise TypeError(f"value of type {type(value).__name__} is not JSON serialisable")


class RecordingsQuery(BaseModel):
    """Filters of the recordings list.

    Every field maps to the API parameter of the same name, except ``distinct_id`` (a
    convenience that is sent inside ``distinct_ids``) and ``extra_params`` (sent as they are,
    for API parameters newer than this package).

    :ivar date_from: start of the window: relative (``-30d``) or a date/datetime. Without it
        PostHog only looks at the last 3 days.
    :ivar date_to: end of the window (default: now).
    :ivar distinct_ids: recordings of these distinct ids.
    :ivar distinct_id: one distinct id (added to ``distinct_ids``).
    :ivar person_uuid: recordings of this person (not with ``distinct_ids``: PostHog would
        ignore it).
    :ivar session_ids: these recordings (the newest PostHog ignores the date window for them,
        older ones apply it: give a wide ``date_from`` too).
    :ivar properties: property filters, each with its ``type`` (``event``, ``person``,
        ``session``, ``cohort``, ``hogql``, ...); ``{"type": "recording", "key":
        "visited_page", ...}`` is one too (as PostHog's UI sends it).
    :ivar events: entity filters, each with its ``id`` (``type`` defaults to the list).
    :ivar actions: as ``events``.
    :ivar console_log_filters: ``log_entry`` filters, e.g. on ``level``.
    :ivar having_predicates: filters on the recording's own metrics, e.g.
        ``[{"type": "recording", "key": "duration", "operator": "gt", "value": 60}]``.
        Keys PostHog's schema allows: ``duration``, ``active_seconds``,
        ``inactive_seconds``, ``snapshot_source``; ``click_count``, ``keypress_count``
        and ``mouse_activity_count`` need a newer PostHog (not in schema.json @
        0000f87b: an older server answers 400).
    :ivar operand: ``AND`` or ``OR`` between filters.
    :ivar filter_test_accounts: hide internal/test users.
    :ivar hide_viewed_recordings: ``current-user`` or ``any-user`` (None: not sent). Opt-in, and
        it needs a newer PostHog: the field is not in PostHog's schema.json @ 0000f87b, and
        a server from before it answers 400 to any query that has it. A saved search
        cannot hold it.
    :ivar order: sort field; order_direction: ``ASC`` or ``DESC``.
    :ivar extra_params: other API parameters, sent as they are (lists/dicts as JSON text).
    """

    model_config = ConfigDict(extra="forbid")

    date_from: DateValue | None = None
    date_to: DateValue | None = None
    distinct_ids: list[str] | None = None
    distinct_id: str | None = None
    person_uuid: str | None = None
    session_ids: list[str] | None = None
    properties: list[dict[str, Any]] | None = None
    events: list[dict[str, Any]] | None = None
    actions: list[dict[str, Any]] | None = None
    console_log_filters: list[dict[str, Any]] | None = None
    having_predicates: list[dict[str, Any]] | None = None
    operand: Literal["AND", "OR"] | None = None
    filter_test_accounts: bool | None = None
    hide_viewed_recordings: Literal["current-user", "any-user"] | None = None
    order: RecordingOrder | None = None
    order_direction: Literal["ASC", "DESC"] | None = None
    extra_params: dict[str, Any] | None = None

    _no_number_dates = field_validator("date_from", "date_to", mode="before")(_no_number_date)
    _check_dates = field_validator("date_from", "date_to")(_check_date)

    @field_validator("extra_params")
    @classmethod
    def _no_pagination(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value and PAGINATION_PARAMS & value.keys():
            raise ValueError("limit/offset/after are set by the client: use page_size instead")
        return value

    @field_validator("properties")
    @classmethod
    def _check_properties(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        return None if value is None else check_properties(value)

    @field_validator("having_predicates")
    @classmethod
    def _check_having(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        return None if value is None else check_having_predicates(value)

    @field_validator("events", "actions")
    @classmethod
    def _check_entities(
        cls, value: list[dict[str, Any]] | None, info: ValidationInfo
    ) -> list[dict[str, Any]] | None:
        return None if value is None else check_entities(value, str(info.field_name))

    @field_validator("console_log_filters")
    @classmethod
    def _check_console(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        return None if value is None else check_console_filters(value)

    @model_validator(mode="after")
    def _person_filters_compatible(self) -> RecordingsQuery:
        if self.person_uuid is not None and (self.distinct_ids or self.distinct_id):
            raise ValueError(
                "give distinct_ids or person_uuid, not both: PostHog ignores person_uuid when "
                "distinct_ids is given"
            )
        return self

    @model_validator(mode="after")
    def _window_in_order(self) -> RecordingsQuery:
        start, end = self.date_from, self.date_to
        both_datetimes = isinstance(start, datetime) and isinstance(end, datetime)
        both_dates = (
            isinstance(start, date)
            and isinstance(end, date)
            and not isinstance(start, datetime)
            and not isinstance(end, datetime)
        )
        if (both_datetimes or both_dates) and start > end:  # type: ignore[operator]
            raise ValueError(f"date_from ({start}) is after date_to ({end})")
        return self

    @classmethod
    def parse(cls, value: RecordingsQuery | Mapping[str, Any] | str | None) -> RecordingsQuery:
        """Accept a query, a plain dict of API parameters, JSON text of one, or None.

        JSON text is what a whole templated query renders to (``"{{ params.query | tojson }}"``).

        :raises PostHogConfigError: for unknown names or invalid values, naming each problem.
        """
        if value is None:
            return cls()
        if isinstance(value, str):
            value = _json_object(value)
        if isinstance(value, RecordingsQuery):
            # A value that cannot be sent (a set, an object) fails now, before any request,
            # not when the first list request is built (after playlists were read or made).
            value.to_params()
            return value
        if not isinstance(value, Mapping):
            raise PostHogConfigError(
                "a recordings query must be a RecordingsQuery or a dict, "
                f"not {type(value).__name__}"
            )
        pagination = PAGINATION_PARAMS & set(value)
        if pagination:
            raise PostHogConfigError(
                f"query must not set {sorted(pagination)}: the client paginates itself "
                "(choose the page size with page_size)"
            )
        try:
            query = cls.model_validate(dict(value))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'query'}: {err['msg']}"
                for err in exc.errors()
            )
            known = ", ".join(sorted(cls.model_fields))
            raise PostHogConfigError(
                f"invalid recordings query: {problems} (known parameters: {known})"
            ) from None
        query.to_params()  # as above: refuse values that cannot be sent, before any request
        return query

    def to_params(self) -> dict[str, str]:
        """Encode as query-string parameters (JSON text for lists and dicts)."""
        raw = self.model_dump(exclude_none=True, exclude={"distinct_id", "extra_params"})
        if self.distinct_id is not None:
            ids = list(raw.get("distinct_ids") or [])
            if self.distinct_id not in ids:
                ids.append(self.distinct_id)
            raw["distinct_ids"] = ids
        params = {name: encode_value(name, value) for name, value in raw.items()}
        for name, value in (self.extra_params or {}).items():
            params[name] = encode_value(name, value)
        return params


def _json_object(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        raise PostHogConfigError(
            f"a recordings query given as text must be a JSON object, not {text[:80]!r}"
        ) from None
    if not isinstance(value, dict):
        raise PostHogConfigError("a recordings query given as text must be a JSON object")
    return value


def missing_window_warning(query: RecordingsQuery) -> str | None:
    """The warning for a query without ``date_from`` (PostHog then sees only 3 days), or None."""
    if query.date_from is None and not query.session_ids:
        return "The query has no date_from: PostHog then only looks at the last 3 days"
    return None


def query_as_dict(query: RecordingsQuery | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A query as a plain, JSON-able dict (None stays None).

    Operators keep queries in this form: template fields must be plain containers, and a
    trigger's arguments must be JSON-able. Dates become ISO text, which parses back as is.
    """
    if isinstance(query, RecordingsQuery):
        return query.model_dump(mode="json", exclude_none=True)
    return None if query is None else dict(query)

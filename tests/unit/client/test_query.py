"""RecordingsQuery: parsing, validation and encoding of the recordings-list parameters."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.query import (
    PAGINATION_PARAMS,
    RecordingsQuery,
    encode_date,
    encode_value,
)

UTC = timezone.utc
KNOWN_FIELDS = (
    "actions, console_log_filters, date_from, date_to, distinct_id, distinct_ids, events, "
    "extra_params, filter_test_accounts, having_predicates, hide_viewed_recordings, operand, "
    "order, "
    "order_direction, person_uuid, properties, session_ids"
)


# ------------------------------------------------------------------ parse


def test_parse_none_is_an_empty_query() -> None:
    query = RecordingsQuery.parse(None)
    assert query == RecordingsQuery()
    assert query.to_params() == {}


def test_parse_returns_a_query_unchanged() -> None:
    query = RecordingsQuery(date_from="-7d")
    assert RecordingsQuery.parse(query) is query


def test_parse_dict() -> None:
    query = RecordingsQuery.parse({"date_from": "-7d", "order": "duration", "operand": "OR"})
    assert query.date_from == "-7d"
    assert query.order == "duration"
    assert query.operand == "OR"


def test_parse_refuses_other_types() -> None:
    with pytest.raises(PostHogConfigError) as info:
        RecordingsQuery.parse(["date_from", "-7d"])  # type: ignore[arg-type]
    assert str(info.value) == "a recordings query must be a RecordingsQuery or a dict, not list"


def test_unknown_name_is_refused_listing_the_known_parameters() -> None:
    with pytest.raises(PostHogConfigError) as info:
        RecordingsQuery.parse({"date_form": "-7d"})
    message = str(info.value)
    assert message.startswith("invalid recordings query: date_form: ")
    assert "Extra inputs are not permitted" in message
    assert message.endswith(f"(known parameters: {KNOWN_FIELDS})")


def test_every_problem_is_named() -> None:
    with pytest.raises(PostHogConfigError) as info:
        RecordingsQuery.parse({"date_form": "-7d", "order": "loudness", "operand": "XOR"})
    message = str(info.value)
    assert "date_form: " in message
    assert "order: " in message
    assert "operand: " in message


@pytest.mark.parametrize("name", sorted(PAGINATION_PARAMS))
def test_pagination_params_are_refused(name: str) -> None:
    with pytest.raises(PostHogConfigError) as info:
        RecordingsQuery.parse({"date_from": "-7d", name: "10"})
    assert str(info.value) == (
        f"query must not set ['{name}']: the client paginates itself "
        "(choose the page size with page_size)"
    )


def test_pagination_params_all_named_sorted() -> None:
    with pytest.raises(PostHogConfigError, match=r"\['after', 'limit', 'offset'\]"):
        RecordingsQuery.parse({"offset": 0, "limit": 5, "after": "x"})


@pytest.mark.parametrize("name", sorted(PAGINATION_PARAMS))
def test_pagination_params_refused_in_extra_params(name: str) -> None:
    with pytest.raises(PostHogConfigError) as info:
        RecordingsQuery.parse({"extra_params": {name: "5"}})
    assert "extra_params: " in str(info.value)
    assert "use page_size instead" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("order", "size"),
        ("order_direction", "desc"),
        ("hide_viewed_recordings", "me"),
        ("distinct_ids", "abc"),
        ("properties", [1, 2]),
        ("filter_test_accounts", "maybe"),
    ],
)
def test_invalid_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(PostHogConfigError, match=rf"^invalid recordings query: {field}"):
        RecordingsQuery.parse({field: value})


# ------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    "text", ["-7d", "-24h", "-30m", "-1w", "-2y", "-3M", "7d", "all", "mStart", "yStart"]
)
def test_relative_dates_are_kept_as_text(text: str) -> None:
    assert RecordingsQuery.parse({"date_from": text}).date_from == text


def test_relative_date_is_stripped() -> None:
    assert RecordingsQuery.parse({"date_from": "  -7d "}).date_from == "-7d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00+00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        (" 2024-05-01T10:00:00.123456Z ", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_iso_text_becomes_an_aware_utc_datetime(text: str, expected: datetime) -> None:
    value = RecordingsQuery.parse({"date_from": text}).date_from
    assert isinstance(value, datetime)
    assert value == expected
    assert value.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (
            datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 5, 1, 10, tzinfo=UTC),
        ),
    ],
)
def test_datetime_objects_become_aware_utc(value: datetime, expected: datetime) -> None:
    parsed = RecordingsQuery.parse({"date_to": value}).date_to
    assert parsed == expected
    assert isinstance(parsed, datetime)
    assert parsed.utcoffset() == timedelta(0)
    # An aware bound compares with other aware datetimes (e.g. a purge cutoff).
    assert parsed < datetime(2024, 6, 1, tzinfo=UTC)


def test_date_objects_are_kept() -> None:
    query = RecordingsQuery.parse({"date_from": date(2024, 5, 1)})
    assert query.date_from == date(2024, 5, 1)
    assert query.to_params() == {"date_from": "2024-05-01"}


@pytest.mark.parametrize("text", ["yesterday", "", "2024-13-01", "-7 days", "7", "2024/05/01"])
def test_invalid_date_text_is_refused(text: str) -> None:
    with pytest.raises(PostHogConfigError) as info:
        RecordingsQuery.parse({"date_from": text})
    assert f"{text!r} is neither a relative date such as '-7d' or '-24h' nor an ISO date" in str(
        info.value
    )


@pytest.mark.parametrize("value", [7, -7, 1.5, True])
def test_numbers_are_not_dates(value: object) -> None:
    # A number would otherwise be read as a Unix timestamp (7 -> 1970-01-01T00:00:07).
    with pytest.raises(PostHogConfigError, match="date_from"):
        RecordingsQuery.parse({"date_from": value})


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-05-03T00:00:00Z", "2024-05-02T00:00:00Z"),
        ("2024-05-02T00:00:00.000001Z", "2024-05-02T00:00:00Z"),
        ("2024-05-02T01:00:00+00:00", "2024-05-02T02:00:00+02:00"),
        (datetime(2024, 5, 3), datetime(2024, 5, 2, tzinfo=UTC)),
        (date(2024, 5, 3), date(2024, 5, 2)),
    ],
)
def test_date_from_after_date_to_is_refused(start: object, end: object) -> None:
    with pytest.raises(PostHogConfigError, match=r"date_from \(.*\) is after date_to"):
        RecordingsQuery.parse({"date_from": start, "date_to": end})


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-05-02T00:00:00Z", "2024-05-02T00:00:00Z"),
        ("2024-05-02T03:00:00+02:00", "2024-05-02T01:00:00Z"),
        (date(2024, 5, 2), date(2024, 5, 2)),
        ("-30d", "-1d"),
        ("-1d", "-30d"),  # relative bounds cannot be compared here: PostHog judges them
    ],
)
def test_windows_in_order_or_not_comparable_are_accepted(start: object, end: object) -> None:
    query = RecordingsQuery.parse({"date_from": start, "date_to": end})
    assert query.date_from is not None
    assert query.date_to is not None


def test_to_params_full() -> None:
    query = RecordingsQuery.parse(
        {
            "date_from": "2024-05-01T12:00:00+02:00",
            "date_to": "-1d",
            "distinct_ids": ["a", "b"],
            "session_ids": ["s1", "s2"],
            "properties": [
                {"key": "$browser", "value": ["Chrome"], "operator": "exact", "type": "person"}
            ],
            "events": [{"id": "$pageview", "type": "events"}],
            "operand": "AND",
            "filter_test_accounts": True,
            "hide_viewed_recordings": "any-user",
            "order": "active_seconds",
            "order_direction": "ASC",
        }
    )
    assert query.to_params() == {
        "date_from": "2024-05-01T10:00:00+00:00",
        "date_to": "-1d",
        "distinct_ids": '["a","b"]',
        "session_ids": '["s1","s2"]',
        "properties": (
            '[{"key":"$browser","value":["Chrome"],"operator":"exact","type":"person"}]'
        ),
        "events": '[{"id":"$pageview","type":"events"}]',
        "operand": "AND",
        "filter_test_accounts": "true",
        "hide_viewed_recordings": "any-user",
        "order": "active_seconds",
        "order_direction": "ASC",
    }


def test_false_boolean_is_sent_as_false() -> None:
    assert RecordingsQuery(filter_test_accounts=False).to_params() == {
        "filter_test_accounts": "false"
    }


def test_naive_datetime_is_sent_as_utc() -> None:
    params = RecordingsQuery(date_from=datetime(2024, 5, 1, 10, 30)).to_params()
    assert params == {"date_from": "2024-05-01T10:30:00+00:00"}


def test_distinct_id_alone_becomes_distinct_ids() -> None:
    assert RecordingsQuery(distinct_id="u1").to_params() == {"distinct_ids": '["u1"]'}


def test_distinct_id_is_appended_to_distinct_ids() -> None:
    params = RecordingsQuery(distinct_ids=["a", "b"], distinct_id="c").to_params()
    assert params == {"distinct_ids": '["a","b","c"]'}


def test_distinct_id_is_not_duplicated() -> None:
    params = RecordingsQuery(distinct_ids=["a", "b"], distinct_id="a").to_params()
    assert params == {"distinct_ids": '["a","b"]'}


def test_to_params_does_not_change_the_query() -> None:
    query = RecordingsQuery(distinct_ids=["a"], distinct_id="b")
    query.to_params()
    assert query.distinct_ids == ["a"]
    assert "distinct_id" not in query.to_params()


def test_extra_params_are_passed_through_encoded() -> None:
    query = RecordingsQuery(
        date_from="-7d",
        extra_params={
            "console_log_level": "error",
            "having_predicates": [{"key": "duration", "value": 60, "operator": "gt"}],
            "user_modified_filters": {"a": 1},
            "some_flag": False,
            "min_score": 0.5,
            "since": datetime(2024, 5, 1, 2, tzinfo=timezone(timedelta(hours=2))),
            "when": [date(2024, 5, 1)],
        },
    )
    assert query.to_params() == {
        "date_from": "-7d",
        "console_log_level": "error",
        "having_predicates": '[{"key":"duration","value":60,"operator":"gt"}]',
        "user_modified_filters": '{"a":1}',
        "some_flag": "false",
        "min_score": "0.5",
        "since": "2024-05-01T00:00:00+00:00",
        "when": '["2024-05-01"]',
    }


def test_extra_params_with_an_unencodable_value_are_refused() -> None:
    query = RecordingsQuery(extra_params={"bad": {1, 2}})
    with pytest.raises(PostHogConfigError, match=r"query parameter 'bad' has a value of type set"):
        query.to_params()


# ------------------------------------------------------------------ encode_value / encode_date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (12, "12"),
        (1.25, "1.25"),
        ("text", "text"),
        (["a", "b"], '["a","b"]'),
        (("a", 1), '["a",1]'),
        ({"k": [1, None]}, '{"k":[1,null]}'),
        ([], "[]"),
        ({"é": "ü"}, '{"\\u00e9":"\\u00fc"}'),
        (date(2024, 2, 29), "2024-02-29"),
        (
            datetime(2024, 2, 29, 23, 30, tzinfo=timezone(timedelta(hours=-1))),
            "2024-03-01T00:30:00+00:00",
        ),
        ([datetime(2024, 1, 1)], '["2024-01-01T00:00:00+00:00"]'),
    ],
)
def test_encode_value(value: object, expected: str) -> None:
    assert encode_value("p", value) == expected


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(None, "NoneType"), ({1, 2}, "set"), (object(), "object"), (b"bytes", "bytes")],
)
def test_encode_value_refuses_unencodable_types(value: object, type_name: str) -> None:
    with pytest.raises(PostHogConfigError) as info:
        encode_value("weird", value)
    assert str(info.value) == (
        f"query parameter 'weird' has a value of type {type_name}, which cannot be sent to "
        "PostHog: use a string, number, boolean, date, list or dict"
    )


def test_encode_value_refuses_unencodable_items_inside_json() -> None:
    with pytest.raises(PostHogConfigError) as info:
        encode_value("props", [{"value": {1, 2}}])
    assert str(info.value) == "query parameter 'props': value of type set is not JSON serialisable"


def test_encode_date_keeps_relative_text() -> None:
    assert encode_date("-7d") == "-7d"


# ------------------------------------------------------------------ PostHog's traps


@pytest.mark.parametrize("text", ["-24H", "-7D", "-1W", "-2Y", "-3x"])
def test_relative_dates_posthog_reads_as_now_are_refused(text: str) -> None:
    with pytest.raises(PostHogConfigError, match="silently read it as 'now'"):
        RecordingsQuery.parse({"date_from": text})


@pytest.mark.parametrize("text", ["-24h", "-7d", "-1w", "-2m", "-1q", "-1y", "-30M", "-90s"])
def test_relative_dates_posthog_understands(text: str) -> None:
    assert RecordingsQuery.parse({"date_from": text}).to_params()["date_from"] == text


def test_person_uuid_with_distinct_ids_is_refused() -> None:
    for people in ({"distinct_ids": ["a"]}, {"distinct_id": "a"}):
        with pytest.raises(PostHogConfigError, match="PostHog ignores person_uuid"):
            RecordingsQuery.parse({"date_from": "-7d", "person_uuid": "u1", **people})


@pytest.mark.parametrize(
    "item",
    [
        {"type": "recording", "key": "duration", "operator": "gt", "value": 60},
        {"key": "active_seconds", "operator": "gt", "value": 5},
    ],
)
def test_recording_metrics_in_properties_are_refused(item: dict[str, object]) -> None:
    with pytest.raises(PostHogConfigError, match="belongs in having_predicates"):
        RecordingsQuery.parse({"date_from": "-7d", "properties": [item]})


def test_event_property_named_like_a_metric_is_allowed() -> None:
    item = {"type": "event", "key": "duration", "operator": "gt", "value": 60}
    assert RecordingsQuery.parse({"properties": [item]}).properties == [item]


def test_having_predicates_are_sent_as_json() -> None:
    predicate = {"type": "recording", "key": "duration", "operator": "gt", "value": 60}
    params = RecordingsQuery.parse({"having_predicates": [predicate]}).to_params()
    assert params["having_predicates"] == (
        '[{"type":"recording","key":"duration","operator":"gt","value":60}]'
    )


def test_naive_datetime_text_is_sent_with_an_offset() -> None:
    params = RecordingsQuery.parse({"date_from": "2024-05-01T12:00:00"}).to_params()
    assert params["date_from"] == "2024-05-01T12:00:00+00:00"


def test_query_as_json_text() -> None:
    assert RecordingsQuery.parse('{"date_from": "-7d"}').date_from == "-7d"
    with pytest.raises(PostHogConfigError, match="must be a JSON object"):
        RecordingsQuery.parse("[1, 2]")
    with pytest.raises(PostHogConfigError, match="must be a JSON object"):
        RecordingsQuery.parse("date_from=-7d")

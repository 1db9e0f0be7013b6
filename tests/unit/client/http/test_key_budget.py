"""KeyBudget with a fake clock: never more than the budget in any minute or any hour."""

from __future__ import annotations

import threading
import uuid
from bisect import bisect_left

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogBudgetWait
from airflow_provider_posthog_recordings.client.http.key_budget import (
    HOUR_SECONDS,
    SAFETY_MARGIN_SECONDS,
    WINDOW_SECONDS,
    KeyBudget,
    shared_budget,
)

SPAN = WINDOW_SECONDS + SAFETY_MARGIN_SECONDS  # 60.5


class FakeTime:
    """A clock that only moves when the code under test sleeps (or the test says so)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make(per_minute: int | None, fake: FakeTime) -> KeyBudget:
    return KeyBudget(per_minute, clock=fake.clock, sleep=fake.sleep)


def max_in_any_window(times: list[float], span: float) -> int:
    """The most send times inside any half-open window [t, t + span)."""
    ordered = sorted(times)
    return max(bisect_left(ordered, t + span) - i for i, t in enumerate(ordered))


def test_constants() -> None:
    assert WINDOW_SECONDS == 60.0
    assert SAFETY_MARGIN_SECONDS == 0.5


def test_first_per_minute_slots_are_immediate_then_it_waits() -> None:
    fake = FakeTime()
    limiter = make(3, fake)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert fake.sleeps == []
    assert limiter.acquire() == SPAN
    assert fake.sleeps == [SPAN]
    assert fake.now == 1000.0 + SPAN
    assert limiter.waited_seconds == SPAN


def test_burst_is_released_in_waves_of_per_minute() -> None:
    fake = FakeTime(0.0)
    limiter = make(4, fake)
    sent = []
    for _ in range(12):
        limiter.acquire()
        sent.append(fake.now)
    assert sent == [0.0] * 4 + [SPAN] * 4 + [2 * SPAN] * 4
    assert fake.sleeps == [SPAN, 2 * SPAN - SPAN]


def test_never_more_than_per_minute_in_any_window_with_irregular_traffic() -> None:
    fake = FakeTime(0.0)
    limiter = make(5, fake)
    sent = []
    gaps = [0, 1, 0, 7, 0.2, 30, 0, 0, 3, 11, 0, 0, 0, 45, 2, 0, 0.1, 0, 9, 0, 0, 61, 0, 0, 0]
    for gap in gaps * 4:
        fake.now += gap  # the caller does other work between requests
        limiter.acquire()
        sent.append(fake.now)
    assert max_in_any_window(sent, SPAN) == 5
    assert sent == sorted(sent)


def test_slot_frees_exactly_when_the_oldest_is_a_window_old() -> None:
    fake = FakeTime(0.0)
    limiter = make(2, fake)
    limiter.acquire()  # at 0
    fake.now = 10.0
    limiter.acquire()  # at 10
    fake.now = 20.0
    assert limiter.acquire() == pytest.approx(SPAN - 20.0)  # waits for 0 + 60.5
    assert fake.now == pytest.approx(SPAN)
    fake.now = 100.0  # slots at 10 and 60.5: the one at 10 is old, the one at 60.5 is not
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(60.5 + SPAN - 100.0)
    assert fake.now == pytest.approx(121.0)
    fake.now = 500.0  # everything is old: no wait
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(SPAN)


def test_caller_sleep_is_used_when_given() -> None:
    fake = FakeTime(0.0)
    limiter = make(1, fake)
    limiter.acquire()
    own: list[float] = []
    assert limiter.acquire(sleep=own.append) == SPAN
    assert own == [SPAN]
    assert fake.sleeps == []


@pytest.mark.parametrize("per_minute", [None, 0])
def test_unlimited(per_minute: int | None) -> None:
    fake = FakeTime()
    limiter = make(per_minute, fake)
    assert limiter.per_minute is None
    assert sum(limiter.acquire() for _ in range(1000)) == 0.0
    assert fake.sleeps == []
    assert limiter.waited_seconds == 0.0


def test_negative_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="per_minute must be positive"):
        KeyBudget(-1)


def test_pause_holds_later_acquisitions() -> None:
    fake = FakeTime(0.0)
    limiter = make(100, fake)
    limiter.acquire()
    limiter.pause(12.0)
    assert limiter.acquire() == 12.0
    assert fake.now == 12.0
    assert limiter.acquire() == 0.0  # the pause is over


def test_pause_holds_an_unlimited_limiter_too() -> None:
    fake = FakeTime(0.0)
    limiter = make(None, fake)
    limiter.pause(5.0)
    assert limiter.acquire() == 5.0
    assert limiter.acquire() == 0.0


def test_a_shorter_pause_does_not_shorten_a_longer_one() -> None:
    fake = FakeTime(0.0)
    limiter = make(None, fake)
    limiter.pause(30.0)
    fake.now = 10.0
    limiter.pause(5.0)  # would end at 15; the first ends at 30
    assert limiter.acquire() == 20.0


def test_pause_and_window_combine() -> None:
    fake = FakeTime(0.0)
    limiter = make(1, fake)
    limiter.acquire()  # next free slot at 60.5
    limiter.pause(100.0)
    assert limiter.acquire() == 100.0
    limiter.pause(1.0)
    assert limiter.acquire() == pytest.approx(SPAN)  # the window is now the later bound


def test_threads_share_the_budget() -> None:
    # The clock stands still, so each thread's slot is now + the wait it was given.
    now = 0.0
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    limiter = KeyBudget(5, clock=lambda: now, sleep=record)
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(5):
            limiter.acquire()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    slots = [0.0] * (40 - len(waits)) + waits
    assert sorted(slots) == sorted(SPAN * (i // 5) for i in range(40))
    assert max_in_any_window(slots, SPAN) == 5
    assert limiter.waited_seconds == pytest.approx(sum(SPAN * (i // 5) for i in range(40)))


def test_shared_budget_is_shared_per_scope_key_and_budget() -> None:
    scope = f"test-{uuid.uuid4()}"
    first = shared_budget(scope, "key-a", 240)
    assert shared_budget(scope, "key-a", 240) is first
    assert first.per_minute == 240
    others = [
        shared_budget(f"{scope}-other", "key-a", 240),
        shared_budget(scope, "key-b", 240),
        shared_budget(scope, "key-a", 60),
        shared_budget(scope, "key-a", None),
    ]
    assert all(other is not first for other in others)
    assert len({id(other) for other in others}) == 4
    assert shared_budget(scope, "key-a", None) is others[3]


def test_shared_budget_from_threads_is_one_object() -> None:
    scope = f"test-{uuid.uuid4()}"
    found: list[KeyBudget] = []
    start = threading.Barrier(6)

    def worker() -> None:
        start.wait()
        found.append(shared_budget(scope, "key", 12))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(found) == 6
    assert all(limiter is found[0] for limiter in found)


def test_hour_budget_holds_after_the_minute_budget_allows() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(240, 1200, clock=fake.clock, sleep=fake.sleep)
    slots = [fake.now + budget.acquire() for _ in range(1500)]
    assert max_in_any_window(slots, SPAN) == 240
    assert max_in_any_window(slots, HOUR_SECONDS + SAFETY_MARGIN_SECONDS) == 1200
    # The 1,201st request waits for the first one to be an hour old.
    assert slots[1200] == pytest.approx(HOUR_SECONDS + SAFETY_MARGIN_SECONDS)
    assert budget.describe() == "240/minute and 1200/hour"


def test_max_wait_refuses_a_long_wait_without_reserving() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(2, 3, clock=fake.clock, sleep=fake.sleep)
    budget.acquire()
    budget.acquire()
    with pytest.raises(PostHogBudgetWait) as info:
        budget.acquire(max_wait=30.0)
    assert info.value.wait_seconds == pytest.approx(SPAN)
    assert budget.wait_needed() == pytest.approx(SPAN)  # nothing was reserved
    assert budget.acquire(max_wait=SPAN + 1) == pytest.approx(SPAN)  # within the limit: waits
    with pytest.raises(PostHogBudgetWait) as info:  # the hour budget (3) is spent
        budget.acquire(max_wait=120.0)
    assert info.value.wait_seconds == pytest.approx(HOUR_SECONDS + SAFETY_MARGIN_SECONDS - SPAN)


def test_hour_only_budget() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(None, 2, clock=fake.clock, sleep=fake.sleep)
    assert [budget.acquire(), budget.acquire()] == [0.0, 0.0]
    assert budget.acquire() == pytest.approx(HOUR_SECONDS + SAFETY_MARGIN_SECONDS)
    with pytest.raises(ValueError, match="per_hour must be positive"):
        KeyBudget(10, -1)


def test_a_new_budget_replays_what_an_earlier_process_sent() -> None:
    fake = FakeTime(0.0)
    first = KeyBudget(240, 3, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        first.acquire()
    fake.now = 100.0
    ages = first.recent_ages()
    assert ages == [100.0, 100.0, 100.0]
    later = FakeTime(5000.0)  # another process: another clock
    second = KeyBudget(240, 3, clock=later.clock, sleep=later.sleep)
    second.replay([age + 20.0 for age in ages])  # 20 s passed between the two
    # The hour is spent: the next request waits for the first to be an hour old.
    assert second.acquire() == pytest.approx(HOUR_SECONDS + SAFETY_MARGIN_SECONDS - 120.0)
    # A budget that has its own history keeps it.
    second.replay([1.0] * 50)
    assert len(second.recent_ages()) <= 3


# ------------------------------------------------------------------ edges found by mutation


def test_wait_needed_is_zero_while_slots_are_free_and_reserves_nothing() -> None:
    fake = FakeTime(1000.0)
    budget = make(1, fake)
    assert budget.wait_needed() == 0.0
    assert budget.wait_needed() == 0.0
    assert budget.acquire() == 0.0
    assert budget.wait_needed() == pytest.approx(SPAN)
    fake.now += 20.0
    assert budget.wait_needed() == pytest.approx(SPAN - 20.0)


def test_a_wait_of_exactly_max_wait_is_accepted() -> None:
    fake = FakeTime(0.0)
    budget = make(1, fake)
    budget.acquire()
    assert budget.acquire(max_wait=SPAN) == SPAN


def test_a_long_wait_is_logged_with_the_budget(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(None, 1, clock=fake.clock, sleep=fake.sleep)
    budget.acquire()
    with caplog.at_level("INFO", logger="airflow_provider_posthog_recordings"):
        budget.acquire()
    assert [record.getMessage() for record in caplog.records] == [
        "Waiting 3600 s for the PostHog key's request budget (1/hour)"
    ]


@pytest.mark.parametrize(("pause", "logged"), [(59.0, False), (60.0, True)])
def test_waits_from_a_minute_on_are_logged(
    caplog: pytest.LogCaptureFixture, pause: float, logged: bool
) -> None:
    fake = FakeTime(0.0)
    budget = make(None, fake)
    budget.pause(pause)
    with caplog.at_level("INFO", logger="airflow_provider_posthog_recordings"):
        assert budget.acquire() == pause
    messages = [record.getMessage() for record in caplog.records]
    expected = [
        f"Waiting {pause:.0f} s for the PostHog key's request budget (no client-side limit)"
    ]
    assert messages == (expected if logged else [])


def test_recent_ages_are_the_longest_window_s_requests_in_milliseconds() -> None:
    fake = FakeTime(1000.0)
    budget = KeyBudget(10, 3, clock=fake.clock, sleep=fake.sleep)
    budget.acquire()  # at 1000
    fake.now = 1000.25
    budget.acquire()
    fake.now = 1012.3456789
    assert budget.recent_ages() == [12.346, 12.096]
    fake.now = 1000.0 + HOUR_SECONDS  # the first is exactly an hour old: out of the window
    assert budget.recent_ages() == [HOUR_SECONDS - 0.25]


def test_an_unlimited_budget_has_no_history() -> None:
    fake = FakeTime()
    budget = make(None, fake)
    budget.acquire()
    assert budget.recent_ages() == []
    assert budget.describe() == "no client-side limit"


def test_replay_takes_ages_in_any_order() -> None:
    fake = FakeTime(5000.0)
    budget = make(3, fake)
    budget.replay([10.0, 50.0, 30.0])
    # The oldest of the three went 50 s ago: the next slot is when it is a window old.
    assert budget.acquire() == pytest.approx(SPAN - 50.0)


def test_replay_of_more_ages_than_the_budget_keeps_the_newest() -> None:
    fake = FakeTime(5000.0)
    budget = make(2, fake)
    budget.replay([5.0, 59.0, 1.0, 40.0])
    assert budget.acquire() == pytest.approx(SPAN - 5.0)


def test_replay_of_recent_requests_under_the_budget_does_not_wait() -> None:
    fake = FakeTime(5000.0)
    budget = make(240, fake)
    budget.replay([])  # a first leg that sent nothing
    assert budget.acquire() == 0.0
    other = make(240, FakeTime(5000.0))
    other.replay([5.0, 2.0])
    assert other.acquire() == 0.0
    assert other.recent_ages() == [5.0, 2.0, 0.0]


def test_shared_budget_keeps_both_limits() -> None:
    scope = f"test-{uuid.uuid4()}"
    both = shared_budget(scope, "key", 240, 1200)
    assert (both.per_minute, both.per_hour) == (240, 1200)
    assert shared_budget(scope, "key", 240, 1200) is both
    minute_only = shared_budget(scope, "key", 240)
    assert minute_only is not both and minute_only.per_hour is None
    assert shared_budget(scope, "key", 240, 0) is minute_only  # 0 is no limit, as None


# --- forecast: what N more requests take at this budget, reserving nothing ---


def test_forecast_of_nothing_is_nothing() -> None:
    budget = KeyBudget(3, clock=lambda: 0.0)
    assert budget.forecast(0) == (0.0, 0)
    assert budget.forecast(-5, 1.0) == (0.0, 0)


def test_forecast_goes_in_waves_and_counts_waits_beyond_max_wait() -> None:
    budget = KeyBudget(3, clock=lambda: 0.0)
    assert budget.forecast(3) == (0.0, 0)
    assert budget.forecast(7) == (2 * SPAN, 0)
    assert budget.forecast(7, 60.0) == (2 * SPAN, 2)
    assert budget.forecast(7, SPAN) == (2 * SPAN, 0)  # a wait of exactly max_wait is taken
    assert budget.forecast(4, None) == (SPAN, 0)


def test_forecast_reserves_nothing() -> None:
    fake = FakeTime(0.0)
    budget = make(2, fake)
    budget.forecast(10, 1.0)
    assert [budget.acquire(), budget.acquire()] == [0.0, 0.0]


def test_forecast_starts_from_the_requests_already_sent() -> None:
    fake = FakeTime(0.0)
    budget = make(2, fake)
    budget.acquire()
    budget.acquire()
    fake.now = 10.0
    assert budget.forecast(1) == (SPAN - 10.0, 0)
    assert budget.forecast(3, 40.0) == (2 * SPAN - 10.0, 2)


def test_forecast_waits_for_a_pause() -> None:
    budget = KeyBudget(5, clock=lambda: 0.0)
    budget.pause(100.0)
    assert budget.forecast(1) == (100.0, 0)
    assert budget.forecast(2, 50.0) == (100.0, 1)


def test_forecast_keeps_both_windows() -> None:
    budget = KeyBudget(2, 3, clock=lambda: 0.0)
    assert budget.forecast(3) == (SPAN, 0)
    assert budget.forecast(4) == (HOUR_SECONDS + SAFETY_MARGIN_SECONDS, 0)


def test_forecast_without_a_limit_takes_no_time() -> None:
    budget = KeyBudget(None, clock=lambda: 0.0)
    assert budget.forecast(1000, 0.0) == (0.0, 0)


# --- a new budget knows no pause and no history ---


def test_a_new_budget_at_clock_zero_does_not_wait() -> None:
    budget = KeyBudget(3, clock=lambda: 0.0)
    assert budget.wait_needed() == 0.0


# --- turns: one request at a time while the key's history is unknown ---


def test_alone_until_the_shortest_window_has_passed_since_the_first_turn() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(10, 100, clock=fake.clock)
    assert budget.one_at_a_time()
    with budget.turn() as answer:
        pass  # no answer: history still unknown
    fake.now = 30.0
    with budget.turn() as answer:
        answer.status = 200
    fake.now = WINDOW_SECONDS + SAFETY_MARGIN_SECONDS - 0.01
    assert budget.one_at_a_time()
    fake.now = WINDOW_SECONDS + SAFETY_MARGIN_SECONDS  # counted from the first turn, at 0
    assert not budget.one_at_a_time()


def test_an_hour_only_budget_is_alone_for_an_hour() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(None, 100, clock=fake.clock)
    with budget.turn() as answer:
        answer.status = 200
    fake.now = HOUR_SECONDS
    assert budget.one_at_a_time()
    fake.now = HOUR_SECONDS + SAFETY_MARGIN_SECONDS
    assert not budget.one_at_a_time()


def test_without_an_answer_it_stays_alone() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(10, clock=fake.clock)
    with budget.turn():
        pass
    with budget.turn() as answer:
        answer.status = 429
    fake.now = 1000.0
    assert budget.one_at_a_time()
    with budget.turn() as answer:
        answer.status = 500
    assert not budget.one_at_a_time()


def test_without_a_limit_the_first_answer_ends_turns() -> None:
    budget = KeyBudget(None, clock=lambda: 0.0)
    assert budget.one_at_a_time()
    with budget.turn() as answer:
        answer.status = 204
    assert not budget.one_at_a_time()
    budget.throttled(5.0)
    assert budget.one_at_a_time()
    assert budget.wait_needed() == 5.0
    with budget.turn() as answer:
        answer.status = 200
    assert not budget.one_at_a_time()


def _second_turn_started(budget: KeyBudget) -> tuple[bool, bool]:
    """Whether another thread's turn starts while this thread holds one, and once it ends."""
    started = threading.Event()

    def other() -> None:
        with budget.turn() as answer:
            answer.status = 200
            started.set()

    with budget.turn() as answer:
        thread = threading.Thread(target=other)
        thread.start()
        during = started.wait(0.3)
        answer.status = 200
    after = started.wait(5.0)
    thread.join(5.0)
    assert not thread.is_alive()
    return during, after


def test_a_second_turn_waits_while_alone_and_goes_side_by_side_after() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(10, clock=fake.clock)
    assert _second_turn_started(budget) == (False, True)
    fake.now = 100.0
    assert _second_turn_started(budget) == (True, True)


def test_a_turn_ended_by_an_error_lets_the_next_one_go() -> None:
    budget = KeyBudget(10, clock=lambda: 0.0)
    with pytest.raises(RuntimeError), budget.turn():
        raise RuntimeError("no answer")
    assert _second_turn_started(budget) == (False, True)


# --- throttled: a 429 holds every thread back and takes its window as full ---


def _slots_after(budget: KeyBudget, fake: FakeTime, count: int) -> list[float]:
    slots = []
    for _ in range(count):
        budget.acquire()
        slots.append(fake.now)
    return slots


def test_a_429_within_the_minute_spreads_the_minute_s_budget() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(10, 100, clock=fake.clock, sleep=fake.sleep)
    budget.throttled(30.0)
    assert budget.wait_needed() == 30.0
    # The minute taken as full: 10 requests from -30.5 to 0, the oldest leaving at 30.
    step = 30.5 / 9
    assert _slots_after(budget, fake, 3) == pytest.approx([30.0, 30.0 + step, 30.0 + 2 * step])


def test_a_429_of_exactly_the_minute_plus_margin_belongs_to_the_minute() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(10, 100, clock=fake.clock, sleep=fake.sleep)
    budget.throttled(SPAN)
    # The minute is taken as full from -0.5 to 0: all of it has left by 60.5.
    assert _slots_after(budget, fake, 3) == pytest.approx([SPAN] * 3)


def test_a_429_of_a_full_minute_spreads_over_the_margin() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(3, clock=fake.clock, sleep=fake.sleep)
    budget.throttled(60.0)
    assert _slots_after(budget, fake, 3) == pytest.approx([60.0, 60.25, 60.5])


def test_a_429_longer_than_the_minute_takes_the_hour_as_full() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(10, 100, clock=fake.clock, sleep=fake.sleep)
    budget.throttled(600.0)
    assert budget.wait_needed() == 600.0
    step = (HOUR_SECONDS + SAFETY_MARGIN_SECONDS - 600.0) / 99
    assert _slots_after(budget, fake, 2) == pytest.approx([600.0, 600.0 + step])


def test_a_429_longer_than_any_window_takes_the_longest_it_can() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(1, clock=fake.clock, sleep=fake.sleep)
    budget.throttled(30.0)
    assert _slots_after(budget, fake, 2) == pytest.approx([30.0, 30.0 + SPAN])
    fake2 = FakeTime(0.0)
    budget2 = KeyBudget(2, clock=fake2.clock, sleep=fake2.sleep)
    budget2.throttled(600.0)
    assert _slots_after(budget2, fake2, 3) == pytest.approx([600.0, 600.0, 600.0 + SPAN])


def test_a_429_never_forgets_the_budget_s_own_requests() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(3, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        budget.acquire()
    fake.now = 1.0
    budget.throttled(2.0)
    # Its own three went at 0: the next may go at 60.5, not when the 429 said (3).
    assert budget.wait_needed() == pytest.approx(SPAN - 1.0)


def test_a_429_does_not_shorten_a_longer_pause() -> None:
    budget = KeyBudget(10, clock=lambda: 0.0)
    budget.pause(100.0)
    budget.throttled(10.0)
    assert budget.wait_needed() == 100.0


def test_a_429_holds_back_other_threads() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(10, clock=fake.clock, sleep=fake.sleep)
    budget.throttled(20.0)
    waits: list[float] = []
    thread = threading.Thread(target=lambda: waits.append(budget.acquire()))
    thread.start()
    thread.join(5.0)
    assert waits == [20.0]


def test_forecast_of_nothing_is_nothing_even_while_paused() -> None:
    budget = KeyBudget(3, clock=lambda: 0.0)
    budget.pause(100.0)
    assert budget.forecast(0, 1.0) == (0.0, 0)


def test_a_429_on_a_budget_of_two_spreads_them_over_the_minute() -> None:
    fake = FakeTime(0.0)
    budget = KeyBudget(2, clock=fake.clock, sleep=fake.sleep)
    budget.throttled(30.0)
    # Two requests taken as sent at -30.5 and 0: the second leaves at 60.5.
    assert _slots_after(budget, fake, 3) == pytest.approx([30.0, SPAN, 30.0 + SPAN])


def test_forecast_runs_waits_for_the_tightest_budget_of_each_request() -> None:
    """Snapshots requests count against the key's budget and the plan's: 3 a minute on the
    second makes the 4th snapshots request wait a minute, while key-only requests go."""
    from airflow_provider_posthog_recordings.client.http.key_budget import (
        SAFETY_MARGIN_SECONDS,
        forecast_runs,
    )

    key = KeyBudget(100, clock=lambda: 0.0)
    snapshots = KeyBudget(3, clock=lambda: 0.0)
    seconds, pauses = forecast_runs([(5, (key,)), (3, (key, snapshots))], max_wait=30.0)
    assert (seconds, pauses) == (0.0, 0)
    seconds, pauses = forecast_runs([(4, (key, snapshots)), (2, (key,))], max_wait=30.0)
    assert (seconds, pauses) == (60.0 + SAFETY_MARGIN_SECONDS, 1)
    # 7 snapshots requests: waits at the 4th and the 7th.
    seconds, pauses = forecast_runs([(7, (key, snapshots))], max_wait=30.0)
    assert pauses == 2 and seconds == 2 * (60.0 + SAFETY_MARGIN_SECONDS)
    assert forecast_runs([(7, (key, snapshots))], max_wait=None)[1] == 0
    assert forecast_runs([], max_wait=30.0) == (0.0, 0)
    # The budgets' own history counts; nothing is reserved by a forecast.
    for _ in range(3):
        snapshots.acquire(lambda _s: None)
    assert forecast_runs([(1, (key, snapshots))], max_wait=30.0)[1] == 1
    assert key.forecast(100, 30.0) == forecast_runs([(100, (key,))], 30.0)
    assert len(snapshots.recent_ages()) == 3

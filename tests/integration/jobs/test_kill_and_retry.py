"""A purge killed (SIGKILL) at random points, then retried: the write-ahead record says
exactly what was deleted, nothing counted twice, and the retry finishes the run.

Each round forks a process that runs one purge against a fresh emulator (a real HTTP server
in this process). The emulator kills that process at the round's point: the ``k``-th request,
either right after the server applied it and before it answers (for a DELETE: deleted on the
server, no trace yet in the process), or a moment after it answered (the process is reading
the answer or writing its record). Then the retry runs here, as a task's next try: the same
plan and record folders, a new record file prefix, ``continue_run``.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from posthog_recordings_emulator import PostHogEmulator

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.jobs import erasure, purge
from airflow_provider_posthog_recordings.jobs.deletion import DeletionRecord, read_deletion_record
from airflow_provider_posthog_recordings.jobs.purge_plan import FolderPlanStore

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
RECORDINGS = 30
KILLS = 50
RUN_ID = "scheduled__2026-03-21T00:00:00+00:00"
#: Single DELETEs after an existence check (Cloud), and bulk deletes (a server that takes them).
PROFILES = ("cloud", "permissive")


def settings_for(folder: Path, started: str, plan: bool = True) -> purge.PurgeSettings:
    record = DeletionRecord(
        folder=folder / "record",
        run_id=RUN_ID,
        cutoff=None,
        policy={},
        task="retention/purge",
        started=started,
    )
    return purge.PurgeSettings(
        older_than_days=10,
        reference=START + timedelta(days=20),
        max_deletions=None,
        record=record,
        plan_store=FolderPlanStore(folder / "plans" / RUN_ID) if plan else None,
        group_size=8,
        continue_run=True,
    )


def client_of(server: PostHogEmulator) -> PostHogClient:
    return PostHogClient(
        server.url,
        server.api_key,
        server.project_id,
        requests_per_minute=None,
        timeout=(2.0, 5.0),
        sleep=lambda seconds: None,
    )


def emulator(profile: str) -> PostHogEmulator:
    server = PostHogEmulator(profile=profile, synthetic_playlists=False).start()
    server.seed_recordings(RECORDINGS, days=9, seed=7, end=START)
    return server


class Killer:
    """Kills the purge process at its ``k``-th request to the emulator."""

    def __init__(self, server: PostHogEmulator, k: int, before_answer: bool, delay: float):
        self.pid = 0
        self.count = 0
        self.fired = False
        core = server._core  # the server's pipeline, wrapped here: not a mock, a kill switch
        handle = core.handle
        lock = threading.Lock()

        def kill() -> None:
            os.kill(self.pid, signal.SIGKILL)

        def killing_handle(*args: Any) -> Any:
            outcome = handle(*args)  # applied on the server
            with lock:
                self.count += 1
                due = self.count == k
            if due and self.pid:
                self.fired = True
                if before_answer:
                    kill()
                else:
                    threading.Timer(delay, kill).start()
            return outcome

        core.handle = killing_handle  # type: ignore[method-assign]


def run_in_child(
    server: PostHogEmulator, folder: Path, killer: Killer | None, plan: bool = True
) -> bool:
    """Run the purge in a forked process; whether it was killed."""
    pid = os.fork()
    if pid == 0:  # the purge process
        code = 1
        try:
            settings = settings_for(folder, "20260321T000000000000Z", plan)
            outcome = purge.run(client_of(server), settings)
            code = 0 if outcome.state is None else 3
        finally:
            os._exit(code)
    if killer is not None:
        killer.pid = pid
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True
    assert os.WEXITSTATUS(status) == 0, "the purge process failed on its own"
    return False


def test_a_purge_killed_at_50_random_points_then_retried_records_exactly_what_went(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("KILL_TEST_SEED", time.time_ns() % 1_000_000))
    print(f"\nkill test seed: {seed} (KILL_TEST_SEED={seed} repeats it)")
    rng = random.Random(seed)
    # A clean run of each profile: how many requests a purge sends (the range of points).
    requests = {}
    for profile in PROFILES:
        server = emulator(profile)
        try:
            assert not run_in_child(server, tmp_path / f"clean-{profile}", None)
            requests[profile] = server.request_count
            assert len(server.deleted_ids) == RECORDINGS
            lines = read_deletion_record(tmp_path / f"clean-{profile}" / "record", RUN_ID)
            assert sorted(line["recording_id"] for line in lines) == sorted(server.deleted_ids)
        finally:
            server.stop()
    kills = rounds = recovered_rounds = 0
    started = time.monotonic()
    while kills < KILLS:
        rounds += 1
        assert rounds <= 2 * KILLS, "too few rounds killed the purge"
        profile = PROFILES[rounds % len(PROFILES)]
        k = rng.randint(1, requests[profile])
        before_answer = rng.random() < 0.5
        delay = rng.uniform(0.0, 0.004)
        folder = tmp_path / f"round-{rounds}"
        server = emulator(profile)
        try:
            killer = Killer(server, k, before_answer, delay)
            killed = run_in_child(server, folder, killer)
            assert killed == killer.fired or not killed
            kills += killed
            first_try_deleted = set(server.deleted_ids)
            # The retry: a new try of the same run, in this process.
            with client_of(server) as client:
                retry = settings_for(folder, "20260321T010000000000Z")
                unsettled = retry.record.unsettled_intents()  # type: ignore[union-attr]
                recovered_rounds += bool(unsettled)
                outcome = purge.run(client, retry)
            assert outcome.state is None
            manifest = outcome.manifest
            where = f"round {rounds} ({profile}, request {k}, before answer {before_answer})"
            deleted = server.deleted_ids
            assert len(deleted) == RECORDINGS, where  # the retry finished the run
            lines = read_deletion_record(folder / "record", RUN_ID)
            ids = [line["recording_id"] for line in lines]
            assert len(ids) == len(set(ids)), f"{where}: an id recorded twice"
            assert set(ids) == deleted, f"{where}: the record and the server disagree"
            assert manifest["run_totals"]["deleted"] == manifest["deleted"] == RECORDINGS, where
            assert manifest["this_try"]["deleted"] == len(deleted - first_try_deleted), where
            assert manifest["already_gone"] == 0 and manifest["failed"] == 0, where
            assert retry.record.unsettled_intents() == {}  # type: ignore[union-attr]
        finally:
            server.stop()
    elapsed = time.monotonic() - started
    print(
        f"{kills} kills in {rounds} rounds ({recovered_rounds} retries settled an intent left "
        f"in flight), {elapsed:.1f} s; clean runs: {requests} requests"
    )
    assert recovered_rounds > 0


def test_a_retry_without_the_first_try_s_plan_plans_again_and_still_counts_the_run(
    tmp_path: Path,
) -> None:
    # As with a plan kept in XCom (a new try starts without it): the record alone carries
    # the run. Killed at the 30th of 38 requests: after its 3rd group's DELETEs began.
    server = emulator("cloud")
    try:
        killer = Killer(server, 30, before_answer=True, delay=0.0)
        assert run_in_child(server, tmp_path, killer, plan=False)
        by_try_1 = set(server.deleted_ids)
        assert 0 < len(by_try_1) < RECORDINGS
        with client_of(server) as client:
            outcome = purge.run(client, settings_for(tmp_path, "20260321T010000000000Z", False))
        manifest = outcome.manifest
        assert len(server.deleted_ids) == RECORDINGS
        assert manifest["deleted"] == manifest["run_totals"]["deleted"] == RECORDINGS
        assert manifest["this_try"]["deleted"] == RECORDINGS - len(by_try_1)
        assert manifest["already_gone"] == 0 and "continued" not in manifest
        ids = [line["recording_id"] for line in read_deletion_record(tmp_path / "record", RUN_ID)]
        assert len(ids) == len(set(ids)) == RECORDINGS
    finally:
        server.stop()


def test_a_retry_that_finds_no_plan_where_the_first_try_wrote_one_says_so(
    tmp_path: Path, caplog: Any
) -> None:
    server = emulator("cloud")
    try:
        assert run_in_child(server, tmp_path, Killer(server, 30, True, 0.0))
        for path in sorted((tmp_path / "plans").rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()  # another host's disk
        with client_of(server) as client:
            outcome = purge.run(client, settings_for(tmp_path, "20260321T010000000000Z"))
        assert outcome.manifest["deleted"] == RECORDINGS == len(server.deleted_ids)
        [warning] = [
            r.getMessage() for r in caplog.records if "no plan is readable" in r.getMessage()
        ]
        assert str(tmp_path / "plans") in warning and "another host" in warning
    finally:
        server.stop()


def test_an_erasure_killed_mid_group_then_retried_counts_the_run_once(tmp_path: Path) -> None:
    server = PostHogEmulator(profile="cloud", synthetic_playlists=False).start()
    try:
        theirs = {server.add_recording(distinct_id="user-7")["id"] for _ in range(12)}
        killer = Killer(server, 8, before_answer=True, delay=0.0)  # the 6th DELETE applied
        record = tmp_path / "record"

        def erasure_settings(started: str) -> Any:
            return erasure.ErasureSettings(
                distinct_ids=["user-7"],
                record=DeletionRecord(
                    folder=record, run_id=RUN_ID, cutoff=None, policy={}, started=started
                ),
            )

        pid = os.fork()
        if pid == 0:
            try:
                erasure.run(client_of(server), erasure_settings("20260321T000000000000Z"))
            finally:
                os._exit(0)
        killer.pid = pid
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status)
        by_try_1 = set(server.deleted_ids)
        assert 0 < len(by_try_1) < len(theirs)
        with client_of(server) as client:
            outcome = erasure.run(client, erasure_settings("20260321T010000000000Z"))
        manifest = outcome.manifest
        assert server.deleted_ids == theirs and manifest["remaining"] == 0
        assert manifest["deleted"] == manifest["run_totals"]["deleted"] == len(theirs)
        assert manifest["this_try"]["deleted"] == len(theirs - by_try_1)
        assert manifest["already_gone"] == 0
        ids = [line["recording_id"] for line in read_deletion_record(record, RUN_ID)]
        assert len(ids) == len(set(ids)) and set(ids) == theirs
    finally:
        server.stop()

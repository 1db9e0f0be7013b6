"""Command line: serve a seeded PostHog emulator until SIGINT or SIGTERM.

python -m posthog_recordings_emulator --port 8010 --recordings 500
python -m posthog_recordings_emulator --profile self_hosted_legacy
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
from types import FrameType

from .emulator import PostHogEmulator
from .profiles import DEFAULT_PROFILE, PROFILES, SNAPSHOT_PLAN_LIMITS
from .state import BULK_MODES

PINNED_PLAYLIST_NAME = "Protected: support cases"


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    profiles = "\n".join(f"  {p.name:<19} {p.summary}" for p in PROFILES.values())
    parser = argparse.ArgumentParser(
        prog="python -m posthog_recordings_emulator",
        description="Serve a seeded PostHog session-recordings API emulator. It serves project "
        "1 to the personal API key phx_emulator_test_key (every scope) unless told otherwise.",
        epilog=f"profiles (--profile, default {DEFAULT_PROFILE}):\n{profiles}\n\n"
        "The cloud profiles apply PostHog's budgets per key (240 requests/minute and "
        "1,200/hour); --no-rate-limits turns them off.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--profile", choices=list(PROFILES), default=DEFAULT_PROFILE, help="which PostHog"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--recordings", type=int, default=0, help="how many to seed")
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ongoing", type=int, default=0)
    parser.add_argument("--api-key", default="phx_emulator_test_key", help="%(default)s")
    parser.add_argument("--project-id", type=int, default=1, help="%(default)s")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument(
        "--rate-limit", type=int, default=None, help="requests/minute per key (0: none)"
    )
    parser.add_argument(
        "--rate-limit-per-hour", type=int, default=None, help="requests/hour per key (0: none)"
    )
    parser.add_argument(
        "--list-rate-limit", type=int, default=None, help="list requests/minute per key"
    )
    parser.add_argument(
        "--list-rate-limit-per-hour", type=int, default=None, help="list requests/hour per key"
    )
    parser.add_argument(
        "--snapshot-plan",
        choices=[*SNAPSHOT_PLAN_LIMITS, "none"],
        default=None,
        help="the plan tier whose snapshots budgets apply (default: free, 12/minute and 60/hour)",
    )
    parser.add_argument(
        "--window-scale",
        type=float,
        default=1.0,
        help="every budget window lasts this many times as long (0.1: a minute of 6 s)",
    )
    parser.add_argument(
        "--admin",
        action="store_true",
        help="serve the admin routes under /_emulator/ (add, delete, list; no key needed)",
    )
    parser.add_argument(
        "--no-rate-limits",
        dest="rate_limits",
        action="store_false",
        help="no budget at all (the profile's nor the ones given)",
    )
    parser.add_argument(
        "--timezone", default="UTC", help="project time zone of naive dates (IANA name)"
    )
    parser.add_argument(
        "--playlist-items-max-rows",
        type=int,
        default=None,
        help="at most this many items in an answer of a playlist's items",
    )
    parser.add_argument(
        "--pinned-playlist-size",
        type=int,
        default=0,
        help=f'put this many seeded recordings in a pinned playlist "{PINNED_PLAYLIST_NAME}"',
    )
    parser.add_argument(
        "--offset-only", action="store_true", default=None, help="no cursor pagination"
    )
    parser.add_argument(
        "--bulk-mode",
        choices=BULK_MODES,
        default=None,
        help="every bulk endpoint allowed, refused (403) or missing (404); default: the profile",
    )
    parser.add_argument(
        "--posthog-schema",
        choices=("newer", "0000f87b", "off"),
        default=None,
        help="PostHog's schema that list queries and saved searches are checked against "
        "(0000f87b: a server from before hide_viewed_recordings); default: the profile",
    )
    parser.add_argument("--ready-file", default=None, help="write connection JSON here")
    return parser


def _write_ready_file(path: str, payload: dict[str, object]) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".emulator-ready-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until a signal arrives; 0 on a clean stop."""
    args = build_parser().parse_args(argv)
    emulator = PostHogEmulator(
        profile=args.profile,
        api_key=args.api_key,
        project_id=args.project_id,
        host=args.host,
        port=args.port,
        latency=args.latency,
        rate_limits=args.rate_limits,
        rate_limit_per_minute=args.rate_limit,
        rate_limit_per_hour=args.rate_limit_per_hour,
        list_rate_limit_per_minute=args.list_rate_limit,
        list_rate_limit_per_hour=args.list_rate_limit_per_hour,
        snapshot_plan=args.snapshot_plan,
        window_scale=args.window_scale,
        admin=args.admin,
        project_timezone=args.timezone,
        playlist_items_max_rows=args.playlist_items_max_rows,
        offset_only=args.offset_only,
        bulk_mode=args.bulk_mode,
        posthog_schema=args.posthog_schema,
    )
    ids = emulator.seed_recordings(
        args.recordings, days=args.days, seed=args.seed, ongoing=args.ongoing
    )
    if args.pinned_playlist_size > 0:
        size = min(args.pinned_playlist_size, len(ids))
        protected = random.Random(args.seed).sample(ids, size)
        emulator.create_playlist(PINNED_PLAYLIST_NAME, pinned=True, recording_ids=protected)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emulator.start()
    try:
        print(f"PostHog emulator listening on {emulator.url}", flush=True)
        print(f"api_key: {emulator.api_key}", flush=True)
        print(f"project_id: {emulator.project_id}", flush=True)
        print(f"profile: {emulator.profile}", flush=True)
        print(f"recordings: {len(ids)}", flush=True)
        if args.ready_file:
            payload = {
                "url": emulator.url,
                "api_key": emulator.api_key,
                "project_id": emulator.project_id,
                "profile": emulator.profile,
            }
            _write_ready_file(args.ready_file, payload)
        while not stop.wait(0.2):
            pass
    finally:
        emulator.stop()
    print("PostHog emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

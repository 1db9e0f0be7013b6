"""Rewrite the emulator's old import paths and file paths to its own distribution's.

The emulator moved from ``airflow_provider_posthog_recordings.testing`` (in the provider's
wheel) to ``posthog_recordings_emulator`` (``emulator/`` in this repository, the distribution
``posthog-recordings-emulator``). Run this over a branch that still uses the old names::

    python scripts/rename_emulator_imports.py            # the whole tree, in place
    python scripts/rename_emulator_imports.py tests/x.py # only these files or folders
    python scripts/rename_emulator_imports.py --check    # list what would change, exit 1 if any

It rewrites ``.py``, ``.md``, ``.rst``, ``.toml``, ``.cfg``, ``.in``, ``.txt``, ``.sh`` and
``Makefile`` files (not ``.git``, virtualenvs, ``build``, ``dist``), then, when ruff is found
(``.venv/bin/ruff`` or on ``PATH``), sorts the imports of the rewritten Python files again.
Running it twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD_PACKAGE = "airflow_provider_posthog_recordings.testing"
NEW_PACKAGE = "posthog_recordings_emulator"
NEW_FOLDER = "emulator/posthog_recordings_emulator/"
#: (pattern, replacement), applied in order.
RULES: list[tuple[re.Pattern[str], str]] = [
    # the module path, in imports, ``-m`` and strings: airflow_provider_...testing[.x]
    (re.compile(re.escape(OLD_PACKAGE) + r"\b"), NEW_PACKAGE),
    # the folder path from the repository root
    (re.compile(r"airflow_provider_posthog_recordings/testing/"), NEW_FOLDER),
    # the folder path relative to the package, as docs and docstrings wrote it
    (re.compile(r"(?<![\w/.-])testing/(?=[\w.*])"), NEW_FOLDER),
]
SUFFIXES = {".py", ".md", ".rst", ".toml", ".cfg", ".in", ".txt", ".sh"}
SKIP = {".git", "build", "dist", "node_modules", "mutants", "__pycache__"}


def rewrite(text: str) -> str:
    """``text`` with every old name replaced by the new one."""
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text


def candidates(paths: list[Path]) -> Iterator[Path]:
    """The text files under ``paths`` this script rewrites."""
    for path in paths:
        if path.is_file():
            yield path
            continue
        for file in sorted(path.rglob("*")):
            parts = set(file.relative_to(path).parts)
            if parts & SKIP or any(
                part.startswith(".venv") or part.endswith(".egg-info") for part in parts
            ):
                continue
            if file.is_file() and (file.suffix in SUFFIXES or file.name == "Makefile"):
                yield file


def _ruff() -> str | None:
    local = ROOT / ".venv" / "bin" / "ruff"
    return str(local) if local.exists() else shutil.which("ruff")


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check`` only list) the files; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: repo)")
    parser.add_argument("--check", action="store_true", help="only list files that would change")
    args = parser.parse_args(argv)
    changed: list[Path] = []
    for file in candidates(args.paths or [ROOT]):
        if file.resolve() == Path(__file__).resolve():
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite(text)
        if new != text:
            changed.append(file)
            if not args.check:
                file.write_text(new, encoding="utf-8")
    for file in changed:
        print(file)
    if args.check:
        return 1 if changed else 0
    python_files = [str(file) for file in changed if file.suffix == ".py"]
    ruff = _ruff()
    if python_files and ruff:
        subprocess.run([ruff, "check", "--quiet", "--select", "I", "--fix", *python_files])
        subprocess.run([ruff, "format", "--quiet", *python_files])
    return 0


if __name__ == "__main__":
    sys.exit(main())

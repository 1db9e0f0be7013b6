"""Write a constraints file: the exact version of every package in a virtualenv.

``make constraints`` runs this on the virtualenvs it has just tested (a green install), as
Airflow publishes its own constraints files: every package pinned, ``pip``, ``setuptools``
and ``wheel`` included, but not this repository's own distributions (they are what is tested,
installed from the source tree or the built wheel).

Usage: ``python scripts/freeze_constraints.py VENV OUTPUT "what this environment is"``
"""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

#: This repository's own distributions: never pinned, they are what the tests install.
OWN = {"airflow-provider-posthog-recordings", "posthog-recordings-emulator"}


def normalized(name: str) -> str:
    """A distribution name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(freeze_output: str) -> list[str]:
    """The ``name==version`` lines of ``pip freeze``, without this repository's own packages.

    :raises SystemExit: a line that is not a plain pin (an editable or URL install of
        something else, which a constraints file cannot hold).
    """
    result = []
    for line in freeze_output.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name = re.split(r"[=@ ]", line, maxsplit=1)[0]
        if normalized(name) in OWN:
            continue
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+==[^\s]+", line):
            raise SystemExit(f"cannot pin {line!r}: install it from the package index first")
        result.append(line)
    return sorted(result, key=lambda pin: normalized(pin.split("==")[0]))


def main(venv: str, output: str, what: str) -> None:
    python = Path(venv) / "bin" / "python"
    version = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    frozen = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all", "--exclude-editable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pinned = pins(frozen)
    today = datetime.now(timezone.utc).date().isoformat()
    header = [
        f"# Constraints for {what}.",
        f"# Every package of a green install, pinned: written by `make constraints` on {today},",
        f"# Python {version}, {platform.system()} {platform.machine()}. Do not edit by hand:",
        "# README, 'Moving the pins forward', says how to regenerate it.",
    ]
    Path(output).write_text("\n".join(header + pinned) + "\n")
    print(f"wrote {output}: {len(pinned)} pins")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])

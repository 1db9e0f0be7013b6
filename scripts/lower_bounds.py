"""Print the declared lower bound of every dependency as a pin (``name==version``).

``make`` installs these pins in ``.venv-airflow2``, so the lowest versions the package claims
to support are the ones tested. Reads ``pyproject.toml``'s ``[project] dependencies`` (no
third-party import: works on any Python 3.10+).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def lower_bounds(text: str) -> list[str]:
    """``name==version`` for each ``name>=version`` of the dependencies list.

    Raises:
        SystemExit: a dependency without a ``>=`` lower bound.
    """
    block = re.search(r"^dependencies = \[(.*?)^\]", text, flags=re.MULTILINE | re.DOTALL)
    if block is None:
        raise SystemExit("no dependencies list in pyproject.toml")
    pins = []
    for requirement in re.findall(r'"([^"]+)"', block.group(1)):
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][^,;\s]*)(,.*)?", requirement)
        if match is None:
            raise SystemExit(f"dependency {requirement!r} has no >= lower bound")
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


if __name__ == "__main__":
    sys.stdout.write("\n".join(lower_bounds(PYPROJECT.read_text())) + "\n")

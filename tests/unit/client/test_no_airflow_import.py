"""The client is plain Python: importing it loads no Airflow module."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_client_loads_no_airflow() -> None:
    code = (
        "import sys\n"
        "import airflow_provider_posthog_recordings.client\n"
        "import airflow_provider_posthog_recordings.client.resources.deletion\n"
        "loaded = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "", f"the client imported Airflow: {done.stdout}"

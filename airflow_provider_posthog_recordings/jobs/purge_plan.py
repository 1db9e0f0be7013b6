"""A purge's plan, written once where every leg of the run (and a later run) can read it.

The first leg of a purge lists the window once and writes the plan: a small header (the
cutoff, the policy, the counts, the oldest and newest candidate) and the candidates, id and
start time, oldest first. A resumed leg reads the candidates from where the leg before it
stopped instead of listing the window again; a report-only run's plan can be reviewed (and
approved) and then applied by a later run (``apply_plan``), which deletes only ids in it.

Where a plan goes (the operator chooses, see
:class:`~..operators.deletion_operators.PostHogPurgeRecordingsOperator`):

* :class:`FolderPlanStore`: a folder, local or on object storage through Airflow's
  ``ObjectStoragePath`` (anything with ``/``, ``mkdir`` and ``open``): ``plan.json`` and
  ``candidates.jsonl`` (one ``{"recording_id": ..., "start_time": ...}`` a line). No size limit.
* :class:`MemoryPlanStore`: a JSON-able document kept by its owner; :class:`XComPlanStore`
  keeps it in a task's XCom (through the task instance given, duck-typed), up to
  :data:`MAX_PLAN_IN_XCOM` candidates.

A plan too large for its store is not written: the run then falls back to listing again from
where it stopped, as before plans existed.

No Airflow import here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, Protocol

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.jobs.deletion import RecordPath

Candidate = tuple[str, str]
"""A recording to delete: its id and its start time (ISO)."""

#: Largest plan (in candidates) kept in the task's XCom when no plan path is given.
MAX_PLAN_IN_XCOM = 20_000
PLAN_FILE = "plan.json"
CANDIDATES_FILE = "candidates.jsonl"
PLAN_VERSION = 1
#: The XCom key of a purge's plan kept in the task's own XCom.
PLAN_XCOM_KEY = "purge_plan"


class PlanStore(Protocol):
    """Where a plan is written once and read by every leg."""

    #: Largest plan this store takes, in candidates (None: any).
    max_candidates: int | None

    @property
    def location(self) -> str:
        """Where the plan is, for people and for the manifest."""

    def write(self, header: dict[str, Any], candidates: Iterable[Candidate]) -> None:
        """Write the plan (replacing one written before at the same place)."""

    def read_header(self) -> dict[str, Any]:
        """The plan's header; raises PostHogConfigError when there is no plan."""

    def read_candidates(self, start: int = 0) -> Iterator[Candidate]:
        """The candidates, oldest first, from the ``start``-th on."""


class PlanMissingError(PostHogConfigError):
    """There is no plan where one was expected."""


def new_plan_id() -> str:
    """A plan's id: the legs check they read the plan their run wrote."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def describe_candidate(candidate: Candidate | None) -> dict[str, str] | None:
    """A candidate as the header shows it (oldest, newest)."""
    if candidate is None:
        return None
    return {"recording_id": candidate[0], "start_time": candidate[1]}


class FolderPlanStore:
    """A plan in a folder: ``plan.json`` and ``candidates.jsonl``.

    :param folder: the plan's own folder (a ``pathlib.Path`` or an ``ObjectStoragePath``).
    """

    max_candidates: int | None = None

    def __init__(self, folder: RecordPath) -> None:
        self.folder = folder

    @property
    def location(self) -> str:
        """The folder, as text."""
        return str(self.folder)

    def write(self, header: dict[str, Any], candidates: Iterable[Candidate]) -> None:
        """Write the candidates first, then the header (a plan without its header is none)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / CANDIDATES_FILE).open("w") as handle:
            for rid, start in candidates:
                handle.write(json.dumps({"recording_id": rid, "start_time": start}) + "\n")
        with (self.folder / PLAN_FILE).open("w") as handle:
            handle.write(json.dumps(header, indent=2, sort_keys=True) + "\n")

    def read_header(self) -> dict[str, Any]:
        """The header; a clear error when the folder holds no plan."""
        try:
            with (self.folder / PLAN_FILE).open("r") as handle:
                header: dict[str, Any] = json.load(handle)
        except FileNotFoundError:
            raise PlanMissingError(
                f"no purge plan at {self.location} (expected {PLAN_FILE} there: the folder a "
                "report-only run's manifest names as plan_location)"
            ) from None
        return check_header(header, self.location)

    def read_candidates(self, start: int = 0) -> Iterator[Candidate]:
        """Stream the candidates from the ``start``-th on."""
        with (self.folder / CANDIDATES_FILE).open("r") as handle:
            # readline, not iteration: Airflow 2's ObjectStoragePath wraps the file in an
            # object that cannot be iterated.
            for index, line in enumerate(iter(handle.readline, "")):
                if index < start or not line.strip():
                    continue
                row = json.loads(line)
                yield str(row["recording_id"]), str(row["start_time"])


class MemoryPlanStore:
    """A plan as one JSON-able document (``{"header": ..., "candidates": [[id, start], ...]}``).

    Subclasses keep the document somewhere (the operator: the task's XCom) by overriding
    :meth:`save` and :meth:`load`.

    :param max_candidates: the largest plan it takes.
    """

    def __init__(self, max_candidates: int | None = MAX_PLAN_IN_XCOM) -> None:
        self.max_candidates = max_candidates
        self.document: dict[str, Any] | None = None

    @property
    def location(self) -> str:
        """Where the document is."""
        return "memory"

    def save(self, document: dict[str, Any]) -> None:
        """Keep the document."""
        self.document = document

    def load(self) -> dict[str, Any] | None:
        """The document kept, if any."""
        return self.document

    def write(self, header: dict[str, Any], candidates: Iterable[Candidate]) -> None:
        """Keep the plan as one document."""
        self.save({"header": header, "candidates": [list(c) for c in candidates]})

    def read_header(self) -> dict[str, Any]:
        """The header; a clear error when no plan was kept."""
        return check_header(self._document()["header"], self.location)

    def read_candidates(self, start: int = 0) -> Iterator[Candidate]:
        """The candidates from the ``start``-th on."""
        for rid, begin in self._document()["candidates"][start:]:
            yield str(rid), str(begin)

    def _document(self) -> dict[str, Any]:
        document = self.load()
        if not document:
            raise PlanMissingError(f"no purge plan at {self.location}")
        return document


class XComPlanStore(MemoryPlanStore):
    """A purge's plan in the task's own XCom: pushed by the first leg, pulled by the later ones
    (each a new process on a real deployment; Airflow keeps a task's XComs across a deferral).

    :param ti: the task instance.
    :param max_candidates: the largest plan kept (larger ones are not written; default
        :data:`MAX_PLAN_IN_XCOM`, 20,000: about 1.3 MB of JSON).
    """

    def __init__(
        self, ti: Any, max_candidates: int | None = None, task_id: str | None = None
    ) -> None:
        super().__init__(MAX_PLAN_IN_XCOM if max_candidates is None else max_candidates)
        self.ti = ti
        self.task_id = task_id or ti.task_id

    @classmethod
    def at(cls, ti: Any, location: str) -> XComPlanStore | None:
        """The store a location ``xcom:<task_id>/purge_plan`` names (another task's plan, to
        apply it), or None when ``location`` is not such a location.

        :param ti: this task's instance (it pulls the other task's XCom).
        :param location: a manifest's ``plan_location``.
        """
        prefix, suffix = "xcom:", f"/{PLAN_XCOM_KEY}"
        if not (location.startswith(prefix) and location.endswith(suffix)):
            return None
        return cls(ti, task_id=location[len(prefix) : -len(suffix)])

    @property
    def location(self) -> str:
        """``xcom:<task_id>/purge_plan``."""
        return f"xcom:{self.task_id}/{PLAN_XCOM_KEY}"

    def save(self, document: dict[str, Any]) -> None:
        """Push the plan to the task's XCom."""
        self.document = document
        self.ti.xcom_push(key=PLAN_XCOM_KEY, value=document)

    def load(self) -> dict[str, Any] | None:
        """Pull the plan from the task's own XCom (once per leg)."""
        if self.document is None:
            map_index = getattr(self.ti, "map_index", -1)
            own = self.task_id == self.ti.task_id and isinstance(map_index, int)
            document = self.ti.xcom_pull(
                task_ids=self.task_id,
                key=PLAN_XCOM_KEY,
                map_indexes=map_index if own and map_index >= 0 else None,
            )
            self.document = document if isinstance(document, dict) else None
        return self.document


def check_header(header: Any, location: str) -> dict[str, Any]:
    """Refuse a header this version cannot apply."""
    if not isinstance(header, dict) or header.get("version") != PLAN_VERSION:
        raise PostHogConfigError(f"{location} is not a purge plan this version can read")
    return header

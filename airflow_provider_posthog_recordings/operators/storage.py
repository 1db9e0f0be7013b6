"""Where a task's state may live: refuse one host's disk when legs and tries can move.

A deferred purge resumes in a new process, and a retried try starts in one: on
CeleryExecutor, KubernetesExecutor, EdgeExecutor or any executor but the local ones, that
process may run on another host, which cannot read a folder on the first host's disk. The
operators check their paths here, before any request that changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError

#: Executors that run every task on the scheduler's own host.
LOCAL_EXECUTORS = frozenset({"LocalExecutor", "SequentialExecutor", "DebugExecutor"})
#: Schemes of paths on the local disk (``ObjectStoragePath``'s ``file`` and ``local``).
LOCAL_SCHEMES = frozenset({"", "file", "local"})


def executor_class_name(entry: str) -> str:
    """The class name of one entry of ``[core] executor`` (``CeleryExecutor``,
    ``airflow.providers.celery.executors.celery_executor.CeleryExecutor``,
    ``alias:module.Class`` or ``module.Class:alias``)."""
    parts = [part.strip() for part in entry.split(":") if part.strip()]
    dotted = [part for part in parts if "." in part]
    chosen = dotted[0] if dotted else (parts[0] if parts else "")
    return chosen.rsplit(".", 1)[-1]


def executors_of_task(configured: str | None, task_executor: str | None) -> list[str]:
    """The class names of the executors that may run the task's tries and legs.

    :param configured: ``[core] executor`` (one executor, or Airflow 3's comma-separated
        list).
    :param task_executor: the task's own ``executor=`` (an alias or a name), if any.
    """
    entries = [entry.strip() for entry in (configured or "").split(",") if entry.strip()]
    if task_executor:
        for entry in entries:
            names = {part.strip() for part in entry.split(":")}
            if task_executor in names or executor_class_name(entry) == task_executor:
                return [executor_class_name(entry)]
        return [executor_class_name(task_executor)]
    # Without executor=, any executor of the list may be the task's (a DAG's default_args,
    # a cluster policy): every one of them counts.
    return [executor_class_name(entry) for entry in entries] or ["SequentialExecutor"]


def is_local_path(path: str) -> bool:
    """Whether ``path`` is on the local disk (a plain path, ``file://`` or ``local://``)."""
    return urlsplit(str(path)).scheme.lower() in LOCAL_SCHEMES


def check_shared_storage(
    paths: Mapping[str, str | None],
    *,
    executors: list[str],
    shared: bool,
) -> None:
    """Refuse local paths a task's later legs or tries could not read.

    :param paths: argument name -> path (None: not given).
    :param executors: the executors that may run the task (:func:`executors_of_task`).
    :param shared: the user declared the local paths a mount every worker shares.
    :raises PostHogConfigError: a local path with an executor that spreads tasks over hosts.
    """
    remote = [name for name in executors if name not in LOCAL_EXECUTORS]
    if shared or not remote:
        return
    local = {name: str(path) for name, path in paths.items() if path and is_local_path(str(path))}
    if not local:
        return
    given = ", ".join(f"{name}={path!r}" for name, path in local.items())
    raise PostHogConfigError(
        f"{given} is on this worker's own disk, but the task runs on {', '.join(remote)}: a "
        "resumed leg or a retried try may run on another worker, which cannot read it (the "
        "plan would be lost, and the record of what was deleted with it). Nothing was "
        "requested. Use object storage such as s3://bucket/posthog (any ObjectStoragePath "
        "URL), or a mount every worker shares, declared with shared_storage=True (or the "
        'PostHog connection\'s extra {"shared_storage": true}); without a path the plan '
        "stays in the task's XCom"
    )

"""Where state may live (operators/storage.py): which executors spread a task over hosts,
which paths are one host's disk, and the refusal's message."""

from __future__ import annotations

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.operators.storage import (
    check_shared_storage,
    executor_class_name,
    executors_of_task,
    is_local_path,
)


@pytest.mark.parametrize(
    ("entry", "name"),
    [
        ("CeleryExecutor", "CeleryExecutor"),
        ("airflow.providers.celery.executors.celery_executor.CeleryExecutor", "CeleryExecutor"),
        (
            "my_k8s:airflow.providers.cncf.kubernetes.executors.KubernetesExecutor",
            "KubernetesExecutor",
        ),
        ("airflow.executors.local_executor.LocalExecutor:local", "LocalExecutor"),
        (" LocalExecutor ", "LocalExecutor"),
    ],
)
def test_an_executor_entry_s_class_name(entry: str, name: str) -> None:
    assert executor_class_name(entry) == name


def test_a_list_of_executors_counts_every_one_unless_the_task_names_its_own() -> None:
    both = "LocalExecutor,CeleryExecutor"
    assert executors_of_task(both, None) == ["LocalExecutor", "CeleryExecutor"]
    assert executors_of_task(both, "LocalExecutor") == ["LocalExecutor"]
    assert executors_of_task("LocalExecutor,edge:x.EdgeExecutor", "edge") == ["EdgeExecutor"]
    assert executors_of_task("LocalExecutor", "CeleryExecutor") == ["CeleryExecutor"]
    assert executors_of_task("", None) == ["SequentialExecutor"]


@pytest.mark.parametrize(
    ("path", "local"),
    [
        ("/tmp/posthog", True),
        ("relative/dir", True),
        ("file:///mnt/x", True),
        ("local:///mnt/x", True),
        ("s3://bucket/posthog", False),
        ("gs://bucket/x", False),
    ],
)
def test_local_paths(path: str, local: bool) -> None:
    assert is_local_path(path) is local


def test_a_local_path_on_celery_is_refused_with_why_and_what_to_use() -> None:
    paths = {"plan_path": "/tmp/plans", "archive_path": "s3://b/a", "deletion_record_path": None}
    with pytest.raises(PostHogConfigError) as refused:
        check_shared_storage(paths, executors=["LocalExecutor", "CeleryExecutor"], shared=False)
    message = str(refused.value)
    assert "plan_path='/tmp/plans'" in message and "archive_path" not in message
    assert "CeleryExecutor" in message and "LocalExecutor" not in message
    assert "another worker, which cannot read it" in message
    assert "s3://" in message and "shared_storage=True" in message


@pytest.mark.parametrize(
    ("executors", "shared", "paths"),
    [
        (["LocalExecutor"], False, {"plan_path": "/tmp/p"}),
        (["SequentialExecutor", "DebugExecutor"], False, {"plan_path": "file:///tmp/p"}),
        (["CeleryExecutor"], True, {"plan_path": "/mnt/shared/p"}),
        (["KubernetesExecutor"], False, {"plan_path": "s3://b/p", "archive_path": None}),
    ],
)
def test_what_is_allowed(executors: list[str], shared: bool, paths: dict[str, str | None]) -> None:
    check_shared_storage(paths, executors=executors, shared=shared)

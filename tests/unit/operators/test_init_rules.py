"""Upstream Airflow's rules for operator ``__init__`` (scripts/ci/prek/validate_operators_init.py
in apache/airflow), applied to this package's operators and sensors without vendoring it.

Templates are rendered after ``__init__``, so ``__init__`` may only store arguments:

* every statement is the docstring, ``super().__init__(...)``, or ``self.<name> = <name>``
  where ``<name>`` is one of its own parameters (one name for argument and attribute);
* every template field is a parameter of some ``__init__`` of the class or its bases in this
  package, and is stored under the same name.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "airflow_provider_posthog_recordings"
MODULES = sorted(
    path
    for folder in ("operators", "sensors")
    for path in (PACKAGE / folder).glob("*.py")
    if path.name != "__init__.py"
)


def _init_problems(tree: ast.Module) -> list[str]:
    problems = []
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        init = next(
            (n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"),
            None,
        )
        if init is None:
            continue
        params = {a.arg for a in [*init.args.args, *init.args.kwonlyargs]}
        for statement in init.body:
            where = f"{cls.name}.__init__ line {statement.lineno}"
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                continue  # the docstring
            if (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Call)
                and isinstance(statement.value.func, ast.Attribute)
                and statement.value.func.attr == "__init__"
                and isinstance(statement.value.func.value, ast.Call)
                and getattr(statement.value.func.value.func, "id", None) == "super"
            ):
                continue
            if (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(target := statement.targets[0], ast.Attribute)
                and getattr(target.value, "id", None) == "self"
                and isinstance(statement.value, ast.Name)
                and statement.value.id == target.attr
                and target.attr in params
            ):
                continue
            problems.append(f"{where}: only `self.<arg> = <arg>` is allowed")
    return problems


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_init_only_stores_its_arguments(path: Path) -> None:
    assert _init_problems(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_the_checker_catches_logic_in_init() -> None:
    bad = ast.parse(
        "class Op:\n"
        "    def __init__(self, *, query, days):\n"
        "        super().__init__()\n"
        "        self.query = dict(query)\n"
        "        self.is_days = days\n"
        "        if days < 0:\n"
        "            raise ValueError\n"
    )
    assert len(_init_problems(bad)) == 3


def _classes() -> list[type]:
    found = []
    for path in MODULES:
        module = importlib.import_module(
            f"airflow_provider_posthog_recordings.{path.parent.name}.{path.stem}"
        )
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and getattr(cls, "template_fields", None):
                found.append(cls)
    return found


@pytest.mark.parametrize("cls", _classes(), ids=lambda cls: cls.__name__)
def test_every_template_field_is_an_argument_of_the_same_name(cls: type) -> None:
    params: set[str] = set()
    for klass in cls.__mro__:
        # the package's own __init__s (a mixin without one would give object's)
        if klass.__module__.startswith("airflow_provider_posthog_recordings") and (
            "__init__" in vars(klass)
        ):
            params |= set(inspect.signature(klass.__init__).parameters)  # type: ignore[misc]
    assert set(cls.template_fields) <= params  # type: ignore[attr-defined]
    assert cls.ui_color  # type: ignore[attr-defined]


#: The one argument of this package that is not templated: it decides how the task waits.
NOT_TEMPLATED = {"self", "kwargs", "deferrable"}


@pytest.mark.parametrize("cls", _classes(), ids=lambda cls: cls.__name__)
def test_every_argument_but_deferrable_is_a_template_field(cls: type) -> None:
    """What README promises: every argument of this package's operators and sensor can be
    templated, except ``deferrable``."""
    params: set[str] = set()
    for klass in cls.__mro__:
        # the package's own __init__s (a mixin without one would give object's)
        if klass.__module__.startswith("airflow_provider_posthog_recordings") and (
            "__init__" in vars(klass)
        ):
            params |= set(inspect.signature(klass.__init__).parameters)  # type: ignore[misc]
    assert params - NOT_TEMPLATED <= set(cls.template_fields)  # type: ignore[attr-defined]


def test_base_operator_dry_run_still_works() -> None:
    """`airflow tasks test --dry-run` calls ``task.dry_run()``: no argument may shadow it."""
    from airflow_provider_posthog_recordings.operators import (
        PostHogDeleteRecordingsOperator,
        PostHogPurgeRecordingsOperator,
    )

    for op in (
        PostHogPurgeRecordingsOperator(task_id="p", older_than_days=3, report_only=True),
        PostHogDeleteRecordingsOperator(task_id="d", recording_ids=["a"], report_only=True),
    ):
        assert callable(op.dry_run)
        op.dry_run()

"""Shared fixtures: the project, copies of it, and plans of its stacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from fleet import config as stack_config
from fleet import engine

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT_PARTS = ("Pulumi.yaml", "__main__.py", "libsonnet", "services", "policy")

_plans: dict[str, engine.Plan] = {}


def plan_for(project_dir: Path, stack: str) -> engine.Plan:
    raw = stack_config.read_stack_file(project_dir, stack)
    return engine.run_program(project_dir, stack, raw, stack_config.secret_keys(raw))


@pytest.fixture
def shipped_plan():
    """The plan of a shipped stack, computed once per test session."""

    def get(stack: str) -> engine.Plan:
        if stack not in _plans:
            _plans[stack] = plan_for(PROJECT_DIR, stack)
        return _plans[stack]

    return get


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project that a test may change."""
    for part in PROJECT_PARTS:
        source = PROJECT_DIR / part
        if source.is_dir():
            shutil.copytree(
                source, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__")
            )
        elif source.exists():
            shutil.copy2(source, tmp_path / part)
    for stack_file in PROJECT_DIR.glob("Pulumi.*.yaml"):
        shutil.copy2(stack_file, tmp_path / stack_file.name)
    return tmp_path


def edit_stack(project_dir: Path, stack: str, change) -> None:
    """Apply `change(config_map)` to a copy's stack file."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    change(document["config"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def children_of(plan: engine.Plan, stack: str, service: str, type_: str):
    """The resources of one type that a service's component holds."""
    component = plan.by_name(f"{stack}-{service}")
    return [r for r in plan.children(component.urn) if r.type == type_]


def one_child(plan: engine.Plan, stack: str, service: str, type_: str):
    """The service's single resource of that type; fails when not one."""
    found = children_of(plan, stack, service, type_)
    assert len(found) == 1, f"{service}: expected one {type_}, found {len(found)}"
    return found[0]

"""Rendering service folders: external variables, native functions, JSON."""

from __future__ import annotations

import json

import pytest

from fleet import config as stack_config
from fleet import render
from fleet.errors import FleetError
from tests.conftest import PROJECT_DIR


@pytest.fixture(params=["go", "cpp"])
def engine(request, monkeypatch):
    """Run a test under both Jsonnet engines: they must agree."""
    monkeypatch.setenv("ECS_FLEET_JSONNET", request.param)
    render._cache.clear()
    yield request.param
    render._cache.clear()


def app(defs: render.Definitions) -> dict:
    return next(c for c in defs.task["containerDefinitions"] if c["name"] == "app")


def test_app_container_is_tuned_as_a_large_service_should_be(engine):
    config = stack_config.load(PROJECT_DIR, "prod")

    defs = render.render_service(config, "auth")

    container = app(defs)
    assert container["ulimits"] == [
        {"name": "nofile", "softLimit": 65536, "hardLimit": 65536}
    ]
    assert container["healthCheck"]["command"][0] == "CMD-SHELL"
    assert {k: container["healthCheck"][k] for k in ("interval", "timeout", "retries",
            "startPeriod")} == {"interval": 30, "timeout": 5, "retries": 3,
                                "startPeriod": 60}  # fmt: skip
    assert container["essential"] is True
    assert container["memoryReservation"] <= container["memory"]


def test_sidecar_is_not_essential():
    config = stack_config.load(PROJECT_DIR, "prod")

    defs = render.render_service(config, "order")

    sidecar = next(
        c for c in defs.task["containerDefinitions"] if c["name"] == "sidecar"
    )
    assert sidecar["essential"] is False


@pytest.mark.parametrize(
    ("stack", "cpu", "memory"),
    [("dev", "256", "512"), ("staging", "512", "1024"), ("prod", "1024", "2048")],
)
def test_environments_differ_only_by_stack_config(stack, cpu, memory):
    config = stack_config.load(PROJECT_DIR, stack)

    defs = render.render_service(config, "user")

    assert (defs.task["cpu"], defs.task["memory"]) == (cpu, memory)
    assert defs.task["family"] == f"{stack}-user"
    assert app(defs)["image"] == config.services["user"].image
    log = app(defs)["logConfiguration"]
    assert log["logDriver"] == "awslogs"
    assert log["options"]["awslogs-group"] == f"/ecs/{stack}/user"
    assert log["options"]["awslogs-region"] == config.region


def test_secrets_are_references_not_values():
    config = stack_config.load(PROJECT_DIR, "prod")

    defs = render.render_service(config, "order")

    secrets = {s["name"]: s["valueFrom"] for s in app(defs)["secrets"]}
    assert secrets["DATABASE_PASSWORD"].startswith(
        "arn:aws:ssm:eu-west-1:333333333333:"
    )
    names = {e["name"] for e in app(defs)["environment"]}
    assert "DATABASE_PASSWORD" not in names


def write_service(project, name, task_text, task_file="task-def.jsonnet"):
    folder = project / "services" / name
    for kind in ("service-def.jsonnet", "fleet.jsonnet"):
        (folder / kind).write_text((project / "services/auth" / kind).read_text())
    (folder / "task-def.jsonnet").unlink()
    (folder / task_file).write_text(task_text)


def test_env_and_must_env_native_functions_read_the_environment(project, monkeypatch):
    # Go engine only: the C++ engine's Python module (jsonnet 0.22.0) fails
    # any two-argument native function with "binding parameter a second
    # time", so `env` with a default works only under the Go engine.
    monkeypatch.setenv("SHOP_RELEASE", "2026.12")
    task = json.loads(
        json.dumps(
            render.render_service(stack_config.load(project, "prod"), "auth").task
        )
    )
    task["containerDefinitions"][0]["environment"] = []
    text = (
        f"local t = {json.dumps(task)};\n"
        "t { containerDefinitions: [t.containerDefinitions[0] { environment: ["
        "{name: 'RELEASE', value: std.native('must_env')('SHOP_RELEASE')},"
        "{name: 'REGION', value: std.native('env')('SHOP_UNSET', 'fallback')}"
        "] }] + t.containerDefinitions[1:] }"
    )
    write_service(project, "auth", text)
    render._cache.clear()

    defs = render.render_service(stack_config.load(project, "prod"), "auth")

    assert app(defs)["environment"] == [
        {"name": "RELEASE", "value": "2026.12"},
        {"name": "REGION", "value": "fallback"},
    ]


def test_plain_json_definitions_are_accepted(project):
    config = stack_config.load(project, "prod")
    task = render.render_service(config, "product").task
    write_service(project, "product", json.dumps(task, indent=2), "task-def.json")

    defs = render.render_service(stack_config.load(project, "prod"), "product")

    assert defs.task == task
    assert defs.task_file == "services/product/task-def.json"


def test_broken_json_names_the_line(project):
    write_service(project, "product", '{\n  "family": "x",\n  oops\n}', "task-def.json")

    with pytest.raises(FleetError) as raised:
        render.render_service(stack_config.load(project, "prod"), "product")

    assert str(raised.value).startswith(
        "services/product/task-def.json:3: service product"
    )


def test_a_missing_definition_file_is_named(project):
    (project / "services/user/service-def.jsonnet").unlink()

    with pytest.raises(FleetError) as raised:
        render.render_service(stack_config.load(project, "prod"), "user")

    assert "services/user/: service user: service-def.jsonnet: is missing" in str(
        raised.value
    )


def test_both_engines_render_every_shipped_definition_identically(monkeypatch):
    config = stack_config.load(PROJECT_DIR, "staging")
    results = {}

    for name in render.ENGINES:
        monkeypatch.setenv("ECS_FLEET_JSONNET", name)
        render._cache.clear()
        results[name] = {
            s: (d.task, d.service_def, d.fleet)
            for s, d in render.render_fleet(config).items()
        }
    render._cache.clear()

    assert results["go"] == results["cpp"]

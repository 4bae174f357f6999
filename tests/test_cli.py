"""The command line as a user runs it: `python -m fleet ...` in a shell."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_DIR


def fleet(*args: str, cwd=PROJECT_DIR) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fleet", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def prod_plan_json():
    result = fleet("preview", "--stack", "prod", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_preview_json_is_one_document_with_every_resource(prod_plan_json):
    document = prod_plan_json

    assert document["stack"] == "prod"
    for resource in document["resources"]:
        assert set(resource) >= {"urn", "type", "name", "parent", "inputs", "options"}
        assert {"ignoreChanges", "parent", "dependsOn", "protect"} <= set(
            resource["options"]
        )


@pytest.mark.parametrize("service", ["auth", "user", "product", "order"])
def test_preview_json_lists_each_services_resources(service, prod_plan_json):
    resources = prod_plan_json["resources"]
    component = next(r for r in resources if r["name"] == f"prod-{service}")

    mine = [r for r in resources if r["parent"] == component["urn"]]

    types = [r["type"] for r in mine]
    assert types.count("aws:ecs/taskDefinition:TaskDefinition") == 1
    assert types.count("aws:lb/targetGroup:TargetGroup") == 2
    assert types.count("aws:lb/listenerRule:ListenerRule") == 2
    (ecs,) = [r for r in mine if r["type"] == "aws:ecs/service:Service"]
    assert ecs["inputs"]["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert {"taskDefinition", "loadBalancers"} <= set(ecs["options"]["ignoreChanges"])


def test_preview_prints_a_tree_and_counts_per_type():
    result = fleet("preview", "--stack", "dev")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Plan of stack dev")
    assert any(line.startswith("└─ ecs-fleet:fleet:Fleet  dev") for line in lines)
    assert any("aws:ecs:Service  dev-order-service" in line for line in lines)
    counts = lines[lines.index(next(x for x in lines if x.endswith("resources:"))) :]
    assert any(line.split() == ["4", "aws:ecs:TaskDefinition"] for line in counts)


def test_render_shows_the_app_containers_ulimit_and_health_check():
    result = fleet("render", "--stack", "prod", "auth")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["auth"]
    app = document["auth"]["taskDefinition"]["containerDefinitions"][0]
    assert app["ulimits"][0] == {
        "name": "nofile",
        "softLimit": 65536,
        "hardLimit": 65536,
    }
    assert app["healthCheck"]["interval"] == 30


def test_render_of_an_unknown_service_exits_2():
    result = fleet("render", "--stack", "prod", "payment")

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: Pulumi.prod.yaml: service payment: ecs-fleet:services: has no service "
        "'payment'; services: auth, user, product, order"
    )


def test_a_program_that_fails_under_the_mocks_exits_1_with_one_line(project):
    (project / "__main__.py").write_text("raise RuntimeError('no fleet today')\n")

    result = fleet("--project", str(project), "preview", "--stack", "dev")

    assert result.returncode == 1
    assert result.stderr == (
        "error: the program failed under the mock engine: no fleet today\n"
    )

"""`python -m fleet diff`: what differs between two stacks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from fleet import diff
from fleet.__main__ import main
from fleet.config import Alarms, Autoscaling, Deployment, ServiceSettings
from fleet.errors import FleetError
from tests.conftest import edit_stack


def run_diff(project: Path, source: str, target: str, services=None):
    out = io.StringIO()
    different = diff.run(project, source, target, services, out)
    return different, out.getvalue()


def drop_service(project: Path, stack: str, name: str) -> None:
    edit_stack(project, stack, lambda config: config["ecs-fleet:services"].pop(name))


def test_a_stack_compared_with_itself_prints_nothing(project):
    different, printed = run_diff(project, "prod", "prod")

    assert different is False
    assert printed == ""


@pytest.mark.parametrize(
    "line",
    [
        "--- staging/order/task-def",
        "+++ prod/order/task-def",
        '-  "family": "staging-order",',
        '+  "family": "prod-order",',
        '-  "cpu": "512",',
        '+  "cpu": "1024",',
        "--- staging/order/fleet",
        '-    "AfterAllowTestTraffic": "shop-staging-order-smoke-test"',
        "--- staging/order/settings",
        '-    "strategy": "linear",',
        '+    "strategy": "canary",',
        '+    "max": 30,',
        "--- staging/stack",
        '-  "cluster": "shop-staging",',
        '+  "cluster": "shop-prod",',
    ],
)
def test_staging_and_prod_differ_in_sizes_strategy_and_stack_names(project, line):
    different, printed = run_diff(project, "staging", "prod")

    assert different is True
    assert line in printed.splitlines(), f"{line!r} missing from the diff"


def test_service_definitions_that_match_print_no_section(project):
    different, printed = run_diff(project, "staging", "prod")

    assert different is True
    assert "--- staging/order/service-def" not in printed


def test_naming_services_limits_the_diff_to_them(project):
    _, printed = run_diff(project, "staging", "prod", ["order"])

    headers = [line for line in printed.splitlines() if line.startswith("--- ")]
    assert headers == [
        "--- staging/order/task-def",
        "--- staging/order/fleet",
        "--- staging/order/settings",
    ]


def test_an_image_that_differs_shows_in_the_task_and_the_settings(project):
    _, printed = run_diff(project, "staging", "prod", ["order"])

    changed = [
        line
        for line in printed.splitlines()
        if line.startswith("+ ") and '"image": ' in line
    ]
    assert len(changed) == 2, changed
    assert all("order@sha256:196c56a9" in line for line in changed)


def test_a_service_only_one_stack_has_shows_as_wholly_added(project):
    drop_service(project, "staging", "user")

    different, printed = run_diff(project, "staging", "prod", ["user"])

    lines = printed.splitlines()
    assert different is True
    assert "+++ prod/user/task-def" in lines
    removed = [
        line for line in lines if line.startswith("-") and not line.startswith("--- ")
    ]
    assert removed == []
    assert '+  "family": "prod-user",' in lines


def test_a_service_neither_stack_has_is_refused(project):
    with pytest.raises(FleetError) as raised:
        run_diff(project, "staging", "prod", ["cart"])

    (problem,) = raised.value.problems
    assert problem.service == "cart"
    assert problem.file == "Pulumi.prod.yaml"
    assert "auth, user, product, order" in problem.fix


def _task(container: dict, network_mode: str = "awsvpc") -> dict:
    return {
        "family": "dev-order",
        "networkMode": network_mode,
        "containerDefinitions": [{"name": "app", "image": "app:1", **container}],
    }


@pytest.mark.parametrize(
    "spelled_out, left_out",
    [
        pytest.param(
            _task({"essential": True}), _task({}), id="essential-defaults-to-true"
        ),
        pytest.param(_task({"cpu": 0}), _task({}), id="container-cpu-defaults-to-0"),
        pytest.param(
            _task({"portMappings": [{"containerPort": 80, "protocol": "tcp"}]}),
            _task({"portMappings": [{"containerPort": 80}]}),
            id="protocol-defaults-to-tcp",
        ),
        pytest.param(
            _task({"portMappings": [{"containerPort": 80, "hostPort": 80}]}),
            _task({"portMappings": [{"containerPort": 80}]}),
            id="awsvpc-host-port-is-the-container-port",
        ),
        pytest.param(
            _task({"mountPoints": [], "environment": []}),
            _task({}),
            id="empty-lists-are-dropped",
        ),
        pytest.param(
            _task({"environment": [{"name": "A", "value": "1"}, {"name": "B"}]}),
            _task({"environment": [{"name": "B"}, {"name": "A", "value": "1"}]}),
            id="environment-is-sorted-by-name",
        ),
        pytest.param(
            {**_task({}), "cpu": "1 vCPU", "memory": "2 GB"},
            {**_task({}), "cpu": 1024, "memory": "2048"},
            id="task-sizes-become-numbers",
        ),
    ],
)
def test_task_definitions_that_aws_registers_alike_compare_equal(spelled_out, left_out):
    normalized = diff.normalize_task_definition(spelled_out)

    assert normalized == diff.normalize_task_definition(left_out)


def test_host_port_is_not_filled_in_outside_awsvpc():
    mapping = {"portMappings": [{"containerPort": 80}]}

    normalized = diff.normalize_task_definition(_task(mapping, network_mode="bridge"))

    (container,) = normalized["containerDefinitions"]
    assert container["portMappings"] == [{"containerPort": 80, "protocol": "tcp"}]


def test_containers_are_compared_in_name_order():
    task = {
        "containerDefinitions": [
            {"name": "sidecar", "image": "s:1"},
            {"name": "app", "image": "a:1"},
        ]
    }

    normalized = diff.normalize_task_definition(task)

    names = [c["name"] for c in normalized["containerDefinitions"]]
    assert names == ["app", "sidecar"]


@pytest.mark.parametrize(
    "spelled_out, left_out",
    [
        pytest.param(
            {"launchType": "FARGATE", "platformVersion": "LATEST"},
            {"launchType": "FARGATE"},
            id="fargate-platform-defaults-to-latest",
        ),
        pytest.param(
            {
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": ["subnet-b", "subnet-a"],
                        "assignPublicIp": "DISABLED",
                    }
                }
            },
            {
                "networkConfiguration": {
                    "awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"]}
                }
            },
            id="public-ip-disabled-and-subnets-sorted",
        ),
        pytest.param(
            {
                "deploymentConfiguration": {
                    "maximumPercent": 200,
                    "minimumHealthyPercent": 100,
                    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
                }
            },
            {},
            id="rolling-update-defaults",
        ),
    ],
)
def test_service_definitions_that_aws_creates_alike_compare_equal(
    spelled_out, left_out
):
    normalized = diff.normalize_service_definition(spelled_out)

    assert normalized == diff.normalize_service_definition(left_out)


def test_rolling_update_defaults_are_not_added_under_codedeploy():
    service = {"deploymentController": {"type": "CODE_DEPLOY"}}

    normalized = diff.normalize_service_definition(service)

    assert "deploymentConfiguration" not in normalized


def _settings(**overrides) -> ServiceSettings:
    values = {"name": "order", "image": "order:1", "load_balancer": "shop"}
    return ServiceSettings(**{**values, **overrides})


@pytest.mark.parametrize(
    "spelled_out, left_out",
    [
        pytest.param(
            _settings(deployment=Deployment(termination_wait_minutes=5)),
            _settings(),
            id="default-termination-wait",
        ),
        pytest.param(
            _settings(autoscaling=Autoscaling(min=1, max=2, cpu_target=60.0)),
            _settings(autoscaling=Autoscaling(min=1, max=2, cpu_target=60)),
            id="whole-number-targets",
        ),
        pytest.param(
            _settings(alarms=Alarms(evaluation_periods=3)),
            _settings(),
            id="default-alarm-periods",
        ),
    ],
)
def test_settings_that_mean_the_same_print_the_same(spelled_out, left_out):
    printed = diff.dump(diff.service_settings(spelled_out))

    assert printed == diff.dump(diff.service_settings(left_out))


def test_settings_are_spelled_as_in_the_stack_file():
    settings = _settings(
        desired_count=1, autoscaling=Autoscaling(min=1, max=4), alarms=Alarms(2.0)
    )

    printed = diff.service_settings(settings)

    assert printed["desiredCount"] == 1
    assert printed["autoscaling"]["scaleInCooldown"] == 300
    assert printed["deployment"]["terminationWaitMinutes"] == 5
    assert printed["alarms"]["http5xxRate"] == 2.0


@pytest.mark.parametrize(
    "argv, status",
    [
        pytest.param(["--from", "prod", "--to", "prod", "--exit-code"], 0, id="same"),
        pytest.param(
            ["--from", "staging", "--to", "prod", "--exit-code"], 1, id="differ"
        ),
        pytest.param(["--from", "staging", "--to", "prod"], 0, id="no-exit-code"),
        pytest.param(["--from", "staging", "--to", "prod", "cart"], 2, id="unknown"),
    ],
)
def test_the_diff_command_exits_by_difference_and_refusal(project, argv, status):
    code = main(["--project", str(project), "diff", *argv])

    assert code == status

"""Every kind of bad input: one line naming file, service and field; exit 2.

Each rule has a passing case (the shipped stack, or a near miss) and a
failing case, run through the command line as a user would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleet.__main__ import main
from tests.conftest import edit_stack


def replace_in(project: Path, relative: str, old: str, new: str) -> None:
    path = project / relative
    text = path.read_text()
    assert old in text, f"{relative} no longer holds {old!r}: update the test"
    path.write_text(text.replace(old, new))


def append_to_task(project: Path, service: str, jsonnet: str) -> None:
    """Overlay the rendered task definition of a service with `jsonnet`."""
    path = project / "services" / service / "task-def.jsonnet"
    path.write_text(f"({path.read_text()}) + {jsonnet}\n")


def set_service(service: str, key: str, value):
    def change(config):
        config["ecs-fleet:services"][service][key] = value

    return change


def set_app(service: str, fields: str):
    """Jsonnet that overlays fields onto the app container."""
    return (
        f"{{ containerDefinitions: [if c.name == 'app' then c + {fields} else c "
        "for c in super.containerDefinitions] }"
    )


FAILING_CASES = {
    "jsonnet-syntax-error": (
        lambda p: replace_in(
            p, "services/auth/task-def.jsonnet", "port=8080,", "port=8080,,"
        ),
        ["services/auth/task-def.jsonnet:", "service auth", "jsonnet syntax"],
    ),
    "jsonnet-runtime-error": (
        lambda p: append_to_task(p, "user", "{ family: error 'no family for you' }"),
        ["services/user/task-def.jsonnet:", "service user", "no family for you"],
    ),
    "jsonnet-must-env-unset": (
        lambda p: append_to_task(
            p, "order", "{ family: std.native('must_env')('ECS_FLEET_UNSET_VAR') }"
        ),
        ["services/order/task-def.jsonnet", "service order", "ECS_FLEET_UNSET_VAR"],
    ),
    "unknown-task-field": (
        lambda p: append_to_task(p, "auth", "{ memoryReservaton: 512 }"),
        ["services/auth/task-def.jsonnet", "service auth", "memoryReservaton"],
    ),
    "unknown-container-field": (
        lambda p: append_to_task(p, "auth", set_app("auth", "{ esential: true }")),
        ["service auth", "containerDefinitions[0].esential",
         "did you mean 'essential'"],
    ),
    "mistyped-container-field": (
        lambda p: append_to_task(p, "auth", set_app("auth", "{ cpu: '512' }")),
        ["service auth", "containerDefinitions[0].cpu", "whole number"],
    ),
    "invalid-enum-value": (
        lambda p: append_to_task(p, "auth", "{ networkMode: 'awsvcp' }"),
        ["service auth", "networkMode", "did you mean 'awsvpc'"],
    ),
    "fargate-cpu-memory-pair": (
        lambda p: edit_stack(
            p, "prod", set_service("user", "vars", {"cpu": 256, "memory": 4096})
        ),
        ["services/user/task-def.jsonnet", "service user", "memory", "4096"],
    ),
    "reservation-above-container-memory": (
        lambda p: append_to_task(
            p, "order", set_app("order", "{ memoryReservation: 1900 }")
        ),
        ["service order", "containerDefinitions[0].memoryReservation",
         "above its memory"],
    ),
    "container-memory-above-task": (
        lambda p: append_to_task(
            p, "order", set_app("order", "{ memory: 4096, memoryReservation: 1024 }")
        ),
        ["service order", "containerDefinitions[0].memory", "above the task's memory"],
    ),
    "load-balancer-container-missing": (
        lambda p: replace_in(
            p, "services/product/service-def.jsonnet", "shop.service(port=8080)",
            "shop.service(port=8080) + { loadBalancers: [{containerName: 'web', "
            "containerPort: 8080}] }",
        ),
        ["services/product/service-def.jsonnet", "service product",
         "loadBalancers[0].containerName", "'web'"],
    ),
    "load-balancer-port-missing": (
        lambda p: replace_in(
            p, "services/product/service-def.jsonnet", "port=8080", "port=9090"
        ),
        ["service product", "loadBalancers[0].containerPort", "9090"],
    ),
    "service-without-folder": (
        lambda p: edit_stack(
            p, "prod",
            lambda c: c["ecs-fleet:services"].update(
                {"payment": dict(c["ecs-fleet:services"]["order"])}
            ),
        ),
        ["Pulumi.prod.yaml", "service payment", "has no folder services/payment/"],
    ),
    "autoscaling-bounds-cross": (
        lambda p: edit_stack(
            p, "prod", set_service("order", "autoscaling", {"min": 5, "max": 2})
        ),
        ["Pulumi.prod.yaml", "service order", "autoscaling.min", "autoscaling.max"],
    ),
    "desired-count-outside-bounds": (
        lambda p: edit_stack(p, "prod", set_service("order", "desiredCount", 50)),
        ["Pulumi.prod.yaml", "service order", "desiredCount", "outside"],
    ),
    "canary-percent-out-of-range": (
        lambda p: edit_stack(
            p, "prod",
            set_service("auth", "deployment",
                        {"strategy": "canary", "percent": 120, "interval": 5}),
        ),
        ["Pulumi.prod.yaml", "service auth", "deployment.percent", "maximum 99"],
    ),
    "linear-interval-out-of-range": (
        lambda p: edit_stack(
            p, "prod",
            set_service("auth", "deployment",
                        {"strategy": "linear", "percent": 10, "interval": 0}),
        ),
        ["Pulumi.prod.yaml", "service auth", "deployment.interval", "minimum 1"],
    ),
    "unknown-strategy": (
        lambda p: edit_stack(
            p, "prod", set_service("auth", "deployment", {"strategy": "bluegreen"})
        ),
        ["service auth", "deployment.strategy", "'bluegreen'"],
    ),
    "unknown-service-key": (
        lambda p: edit_stack(p, "prod", set_service("user", "desiredCuont", 2)),
        ["service user", "desiredCuont", "did you mean 'desiredCount'"],
    ),
    "duplicate-listener-priority": (
        lambda p: replace_in(
            p, "services/user/fleet.jsonnet", "priority=20", "priority=10"
        ),
        ["services/user/fleet.jsonnet", "listenerRule.priority",
         "taken by service auth"],
    ),
    "scheduled-action-without-bounds": (
        lambda p: edit_stack(
            p, "prod",
            set_service("order", "autoscaling", {
                "min": 3, "max": 30,
                "scheduled": [{"name": "nightly", "schedule": "cron(0 22 * * ? *)"}],
            }),
        ),
        ["service order", "autoscaling.scheduled[0]", "neither min nor max"],
    ),
    "scheduled-action-bounds-cross": (
        lambda p: edit_stack(
            p, "prod",
            set_service("order", "autoscaling", {
                "min": 3, "max": 30,
                "scheduled": [{"name": "n", "schedule": "rate(1 day)", "min": 9,
                               "max": 4}],
            }),
        ),
        ["service order", "autoscaling.scheduled[0].min", "9 is above max 4"],
    ),
    "tag-in-a-digest-stack": (
        lambda p: edit_stack(
            p, "prod", set_service("auth", "image", "registry.example/shop/auth:1.0")
        ),
        ["Pulumi.prod.yaml", "service auth", "image", "requireDigests"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", FAILING_CASES, ids=list(FAILING_CASES))
def test_bad_input_exits_2_with_one_line_naming_file_service_and_field(
    case, project, capsys
):
    mutate, expected = FAILING_CASES[case]
    mutate(project)

    status = main(["--project", str(project), "render", "--stack", "prod"])

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2, f"{case}: exit status {status}, stderr: {err}"
    assert len(err) == 1, f"{case}: expected one line, got {err}"
    for fragment in expected:
        assert fragment in err[0], f"{case}: {fragment!r} missing from {err[0]!r}"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_stacks_pass_every_check(stack, capsys):
    status = main(["render", "--stack", stack])

    assert status == 0, capsys.readouterr().err


NEAR_MISSES = {
    "fargate-largest-memory-for-cpu": lambda p: edit_stack(
        p, "prod", set_service("user", "vars", {"cpu": 256, "memory": 2048})
    ),
    "reservation-equal-to-memory": lambda p: append_to_task(
        p, "order", set_app("order", "{ memoryReservation: 1792 }")
    ),
    "desired-count-at-the-upper-bound": lambda p: edit_stack(
        p, "prod", set_service("order", "desiredCount", 30)
    ),
    "custom-canary-percent": lambda p: edit_stack(
        p, "prod",
        set_service("auth", "deployment", {"strategy": "canary", "percent": 99,
                                           "interval": 2880}),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", NEAR_MISSES, ids=list(NEAR_MISSES))
def test_values_at_the_limit_are_accepted(case, project, capsys):
    NEAR_MISSES[case](project)

    status = main(["--project", str(project), "render", "--stack", "prod"])

    assert status == 0, capsys.readouterr().err


def test_several_problems_are_all_reported_one_line_each(project, capsys):
    edit_stack(
        project, "prod", set_service("order", "autoscaling", {"min": 5, "max": 2})
    )
    append_to_task(project, "auth", "{ memoryReservaton: 512 }")

    status = main(["--project", str(project), "render", "--stack", "prod"])

    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(lines) == 1, "config problems stop before rendering: " + repr(lines)
    assert "service order" in lines[0]


def test_preview_of_bad_input_prints_no_traceback(project):
    edit_stack(
        project, "prod", set_service("order", "autoscaling", {"min": 5, "max": 2})
    )

    result = subprocess.run(
        [sys.executable, "-m", "fleet", "--project", str(project), "preview",
         "--stack", "prod"],
        capture_output=True, text=True, cwd=Path(__file__).parent.parent,
    )  # fmt: skip

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "autoscaling.min 5 is above autoscaling.max 2" in result.stderr


def test_unknown_stack_names_the_stacks_that_exist(capsys):
    status = main(["render", "--stack", "qa"])

    err = capsys.readouterr().err
    assert status == 2
    assert "Pulumi.qa.yaml" in err
    assert "prod" in err and "dev" in err

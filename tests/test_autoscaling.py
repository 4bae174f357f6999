"""Autoscaling: the scalable target, its policies, schedules and bounds."""

from __future__ import annotations

import pytest

from fleet.__main__ import EXIT_INVALID, main
from tests.conftest import edit_stack, plan_for

TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
SCHEDULED = "aws:appautoscaling/scheduledAction:ScheduledAction"
SERVICES = ("auth", "user", "product", "order")
SUSPENDED_FLAGS = (
    "dynamicScalingInSuspended",
    "dynamicScalingOutSuspended",
    "scheduledScalingSuspended",
)


def set_service(project, service: str, path: tuple[str, ...], value) -> None:
    def change(config):
        node = config["ecs-fleet:services"][service]
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    edit_stack(project, "prod", change)


@pytest.mark.parametrize(
    ("service", "low", "high"),
    [("auth", 3, 20), ("user", 2, 10), ("product", 4, 40), ("order", 3, 30)],
)
def test_every_prod_service_gets_a_target_with_its_configured_bounds(
    shipped_plan, service, low, high
):
    plan = shipped_plan("prod")

    target = plan.by_name(f"prod-{service}-scaling")

    assert target.type == TARGET
    assert target.parent == plan.by_name(f"prod-{service}").urn
    assert target.inputs["serviceNamespace"] == "ecs"
    assert target.inputs["scalableDimension"] == "ecs:service:DesiredCount"
    assert target.inputs["resourceId"] == f"service/shop-prod/{service}"
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (low, high)


@pytest.mark.parametrize("service", SERVICES)
def test_the_target_waits_for_its_ecs_service(shipped_plan, service):
    plan = shipped_plan("prod")

    target = plan.by_name(f"prod-{service}-scaling")

    assert plan.by_name(f"prod-{service}-service").urn in target.options["dependsOn"]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(
    ("key", "metric", "target_value"),
    [
        ("cpu", "ECSServiceAverageCPUUtilization", 55),
        ("memory", "ECSServiceAverageMemoryUtilization", 70),
    ],
)
def test_every_prod_service_tracks_cpu_and_memory_at_its_configured_targets(
    shipped_plan, service, key, metric, target_value
):
    plan = shipped_plan("prod")

    policy = plan.by_name(f"prod-{service}-{key}")
    tracking = policy.inputs["targetTrackingScalingPolicyConfiguration"]

    assert policy.type == POLICY
    assert policy.parent == plan.by_name(f"prod-{service}").urn
    assert policy.inputs["resourceId"] == f"service/shop-prod/{service}"
    assert tracking["predefinedMetricSpecification"] == {"predefinedMetricType": metric}
    assert tracking["targetValue"] == target_value
    assert (tracking["scaleInCooldown"], tracking["scaleOutCooldown"]) == (300, 60)


@pytest.mark.parametrize("color", ["blue", "green"])
def test_requests_per_target_tracks_each_colour_and_only_scales_out(
    shipped_plan, color
):
    plan = shipped_plan("prod")
    group = plan.by_name(f"prod-product-{color}")

    policy = plan.by_name(f"prod-product-requests-{color}")
    tracking = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    spec = tracking["predefinedMetricSpecification"]

    assert spec["predefinedMetricType"] == "ALBRequestCountPerTarget"
    assert spec["resourceLabel"] == (
        f"app/shop-prod/3c4d5e6f7a8b9c0d/targetgroup/{group.inputs['name']}"
        "/0123456789abcdef"
    )
    assert tracking["targetValue"] == 1000
    assert tracking["disableScaleIn"] is True


def test_services_without_requests_per_target_get_no_request_policy(shipped_plan):
    plan = shipped_plan("prod")

    request_policies = [p.name for p in plan.of_type(POLICY) if "-requests-" in p.name]

    assert sorted(request_policies) == [
        "prod-product-requests-blue",
        "prod-product-requests-green",
    ]


def test_a_stack_without_autoscaling_declares_no_scaling_at_all(shipped_plan):
    plan = shipped_plan("dev")

    scaling = plan.of_type(TARGET) + plan.of_type(POLICY) + plan.of_type(SCHEDULED)

    assert scaling == []


@pytest.mark.parametrize("suspended", [True, False])
def test_suspended_autoscaling_suspends_all_three_kinds_for_that_service_only(
    project, suspended
):
    set_service(project, "order", ("autoscaling", "suspended"), suspended)

    plan = plan_for(project, "prod")

    for service in SERVICES:
        state = plan.by_name(f"prod-{service}-scaling").inputs["suspendedState"]
        expected = suspended if service == "order" else False
        assert {flag: state[flag] for flag in SUSPENDED_FLAGS} == dict.fromkeys(
            SUSPENDED_FLAGS, expected
        ), f"suspended state of {service}"


def test_a_scheduled_action_changes_the_bounds_on_its_schedule(project):
    nightly = {
        "name": "nightly",
        "schedule": "cron(0 22 * * ? *)",
        "min": 1,
        "max": 5,
        "timezone": "Europe/Dublin",
    }
    set_service(project, "order", ("autoscaling", "scheduled"), [nightly])

    plan = plan_for(project, "prod")
    action = plan.by_name("prod-order-schedule-nightly")

    assert action.type == SCHEDULED
    assert action.parent == plan.by_name("prod-order").urn
    assert action.inputs["resourceId"] == "service/shop-prod/order"
    assert action.inputs["schedule"] == "cron(0 22 * * ? *)"
    assert action.inputs["timezone"] == "Europe/Dublin"
    assert action.inputs["scalableTargetAction"] == {
        "minCapacity": 1,
        "maxCapacity": 5,
    }
    assert [a.name for a in plan.of_type(SCHEDULED)] == ["prod-order-schedule-nightly"]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        pytest.param(
            {"min": 5, "max": 2},
            ("autoscaling.min", "autoscaling.max"),
            id="bounds-crossed",
        ),
        pytest.param(
            {"min": 3, "max": 30, "desired": 31},
            ("desiredCount", "autoscaling.min", "max 30"),
            id="desired-count-above-max",
        ),
        pytest.param(
            {"min": 3, "max": 30, "desired": 2},
            ("desiredCount", "autoscaling.min 3"),
            id="desired-count-below-min",
        ),
    ],
)
def test_bounds_that_cannot_hold_exit_2_naming_the_service_and_keys(
    project, capsys, settings, named
):
    set_service(project, "order", ("autoscaling", "min"), settings["min"])
    set_service(project, "order", ("autoscaling", "max"), settings["max"])
    if "desired" in settings:
        set_service(project, "order", ("desiredCount",), settings["desired"])

    status = main(["--project", str(project), "preview", "--stack", "prod"])
    errors = capsys.readouterr().err.strip().splitlines()

    assert status == EXIT_INVALID
    assert len(errors) == 1, errors
    assert errors[0].startswith("error: Pulumi.prod.yaml: service order: ")
    for key in named:
        assert key in errors[0], f"{key!r} missing from {errors[0]!r}"
    assert "Traceback" not in errors[0]


def test_bounds_that_hold_with_a_desired_count_inside_them_pass(project, capsys):
    set_service(project, "order", ("desiredCount",), 3)

    status = main(["--project", str(project), "preview", "--stack", "prod"])

    assert status == 0, capsys.readouterr().err

"""Rollback alarms: one set per target group, listed by the deployment group."""

from __future__ import annotations

import pytest

from components.alarms import MAX_DEPLOYMENT_GROUP_ALARMS, alarm_specs
from tests.conftest import edit_stack, plan_for

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SERVICES = ("auth", "user", "product", "order")
COLORS = ("blue", "green")
PROD_LOAD_BALANCER = "app/shop-prod/3c4d5e6f7a8b9c0d"


def alarm_names(service: str) -> list[str]:
    return [
        f"prod-{service}-{color}-{kind}"
        for color in COLORS
        for kind in ("5xx-rate", "unhealthy-hosts")
    ]


def target_group_suffix(plan, service: str, color: str) -> str:
    name = plan.by_name(f"prod-{service}-{color}").inputs["name"]
    return f"targetgroup/{name}/0123456789abcdef"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_gets_two_alarms_per_target_group(shipped_plan, service):
    plan = shipped_plan("prod")
    component = plan.by_name(f"prod-{service}").urn

    alarms = [a for a in plan.of_type(ALARM) if a.parent == component]

    assert sorted(a.inputs["name"] for a in alarms) == sorted(alarm_names(service))


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("color", COLORS)
def test_the_5xx_alarm_divides_errors_by_requests_of_its_target_group(
    shipped_plan, service, color
):
    plan = shipped_plan("prod")
    dimensions = {
        "LoadBalancer": PROD_LOAD_BALANCER,
        "TargetGroup": target_group_suffix(plan, service, color),
    }

    alarm = plan.by_name(f"prod-{service}-{color}-5xx")
    queries = {q["id"]: q for q in alarm.inputs["metricQueries"]}

    assert queries["errors"]["metric"]["metricName"] == "HTTPCode_Target_5XX_Count"
    assert queries["requests"]["metric"]["metricName"] == "RequestCount"
    for metric_id in ("errors", "requests"):
        metric = queries[metric_id]["metric"]
        assert metric["namespace"] == "AWS/ApplicationELB"
        assert metric["dimensions"] == dimensions, f"{metric_id} of {alarm.name}"
        assert metric["stat"] == "Sum"
    assert queries["rate"]["expression"] == "FILL(errors, 0) / requests * 100"
    assert [q["id"] for q in alarm.inputs["metricQueries"] if q["returnData"]] == [
        "rate"
    ]
    assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert alarm.inputs["threshold"] == 2
    assert alarm.inputs["evaluationPeriods"] == 3
    assert alarm.inputs["treatMissingData"] == "notBreaching"


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("color", COLORS)
def test_the_unhealthy_hosts_alarm_watches_its_target_group(
    shipped_plan, service, color
):
    plan = shipped_plan("prod")

    alarm = plan.by_name(f"prod-{service}-{color}-unhealthy")

    assert alarm.inputs["namespace"] == "AWS/ApplicationELB"
    assert alarm.inputs["metricName"] == "UnHealthyHostCount"
    assert alarm.inputs["dimensions"] == {
        "LoadBalancer": PROD_LOAD_BALANCER,
        "TargetGroup": target_group_suffix(plan, service, color),
    }
    assert alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm.inputs["threshold"] == 1
    assert alarm.inputs["evaluationPeriods"] == 3
    assert alarm.inputs["treatMissingData"] == "notBreaching"


@pytest.mark.parametrize("service", SERVICES)
def test_the_deployment_group_rolls_back_on_every_alarm_of_its_service(
    shipped_plan, service
):
    plan = shipped_plan("prod")

    group = plan.by_name(f"prod-{service}-deployment-group").inputs

    assert group["alarmConfiguration"] == {
        "enabled": True,
        "alarms": alarm_names(service),
    }
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["autoRollbackConfiguration"]["events"]


@pytest.mark.parametrize("service", SERVICES)
def test_the_stack_exports_the_alarm_names_of_every_service(shipped_plan, service):
    plan = shipped_plan("prod")

    exported = plan.outputs["services"][service]["alarm_names"]

    assert exported == alarm_names(service)


def test_thresholds_come_from_the_service_alarms_config(project):
    def change(config):
        config["ecs-fleet:services"]["order"]["alarms"] = {
            "http5xxRate": 7.5,
            "unhealthyHosts": 2,
            "evaluationPeriods": 5,
        }

    edit_stack(project, "prod", change)

    plan = plan_for(project, "prod")

    for color in COLORS:
        rate = plan.by_name(f"prod-order-{color}-5xx").inputs
        hosts = plan.by_name(f"prod-order-{color}-unhealthy").inputs
        assert (rate["threshold"], rate["evaluationPeriods"]) == (7.5, 5)
        assert (hosts["threshold"], hosts["evaluationPeriods"]) == (2, 5)
    untouched = plan.by_name("prod-auth-blue-5xx").inputs
    assert (untouched["threshold"], untouched["evaluationPeriods"]) == (2, 3)


def test_no_service_has_more_alarms_than_a_deployment_group_accepts():
    specs = alarm_specs("staging", "a" * 40, list(COLORS))

    assert len(specs) <= MAX_DEPLOYMENT_GROUP_ALARMS
    assert len({spec.name for spec in specs}) == len(specs)

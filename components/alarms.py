"""The CloudWatch alarms that stop a deployment and roll it back.

CodeDeploy watches the alarms its deployment group lists and, with the
DEPLOYMENT_STOP_ON_ALARM rollback event, puts traffic back on the old task
set when one of them goes into ALARM during a deployment.

Every alarm watches one target group, and each service gets its alarms
twice, once for blue and once for green. CodeDeploy alternates which group
is live, so both colours must be watched; and a rate summed over both
groups would dilute the new task set's errors by the traffic split: at a
10% canary, a green group failing one request in three shows as a 3% rate
overall, under a 5% threshold. Per group, the canary's own rate is judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.naming import limited
from fleet.config import Alarms, LoadBalancer

NAMESPACE = "AWS/ApplicationELB"
PERIOD_SECONDS = 60

# CodeDeploy accepts at most 10 alarms in a deployment group.
MAX_DEPLOYMENT_GROUP_ALARMS = 10

# CloudWatch caps alarm names at 255 characters.
NAME_LIMIT = 255


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm before Pulumi: its key, its name and its shape."""

    key: str
    name: str
    description: str


def alarm_specs(stack: str, service: str, colors: list[str]) -> list[AlarmSpec]:
    """The alarms of one service, in the order the deployment group lists.

    Four per service, well under CodeDeploy's ten per deployment group.
    """
    specs = []
    for color in colors:
        specs.append(
            AlarmSpec(
                f"{color}-5xx",
                limited(f"{stack}-{service}-{color}-5xx-rate", NAME_LIMIT),
                f"{service} ({color}): share of requests answered 5XX by the tasks",
            )
        )
        specs.append(
            AlarmSpec(
                f"{color}-unhealthy",
                limited(f"{stack}-{service}-{color}-unhealthy-hosts", NAME_LIMIT),
                f"{service} ({color}): tasks failing the target group health check",
            )
        )
    return specs


def declare_alarms(
    name: str,
    *,
    stack: str,
    service_name: str,
    thresholds: Alarms,
    load_balancer: LoadBalancer,
    target_groups: dict[str, aws.lb.TargetGroup],
    parent: pulumi.Resource,
) -> dict[str, aws.cloudwatch.MetricAlarm]:
    """Declare the rollback alarms of one service, keyed `<color>-<kind>`."""
    child = pulumi.ResourceOptions(parent=parent)
    alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
    common = {
        "evaluation_periods": thresholds.evaluation_periods,
        # ALB metrics have no data points while a group gets no traffic,
        # which is the idle colour's normal state between deployments.
        "treat_missing_data": "notBreaching",
    }
    for spec in alarm_specs(stack, service_name, list(target_groups)):
        color, kind = spec.key.split("-", 1)
        dimensions = {
            "LoadBalancer": load_balancer.arn_suffix,
            "TargetGroup": target_groups[color].arn_suffix,
        }
        if kind == "5xx":
            shape = {
                "comparison_operator": "GreaterThanThreshold",
                "threshold": thresholds.http_5xx_rate,
                "metric_queries": _error_rate_queries(dimensions),
            }
        else:
            shape = {
                "comparison_operator": "GreaterThanOrEqualToThreshold",
                "threshold": thresholds.unhealthy_hosts,
                "namespace": NAMESPACE,
                "metric_name": "UnHealthyHostCount",
                "dimensions": dimensions,
                "statistic": "Maximum",
                "period": PERIOD_SECONDS,
            }
        alarms[spec.key] = aws.cloudwatch.MetricAlarm(
            f"{name}-{spec.key}",
            name=spec.name,
            alarm_description=spec.description,
            **common,
            **shape,
            opts=child,
        )
    return alarms


def _error_rate_queries(dimensions: dict) -> list[dict]:
    def metric(query_id: str, metric_name: str) -> dict:
        return {
            "id": query_id,
            "return_data": False,
            "metric": {
                "namespace": NAMESPACE,
                "metric_name": metric_name,
                "dimensions": dimensions,
                "period": PERIOD_SECONDS,
                "stat": "Sum",
            },
        }

    return [
        metric("errors", "HTTPCode_Target_5XX_Count"),
        metric("requests", "RequestCount"),
        {
            "id": "rate",
            # The 5XX count is absent, not zero, in a minute without errors;
            # without requests the rate has no data and does not breach.
            "expression": "FILL(errors, 0) / requests * 100",
            "label": "5XX rate (%)",
            "return_data": True,
        },
    ]

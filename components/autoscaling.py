"""Service autoscaling: the scalable target, its policies and schedules.

The scalable target is what ecspresso's autoscaling flags act on:
`--auto-scaling-min/max` set its bounds and `--suspend-auto-scaling` /
`--resume-auto-scaling` its suspended state. Here they are the service's
`autoscaling` config, applied by `pulumi up`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.naming import limited
from fleet.config import Autoscaling, LoadBalancer

SERVICE_NAMESPACE = "ecs"
SCALABLE_DIMENSION = "ecs:service:DesiredCount"

# Application Auto Scaling caps policy and scheduled action names at 256.
NAME_LIMIT = 256


@dataclass
class Scaling:
    """What `declare_scaling` created for one service."""

    target: aws.appautoscaling.Target
    policies: dict[str, aws.appautoscaling.Policy] = field(default_factory=dict)
    scheduled: dict[str, aws.appautoscaling.ScheduledAction] = field(
        default_factory=dict
    )


def resource_id(cluster: str, service: str) -> str:
    return f"service/{cluster}/{service}"


def suspended_state(suspended: bool) -> dict[str, bool]:
    """One switch for all three kinds, as ecspresso's flags have it."""
    return {
        "dynamic_scaling_in_suspended": suspended,
        "dynamic_scaling_out_suspended": suspended,
        "scheduled_scaling_suspended": suspended,
    }


def declare_scaling(
    name: str,
    *,
    stack: str,
    cluster: str,
    service_name: str,
    autoscaling: Autoscaling,
    service: aws.ecs.Service,
    load_balancer: LoadBalancer,
    target_groups: dict[str, aws.lb.TargetGroup],
    parent: pulumi.Resource,
) -> Scaling:
    """Declare the scalable target of one ECS service and what drives it.

    `name` is the owning component's name; every child's logical name
    starts with it, and every child is parented to `parent`.
    """
    child = pulumi.ResourceOptions(parent=parent)
    physical = f"{stack}-{service_name}"

    target = aws.appautoscaling.Target(
        f"{name}-scaling",
        service_namespace=SERVICE_NAMESPACE,
        scalable_dimension=SCALABLE_DIMENSION,
        resource_id=resource_id(cluster, service_name),
        min_capacity=autoscaling.min,
        max_capacity=autoscaling.max,
        suspended_state=suspended_state(autoscaling.suspended),
        # Application Auto Scaling refuses to register a service that does
        # not exist yet, and the resource id is a plain string.
        opts=child.merge(pulumi.ResourceOptions(depends_on=[service])),
    )
    scaling = Scaling(target)
    on_target = {
        "service_namespace": target.service_namespace,
        "scalable_dimension": target.scalable_dimension,
        "resource_id": target.resource_id,
    }

    for key, metric, value in (
        ("cpu", "ECSServiceAverageCPUUtilization", autoscaling.cpu_target),
        ("memory", "ECSServiceAverageMemoryUtilization", autoscaling.memory_target),
    ):
        scaling.policies[key] = aws.appautoscaling.Policy(
            f"{name}-{key}",
            name=limited(f"{physical}-{key}", NAME_LIMIT),
            policy_type="TargetTrackingScaling",
            target_tracking_scaling_policy_configuration={
                "predefined_metric_specification": {"predefined_metric_type": metric},
                "target_value": value,
                "scale_in_cooldown": autoscaling.scale_in_cooldown,
                "scale_out_cooldown": autoscaling.scale_out_cooldown,
            },
            **on_target,
            opts=child,
        )

    if autoscaling.requests_per_target is not None:
        # A request-count policy names one target group, and CodeDeploy
        # moves live traffic between blue and green on every deployment, so
        # no single label stays right. One policy per colour follows the
        # traffic: the live group's policy sees the load, the idle group's
        # has no data and does nothing. Both may only scale out, because
        # Application Auto Scaling scales in only when every scale-in
        # capable policy agrees, and a policy without data never agrees:
        # the idle colour would otherwise pin the service at its peak.
        # Scale-in stays with the CPU and memory policies.
        for color, group in target_groups.items():
            label = pulumi.Output.concat(
                load_balancer.arn_suffix, "/", group.arn_suffix
            )
            scaling.policies[f"requests-{color}"] = aws.appautoscaling.Policy(
                f"{name}-requests-{color}",
                name=limited(f"{physical}-requests-{color}", NAME_LIMIT),
                policy_type="TargetTrackingScaling",
                target_tracking_scaling_policy_configuration={
                    "predefined_metric_specification": {
                        "predefined_metric_type": "ALBRequestCountPerTarget",
                        "resource_label": label,
                    },
                    "target_value": autoscaling.requests_per_target,
                    "disable_scale_in": True,
                    "scale_out_cooldown": autoscaling.scale_out_cooldown,
                },
                **on_target,
                opts=child,
            )

    for action in autoscaling.scheduled:
        bounds = {}
        if action.min is not None:
            bounds["min_capacity"] = action.min
        if action.max is not None:
            bounds["max_capacity"] = action.max
        scaling.scheduled[action.name] = aws.appautoscaling.ScheduledAction(
            f"{name}-schedule-{action.name}",
            name=limited(f"{physical}-{action.name}", NAME_LIMIT),
            schedule=action.schedule,
            timezone=action.timezone,
            scalable_target_action=bounds,
            **on_target,
            opts=child,
        )
    return scaling

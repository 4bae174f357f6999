"""CodeDeploy's side of a blue/green service: how traffic shifts.

The application and its service role are shared by the fleet; every service
gets its own deployment group, naming its target group pair and the two
listener routes.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.naming import limited
from fleet.config import Deployment

# CodeDeploy's predefined ECS configurations, by (strategy, percent, interval).
PREDEFINED = {
    ("allAtOnce", None, None): "CodeDeployDefault.ECSAllAtOnce",
    ("canary", 10, 5): "CodeDeployDefault.ECSCanary10Percent5Minutes",
    ("canary", 10, 15): "CodeDeployDefault.ECSCanary10Percent15Minutes",
    ("linear", 10, 1): "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    ("linear", 10, 3): "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
}

ROLLBACK_EVENTS = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]

# AWS's managed policy for CodeDeploy on ECS: it may update services,
# modify listener rules and invoke the lifecycle hook functions.
ECS_MANAGED_POLICY = "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"


def predefined_config(deployment: Deployment) -> str | None:
    return PREDEFINED.get(
        (deployment.strategy, deployment.percent, deployment.interval)
    )


def custom_config_name(stack: str, deployment: Deployment) -> str:
    kind = "Canary" if deployment.strategy == "canary" else "Linear"
    shape = f"{kind}{deployment.percent}Percent{deployment.interval}Minutes"
    return f"ecs-fleet-{stack}-{shape}"


def traffic_routing(deployment: Deployment) -> dict:
    """Time-based routing for a strategy no predefined config covers."""
    if deployment.strategy == "canary":
        return {
            "type": "TimeBasedCanary",
            "time_based_canary": {
                "interval": deployment.interval,
                "percentage": deployment.percent,
            },
        }
    return {
        "type": "TimeBasedLinear",
        "time_based_linear": {
            "interval": deployment.interval,
            "percentage": deployment.percent,
        },
    }


def declare_application(prefix: str, stack: str, parent: pulumi.Resource):
    """The stack's CodeDeploy application and the role its groups use."""
    child = pulumi.ResourceOptions(parent=parent)
    app = aws.codedeploy.Application(
        f"{prefix}-codedeploy",
        name=limited(f"ecs-fleet-{stack}", 100),
        compute_platform="ECS",
        opts=child,
    )
    role = aws.iam.Role(
        f"{prefix}-codedeploy-role",
        name=limited(f"ecs-fleet-{stack}-codedeploy", 64),
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "codedeploy.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
        opts=child,
    )
    attachment = aws.iam.RolePolicyAttachment(
        f"{prefix}-codedeploy-role-ecs",
        role=role.name,
        policy_arn=ECS_MANAGED_POLICY,
        opts=child,
    )
    return app, role, attachment


def declare_deployment_configs(prefix, stack, deployments, parent) -> dict[str, str]:
    """One custom deployment config per distinct non-predefined strategy.

    Returns the config name per (strategy, percent, interval); predefined
    ones are included so callers look every strategy up the same way.
    """
    names: dict[tuple, pulumi.Input[str]] = {}
    for deployment in deployments:
        key = (deployment.strategy, deployment.percent, deployment.interval)
        if key in names:
            continue
        predefined = predefined_config(deployment)
        if predefined:
            names[key] = predefined
            continue
        name = custom_config_name(stack, deployment)
        config = aws.codedeploy.DeploymentConfig(
            f"{prefix}-{name.removeprefix(f'ecs-fleet-{stack}-').lower()}",
            deployment_config_name=name,
            compute_platform="ECS",
            traffic_routing_config=traffic_routing(deployment),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        names[key] = config.deployment_config_name
    return names

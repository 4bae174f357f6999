"""CodeDeploy in the program: deployment groups, strategies, deployments."""

from __future__ import annotations

import pytest

from fleet import config as stack_config
from tests.conftest import PROJECT_DIR, one_child

SERVICES = ["auth", "user", "product", "order"]
DEPLOYMENT_TYPE = "pulumi-python:dynamic/deployment:CodeDeployDeployment"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_blue_green_deployment_group_with_its_target_groups(
    service, shipped_plan
):
    plan = shipped_plan("prod")
    lb = stack_config.load(PROJECT_DIR, "prod").load_balancers["shop"]

    group = one_child(
        plan, "prod", service, "aws:codedeploy/deploymentGroup:DeploymentGroup"
    )

    inputs = group.inputs
    assert inputs["appName"] == "ecs-fleet-prod"
    assert inputs["deploymentStyle"] == {
        "deploymentOption": "WITH_TRAFFIC_CONTROL",
        "deploymentType": "BLUE_GREEN",
    }
    pair = inputs["loadBalancerInfo"]["targetGroupPairInfo"]
    assert pair["prodTrafficRoute"]["listenerArns"] == [lb.prod_listener_arn]
    assert pair["testTrafficRoute"]["listenerArns"] == [lb.test_listener_arn]
    assert [g["name"] for g in pair["targetGroups"]] == [
        f"prod-{service}-blue",
        f"prod-{service}-green",
    ]
    assert inputs["ecsService"] == {"clusterName": "shop-prod", "serviceName": service}
    rollback = inputs["autoRollbackConfiguration"]
    assert rollback["enabled"] is True
    assert set(rollback["events"]) == {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}
    terminate = inputs["blueGreenDeploymentConfig"][
        "terminateBlueInstancesOnDeploymentSuccess"
    ]
    assert terminate == {"action": "TERMINATE", "terminationWaitTimeInMinutes": 30}


@pytest.mark.parametrize(
    ("stack", "config_name"),
    [
        ("dev", "CodeDeployDefault.ECSAllAtOnce"),
        ("prod", "CodeDeployDefault.ECSCanary10Percent5Minutes"),
        ("staging", "ecs-fleet-staging-Linear50Percent1Minutes"),
    ],
)
def test_strategies_map_to_predefined_configs_or_a_custom_one(
    stack, config_name, shipped_plan
):
    plan = shipped_plan(stack)

    group = one_child(
        plan, stack, "order", "aws:codedeploy/deploymentGroup:DeploymentGroup"
    )

    assert group.inputs["deploymentConfigName"] == config_name


def test_a_strategy_without_a_predefined_config_gets_time_based_routing(shipped_plan):
    plan = shipped_plan("staging")

    (config,) = plan.of_type("aws:codedeploy/deploymentConfig:DeploymentConfig")

    assert config.inputs["computePlatform"] == "ECS"
    assert config.inputs["trafficRoutingConfig"] == {
        "type": "TimeBasedLinear",
        "timeBasedLinear": {"interval": 1, "percentage": 50},
    }


def test_prod_needs_no_custom_deployment_config(shipped_plan):
    plan = shipped_plan("prod")

    assert plan.of_type("aws:codedeploy/deploymentConfig:DeploymentConfig") == []


def test_the_codedeploy_role_carries_awss_managed_policy_for_ecs(shipped_plan):
    plan = shipped_plan("prod")

    (attachment,) = plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")

    assert attachment.inputs["policyArn"] == (
        "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_deployment_wired_to_its_task_definition_arn(
    service, shipped_plan
):
    plan = shipped_plan("prod")
    task = one_child(plan, "prod", service, "aws:ecs/taskDefinition:TaskDefinition")

    deployment = one_child(plan, "prod", service, DEPLOYMENT_TYPE)

    assert deployment.inputs["task_definition_arn"] == (
        f"arn:aws:ecs:eu-west-1:333333333333:task-definition/{task.inputs['family']}:1"
    )
    assert deployment.inputs["deployment_group"] == f"prod-{service}"
    assert deployment.inputs["ecs_service"] == service
    assert (
        deployment.inputs["container_name"],
        deployment.inputs["container_port"],
    ) == (
        "app",
        8080,
    )
    assert deployment.inputs["region"] == "eu-west-1"
    awsvpc = deployment.inputs["network_configuration"]["awsvpcConfiguration"]
    assert awsvpc["assignPublicIp"] == "DISABLED"


def test_lifecycle_hooks_named_in_the_service_folder_reach_the_deployment(
    shipped_plan,
):
    plan = shipped_plan("prod")

    order = one_child(plan, "prod", "order", DEPLOYMENT_TYPE)
    auth = one_child(plan, "prod", "auth", DEPLOYMENT_TYPE)

    assert order.inputs["hooks"] == {
        "AfterAllowTestTraffic": "shop-prod-order-smoke-test"
    }
    assert auth.inputs["hooks"] == {}

"""The Pulumi program under the SDK's mocks: each service's resources."""

from __future__ import annotations

import json

import pytest

from components.service import CODEDEPLOY_OWNED_SERVICE_FIELDS
from fleet import config as stack_config
from fleet import engine
from tests.conftest import PROJECT_DIR, children_of, one_child

SERVICES = ["auth", "user", "product", "order"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_one_task_definition_that_keeps_old_revisions(
    service, shipped_plan
):
    plan = shipped_plan("prod")

    task = one_child(plan, "prod", service, "aws:ecs/taskDefinition:TaskDefinition")

    assert task.inputs["family"] == f"prod-{service}"
    assert task.inputs["skipDestroy"] is True, f"{service}: old revisions would go"
    containers = json.loads(task.inputs["containerDefinitions"])
    assert [c["name"] for c in containers] == ["app", "sidecar"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_a_code_deploy_service_whose_deployed_fields_are_ignored(
    service, shipped_plan
):
    plan = shipped_plan("prod")
    config = stack_config.load(PROJECT_DIR, "prod")

    ecs = one_child(plan, "prod", service, "aws:ecs/service:Service")

    assert ecs.inputs["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert ecs.inputs["cluster"] == "shop-prod"
    for field in CODEDEPLOY_OWNED_SERVICE_FIELDS:
        assert field in ecs.options["ignoreChanges"], f"{service}: {field} not ignored"
    network = ecs.inputs["networkConfiguration"]
    assert network["subnets"] == list(config.network.subnets)
    assert network["securityGroups"] == list(config.network.security_groups)
    assert network["assignPublicIp"] is False


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_attached_to_its_blue_target_group(service, shipped_plan):
    plan = shipped_plan("prod")

    ecs = one_child(plan, "prod", service, "aws:ecs/service:Service")
    groups = children_of(plan, "prod", service, "aws:lb/targetGroup:TargetGroup")

    names = sorted(g.inputs["name"] for g in groups)
    assert names == [f"prod-{service}-blue", f"prod-{service}-green"]
    for group in groups:
        assert group.inputs["targetType"] == "ip"
        assert group.inputs["healthCheck"]["path"] == "/healthz"
        assert group.inputs["port"] == 8080
    (attached,) = ecs.inputs["loadBalancers"]
    assert f"targetgroup/prod-{service}-blue/" in attached["targetGroupArn"]
    assert (attached["containerName"], attached["containerPort"]) == ("app", 8080)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_rule_on_the_prod_and_the_test_listener(
    service, shipped_plan
):
    plan = shipped_plan("prod")
    lb = stack_config.load(PROJECT_DIR, "prod").load_balancers["shop"]

    rules = children_of(plan, "prod", service, "aws:lb/listenerRule:ListenerRule")

    assert sorted(r.inputs["listenerArn"] for r in rules) == sorted(
        [lb.prod_listener_arn, lb.test_listener_arn]
    )
    for rule in rules:
        assert rule.options["ignoreChanges"] == ["actions"]
        (condition,) = rule.inputs["conditions"]
        plural = {"user": "users", "product": "products", "order": "orders"}
        path = "/" + plural.get(service, service)
        assert condition["pathPattern"]["values"] == [path, f"{path}/*"]


def test_the_service_waits_for_its_listener_rules(shipped_plan):
    plan = shipped_plan("prod")

    ecs = one_child(plan, "prod", "order", "aws:ecs/service:Service")

    rules = children_of(plan, "prod", "order", "aws:lb/listenerRule:ListenerRule")
    assert sorted(ecs.options["dependsOn"]) == sorted(r.urn for r in rules)


@pytest.mark.parametrize(
    ("stack", "managed", "count"), [("dev", True, 1), ("prod", False, 3)]
)
def test_desired_count_is_managed_only_where_the_stack_sets_it(
    stack, managed, count, shipped_plan
):
    plan = shipped_plan(stack)

    ecs = one_child(plan, stack, "auth", "aws:ecs/service:Service")

    assert ecs.inputs["desiredCount"] == count
    assert ("desiredCount" not in ecs.options["ignoreChanges"]) is managed


def test_a_log_group_with_retention_exists_for_every_group_the_tasks_name(shipped_plan):
    plan = shipped_plan("prod")
    named = set()
    for task in plan.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        for container in json.loads(task.inputs["containerDefinitions"]):
            named.add(container["logConfiguration"]["options"]["awslogs-group"])

    groups = plan.of_type("aws:cloudwatch/logGroup:LogGroup")

    assert {g.inputs["name"] for g in groups} == named
    assert {g.inputs["retentionInDays"] for g in groups} == {90}


def test_every_resource_has_a_parent_and_a_prefixed_name(shipped_plan):
    plan = shipped_plan("prod")
    by_urn = {r.urn: r for r in plan.resources}

    for resource in plan.resources:
        if resource.type == "ecs-fleet:fleet:Fleet":
            assert resource.parent is None
            continue
        assert resource.parent in by_urn, f"{resource.name} has no parent component"
        parent = by_urn[resource.parent]
        assert resource.name.startswith(parent.name + "-"), resource.name


def test_components_use_one_type_token_scheme(shipped_plan):
    plan = shipped_plan("prod")

    components = {r.type for r in plan.resources if not r.custom}

    assert components, "no component resources"
    for type_ in components:
        assert type_.startswith("ecs-fleet:") and type_.count(":") == 2, type_


def test_stack_outputs_name_each_services_task_definition_and_target_groups(
    shipped_plan,
):
    plan = shipped_plan("prod")

    services = plan.outputs["services"]

    assert sorted(services) == sorted(SERVICES)
    order = services["order"]
    assert order["task_definition_arn"] == (
        "arn:aws:ecs:eu-west-1:333333333333:task-definition/prod-order:1"
    )
    assert order["service_name"] == "order"
    assert order["target_group_names"] == ["prod-order-blue", "prod-order-green"]


def test_under_pulumi_up_bad_input_stops_the_program_with_one_line_per_problem(
    project,
):
    raw = stack_config.read_stack_file(project, "prod")
    raw["ecs-fleet:services"]["order"]["autoscaling"] = {"min": 5, "max": 2}
    raw["ecs-fleet:services"]["user"]["desiredCuont"] = 2

    with pytest.raises(engine.ProgramError) as raised:
        engine.run_program(project, "prod", raw, [])

    lines = str(raised.value).splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("Pulumi.prod.yaml: service user: ")
    assert lines[1].startswith("Pulumi.prod.yaml: service order: ")
    assert "Traceback" not in str(raised.value)

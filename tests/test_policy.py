"""The policy pack: every rule on small synthetic resources, through the
policy SDK's own argument types, and the offline preview's verdict."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    StackValidationArgs,
)

from fleet import policy_check
from fleet.__main__ import main
from fleet.engine import Plan, PlannedResource
from fleet.errors import FleetError
from tests.conftest import PROJECT_DIR, edit_stack

RULES = policy_check.load_rules(PROJECT_DIR)

STACK = "prod"
PREFIX = f"urn:pulumi:{STACK}::ecs-fleet::"
FLEET_URN = f"{PREFIX}pulumi:pulumi:Stack$ecs-fleet:fleet:Fleet::{STACK}"
AUTH_URN = f"{PREFIX}ecs-fleet:fleet:Fleet$ecs-fleet:service:FleetService::prod-auth"
DIGEST = "@sha256:" + "ab" * 32
REPO = "444455556666.dkr.ecr.eu-west-1.amazonaws.com/shop/auth"
LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:333333333333:listener/app/shop/1/2"

TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
TARGET = "aws:appautoscaling/target:Target"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def app(**changes) -> dict:
    """An app container that every rule accepts; `None` removes a field."""
    container = {
        "name": "app",
        "image": REPO + DIGEST,
        "essential": True,
        "memory": 1792,
        "memoryReservation": 896,
        "healthCheck": {"command": ["CMD-SHELL", "curl -fsS localhost/healthz"]},
        "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/ecs/prod/auth"},
        },
        "environment": [{"name": "TOKEN_TTL_SECONDS", "value": "900"}],
        "readonlyRootFilesystem": True,
        "user": "10001",
    }
    container.update(changes)
    return {k: v for k, v in container.items() if v is not None}


def sidecar(**changes) -> dict:
    return app(
        name="sidecar",
        essential=False,
        healthCheck=None,
        ulimits=None,
        environment=None,
        **changes,
    )


def task(*containers, **props) -> dict:
    inputs = {
        "family": "prod-auth",
        "networkMode": "awsvpc",
        "executionRoleArn": "arn:aws:iam::333333333333:role/execution",
        "taskRoleArn": "arn:aws:iam::333333333333:role/auth-task",
        "containerDefinitions": json.dumps(list(containers or (app(), sidecar()))),
    }
    inputs.update(props)
    return {k: v for k, v in inputs.items() if v is not None}


def service(**props) -> dict:
    inputs = {
        "name": "auth",
        "launchType": "FARGATE",
        "platformVersion": "1.4.0",
        "deploymentController": {"type": "CODE_DEPLOY"},
        "networkConfiguration": {"assignPublicIp": False},
    }
    inputs.update(props)
    return {k: v for k, v in inputs.items() if v is not None}


def deployment_group(**props) -> dict:
    inputs = {
        "autoRollbackConfiguration": {
            "enabled": True,
            "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
        },
        "alarmConfiguration": {"enabled": True, "alarms": ["prod-auth-blue-5xx"]},
    }
    inputs.update(props)
    return inputs


def scalable_target(**props) -> dict:
    return {"serviceNamespace": "ecs", "minCapacity": 2, "maxCapacity": 10, **props}


def resource_violations(rule, type_, inputs, config=None) -> list[str]:
    """What one rule reports on one resource, run as the SDK runs it."""
    found: list[str] = []
    args = ResourceValidationArgs(
        type_,
        policy_check.policy_props(inputs),
        f"{PREFIX}ecs-fleet:service:FleetService${type_}::prod-auth-thing",
        "prod-auth-thing",
        policy_check.policy_options({"parent": AUTH_URN}),
        None,
        config or {},
    )

    RULES.BY_NAME[rule].validate(args, lambda message, urn=None: found.append(message))

    return found


RESOURCE_CASES = [
    # (rule, resource type, inputs, config, what a violation says or None)
    ("app-container-health-check", TASK, task(), None, None),
    (
        "app-container-health-check",
        TASK,
        task(app(healthCheck=None), sidecar()),
        None,
        "container app: has no healthCheck",
    ),
    ("app-container-nofile-ulimit", TASK, task(), None, None),
    (
        "app-container-nofile-ulimit",
        TASK,
        task(app(ulimits=None)),
        None,
        "container app: has no nofile ulimit",
    ),
    (
        "app-container-nofile-ulimit",
        TASK,
        task(app(ulimits=[{"name": "nofile", "softLimit": 1024, "hardLimit": 65536}])),
        None,
        "nofile softLimit 1024 is below 65536",
    ),
    ("memory-reservation-within-limit", TASK, task(), None, None),
    (
        "memory-reservation-within-limit",
        TASK,
        task(app(memoryReservation=4096)),
        None,
        "memoryReservation 4096 MiB is above its memory limit 1792 MiB",
    ),
    (
        "memory-reservation-within-limit",
        TASK,
        task(app(memoryReservation=None)),
        None,
        "container app: sets no memoryReservation",
    ),
    ("container-logging", TASK, task(), None, None),
    (
        "container-logging",
        TASK,
        task(app(), sidecar(logConfiguration=None)),
        None,
        "container sidecar: has no logConfiguration",
    ),
    (
        "container-logging",
        TASK,
        task(app(logConfiguration={"logDriver": "splunk"})),
        None,
        "container app: logs with splunk",
    ),
    ("essential-container", TASK, task(), None, None),
    (
        "essential-container",
        TASK,
        task(app(essential=False), sidecar()),
        None,
        "no container is essential",
    ),
    (
        "essential-container",
        TASK,
        task(containerDefinitions="[{not json"),
        None,
        "containerDefinitions is not valid JSON",
    ),
    ("codedeploy-deployment-controller", SERVICE, service(), None, None),
    (
        "codedeploy-deployment-controller",
        SERVICE,
        service(deploymentController={"type": "ECS"}),
        None,
        "deploymentController is ECS",
    ),
    (
        "codedeploy-deployment-controller",
        SERVICE,
        service(deploymentController=None),
        None,
        "deploymentController is ECS",
    ),
    ("codedeploy-auto-rollback", GROUP, deployment_group(), None, None),
    (
        "codedeploy-auto-rollback",
        GROUP,
        deployment_group(
            autoRollbackConfiguration={
                "enabled": True,
                "events": ["DEPLOYMENT_FAILURE"],
            }
        ),
        None,
        "does not roll back on DEPLOYMENT_STOP_ON_ALARM",
    ),
    (
        "codedeploy-auto-rollback",
        GROUP,
        deployment_group(autoRollbackConfiguration={"enabled": False}),
        None,
        "autoRollbackConfiguration is not enabled",
    ),
    (
        "codedeploy-auto-rollback",
        GROUP,
        deployment_group(alarmConfiguration={"enabled": True, "alarms": []}),
        None,
        "lists no enabled alarm",
    ),
    ("autoscaling-min-capacity", TARGET, scalable_target(), None, None),
    (
        "autoscaling-min-capacity",
        TARGET,
        scalable_target(minCapacity=1),
        None,
        "autoscaling min is 1, below 2",
    ),
    (
        "autoscaling-min-capacity",
        TARGET,
        scalable_target(minCapacity=1),
        {"minimum": 1},
        None,
    ),
    (
        "autoscaling-min-capacity",
        TARGET,
        scalable_target(serviceNamespace="dynamodb", minCapacity=1),
        None,
        None,
    ),
    ("image-pinned-by-digest", TASK, task(), None, None),
    (
        "image-pinned-by-digest",
        TASK,
        task(app(image=REPO + ":latest")),
        None,
        "container app: image " + REPO + ":latest is tagged latest",
    ),
    (
        "image-pinned-by-digest",
        TASK,
        task(app(image="registry.local:5000/shop/auth")),
        None,
        "is tagged latest",
    ),
    (
        "image-pinned-by-digest",
        TASK,
        task(app(image=REPO + ":1.9.0")),
        None,
        "is a tag, not a digest",
    ),
    (
        "image-pinned-by-digest",
        TASK,
        task(app(image=REPO + ":1.9.0")),
        {"allowTags": True},
        None,
    ),
    (
        "image-pinned-by-digest",
        TASK,
        task(app(image=REPO + ":latest")),
        {"allowTags": True},
        "is tagged latest",
    ),
    ("no-plaintext-secrets", TASK, task(), None, None),
    (
        "no-plaintext-secrets",
        TASK,
        task(app(environment=[{"name": "DB_PASSWORD", "value": "hunter2"}])),
        None,
        "environment DB_PASSWORD looks like a password in plain text",
    ),
    (
        "no-plaintext-secrets",
        TASK,
        task(app(environment=[{"name": "JWT_SIGNING_KEY", "value": "k"}])),
        None,
        "environment JWT_SIGNING_KEY looks like a signing key",
    ),
    (
        "no-plaintext-secrets",
        TASK,
        task(app(environment=[{"name": "UPSTREAM", "value": "AKIAABCDEFGHIJKLMNOP"}])),
        None,
        "environment UPSTREAM looks like an AWS access key id",
    ),
    (
        "no-plaintext-secrets",
        TASK,
        task(app(environment=[{"name": "DB_PASSWORD_ARN", "value": "arn:aws:..."}])),
        None,
        None,
    ),
    (
        "no-plaintext-secrets",
        TASK,
        task(app(environment=[{"name": "CACHE_KEY", "value": "v2"}])),
        None,
        None,
    ),
    (
        "no-plaintext-secrets",
        TASK,
        task(app(environment=[{"name": "CSRF_TOKEN", "value": "x"}])),
        {"allowedNames": ["CSRF_TOKEN"]},
        None,
    ),
    ("no-privileged-containers", TASK, task(), None, None),
    (
        "no-privileged-containers",
        TASK,
        task(app(privileged=True)),
        None,
        "container app: is privileged",
    ),
    ("separate-task-role", TASK, task(), None, None),
    (
        "separate-task-role",
        TASK,
        task(taskRoleArn="arn:aws:iam::333333333333:role/execution"),
        None,
        "taskRoleArn is the execution role",
    ),
    (
        "separate-task-role",
        TASK,
        task(taskRoleArn=None),
        None,
        "has no taskRoleArn",
    ),
    (
        "log-group-retention",
        LOG_GROUP,
        {"name": "/ecs/prod/auth", "retentionInDays": 90},
        None,
        None,
    ),
    (
        "log-group-retention",
        LOG_GROUP,
        {"name": "/ecs/prod/auth"},
        None,
        "log group /ecs/prod/auth keeps logs forever",
    ),
    ("read-only-root-filesystem", TASK, task(), None, None),
    (
        "read-only-root-filesystem",
        TASK,
        task(app(readonlyRootFilesystem=False)),
        None,
        "container app: root file system is writable",
    ),
    ("non-root-user", TASK, task(), None, None),
    (
        "non-root-user",
        TASK,
        task(app(user=None)),
        None,
        "container app: runs as no user (root)",
    ),
    ("non-root-user", TASK, task(app(user="0:0")), None, "runs as user 0:0"),
    ("no-host-network-mode", TASK, task(), None, None),
    (
        "no-host-network-mode",
        TASK,
        task(networkMode="host"),
        None,
        "networkMode is host",
    ),
    ("no-host-pid-namespace", TASK, task(), None, None),
    ("no-host-pid-namespace", TASK, task(pidMode="host"), None, "pidMode is host"),
    (
        "efs-transit-encryption",
        TASK,
        task(
            volumes=[
                {
                    "name": "data",
                    "efsVolumeConfiguration": {
                        "fileSystemId": "fs-1",
                        "transitEncryption": "ENABLED",
                    },
                }
            ]
        ),
        None,
        None,
    ),
    (
        "efs-transit-encryption",
        TASK,
        task(
            volumes=[{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "x"}}]
        ),
        None,
        "EFS volume data: transitEncryption is not ENABLED",
    ),
    ("no-public-ip", SERVICE, service(), None, None),
    (
        "no-public-ip",
        SERVICE,
        service(networkConfiguration={"assignPublicIp": True}),
        None,
        "assignPublicIp is true",
    ),
    ("fargate-platform-version", SERVICE, service(), None, None),
    (
        "fargate-platform-version",
        SERVICE,
        service(platformVersion="LATEST"),
        None,
        None,
    ),
    (
        "fargate-platform-version",
        SERVICE,
        service(platformVersion="1.3.0"),
        None,
        "platformVersion 1.3.0 is not the latest Fargate platform (1.4.0)",
    ),
]


def _case_id(case) -> str:
    rule, _, _, config, expected = case
    verdict = "fails" if expected else "passes"
    detail = (expected or "").split(":")[-1].strip()[:40]
    suffix = "-with-config" if config else ""
    return f"{rule}-{verdict}{suffix}" + (f"-{detail}" if detail else "")


@pytest.mark.parametrize(
    ("rule", "type_", "inputs", "config", "expected"),
    RESOURCE_CASES,
    ids=[_case_id(c) for c in RESOURCE_CASES],
)
def test_resource_rule_reports_exactly_what_is_wrong(
    rule, type_, inputs, config, expected
):
    found = resource_violations(rule, type_, inputs, config)

    if expected is None:
        assert found == [], f"{rule} should accept {inputs}"
    else:
        assert len(found) == 1, f"{rule} should report one violation: {found}"
        assert expected in found[0]


def test_a_rule_ignores_resources_of_other_types():
    found = resource_violations("no-public-ip", TASK, task())

    assert found == []


def test_a_plaintext_secret_is_named_but_its_value_never_printed():
    inputs = task(app(environment=[{"name": "DB_PASSWORD", "value": "hunter2"}]))

    found = resource_violations("no-plaintext-secrets", TASK, inputs)

    assert found and all("hunter2" not in message for message in found)


def test_every_resource_rule_has_a_passing_and_a_failing_case():
    resource_rules = {
        name
        for name, policy in RULES.BY_NAME.items()
        if policy.__class__.__name__ == "ResourceValidationPolicy"
    }

    passing = {c[0] for c in RESOURCE_CASES if c[4] is None}
    failing = {c[0] for c in RESOURCE_CASES if c[4] is not None}

    assert resource_rules - passing == set()
    assert resource_rules - failing == set()


# Stack-wide rules, on small plans of a service or two.


def planned(type_, name, inputs=None, parent=None) -> PlannedResource:
    parent_type = "ecs-fleet:fleet:Fleet"
    if parent and "FleetService::" in parent:
        parent_type = "ecs-fleet:service:FleetService"
    return PlannedResource(
        urn=f"{PREFIX}{parent_type}${type_}::{name}",
        type=type_,
        name=name,
        parent=parent,
        custom=not type_.startswith("ecs-fleet:"),
        inputs=inputs or {},
        options={"parent": parent},
    )


def fleet_service(name: str, *, alarms: int = 1, priority: int = 10) -> list:
    """A FleetService with its ECS service, listener rule and alarms."""
    component = PlannedResource(
        urn=f"{PREFIX}ecs-fleet:fleet:Fleet$ecs-fleet:service:FleetService::prod-{name}",
        type="ecs-fleet:service:FleetService",
        name=f"prod-{name}",
        parent=FLEET_URN,
        custom=False,
        inputs={},
        options={"parent": FLEET_URN},
    )
    children = [
        planned(SERVICE, f"prod-{name}-service", {"name": name}, component.urn),
        planned(
            "aws:lb/listenerRule:ListenerRule",
            f"prod-{name}-prod-rule",
            {"listenerArn": LISTENER, "priority": priority},
            component.urn,
        ),
    ]
    children += [
        planned(
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            f"prod-{name}-alarm-{i}",
            {"name": f"prod-{name}-{i}"},
            component.urn,
        )
        for i in range(alarms)
    ]
    return [component, *children]


def dashboard(*rows) -> PlannedResource:
    body = {"widgets": [{"type": "metric", "properties": {"metrics": list(rows)}}]}
    return planned(
        "aws:cloudwatch/dashboard:Dashboard",
        "prod-dashboard",
        {"dashboardName": "prod", "dashboardBody": json.dumps(body)},
        FLEET_URN,
    )


def cpu(service_name: str) -> list:
    return ["AWS/ECS", "CPUUtilization", "ServiceName", service_name]


def log_group(name: str) -> PlannedResource:
    return planned(LOG_GROUP, f"prod-logs{name}", {"name": name}, FLEET_URN)


def task_of(service_name: str, group: str) -> PlannedResource:
    container = app(
        logConfiguration={"logDriver": "awslogs", "options": {"awslogs-group": group}}
    )
    return planned(
        TASK,
        f"prod-{service_name}-task",
        task(container),
        f"{PREFIX}ecs-fleet:fleet:Fleet$ecs-fleet:service:FleetService::prod-{service_name}",
    )


def stack_violations(rule: str, resources: list) -> list[tuple[str, str | None]]:
    """What one stack rule reports on a plan, run as the SDK runs it."""
    plan = Plan(stack=STACK, resources=resources)
    args = StackValidationArgs(policy_check.stack_resources(plan), {})
    found: list[tuple[str, str | None]] = []

    RULES.BY_NAME[rule].validate(
        args, lambda message, urn=None: found.append((message, urn))
    )

    return [(message, policy_check.service_of(plan, urn)) for message, urn in found]


STACK_CASES = [
    # (rule, resources, (what a violation says, of which service) or None)
    (
        "service-dashboard-widgets",
        [*fleet_service("auth"), dashboard(cpu("auth"))],
        None,
    ),
    (
        "service-dashboard-widgets",
        [
            *fleet_service("auth"),
            *fleet_service("order", priority=20),
            dashboard(cpu("auth"), [".", "MemoryUtilization", ".", "order"]),
        ],
        None,
    ),
    (
        "service-dashboard-widgets",
        [
            *fleet_service("auth"),
            *fleet_service("order", priority=20),
            dashboard(cpu("auth")),
        ],
        ("no dashboard widget charts ServiceName order", "order"),
    ),
    (
        "service-dashboard-widgets",
        fleet_service("auth"),
        ("the stack has no CloudWatch dashboard", "auth"),
    ),
    ("service-alarms", fleet_service("auth", alarms=4), None),
    (
        "service-alarms",
        fleet_service("auth", alarms=0),
        ("has no CloudWatch metric alarm", "auth"),
    ),
    (
        "listener-rule-priority-unique",
        [*fleet_service("auth", priority=10), *fleet_service("order", priority=20)],
        None,
    ),
    (
        "listener-rule-priority-unique",
        [*fleet_service("auth", priority=10), *fleet_service("order", priority=10)],
        ("priority 10 is also prod-auth-prod-rule's (service auth)", "order"),
    ),
    (
        "awslogs-group-declared",
        [
            *fleet_service("auth"),
            log_group("/ecs/prod/auth"),
            task_of("auth", "/ecs/prod/auth"),
        ],
        None,
    ),
    (
        "awslogs-group-declared",
        [
            *fleet_service("auth"),
            log_group("/ecs/prod/auth"),
            task_of("auth", "/ecs/prod/missing"),
        ],
        ("awslogs-group /ecs/prod/missing is no log group of this stack", "auth"),
    ),
]


@pytest.mark.parametrize(
    ("rule", "resources", "expected"),
    STACK_CASES,
    ids=[
        f"{rule}-{'fails' if expected else 'passes'}-{i}"
        for i, (rule, _, expected) in enumerate(STACK_CASES)
    ],
)
def test_stack_rule_names_the_service_at_fault(rule, resources, expected):
    found = stack_violations(rule, resources)

    if expected is None:
        assert found == [], f"{rule} should accept the plan"
    else:
        message, service_name = expected
        assert len(found) == 1, f"{rule} should report one violation: {found}"
        assert message in found[0][0]
        assert found[0][1] == service_name


def test_every_stack_rule_has_a_passing_and_a_failing_case():
    stack_rules = {
        name
        for name, policy in RULES.BY_NAME.items()
        if policy.__class__.__name__ == "StackValidationPolicy"
    }

    passing = {c[0] for c in STACK_CASES if c[2] is None}
    failing = {c[0] for c in STACK_CASES if c[2] is not None}

    assert stack_rules - passing == set()
    assert stack_rules - failing == set()


# Enforcement levels per stack.


def _config(stack: str) -> dict:
    path = policy_check.config_path(PROJECT_DIR, stack)
    return policy_check.read_config(path, RULES.BY_NAME)


def test_prod_config_sets_the_level_of_every_rule():
    config = _config("prod")

    assert set(config) == set(RULES.BY_NAME)


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_no_rule_is_mandatory_outside_prod(stack):
    config = _config(stack)

    levels = {
        name: policy_check.enforcement(policy, config, RULES.PACK_ENFORCEMENT)
        for name, policy in RULES.BY_NAME.items()
    }

    assert EnforcementLevel.MANDATORY not in levels.values()


def test_a_rule_entry_overrides_all_which_overrides_the_rule_default():
    policy = RULES.BY_NAME["image-pinned-by-digest"]
    config = {
        "all": "disabled",
        "image-pinned-by-digest": {"enforcementLevel": "advisory"},
    }

    own = policy_check.enforcement(policy, config, RULES.PACK_ENFORCEMENT)
    other = policy_check.enforcement(
        RULES.BY_NAME["no-public-ip"], config, RULES.PACK_ENFORCEMENT
    )
    default = policy_check.enforcement(policy, {}, RULES.PACK_ENFORCEMENT)

    assert own == EnforcementLevel.ADVISORY
    assert other == EnforcementLevel.DISABLED
    assert default == EnforcementLevel.MANDATORY


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"no-such-rule": "mandatory"}, "no-such-rule: names no rule of the pack"),
        ({"no-public-ip": "fatal"}, "enforcementLevel 'fatal' is not one of"),
        (
            {"no-public-ip": {"enforcementLevel": "advisory", "minimum": 3}},
            "no-public-ip.minimum: is not a setting of this rule",
        ),
    ],
    ids=["unknown-rule", "unknown-level", "unknown-setting"],
)
def test_a_config_file_the_cli_would_refuse_is_refused(tmp_path, document, expected):
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(document))

    with pytest.raises(FleetError) as raised:
        policy_check.read_config(path, RULES.BY_NAME)

    assert expected in str(raised.value)


# The offline preview's verdict.


def preview(project: Path, stack: str, capsys) -> tuple[int, str, dict]:
    status = main(["--project", str(project), "preview", "--stack", stack, "--json"])
    captured = capsys.readouterr()
    return status, captured.err, json.loads(captured.out) if captured.out else {}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_stacks_report_no_mandatory_violation(stack, capsys):
    status, err, document = preview(PROJECT_DIR, stack, capsys)

    assert status == 0, err
    assert document["policy"]["mandatory"] == 0
    assert "mandatory:" not in err


def _edit_auth_task(project: Path, replace: str, by: str) -> None:
    path = project / "services" / "auth" / "task-def.jsonnet"
    text = path.read_text()
    assert replace in text, f"{path} no longer has {replace!r}"
    path.write_text(text.replace(replace, by))


def test_prod_preview_refuses_a_plaintext_db_password(project, capsys):
    _edit_auth_task(
        project,
        "environment={ TOKEN_TTL_SECONDS: 900 }",
        "environment={ TOKEN_TTL_SECONDS: 900, DB_PASSWORD: 'hunter2' }",
    )

    status, err, _ = preview(project, "prod", capsys)

    assert status == 2
    assert "mandatory: no-plaintext-secrets: service auth: container app: " in err
    assert "environment DB_PASSWORD" in err
    assert "hunter2" not in err


def test_prod_preview_refuses_an_app_container_without_health_check(project, capsys):
    path = project / "services" / "auth" / "task-def.jsonnet"
    path.write_text(
        path.read_text().rstrip().removesuffix(")")
        + """) + {
  containerDefinitions: [
    if c.name == 'app'
    then { [k]: c[k] for k in std.objectFields(c) if k != 'healthCheck' }
    else c
    for c in super.containerDefinitions
  ],
}
"""
    )

    status, err, _ = preview(project, "prod", capsys)

    assert status == 2
    assert "mandatory: app-container-health-check: service auth: container app" in err


def _latest_auth_image(config: dict) -> None:
    image = config["ecs-fleet:services"]["auth"]["image"]
    config["ecs-fleet:services"]["auth"]["image"] = image.split("@")[0] + ":latest"


def test_prod_preview_refuses_an_app_image_tagged_latest(project, capsys):
    # requireDigests refuses any tag while reading the stack config, before
    # the plan exists; without it the policy is what refuses `latest`.
    def change(config):
        _latest_auth_image(config)
        config.pop("ecs-fleet:requireDigests")

    edit_stack(project, "prod", change)

    status, err, _ = preview(project, "prod", capsys)

    assert status == 2
    assert "mandatory: image-pinned-by-digest: service auth: container app" in err
    assert "is tagged latest" in err


def test_with_require_digests_the_config_check_refuses_latest_first(project, capsys):
    edit_stack(project, "prod", _latest_auth_image)

    status, err, _ = preview(project, "prod", capsys)

    assert status == 2
    assert err.count("\n") == 1, err
    assert "Pulumi.prod.yaml: service auth: ecs-fleet:services.auth.image" in err
    assert "image-pinned-by-digest: " in err
    assert "not pinned by digest" in err


def test_the_json_document_carries_each_violation_with_its_service(project, capsys):
    _edit_auth_task(
        project,
        "environment={ TOKEN_TTL_SECONDS: 900 }",
        "environment={ TOKEN_TTL_SECONDS: 900, API_TOKEN: 'x' }",
    )

    status, _, document = preview(project, "staging", capsys)

    assert status == 0, "staging holds every rule advisory"
    [violation] = document["policy"]["violations"]
    assert violation["rule"] == "no-plaintext-secrets"
    assert violation["enforcement"] == "advisory"
    assert violation["service"] == "auth"
    assert violation["resource"] == "staging-auth-task"


# The pack as the CLI meets it: a gRPC analyzer.


@pytest.fixture
def served_pack():
    """policy/__main__.py running as the CLI starts it, as an AnalyzerStub."""
    import grpc
    from pulumi.runtime.proto import analyzer_pb2_grpc

    process = subprocess.Popen(
        [sys.executable, "-u", str(PROJECT_DIR / "policy" / "__main__.py")],
        cwd=PROJECT_DIR / "policy",
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = process.stdout.readline().strip()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _struct(inputs: dict):
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update(inputs)
    return struct


def _verdicts(diagnostics, urn: str | None) -> set[tuple]:
    """(rule, level, urn, message) of each diagnostic; the SDK puts the
    rule's description before the message."""
    from pulumi.runtime.proto import analyzer_pb2

    return {
        (
            d.policyName,
            "mandatory" if d.enforcementLevel == analyzer_pb2.MANDATORY else "advisory",
            d.urn or urn,
            d.message.split("\n", 1)[1],
        )
        for d in diagnostics
    }


def test_the_pack_served_over_grpc_gives_the_offline_verdict(served_pack, shipped_plan):
    from pulumi.runtime.proto import analyzer_pb2

    plan = copy.deepcopy(shipped_plan("prod"))
    task_definition = plan.by_name("prod-order-task")
    containers = json.loads(task_definition.inputs["containerDefinitions"])
    containers[0]["privileged"] = True
    task_definition.inputs["containerDefinitions"] = json.dumps(containers)
    plan.by_name("prod-user-prod-rule").inputs["priority"] = plan.by_name(
        "prod-auth-prod-rule"
    ).inputs["priority"]
    offline = policy_check.check_plan(plan, PROJECT_DIR)
    levels = {
        name: analyzer_pb2.PolicyConfig(
            enforcementLevel=getattr(analyzer_pb2, level.upper())
        )
        for name, level in offline.levels.items()
    }
    served_pack.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=levels))

    served = set()
    for r in plan.resources:
        options = analyzer_pb2.AnalyzerResourceOptions(parent=r.options["parent"])
        request = analyzer_pb2.AnalyzeRequest(
            type=r.type,
            properties=_struct(r.inputs),
            urn=r.urn,
            name=r.name,
            options=options,
        )
        # The engine files a resource rule's diagnostic under the resource.
        served |= _verdicts(served_pack.Analyze(request).diagnostics, r.urn)
    stack = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=r.type,
                properties=_struct(r.inputs),
                urn=r.urn,
                name=r.name,
                parent=r.parent or "",
                options=analyzer_pb2.AnalyzerResourceOptions(parent=r.parent or ""),
            )
            for r in plan.resources
        ]
    )
    served |= _verdicts(served_pack.AnalyzeStack(stack).diagnostics, None)

    expected = {(v.rule, v.enforcement, v.urn, v.message) for v in offline.violations}
    assert {v.rule for v in offline.mandatory} == {
        "no-privileged-containers",
        "listener-rule-priority-unique",
    }
    assert served == expected

"""ecs-fleet's policy rules, as the policy SDK's Policy objects.

The same objects serve the CLI (`policy/__main__.py` builds the PolicyPack
from them) and the offline preview (`fleet/policy_check.py` runs their
validate functions on the mock engine's plan). Only the policy SDK and the
standard library are imported here: the pack's own virtualenv has nothing
else.

Each rule's `enforcement_level` is its level in prod, the strictest stack,
so that a run without a config file fails closed; `config/<stack>.json`
sets the levels of each stack, prod's included, explicitly.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from ecs_fleet_policies import deploy, security, stack, tuning

PACK_NAME = "ecs-fleet"
# What a rule without a level of its own gets; every rule here sets one.
PACK_ENFORCEMENT = EnforcementLevel.ADVISORY

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY


def _resource(name, description, validate, level, severity, tags, **extra):
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=level,
        severity=severity,
        tags=tags,
        **extra,
    )


def _stack(name, description, validate, level, severity, tags, **extra):
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=level,
        severity=severity,
        tags=tags,
        **extra,
    )


def _number(description: str, default: float) -> dict:
    return {"type": "number", "description": description, "default": default}


POLICIES: list[Policy] = [
    # Tuning.
    _resource(
        "app-container-health-check",
        "The app container has a health check, so ECS replaces a task that "
        "stops answering.",
        tuning.app_container_health_check,
        MANDATORY,
        Severity.HIGH,
        ["tuning"],
    ),
    _resource(
        "app-container-nofile-ulimit",
        "The app container may open at least 65536 files (sockets included).",
        tuning.app_container_nofile_ulimit,
        MANDATORY,
        Severity.MEDIUM,
        ["tuning"],
        config_schema=PolicyConfigSchema(
            {"minimum": _number("the lowest nofile soft and hard limit", 65536)}
        ),
    ),
    _resource(
        "memory-reservation-within-limit",
        "The app container reserves memory, and no container reserves more "
        "than its limit.",
        tuning.memory_reservation_within_limit,
        MANDATORY,
        Severity.MEDIUM,
        ["tuning"],
    ),
    _resource(
        "container-logging",
        "Every container has a log configuration, and the app container logs "
        "to CloudWatch Logs with awslogs (Security Hub ECS.9).",
        tuning.container_logging,
        MANDATORY,
        Severity.MEDIUM,
        ["tuning", "securityhub:ECS.9"],
    ),
    _stack(
        "awslogs-group-declared",
        "Every awslogs group a container names is a log group of the stack.",
        stack.awslogs_group_declared,
        MANDATORY,
        Severity.MEDIUM,
        ["tuning"],
    ),
    _resource(
        "essential-container",
        "Every task definition has an essential container.",
        tuning.essential_container,
        MANDATORY,
        Severity.MEDIUM,
        ["tuning"],
    ),
    # Deploy safety.
    _resource(
        "codedeploy-deployment-controller",
        "Services deploy blue/green through CodeDeploy (the CODE_DEPLOY "
        "deployment controller).",
        deploy.codedeploy_deployment_controller,
        MANDATORY,
        Severity.HIGH,
        ["deploy-safety"],
    ),
    _resource(
        "codedeploy-auto-rollback",
        "Deployment groups roll back on failure and on alarm, and list the "
        "alarms that stop a deployment.",
        deploy.codedeploy_auto_rollback,
        MANDATORY,
        Severity.HIGH,
        ["deploy-safety"],
    ),
    _resource(
        "autoscaling-min-capacity",
        "A service's autoscaling minimum keeps at least 2 tasks running.",
        deploy.autoscaling_min_capacity,
        MANDATORY,
        Severity.HIGH,
        ["deploy-safety"],
        config_schema=PolicyConfigSchema(
            {"minimum": _number("the lowest autoscaling min capacity", 2)}
        ),
    ),
    _resource(
        "image-pinned-by-digest",
        "Container images are pinned by digest: a tag, `latest` above all, is refused.",
        deploy.image_pinned_by_digest,
        MANDATORY,
        Severity.HIGH,
        ["deploy-safety"],
        config_schema=PolicyConfigSchema(
            {
                "allowTags": {
                    "type": "boolean",
                    "description": "accept repo:tag images (latest still refused)",
                    "default": False,
                }
            }
        ),
    ),
    # Security.
    _resource(
        "no-plaintext-secrets",
        "No environment variable holds a password, token or key in plain text "
        "(Security Hub ECS.8).",
        security.no_plaintext_secrets,
        MANDATORY,
        Severity.CRITICAL,
        ["security", "securityhub:ECS.8"],
        config_schema=PolicyConfigSchema(
            {
                "allowedNames": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "variable names known not to hold secrets",
                    "default": [],
                }
            }
        ),
    ),
    _resource(
        "no-privileged-containers",
        "No container runs privileged (checkov CKV_AWS_334, Security Hub ECS.4).",
        security.no_privileged_containers,
        MANDATORY,
        Severity.CRITICAL,
        ["security", "checkov:CKV_AWS_334", "securityhub:ECS.4"],
    ),
    _resource(
        "separate-task-role",
        "A task has a task role of its own, apart from its execution role "
        "(checkov CKV_AWS_249).",
        security.separate_task_role,
        MANDATORY,
        Severity.HIGH,
        ["security", "checkov:CKV_AWS_249"],
    ),
    _resource(
        "log-group-retention",
        "Every log group sets a retention period (checkov CKV_AWS_66).",
        security.log_group_retention,
        MANDATORY,
        Severity.LOW,
        ["security", "checkov:CKV_AWS_66"],
    ),
    _resource(
        "read-only-root-filesystem",
        "Containers run with a read-only root file system (checkov CKV_AWS_336, "
        "Security Hub ECS.5).",
        security.read_only_root_filesystem,
        ADVISORY,
        Severity.MEDIUM,
        ["security", "checkov:CKV_AWS_336", "securityhub:ECS.5"],
    ),
    _resource(
        "non-root-user",
        "Containers run as a user other than root (Security Hub ECS.20).",
        security.non_root_user,
        ADVISORY,
        Severity.MEDIUM,
        ["security", "securityhub:ECS.20"],
    ),
    _resource(
        "no-host-network-mode",
        "Task definitions do not use the host network mode (Security Hub ECS.17).",
        security.no_host_network_mode,
        MANDATORY,
        Severity.HIGH,
        ["security", "securityhub:ECS.17"],
    ),
    _resource(
        "no-host-pid-namespace",
        "Task definitions do not share the host's process namespace (checkov "
        "CKV_AWS_335, Security Hub ECS.3).",
        security.no_host_pid_namespace,
        MANDATORY,
        Severity.HIGH,
        ["security", "checkov:CKV_AWS_335", "securityhub:ECS.3"],
    ),
    _resource(
        "efs-transit-encryption",
        "EFS volumes of task definitions encrypt data in transit (checkov "
        "CKV_AWS_97, Security Hub ECS.18).",
        security.efs_transit_encryption,
        MANDATORY,
        Severity.MEDIUM,
        ["security", "checkov:CKV_AWS_97", "securityhub:ECS.18"],
    ),
    _resource(
        "no-public-ip",
        "Services do not assign public IP addresses to their tasks (checkov "
        "CKV_AWS_333, Security Hub ECS.2).",
        security.no_public_ip,
        MANDATORY,
        Severity.HIGH,
        ["security", "checkov:CKV_AWS_333", "securityhub:ECS.2"],
    ),
    _resource(
        "fargate-platform-version",
        "Fargate services run on the latest platform version (checkov "
        "CKV_AWS_332, Security Hub ECS.10).",
        security.fargate_platform_version,
        ADVISORY,
        Severity.MEDIUM,
        ["security", "checkov:CKV_AWS_332", "securityhub:ECS.10"],
        config_schema=PolicyConfigSchema(
            {
                "latest": {
                    "type": "string",
                    "description": "the newest Fargate Linux platform version",
                    "default": security.LATEST_FARGATE_LINUX,
                }
            }
        ),
    ),
    # Stack-wide.
    _stack(
        "service-dashboard-widgets",
        "The CloudWatch dashboard charts every service (its ServiceName).",
        stack.service_dashboard_widgets,
        MANDATORY,
        Severity.MEDIUM,
        ["observability"],
    ),
    _stack(
        "service-alarms",
        "Every service has CloudWatch metric alarms.",
        stack.service_alarms,
        MANDATORY,
        Severity.HIGH,
        ["observability", "deploy-safety"],
    ),
    _stack(
        "listener-rule-priority-unique",
        "No two rules of one load balancer listener share a priority.",
        stack.listener_rule_priority_unique,
        MANDATORY,
        Severity.HIGH,
        ["deploy-safety"],
    ),
]

BY_NAME: dict[str, Policy] = {policy.name: policy for policy in POLICIES}

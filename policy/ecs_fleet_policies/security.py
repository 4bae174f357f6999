"""Security: secrets, privileges, roles, logs, and the ECS checks of checkov
and of AWS Security Hub that apply to task definitions and services."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ecs_fleet_policies.props import (
    ECS_SERVICE,
    LOG_GROUP,
    TASK_DEFINITION,
    container_label,
    items,
    mapping,
    number,
    on_task_definition,
    on_type,
)

# Names whose last word says the value is a secret (DB_PASSWORD, API_TOKEN);
# TOKEN_TTL_SECONDS ends in SECONDS and is a number of seconds.
_SECRET_LAST_WORDS = {
    "PASSWORD",
    "PASSWD",
    "PWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "CREDENTIAL",
    "CREDENTIALS",
    "APIKEY",
}
# KEY alone is too common (CACHE_KEY, SORT_KEY): only these kinds are keys.
_SECRET_KEY_KINDS = {
    "API",
    "ACCESS",
    "SECRET",
    "PRIVATE",
    "SIGNING",
    "ENCRYPTION",
    "MASTER",
    "CLIENT",
    "AUTH",
    "LICENSE",
}
# Words that make a name a pointer to a secret rather than the secret:
# DB_PASSWORD_ARN, CLIENT_SECRET_ID, DB_PASSWORD_FILE.
_POINTER_WORDS = {"ARN", "ID", "NAME", "PATH", "FILE", "PARAMETER", "REF"}
# The names Security Hub's ECS.8 looks for, whatever their last word.
_KNOWN_SECRET_NAMES = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "ECS_ENGINE_AUTH_DATA",
}
_SECRET_VALUES = (
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_)")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Stripe key", re.compile(r"\b[rs]k_live_[A-Za-z0-9]{16,}")),
    (
        "a JSON Web Token",
        re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"),
    ),
    ("a URL with a password", re.compile(r"://[^/\s:@]+:[^/\s@]+@")),
)


def secret_name_kind(name: str) -> str | None:
    """What an environment variable's name says it holds, if a secret."""
    upper = name.upper()
    if upper in _KNOWN_SECRET_NAMES:
        return "an AWS credential"
    words = [w for w in re.split(r"[^A-Z0-9]+", upper) if w]
    if not words or words[-1] in _POINTER_WORDS:
        return None
    last = words[-1]
    if last in _SECRET_LAST_WORDS:
        return f"a {last.lower()}"
    if last == "KEY" and len(words) > 1 and words[-2] in _SECRET_KEY_KINDS:
        return f"a {words[-2].lower()} key"
    if {"PASSWORD", "PASSWD", "SECRET"} & set(words):
        return "a secret"
    return None


def secret_value_kind(value: str) -> str | None:
    for kind, pattern in _SECRET_VALUES:
        if pattern.search(value):
            return kind
    return None


@on_task_definition()
def no_plaintext_secrets(
    args: ResourceValidationArgs,
    containers: list[Mapping[str, Any]],
    report: ReportViolation,
) -> None:
    allowed = {str(n) for n in items(args.get_config().get("allowedNames"))}
    for container in containers:
        for variable in items(container.get("environment")):
            name = str(mapping(variable).get("name") or "")
            if name in allowed:
                continue
            value = mapping(variable).get("value")
            kind = secret_name_kind(name) or (
                secret_value_kind(value) if isinstance(value, str) else None
            )
            if kind:
                # Never echo the value: this line ends up in CI logs.
                report(
                    f"{container_label(container)}: environment {name} looks like "
                    f"{kind} in plain text, readable by anyone who can describe "
                    "the task definition; move it to `secrets` with valueFrom an "
                    "SSM parameter or a Secrets Manager ARN (base.libsonnet's "
                    "secrets_from)"
                )


@on_task_definition()
def no_privileged_containers(
    args: ResourceValidationArgs,
    containers: list[Mapping[str, Any]],
    report: ReportViolation,
) -> None:
    for container in containers:
        if container.get("privileged") is True:
            report(
                f"{container_label(container)}: is privileged, root on the host "
                "in all but name; remove privileged (Fargate refuses it anyway)"
            )


@on_type(TASK_DEFINITION)
def separate_task_role(args: ResourceValidationArgs, report: ReportViolation) -> None:
    task_role = args.props.get("taskRoleArn")
    execution_role = args.props.get("executionRoleArn")
    if not task_role:
        report(
            "has no taskRoleArn: give the app a role of its own (vars.taskRoleArn "
            "in the stack config), apart from the execution role"
        )
    elif task_role == execution_role:
        report(
            f"taskRoleArn is the execution role {execution_role}: the app could "
            "pull any image and read every secret that role may; give it a role "
            "of its own"
        )


@on_type(LOG_GROUP)
def log_group_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    days = number(args.props.get("retentionInDays"))
    if not days:
        report(
            f"log group {args.props.get('name') or args.name} keeps logs forever "
            "(no retentionInDays); set ecs-fleet:logRetentionDays in the stack config"
        )


@on_task_definition()
def read_only_root_filesystem(
    args: ResourceValidationArgs,
    containers: list[Mapping[str, Any]],
    report: ReportViolation,
) -> None:
    for container in containers:
        if container.get("readonlyRootFilesystem") is not True:
            report(
                f"{container_label(container)}: root file system is writable; set "
                "readonlyRootFilesystem: true and mount a volume where it writes"
            )


def _is_root(user: Any) -> bool:
    if user is None or user == "":
        return True
    name = str(user).split(":", 1)[0].strip()
    return name in ("root", "0")


@on_task_definition()
def non_root_user(
    args: ResourceValidationArgs,
    containers: list[Mapping[str, Any]],
    report: ReportViolation,
) -> None:
    for container in containers:
        user = container.get("user")
        if _is_root(user):
            shown = "no user (root)" if not user else f"user {user}"
            report(
                f"{container_label(container)}: runs as {shown}; set user to a "
                "non-zero uid such as 10001"
            )


@on_type(TASK_DEFINITION)
def no_host_network_mode(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("networkMode") == "host":
        report(
            "networkMode is host: the containers share the host's network stack "
            "and ports; use awsvpc"
        )


@on_type(TASK_DEFINITION)
def no_host_pid_namespace(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("pidMode") == "host":
        report(
            "pidMode is host: the containers see, and may signal, every process "
            "on the host; remove pidMode"
        )


@on_type(TASK_DEFINITION)
def efs_transit_encryption(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for volume in items(args.props.get("volumes")):
        efs = mapping(mapping(volume).get("efsVolumeConfiguration"))
        if efs and efs.get("transitEncryption") != "ENABLED":
            report(
                f"EFS volume {mapping(volume).get('name')}: transitEncryption is "
                "not ENABLED, so file data crosses the network in clear text"
            )


@on_type(ECS_SERVICE)
def no_public_ip(args: ResourceValidationArgs, report: ReportViolation) -> None:
    network = mapping(args.props.get("networkConfiguration"))
    if network.get("assignPublicIp") is True:
        report(
            "assignPublicIp is true: every task is reachable from the internet "
            "past the load balancer; run the tasks in private subnets "
            "(network.assignPublicIp: false)"
        )


# Fargate's newest Linux platform version; LATEST resolves to it.
LATEST_FARGATE_LINUX = "1.4.0"


@on_type(ECS_SERVICE)
def fargate_platform_version(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("launchType") != "FARGATE":
        return
    latest = args.get_config().get("latest", LATEST_FARGATE_LINUX)
    version = args.props.get("platformVersion")
    if version and version not in ("LATEST", latest):
        report(
            f"platformVersion {version} is not the latest Fargate platform "
            f"({latest}); older ones miss kernel and runtime fixes"
        )

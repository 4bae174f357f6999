"""Reading resource properties the way the policy SDK hands them over.

Under the CLI the SDK wraps properties in read-only proxies: mappings and
sequences, never `dict` or `list`, that raise `UnknownValueError` when a
value is not known during preview; and every number arrives as a float,
because the wire format has only doubles. The helpers here accept exactly
that, and the offline runner builds the same proxies, so a rule behaves
the same in both places.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
DEPLOYMENT_GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FLEET_SERVICE = "ecs-fleet:service:FleetService"

# The container that serves the service's traffic, in every task definition.
APP_CONTAINER = "app"


def is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def mapping(value: Any) -> Mapping[str, Any]:
    return value if is_mapping(value) else {}


def items(value: Any) -> list[Any]:
    return list(value) if is_list(value) else []


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def show(value: Any) -> str:
    """A number as a person wrote it: 65536, not 65536.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def container_definitions(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The containers of a task definition.

    pulumi-aws takes `containerDefinitions` as one JSON string, the shape
    `aws ecs register-task-definition` reads; raises ValueError when it is
    not a JSON list.
    """
    raw = props.get("containerDefinitions")
    if raw is None:
        return []
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise ValueError("containerDefinitions is not valid JSON") from None
    if not is_list(parsed):
        raise ValueError("containerDefinitions is not a JSON list")
    return [c for c in parsed if is_mapping(c)]


def container_label(container: Mapping[str, Any]) -> str:
    return f"container {container.get('name') or '(unnamed)'}"


TaskCheck = Callable[
    [ResourceValidationArgs, list[Mapping[str, Any]], ReportViolation], None
]
ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]


def on_type(resource_type: str) -> Callable[[ResourceCheck], ResourceCheck]:
    """Run a resource check on one resource type only."""

    def wrap(check: ResourceCheck) -> ResourceCheck:
        @functools.wraps(check)
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if args.resource_type == resource_type:
                check(args, report)

        return validate

    return wrap


def on_task_definition(*, report_invalid: bool = False):
    """Run a check on task definitions, with their containers parsed.

    Only one rule reports a containerDefinitions that is not JSON: one line
    for one mistake, not one per rule.
    """

    def wrap(check: TaskCheck) -> ResourceCheck:
        @functools.wraps(check)
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if args.resource_type != TASK_DEFINITION:
                return
            try:
                containers = container_definitions(args.props)
            except ValueError as err:
                if report_invalid:
                    report(f"{err}: ECS would refuse to register it")
                return
            check(args, containers, report)

        return validate

    return wrap


def urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def urn_type(urn: str) -> str:
    """The resource's own type: the last of the URN's parent$child chain."""
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""


def urn_stack(urn: str) -> str:
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


def service_of_component(urn: str) -> str:
    """`prod-auth`, a FleetService of stack prod, is service `auth`."""
    return urn_name(urn).removeprefix(urn_stack(urn) + "-")

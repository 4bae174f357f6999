"""Stack-wide rules: what only the whole plan shows."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from ecs_fleet_policies.props import (
    DASHBOARD,
    ECS_SERVICE,
    FLEET_SERVICE,
    LISTENER_RULE,
    LOG_GROUP,
    METRIC_ALARM,
    TASK_DEFINITION,
    container_definitions,
    container_label,
    is_list,
    is_mapping,
    mapping,
    service_of_component,
    show,
)


def fleet_service_of(resource: PolicyResource) -> PolicyResource | None:
    """The FleetService component a resource belongs to, at any depth."""
    node: PolicyResource | None = resource
    while node is not None:
        if node.resource_type == FLEET_SERVICE:
            return node
        node = node.parent
    return None


def fleet_services(resources: Iterable[PolicyResource]) -> dict[str, str]:
    """Every FleetService's URN, with the ECS service name it runs."""
    names = {
        r.urn: service_of_component(r.urn)
        for r in resources
        if r.resource_type == FLEET_SERVICE
    }
    for resource in resources:
        if resource.resource_type != ECS_SERVICE:
            continue
        component = fleet_service_of(resource)
        name = resource.props.get("name")
        if component is not None and isinstance(name, str) and name:
            names[component.urn] = name
    return names


_SEARCH_SERVICE = re.compile(r"ServiceName\s*=\s*\"?([\w.-]+)\"?")


def dashboard_service_names(body: Any) -> set[str]:
    """Every ServiceName a dashboard's widgets chart.

    A metric row is `[namespace, metric, "ServiceName", "auth", ...]`, where
    "." repeats the row above; a SEARCH expression names it as
    `ServiceName="auth"`.
    """
    names: set[str] = set()
    try:
        document = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        document = body

    def walk(value: Any) -> None:
        if is_mapping(value):
            for key, inner in value.items():
                if key == "ServiceName" and isinstance(inner, str):
                    names.add(inner)
                walk(inner)
        elif is_list(value):
            previous: list[Any] = []
            for row in value:
                if is_list(row) and not any(is_list(x) for x in row):
                    resolved = [
                        previous[i] if x == "." and i < len(previous) else x
                        for i, x in enumerate(row)
                    ]
                    for i, x in enumerate(resolved[:-1]):
                        if x == "ServiceName" and isinstance(resolved[i + 1], str):
                            names.add(resolved[i + 1])
                    previous = resolved
                walk(row)
        elif isinstance(value, str):
            names.update(_SEARCH_SERVICE.findall(value))

    walk(document)
    return names


def service_dashboard_widgets(args: StackValidationArgs, report: ReportViolation):
    dashboards = [r for r in args.resources if r.resource_type == DASHBOARD]
    charted: set[str] = set()
    for dashboard in dashboards:
        charted |= dashboard_service_names(dashboard.props.get("dashboardBody"))
    for urn, name in sorted(fleet_services(args.resources).items()):
        if name in charted:
            continue
        if dashboards:
            report(
                f"no dashboard widget charts ServiceName {name}; the on-call "
                "cannot see it: add the service's widgets to the dashboard",
                urn,
            )
        else:
            report(
                f"the stack has no CloudWatch dashboard, so nothing charts "
                f"ServiceName {name}",
                urn,
            )


def service_alarms(args: StackValidationArgs, report: ReportViolation) -> None:
    counts = dict.fromkeys(fleet_services(args.resources), 0)
    for resource in args.resources:
        if resource.resource_type != METRIC_ALARM:
            continue
        component = fleet_service_of(resource)
        if component is not None and component.urn in counts:
            counts[component.urn] += 1
    for urn, count in sorted(counts.items()):
        if count == 0:
            report(
                "has no CloudWatch metric alarm: nothing pages on its errors "
                "and nothing stops a failing deployment",
                urn,
            )


def listener_rule_priority_unique(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    seen: dict[tuple[str, float], PolicyResource] = {}
    for rule in args.resources:
        if rule.resource_type != LISTENER_RULE:
            continue
        listener = rule.props.get("listenerArn")
        priority = rule.props.get("priority")
        # A rule without a priority gets the next free one from the ALB.
        if priority is None or not isinstance(listener, str):
            continue
        key = (listener, float(priority))
        first = seen.setdefault(key, rule)
        if first is rule:
            continue
        other = fleet_service_of(first)
        owner = f" (service {service_of_component(other.urn)})" if other else ""
        report(
            f"listener rule priority {show(priority)} is also {first.name}'s"
            f"{owner} on listener {listener}; the ALB refuses a second rule at "
            "one priority: give this service's listenerRule another priority",
            rule.urn,
        )


def awslogs_group_declared(args: StackValidationArgs, report: ReportViolation):
    declared = {
        r.props.get("name") for r in args.resources if r.resource_type == LOG_GROUP
    }
    for task in args.resources:
        if task.resource_type != TASK_DEFINITION:
            continue
        try:
            containers = container_definitions(task.props)
        except ValueError:
            continue  # essential-container reports it
        for container in containers:
            log = mapping(container.get("logConfiguration"))
            group = mapping(log.get("options")).get("awslogs-group")
            if log.get("logDriver") != "awslogs" or not group:
                continue
            if group not in declared:
                report(
                    f"{container_label(container)}: awslogs-group {group} is no "
                    "log group of this stack: the task fails to start without "
                    "it, and one that ECS creates keeps logs forever",
                    task.urn,
                )

"""The plan as a person reads it: a tree, then counts per resource type."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, TextIO

from fleet.engine import Plan, PlannedResource

# The inputs worth a glance, per resource type; `--inputs` shows them all.
SUMMARY_INPUTS = {
    "pulumi-python:dynamic/deployment:CodeDeployDeployment": (
        "deployment_group",
        "task_definition_arn",
    ),
    "aws:ecs/taskDefinition:TaskDefinition": ("family", "cpu", "memory"),
    "aws:ecs/service:Service": (
        "name",
        "cluster",
        "desiredCount",
        "deploymentController",
    ),
    "aws:lb/targetGroup:TargetGroup": ("name", "port", "targetType"),
    "aws:lb/listenerRule:ListenerRule": ("priority", "conditions"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "aws:codedeploy/application:Application": ("name", "computePlatform"),
    "aws:codedeploy/deploymentGroup:DeploymentGroup": (
        "deploymentGroupName",
        "deploymentConfigName",
    ),
    "aws:codedeploy/deploymentConfig:DeploymentConfig": ("deploymentConfigName",),
    "aws:iam/role:Role": ("name",),
    "aws:appautoscaling/target:Target": ("resourceId", "minCapacity", "maxCapacity"),
    "aws:appautoscaling/policy:Policy": ("name", "policyType"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", "metricName", "threshold"),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName",),
}


def short_type(type_: str) -> str:
    """`aws:ecs/service:Service` reads as `aws:ecs:Service`."""
    parts = type_.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        return f"{parts[0]}:{parts[1].split('/')[0]}:{parts[2]}"
    return type_


def _compact(value: Any, limit: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _option_notes(resource: PlannedResource) -> list[str]:
    notes = []
    options = resource.options
    if options.get("ignoreChanges"):
        notes.append("ignoreChanges=" + ",".join(options["ignoreChanges"]))
    if options.get("protect"):
        notes.append("protect")
    if options.get("dependsOn"):
        names = [urn.rsplit("::", 1)[-1] for urn in options["dependsOn"]]
        notes.append("dependsOn=" + ",".join(names))
    if options.get("retainOnDelete"):
        notes.append("retainOnDelete")
    return notes


def print_tree(plan: Plan, out: TextIO, *, all_inputs: bool = False) -> None:
    out.write(f"Plan of stack {plan.stack} (offline, under the Pulumi SDK's mocks)\n")
    by_parent: dict[str | None, list[PlannedResource]] = {}
    for resource in plan.resources:
        by_parent.setdefault(resource.parent, []).append(resource)

    def walk(parent: str | None, indent: str) -> None:
        children = sorted(
            by_parent.get(parent, []), key=lambda r: (r.custom, r.type, r.name)
        )
        for i, resource in enumerate(children):
            last = i == len(children) - 1
            branch = "└─ " if last else "├─ "
            out.write(f"{indent}{branch}{short_type(resource.type)}  {resource.name}\n")
            inner = indent + ("   " if last else "│  ")
            keys = (
                resource.inputs if all_inputs else SUMMARY_INPUTS.get(resource.type, ())
            )
            details = [
                f"{k}={_compact(resource.inputs[k], 10_000 if all_inputs else 70)}"
                for k in keys
                if k in resource.inputs and k != "__provider"
            ]
            details += _option_notes(resource)
            for detail in details:
                out.write(f"{inner}   {detail}\n")
            walk(resource.urn, inner)

    walk(None, "")
    counts = Counter(short_type(r.type) for r in plan.resources)
    out.write(f"\n{len(plan.resources)} resources:\n")
    for type_, count in sorted(counts.items()):
        out.write(f"  {count:5d}  {type_}\n")


def print_json(plan: Plan, out: TextIO, extra: dict[str, Any] | None = None) -> None:
    document = plan.to_json()
    document["resources"].sort(key=lambda r: r["urn"])
    if extra:
        document.update(extra)
    json.dump(document, out, indent=2, sort_keys=False)
    out.write("\n")

"""Rendered ECS definitions (the API's camelCase JSON) as pulumi-aws args."""

from __future__ import annotations

import json
import re
from typing import Any

# Maps whose keys are the user's data, not field names: never re-cased.
_OPAQUE_MAPS = {"driverOpts", "labels", "options", "dockerLabels", "systemControls"}


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def snake_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            snake(k): (v if k in _OPAQUE_MAPS else snake_keys(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [snake_keys(v) for v in value]
    return value


def tags_map(tags: list[dict[str, str]] | None) -> dict[str, str] | None:
    if not tags:
        return None
    return {t["key"]: t["value"] for t in tags}


def task_definition_args(task: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of `aws.ecs.TaskDefinition` for a rendered task."""
    args: dict[str, Any] = {
        "family": task["family"],
        # The provider takes the container definitions as the API's JSON.
        "container_definitions": json.dumps(
            task["containerDefinitions"], sort_keys=True
        ),
    }
    direct = (
        "cpu",
        "memory",
        "networkMode",
        "requiresCompatibilities",
        "executionRoleArn",
        "taskRoleArn",
        "ipcMode",
        "pidMode",
        "enableFaultInjection",
    )
    for key in direct:
        if task.get(key) not in (None, [], ""):
            args[snake(key)] = task[key]
    for key in ("cpu", "memory"):
        if key in args:
            args[key] = str(args[key])
    if task.get("runtimePlatform"):
        args["runtime_platform"] = snake_keys(task["runtimePlatform"])
    if task.get("ephemeralStorage"):
        args["ephemeral_storage"] = snake_keys(task["ephemeralStorage"])
    if task.get("placementConstraints"):
        args["placement_constraints"] = snake_keys(task["placementConstraints"])
    if task.get("proxyConfiguration"):
        proxy = task["proxyConfiguration"]
        args["proxy_configuration"] = {
            "type": proxy.get("type", "APPMESH"),
            "container_name": proxy["containerName"],
            "properties": {p["name"]: p["value"] for p in proxy.get("properties", [])},
        }
    if task.get("volumes"):
        args["volumes"] = [_volume(v) for v in task["volumes"]]
    if tags_map(task.get("tags")):
        args["tags"] = tags_map(task["tags"])
    return args


def _volume(volume: dict[str, Any]) -> dict[str, Any]:
    result = snake_keys({k: v for k, v in volume.items() if k != "host"})
    source = (volume.get("host") or {}).get("sourcePath")
    if source:
        result["host_path"] = source
    return result


def service_args(service_def: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of `aws.ecs.Service` from a rendered definition.

    The load balancer, network configuration and task definition are left
    to the caller, which knows the target groups and the stack's network.
    """
    args: dict[str, Any] = {}
    direct = {
        "launchType": "launch_type",
        "platformVersion": "platform_version",
        "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
        "enableECSManagedTags": "enable_ecs_managed_tags",
        "enableExecuteCommand": "enable_execute_command",
        "propagateTags": "propagate_tags",
        "schedulingStrategy": "scheduling_strategy",
        "availabilityZoneRebalancing": "availability_zone_rebalancing",
    }
    for key, arg in direct.items():
        if service_def.get(key) is not None:
            args[arg] = service_def[key]
    if service_def.get("capacityProviderStrategy"):
        args["capacity_provider_strategies"] = snake_keys(
            service_def["capacityProviderStrategy"]
        )
    if service_def.get("placementConstraints"):
        args["placement_constraints"] = snake_keys(service_def["placementConstraints"])
    if service_def.get("placementStrategy"):
        args["ordered_placement_strategies"] = snake_keys(
            service_def["placementStrategy"]
        )
    registries = service_def.get("serviceRegistries") or []
    if registries:
        args["service_registries"] = {
            "registry_arn": registries[0]["registryArn"],
            **snake_keys(
                {k: v for k, v in registries[0].items() if k != "registryArn"}
            ),
        }
    deployment = service_def.get("deploymentConfiguration") or {}
    if "minimumHealthyPercent" in deployment:
        args["deployment_minimum_healthy_percent"] = deployment["minimumHealthyPercent"]
    if "maximumPercent" in deployment:
        args["deployment_maximum_percent"] = deployment["maximumPercent"]
    if tags_map(service_def.get("tags")):
        args["tags"] = tags_map(service_def["tags"])
    return args


def network_configuration(
    service_def: dict[str, Any], subnets, security_groups, public: bool
):
    """The service's awsvpc configuration: its own, or the stack's."""
    own = (service_def.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if own:
        return {
            "subnets": own.get("subnets") or list(subnets),
            "security_groups": own.get("securityGroups") or list(security_groups),
            "assign_public_ip": own.get("assignPublicIp") == "ENABLED",
        }
    return {
        "subnets": list(subnets),
        "security_groups": list(security_groups),
        "assign_public_ip": public,
    }

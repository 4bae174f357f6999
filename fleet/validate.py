"""Checks on rendered definitions, before anything is planned.

Field names and types are checked against the ECS API model that botocore
ships (`RegisterTaskDefinition` and `CreateService` input shapes), so a
definition that passes here is one the ECS API would parse. The rest are
the rules that AWS applies later, at deploy time, and that are cheaper to
learn about now: Fargate sizes, reservations, the load balancer's container.
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any

import botocore.session

from fleet.config import StackConfig
from fleet.errors import Problem
from fleet.quotas import check_quotas
from fleet.render import Definitions

# Fargate's task sizes: CPU units to the memory values (MiB) AWS accepts.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# Fields that ecs-fleet fills in itself, so a definition may leave them out.
FILLED_BY_FLEET = {"serviceName", "taskDefinition", "cluster"}

LIFECYCLE_HOOKS = (
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
)

# An Application Load Balancer rule holds at most five condition values.
MAX_CONDITION_VALUES = 5


@functools.cache
def _ecs_model():
    return botocore.session.get_session().get_service_model("ecs")


def input_shape(operation: str):
    return _ecs_model().operation_model(operation).input_shape


def check_shape(
    value: Any, shape, path: str, *, skip_required=frozenset()
) -> list[tuple[str, str]]:
    """Walk a value against a botocore shape; returns (field path, problem)."""
    found: list[tuple[str, str]] = []
    _walk(value, shape, path, found, skip_required)
    return found


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _walk(value, shape, path, found, skip_required) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            found.append(
                (path, f"must be an object ({shape.name}), not {_type(value)}")
            )
            return
        members = shape.members
        for key, item in value.items():
            if key not in members:
                close = difflib.get_close_matches(key, list(members), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                found.append(
                    (_join(path, key), f"is not a field of {shape.name}{hint}")
                )
                continue
            if item is None:
                continue
            _walk(item, members[key], _join(path, key), found, frozenset())
        for key in shape.required_members:
            if key not in value and key not in skip_required:
                found.append((_join(path, key), f"is required by {shape.name}"))
    elif kind == "list":
        if not isinstance(value, list):
            found.append((path, f"must be a list, not {_type(value)}"))
            return
        for i, item in enumerate(value):
            _walk(item, shape.member, f"{path}[{i}]", found, frozenset())
    elif kind == "map":
        if not isinstance(value, dict):
            found.append((path, f"must be an object, not {_type(value)}"))
            return
        for key, item in value.items():
            _walk(item, shape.value, f"{path}.{key}", found, frozenset())
    elif kind == "string":
        if not isinstance(value, str):
            found.append((path, f"must be a string, not {_type(value)} {value!r}"))
        elif shape.enum and value not in shape.enum:
            close = difflib.get_close_matches(value, shape.enum, n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else "one of " + ", ".join(shape.enum)
            )
            found.append((path, f"{value!r} is not a valid value; {hint}"))
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            found.append(
                (path, f"must be a whole number, not {_type(value)} {value!r}")
            )
    elif kind in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            found.append((path, f"must be a number, not {_type(value)} {value!r}"))
    elif kind == "boolean":
        if not isinstance(value, bool):
            found.append((path, f"must be true or false, not {_type(value)} {value!r}"))
    elif kind == "timestamp" and not isinstance(value, (str, int, float)):
        found.append((path, f"must be a timestamp, not {_type(value)}"))


def _type(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


_UNITS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(vcpu|gb)?\s*$", re.IGNORECASE)


def task_units(value: Any, per_unit: int) -> int | None:
    """Task-level cpu or memory as a number: '1024', '1 vCPU' or '2 GB'."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    match = _UNITS.match(value)
    if not match:
        return None
    number = float(match[1])
    return int(number * per_unit) if match[2] else int(number)


def check_definitions(config: StackConfig, defs: Definitions) -> list[Problem]:
    """Every problem in one service's rendered definitions."""
    problems: list[Problem] = []
    name = defs.service

    def add(file: str, field: str, message: str, fix: str = "") -> None:
        problems.append(Problem(file, name, field, message, fix))

    for field_path, message in check_shape(
        defs.task, input_shape("RegisterTaskDefinition"), ""
    ):
        add(defs.task_file, field_path, message)
    for field_path, message in check_shape(
        defs.service_def,
        input_shape("CreateService"),
        "",
        skip_required=FILLED_BY_FLEET,
    ):
        add(defs.service_file, field_path, message)
    if problems:
        return problems

    problems += _check_sizes(defs)
    problems += _check_load_balancer(defs)
    problems += _check_controller(defs)
    problems += check_fleet_settings(defs)
    return problems


def _check_sizes(defs: Definitions) -> list[Problem]:
    problems: list[Problem] = []
    task = defs.task
    file = defs.task_file

    def add(field: str, message: str, fix: str = "") -> None:
        problems.append(Problem(file, defs.service, field, message, fix))

    cpu = task_units(task.get("cpu"), 1024)
    memory = task_units(task.get("memory"), 1024)
    fargate = "FARGATE" in (task.get("requiresCompatibilities") or [])
    if fargate:
        if cpu is None or memory is None:
            add(
                "cpu" if cpu is None else "memory",
                "is required for Fargate, as units ('1024') or '1 vCPU' / '2 GB'",
            )
        elif cpu not in FARGATE_SIZES:
            add(
                "cpu",
                f"{cpu} is not a Fargate CPU size",
                "use one of " + ", ".join(map(str, FARGATE_SIZES)),
            )
        elif memory not in FARGATE_SIZES[cpu]:
            allowed = FARGATE_SIZES[cpu]
            add(
                "memory",
                f"{memory} MiB is not a Fargate memory size for cpu {cpu}",
                f"use {allowed[0]} to {allowed[-1]} MiB"
                + (
                    f" in steps of {allowed[1] - allowed[0]}"
                    if len(allowed) > 2
                    else ""
                ),
            )
        if task.get("networkMode", "awsvpc") != "awsvpc":
            add(
                "networkMode",
                f"{task.get('networkMode')!r} is not awsvpc, which Fargate requires",
            )

    containers = task.get("containerDefinitions") or []
    if not containers:
        add("containerDefinitions", "is empty: a task needs at least one container")
    total_cpu = 0
    total_memory = 0
    for i, container in enumerate(containers):
        where = f"containerDefinitions[{i}]"
        label = container.get("name", where)
        c_cpu = container.get("cpu") or 0
        c_mem = container.get("memory")
        c_res = container.get("memoryReservation")
        total_cpu += c_cpu
        total_memory += c_res if c_res is not None else (c_mem or 0)
        if c_mem is not None and c_res is not None and c_res > c_mem:
            add(
                f"{where}.memoryReservation",
                f"{c_res} in container {label} is above its memory {c_mem}",
                "lower memoryReservation or raise memory",
            )
        if memory is not None:
            for key, value in (("memory", c_mem), ("memoryReservation", c_res)):
                if value is not None and value > memory:
                    add(
                        f"{where}.{key}",
                        f"{value} in container {label} is above "
                        f"the task's memory {memory}",
                        "lower it or raise the task's memory",
                    )
        if cpu is not None and c_cpu > cpu:
            add(
                f"{where}.cpu",
                f"{c_cpu} in container {label} is above the task's cpu {cpu}",
                "lower it or raise the task's cpu",
            )
    if cpu is not None and total_cpu > cpu:
        add(
            "containerDefinitions",
            f"the containers reserve {total_cpu} cpu units, above the task's {cpu}",
            "lower the containers' cpu or raise the task's",
        )
    if memory is not None and total_memory > memory:
        add(
            "containerDefinitions",
            f"the containers reserve {total_memory} MiB, "
            f"above the task's memory {memory}",
            "lower the containers' memoryReservation (or memory), or raise the task's",
        )
    if containers and not any(c.get("essential", True) for c in containers):
        add(
            "containerDefinitions",
            "has no essential container",
            "mark the app container essential: true",
        )
    return problems


def _check_load_balancer(defs: Definitions) -> list[Problem]:
    file = defs.service_file
    lbs = defs.service_def.get("loadBalancers") or []
    if len(lbs) != 1:
        return [
            Problem(
                file,
                defs.service,
                "loadBalancers",
                f"has {len(lbs)} entries; "
                "a CodeDeploy blue/green service takes exactly one",
                "declare one {containerName, containerPort}",
            )
        ]
    lb = lbs[0]
    container_name = lb.get("containerName")
    port = lb.get("containerPort")
    containers = {c.get("name"): c for c in defs.task.get("containerDefinitions") or []}
    if container_name not in containers:
        return [
            Problem(
                file,
                defs.service,
                "loadBalancers[0].containerName",
                f"{container_name!r} is not a container of {defs.task_file}",
                "use one of: " + ", ".join(str(n) for n in containers),
            )
        ]
    ports = [
        m.get("containerPort")
        for m in containers[container_name].get("portMappings") or []
    ]
    if port not in ports:
        return [
            Problem(
                file,
                defs.service,
                "loadBalancers[0].containerPort",
                f"{port!r} is not a port mapping of container {container_name!r}",
                f"its ports: {', '.join(map(str, ports)) or 'none'}",
            )
        ]
    return []


def _check_controller(defs: Definitions) -> list[Problem]:
    controller = (defs.service_def.get("deploymentController") or {}).get(
        "type", "CODE_DEPLOY"
    )
    if controller != "CODE_DEPLOY":
        return [
            Problem(
                defs.service_file,
                defs.service,
                "deploymentController.type",
                f"{controller!r}: ecs-fleet deploys every service "
                "blue/green through CodeDeploy",
                "set it to CODE_DEPLOY or leave deploymentController out",
            )
        ]
    return []


_HEALTH_CHECK_KEYS = {
    "path": str,
    "matcher": str,
    "protocol": str,
    "port": str,
    "interval": int,
    "timeout": int,
    "healthyThreshold": int,
    "unhealthyThreshold": int,
}


def check_fleet_settings(defs: Definitions) -> list[Problem]:
    """The service folder's own settings: target group, listener rule, hooks."""
    problems: list[Problem] = []
    file = defs.fleet_file or f"{defs.folder}/fleet.jsonnet"

    def add(field: str, message: str, fix: str = "") -> None:
        problems.append(Problem(file, defs.service, field, message, fix))

    settings = defs.fleet
    _unknown(settings, "", {"targetGroup", "listenerRule", "hooks"}, add)
    tg = settings.get("targetGroup") or {}
    _unknown(tg, "targetGroup", {"protocol", "healthCheck", "deregistrationDelay"}, add)
    hc = tg.get("healthCheck") or {}
    _unknown(hc, "targetGroup.healthCheck", set(_HEALTH_CHECK_KEYS), add)
    for key, kind in _HEALTH_CHECK_KEYS.items():
        if key in hc and not isinstance(hc[key], kind):
            add(
                f"targetGroup.healthCheck.{key}",
                f"must be {kind.__name__}, not {hc[key]!r}",
            )
    if "interval" in hc and "timeout" in hc and hc["timeout"] >= hc["interval"]:
        add(
            "targetGroup.healthCheck.timeout",
            f"{hc['timeout']} must be below the interval {hc['interval']}",
        )

    rule = settings.get("listenerRule")
    if not isinstance(rule, dict):
        add(
            "listenerRule",
            "is missing: the service needs a listener rule",
            "add listenerRule: {priority, pathPatterns or hostHeaders}",
        )
    else:
        _unknown(rule, "listenerRule", {"priority", "pathPatterns", "hostHeaders"}, add)
        priority = rule.get("priority")
        if not isinstance(priority, int) or not 1 <= priority <= 50000:
            add(
                "listenerRule.priority",
                f"{priority!r} is not a priority from 1 to 50000",
            )
        values = [*(rule.get("pathPatterns") or []), *(rule.get("hostHeaders") or [])]
        if not values:
            add("listenerRule", "has no condition", "add pathPatterns or hostHeaders")
        elif len(values) > MAX_CONDITION_VALUES:
            add(
                "listenerRule",
                f"has {len(values)} condition values; a rule holds at most 5",
                "split the paths over fewer patterns with wildcards",
            )

    hooks = settings.get("hooks") or {}
    for event, function in hooks.items():
        if event not in LIFECYCLE_HOOKS:
            close = difflib.get_close_matches(event, LIFECYCLE_HOOKS, n=1)
            add(
                f"hooks.{event}",
                "is not an ECS lifecycle event",
                f"did you mean {close[0]!r}?"
                if close
                else "use " + ", ".join(LIFECYCLE_HOOKS),
            )
        elif not isinstance(function, str) or not function:
            add(f"hooks.{event}", "must name a Lambda function")
    return problems


def _unknown(value: dict, prefix: str, known: set[str], add) -> None:
    if not isinstance(value, dict):
        add(prefix or "(top level)", "must be an object")
        return
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            add(
                _join(prefix, key),
                "is not a known setting",
                f"did you mean {close[0]!r}?"
                if close
                else "known: " + ", ".join(sorted(known)),
            )


def check_fleet(
    config: StackConfig, definitions: dict[str, Definitions]
) -> list[Problem]:
    """Every problem across the fleet: per service, then fleet-wide rules."""
    problems: list[Problem] = []
    for defs in definitions.values():
        problems += check_definitions(config, defs)
    seen: dict[tuple[str, int], str] = {}
    for defs in definitions.values():
        priority = (defs.fleet.get("listenerRule") or {}).get("priority")
        if not isinstance(priority, int):
            continue
        lb = config.services[defs.service].load_balancer
        other = seen.setdefault((lb, priority), defs.service)
        if other != defs.service:
            problems.append(
                Problem(
                    defs.fleet_file,
                    defs.service,
                    "listenerRule.priority",
                    f"{priority} is already taken by service {other} "
                    f"on load balancer {lb}",
                    "give every service on a load balancer its own priority",
                )
            )
    return problems + check_quotas(config)

"""What differs between two stacks: `python -m fleet diff --from S1 --to S2`.

Each service's rendered task definition, service definition and ecs-fleet
settings (`fleet.jsonnet`) are compared as JSON with sorted keys, after the
normalisation ecspresso's `diff` applies: lists whose order AWS does not
keep are sorted, empty values are dropped and the defaults AWS fills in on
registration are filled in on both sides. A definition that spells out a
default therefore matches one that leaves it out, and what remains is what
AWS would really hold differently.

Values derived from the stack name (task family, log group, role and
parameter ARNs with the account) are shown, not hidden: they are real
differences, and a reviewer who sees them every time learns to skip them,
while hiding them would also hide a prod ARN pasted into staging.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from fleet import config as fleet_config
from fleet.config import ServiceSettings, StackConfig
from fleet.errors import Problem, raise_if
from fleet.render import Definitions, render_fleet

# The sections of one service's diff, in the order they are printed.
SECTIONS = ("task-def", "service-def", "fleet", "settings")
STACK_SECTION = "stack"


def run(
    project_dir: Path,
    source: str,
    target: str,
    services: list[str] | None,
    out: TextIO,
) -> bool:
    """Print the diff from `source` to `target`; True when there is one."""
    before = fleet_config.load(project_dir, source)
    after = fleet_config.load(project_dir, target)
    names = _service_names(before, after, services)

    documents_before = documents(before, [n for n in names if n in before.services])
    documents_after = documents(after, [n for n in names if n in after.services])

    different = False
    keys = [(STACK_SECTION, "")] if services is None else []
    keys += [(name, section) for name in names for section in SECTIONS]
    for key in keys:
        label = "/".join(part for part in key if part)
        lines = unified(
            documents_before.get(key, ""),
            documents_after.get(key, ""),
            f"{source}/{label}",
            f"{target}/{label}",
        )
        for line in lines:
            out.write(line + "\n")
            different = True
    return different


def _service_names(
    before: StackConfig, after: StackConfig, services: list[str] | None
) -> list[str]:
    """The services to compare: those named, or every one of either stack."""
    if services is None:
        return list(before.services) + [
            name for name in after.services if name not in before.services
        ]
    problems = [
        Problem(
            after.file,
            name,
            "ecs-fleet:services",
            f"names no service {name!r}, and neither does {before.file}",
            "services: " + ", ".join(_service_names(before, after, None)),
        )
        for name in services
        if name not in before.services and name not in after.services
    ]
    raise_if(problems)
    return list(dict.fromkeys(services))


def documents(config: StackConfig, names: list[str]) -> dict[tuple[str, str], str]:
    """Every section of every named service, normalised and as JSON text."""
    rendered = render_fleet(config, names) if names else {}
    result = {(STACK_SECTION, ""): dump(stack_settings(config))}
    for name, defs in rendered.items():
        for section, value in _sections(defs, config.services[name]):
            result[(name, section)] = dump(value)
    return result


def _sections(
    defs: Definitions, settings: ServiceSettings
) -> Iterator[tuple[str, Any]]:
    yield "task-def", normalize_task_definition(defs.task)
    yield "service-def", normalize_service_definition(defs.service_def)
    yield "fleet", drop_empty(defs.fleet)
    yield "settings", service_settings(settings)


def dump(value: Any) -> str:
    if value in (None, {}, []):
        return ""
    return json.dumps(_whole_numbers(value), indent=2, sort_keys=True) + "\n"


def _whole_numbers(value: Any) -> Any:
    """70.0 and 70 are the same target: the config parser reads either."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def unified(before: str, after: str, from_label: str, to_label: str) -> list[str]:
    """The unified diff of two texts, or no line at all when they match."""
    return list(
        difflib.unified_diff(
            before.splitlines(),
            after.splitlines(),
            fromfile=from_label,
            tofile=to_label,
            lineterm="",
        )
    )


def drop_empty(value: Any) -> Any:
    """Drop nulls, empty lists and empty maps, as ecspresso does before a diff.

    The ECS API treats an empty list the same as an absent one, and
    `describe-task-definition` omits both.
    """
    if isinstance(value, dict):
        cleaned = {k: drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [drop_empty(v) for v in value]
    return value


def _by_json(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def _by_field(items: list[Any], name: str) -> list[Any]:
    return sorted(items, key=lambda item: str(item.get(name, "")))


_CPU_UNITS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*vcpu\s*$", re.IGNORECASE)
_MEMORY_UNITS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*GB\s*$")


def _task_units(value: Any, pattern: re.Pattern[str]) -> Any:
    """`1 vCPU` and `2 GB` become 1024 and 2048: AWS stores the numbers."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, str):
        match = pattern.match(value)
        if match:
            return str(int(float(match[1]) * 1024))
    return value


def normalize_task_definition(task: dict[str, Any]) -> dict[str, Any]:
    """A task definition as AWS registers it, with AWS's order-free lists sorted."""
    task = copy.deepcopy(task)
    awsvpc = task.get("networkMode") == "awsvpc"
    containers = []
    for container in task.get("containerDefinitions") or []:
        container = dict(container)
        # RegisterTaskDefinition fills these in; describe shows them.
        container.setdefault("essential", True)
        container.setdefault("cpu", 0)
        mappings = []
        for mapping in container.get("portMappings") or []:
            mapping = dict(mapping)
            mapping.setdefault("protocol", "tcp")
            # Under awsvpc the host port can only equal the container port.
            if awsvpc and "containerPort" in mapping:
                mapping.setdefault("hostPort", mapping["containerPort"])
            mappings.append(mapping)
        container["portMappings"] = _by_json(mappings)
        for key in ("environment", "secrets"):
            container[key] = _by_field(container.get(key) or [], "name")
        for key in ("mountPoints", "volumesFrom"):
            container[key] = _by_json(container.get(key) or [])
        containers.append(container)
    task["containerDefinitions"] = _by_field(containers, "name")
    for key in ("placementConstraints", "volumes"):
        task[key] = _by_json(task.get(key) or [])
    task["requiresCompatibilities"] = sorted(task.get("requiresCompatibilities") or [])
    task["tags"] = _by_field(task.get("tags") or [], "key")
    if "cpu" in task:
        task["cpu"] = _task_units(task["cpu"], _CPU_UNITS)
    if "memory" in task:
        task["memory"] = _task_units(task["memory"], _MEMORY_UNITS)
    proxy = task.get("proxyConfiguration")
    if isinstance(proxy, dict) and proxy.get("properties"):
        proxy["properties"] = _by_field(proxy["properties"], "name")
    return drop_empty(task)


def normalize_service_definition(service: dict[str, Any]) -> dict[str, Any]:
    """A service definition with the defaults CreateService fills in."""
    service = copy.deepcopy(service)
    for key in ("placementConstraints", "placementStrategy"):
        service[key] = _by_json(service.get(key) or [])
    service["tags"] = _by_field(service.get("tags") or [], "key")
    if service.get("launchType") == "FARGATE":
        service.setdefault("platformVersion", "LATEST")
    strategy = service.setdefault("schedulingStrategy", "REPLICA")
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    # The circuit breaker and the percentages belong to ECS rolling updates;
    # under CodeDeploy they do not apply, and filling them in would mislead.
    if strategy == "REPLICA" and controller == "ECS":
        deployment = service.setdefault(
            "deploymentConfiguration",
            {"maximumPercent": 200, "minimumHealthyPercent": 100},
        )
        deployment.setdefault(
            "deploymentCircuitBreaker", {"enable": False, "rollback": False}
        )
    elif strategy == "DAEMON":
        service.setdefault(
            "deploymentConfiguration",
            {"maximumPercent": 100, "minimumHealthyPercent": 0},
        )
    awsvpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if isinstance(awsvpc, dict):
        awsvpc.setdefault("assignPublicIp", "DISABLED")
        for key in ("subnets", "securityGroups"):
            awsvpc[key] = sorted(awsvpc.get(key) or [])
    return drop_empty(service)


def service_settings(settings: ServiceSettings) -> dict[str, Any]:
    """A service's stack settings, spelled as in the stack file, defaults filled.

    The defaults come from the parsed config, so a stack that writes
    `terminationWaitMinutes: 5` matches one that leaves it out.
    """
    result: dict[str, Any] = {
        "image": settings.image,
        "loadBalancer": settings.load_balancer,
        "desiredCount": settings.desired_count,
        "deployment": _camel(asdict(settings.deployment)),
        "alarms": _camel(asdict(settings.alarms)),
        "vars": settings.vars,
    }
    if settings.autoscaling is not None:
        result["autoscaling"] = _camel(asdict(settings.autoscaling))
    return drop_empty(result)


def stack_settings(config: StackConfig) -> dict[str, Any]:
    """The stack-wide settings: where the fleet runs and what every service shares."""
    return drop_empty(
        {
            "region": config.region,
            "cluster": config.cluster,
            "requireDigests": config.require_digests,
            "logRetentionDays": config.log_retention_days,
            "network": _camel(asdict(config.network)),
            "loadBalancers": {
                name: _camel(asdict(lb)) for name, lb in config.load_balancers.items()
            },
            "vars": config.vars,
        }
    )


_CAMEL_OVERRIDES = {"http_5xx_rate": "http5xxRate"}


def _camel(value: Any) -> Any:
    """Dataclass field names back into the stack file's camelCase keys."""
    if isinstance(value, dict):
        return {_camel_key(k): _camel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_camel(v) for v in value]
    return value


def _camel_key(key: str) -> str:
    if key in _CAMEL_OVERRIDES:
        return _CAMEL_OVERRIDES[key]
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)

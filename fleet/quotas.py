"""AWS quotas that only the fleet as a whole can exceed, checked up front.

Each service is checked on its own in `fleet.validate`; the quotas here are
counted across services: every service puts one listener rule on its load
balancer's prod listener and one on its test listener, attaches a blue and a
green target group to that load balancer, and adds a deployment group to
the stack's one CodeDeploy application. AWS refuses the rule or the target
group past the quota in the middle of `pulumi up`, after part of the fleet
has changed; here the plan is refused before anything is created.

The counts are this fleet's own: rules or target groups that something else
already put on a shared load balancer count against the same quota, so
such a stack sets `ecs-fleet:quotas.rulesPerLoadBalancer` to what is left.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass

from fleet.config import NAMESPACE, LoadBalancer, StackConfig
from fleet.errors import Problem

# One rule on the prod listener and one on the test listener: CodeDeploy
# needs the test route to reach the green tasks before the switch.
RULES_PER_SERVICE = 2
# Blue and green: CodeDeploy moves both listeners' rules between them.
TARGET_GROUPS_PER_SERVICE = 2


@dataclass(frozen=True)
class Quota:
    key: str
    name: str
    default: int
    adjustable: bool
    unit: str


# AWS's default values; "adjustable" is whether AWS raises it on request.
QUOTAS = {
    quota.key: quota
    for quota in (
        Quota(
            "rulesPerLoadBalancer",
            "rules per Application Load Balancer (default rules not counted)",
            100,
            True,
            "listener rules",
        ),
        Quota(
            "targetGroupsPerLoadBalancer",
            "target groups per Application Load Balancer",
            100,
            False,
            "target groups",
        ),
        Quota(
            "deploymentGroupsPerApplication",
            "deployment groups per CodeDeploy application",
            1000,
            True,
            "deployment groups",
        ),
    )
}


def limits(config: StackConfig) -> dict[str, int]:
    """Every known quota's value for this stack: AWS's default or the stack's."""
    values = {key: quota.default for key, quota in QUOTAS.items()}
    overrides = config.quotas if isinstance(config.quotas, dict) else {}
    for key, value in overrides.items():
        if key in QUOTAS and _whole(value) and QUOTAS[key].adjustable:
            values[key] = value
    return values


def services_per_load_balancer(values: dict[str, int] | None = None) -> int:
    """How many services one load balancer holds within its quotas."""
    values = values or {key: quota.default for key, quota in QUOTAS.items()}
    return min(
        values["rulesPerLoadBalancer"] // RULES_PER_SERVICE,
        values["targetGroupsPerLoadBalancer"] // TARGET_GROUPS_PER_SERVICE,
    )


def check_quotas(config: StackConfig) -> list[Problem]:
    """Every quota the planned fleet would exceed, one problem each."""
    problems = _check_overrides(config)
    values = limits(config)

    # Two entries of `loadBalancers` may name listeners of one load balancer:
    # the quota is the load balancer's, so usage is counted per ARN, one list
    # entry per rule or target group, named by the service that needs it.
    usage: dict[str, dict[str, list[str]]] = {
        "rulesPerLoadBalancer": defaultdict(list),
        "targetGroupsPerLoadBalancer": defaultdict(list),
    }
    labels: dict[str, set[str]] = defaultdict(set)
    for name, settings in config.services.items():
        lb = config.load_balancers.get(settings.load_balancer)
        if lb is None:
            continue
        for arn in (lb.prod_listener_arn, lb.test_listener_arn):
            identity = _load_balancer_of(arn, lb)
            usage["rulesPerLoadBalancer"][identity].append(name)
            labels[identity].add(lb.name)
        identity = _load_balancer_of(lb.prod_listener_arn, lb)
        usage["targetGroupsPerLoadBalancer"][identity] += [
            name
        ] * TARGET_GROUPS_PER_SERVICE

    for key, per_load_balancer in usage.items():
        for identity, entries in sorted(per_load_balancer.items()):
            if len(entries) > values[key]:
                problems.append(
                    _over(config, key, values[key], identity, labels, entries)
                )

    groups = len(config.services)
    key = "deploymentGroupsPerApplication"
    if groups > values[key]:
        quota = QUOTAS[key]
        problems.append(
            Problem(
                config.file,
                None,
                f"{NAMESPACE}:services",
                f"{groups} services need {groups} deployment groups in the "
                f"stack's CodeDeploy application, above the quota of "
                f"{values[key]} {quota.name}",
                "split the fleet over more than one stack, or raise the quota "
                "with AWS and set it with `pulumi config set --stack "
                f"{config.stack} --path 'quotas.{key}' <value>`",
            )
        )
    return problems


def _over(config, key, limit, identity, labels, entries) -> Problem:
    quota = QUOTAS[key]
    count = len(entries)
    names = sorted(labels.get(identity) or {identity})
    services = sorted(set(entries))
    shown = ", ".join(services[:3]) + (", ..." if len(services) > 3 else "")
    # Enough services move off to get under the quota: the fix names them.
    per_service = count // len(services)
    excess = -(-(count - limit) // per_service)
    movable = services[-excess:]
    fix = (
        f"move at least {excess} of its services to another load balancer: add "
        f"one to {NAMESPACE}:loadBalancers in {config.file} and pick it with "
        f"`pulumi config set --stack {config.stack} --path "
        f"'services.{movable[0]}.loadBalancer' <name>`"
    )
    if quota.adjustable:
        fix += (
            f", or raise the quota with AWS and set it with `pulumi config set "
            f"--stack {config.stack} --path 'quotas.{key}' <value>`"
        )
    else:
        fix += " (AWS does not raise this quota)"
    return Problem(
        config.file,
        None,
        f"{NAMESPACE}:loadBalancers.{names[0]}",
        f"load balancer {' and '.join(names)} ({identity}) would hold {count} "
        f"{quota.unit} of this fleet ({len(services)} services: {shown}), above "
        f"the quota of {limit} {quota.name}",
        fix,
    )


def _load_balancer_of(listener_arn: str, lb: LoadBalancer) -> str:
    """`app/<name>/<id>` of a listener ARN: the load balancer it belongs to."""
    parts = listener_arn.split(":listener/", 1)
    if len(parts) != 2:
        return lb.name
    return "/".join(parts[1].split("/")[:3])


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_overrides(config: StackConfig) -> list[Problem]:
    key = f"{NAMESPACE}:quotas"
    overrides = config.quotas
    if not isinstance(overrides, dict):
        return [
            Problem(
                config.file,
                None,
                key,
                f"must be a map of quota names to numbers, not {overrides!r}",
                "known quotas: " + ", ".join(QUOTAS),
            )
        ]
    problems = []
    for name, value in overrides.items():
        quota = QUOTAS.get(name)
        if quota is None:
            close = difflib.get_close_matches(str(name), list(QUOTAS), n=1)
            problems.append(
                Problem(
                    config.file,
                    None,
                    f"{key}.{name}",
                    "is not a quota ecs-fleet knows",
                    f"did you mean {close[0]!r}?"
                    if close
                    else "known quotas: " + ", ".join(QUOTAS),
                )
            )
        elif not quota.adjustable:
            problems.append(
                Problem(
                    config.file,
                    None,
                    f"{key}.{name}",
                    f"AWS does not raise the quota of {quota.default} {quota.name}",
                    f"remove it from {config.file}",
                )
            )
        elif not _whole(value):
            problems.append(
                Problem(
                    config.file,
                    None,
                    f"{key}.{name}",
                    f"must be a whole number above 0, not {value!r}",
                    f"fix with `pulumi config set --stack {config.stack} --path "
                    f"'quotas.{name}' {quota.default}`",
                )
            )
    return problems

"""The policy pack's rules, run on the offline plan.

`pulumi preview --policy-pack policy` hands each resource to the pack's
validate functions as the policy SDK's own argument types. Here the same
functions get the same types, built from the mock engine's plan: inputs
behind the SDK's unknown-checking proxies, numbers as floats (the wire has
only doubles), parents as PolicyResource objects. Enforcement levels come
from `policy/config/<stack>.json`, read as the CLI reads
`--policy-pack-config`: a rule's own entry, else `all`, else the level the
rule declares.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import (
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    unknown_checking_proxy,
)

from fleet.engine import Plan
from fleet.errors import Problem, raise_if

POLICY_DIR = "policy"
RULES_PACKAGE = "ecs_fleet_policies"
FLEET_SERVICE = "ecs-fleet:service:FleetService"
# Log groups belong to the fleet, not to a service; this tag names the
# services that write to one.
SERVICES_TAG = "ecs-fleet:services"
_LEVELS = {level.value: level for level in EnforcementLevel}


@dataclass(frozen=True)
class Violation:
    rule: str
    enforcement: str
    urn: str | None
    resource: str | None
    service: str | None
    message: str

    def line(self) -> str:
        where = f"service {self.service}" if self.service else self.resource
        prefix = f"{self.enforcement}: {self.rule}: "
        return prefix + (f"{where}: " if where else "") + self.message

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "enforcement": self.enforcement,
            "urn": self.urn,
            "resource": self.resource,
            "service": self.service,
            "message": self.message,
        }


@dataclass
class PolicyReport:
    pack: str
    config_file: str | None
    levels: dict[str, str]
    violations: list[Violation] = field(default_factory=list)
    # Rules that met a value unknown before deployment, as the SDK reports
    # them under the CLI: an advisory note, not a verdict.
    not_run: list[str] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "mandatory"]

    def to_json(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "config": self.config_file,
            "enforcement": self.levels,
            "violations": [v.to_json() for v in self.violations],
            "mandatory": len(self.mandatory),
            "notRun": self.not_run,
        }


def load_rules(project_dir: Path):
    """The pack's rules module, imported from the project's `policy/`."""
    policy_dir = str(project_dir / POLICY_DIR)
    added = policy_dir not in sys.path
    if added:
        sys.path.insert(0, policy_dir)
    try:
        return importlib.import_module(RULES_PACKAGE)
    finally:
        if added:
            sys.path.remove(policy_dir)


def config_path(project_dir: Path, stack: str) -> Path:
    return project_dir / POLICY_DIR / "config" / f"{stack}.json"


def read_config(path: Path, policies: dict[str, Policy]) -> dict[str, Any]:
    """A `--policy-pack-config` file, checked as the CLI would refuse it."""
    where = str(Path(POLICY_DIR) / "config" / path.name)
    try:
        document = json.loads(path.read_text())
    except ValueError as err:
        raise_if([Problem(where, None, "file", f"is not valid JSON: {err}")])
    if not isinstance(document, dict):
        raise_if([Problem(where, None, "file", "must be a JSON object")])
    problems = []
    for key, value in document.items():
        if key != "all" and key not in policies:
            problems.append(
                Problem(
                    where,
                    None,
                    key,
                    "names no rule of the pack",
                    "rules: " + ", ".join(sorted(policies)),
                )
            )
            continue
        entry = value if isinstance(value, dict) else {"enforcementLevel": value}
        level = entry.get("enforcementLevel")
        if level is not None and level not in _LEVELS:
            problems.append(
                Problem(
                    where,
                    None,
                    key,
                    f"enforcementLevel {level!r} is not one of " + ", ".join(_LEVELS),
                )
            )
        schema = policies[key].config_schema if key != "all" else None
        known = set(schema.properties) if schema else set()
        for name in entry:
            if name != "enforcementLevel" and name not in known:
                problems.append(
                    Problem(
                        where,
                        None,
                        f"{key}.{name}",
                        "is not a setting of this rule",
                        ("settings: " + ", ".join(sorted(known)))
                        if known
                        else "it takes only enforcementLevel",
                    )
                )
    raise_if(problems)
    return document


def enforcement(
    policy: Policy, config: dict[str, Any], default: EnforcementLevel
) -> EnforcementLevel:
    for key in (policy.name, "all"):
        entry = config.get(key)
        level = entry.get("enforcementLevel") if isinstance(entry, dict) else entry
        if level is not None:
            return _LEVELS[level]
    return policy.enforcement_level or default


def settings(policy: Policy, config: dict[str, Any]) -> dict[str, Any]:
    entry = config.get(policy.name)
    if not isinstance(entry, dict):
        return {}
    return {k: v for k, v in entry.items() if k != "enforcementLevel"}


def _wire(value: Any) -> Any:
    """A plan value as the SDK receives it from the engine."""
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return value
    if isinstance(value, int):
        return float(value)
    if value == "[unknown]":
        return UNKNOWN_STRING_VALUE
    return value


def policy_props(inputs: dict[str, Any]):
    """Resource inputs as a validate function receives them."""
    return unknown_checking_proxy(_wire(inputs))


def policy_options(options: dict[str, Any]) -> PolicyResourceOptions:
    """A plan resource's options as PolicyResourceOptions."""
    return PolicyResourceOptions(
        protect=bool(options.get("protect")),
        ignore_changes=list(options.get("ignoreChanges") or []),
        delete_before_replace=options.get("deleteBeforeReplace"),
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(options.get("additionalSecretOutputs") or []),
        parent=options.get("parent"),
    )


def stack_resources(plan: Plan) -> list[PolicyResource]:
    """The plan as StackValidationArgs carries it, parents linked."""
    resources = [
        PolicyResource(
            resource_type=r.type,
            props=policy_props(r.inputs),
            urn=r.urn,
            name=r.name,
            opts=policy_options(r.options),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
        for r in plan.resources
    ]
    by_urn = {r.urn: r for r in resources}
    for planned, resource in zip(plan.resources, resources, strict=True):
        resource.parent = by_urn.get(planned.parent) if planned.parent else None
        resource.dependencies = [
            by_urn[d] for d in planned.options.get("dependsOn", []) if d in by_urn
        ]
    return resources


def service_of(plan: Plan, urn: str | None, by_urn=None) -> str | None:
    """The service a resource belongs to: its FleetService ancestor's."""
    by_urn = by_urn if by_urn is not None else {r.urn: r for r in plan.resources}
    resource = by_urn.get(urn) if urn else None
    start = resource
    while resource is not None:
        if resource.type == FLEET_SERVICE:
            return resource.name.removeprefix(f"{plan.stack}-")
        resource = by_urn.get(resource.parent) if resource.parent else None
    tags = (start.inputs.get("tags") if start else None) or {}
    return tags.get(SERVICES_TAG) or None


def check_plan(plan: Plan, project_dir: Path) -> PolicyReport:
    """Run every enabled rule of the project's pack on the plan."""
    rules = load_rules(project_dir)
    policies: dict[str, Policy] = {p.name: p for p in rules.POLICIES}
    path = config_path(project_dir, plan.stack)
    config = read_config(path, policies) if path.is_file() else {}
    levels = {
        name: enforcement(policy, config, rules.PACK_ENFORCEMENT)
        for name, policy in policies.items()
    }
    report = PolicyReport(
        pack=rules.PACK_NAME,
        config_file=str(Path(POLICY_DIR) / "config" / path.name)
        if path.is_file()
        else None,
        levels={name: level.value for name, level in levels.items()},
    )
    stack_view: list[PolicyResource] | None = None
    # One view of each resource, shared by every rule, as the CLI's analyzer
    # does: converting it once per rule was most of this function's time.
    views: dict[str, tuple[Any, PolicyResourceOptions]] = {}
    for name, policy in policies.items():
        level = levels[name]
        if level == EnforcementLevel.DISABLED:
            continue
        # As under the CLI: a violation of a remediating rule still blocks.
        verdict = _Verdict(report, plan, name, level)
        if isinstance(policy, ResourceValidationPolicy):
            for resource in plan.resources:
                view = views.get(resource.urn)
                if view is None:
                    view = views[resource.urn] = (
                        policy_props(resource.inputs),
                        policy_options(resource.options),
                    )
                args = ResourceValidationArgs(
                    resource.type,
                    view[0],
                    resource.urn,
                    resource.name,
                    view[1],
                    None,
                    settings(policy, config),
                )
                verdict.run(policy, args, resource.urn)
        elif isinstance(policy, StackValidationPolicy):
            if stack_view is None:
                stack_view = stack_resources(plan)
            verdict.run(
                policy, StackValidationArgs(stack_view, settings(policy, config))
            )
    return report


class _Verdict:
    """One rule's run: its violations and notes go into the report."""

    def __init__(self, report: PolicyReport, plan: Plan, rule: str, level):
        self.report = report
        self.plan = plan
        self.rule = rule
        self.kind = "advisory" if level == EnforcementLevel.ADVISORY else "mandatory"
        self.by_urn = {r.urn: r for r in plan.resources}

    def record(self, message: str, urn: str | None) -> None:
        self.report.violations.append(
            Violation(
                self.rule,
                self.kind,
                urn,
                self.by_urn[urn].name if urn in self.by_urn else None,
                service_of(self.plan, urn, self.by_urn),
                message,
            )
        )

    def run(self, policy: Policy, args, resource_urn: str | None = None) -> None:
        def report_violation(message: str, urn: str | None = None) -> None:
            # A resource rule's violation is always its resource's, as the
            # SDK has it; a stack rule names the resource it blames.
            self.record(message, resource_urn or urn)

        try:
            result = policy.validate(args, report_violation)
            if inspect.isawaitable(result):
                asyncio.run(_wait(result))
        except UnknownValueError as err:
            self.report.not_run.append(
                f"{self.rule}: can't run during preview: {err.message}"
            )
        except _NotApplicableError:
            pass


async def _wait(awaitable) -> None:
    await awaitable

"""The stack config, read once into typed objects and checked up front.

The same parser serves `pulumi up` (values from `pulumi.Config`) and the
offline commands (values from the `Pulumi.<stack>.yaml` file), so a mistake
is reported the same way in both, naming the stack file, the service and
the key, with the `pulumi config set` that fixes it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fleet.errors import Problem, raise_if

NAMESPACE = "ecs-fleet"
SECRET_PLACEHOLDER = "[secret]"

# CloudWatch Logs accepts only these retention periods, in days.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

IMAGE_DIGEST = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
IMAGE_TAG = re.compile(r"^[^@:\s]+(:\d+)?(/[^@:\s]+)*:[\w][\w.-]{0,127}$")
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    assign_public_ip: bool = False


@dataclass(frozen=True)
class LoadBalancer:
    """An existing Application Load Balancer's two listeners.

    The prod listener carries live traffic; the test listener lets
    CodeDeploy's lifecycle hooks reach the green tasks before the switch.
    """

    name: str
    prod_listener_arn: str
    test_listener_arn: str

    @property
    def arn_suffix(self) -> str:
        """The `app/<name>/<id>` part that CloudWatch uses as a dimension."""
        parts = self.prod_listener_arn.split(":listener/", 1)
        if len(parts) != 2:
            return ""
        return "/".join(parts[1].split("/")[:3])


@dataclass(frozen=True)
class ScheduledAction:
    name: str
    schedule: str
    min: int | None = None
    max: int | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class Autoscaling:
    min: int
    max: int
    suspended: bool = False
    cpu_target: float = 60.0
    memory_target: float = 70.0
    requests_per_target: int | None = None
    scale_in_cooldown: int = 300
    scale_out_cooldown: int = 60
    scheduled: tuple[ScheduledAction, ...] = ()


@dataclass(frozen=True)
class Deployment:
    """How CodeDeploy shifts traffic from blue to green."""

    strategy: str = "allAtOnce"
    percent: int | None = None
    interval: int | None = None
    termination_wait_minutes: int = 5
    timeout_minutes: int = 60


@dataclass(frozen=True)
class Alarms:
    """Thresholds of the alarms that roll a deployment back."""

    http_5xx_rate: float = 5.0
    unhealthy_hosts: int = 1
    evaluation_periods: int = 3


@dataclass(frozen=True)
class ServiceSettings:
    name: str
    image: str
    load_balancer: str
    desired_count: int | None = None
    autoscaling: Autoscaling | None = None
    deployment: Deployment = field(default_factory=Deployment)
    alarms: Alarms = field(default_factory=Alarms)
    vars: dict[str, Any] = field(default_factory=dict)

    @property
    def image_pinned(self) -> bool:
        return bool(IMAGE_DIGEST.match(self.image))


@dataclass(frozen=True)
class StackConfig:
    stack: str
    file: str
    project_dir: Path
    region: str
    cluster: str
    network: Network
    load_balancers: dict[str, LoadBalancer]
    services: dict[str, ServiceSettings]
    vars: dict[str, Any] = field(default_factory=dict)
    log_retention_days: int = 30
    require_digests: bool = False
    aws_profile: str | None = None
    # `aws:assumeRoles`, as {role_arn, session_name, external_id}, in order.
    aws_assume_roles: tuple[dict[str, str], ...] = ()
    # Names only: the values stay in Pulumi's encrypted config until the
    # program reads them as secret Outputs.
    secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Overrides of AWS quotas, checked by fleet.quotas.
    quotas: dict[str, Any] = field(default_factory=dict)

    def service_vars(self, name: str) -> dict[str, Any]:
        """Stack-wide vars overlaid with the service's own."""
        return {**self.vars, **self.services[name].vars}


def stack_file(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


def read_stack_file(project_dir: Path, stack: str) -> dict[str, Any]:
    """The `config:` map of a stack file, with secure values masked.

    Secure values cannot be decrypted without the stack's secrets
    provider, so offline they read as a placeholder and are marked secret.
    """
    path = project_dir / stack_file(stack)
    if not path.is_file():
        raise_if(
            [
                Problem(
                    stack_file(stack),
                    None,
                    "stack",
                    f"no stack file for stack {stack!r}",
                    f"create it with `pulumi stack init {stack}` or pick one of: "
                    + ", ".join(sorted(list_stacks(project_dir))),
                )
            ]
        )
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        raise_if(
            [
                Problem(
                    stack_file(stack),
                    None,
                    where,
                    f"is not valid YAML: {getattr(err, 'problem', err)}",
                )
            ]
        )
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise_if([Problem(stack_file(stack), None, "config", "must be a map")])
    return {key: _mask_secrets(value) for key, value in config.items()}


def secret_keys(raw: dict[str, Any]) -> list[str]:
    """The config keys whose value holds a masked secure value."""
    return [key for key, value in raw.items() if _holds_secret(value)]


def list_stacks(project_dir: Path) -> list[str]:
    return [
        p.name[len("Pulumi.") : -len(".yaml")]
        for p in project_dir.glob("Pulumi.*.yaml")
    ]


def _mask_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER
        return {k: _mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secrets(v) for v in value]
    return value


def _mask_leaves(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_leaves(v) for v in value]
    return SECRET_PLACEHOLDER


def _holds_secret(value: Any) -> bool:
    if value == SECRET_PLACEHOLDER:
        return True
    if isinstance(value, dict):
        return any(_holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


def load(project_dir: Path, stack: str) -> StackConfig:
    """Read and check a stack file: the offline commands' entry point."""
    return parse(read_stack_file(project_dir, stack), stack, project_dir)


def from_pulumi(project_dir: Path) -> StackConfig:
    """Read the running program's stack config: `pulumi up`'s entry point."""
    import pulumi

    stack = pulumi.get_stack()
    raw: dict[str, Any] = {}
    ours = pulumi.Config(NAMESPACE)
    for key in _STACK_KEYS:
        value = ours.get_object(key) if key in _OBJECT_KEYS else ours.get(key)
        if value is None:
            continue
        full = f"{NAMESPACE}:{key}"
        if pulumi.runtime.is_config_secret(full):
            # Only the names of secrets are needed here; the values never
            # leave pulumi.Config except as secret Outputs.
            value = _mask_leaves(value)
        raw[full] = value
    aws = pulumi.Config("aws")
    for key in ("region", "profile"):
        value = aws.get(key)
        if value is not None:
            raw[f"aws:{key}"] = value
    roles = aws.get_object("assumeRoles")
    if roles is not None:
        raw["aws:assumeRoles"] = roles
    return parse(raw, stack, project_dir)


def secret_values():
    """`ecs-fleet:secrets` with its values, as a secret Output."""
    import pulumi

    return pulumi.Config(NAMESPACE).require_secret_object("secrets")


_STACK_KEYS = (
    "cluster",
    "network",
    "loadBalancers",
    "services",
    "vars",
    "logRetentionDays",
    "requireDigests",
    "secrets",
    "quotas",
)
_OBJECT_KEYS = {
    "secrets",
    "quotas",
    "network",
    "loadBalancers",
    "services",
    "vars",
    "logRetentionDays",
    "requireDigests",
}


class _Reader:
    """Collects problems while reading one stack's raw config."""

    def __init__(self, stack: str):
        self.stack = stack
        self.file = stack_file(stack)
        self.problems: list[Problem] = []

    def problem(self, service: str | None, key: str, message: str, fix: str = ""):
        self.problems.append(Problem(self.file, service, key, message, fix))

    def set_hint(self, path: str, example: str) -> str:
        command = f"pulumi config set --stack {self.stack} --path '{path}' {example}"
        return f"fix with `{command}`"

    def unknown_keys(self, service, prefix, value: dict, known) -> None:
        for key in value:
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1)
                hint = (
                    f"did you mean {close[0]!r}?"
                    if close
                    else ("known keys: " + ", ".join(sorted(known)))
                )
                self.problem(service, f"{prefix}.{key}", "is not a known key", hint)

    def typed_fields(self, service, key, value: dict, specs) -> dict[str, Any]:
        """Check the optional scalars `specs` names: (config key, attribute,
        type, example, minimum, maximum); returns attribute -> value."""
        found = {}
        for cfg_key, attr, kind, example, lo, hi in specs:
            if cfg_key in value:
                checked = self.typed(service, f"{key}.{cfg_key}", value[cfg_key], kind,
                                     example, minimum=lo, maximum=hi)  # fmt: skip
                if checked is not None:
                    found[attr] = checked
        return found

    def typed(self, service, key, value, kind, example, *, minimum=None, maximum=None):
        """Check one scalar; returns it or None (a problem is recorded)."""
        path = key.removeprefix(f"{NAMESPACE}:")
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, kind)
        if not ok:
            self.problem(
                service,
                key,
                f"must be {_KIND_NAMES[kind]}, not {value!r}",
                self.set_hint(path, example),
            )
            return None
        if minimum is not None and value < minimum:
            self.problem(
                service,
                key,
                f"{value} is below the minimum {minimum}",
                self.set_hint(path, example),
            )
            return None
        if maximum is not None and value > maximum:
            self.problem(
                service,
                key,
                f"{value} is above the maximum {maximum}",
                self.set_hint(path, example),
            )
            return None
        return value


_KIND_NAMES = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    dict: "a map",
    list: "a list",
}

_SERVICE_KEYS = {
    "image",
    "desiredCount",
    "loadBalancer",
    "vars",
    "autoscaling",
    "deployment",
    "alarms",
}
_AUTOSCALING_KEYS = {
    "min",
    "max",
    "suspended",
    "cpuTarget",
    "memoryTarget",
    "requestsPerTarget",
    "scaleInCooldown",
    "scaleOutCooldown",
    "scheduled",
}
_DEPLOYMENT_KEYS = {
    "strategy",
    "percent",
    "interval",
    "terminationWaitMinutes",
    "timeoutMinutes",
}
_ALARM_KEYS = {"http5xxRate", "unhealthyHosts", "evaluationPeriods"}
STRATEGIES = ("allAtOnce", "canary", "linear")

# CodeDeploy's time-based routing takes a whole percentage below 100 and an
# interval in minutes; its quotas cap a blue/green wait at 2880 minutes.
MAX_INTERVAL_MINUTES = 2880


def parse(raw: dict[str, Any], stack: str, project_dir: Path) -> StackConfig:
    """Turn raw config (keys as `namespace:key`) into a checked StackConfig."""
    r = _Reader(stack)
    ns = f"{NAMESPACE}:"

    region = raw.get("aws:region")
    if not isinstance(region, str) or not region:
        r.problem(
            None,
            "aws:region",
            "is not set",
            f"fix with `pulumi config set --stack {stack} aws:region eu-west-1`",
        )
        region = ""

    cluster = raw.get(ns + "cluster")
    if not isinstance(cluster, str) or not cluster:
        r.problem(
            None,
            ns + "cluster",
            "is not set: name the existing ECS cluster",
            f"fix with `pulumi config set --stack {stack} cluster <name>`",
        )
        cluster = ""

    network = _network(r, raw.get(ns + "network"))
    load_balancers = _load_balancers(r, raw.get(ns + "loadBalancers"))

    vars_ = raw.get(ns + "vars") or {}
    if not isinstance(vars_, dict):
        r.problem(None, ns + "vars", "must be a map")
        vars_ = {}

    retention = raw.get(ns + "logRetentionDays", 30)
    if retention not in LOG_RETENTION_DAYS or isinstance(retention, bool):
        r.problem(
            None,
            ns + "logRetentionDays",
            f"{retention!r} is not a retention CloudWatch Logs accepts",
            "use one of " + ", ".join(map(str, LOG_RETENTION_DAYS)),
        )
        retention = 30

    require_digests = raw.get(ns + "requireDigests", False)
    if r.typed(None, ns + "requireDigests", require_digests, bool, "true") is None:
        require_digests = False

    services_raw = raw.get(ns + "services")
    services: dict[str, ServiceSettings] = {}
    if not isinstance(services_raw, dict) or not services_raw:
        r.problem(
            None,
            ns + "services",
            "names no service",
            f"add one with `pulumi config set --stack {stack} --path "
            "'services.<name>.image' <repo:tag>`",
        )
    else:
        for name, value in services_raw.items():
            parsed = _service(r, str(name), value, load_balancers, require_digests)
            if parsed is not None:
                services[parsed.name] = parsed

    secrets = _secrets(r, raw.get(ns + "secrets"), services)
    assume_roles = _assume_roles(r, raw.get("aws:assumeRoles"))
    for key, value in raw.items():
        if key != ns + "secrets" and _holds_secret(value):
            r.problem(
                None,
                key,
                "holds a secure value, which would reach a definition in plain text",
                "move it to ecs-fleet:secrets with `pulumi config set --secret "
                f"--stack {stack} --path 'secrets.<service>.<NAME>' <value>`",
            )

    known = {ns + k for k in _STACK_KEYS}
    for key in raw:
        if key.startswith(ns) and key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            r.problem(
                None,
                key,
                "is not a known key",
                f"did you mean {close[0]!r}?" if close else "",
            )

    raise_if(r.problems)
    return StackConfig(
        stack=stack,
        file=r.file,
        project_dir=project_dir,
        region=region,
        cluster=cluster,
        network=network,
        load_balancers=load_balancers,
        services=services,
        vars=dict(vars_),
        log_retention_days=retention,
        require_digests=require_digests,
        aws_profile=raw.get("aws:profile"),
        aws_assume_roles=assume_roles,
        secrets=secrets,
        quotas=raw.get(ns + "quotas") or {},
    )


_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


def _assume_roles(r: _Reader, value: Any) -> tuple[dict[str, str], ...]:
    """The AWS provider's role chain, which the deploy assumes as well."""
    if value is None:
        return ()
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        r.problem(None, "aws:assumeRoles", "must be a list of {roleArn, ...}")
        return ()
    roles = []
    for i, role in enumerate(value):
        where = f"aws:assumeRoles[{i}]"
        arn = role.get("roleArn") if isinstance(role, dict) else None
        if not isinstance(arn, str) or not _ROLE_ARN.match(arn):
            r.problem(None, f"{where}.roleArn", f"must be an IAM role ARN, not {arn!r}")
            continue
        roles.append(
            {
                "role_arn": arn,
                "session_name": str(role.get("sessionName") or "ecs-fleet-deploy"),
                **(
                    {"external_id": str(role["externalId"])}
                    if role.get("externalId")
                    else {}
                ),
            }
        )
    return tuple(roles)


ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _secrets(r: _Reader, value: Any, services) -> dict[str, tuple[str, ...]]:
    """`ecs-fleet:secrets`: service -> NAME -> an encrypted value.

    Each becomes a SecureString parameter that the service's load balanced
    container reads through its task definition's `secrets`.
    """
    key = f"{NAMESPACE}:secrets"
    if value is None:
        return {}
    if not isinstance(value, dict):
        r.problem(None, key, "must be a map from service to NAME: secure value")
        return {}
    result = {}
    for service, entries in value.items():
        where = f"{key}.{service}"
        if service not in services:
            r.problem(service, where, "names a service the stack does not have",
                      "use one of: " + ", ".join(services))  # fmt: skip
            continue
        if not isinstance(entries, dict):
            r.problem(service, where, "must be a map from NAME to a secure value")
            continue
        names = []
        for name, secret in entries.items():
            if not ENV_NAME.match(str(name)):
                r.problem(
                    service, f"{where}.{name}", "is not an environment variable name"
                )
            elif secret != SECRET_PLACEHOLDER:
                r.problem(
                    service,
                    f"{where}.{name}",
                    "is not encrypted: a secret in plain text in the stack file",
                    f"set it with `pulumi config set --secret --stack {r.stack} "
                    f"--path 'secrets.{service}.{name}' <value>`",
                )
            else:
                names.append(str(name))
        result[service] = tuple(sorted(names))
    return result


def _network(r: _Reader, value: Any) -> Network:
    key = f"{NAMESPACE}:network"
    if not isinstance(value, dict):
        r.problem(
            None,
            key,
            "is not set: the VPC, subnets and security groups of the tasks",
            f"set it in {r.file} as network: {{vpcId, subnets, securityGroups}}",
        )
        return Network("", (), ())
    r.unknown_keys(
        None, key, value, {"vpcId", "subnets", "securityGroups", "assignPublicIp"}
    )
    vpc = value.get("vpcId")
    if not isinstance(vpc, str) or not vpc.startswith("vpc-"):
        r.problem(
            None,
            f"{key}.vpcId",
            f"must be a VPC id (vpc-...), not {vpc!r}",
            r.set_hint("network.vpcId", "vpc-0123456789abcdef0"),
        )
        vpc = ""
    lists = {}
    for field_name, prefix in (("subnets", "subnet-"), ("securityGroups", "sg-")):
        items = value.get(field_name)
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(i, str) and i.startswith(prefix) for i in items)
        ):
            r.problem(
                None,
                f"{key}.{field_name}",
                f"must be a non-empty list of {prefix}... ids",
                r.set_hint(f"network.{field_name}[0]", f"{prefix}0123456789abcdef0"),
            )
            items = []
        lists[field_name] = tuple(items)
    public = value.get("assignPublicIp", False)
    if r.typed(None, f"{key}.assignPublicIp", public, bool, "false") is None:
        public = False
    return Network(vpc, lists["subnets"], lists["securityGroups"], public)


_LISTENER_ARN = re.compile(
    r"^arn:aws[\w-]*:elasticloadbalancing:[\w-]+:\d{12}:listener/app/[\w-]+/\w+/\w+$"
)


def _load_balancers(r: _Reader, value: Any) -> dict[str, LoadBalancer]:
    key = f"{NAMESPACE}:loadBalancers"
    if not isinstance(value, dict) or not value:
        r.problem(
            None,
            key,
            "names no load balancer",
            f"set it in {r.file} as loadBalancers: "
            "{<name>: {prodListenerArn, testListenerArn}}",
        )
        return {}
    result = {}
    for name, lb in value.items():
        if not isinstance(lb, dict):
            r.problem(
                None,
                f"{key}.{name}",
                "must be a map with prodListenerArn and testListenerArn",
            )
            continue
        r.unknown_keys(
            None, f"{key}.{name}", lb, {"prodListenerArn", "testListenerArn"}
        )
        arns = []
        for field_name in ("prodListenerArn", "testListenerArn"):
            arn = lb.get(field_name)
            if not isinstance(arn, str) or not _LISTENER_ARN.match(arn):
                r.problem(
                    None,
                    f"{key}.{name}.{field_name}",
                    f"must be an Application Load Balancer listener ARN, not {arn!r}",
                    r.set_hint(
                        f"loadBalancers.{name}.{field_name}",
                        "arn:aws:elasticloadbalancing:...",
                    ),
                )
                arn = ""
            arns.append(arn)
        if arns[0] and arns[0] == arns[1]:
            r.problem(
                None,
                f"{key}.{name}.testListenerArn",
                "is the prod listener: CodeDeploy needs a separate test listener",
            )
        result[str(name)] = LoadBalancer(str(name), arns[0], arns[1])
    return result


def _service(r, name, value, load_balancers, require_digests) -> ServiceSettings | None:
    key = f"{NAMESPACE}:services.{name}"
    if not SERVICE_NAME.match(name):
        r.problem(
            name,
            key,
            "is not a valid service name",
            "use at most 40 lower-case letters, digits and dashes, "
            "starting with a letter",
        )
        return None
    if not isinstance(value, dict):
        r.problem(
            name,
            key,
            "must be a map with at least an image",
            r.set_hint(f"services.{name}.image", "<repo:tag>"),
        )
        return None
    r.unknown_keys(name, key, value, _SERVICE_KEYS)

    image = value.get("image")
    if not isinstance(image, str) or not (
        IMAGE_DIGEST.match(image) or IMAGE_TAG.match(image)
    ):
        r.problem(
            name,
            f"{key}.image",
            f"must be repo:tag or repo@sha256:<64 hex>, not {image!r}",
            r.set_hint(f"services.{name}.image", "<repo@sha256:...>"),
        )
        image = ""
    elif require_digests and not IMAGE_DIGEST.match(image):
        r.problem(
            name,
            f"{key}.image",
            # Named after the policy rule that refuses the same in a plan, so
            # the user meets one name for one mistake.
            f"image-pinned-by-digest: {image!r} is not pinned by digest, "
            "and this stack sets requireDigests",
            "promote a digest from the stage before, or "
            + r.set_hint(f"services.{name}.image", "<repo@sha256:...>"),
        )

    lb_name = value.get("loadBalancer")
    if lb_name is None:
        lb_name = next(iter(load_balancers), "")
    elif lb_name not in load_balancers:
        r.problem(
            name,
            f"{key}.loadBalancer",
            f"names {lb_name!r}, which loadBalancers lacks",
            "use one of: " + ", ".join(sorted(load_balancers)),
        )

    desired = value.get("desiredCount")
    if desired is not None:
        desired = r.typed(name, f"{key}.desiredCount", desired, int, "2", minimum=0)

    autoscaling = _autoscaling(r, name, key, value.get("autoscaling"))
    if (
        autoscaling is not None
        and desired is not None
        and not (autoscaling.min <= desired <= autoscaling.max)
    ):
        r.problem(
            name,
            f"{key}.desiredCount",
            f"{desired} is outside autoscaling.min {autoscaling.min} "
            f"and autoscaling.max {autoscaling.max}",
            r.set_hint(f"services.{name}.desiredCount", str(autoscaling.min))
            + " or widen the bounds",
        )

    deployment = _deployment(r, name, key, value.get("deployment"))
    alarms = _alarms(r, name, key, value.get("alarms"))

    vars_ = value.get("vars") or {}
    if not isinstance(vars_, dict):
        r.problem(name, f"{key}.vars", "must be a map")
        vars_ = {}

    return ServiceSettings(
        name=name,
        image=image,
        load_balancer=lb_name,
        desired_count=desired,
        autoscaling=autoscaling,
        deployment=deployment,
        alarms=alarms,
        vars=dict(vars_),
    )


def _autoscaling(r, name, key, value) -> Autoscaling | None:
    if value is None:
        return None
    key = f"{key}.autoscaling"
    path = key.removeprefix(f"{NAMESPACE}:")
    if not isinstance(value, dict):
        r.problem(name, key, "must be a map with min and max")
        return None
    r.unknown_keys(name, key, value, _AUTOSCALING_KEYS)
    bounds = {}
    for bound in ("min", "max"):
        if bound not in value:
            r.problem(
                name, f"{key}.{bound}", "is not set", r.set_hint(f"{path}.{bound}", "2")
            )
            bounds[bound] = None
        else:
            bounds[bound] = r.typed(
                name, f"{key}.{bound}", value[bound], int, "2", minimum=0
            )
    lo, hi = bounds["min"], bounds["max"]
    if lo is not None and hi is not None and lo > hi:
        r.problem(
            name,
            f"{key}.min",
            f"autoscaling.min {lo} is above autoscaling.max {hi}",
            f"lower {path}.min or raise {path}.max with `pulumi config set --stack "
            f"{r.stack} --path '{path}.max' {lo}`",
        )
        return None
    if lo is None or hi is None:
        return None
    specs = (
        ("suspended", "suspended", bool, "true", None, None),
        ("cpuTarget", "cpu_target", float, "60", 1, 100),
        ("memoryTarget", "memory_target", float, "70", 1, 100),
        ("requestsPerTarget", "requests_per_target", int, "1000", 1, None),
        ("scaleInCooldown", "scale_in_cooldown", int, "300", 0, None),
        ("scaleOutCooldown", "scale_out_cooldown", int, "60", 0, None),
    )
    opts = r.typed_fields(name, key, value, specs)
    scheduled = []
    for i, action in enumerate(value.get("scheduled") or []):
        where = f"{key}.scheduled[{i}]"
        if not isinstance(action, dict) or not {"name", "schedule"} <= set(action):
            r.problem(
                name, where, "must be a map with name, schedule and min and/or max"
            )
            continue
        r.unknown_keys(
            name, where, action, {"name", "schedule", "min", "max", "timezone"}
        )
        if not re.match(r"^(cron|rate|at)\(.+\)$", str(action["schedule"])):
            r.problem(
                name,
                f"{where}.schedule",
                f"{action['schedule']!r} is not cron(...), rate(...) or at(...)",
            )
            continue
        bounds = [action.get(k) for k in ("min", "max")]
        if bounds == [None, None]:
            r.problem(name, where, "sets neither min nor max: it would change nothing",
                      "give the action a min, a max or both")  # fmt: skip
            continue
        if any(b is not None and (not isinstance(b, int) or b < 0) for b in bounds):
            r.problem(name, where, f"min and max must be whole numbers, not {bounds}")
            continue
        if None not in bounds and bounds[0] > bounds[1]:
            r.problem(name, f"{where}.min", f"{bounds[0]} is above max {bounds[1]}")
            continue
        scheduled.append(
            ScheduledAction(
                str(action["name"]),
                str(action["schedule"]),
                action.get("min"),
                action.get("max"),
                action.get("timezone"),
            )
        )
    return Autoscaling(min=lo, max=hi, scheduled=tuple(scheduled), **opts)


def _deployment(r, name, key, value) -> Deployment:
    if value is None:
        return Deployment()
    key = f"{key}.deployment"
    path = key.removeprefix(f"{NAMESPACE}:")
    if not isinstance(value, dict):
        r.problem(name, key, "must be a map with strategy, percent and interval")
        return Deployment()
    r.unknown_keys(name, key, value, _DEPLOYMENT_KEYS)
    strategy = value.get("strategy", "allAtOnce")
    if strategy not in STRATEGIES:
        r.problem(
            name,
            f"{key}.strategy",
            f"{strategy!r} is not one of {', '.join(STRATEGIES)}",
            r.set_hint(f"{path}.strategy", "canary"),
        )
        return Deployment()
    percent = value.get("percent")
    interval = value.get("interval")
    if strategy == "allAtOnce":
        for extra, given in (("percent", percent), ("interval", interval)):
            if given is not None:
                r.problem(
                    name,
                    f"{key}.{extra}",
                    "has no meaning for allAtOnce",
                    f"remove it, or set {path}.strategy to canary or linear",
                )
        percent = interval = None
    else:
        percent = r.typed(
            name, f"{key}.percent", percent, int, "10", minimum=1, maximum=99
        )
        interval = r.typed(
            name,
            f"{key}.interval",
            interval,
            int,
            "5",
            minimum=1,
            maximum=MAX_INTERVAL_MINUTES,
        )
    wait = value.get("terminationWaitMinutes", 5)
    wait = r.typed(
        name,
        f"{key}.terminationWaitMinutes",
        wait,
        int,
        "5",
        minimum=0,
        maximum=MAX_INTERVAL_MINUTES,
    )
    timeout = value.get("timeoutMinutes", 60)
    timeout = r.typed(
        name, f"{key}.timeoutMinutes", timeout, int, "60", minimum=1, maximum=24 * 60
    )
    return Deployment(
        strategy=strategy,
        percent=percent,
        interval=interval,
        termination_wait_minutes=5 if wait is None else wait,
        timeout_minutes=60 if timeout is None else timeout,
    )


def _alarms(r, name, key, value) -> Alarms:
    if value is None:
        return Alarms()
    key = f"{key}.alarms"
    if not isinstance(value, dict):
        r.problem(name, key, "must be a map")
        return Alarms()
    r.unknown_keys(name, key, value, _ALARM_KEYS)
    specs = (
        ("http5xxRate", "http_5xx_rate", float, "5", 0.1, 100),
        ("unhealthyHosts", "unhealthy_hosts", int, "1", 1, None),
        ("evaluationPeriods", "evaluation_periods", int, "3", 1, None),
    )
    return Alarms(**r.typed_fields(name, key, value, specs))

"""Where `pulumi up` waits: one CodeDeploy blue/green deployment, to its end.

`deploy()` starts a deployment of a task definition to an ECS service through
its CodeDeploy deployment group, reports what changes while it runs (status,
traffic share, lifecycle hooks) and returns once CodeDeploy says Succeeded, or
raises `DeploymentFailed` with one line that says what went wrong and whether
the rollback finished. It only talks to AWS through the two boto3 clients it
is given, so tests drive it with Stubber, moto or a fake clock.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
TERMINAL_STATUSES = ("Succeeded", "Failed", "Stopped")

# Error codes AWS services use for "slow down"; each means try again later.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "TooManyRequests",
        "SlowDown",
        "PriorRequestNotComplete",
    }
)

# CodeDeploy publishes no rate for its read calls. We assume about ten
# requests a second per account and region, shared by everything that
# reads deployments there. A poll costs two reads (the deployment and, while
# it runs, its ECS target), so 200 services polling every 15 s would make
# about 27 reads a second at worst: the clients are therefore shared per
# region and profile (botocore's adaptive mode then slows the whole process
# once CodeDeploy refuses), and every interval is jittered so the polls of
# services started together drift apart instead of arriving in bursts.
# The deployment resource lets the provider host run 32 deployments at once
# by default: at most about 5 reads a second, within that budget.
POLL_JITTER = 0.2

# botocore retries each call this many times (adaptive mode) before our own
# bounded retry, which a test can drive, sees the throttling error.
BOTOCORE_MAX_ATTEMPTS = 5


class DeployError(Exception):
    """A call to AWS failed; the message names what it was doing."""


class DeploymentFailed(DeployError):
    """CodeDeploy ended the deployment other than Succeeded, or we gave up."""


@dataclass(frozen=True)
class DeploymentSpec:
    """What to deploy where, as declared in the service folder and stack."""

    service: str
    application: str
    deployment_group: str
    cluster: str
    ecs_service: str
    task_definition_arn: str
    container_name: str
    container_port: int
    platform_version: str | None = None
    network_configuration: Mapping[str, Any] | None = None
    capacity_provider_strategy: list[Mapping[str, Any]] | None = None
    hooks: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: int = 3600
    poll_seconds: float = 15


@dataclass(frozen=True)
class DeploymentResult:
    deployment_id: str | None
    status: str
    skipped_reason: str | None = None


@dataclass(frozen=True)
class Retry:
    """Bounded exponential backoff with full jitter, for throttled calls."""

    attempts: int = 6
    base_seconds: float = 1.0
    cap_seconds: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2**attempt))


@dataclass(frozen=True)
class Clients:
    codedeploy: Any
    ecs: Any


@dataclass(frozen=True)
class AssumeRole:
    """One entry of the AWS provider's `aws:assumeRoles`."""

    role_arn: str
    session_name: str = "ecs-fleet-deploy"
    external_id: str | None = None


@dataclass(frozen=True)
class AwsAccess:
    """Where and as whom the deploy calls AWS: the stack's provider config
    (`aws:region`, `aws:profile`, `aws:assumeRoles`), so a deployment acts
    in the account and with the rights of the resources it deploys."""

    region: str
    profile: str | None = None
    assume_roles: tuple[AssumeRole, ...] = ()


_CLIENTS: dict[AwsAccess, Clients] = {}
_CLIENTS_LOCK = threading.Lock()


def make_clients(access: AwsAccess) -> Clients:
    """The CodeDeploy and ECS clients for the stack's AWS provider config.

    One pair per access in the process: boto3 clients are thread-safe, and
    sharing them lets adaptive retry mode pace every deployment the process
    is watching, not each one on its own.
    """
    with _CLIENTS_LOCK:
        if access not in _CLIENTS:
            from botocore.config import Config

            session = aws_session(access)
            config = Config(
                retries={"mode": "adaptive", "max_attempts": BOTOCORE_MAX_ATTEMPTS},
                user_agent_extra="ecs-fleet",
            )
            _CLIENTS[access] = Clients(
                codedeploy=session.client("codedeploy", config=config),
                ecs=session.client("ecs", config=config),
            )
        return _CLIENTS[access]


def aws_session(access: AwsAccess):
    """A boto3 session for `access`, each role of the chain assumed in turn.

    Assumed credentials last an hour and a deployment may wait longer, so
    they refresh themselves (botocore asks again before they expire).
    """
    import boto3
    from botocore.credentials import RefreshableCredentials
    from botocore.session import get_session

    session = boto3.session.Session(
        profile_name=access.profile, region_name=access.region
    )
    for role in access.assume_roles:
        sts = session.client("sts")

        def fetch(sts=sts, role=role) -> dict[str, str]:
            params = {"RoleArn": role.role_arn, "RoleSessionName": role.session_name}
            if role.external_id:
                params["ExternalId"] = role.external_id
            credentials = sts.assume_role(**params)["Credentials"]
            return {
                "access_key": credentials["AccessKeyId"],
                "secret_key": credentials["SecretAccessKey"],
                "token": credentials["SessionToken"],
                "expiry_time": credentials["Expiration"].isoformat(),
            }

        botocore_session = get_session()
        botocore_session._credentials = RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )
        session = boto3.session.Session(
            botocore_session=botocore_session, region_name=access.region
        )
    return session


def build_appspec(spec: DeploymentSpec) -> dict[str, Any]:
    """The AppSpec for an ECS deployment, from what the service declares.

    Network and capacity settings come from the declaration rather than from
    the running service, so a deployment also carries a change to them.
    """
    properties: dict[str, Any] = {
        "TaskDefinition": spec.task_definition_arn,
        "LoadBalancerInfo": {
            "ContainerName": spec.container_name,
            "ContainerPort": spec.container_port,
        },
    }
    if spec.platform_version:
        properties["PlatformVersion"] = spec.platform_version
    awsvpc = (spec.network_configuration or {}).get("awsvpcConfiguration")
    if awsvpc:
        network = {
            "Subnets": list(awsvpc.get("subnets", [])),
            "SecurityGroups": list(awsvpc.get("securityGroups", [])),
        }
        if "assignPublicIp" in awsvpc:
            network["AssignPublicIp"] = awsvpc["assignPublicIp"]
        properties["NetworkConfiguration"] = {"AwsvpcConfiguration": network}
    if spec.capacity_provider_strategy:
        properties["CapacityProviderStrategy"] = [
            {
                "Base": item.get("base", 0),
                "CapacityProvider": item["capacityProvider"],
                "Weight": item.get("weight", 0),
            }
            for item in spec.capacity_provider_strategy
        ]
    appspec: dict[str, Any] = {
        "version": 0.0,
        "Resources": [
            {"TargetService": {"Type": "AWS::ECS::Service", "Properties": properties}}
        ],
    }
    if spec.hooks:
        appspec["Hooks"] = [{event: fn} for event, fn in spec.hooks.items()]
    return appspec


def appspec_revision(spec: DeploymentSpec) -> dict[str, Any]:
    content = json.dumps(build_appspec(spec), sort_keys=True)
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {
            "content": content,
            "sha256": hashlib.sha256(content.encode()).hexdigest(),
        },
    }


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def deploy(
    spec: DeploymentSpec,
    *,
    codedeploy: Any,
    ecs: Any,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = _stderr,
    retry: Retry = Retry(),
    rng: random.Random | None = None,
) -> DeploymentResult:
    """Deploy `spec.task_definition_arn` and wait for CodeDeploy to finish.

    A deployment of the same task definition that is already under way is
    followed rather than duplicated (a `pulumi up` after one that timed out
    picks up where it left off). One of another task definition is waited
    for, whatever its outcome, and ours starts after it: CodeDeploy runs one
    deployment per group at a time, and stopping someone else's would roll
    back a release this run knows nothing about.
    """
    run = _Run(spec, codedeploy, ecs, clock, sleep, log, retry, rng or random.Random())
    return run.deploy()


class _Run:
    def __init__(self, spec, codedeploy, ecs, clock, sleep, log, retry, rng):
        self.spec = spec
        self.codedeploy = codedeploy
        self.ecs = ecs
        self.clock = clock
        self.sleep = sleep
        self.log = log
        self.retry = retry
        self.rng = rng

    def deploy(self) -> DeploymentResult:
        spec = self.spec
        for deployment_id, info in self._active_deployments():
            other = _task_definition_of(info)
            if other == spec.task_definition_arn:
                self.log(
                    f"{spec.service}: deployment {deployment_id} of "
                    f"{_short(other)} is already {info['status']}; following it"
                )
                return self._follow(deployment_id)
            self.log(
                f"{spec.service}: waiting for deployment {deployment_id} of "
                f"{_short(other) if other else 'another revision'} "
                f"({info['status']}) to end before starting ours"
            )
            self._wait_for_other(deployment_id)

        running = self._running_task_definition()
        if running == spec.task_definition_arn:
            reason = f"service {spec.ecs_service} already runs {_short(running)}"
            self.log(f"{spec.service}: no deployment needed, {reason}")
            return DeploymentResult(None, "Skipped", reason)

        deployment_id = self._create()
        self.log(
            f"{spec.service}: started deployment {deployment_id} of "
            f"{_short(spec.task_definition_arn)}"
        )
        return self._follow(deployment_id)

    def _call(self, doing: str, method: Callable[..., dict], **kwargs) -> dict:
        """One AWS call, retried while throttled; other errors say `doing`."""
        for attempt in range(self.retry.attempts):
            try:
                return method(**kwargs)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code not in THROTTLING_CODES:
                    raise self._error(doing, _cause(error)) from error
                if attempt + 1 == self.retry.attempts:
                    raise self._error(
                        doing,
                        f"still throttled after {self.retry.attempts} attempts "
                        f"({_cause(error)}); try again when fewer deployments "
                        "run at once",
                    ) from error
                self.sleep(self.retry.delay(attempt, self.rng))
            except BotoCoreError as error:
                raise self._error(doing, str(error)) from error
        raise AssertionError("unreachable: the loop returns or raises")

    def _error(self, doing: str, cause: str) -> DeployError:
        return DeployError(
            f"failed to {doing} for service {self.spec.service}: {cause}"
        )

    def _active_deployments(self) -> list[tuple[str, dict]]:
        doing = "list the CodeDeploy deployments in progress"
        ids: list[str] = []
        kwargs = {
            "applicationName": self.spec.application,
            "deploymentGroupName": self.spec.deployment_group,
            "includeOnlyStatuses": list(ACTIVE_STATUSES),
        }
        while True:
            page = self._call(doing, self.codedeploy.list_deployments, **kwargs)
            ids.extend(page.get("deployments", []))
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return [(deployment_id, self._get(deployment_id)) for deployment_id in ids]

    def _running_task_definition(self) -> str | None:
        spec = self.spec
        doing = f"read ECS service {spec.ecs_service} in cluster {spec.cluster}"
        answer = self._call(
            doing,
            self.ecs.describe_services,
            cluster=spec.cluster,
            services=[spec.ecs_service],
        )
        services = answer.get("services", [])
        if not services:
            reasons = ", ".join(
                f.get("reason", "?") for f in answer.get("failures", [])
            )
            raise self._error(doing, reasons or "not found")
        return _running_task_definition(services[0])

    def _create(self) -> str:
        spec = self.spec
        answer = self._call(
            "start the CodeDeploy deployment",
            self.codedeploy.create_deployment,
            applicationName=spec.application,
            deploymentGroupName=spec.deployment_group,
            revision=appspec_revision(spec),
            description=f"ecs-fleet: {spec.service} to {spec.task_definition_arn}",
        )
        return answer["deploymentId"]

    def _get(self, deployment_id: str) -> dict:
        answer = self._call(
            f"read CodeDeploy deployment {deployment_id}",
            self.codedeploy.get_deployment,
            deploymentId=deployment_id,
        )
        return answer["deploymentInfo"]

    def _interval(self) -> float:
        # Jitter only shortens the interval, so the wait never adds more
        # than poll_seconds to CodeDeploy's own duration.
        return self.spec.poll_seconds * self.rng.uniform(1 - POLL_JITTER, 1)

    def _watch(
        self, deployment_id: str, progress: _Progress | None
    ) -> tuple[dict, bool]:
        """Poll until the deployment ends; returns its info and whether we
        gave up first."""
        deadline = self.clock() + self.spec.timeout_seconds
        last_status = None
        while True:
            info = self._get(deployment_id)
            status = info.get("status", "Unknown")
            if progress is not None:
                progress.deployment(info)
                if status == "InProgress":
                    target = self._target(deployment_id, progress)
                    if target is not None:
                        progress.target(target)
            elif status != last_status:
                self.log(f"{self.spec.service}: deployment {deployment_id} is {status}")
            last_status = status
            if status in TERMINAL_STATUSES:
                return info, False
            remaining = deadline - self.clock()
            if remaining <= 0:
                return info, True
            self.sleep(min(self._interval(), remaining))

    def _target(self, deployment_id: str, progress: _Progress) -> dict | None:
        """The ECS target of the deployment, for its traffic and hooks.

        An ECS deployment has a single target, `<cluster>:<service>`, that
        appears once CodeDeploy has started on it.
        """
        if progress.target_id is None:
            answer = self._call(
                f"list the targets of CodeDeploy deployment {deployment_id}",
                self.codedeploy.list_deployment_targets,
                deploymentId=deployment_id,
            )
            ids = answer.get("targetIds", [])
            if not ids:
                return None
            progress.target_id = ids[0]
        answer = self._call(
            f"read the ECS target of CodeDeploy deployment {deployment_id}",
            self.codedeploy.get_deployment_target,
            deploymentId=deployment_id,
            targetId=progress.target_id,
        )
        return answer.get("deploymentTarget", {}).get("ecsTarget")

    def _follow(self, deployment_id: str) -> DeploymentResult:
        progress = _Progress(self.spec.service, deployment_id, self.log)
        info, gave_up = self._watch(deployment_id, progress)
        status = info.get("status", "Unknown")
        if status == "Succeeded":
            return DeploymentResult(deployment_id, status)
        if gave_up:
            # Not stopped: the deployment group's alarms and rollback settings
            # still guard it, and after the traffic shift a stop would roll
            # back a healthy release. The user decides, with the command below.
            raise DeploymentFailed(
                f"deployment {deployment_id} of service {self.spec.service} is "
                f"still {status} after {self.spec.timeout_seconds} s, the time "
                "this run waits; it is still running in CodeDeploy: follow it "
                f"with `aws deploy get-deployment --deployment-id {deployment_id}` "
                "and run `pulumi up` again, or roll it back with "
                f"`aws deploy stop-deployment --deployment-id {deployment_id} "
                "--auto-rollback-enabled`"
            )
        raise DeploymentFailed(
            f"deployment {deployment_id} of service {self.spec.service} {status}: "
            f"{_reason(info)}; {self._rollback(info)}"
        )

    def _wait_for_other(self, deployment_id: str) -> None:
        info, gave_up = self._watch(deployment_id, None)
        if gave_up:
            raise DeploymentFailed(
                f"deployment {deployment_id} of service {self.spec.service}, "
                f"started elsewhere, is still {info.get('status')} after "
                f"{self.spec.timeout_seconds} s; ours was not started: run "
                "`pulumi up` again once it has ended"
            )

    def _rollback(self, info: dict) -> str:
        rollback = info.get("rollbackInfo") or {}
        rollback_id = rollback.get("rollbackDeploymentId")
        if not rollback_id:
            message = rollback.get("rollbackMessage")
            if message:
                return f"no rollback deployment: {message}"
            return (
                "no rollback was started; the deployment group's automatic "
                "rollback settings decide that"
            )
        rollback_info = self._get(rollback_id)
        status = rollback_info.get("status", "Unknown")
        if status == "Succeeded":
            return f"rollback {rollback_id} finished: the previous task set serves"
        if status in ACTIVE_STATUSES:
            return (
                f"rollback {rollback_id} not finished ({status}): follow it with "
                f"`aws deploy get-deployment --deployment-id {rollback_id}`"
            )
        return f"rollback {rollback_id} {status}: {_reason(rollback_info)}"


class _Progress:
    """Prints a line when something changed since the last poll, and only then."""

    def __init__(self, service: str, deployment_id: str, log: Callable[[str], None]):
        self.prefix = f"{service}: deployment {deployment_id}"
        self.log = log
        self.target_id: str | None = None
        self.status: str | None = None
        self.traffic: tuple[tuple[str, float], ...] | None = None
        self.events: dict[str, str] = {}

    def deployment(self, info: dict) -> None:
        status = info.get("status", "Unknown")
        if status == self.status:
            return
        self.status = status
        line = f"{self.prefix} is {status}"
        if status == "Ready":
            line += (
                ", waiting for traffic to be rerouted: `aws deploy "
                f"continue-deployment --deployment-id {info.get('deploymentId')}`"
            )
        elif status == "Baking":
            line += ", traffic shifted; the original tasks stay until the wait ends"
        self.log(line)

    def target(self, target: dict) -> None:
        for event in target.get("lifecycleEvents", []):
            name = event.get("lifecycleEventName", "?")
            status = event.get("status", "Unknown")
            if status == self.events.get(name, "Pending"):
                continue
            self.events[name] = status
            line = f"{self.prefix}: {name} {status}"
            message = (event.get("diagnostics") or {}).get("message")
            if status == "Failed" and message:
                line += f": {message}"
            self.log(line)

        traffic = tuple(
            (task_set.get("taskSetLabel", "?").lower(), task_set["trafficWeight"])
            for task_set in sorted(
                target.get("taskSetsInfo", []),
                key=lambda task_set: task_set.get("taskSetLabel", ""),
            )
            if "trafficWeight" in task_set
        )
        if traffic and traffic != self.traffic:
            self.traffic = traffic
            shares = ", ".join(f"{label} {weight:g}%" for label, weight in traffic)
            self.log(f"{self.prefix}: traffic {shares}")


def _running_task_definition(service: dict) -> str | None:
    """The task definition serving the service's traffic.

    A service under the CODE_DEPLOY controller reports task sets, the
    PRIMARY one serving; other services report a PRIMARY deployment.
    """
    for task_set in service.get("taskSets", []):
        if task_set.get("status") == "PRIMARY":
            return task_set.get("taskDefinition")
    for deployment in service.get("deployments", []):
        if deployment.get("status") == "PRIMARY":
            return deployment.get("taskDefinition")
    return service.get("taskDefinition")


def _task_definition_of(info: dict) -> str | None:
    """The task definition a deployment's AppSpec names, when it has one.

    Deployments started elsewhere (the console, ecspresso) may carry YAML;
    S3 and GitHub revisions cannot be read from here and count as unknown.
    """
    content = ((info.get("revision") or {}).get("appSpecContent") or {}).get("content")
    if not content:
        return None
    try:
        appspec = json.loads(content)
    except ValueError:
        import yaml

        try:
            appspec = yaml.safe_load(content)
        except yaml.YAMLError:
            return None
    if not isinstance(appspec, dict):
        return None
    for resource in appspec.get("Resources") or []:
        for target in (resource or {}).values():
            properties = (target or {}).get("Properties") or {}
            if properties.get("TaskDefinition"):
                return properties["TaskDefinition"]
    return None


def _reason(info: dict) -> str:
    error = info.get("errorInformation") or {}
    code, message = error.get("code"), error.get("message")
    if code and message:
        return f"{code}: {message}"
    return code or message or "CodeDeploy gave no reason"


def _cause(error: ClientError) -> str:
    details = error.response.get("Error", {})
    code = details.get("Code", "Unknown")
    message = details.get("Message")
    return f"{code}: {message}" if message else code


def _short(task_definition_arn: str | None) -> str:
    """`family:revision` from a task definition ARN, for progress lines."""
    if not task_definition_arn:
        return "an unknown task definition"
    return task_definition_arn.rsplit("/", 1)[-1]

"""The deployment itself, as a resource: `pulumi up` waits here.

`CodeDeployDeployment` is a dynamic resource whose provider runs
`fleet.deploy.deploy` whenever the task definition ARN (or anything else the
AppSpec is built from) changes, and fails the update when CodeDeploy fails
or rolls back. Its outputs are the deployment id and final status.

Pulumi pickles the provider into the state and unpickles it in a separate
process, so the provider holds no clients and imports boto3 only when it
runs; the program's own run, previews and the offline mock engine never
call AWS through it.

Pulumi's Python dynamic provider host serves every dynamic resource of the
program from one process whose gRPC server has four worker threads, so on
its own it runs at most four deployments at once. When this module is
imported inside that host (to unpickle the provider), it widens the host's
thread pool to `ECS_FLEET_DEPLOY_CONCURRENCY` workers (32 by default): see
`widen_provider_host`. If the host is not shaped as expected, it is left
alone and deployments run four at a time.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from fleet.deploy import AssumeRole, AwsAccess, DeploymentResult, DeploymentSpec

Runner = Callable[[DeploymentSpec, AwsAccess], DeploymentResult]

# The inputs the AppSpec and the deployment's target are built from: a change
# to any of them is a new deployment. Region, profile and the polling
# settings only change how this run talks to AWS.
DEPLOYING_INPUTS = (
    "application",
    "deployment_group",
    "cluster",
    "ecs_service",
    "task_definition_arn",
    "container_name",
    "container_port",
    "platform_version",
    "network_configuration",
    "capacity_provider_strategy",
    "hooks",
)
SPEC_FIELDS = tuple(f.name for f in dataclasses.fields(DeploymentSpec))

CONCURRENCY_ENV = "ECS_FLEET_DEPLOY_CONCURRENCY"
DEFAULT_CONCURRENCY = 32
# What `python -m pulumi.dynamic` gives its gRPC server (pulumi 3.272.0):
# `futures.ThreadPoolExecutor(max_workers=4)`, one thread per call in flight.
HOST_WORKERS = 4
# The module `python -m pulumi.dynamic` runs as `__main__`.
HOST_MAIN = "pulumi.dynamic.__main__"


@dataclass
class DeploymentArgs:
    """What `CodeDeployDeployment` deploys; the fields of `DeploymentSpec`
    as Pulumi inputs, plus the AWS provider settings of the stack."""

    service: pulumi.Input[str]
    application: pulumi.Input[str]
    deployment_group: pulumi.Input[str]
    cluster: pulumi.Input[str]
    ecs_service: pulumi.Input[str]
    task_definition_arn: pulumi.Input[str]
    container_name: pulumi.Input[str]
    container_port: pulumi.Input[int]
    region: pulumi.Input[str]
    profile: pulumi.Input[str] | None = None
    # `aws:assumeRoles`: [{role_arn, session_name, external_id}], in order.
    assume_roles: pulumi.Input[list[Mapping[str, str]]] | None = None
    platform_version: pulumi.Input[str] | None = None
    network_configuration: pulumi.Input[Mapping[str, Any]] | None = None
    capacity_provider_strategy: pulumi.Input[list[Mapping[str, Any]]] | None = None
    hooks: pulumi.Input[Mapping[str, str]] = field(default_factory=dict)
    timeout_seconds: pulumi.Input[int] = 3600
    poll_seconds: pulumi.Input[float] = 15


def spec_from(props: Mapping[str, Any]) -> DeploymentSpec:
    """The `DeploymentSpec` that resource properties describe."""
    values = {name: props[name] for name in SPEC_FIELDS if props.get(name) is not None}
    values["container_port"] = int(values["container_port"])
    values["timeout_seconds"] = int(values.get("timeout_seconds", 3600))
    values["hooks"] = dict(values.get("hooks") or {})
    return DeploymentSpec(**values)


def access_from(props: Mapping[str, Any]) -> AwsAccess:
    """The `AwsAccess` that resource properties describe."""
    return AwsAccess(
        region=props["region"],
        profile=props.get("profile"),
        assume_roles=tuple(
            AssumeRole(
                role_arn=role["role_arn"],
                session_name=role.get("session_name") or "ecs-fleet-deploy",
                external_id=role.get("external_id"),
            )
            for role in props.get("assume_roles") or ()
        ),
    )


def _run_with_boto3(spec: DeploymentSpec, access: AwsAccess) -> DeploymentResult:
    from fleet.deploy import deploy, make_clients

    clients = make_clients(access)
    return deploy(spec, codedeploy=clients.codedeploy, ecs=clients.ecs)


class DeploymentProvider(ResourceProvider):
    """Runs a CodeDeploy deployment on create, and on update when it matters.

    `runner` exists for tests; left as None, the provider deploys with boto3.
    """

    def __init__(self, runner: Runner | None = None):
        super().__init__()
        self.runner = runner

    def _deploy(self, props: Mapping[str, Any]) -> dict[str, Any]:
        run = self.runner or _run_with_boto3
        result = run(spec_from(props), access_from(props))
        return {
            **props,
            "deployment_id": result.deployment_id,
            "status": result.status,
            "skipped_reason": result.skipped_reason,
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._deploy(props)
        # The resource stands for "this service runs what was declared", so
        # its id is stable: the deployment id of the moment is an output.
        return CreateResult(id_=f"{props['cluster']}/{props['ecs_service']}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Pure: runs during `pulumi preview`, where nothing may call AWS. An
        # input still unknown in preview differs from any old value, so the
        # deployment shows as an update whenever the task definition may change.
        changed = [
            name for name in DEPLOYING_INPUTS if olds.get(name) != news.get(name)
        ]
        return DiffResult(changes=bool(changed), replaces=[], stables=[])

    def update(
        self, _id: str, _olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        return UpdateResult(outs=self._deploy(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to delete: a deployment is history, and the service stays."""


class CodeDeployDeployment(
    pulumi.dynamic.Resource, module="deployment", name="CodeDeployDeployment"
):
    """One service's blue/green deployment of its current task definition.

    Dynamic resources all carry Pulumi's `pulumi-python:dynamic/...` type, so
    this one is `pulumi-python:dynamic/deployment:CodeDeployDeployment`; pass
    a logical name prefixed with the service, such as `order-deployment`.
    """

    deployment_id: pulumi.Output[str | None]
    status: pulumi.Output[str]
    skipped_reason: pulumi.Output[str | None]
    task_definition_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: DeploymentArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        # Not dataclasses.asdict: it deep-copies, and Outputs do not copy.
        props = {
            **{f.name: getattr(args, f.name) for f in dataclasses.fields(args)},
            "deployment_id": None,
            "status": None,
            "skipped_reason": None,
        }
        super().__init__(DeploymentProvider(), name, props, opts)


# Known workaround. Pulumi runs every Python dynamic resource of a program in
# one provider host process, `python -m pulumi.dynamic`, whose gRPC server is
# built with a four-thread pool and offers no setting to change that. A
# deployment holds its thread for as long as CodeDeploy takes (often 10 to 40
# minutes), so a fleet of 40 services would deploy in ten batches of four.
# `ThreadPoolExecutor` reads `_max_workers` at every submit, so raising it on
# the host's pool lets up to `ECS_FLEET_DEPLOY_CONCURRENCY` calls run at once.
# This relies on the host's internals as of pulumi 3.272.0 (the pinned
# version); tests/test_provider_host.py checks it against the real host. A
# version that builds the host differently is detected and left alone, and
# deployments then run four at a time again.
#
# CodeDeploy's pace still holds at the default: fleet/deploy.py budgets about
# ten reads a second per account and region, and a deployment makes at most
# two reads per poll, one poll every 12 to 15 s (jitter only shortens it).
# 32 deployments at once make at most 32 * 2 / 12, about 5.3 reads a second,
# plus a few one-off calls as each starts; the budget is reached near 60, and
# beyond it botocore's adaptive mode, shared by every deployment of the
# process, slows the polls down.

_widen_lock = threading.Lock()
_widen_done = False


def deploy_concurrency(environ: Mapping[str, str] = os.environ) -> int:
    """How many deployments the provider host may run at once."""
    raw = environ.get(CONCURRENCY_ENV, "").strip()
    if not raw:
        return DEFAULT_CONCURRENCY
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        print(
            f"ecs-fleet: {CONCURRENCY_ENV}={raw!r} is not a positive whole "
            f"number; deploying up to {DEFAULT_CONCURRENCY} services at once",
            file=sys.stderr,
        )
        return DEFAULT_CONCURRENCY
    return value


def _in_provider_host() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) == HOST_MAIN


def _host_pool() -> ThreadPoolExecutor | None:
    """The host's gRPC thread pool, only when it is unmistakably that one.

    It must be the pool of the process's single gRPC server, a plain
    `ThreadPoolExecutor` of exactly the host's four workers, one of which is
    running this import (the host unpickles providers inside a call).
    """
    try:
        from grpc._server import _ServerState
    except ImportError:
        return None
    states = [obj for obj in gc.get_objects() if isinstance(obj, _ServerState)]
    if len(states) != 1:
        return None
    pool = getattr(states[0], "thread_pool", None)
    if type(pool) is not ThreadPoolExecutor:
        return None
    if getattr(pool, "_max_workers", None) != HOST_WORKERS:
        return None
    if threading.current_thread() not in getattr(pool, "_threads", ()):
        return None
    if not hasattr(pool, "_work_queue"):
        return None
    return pool


def _nothing() -> None:
    pass


def widen_provider_host(workers: int | None = None) -> bool:
    """Let Pulumi's dynamic provider host run `workers` calls at once.

    Does something only inside `python -m pulumi.dynamic`, once per process;
    returns whether the host's pool was widened by this call. Never raises:
    a host it does not recognise keeps its four threads, with one line on
    stderr.
    """
    global _widen_done
    if not _in_provider_host():
        return False
    with _widen_lock:
        if _widen_done:
            return False
        _widen_done = True
        wanted = deploy_concurrency() if workers is None else workers
        if wanted <= HOST_WORKERS:
            return False
        try:
            pool = _host_pool()
            if pool is None:
                print(
                    "ecs-fleet: Pulumi's dynamic provider host is not the one "
                    "this version knows; deployments run four at a time",
                    file=sys.stderr,
                )
                return False
            pool._max_workers = wanted
            # Calls that arrived while all four threads were busy wait in the
            # queue, and a thread is only added on submit: one no-op submit
            # per waiting call starts the threads they need.
            waiting = min(pool._work_queue.qsize(), wanted - HOST_WORKERS)
            for _ in range(waiting):
                pool.submit(_nothing)
            return True
        except Exception as error:  # whatever went wrong, the deploy goes on
            print(
                f"ecs-fleet: could not widen Pulumi's dynamic provider host "
                f"({type(error).__name__}: {error}); deployments run four at a time",
                file=sys.stderr,
            )
            return False


widen_provider_host()

"""The deployment itself, as a resource: `pulumi up` waits here.

`CodeDeployDeployment` is a dynamic resource whose provider runs
`fleet.deploy.deploy` whenever the task definition ARN (or anything else the
AppSpec is built from) changes, and fails the update when CodeDeploy fails
or rolls back. Its outputs are the deployment id and final status.

Pulumi pickles the provider into the state and unpickles it in a separate
process, so the provider holds no clients and imports boto3 only when it
runs; the program's own run, previews and the offline mock engine never
call AWS through it.

Known shortcoming: Pulumi's Python dynamic provider host serves every
dynamic resource of the program from one process with four worker threads,
so at most four deployments run at once, whatever `--parallel` says; the
others queue behind them. A fleet of hundreds of services therefore deploys
four at a time until the deploys are split into a start and a shared wait.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from fleet.deploy import DeploymentResult, DeploymentSpec

Runner = Callable[[DeploymentSpec, str, "str | None"], DeploymentResult]

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


def _run_with_boto3(
    spec: DeploymentSpec, region: str, profile: str | None
) -> DeploymentResult:
    from fleet.deploy import deploy, make_clients

    clients = make_clients(region, profile)
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
        result = run(spec_from(props), props["region"], props.get("profile"))
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

"""The `CodeDeployDeployment` dynamic resource and its provider, offline."""

from __future__ import annotations

import base64

import dill
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc

from components.deployment import (
    CodeDeployDeployment,
    DeploymentArgs,
    DeploymentProvider,
)
from fleet.deploy import DeploymentResult, DeploymentSpec

ARN = "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-order:42"

PROPS = {
    "service": "order",
    "application": "shop",
    "deployment_group": "shop-order",
    "cluster": "shop-dev",
    "ecs_service": "order",
    "task_definition_arn": ARN,
    "container_name": "app",
    "container_port": 8080,
    "region": "eu-west-1",
    "profile": None,
    "platform_version": None,
    "network_configuration": None,
    "capacity_provider_strategy": None,
    "hooks": {"AfterAllowTestTraffic": "shop-dev-order-smoke-test"},
    "timeout_seconds": 3600,
    "poll_seconds": 15,
}


class RecordingRunner:
    def __init__(self):
        self.calls = []

    def __call__(self, spec, access):
        self.calls.append((spec, access.region, access.profile))
        return DeploymentResult("d-1", "Succeeded")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({}, False, id="nothing-changed"),
        pytest.param({"task_definition_arn": ARN[:-2] + "43"}, True, id="new-arn"),
        pytest.param({"task_definition_arn": rpc.UNKNOWN}, True, id="unknown-arn"),
        pytest.param({"hooks": {}}, True, id="hooks-removed"),
        pytest.param({"container_port": 9090}, True, id="new-port"),
        pytest.param({"poll_seconds": 30}, False, id="poll-interval"),
        pytest.param({"timeout_seconds": 60}, False, id="timeout"),
        pytest.param({"region": "eu-west-2"}, False, id="region"),
        pytest.param({"profile": "prod"}, False, id="profile"),
    ],
)
def test_diff_reports_a_change_only_when_the_deployment_would_differ(change, expected):
    olds = {**PROPS, "deployment_id": "d-1", "status": "Succeeded"}

    diff = DeploymentProvider(RecordingRunner()).diff(
        "shop-dev/order", olds, {**PROPS, **change}
    )

    assert diff.changes is expected
    assert diff.replaces == []


def test_diff_calls_nothing_so_a_preview_touches_no_aws():
    runner = RecordingRunner()

    DeploymentProvider(runner).diff(
        "shop-dev/order", PROPS, {**PROPS, "task_definition_arn": rpc.UNKNOWN}
    )

    assert runner.calls == []


def test_create_deploys_the_declared_spec_with_the_stack_region():
    runner = RecordingRunner()

    result = DeploymentProvider(runner).create(dict(PROPS))

    assert runner.calls == [
        (
            DeploymentSpec(
                service="order",
                application="shop",
                deployment_group="shop-order",
                cluster="shop-dev",
                ecs_service="order",
                task_definition_arn=ARN,
                container_name="app",
                container_port=8080,
                hooks={"AfterAllowTestTraffic": "shop-dev-order-smoke-test"},
            ),
            "eu-west-1",
            None,
        )
    ]
    assert result.id == "shop-dev/order"
    assert result.outs["deployment_id"] == "d-1"
    assert result.outs["status"] == "Succeeded"
    assert result.outs["task_definition_arn"] == ARN


def test_update_deploys_the_new_task_definition():
    runner = RecordingRunner()
    news = {**PROPS, "task_definition_arn": ARN[:-2] + "43", "profile": "prod"}

    result = DeploymentProvider(runner).update("shop-dev/order", PROPS, news)

    spec, _, profile = runner.calls[0]
    assert spec.task_definition_arn == ARN[:-2] + "43"
    assert profile == "prod"
    assert result.outs["task_definition_arn"] == ARN[:-2] + "43"


def test_delete_leaves_the_deployment_history_alone():
    runner = RecordingRunner()

    DeploymentProvider(runner).delete("shop-dev/order", PROPS)

    assert runner.calls == []


def test_the_provider_survives_the_pickling_pulumi_does():
    serialized = serialize_provider(DeploymentProvider())

    provider = dill.loads(base64.b64decode(serialized))

    assert isinstance(provider, DeploymentProvider)
    assert provider.runner is None


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.resources = []

    def new_resource(self, args):
        self.resources.append(args)
        return f"{args.name}-id", args.inputs

    def call(self, args):
        return {}


@pytest.fixture
def mocks():
    recorded = RecordingMocks()
    pulumi.runtime.set_mocks(recorded, preview=False)
    yield recorded
    pulumi.runtime.settings.reset_options()


@pulumi.runtime.test
def test_the_resource_registers_under_its_type_with_the_declared_inputs(mocks):
    args = DeploymentArgs(
        **{
            k: v
            for k, v in PROPS.items()
            if k not in ("task_definition_arn", "profile")
        },
        task_definition_arn=pulumi.Output.from_input(ARN),
    )

    deployment = CodeDeployDeployment("order-deployment", args)

    def check(_):
        (registered,) = mocks.resources
        assert registered.typ == (
            "pulumi-python:dynamic/deployment:CodeDeployDeployment"
        )
        assert registered.name == "order-deployment"
        assert registered.inputs["task_definition_arn"] == ARN
        assert registered.inputs["cluster"] == "shop-dev"

    return deployment.urn.apply(check)

"""The deploy-time engine, against Stubber-driven boto3 clients and moto.

Neither can run a real blue/green deployment: Stubber answers what each test
scripts, and moto never moves a deployment past Created, so the tests drive
the status themselves. What CodeDeploy really sends while traffic shifts is
taken from its API model, not observed.
"""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.codedeploy.models import codedeploy_backends

from fleet.deploy import (
    DeployError,
    DeploymentFailed,
    DeploymentResult,
    DeploymentSpec,
    Retry,
    appspec_revision,
    build_appspec,
    deploy,
)

REGION = "eu-west-1"
ACCOUNT = "123456789012"
OLD_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-order:41"
NEW_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-order:42"

SPEC = DeploymentSpec(
    service="order",
    application="shop",
    deployment_group="shop-order",
    cluster="shop-dev",
    ecs_service="order",
    task_definition_arn=NEW_ARN,
    container_name="app",
    container_port=8080,
    timeout_seconds=3600,
    poll_seconds=15,
)


class FakeClock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []
        self.on_sleep = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(self.now)


class NoJitter:
    """Picks the top of every range: full poll intervals, full backoff."""

    def uniform(self, _low: float, high: float) -> float:
        return high


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws():
    """Real boto3 clients whose every answer the test scripts, in order."""
    codedeploy = boto3.client("codedeploy", region_name=REGION)
    ecs = boto3.client("ecs", region_name=REGION)
    with Stubber(codedeploy) as codedeploy_stub, Stubber(ecs) as ecs_stub:
        yield Script(codedeploy, ecs, codedeploy_stub, ecs_stub)
        codedeploy_stub.assert_no_pending_responses()
        ecs_stub.assert_no_pending_responses()


class Script:
    def __init__(self, codedeploy, ecs, codedeploy_stub, ecs_stub):
        self.codedeploy = codedeploy
        self.ecs = ecs
        self.cd = codedeploy_stub
        self.ecs_stub = ecs_stub

    def active(self, *deployment_ids: str) -> None:
        self.cd.add_response(
            "list_deployments",
            {"deployments": list(deployment_ids)},
            {
                "applicationName": "shop",
                "deploymentGroupName": "shop-order",
                "includeOnlyStatuses": [
                    "Created",
                    "Queued",
                    "InProgress",
                    "Baking",
                    "Ready",
                ],
            },
        )

    def runs(self, arn: str, shape: str = "taskSets") -> None:
        service = {"serviceName": "order", "taskDefinition": OLD_ARN}
        if shape == "taskSets":
            service["taskSets"] = [
                {"status": "ACTIVE", "taskDefinition": OLD_ARN},
                {"status": "PRIMARY", "taskDefinition": arn},
            ]
        elif shape == "deployments":
            service["deployments"] = [{"status": "PRIMARY", "taskDefinition": arn}]
        else:
            service["taskDefinition"] = arn
        self.ecs_stub.add_response(
            "describe_services",
            {"services": [service], "failures": []},
            {"cluster": "shop-dev", "services": ["order"]},
        )

    def creates(self, deployment_id: str) -> None:
        self.cd.add_response(
            "create_deployment",
            {"deploymentId": deployment_id},
            {
                "applicationName": "shop",
                "deploymentGroupName": "shop-order",
                "revision": appspec_revision(SPEC),
                "description": ANY,
            },
        )

    def status(self, deployment_id: str, status: str, **info) -> None:
        self.cd.add_response(
            "get_deployment",
            {
                "deploymentInfo": {
                    "deploymentId": deployment_id,
                    "status": status,
                    **info,
                }
            },
            {"deploymentId": deployment_id},
        )

    def target(self, deployment_id: str, events=(), traffic=(), first=False) -> None:
        target_id = "shop-dev:order"
        if first:
            self.cd.add_response(
                "list_deployment_targets",
                {"targetIds": [target_id]},
                {"deploymentId": deployment_id},
            )
        self.cd.add_response(
            "get_deployment_target",
            {
                "deploymentTarget": {
                    "deploymentTargetType": "ECSTarget",
                    "ecsTarget": {
                        "deploymentId": deployment_id,
                        "targetId": target_id,
                        "status": "InProgress",
                        "lifecycleEvents": [
                            {"lifecycleEventName": name, "status": status}
                            for name, status in events
                        ],
                        "taskSetsInfo": [
                            {"taskSetLabel": label, "trafficWeight": weight}
                            for label, weight in traffic
                        ],
                    },
                }
            },
            {"deploymentId": deployment_id, "targetId": target_id},
        )


def run(script: Script, spec: DeploymentSpec = SPEC, clock=None, lines=None, **kwargs):
    clock = clock or FakeClock()
    lines = [] if lines is None else lines
    kwargs.setdefault("rng", NoJitter())
    result = deploy(
        spec,
        codedeploy=script.codedeploy,
        ecs=script.ecs,
        clock=clock,
        sleep=clock.sleep,
        log=lines.append,
        **kwargs,
    )
    return result, lines


def appspec_content(arn: str) -> dict:
    content = json.dumps({"Resources": [{"TargetService": {"Properties": {}}}]})
    content = content.replace("{}", json.dumps({"TaskDefinition": arn}))
    return {"revisionType": "AppSpecContent", "appSpecContent": {"content": content}}


def test_a_deployment_that_succeeds_returns_its_id(aws):
    aws.active()
    aws.runs(OLD_ARN)
    aws.creates("d-1")
    aws.status("d-1", "Created")
    aws.status("d-1", "Succeeded")

    result, lines = run(aws)

    assert result == DeploymentResult("d-1", "Succeeded")
    assert lines == [
        "order: started deployment d-1 of shop-order:42",
        "order: deployment d-1 is Created",
        "order: deployment d-1 is Succeeded",
    ]


ROLLED_BACK = {
    "errorInformation": {
        "code": "HOOK_EXECUTION_FAILURE",
        "message": "AfterAllowTestTraffic hook failed",
    },
    "rollbackInfo": {"rollbackDeploymentId": "d-2"},
}


@pytest.mark.parametrize(
    ("status", "info", "rollback_status", "expected"),
    [
        pytest.param(
            "Failed",
            ROLLED_BACK,
            "Succeeded",
            "deployment d-1 of service order Failed: HOOK_EXECUTION_FAILURE: "
            "AfterAllowTestTraffic hook failed; rollback d-2 finished: the "
            "previous task set serves",
            id="failed-rollback-finished",
        ),
        pytest.param(
            "Failed",
            ROLLED_BACK,
            "InProgress",
            "deployment d-1 of service order Failed: HOOK_EXECUTION_FAILURE: "
            "AfterAllowTestTraffic hook failed; rollback d-2 not finished "
            "(InProgress): follow it with `aws deploy get-deployment "
            "--deployment-id d-2`",
            id="failed-rollback-running",
        ),
        pytest.param(
            "Failed",
            ROLLED_BACK,
            "Failed",
            "deployment d-1 of service order Failed: HOOK_EXECUTION_FAILURE: "
            "AfterAllowTestTraffic hook failed; rollback d-2 Failed: "
            "CodeDeploy gave no reason",
            id="failed-rollback-failed",
        ),
        pytest.param(
            "Stopped",
            {
                "errorInformation": {
                    "code": "MANUAL_STOP",
                    "message": "The deployment was stopped by the user",
                },
                "rollbackInfo": {"rollbackMessage": "Rollback was not requested"},
            },
            None,
            "deployment d-1 of service order Stopped: MANUAL_STOP: The deployment "
            "was stopped by the user; no rollback deployment: Rollback was not "
            "requested",
            id="stopped-without-rollback",
        ),
        pytest.param(
            "Failed",
            {},
            None,
            "deployment d-1 of service order Failed: CodeDeploy gave no reason; "
            "no rollback was started; the deployment group's automatic rollback "
            "settings decide that",
            id="failed-without-reason",
        ),
    ],
)
def test_a_deployment_that_does_not_succeed_fails_with_one_line(
    aws, status, info, rollback_status, expected
):
    aws.active()
    aws.runs(OLD_ARN)
    aws.creates("d-1")
    aws.status("d-1", status, **info)
    if rollback_status:
        aws.status("d-2", rollback_status)

    with pytest.raises(DeploymentFailed) as failure:
        run(aws)

    assert str(failure.value) == expected


def test_a_deployment_still_running_at_the_timeout_is_left_running(aws):
    spec = DeploymentSpec(**{**SPEC.__dict__, "timeout_seconds": 60})
    aws.active()
    aws.runs(OLD_ARN)
    aws.creates("d-1")
    for _ in range(5):
        aws.status("d-1", "Created")
    clock = FakeClock()

    with pytest.raises(DeploymentFailed) as failure:
        run(aws, spec, clock=clock)

    assert clock.now == 60
    assert str(failure.value) == (
        "deployment d-1 of service order is still Created after 60 s, the time "
        "this run waits; it is still running in CodeDeploy: follow it with "
        "`aws deploy get-deployment --deployment-id d-1` and run `pulumi up` "
        "again, or roll it back with `aws deploy stop-deployment "
        "--deployment-id d-1 --auto-rollback-enabled`"
    )


@pytest.mark.parametrize("shape", ["taskSets", "deployments", "service"])
def test_a_service_that_already_runs_the_task_definition_gets_no_deployment(aws, shape):
    aws.active()
    aws.runs(NEW_ARN, shape=shape)

    result, lines = run(aws)

    assert result == DeploymentResult(
        None, "Skipped", "service order already runs shop-order:42"
    )
    assert lines == [
        "order: no deployment needed, service order already runs shop-order:42"
    ]


def test_a_deployment_of_the_same_revision_in_progress_is_followed_not_duplicated(
    aws,
):
    aws.active("d-0")
    aws.status("d-0", "Queued", revision=appspec_content(NEW_ARN))
    aws.status("d-0", "Queued")
    aws.status("d-0", "Succeeded")

    result, lines = run(aws)

    assert result == DeploymentResult("d-0", "Succeeded")
    assert lines[0] == (
        "order: deployment d-0 of shop-order:42 is already Queued; following it"
    )


def test_a_deployment_of_another_revision_is_waited_for_then_ours_starts(aws):
    aws.active("d-0")
    aws.status("d-0", "InProgress", revision=appspec_content(OLD_ARN))
    aws.status("d-0", "InProgress")
    aws.status("d-0", "Failed")
    aws.runs(OLD_ARN)
    aws.creates("d-1")
    aws.status("d-1", "Succeeded")

    result, lines = run(aws)

    assert result == DeploymentResult("d-1", "Succeeded")
    assert lines[:4] == [
        "order: waiting for deployment d-0 of shop-order:41 (InProgress) to end "
        "before starting ours",
        "order: deployment d-0 is InProgress",
        "order: deployment d-0 is Failed",
        "order: started deployment d-1 of shop-order:42",
    ]


def test_a_throttled_call_is_retried_with_backoff_and_then_succeeds(aws):
    for _ in range(2):
        aws.cd.add_client_error(
            "list_deployments",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=400,
        )
    aws.active()
    aws.runs(NEW_ARN)
    clock = FakeClock()

    result, _ = run(aws, clock=clock, retry=Retry(attempts=3, base_seconds=2))

    assert result.status == "Skipped"
    assert clock.sleeps == [2, 4]


def test_a_call_still_throttled_after_the_last_attempt_gives_up_clearly(aws):
    for _ in range(3):
        aws.cd.add_client_error(
            "list_deployments",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=400,
        )

    with pytest.raises(DeployError) as failure:
        run(aws, retry=Retry(attempts=3))

    assert str(failure.value) == (
        "failed to list the CodeDeploy deployments in progress for service order: "
        "still throttled after 3 attempts (ThrottlingException: Rate exceeded); "
        "try again when fewer deployments run at once"
    )


def test_an_error_from_aws_names_what_was_being_done(aws):
    aws.active()
    aws.runs(OLD_ARN)
    aws.cd.add_client_error(
        "create_deployment",
        service_error_code="DeploymentGroupDoesNotExistException",
        service_message="No Deployment Group found for name: shop-order",
        http_status_code=400,
    )

    with pytest.raises(DeployError) as failure:
        run(aws)

    assert str(failure.value) == (
        "failed to start the CodeDeploy deployment for service order: "
        "DeploymentGroupDoesNotExistException: No Deployment Group found for "
        "name: shop-order"
    )


def test_progress_prints_a_line_only_when_something_changed(aws):
    aws.active()
    aws.runs(OLD_ARN)
    aws.creates("d-1")
    aws.status("d-1", "Created")
    aws.status("d-1", "Created")
    aws.status("d-1", "InProgress")
    aws.target(
        "d-1",
        events=[("BeforeInstall", "Succeeded"), ("Install", "InProgress")],
        first=True,
    )
    aws.status("d-1", "InProgress")
    aws.target(
        "d-1",
        events=[("BeforeInstall", "Succeeded"), ("Install", "InProgress")],
    )
    aws.status("d-1", "InProgress")
    aws.target(
        "d-1",
        events=[("Install", "Succeeded"), ("AfterAllowTestTraffic", "Succeeded")],
        traffic=[("Green", 0.0), ("Blue", 100.0)],
    )
    aws.status("d-1", "InProgress")
    aws.target("d-1", traffic=[("Blue", 100.0), ("Green", 0.0)])
    aws.status("d-1", "InProgress")
    aws.target("d-1", traffic=[("Blue", 90.0), ("Green", 10.0)])
    aws.status("d-1", "Baking")
    aws.status("d-1", "Baking")
    aws.status("d-1", "Succeeded")

    _, lines = run(aws)

    assert lines == [
        "order: started deployment d-1 of shop-order:42",
        "order: deployment d-1 is Created",
        "order: deployment d-1 is InProgress",
        "order: deployment d-1: BeforeInstall Succeeded",
        "order: deployment d-1: Install InProgress",
        "order: deployment d-1: Install Succeeded",
        "order: deployment d-1: AfterAllowTestTraffic Succeeded",
        "order: deployment d-1: traffic blue 100%, green 0%",
        "order: deployment d-1: traffic blue 90%, green 10%",
        "order: deployment d-1 is Baking, traffic shifted; the original tasks "
        "stay until the wait ends",
        "order: deployment d-1 is Succeeded",
    ]


def test_a_failed_hook_says_why_in_its_progress_line(aws):
    aws.active()
    aws.runs(OLD_ARN)
    aws.creates("d-1")
    aws.status("d-1", "InProgress")
    aws.cd.add_response(
        "list_deployment_targets", {"targetIds": ["shop-dev:order"]}, None
    )
    aws.cd.add_response(
        "get_deployment_target",
        {
            "deploymentTarget": {
                "ecsTarget": {
                    "lifecycleEvents": [
                        {
                            "lifecycleEventName": "AfterAllowTestTraffic",
                            "status": "Failed",
                            "diagnostics": {"message": "smoke test: 500 on /orders"},
                        }
                    ]
                }
            }
        },
        None,
    )
    aws.status("d-1", "Failed")
    lines: list[str] = []

    with pytest.raises(DeploymentFailed):
        run(aws, lines=lines)

    assert lines[2] == (
        "order: deployment d-1: AfterAllowTestTraffic Failed: "
        "smoke test: 500 on /orders"
    )


@mock_aws
@pytest.mark.parametrize("succeeds_at", [0.5, 14.9, 15.0, 100.0, 3599.0])
def test_the_wait_ends_within_one_poll_interval_of_success(succeeds_at):
    codedeploy, ecs = moto_fleet()
    clock = FakeClock()

    def codedeploy_finishes(now: float) -> None:
        if now >= succeeds_at:
            finish_moto_deployments()

    clock.on_sleep = codedeploy_finishes

    result = deploy(
        SPEC,
        codedeploy=codedeploy,
        ecs=ecs,
        clock=clock,
        sleep=clock.sleep,
        log=lambda _line: None,
    )

    assert result.status == "Succeeded"
    assert succeeds_at <= clock.now <= succeeds_at + SPEC.poll_seconds


@mock_aws
def test_the_deployment_reaches_codedeploy_with_the_declared_appspec():
    codedeploy, ecs = moto_fleet()
    clock = FakeClock()
    clock.on_sleep = lambda _now: finish_moto_deployments()

    result = deploy(
        SPEC,
        codedeploy=codedeploy,
        ecs=ecs,
        clock=clock,
        sleep=clock.sleep,
        log=lambda _line: None,
    )

    revision = codedeploy.get_deployment(deploymentId=result.deployment_id)[
        "deploymentInfo"
    ]["revision"]
    assert revision["revisionType"] == "AppSpecContent"
    assert json.loads(revision["appSpecContent"]["content"]) == build_appspec(SPEC)


def moto_fleet():
    """A moto account where shop-order:41 runs and shop-order:42 is registered."""
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="shop-dev")
    container = [{"name": "app", "image": "order:1", "memory": 512}]
    for _ in range(42):
        arn = ecs.register_task_definition(
            family="shop-order", containerDefinitions=container
        )["taskDefinition"]["taskDefinitionArn"]
        if arn == OLD_ARN:
            ecs.create_service(
                cluster="shop-dev",
                serviceName="order",
                taskDefinition=OLD_ARN,
                desiredCount=1,
                deploymentController={"type": "CODE_DEPLOY"},
            )
    codedeploy = boto3.client("codedeploy", region_name=REGION)
    codedeploy.create_application(applicationName="shop", computePlatform="ECS")
    codedeploy.create_deployment_group(
        applicationName="shop",
        deploymentGroupName="shop-order",
        serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/shop-codedeploy",
    )
    return codedeploy, ecs


def finish_moto_deployments():
    """What moto never does by itself: end a deployment."""
    for deployment in codedeploy_backends[ACCOUNT][REGION].deployments.values():
        deployment.status = "Succeeded"


def test_the_appspec_carries_every_declared_setting():
    spec = DeploymentSpec(
        **{
            **SPEC.__dict__,
            "platform_version": "1.4.0",
            "network_configuration": {
                "awsvpcConfiguration": {
                    "subnets": ["subnet-a", "subnet-b"],
                    "securityGroups": ["sg-1"],
                    "assignPublicIp": "DISABLED",
                }
            },
            "capacity_provider_strategy": [
                {"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                {"capacityProvider": "FARGATE_SPOT", "weight": 3},
            ],
            "hooks": {"AfterAllowTestTraffic": "shop-dev-order-smoke-test"},
        }
    )

    appspec = build_appspec(spec)

    assert appspec == {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": NEW_ARN,
                        "LoadBalancerInfo": {
                            "ContainerName": "app",
                            "ContainerPort": 8080,
                        },
                        "PlatformVersion": "1.4.0",
                        "NetworkConfiguration": {
                            "AwsvpcConfiguration": {
                                "Subnets": ["subnet-a", "subnet-b"],
                                "SecurityGroups": ["sg-1"],
                                "AssignPublicIp": "DISABLED",
                            }
                        },
                        "CapacityProviderStrategy": [
                            {"Base": 1, "CapacityProvider": "FARGATE", "Weight": 1},
                            {
                                "Base": 0,
                                "CapacityProvider": "FARGATE_SPOT",
                                "Weight": 3,
                            },
                        ],
                    },
                }
            }
        ],
        "Hooks": [{"AfterAllowTestTraffic": "shop-dev-order-smoke-test"}],
    }


def test_the_appspec_leaves_out_what_is_not_declared():
    appspec = build_appspec(SPEC)

    assert appspec["Resources"][0]["TargetService"]["Properties"] == {
        "TaskDefinition": NEW_ARN,
        "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 8080},
    }
    assert "Hooks" not in appspec


def test_the_revision_carries_the_sha256_of_its_content():
    revision = appspec_revision(SPEC)

    content = revision["appSpecContent"]["content"]
    assert revision["revisionType"] == "AppSpecContent"
    assert revision["appSpecContent"]["sha256"] == (
        hashlib.sha256(content.encode()).hexdigest()
    )

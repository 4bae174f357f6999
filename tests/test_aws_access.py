"""The deploy calls AWS as the stack's AWS provider does: region, profile
and the `aws:assumeRoles` chain."""

from __future__ import annotations

import pytest
from moto import mock_aws

from fleet import deploy
from fleet.__main__ import main
from tests.conftest import edit_stack, plan_for

ACCOUNT = "123456789012"


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def caller(session) -> str:
    return session.client("sts").get_caller_identity()["Arn"]


def test_without_roles_the_deploy_calls_aws_as_the_base_credentials(aws):
    session = deploy.aws_session(deploy.AwsAccess(region="eu-west-1"))

    assert ":assumed-role/" not in caller(session)
    assert session.region_name == "eu-west-1"


def test_each_role_of_the_chain_is_assumed_in_turn(aws):
    access = deploy.AwsAccess(
        region="eu-west-1",
        assume_roles=(
            deploy.AssumeRole(f"arn:aws:iam::{ACCOUNT}:role/hub", "first"),
            deploy.AssumeRole(
                f"arn:aws:iam::{ACCOUNT}:role/deployer", "second", "shop-external-id"
            ),
        ),
    )

    session = deploy.aws_session(access)

    assert caller(session) == f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/second"


def test_clients_are_shared_per_access(aws):
    access = deploy.AwsAccess(region="eu-west-1")

    first = deploy.make_clients(access)
    again = deploy.make_clients(deploy.AwsAccess(region="eu-west-1"))
    other = deploy.make_clients(deploy.AwsAccess(region="eu-central-1"))

    assert first is again
    assert other is not first
    assert other.ecs.meta.region_name == "eu-central-1"


def test_the_stacks_role_chain_reaches_every_deployment(project):
    role = f"arn:aws:iam::{ACCOUNT}:role/shop-prod-deployer"
    edit_stack(
        project,
        "prod",
        lambda c: c.update(
            {"aws:assumeRoles": [{"roleArn": role, "externalId": "shop"}]}
        ),
    )

    plan = plan_for(project, "prod")

    deployments = plan.of_type("pulumi-python:dynamic/deployment:CodeDeployDeployment")
    assert len(deployments) == 4
    for deployment in deployments:
        assert deployment.inputs["assume_roles"] == [
            {
                "role_arn": role,
                "session_name": "ecs-fleet-deploy",
                "external_id": "shop",
            }
        ]


def test_a_role_that_is_not_an_iam_role_arn_is_refused(project, capsys):
    edit_stack(
        project,
        "prod",
        lambda c: c.update({"aws:assumeRoles": [{"roleArn": "shop-prod-deployer"}]}),
    )

    status = main(["--project", str(project), "render", "--stack", "prod"])

    err = capsys.readouterr().err
    assert status == 2
    assert "aws:assumeRoles[0].roleArn: must be an IAM role ARN" in err

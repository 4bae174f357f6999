"""Secrets: Pulumi-encrypted config, SSM SecureString, the task's `secrets`."""

from __future__ import annotations

import json

import pytest

from fleet import config as stack_config
from fleet import engine
from fleet.__main__ import main
from tests.conftest import edit_stack

PARAMETER = "aws:ssm/parameter:Parameter"


def add_secret(service="order", name="WEBHOOK_SECRET", value=None):
    def change(config):
        secure = {"secure": "v1:c2FsdA==:ZW5jcnlwdGVk"} if value is None else value
        config["ecs-fleet:secrets"] = {service: {name: secure}}

    return change


def test_a_secret_becomes_a_secure_string_parameter_the_app_reads(project, capsys):
    edit_stack(project, "prod", add_secret())

    status = main(["--project", str(project), "preview", "--stack", "prod", "--json"])

    document = json.loads(capsys.readouterr().out)
    assert status == 0
    resources = {r["name"]: r for r in document["resources"]}
    parameter = resources["prod-order-secret-webhook-secret"]
    assert parameter["type"] == PARAMETER
    assert parameter["inputs"]["type"] == "SecureString"
    assert parameter["inputs"]["name"] == "/ecs-fleet/prod/order/WEBHOOK_SECRET"
    assert parameter["inputs"]["value"] == "[secret]"
    task = resources["prod-order-task"]
    app = json.loads(task["inputs"]["containerDefinitions"])[0]
    assert {
        "name": "WEBHOOK_SECRET",
        "valueFrom": "/ecs-fleet/prod/order/WEBHOOK_SECRET",
    } in (app["secrets"])
    assert parameter["urn"] in task["options"]["dependsOn"]


def test_the_decrypted_value_is_passed_on_as_a_secret_and_never_shown(project):
    # What the CLI hands the program: the value decrypted, the key secret.
    raw = stack_config.read_stack_file(project, "prod")
    raw["ecs-fleet:secrets"] = {"order": {"WEBHOOK_SECRET": "hunter2-plain-text"}}

    plan = engine.run_program(project, "prod", raw, ["ecs-fleet:secrets"])

    (parameter,) = plan.of_type(PARAMETER)
    assert parameter.inputs["value"] == "[secret]"
    assert "hunter2-plain-text" not in json.dumps(plan.to_json())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            add_secret(value="hunter2"),
            "ecs-fleet:secrets.order.WEBHOOK_SECRET: is not encrypted",
        ),
        (
            add_secret(service="payment"),
            "ecs-fleet:secrets.payment: names a service the stack does not have",
        ),
        (
            add_secret(name="webhook-secret"),
            "is not an environment variable name",
        ),
        (
            lambda c: c["ecs-fleet:vars"].update({"apiKey": {"secure": "v1:abc"}}),
            "ecs-fleet:vars: holds a secure value",
        ),
    ],
    ids=["plain-text", "unknown-service", "bad-name", "secure-value-in-vars"],
)
def test_a_secret_kept_anywhere_but_encrypted_secrets_is_refused(
    change, expected, project, capsys
):
    edit_stack(project, "prod", change)

    status = main(["--project", str(project), "render", "--stack", "prod"])

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and expected in err[0], err


def test_a_secret_that_clashes_with_the_task_definitions_own_is_refused(
    project, capsys
):
    edit_stack(project, "prod", add_secret(name="DATABASE_PASSWORD"))

    status = main(["--project", str(project), "render", "--stack", "prod"])

    err = capsys.readouterr().err
    assert status == 2
    assert "container app already has DATABASE_PASSWORD" in err

"""Service folders in ecspresso's layout, checked against ecspresso's own corpus.

The corpus under tests/data/ecspresso/ is ecspresso's test data, unchanged;
the expected values are the ones ecspresso's own tests assert.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from fleet import config as stack_config
from fleet import ecspresso
from fleet.errors import FleetError
from fleet.render import render_fleet
from fleet.validate import check_fleet, check_shape, input_shape

DATA = Path(__file__).resolve().parent / "data"
CORPUS = DATA / "ecspresso"
STACK = DATA / "ecspresso-stack"
PROJECT_DIR = Path(__file__).resolve().parent.parent
PROGRAM_PARTS = ("Pulumi.yaml", "__main__.py", "components", "libsonnet")

ACCOUNT = "123456789012"
TD_EXT = {"ext_vars": {"WorkerID": "3"}, "ext_codes": {"EphemeralStorage": "24 + 1"}}
CI_EXT = {"ext_vars": {"DEPLOYMENT_CONTROLLER": "CODE_DEPLOY"}}


@pytest.fixture
def corpus(tmp_path, monkeypatch) -> Path:
    """The corpus at <PWD>/tests, with the environment ecspresso's tests set."""
    root = tmp_path / "tests"
    shutil.copytree(CORPUS, root)
    for name, value in {
        "PWD": str(tmp_path),
        "TAG": "testing",
        "JSON": '{"foo":"bar"}',
        "AWS_REGION": "ap-northeast-1",
        "AWS_ACCOUNT_ID": ACCOUNT,
        "DEPLOYMENT_CONTROLLER": "CODE_DEPLOY",
        "SERVICE": "nginx-local",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("TFSTATE_BUCKET", "NGINX_VERSION", "NOW"):
        monkeypatch.delenv(name, raising=False)
    return root


def _context(root: Path, ext: dict | None = None) -> ecspresso.Context:
    return ecspresso.Context(project_dir=root, service="test", **(ext or {}))


def _get(value, path: str):
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _load(root: Path, kind: str, file: str, config: str | None, ext=None):
    ctx = _context(root, ext)
    loaded = ecspresso.load_config(root / config, ctx) if config else None
    if kind == "task":
        return ecspresso.load_task_definition(root / file, loaded, ctx)[0]
    return ecspresso.load_service_definition(root / file, loaded, ctx)


# One case per task or service definition of the corpus: the config whose
# plugins it is rendered with, and what it renders to or why it is refused.
RENDERS = [
    pytest.param(
        "task",
        "ecs-task-def.json",
        "ecspresso.yml",
        None,
        {
            "containerDefinitions.0.image": (
                "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/app:testing"
            ),
            "containerDefinitions.0.environment.0.value": '{"foo":"bar"}',
        },
        id="task-tfstate-and-json-escape",
    ),
    pytest.param(
        "task",
        "ecs-task-def-multiple-plugins.json",
        "config_multiple_plugins.yaml",
        None,
        {
            "containerDefinitions.0.image": (
                "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/app:testing"
            ),
            "containerDefinitions.0.environment.1.value": "s3://example/",
        },
        id="task-prefixed-tfstate",
    ),
    pytest.param(
        "task",
        "run-test-td.json",
        None,
        None,
        {"family": "test", "ephemeralStorage.sizeInGiB": 25},
        id="task-wrapped-run-test",
    ),
    pytest.param(
        "task",
        "td.json",
        None,
        None,
        {
            "ephemeralStorage.sizeInGiB": 25,
            "containerDefinitions.0.dockerLabels.name": "katsubushi",
            "containerDefinitions.0.logConfiguration.options.awslogs-group": "fargate",
            "containerDefinitions.0.image": "katsubushi/katsubushi:testing",
        },
        id="task-wrapped",
    ),
    pytest.param(
        "task",
        "td-plain.json",
        None,
        None,
        {"ephemeralStorage.sizeInGiB": 25, "family": "katsubushi"},
        id="task-plain-with-read-only-keys",
    ),
    pytest.param(
        "task",
        "td-in-tags.json",
        None,
        None,
        {"tags.0.key": "TagKey", "ephemeralStorage.sizeInGiB": 25},
        id="task-wrapped-with-tags",
    ),
    pytest.param(
        "task",
        "td-plain-in-tags.json",
        None,
        None,
        {"tags.0.value": "TagValue", "ephemeralStorage.sizeInGiB": 25},
        id="task-plain-with-tags",
    ),
    pytest.param(
        "task",
        "td.jsonnet",
        None,
        TD_EXT,
        {
            "ephemeralStorage.sizeInGiB": 25,
            "containerDefinitions.0.environment.0.value": "3",
            "containerDefinitions.0.dockerLabels.name": "katsubushi",
        },
        id="task-jsonnet-ext-vars",
    ),
    pytest.param(
        "task",
        "ci/bash-taskdef.jsonnet",
        "ci/bash.yml",
        None,
        {"executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsTaskRole"},
        id="task-ci-bash",
    ),
    pytest.param(
        "task",
        "ci/ecs-task-def-daemon.json",
        "ci/config-daemon.yaml",
        None,
        {
            "networkMode": "host",
            "containerDefinitions.0.secrets.1.valueFrom": (
                f"arn:aws:ssm:ap-northeast-1:{ACCOUNT}:parameter/ecspresso-test/bar"
            ),
        },
        id="task-ci-daemon",
    ),
    pytest.param(
        "task",
        "ci/nginx-taskdef.jsonnet",
        "ci/nginx.yml",
        None,
        {
            "containerDefinitions.0.image": "nginx:latest",
            "containerDefinitions.0.portMappings.0.name": "nginx",
        },
        id="task-ci-nginx",
    ),
    pytest.param(
        "service",
        "ecs-service-def.json",
        "ecspresso.yml",
        None,
        {
            "networkConfiguration.awsvpcConfiguration.subnets.0": (
                "subnet-07ac54af5e41a4fc4"
            ),
            "networkConfiguration.awsvpcConfiguration.securityGroups.0": (
                "sg-12345678"
            ),
            "deploymentConfiguration.deploymentCircuitBreaker.enable": True,
            "deploymentConfiguration.deploymentCircuitBreaker.rollback": True,
        },
        id="service-tfstate-and-tfstatef",
    ),
    pytest.param(
        "service",
        "sv.json",
        "test.yaml",
        None,
        {
            "desiredCount": 2,
            "loadBalancers.0.targetGroupArn": (
                "arn:aws:elasticloadbalancing:us-east-1:1111111111:targetgroup/test/12345678"
            ),
            "deploymentConfiguration.minimumHealthyPercent": 50,
            "deploymentConfiguration.alarms.alarmNames.0": "HighResponseLatencyAlarm",
            "tags.0.value": "default2",
        },
        id="service-json",
    ),
    pytest.param(
        "service",
        "sv.jsonnet",
        None,
        None,
        {
            "desiredCount": 2,
            "deploymentConfiguration.maximumPercent": 200,
            "deploymentConfiguration.alarms.alarmNames.0": "HighResponseLatencyAlarm",
        },
        id="service-jsonnet",
    ),
    pytest.param(
        "service",
        "ci/bash-service.jsonnet",
        "ci/bash.yml",
        None,
        {"serviceConnectConfiguration.namespace": "ecspresso-test"},
        id="service-ci-bash",
    ),
    pytest.param(
        "service",
        "ci/ecs-service-def-daemon.json",
        "ci/config-daemon.yaml",
        None,
        {"schedulingStrategy": "DAEMON"},
        id="service-ci-daemon",
    ),
    pytest.param(
        "service",
        "ci/ecs-service-def.jsonnet",
        "ci/ecspresso.yml",
        CI_EXT,
        {
            "deploymentController.type": "CODE_DEPLOY",
            "loadBalancers.0.targetGroupArn": (
                f"arn:aws:elasticloadbalancing:ap-northeast-1:{ACCOUNT}"
                ":targetgroup/alpha/6a301850702273d9"
            ),
            "tags.0.value": "",
        },
        id="service-ci-code-deploy",
    ),
    pytest.param(
        "service",
        "ci/nginx-service.jsonnet",
        "ci/nginx.yml",
        None,
        {"serviceConnectConfiguration.services.0.portName": "nginx"},
        id="service-ci-nginx",
    ),
]

REFUSALS = [
    pytest.param(
        "task",
        "ci/ecs-task-def.jsonnet",
        "ci/ecspresso.yml",
        CI_EXT,
        [
            ("ci/ecs-task-def.jsonnet:9", "function ssm reads SSM"),
            ("ci/ecs-task-def.jsonnet:13", "function secretsmanager_arn asks"),
            ("ci/ecs-task-def.jsonnet:75", "function secretsmanager_arn asks"),
            ("ci/ecs-task-def.jsonnet:83", "function secretsmanager_arn asks"),
        ],
        id="task-ci-ssm-and-secretsmanager",
    ),
    pytest.param(
        "task",
        "terraform/ecs-task-def.jsonnet",
        None,
        None,
        [
            (f"terraform/ecs-task-def.jsonnet:{line}", "function tfstate is not")
            for line in (11, 39, 48, 52, 56, 65, 78)
        ],
        id="task-terraform-without-its-state",
    ),
    pytest.param(
        "service",
        "terraform/ecs-service-def.jsonnet",
        None,
        None,
        [
            (f"terraform/ecs-service-def.jsonnet:{line}", "function tfstate is not")
            for line in (23, 30, 33, 34, 35)
        ],
        id="service-terraform-without-its-state",
    ),
]


@pytest.mark.parametrize(("kind", "file", "config", "ext", "expected"), RENDERS)
def test_corpus_definition_renders_as_ecspresso_renders_it(
    corpus, kind, file, config, ext, expected
):
    rendered = _load(corpus, kind, file, config, ext or TD_EXT)

    assert {path: _get(rendered, path) for path in expected} == expected


@pytest.mark.parametrize(("kind", "file", "config", "ext", "expected"), REFUSALS)
def test_corpus_definition_is_refused_naming_what_is_unsupported(
    corpus, kind, file, config, ext, expected
):
    with pytest.raises(FleetError) as caught:
        _load(corpus, kind, file, config, ext)

    problems = caught.value.problems
    assert [
        (p.file, words in p.message)
        for p, (_, words) in zip(problems, expected, strict=True)
    ] == [(where, True) for where, _ in expected]
    assert all(p.fix for p in problems)


def test_refused_ssm_says_to_use_the_containers_secrets(corpus):
    with pytest.raises(FleetError) as caught:
        _load(corpus, "task", "ci/ecs-task-def.jsonnet", "ci/ecspresso.yml", CI_EXT)

    ssm = caught.value.problems[0]
    assert "{{ ssm `/ecspresso-test/foo` }}" in ssm.message
    assert "`secrets`" in ssm.fix and "valueFrom" in ssm.fix


def test_exported_and_plain_task_definitions_agree_after_loading(corpus):
    ctx = _context(corpus)

    wrapped, wrapped_warnings = ecspresso.load_task_definition(
        corpus / "td.json", None, ctx
    )
    plain, plain_warnings = ecspresso.load_task_definition(
        corpus / "td-plain.json", None, ctx
    )

    assert wrapped == plain
    assert "tags" not in plain
    assert wrapped_warnings == ()
    assert len(plain_warnings) == 1
    assert "dropped revision, status" in plain_warnings[0]


def test_jsonnet_task_definition_agrees_with_its_json_export(corpus):
    ctx = _context(corpus, TD_EXT)

    from_jsonnet, _ = ecspresso.load_task_definition(corpus / "td.jsonnet", None, ctx)
    from_json, _ = ecspresso.load_task_definition(corpus / "td.json", None, ctx)

    assert from_jsonnet == from_json


@pytest.mark.parametrize(
    "file", ["td.json", "td-plain.json", "td-in-tags.json", "td-plain-in-tags.json"]
)
def test_loaded_export_passes_the_ecs_api_model(corpus, file):
    task, _ = ecspresso.load_task_definition(corpus / file, None, _context(corpus))

    assert check_shape(task, input_shape("RegisterTaskDefinition"), "") == []


def test_numeric_task_cpu_is_left_for_validation_as_ecspresso_refuses_it(corpus):
    path = corpus / "numeric.json"
    container = {"name": "app", "image": "nginx:latest"}
    path.write_text(
        json.dumps({"family": "x", "cpu": 256, "containerDefinitions": [container]})
    )

    task, _ = ecspresso.load_task_definition(path, None, _context(corpus))

    assert check_shape(task, input_shape("RegisterTaskDefinition"), "") == [
        ("cpu", "must be a string, not a number 256")
    ]


# One case per config of the corpus.
CONFIGS = [
    pytest.param("ecspresso.yml", {"service": "test"}, id="yaml-with-tfstate"),
    pytest.param("ecspresso.json", {"service": "test"}, id="json-with-tfstate"),
    pytest.param("ecspresso.jsonnet", {"service": "test"}, id="jsonnet-with-tfstate"),
    pytest.param("config_abs.yaml", {"cluster": "default"}, id="absolute-paths"),
    pytest.param(
        "config_multiple_plugins.yaml", {"region": "ap-northeast-1"}, id="two"
    ),
    pytest.param("filter_command.yml", {"service": "test"}, id="filter-command"),
    pytest.param("notimeout.yml", {"cluster": "default"}, id="no-timeout"),
    pytest.param("test.yaml", {"cluster": "default2"}, id="test"),
    pytest.param("run-with-sv.yaml", {"service": "test"}, id="run-with-service"),
    pytest.param("run-without-sv.yaml", {"service": None}, id="run-without-service"),
    pytest.param("ci/ecspresso.yml", {"service": "nginx-local"}, id="ci"),
    pytest.param("ci/bash.yml", {"service": "bash"}, id="ci-bash"),
    pytest.param("ci/nginx.yml", {"service": "nginx"}, id="ci-nginx"),
    pytest.param("ci/config-daemon.yaml", {"service": "nginx-local-daemon"}, id="d"),
]
CODEDEPLOY_CONFIGS = [
    "config_codedeploy.yml",
    "config_codedeploy.json",
    "config_codedeploy.jsonnet",
]
REFUSED_CONFIGS = [
    pytest.param(
        "config_duplicate_plugins.yaml",
        "plugins[1]",
        "template function tfstate already exists",
        "set func_prefix to tfstate plugin",
        id="duplicate-plugins",
    ),
    pytest.param(
        "td-config.yml",
        "task_definition",
        "is not defined",
        "name the task definition file",
        id="no-task-definition",
    ),
    pytest.param(
        "terraform/ecspresso.jsonnet",
        "plugins[0].config",
        "state file tests/terraform/terraform.tfstate does not exist",
        "terraform state pull",
        id="missing-state-file",
    ),
]


@pytest.mark.parametrize(("file", "expected"), CONFIGS)
def test_corpus_config_loads(corpus, file, expected):
    config = ecspresso.load_config(corpus / file, _context(corpus.parent))

    assert {key: getattr(config, key) for key in expected} == expected
    assert config.task_definition.is_file()


@pytest.mark.parametrize("file", CODEDEPLOY_CONFIGS)
def test_codedeploy_names_are_read_from_every_config_format(corpus, file):
    config = ecspresso.load_config(corpus / file, _context(corpus))

    assert config.codedeploy == {
        "application_name": "myapp",
        "deployment_group_name": "mydeployment",
    }


@pytest.mark.parametrize(("file", "field", "message", "fix"), REFUSED_CONFIGS)
def test_corpus_config_is_refused_with_a_clear_message(
    corpus, file, field, message, fix
):
    with pytest.raises(FleetError) as caught:
        ecspresso.load_config(corpus / file, _context(corpus.parent))

    problem = caught.value.problems[0]
    assert (problem.field, problem.message) == (field, message)
    assert fix in problem.fix


def test_ci_config_with_a_remote_state_bucket_is_refused(corpus, monkeypatch):
    monkeypatch.setenv("TFSTATE_BUCKET", "my-bucket")

    with pytest.raises(FleetError) as caught:
        ecspresso.load_config(corpus / "ci/ecspresso.yml", _context(corpus))

    [problem] = caught.value.problems
    assert problem.message == (
        "state at s3://my-bucket/terraform.tfstate is remote (s3://)"
    )
    assert "path: terraform.tfstate" in problem.fix


@pytest.mark.parametrize(
    ("plugin", "words"),
    [
        pytest.param("cloudformation", "asks CloudFormation", id="cloudformation"),
        pytest.param("external", "runs commands", id="external"),
        pytest.param("vault", "is not available", id="unknown"),
    ],
)
def test_plugins_other_than_tfstate_are_refused(tmp_path, plugin, words):
    path = tmp_path / "ecspresso.yml"
    path.write_text(
        "task_definition: td.json\nservice_definition: sv.json\n"
        f"plugins:\n  - name: {plugin}\n"
    )

    with pytest.raises(FleetError) as caught:
        ecspresso.load_config(path, _context(tmp_path))

    [problem] = caught.value.problems
    assert (problem.field, words in problem.message) == ("plugins[0].name", True)
    assert problem.fix


def test_jsonnet_native_ssm_is_refused_with_its_line(tmp_path):
    path = tmp_path / "td.jsonnet"
    path.write_text("local ssm = std.native('ssm');\n{\n  family: ssm('/x'),\n}\n")

    with pytest.raises(FleetError) as caught:
        ecspresso.load_task_definition(path, None, _context(tmp_path))

    [problem] = caught.value.problems
    assert problem.file == "td.jsonnet:3"
    assert (
        problem.message == "std.native('ssm') reads SSM Parameter Store at render time"
    )
    assert "valueFrom" in problem.fix


def test_jsonnet_native_tfstate_returns_structured_values(corpus):
    path = corpus / "sgs.jsonnet"
    path.write_text(
        "local tfstate = std.native('tfstate');\n"
        "{\n"
        "  all: [sg.id for sg in std.objectValues("
        "tfstate('data.aws_security_group.default'))],\n"
        "  first: tfstate('data.aws_security_group.default[\"first\"].id'),\n"
        "}\n"
    )
    config = ecspresso.load_config(corpus / "ecspresso.yml", _context(corpus))

    rendered = ecspresso.load_service_definition(path, config, _context(corpus))

    assert rendered["first"] == "sg-12345678"
    assert rendered["all"][0] == "sg-12345678"
    assert len(rendered["all"]) == 2


# The Go template subset.
TEMPLATES = [
    pytest.param("a{{ env `UNSET_X` `dflt` }}b", "adfltb", id="env-default"),
    pytest.param('{{ env "HOME_X" "d" }}', "home", id="double-quoted"),
    pytest.param("{{ must_env `HOME_X` | json_escape }}", "home", id="pipe"),
    pytest.param('{{ "a\\"<b" | json_escape }}', 'a\\"\\u003cb', id="json-escape"),
    pytest.param("x  {{- `y` -}}  z", "xyz", id="trim-both-sides"),
    pytest.param("{{ if (env `HOME_X` ``) }}yes{{ else }}no{{ end }}", "yes", id="if"),
    pytest.param("{{ if env `UNSET_X` `` }}yes{{ else }}no{{ end }}", "no", id="else"),
    pytest.param(
        "{{ if env `UNSET_X` `` }}1{{ else if env `HOME_X` }}2{{ end }}", "2", id="elif"
    ),
    pytest.param("{{ env `UNSET_X` }}", "UNSET_X", id="env-falls-back-to-its-name"),
    pytest.param("{{/* a comment */}}ok", "ok", id="comment"),
]


@pytest.mark.parametrize(("template", "expected"), TEMPLATES)
def test_template_subset_expands_like_go(tmp_path, monkeypatch, template, expected):
    monkeypatch.setenv("HOME_X", "home")
    monkeypatch.delenv("UNSET_X", raising=False)
    funcs = ecspresso.base_funcs(_context(tmp_path))

    result, failures = ecspresso.execute_template(
        ecspresso.parse_template(template), funcs
    )

    assert (result, failures) == (expected, [])


@pytest.mark.parametrize(
    ("template", "words"),
    [
        pytest.param("{\n  {{ .Items }}\n}", "fields", id="dot"),
        pytest.param("{\n  {{ range $x }}{{ end }}\n}", "{{ range }}", id="range"),
        pytest.param("{\n  {{ $x := 1 }}\n}", "variables", id="variable"),
        pytest.param("{\n  {{ if `a` }}\n}", "without {{ end }}", id="no-end"),
        pytest.param("{\n  {{ env `A` \n}", "unclosed action", id="unclosed"),
    ],
)
def test_unsupported_template_syntax_names_file_and_line(tmp_path, template, words):
    path = tmp_path / "td.json"
    path.write_text(template)

    with pytest.raises(FleetError) as caught:
        ecspresso.load_task_definition(path, None, _context(tmp_path))

    [problem] = caught.value.problems
    assert problem.file == "td.json:2"
    assert words in problem.message


def test_missing_must_env_names_the_variable_and_the_stack_key(tmp_path, monkeypatch):
    monkeypatch.delenv("UNSET_X", raising=False)
    path = tmp_path / "td.json"
    path.write_text('{\n  "family": "{{ must_env `UNSET_X` }}"\n}\n')

    with pytest.raises(FleetError) as caught:
        ecspresso.load_task_definition(path, None, _context(tmp_path))

    [problem] = caught.value.problems
    assert problem.file == "td.json:2"
    assert problem.message.endswith("environment variable UNSET_X is not set")
    assert "vars.ecspresso.env" in problem.fix


# The test stack: the corpus ci/ service in a folder of its own.


@pytest.fixture
def stack(tmp_path, monkeypatch) -> Path:
    """A project with the program and the ecspresso test stack's service."""
    for part in PROGRAM_PARTS:
        source = PROJECT_DIR / part
        if source.is_dir():
            shutil.copytree(
                source, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, tmp_path / part)
    shutil.copytree(STACK, tmp_path, dirs_exist_ok=True)
    monkeypatch.setenv("AWS_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("DEPLOYMENT_CONTROLLER", "CODE_DEPLOY")
    monkeypatch.setenv("SERVICE", "ci")
    for name in ("TFSTATE_BUCKET", "NGINX_VERSION", "NOW"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_ci_service_renders_and_passes_validation(stack):
    config = stack_config.load(stack, "test")

    definitions = render_fleet(config)

    ci = definitions["ci"]
    assert check_fleet(config, definitions) == []
    assert ci.task_file == "services/ci/ecs-task-def.jsonnet"
    assert ci.service_def["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert "volumeConfigurations" not in ci.service_def
    assert ci.fleet["listenerRule"]["priority"] == 100
    assert ci.warnings == ()


def test_ci_service_as_shipped_by_ecspresso_is_refused(stack):
    shutil.copy2(CORPUS / "ci/ecs-task-def.jsonnet", stack / "services/ci")
    config = stack_config.load(stack, "test")

    with pytest.raises(FleetError) as caught:
        render_fleet(config)

    assert [(p.file, p.message.split(": ", 1)[1]) for p in caught.value.problems] == [
        (
            "services/ci/ecs-task-def.jsonnet:9",
            "function ssm reads SSM Parameter Store at render time",
        ),
        *[
            (
                f"services/ci/ecs-task-def.jsonnet:{line}",
                "function secretsmanager_arn asks Secrets Manager at render time",
            )
            for line in (13, 75, 83)
        ],
    ]


def test_ext_str_comes_from_the_stack_config(stack):
    edit = yaml.safe_load((stack / "Pulumi.test.yaml").read_text())
    ecspresso_vars = edit["config"]["ecs-fleet:services"]["ci"]["vars"]["ecspresso"]
    ecspresso_vars["extStr"]["DEPLOYMENT_CONTROLLER"] = "ECS"
    (stack / "Pulumi.test.yaml").write_text(yaml.safe_dump(edit))
    config = stack_config.load(stack, "test")

    definitions = render_fleet(config)

    assert definitions["ci"].service_def["volumeConfigurations"][0]["name"] == "ebs"


def test_env_from_the_stack_config_overlays_the_process_environment(stack):
    edit = yaml.safe_load((stack / "Pulumi.test.yaml").read_text())
    ci_vars = edit["config"]["ecs-fleet:services"]["ci"]["vars"]
    ci_vars["ecspresso"]["env"] = {"NGINX_VERSION": "1.27"}
    edit["config"]["ecs-fleet:services"]["ci"]["image"] = "nginx:1.27"
    (stack / "Pulumi.test.yaml").write_text(yaml.safe_dump(edit))
    config = stack_config.load(stack, "test")

    definitions = render_fleet(config)

    nginx = definitions["ci"].task["containerDefinitions"][0]
    assert nginx["image"] == "nginx:1.27"
    assert definitions["ci"].warnings == ()


def test_an_image_that_no_container_runs_is_warned_about(stack):
    edit = yaml.safe_load((stack / "Pulumi.test.yaml").read_text())
    edit["config"]["ecs-fleet:services"]["ci"]["image"] = "nginx:1.27"
    (stack / "Pulumi.test.yaml").write_text(yaml.safe_dump(edit))
    config = stack_config.load(stack, "test")

    definitions = render_fleet(config)

    [warning] = definitions["ci"].warnings
    assert "no container runs the stack's image 'nginx:1.27'" in warning


def test_codedeploy_names_and_appspec_hooks_reach_the_definitions(stack):
    config_path = stack / "services/ci/ecspresso.yml"
    (stack / "services/ci/fleet.jsonnet").write_text(
        "{ listenerRule: { priority: 100, pathPatterns: ['/*'] } }\n"
    )
    config_path.write_text(
        config_path.read_text()
        + "codedeploy:\n  application_name: myapp\n"
        + "  deployment_group_name: mydeployment\n"
        + "appspec:\n  Hooks:\n    - BeforeInstall: check-before-install\n"
    )
    config = stack_config.load(stack, "test")

    ci = render_fleet(config)["ci"]

    assert ci.codedeploy == {
        "application_name": "myapp",
        "deployment_group_name": "mydeployment",
    }
    assert ci.fleet["hooks"] == {"BeforeInstall": "check-before-install"}
    assert check_fleet(config, {"ci": ci}) == []


def test_ci_service_previews_as_a_code_deploy_service_with_its_target_groups(stack):
    from fleet import engine

    raw = stack_config.read_stack_file(stack, "test")

    plan = engine.run_program(stack, "test", raw, stack_config.secret_keys(raw))

    [service] = plan.of_type("aws:ecs/service:Service")
    target_groups = {r.name for r in plan.of_type("aws:lb/targetGroup:TargetGroup")}
    assert service.inputs["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert target_groups == {"test-ci-blue", "test-ci-green"}
    assert service.inputs["loadBalancers"][0]["containerName"] == "nginx"
    [group] = plan.of_type("aws:codedeploy/deploymentGroup:DeploymentGroup")
    pair = group.inputs["loadBalancerInfo"]["targetGroupPairInfo"]
    assert [g["name"] for g in pair["targetGroups"]] == [
        "test-ci-blue",
        "test-ci-green",
    ]
    [deployment] = plan.of_type("pulumi-python:dynamic/deployment:CodeDeployDeployment")
    [task] = plan.of_type("aws:ecs/taskDefinition:TaskDefinition")
    assert deployment.inputs["task_definition_arn"].endswith(
        f"task-definition/{task.inputs['family']}:1"
    )
    assert deployment.inputs["container_name"] == "nginx"


def test_the_ecspresso_deployment_group_name_is_kept(stack):
    config_file = stack / "services/ci/ecspresso.yml"
    config_file.write_text(
        config_file.read_text()
        + "codedeploy:\n  application_name: myapp\n"
        + "  deployment_group_name: mydeployment\n"
    )
    from fleet import engine

    raw = stack_config.read_stack_file(stack, "test")
    definitions = render_fleet(stack_config.load(stack, "test"))
    plan = engine.run_program(stack, "test", raw, stack_config.secret_keys(raw))

    [group] = plan.of_type("aws:codedeploy/deploymentGroup:DeploymentGroup")
    assert group.inputs["deploymentGroupName"] == "mydeployment"
    assert group.inputs["appName"] == "ecs-fleet-test"
    assert any(
        "application_name 'myapp' is ignored" in w for w in definitions["ci"].warnings
    )


def test_an_ecspresso_service_name_other_than_the_folder_is_warned_about(
    stack, monkeypatch
):
    monkeypatch.setenv("SERVICE", "nginx-local")

    definitions = render_fleet(stack_config.load(stack, "test"))

    assert definitions["ci"].warnings == (
        "services/ci/ecspresso.yml: service 'nginx-local' is ignored: the ECS "
        "service is named after its folder, 'ci'; rename the folder to keep the "
        "old name",
    )

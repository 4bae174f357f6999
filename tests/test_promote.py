"""`python -m fleet promote`: copying images from one stack to the next."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fleet import diff, promote
from fleet.__main__ import main
from fleet.errors import FleetError
from tests.conftest import PROJECT_DIR, edit_stack

REPO = "444455556666.dkr.ecr.eu-west-1.amazonaws.com/shop"
STAGING_ORDER = (
    f"{REPO}/order@sha256:"
    "f092d2ccd42be29e303c1bb7bf1546b365eac41501c3f59bd2aabd338a237c36"
)
PROD_ORDER = (
    f"{REPO}/order@sha256:"
    "196c56a9c66374183a63123aa1252d62e953ae39b160c57129bf3ae60a96afb4"
)


def stack_text(project: Path, stack: str) -> str:
    return (project / f"Pulumi.{stack}.yaml").read_bytes().decode("utf-8")


def replace_in_stack(project: Path, stack: str, old: str, new: str) -> None:
    path = project / f"Pulumi.{stack}.yaml"
    text = path.read_bytes().decode("utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_bytes(text.replace(old, new).encode("utf-8"))


def run_promote(project, source, target, services=None, dry_run=False):
    out = io.StringIO()
    changes = promote.run(project, source, target, services, dry_run, out)
    return changes, out.getvalue()


def test_promote_changes_only_the_image_lines_of_the_target(project):
    before = stack_text(project, "prod").splitlines(keepends=True)

    changes, _ = run_promote(project, "staging", "prod")

    after = stack_text(project, "prod").splitlines(keepends=True)
    assert len(after) == len(before)
    changed = {
        i + 1 for i, (b, a) in enumerate(zip(before, after, strict=True)) if b != a
    }
    assert changed == {change.line for change in changes}
    for change in changes:
        expected = before[change.line - 1].replace(change.old, change.new)
        assert after[change.line - 1] == expected, f"line of {change.service}"


def test_promote_copies_each_differing_image_and_skips_equal_ones(project):
    changes, _ = run_promote(project, "staging", "prod")

    assert [change.service for change in changes] == ["auth", "product", "order"]
    prod = yaml.safe_load(stack_text(project, "prod"))["config"]
    staging = yaml.safe_load(stack_text(project, "staging"))["config"]
    for name, settings in staging["ecs-fleet:services"].items():
        assert prod["ecs-fleet:services"][name]["image"] == settings["image"], name


def test_promote_leaves_sizes_counts_and_strategies_alone(project):
    before = yaml.safe_load(stack_text(project, "prod"))["config"]

    run_promote(project, "staging", "prod")

    after = yaml.safe_load(stack_text(project, "prod"))["config"]
    for name, settings in after["ecs-fleet:services"].items():
        untouched = {k: v for k, v in settings.items() if k != "image"}
        expected = {
            k: v for k, v in before["ecs-fleet:services"][name].items() if k != "image"
        }
        assert untouched == expected, name


def test_promote_prints_each_change_and_the_file_diff(project):
    _, printed = run_promote(project, "staging", "prod", ["order"])

    lines = printed.splitlines()
    assert lines[0] == f"order: {PROD_ORDER} -> {STAGING_ORDER}"
    assert f"-      image: {PROD_ORDER}" in lines
    assert f"+      image: {STAGING_ORDER}" in lines


def test_promote_of_named_services_leaves_the_others(project):
    changes, _ = run_promote(project, "staging", "prod", ["order"])

    assert [change.service for change in changes] == ["order"]
    prod = yaml.safe_load(stack_text(project, "prod"))["config"]
    auth = prod["ecs-fleet:services"]["auth"]["image"]
    assert auth.endswith(
        "fd07ae431d31c1d7cb282f57d4a995f5d0f4feaa8d240e6ac7ae53ddd3249696"
    )


def test_promote_with_nothing_to_change_says_so(project):
    run_promote(project, "staging", "prod")
    text = stack_text(project, "prod")

    changes, printed = run_promote(project, "staging", "prod")

    assert changes == []
    assert printed.startswith("nothing to promote: Pulumi.prod.yaml already has")
    assert stack_text(project, "prod") == text


def test_dry_run_writes_nothing_and_prints_what_promote_would(project):
    text = stack_text(project, "prod")

    dry_changes, dry_printed = run_promote(project, "staging", "prod", dry_run=True)

    assert stack_text(project, "prod") == text
    changes, printed = run_promote(project, "staging", "prod")
    assert dry_changes == changes
    assert dry_printed == printed + "dry run: Pulumi.prod.yaml was not written\n"


@pytest.mark.parametrize(
    "written, rewritten",
    [
        pytest.param(f"'{PROD_ORDER}'", f"'{STAGING_ORDER}'", id="single-quoted"),
        pytest.param(f'"{PROD_ORDER}"', f'"{STAGING_ORDER}"', id="double-quoted"),
        pytest.param(
            f"{PROD_ORDER}  # pinned on release day",
            f"{STAGING_ORDER}  # pinned on release day",
            id="trailing-comment",
        ),
    ],
)
def test_promote_keeps_the_quoting_and_comment_of_the_line(project, written, rewritten):
    replace_in_stack(project, "prod", f"image: {PROD_ORDER}", f"image: {written}")

    run_promote(project, "staging", "prod", ["order"])

    assert f"      image: {rewritten}\n" in stack_text(project, "prod")


def test_promote_keeps_windows_line_endings(project):
    path = project / "Pulumi.prod.yaml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))

    run_promote(project, "staging", "prod", ["order"])

    data = path.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n")
    assert f"image: {STAGING_ORDER}\r\n".encode() in data


def test_promote_refuses_an_image_behind_an_anchor(project):
    replace_in_stack(
        project, "prod", f"image: {PROD_ORDER}", f"image: &order {PROD_ORDER}"
    )
    text = stack_text(project, "prod")

    with pytest.raises(FleetError) as raised:
        run_promote(project, "staging", "prod", ["order"])

    (problem,) = raised.value.problems
    assert problem.field == "ecs-fleet:services.order.image"
    assert "plain" in problem.fix
    assert stack_text(project, "prod") == text


def drop_service(project: Path, stack: str, name: str) -> None:
    edit_stack(project, stack, lambda config: config["ecs-fleet:services"].pop(name))


@pytest.mark.parametrize(
    "source, target, services, arrange, file, service, field, words",
    [
        pytest.param(
            "dev",
            "staging",
            ["order"],
            None,
            "Pulumi.staging.yaml",
            "order",
            "ecs-fleet:services.order.image",
            ["is a tag", "requireDigests", "crane digest"],
            id="tag-into-a-stack-requiring-digests",
        ),
        pytest.param(
            "staging",
            "prod",
            ["cart"],
            None,
            "Pulumi.staging.yaml",
            "cart",
            "ecs-fleet:services.cart",
            ["has no service 'cart' to promote", "auth, user, product, order"],
            id="service-the-source-lacks",
        ),
        pytest.param(
            "staging",
            "prod",
            None,
            ("prod", "user"),
            "Pulumi.prod.yaml",
            "user",
            "ecs-fleet:services.user",
            ["to promote into", "promotion copies only images"],
            id="service-the-target-lacks",
        ),
        pytest.param(
            "prod",
            "prod",
            None,
            None,
            "Pulumi.prod.yaml",
            None,
            "--to",
            ["same stack"],
            id="same-stack-both-ends",
        ),
    ],
)
def test_promote_refuses_and_writes_nothing(
    project, source, target, services, arrange, file, service, field, words
):
    if arrange:
        drop_service(project, *arrange)
    text = stack_text(project, target)

    with pytest.raises(FleetError) as raised:
        run_promote(project, source, target, services)

    (problem,) = raised.value.problems
    assert (problem.file, problem.service, problem.field) == (file, service, field)
    for word in words:
        assert word in str(problem), f"{word!r} missing from: {problem}"
    assert stack_text(project, target) == text


def image_lines(printed: str) -> list[str]:
    return [
        line
        for line in printed.splitlines()
        if line[:1] in "+-" and '"image": ' in line
    ]


def test_after_promotion_diff_shows_no_image_difference(project):
    out = io.StringIO()
    diff.run(project, "staging", "prod", None, out)
    assert image_lines(out.getvalue()), "the stacks should differ in images first"

    run_promote(project, "staging", "prod")

    out = io.StringIO()
    diff.run(project, "staging", "prod", None, out)
    assert image_lines(out.getvalue()) == []


@pytest.mark.parametrize(
    "argv, status, stack_changed",
    [
        pytest.param(["--from", "staging", "--to", "prod"], 0, True, id="promotes"),
        pytest.param(
            ["--from", "staging", "--to", "prod", "--dry-run"], 0, False, id="dry-run"
        ),
        pytest.param(["--from", "dev", "--to", "staging"], 2, False, id="refused"),
    ],
)
def test_the_promote_command_exits_and_writes_as_told(
    project, argv, status, stack_changed
):
    target = argv[argv.index("--to") + 1]
    text = stack_text(project, target)

    code = main(["--project", str(project), "promote", *argv])

    assert code == status
    assert (stack_text(project, target) != text) is stack_changed


def test_the_file_is_written_even_when_the_reader_stops_early(project):
    before = (project / "Pulumi.prod.yaml").read_text()

    result = subprocess.run(
        f"{sys.executable} -m fleet --project {project} promote --from staging "
        "--to prod | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
    )

    assert result.stdout.startswith("auth: ")
    assert (project / "Pulumi.prod.yaml").read_text() != before

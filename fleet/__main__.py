"""`python -m fleet`: the offline commands.

Every command reads the stack files of the project folder (the current
directory, or `--project`). A problem in the input is one line on stderr
and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fleet import config as stack_config
from fleet.errors import FleetError

EXIT_INVALID = 2


def _project(args) -> Path:
    return Path(args.project).resolve()


def prepare(project_dir: Path, stack: str, services: list[str] | None = None):
    """Config, definitions and checks: everything found before planning.

    Raises FleetError with every problem; prints the definitions' warnings.
    """
    from fleet.render import render_fleet
    from fleet.validate import check_fleet

    raw = stack_config.read_stack_file(project_dir, stack)
    config = stack_config.parse(raw, stack, project_dir)
    definitions = render_fleet(config, services)
    problems = check_fleet(config, definitions)
    if problems:
        raise FleetError(problems)
    for defs in definitions.values():
        for warning in defs.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return raw, config, definitions


def cmd_render(args) -> int:
    _, _, definitions = prepare(_project(args), args.stack, args.services or None)
    document = {
        name: {
            "taskDefinition": defs.task,
            "serviceDefinition": defs.service_def,
            "settings": defs.fleet,
        }
        for name, defs in definitions.items()
    }
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


class ProgramFailed(Exception):
    """The program itself failed under the mock engine."""


def plan_stack(project_dir: Path, stack: str):
    """Everything `prepare` checks, then the program's plan under the mocks."""
    from fleet import engine

    raw, _, _ = prepare(project_dir, stack)
    try:
        return engine.run_program(
            project_dir, stack, raw, stack_config.secret_keys(raw)
        )
    except engine.ProgramError as err:
        raise ProgramFailed(
            f"the program failed under the mock engine: {err}"
        ) from None


def cmd_preview(args) -> int:
    from fleet import policy_check, report

    project_dir = _project(args)
    plan = plan_stack(project_dir, args.stack)
    verdict = policy_check.check_plan(plan, project_dir)
    for note in verdict.not_run:
        print(f"warning: {note}", file=sys.stderr)
    for violation in verdict.violations:
        # Advisory violations are warnings; mandatory ones fail the preview.
        prefix = "warning: " if violation.enforcement == "advisory" else ""
        print(prefix + violation.line(), file=sys.stderr)
    if args.json:
        report.print_json(plan, sys.stdout, {"policy": verdict.to_json()})
    else:
        report.print_tree(plan, sys.stdout, all_inputs=args.inputs)
        advisory = len(verdict.violations) - len(verdict.mandatory)
        print(
            f"\npolicy pack: {len(verdict.levels)} rules "
            f"({verdict.config_file or 'levels from the pack'}): "
            f"{len(verdict.mandatory)} mandatory, {advisory} advisory violations"
        )
    return EXIT_INVALID if verdict.mandatory else 0


def cmd_dashboard(args) -> int:
    from fleet import dashboard_picture

    plan = plan_stack(_project(args), args.stack)
    out = Path(args.out)
    try:
        dashboards = dashboard_picture.dashboards_from_plan(plan)
        page = dashboard_picture.render_html(args.stack, dashboards)
        if out.suffix.lower() == ".png":
            height = dashboard_picture.picture_height(dashboards)
            dashboard_picture.write_png(page, height, out)
        else:
            out.write_text(page)
    except (dashboard_picture.PictureError, OSError) as err:
        print(f"error: failed to draw the dashboards: {err}", file=sys.stderr)
        return 1
    names = ", ".join(name for name, _ in dashboards)
    print(f"wrote {out}: {names}", file=sys.stderr)
    return 0


def cmd_diff(args) -> int:
    from fleet import diff

    different = diff.run(
        _project(args), args.source, args.target, args.services or None, sys.stdout
    )
    return 1 if different and args.exit_code else 0


def cmd_promote(args) -> int:
    from fleet import promote

    promote.run(
        _project(args),
        args.source,
        args.target,
        args.services or None,
        args.dry_run,
        sys.stdout,
    )
    return 0


def _stack_pair(command: argparse.ArgumentParser) -> None:
    """`--from S1 --to S2 [SERVICE...]`, as diff and promote take them."""
    command.add_argument("--from", dest="source", required=True, metavar="STACK")
    command.add_argument("--to", dest="target", required=True, metavar="STACK")
    command.add_argument("services", nargs="*", metavar="SERVICE")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fleet",
        description="ecs-fleet's offline commands: no AWS account, no Pulumi CLI.",
    )
    parser.add_argument(
        "--project", default=".", help="the project folder (default: the current one)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser("render", help="print the rendered definitions")
    render.add_argument("--stack", required=True)
    render.add_argument("services", nargs="*", metavar="SERVICE")
    render.set_defaults(run=cmd_render)

    preview = commands.add_parser(
        "preview", help="run the program under the mock engine and print the plan"
    )
    preview.add_argument("--stack", required=True)
    preview.add_argument("--json", action="store_true", help="one JSON document")
    preview.add_argument(
        "--inputs", action="store_true", help="every input of every resource"
    )
    preview.set_defaults(run=cmd_preview)

    dashboard = commands.add_parser(
        "dashboard", help="draw the planned CloudWatch dashboards as HTML or PNG"
    )
    dashboard.add_argument("--stack", required=True)
    dashboard.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="FILE.html, or FILE.png when a Chromium is on PATH",
    )
    dashboard.set_defaults(run=cmd_dashboard)

    diff = commands.add_parser(
        "diff", help="what differs between two stacks' definitions and settings"
    )
    _stack_pair(diff)
    diff.add_argument(
        "--exit-code", action="store_true", help="exit 1 when the stacks differ"
    )
    diff.set_defaults(run=cmd_diff)

    promote = commands.add_parser(
        "promote", help="copy images from one stack's config file to the next"
    )
    _stack_pair(promote)
    promote.add_argument(
        "--dry-run", action="store_true", help="print the changes, write nothing"
    )
    promote.set_defaults(run=cmd_promote)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except FleetError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    except ProgramFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # The reader (`head`, a closed pager) stopped early: not an error.
        sys.stderr.close()
        sys.exit(0)

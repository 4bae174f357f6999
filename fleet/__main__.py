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


def cmd_render(args) -> int:
    from fleet.render import render_fleet
    from fleet.validate import check_fleet

    config = stack_config.load(_project(args), args.stack)
    definitions = render_fleet(config, args.services or None)
    problems = check_fleet(config, definitions)
    if problems:
        raise FleetError(problems)
    document = {}
    for name, defs in definitions.items():
        for warning in defs.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        document[name] = {
            "taskDefinition": defs.task,
            "serviceDefinition": defs.service_def,
            "settings": defs.fleet,
        }
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


def prepare(project_dir: Path, stack: str):
    """Config, definitions and checks: everything found before planning."""
    from fleet.render import render_fleet
    from fleet.validate import check_fleet

    raw = stack_config.read_stack_file(project_dir, stack)
    config = stack_config.parse(raw, stack, project_dir)
    definitions = render_fleet(config)
    problems = check_fleet(config, definitions)
    if problems:
        raise FleetError(problems)
    return raw, config, definitions


def cmd_preview(args) -> int:
    from fleet import engine, report

    project_dir = _project(args)
    raw, config, definitions = prepare(project_dir, args.stack)
    for defs in definitions.values():
        for warning in defs.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    try:
        plan = engine.run_program(
            project_dir, args.stack, raw, stack_config.secret_keys(raw)
        )
    except engine.ProgramError as err:
        print(f"error: the program failed under the mock engine: {err}", file=sys.stderr)
        return 1
    if args.json:
        report.print_json(plan, sys.stdout)
    else:
        report.print_tree(plan, sys.stdout, all_inputs=args.inputs)
    return 0


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except FleetError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # The reader (`head`, a closed pager) stopped early: not an error.
        sys.stderr.close()
        sys.exit(0)

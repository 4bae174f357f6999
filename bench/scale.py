"""How `render` and the offline `preview` scale with the number of services.

Builds a synthetic fleet of N services in a temporary folder: copies of the
example shop's four services under new names (`svc-0000`, ...), each with
its own listener rule priority and paths, and a stack file derived from
`Pulumi.prod.yaml` that spreads them over as many load balancers as the
quotas in `fleet/quotas.py` require. The repository's own code runs it;
only data is copied.

Each measurement runs in a fresh process, so imports, caches and peak
memory are those of one real command:

    .venv/bin/python bench/scale.py                 # N = 4, 50, 200, 500
    .venv/bin/python bench/scale.py --quick         # N = 4, 20
    .venv/bin/python bench/scale.py --sizes 100,300
    .venv/bin/python bench/scale.py --profile 200   # where preview's time goes

Columns: `startup` is the interpreter plus the imports of pulumi,
pulumi_aws, botocore and fleet; `run` is the command itself; `ms/svc` is
run time per service; `marginal` is the run time that each service added
since the previous size, which stays flat when nothing grows faster than
the fleet; `evals` counts Jsonnet evaluations (three files per service,
each evaluated once even though preview renders twice).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as a script, the repository's packages are not on the path.
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from fleet import quotas  # noqa: E402

EXAMPLES = ("auth", "user", "product", "order")
TEMPLATE_STACK = "prod"
STACK = "prod"
DEFAULT_SIZES = (4, 50, 200, 500)
QUICK_SIZES = (4, 20)
# The C++ Jsonnet engine is tens of times slower per file: compared at
# small sizes only.
CPP_MAX_SIZE = 50
DATA_PARTS = ("libsonnet", "policy")
PROGRAM_PARTS = ("Pulumi.yaml", "__main__.py")
ROUTING = re.compile(r"routing\(priority=\d+, paths=\[[^\]]*\]\)")


def service_name(index: int) -> str:
    return f"svc-{index:04d}"


def load_balancer_arns(index: int, region: str, account: str) -> dict[str, str]:
    """Listener ARNs of a made-up load balancer, distinct per index."""
    lb = f"app/fleet-{index:02d}/{index:016x}"
    base = f"arn:aws:elasticloadbalancing:{region}:{account}:listener/{lb}"
    return {
        "prodListenerArn": f"{base}/{2 * index:016x}",
        "testListenerArn": f"{base}/{2 * index + 1:016x}",
    }


def build_fleet(
    dest: Path, count: int, *, services_per_load_balancer: int | None = None
) -> Path:
    """Write a project of `count` services into `dest`; returns `dest`.

    Services fill one load balancer after another, as many on each as its
    listener rule and target group quotas allow.
    """
    per_lb = services_per_load_balancer or quotas.services_per_load_balancer()
    dest.mkdir(parents=True, exist_ok=True)
    for part in PROGRAM_PARTS:
        shutil.copy2(ROOT / part, dest / part)
    for part in DATA_PARTS:
        shutil.copytree(
            ROOT / part, dest / part, ignore=shutil.ignore_patterns("__pycache__")
        )

    template = yaml.safe_load((ROOT / f"Pulumi.{TEMPLATE_STACK}.yaml").read_text())
    config = template["config"]
    examples = config["ecs-fleet:services"]
    region = config["aws:region"]
    account = str(config["ecs-fleet:vars"]["accountId"])
    load_balancers = {}
    services = {}
    for index in range(count):
        name = service_name(index)
        example = EXAMPLES[index % len(EXAMPLES)]
        lb = f"fleet-{index // per_lb:02d}"
        if lb not in load_balancers:
            load_balancers[lb] = load_balancer_arns(index // per_lb, region, account)
        settings = copy.deepcopy(examples[example])
        settings["loadBalancer"] = lb
        role = settings.get("vars", {}).get("taskRoleArn")
        if role:
            settings["vars"]["taskRoleArn"] = role.replace(f"-{example}-", f"-{name}-")
        services[name] = settings
        _copy_service(ROOT / "services" / example, dest / "services" / name, index)
    config["ecs-fleet:loadBalancers"] = load_balancers
    config["ecs-fleet:services"] = services
    (dest / f"Pulumi.{STACK}.yaml").write_text(
        yaml.safe_dump(template, sort_keys=False)
    )
    return dest


def _copy_service(source: Path, folder: Path, index: int) -> None:
    """An example service under a new name, routed by its own priority."""
    folder.mkdir(parents=True)
    for path in source.iterdir():
        text = path.read_text()
        if path.name.startswith("fleet."):
            name = service_name(index)
            routing = f"routing(priority={index + 1}, paths=['/{name}', '/{name}/*'])"
            text, found = ROUTING.subn(routing, text)
            if found != 1:
                raise SystemExit(f"failed to re-route {path}: no routing(...) call")
        (folder / path.name).write_text(text)


# The child process: one command, timed in-process, result as JSON.


def _child(command: str, project: str, result_file: str) -> None:
    started = time.perf_counter()
    import botocore.session  # noqa: F401
    import pulumi  # noqa: F401
    import pulumi_aws  # noqa: F401

    from fleet import __main__ as cli
    from fleet import engine, policy_check, render, validate  # noqa: F401

    startup = time.perf_counter() - started
    counts = {"evals": 0, "resources": 0}
    jsonnet = render.jsonnet_engine

    class CountingEngine:
        def __init__(self, module):
            self.module = module

        def evaluate_file(self, *args, **kwargs):
            counts["evals"] += 1
            return self.module.evaluate_file(*args, **kwargs)

    render.jsonnet_engine = lambda: CountingEngine(jsonnet())
    run_program = engine.run_program

    def counting_run(*args, **kwargs):
        plan = run_program(*args, **kwargs)
        counts["resources"] = len(plan.resources)
        return plan

    engine.run_program = counting_run

    argv = ["--project", project, command, "--stack", STACK]
    stdout = sys.stdout
    began = time.perf_counter()
    with open(os.devnull, "w") as sink:
        sys.stdout = sink
        try:
            status = cli.main(argv)
        finally:
            sys.stdout = stdout
    run = time.perf_counter() - began
    Path(result_file).write_text(
        json.dumps({"startup": startup, "run": run, "status": status, **counts})
    )


def measure(command: str, project: Path, engine: str) -> dict:
    """Run one command in a fresh process; its times, counts and peak RSS."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_file = handle.name
    env = {**os.environ, "ECS_FLEET_JSONNET": engine}
    child = [sys.executable, __file__, "--child", command, str(project), result_file]
    started = time.perf_counter()
    process = subprocess.Popen(
        child, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    stderr = process.stderr.read()
    # wait4 gives this child's own rusage: RUSAGE_CHILDREN would be the
    # largest of every child so far.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    wall = time.perf_counter() - started
    try:
        result = json.loads(Path(result_file).read_text() or "{}")
    finally:
        os.unlink(result_file)
    if process.returncode != 0 or not result:
        raise SystemExit(
            f"failed to measure {command} with {engine}: exit {process.returncode}\n"
            + stderr.decode(errors="replace")[-2000:]
        )
    # ru_maxrss is in kilobytes on Linux.
    return {**result, "wall": wall, "peak_mb": usage.ru_maxrss / 1024}


COLUMNS = (
    ("command", "<", "{}"),
    ("jsonnet", "<", "{}"),
    ("services", ">", "{}"),
    ("resources", ">", "{}"),
    ("res/svc", ">", "{:.1f}"),
    ("evals", ">", "{}"),
    ("wall s", ">", "{:.2f}"),
    ("startup s", ">", "{:.2f}"),
    ("run s", ">", "{:.2f}"),
    ("ms/svc", ">", "{:.1f}"),
    ("marginal", ">", "{}"),
    ("peak MB", ">", "{:.0f}"),
    ("go vs cpp", ">", "{}"),
)


def table(rows: list[dict]) -> str:
    cells = [[name for name, _, _ in COLUMNS]]
    for row in rows:
        cells.append(
            [
                fmt.format(row[name]) if row.get(name) is not None else "-"
                for name, _, fmt in COLUMNS
            ]
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = []
    for line in cells:
        lines.append(
            "  ".join(
                f"{cell:{align}{width}}"
                for cell, (_, align, _), width in zip(
                    line, COLUMNS, widths, strict=True
                )
            ).rstrip()
        )
    return "\n".join(lines)


def run_benchmark(sizes: list[int], cpp_max: int) -> list[dict]:
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="ecs-fleet-bench-") as tmp:
        projects = {n: build_fleet(Path(tmp) / f"fleet-{n}", n) for n in sizes}
        for command in ("render", "preview"):
            previous: dict | None = None
            for n in sizes:
                result = measure(command, projects[n], "go")
                row = _row(command, "go", n, result, previous)
                previous = row
                rows.append(row)
                print(f"measured {command} of {n} services", file=sys.stderr)
        for n in sizes:
            if n > cpp_max:
                continue
            result = measure("render", projects[n], "cpp")
            go = next(
                r for r in rows if r["command"] == "render" and r["services"] == n
            )
            row = _row("render", "cpp", n, result, None)
            row["go vs cpp"] = f"{row['run s'] / go['run s']:.0f}x faster"
            go["go vs cpp"] = row["go vs cpp"]
            rows.append(row)
            print(f"measured render of {n} services with cpp", file=sys.stderr)
    return rows


def _row(command, engine, n, result, previous) -> dict:
    row = {
        "command": command,
        "jsonnet": engine,
        "services": n,
        "resources": result["resources"] if command == "preview" else None,
        "res/svc": result["resources"] / n if command == "preview" else None,
        "evals": result["evals"],
        "wall s": result["wall"],
        "startup s": result["startup"],
        "run s": result["run"],
        "ms/svc": 1000 * result["run"] / n,
        "marginal": None,
        "peak MB": result["peak_mb"],
        "go vs cpp": None,
        "status": result["status"],
    }
    if previous is not None and n > previous["services"]:
        added = (row["run s"] - previous["run s"]) / (n - previous["services"])
        row["marginal"] = f"{1000 * added:.1f}"
    return row


def profile(n: int, top: int) -> None:
    """Preview of `n` services under cProfile, in this process."""
    import cProfile
    import pstats

    from fleet import __main__ as cli

    with tempfile.TemporaryDirectory(prefix="ecs-fleet-bench-") as tmp:
        project = build_fleet(Path(tmp) / "fleet", n)
        profiler = cProfile.Profile()
        stdout = sys.stdout
        with open(os.devnull, "w") as sink:
            sys.stdout = sink
            try:
                profiler.runcall(
                    cli.main, ["--project", str(project), "preview", "--stack", STACK]
                )
            finally:
                sys.stdout = stdout
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def _sizes(text: str) -> list[int]:
    sizes = sorted({int(s) for s in text.split(",") if s.strip()})
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes are whole numbers above 0")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, help="comma-separated fleet sizes")
    parser.add_argument(
        "--quick", action="store_true", help=f"sizes {QUICK_SIZES} only"
    )
    parser.add_argument(
        "--cpp-max",
        type=int,
        default=CPP_MAX_SIZE,
        metavar="N",
        help=f"render with the C++ engine up to N services (default {CPP_MAX_SIZE})",
    )
    parser.add_argument(
        "--profile", type=int, metavar="N", help="profile one preview of N services"
    )
    parser.add_argument("--top", type=int, default=30, help="profile lines shown")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        _child(*args.child)
        return 0
    if args.profile:
        profile(args.profile, args.top)
        return 0
    sizes = args.sizes or list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    rows = run_benchmark(sizes, args.cpp_max)
    print(table(rows))
    failed = [r for r in rows if r["status"] != 0]
    for row in failed:
        print(
            f"warning: {row['command']} of {row['services']} services exited "
            f"{row['status']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

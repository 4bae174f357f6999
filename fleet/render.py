"""Rendering a service folder's definitions from Jsonnet or JSON.

Every definition is evaluated with the stack's values as external
variables:

- `std.extVar('stack')`, `'service'`, `'image'`, `'region'`, `'cluster'`:
  strings;
- `std.extVar('vars')`: an object, the stack's `vars` overlaid with the
  service's own `vars` (sizes, role ARNs, anything that differs between
  environments).

and with the native functions `std.native('env')(name, default)` and
`std.native('must_env')(name)`, as in ecspresso. `libsonnet/` is on the
import path.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleet.config import StackConfig
from fleet.errors import FleetError, Problem, raise_if

SERVICES_DIR = "services"
LIBSONNET_DIR = "libsonnet"

# One definition of each kind per native service folder; Jsonnet first.
TASK_FILES = ("task-def.jsonnet", "task-def.json")
SERVICE_FILES = ("service-def.jsonnet", "service-def.json")
FLEET_FILES = ("fleet.jsonnet", "fleet.json")


@dataclass(frozen=True)
class Definitions:
    """One service's rendered definitions, in the ECS API's camelCase shape.

    `fleet` holds what the ECS API has no place for: the target group's
    health check, the listener rule, CodeDeploy lifecycle hooks.
    """

    service: str
    folder: str
    task: dict[str, Any]
    task_file: str
    service_def: dict[str, Any]
    service_file: str
    fleet: dict[str, Any] = field(default_factory=dict)
    fleet_file: str = ""
    warnings: tuple[str, ...] = ()
    # An ecspresso config's codedeploy names: application_name,
    # deployment_group_name and deployment_config_name, when it sets them.
    codedeploy: dict[str, str] = field(default_factory=dict)


# The Go engine is what ecspresso embeds, so definitions evaluate exactly as
# they do there; it is also many times faster than the C++ one on these
# files (see bench/). ECS_FLEET_JSONNET=cpp selects the C++ engine.
ENGINES = {"go": "_gojsonnet", "cpp": "_jsonnet"}


def jsonnet_engine():
    name = os.environ.get("ECS_FLEET_JSONNET", "go")
    if name not in ENGINES:
        raise ValueError(f"ECS_FLEET_JSONNET={name!r}: use one of {', '.join(ENGINES)}")
    return _import_engine(name)


@functools.cache
def _import_engine(name: str):
    return importlib.import_module(ENGINES[name])


class MissingEnv(Exception):
    pass


# The Go engine reports a failed native callback without its message; the
# message is kept here so the error can still say which variable is unset.
_native_errors: list[str] = []


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _must_env(name: str) -> str:
    if name not in os.environ:
        message = f"environment variable {name} is not set (must_env)"
        _native_errors.append(message)
        raise MissingEnv(message)
    return os.environ[name]


NATIVE_CALLBACKS = {
    "env": (("name", "default"), _env),
    "must_env": (("name",), _must_env),
}


def ext_values(
    config: StackConfig, service: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The external variables a service's definitions are evaluated with."""
    settings = config.services[service]
    ext_vars = {
        "stack": config.stack,
        "service": service,
        "image": settings.image,
        "region": config.region,
        "cluster": config.cluster,
    }
    ext_codes = {"vars": json.dumps(config.service_vars(service), sort_keys=True)}
    return ext_vars, ext_codes


_cache: dict[tuple, Any] = {}


def evaluate(
    path: Path,
    *,
    project_dir: Path,
    service: str,
    ext_vars: dict[str, str],
    ext_codes: dict[str, str],
) -> Any:
    """Evaluate one Jsonnet or JSON file; a mistake becomes a FleetError.

    Results are cached per file and variables: the offline preview renders
    before it runs the program, and the program renders again.
    """
    key = (
        os.environ.get("ECS_FLEET_JSONNET", "go"),
        str(path),
        path.stat().st_mtime_ns,
        tuple(sorted(ext_vars.items())),
        tuple(sorted(ext_codes.items())),
    )
    if key in _cache:
        return json.loads(_cache[key])
    rel = _relative(path, project_dir)
    if path.suffix == ".json":
        try:
            text = path.read_text()
            json.loads(text)
        except json.JSONDecodeError as err:
            raise_if([Problem(f"{rel}:{err.lineno}", service, "json", f"{err.msg}")])
    else:
        try:
            _native_errors.clear()
            text = jsonnet_engine().evaluate_file(
                str(path),
                jpathdir=[str(project_dir / LIBSONNET_DIR)],
                ext_vars=ext_vars,
                ext_codes=ext_codes,
                native_callbacks=NATIVE_CALLBACKS,
            )
        except RuntimeError as err:
            raise FleetError(
                [jsonnet_problem(str(err), rel, service, project_dir)]
            ) from None
    _cache[key] = text
    return json.loads(text)


_LOCATION = re.compile(
    r"(?P<file>[^\s:]+\.(?:jsonnet|libsonnet|json)):(?P<line>\d+)(?::[\d-]+)?"
)


def jsonnet_problem(message: str, rel: str, service: str, project_dir: Path) -> Problem:
    """One line from Jsonnet's multi-line error: its first location and cause."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    head = lines[0] if lines else "Jsonnet failed"
    # The C++ engine marks syntax errors STATIC ERROR; the Go one starts them
    # with the location.
    kind = "syntax"
    for prefix in ("STATIC ERROR:", "RUNTIME ERROR:"):
        if head.startswith(prefix):
            kind = "syntax" if prefix.startswith("STATIC") else "evaluation"
            head = head[len(prefix) :].strip()
    if "failed to execute native callback" in head and _native_errors:
        head = _native_errors[-1]
    where = rel
    for line in [head, *lines[1:]]:
        match = _LOCATION.search(line)
        if match:
            where = f"{_relative(Path(match['file']), project_dir)}:{match['line']}"
            head = _LOCATION.sub("", head, count=1).strip(" :")
            break
    head = head.replace("MissingEnv: ", "")
    return Problem(where, service, f"jsonnet {kind}", head or "failed to evaluate")


def _relative(path: Path, project_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        return str(path)


def _find(folder: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    return None


def service_folder(config: StackConfig, service: str) -> Path:
    return config.project_dir / SERVICES_DIR / service


def render_service(config: StackConfig, service: str) -> Definitions:
    """Render one service folder, native or in ecspresso's layout."""
    folder = service_folder(config, service)
    rel_folder = _relative(folder, config.project_dir)
    if not folder.is_dir():
        known = (
            sorted(
                p.name
                for p in (config.project_dir / SERVICES_DIR).iterdir()
                if p.is_dir()
            )
            if (config.project_dir / SERVICES_DIR).is_dir()
            else []
        )
        raise_if(
            [
                Problem(
                    config.file,
                    service,
                    f"ecs-fleet:services.{service}",
                    f"has no folder {rel_folder}/",
                    f"create {rel_folder}/ with {TASK_FILES[0]} and "
                    f"{SERVICE_FILES[0]}, or remove the service from the stack; "
                    f"folders: {', '.join(known) or 'none'}",
                )
            ]
        )

    from fleet import ecspresso

    if ecspresso.config_file(folder) is not None:
        return with_config_secrets(config, ecspresso.render(config, service, folder))

    ext_vars, ext_codes = ext_values(config, service)
    problems: list[Problem] = []
    rendered: dict[str, tuple[Any, str]] = {}
    for kind, names, required in (
        ("task", TASK_FILES, True),
        ("service", SERVICE_FILES, True),
        ("fleet", FLEET_FILES, False),
    ):
        path = _find(folder, names)
        if path is None:
            if required:
                problems.append(
                    Problem(
                        f"{rel_folder}/",
                        service,
                        names[0],
                        f"is missing: the folder holds no {kind} definition",
                        f"add {rel_folder}/{names[0]} (or {names[1]})",
                    )
                )
            rendered[kind] = ({}, "")
            continue
        rel = _relative(path, config.project_dir)
        try:
            value = evaluate(
                path,
                project_dir=config.project_dir,
                service=service,
                ext_vars=ext_vars,
                ext_codes=ext_codes,
            )
        except FleetError as err:
            problems.extend(err.problems)
            continue
        if not isinstance(value, dict):
            problems.append(
                Problem(
                    rel,
                    service,
                    "(top level)",
                    f"must render to an object, not {type(value).__name__}",
                )
            )
            continue
        rendered[kind] = (value, rel)
    raise_if(problems)
    return with_config_secrets(
        config,
        Definitions(
            service=service,
            folder=rel_folder,
            task=rendered["task"][0],
            task_file=rendered["task"][1],
            service_def=rendered["service"][0],
            service_file=rendered["service"][1],
            fleet=rendered["fleet"][0],
            fleet_file=rendered["fleet"][1],
        ),
    )


def secret_parameter(config: StackConfig, service: str, name: str) -> str:
    """The SSM parameter that holds `ecs-fleet:secrets.<service>.<name>`."""
    return f"/ecs-fleet/{config.stack}/{service}/{name}"


def with_config_secrets(config: StackConfig, defs: Definitions) -> Definitions:
    """Add the stack's secrets to the load balanced container's `secrets`.

    ECS reads a parameter in the task's own region by name, so the
    reference needs no account id.
    """
    names = config.secrets.get(defs.service, ())
    if not names:
        return defs
    target = ((defs.service_def.get("loadBalancers") or [{}])[0]).get("containerName")
    task = json.loads(json.dumps(defs.task))
    problems = []
    for container in task.get("containerDefinitions") or []:
        if container.get("name") != target:
            continue
        taken = {e.get("name") for e in container.get("environment") or []}
        taken |= {e.get("name") for e in container.get("secrets") or []}
        for name in names:
            if name in taken:
                problems.append(
                    Problem(
                        config.file,
                        defs.service,
                        f"ecs-fleet:secrets.{defs.service}.{name}",
                        f"container {target} already has {name} in {defs.task_file}",
                        "keep one of the two",
                    )  # fmt: skip
                )
            container.setdefault("secrets", []).append(
                {
                    "name": name,
                    "valueFrom": secret_parameter(config, defs.service, name),
                }
            )
    raise_if(problems)
    return dataclasses.replace(defs, task=task)


def render_fleet(
    config: StackConfig, names: list[str] | None = None
) -> dict[str, Definitions]:
    """Render every service (or the named ones), collecting every problem."""
    problems: list[Problem] = []
    result: dict[str, Definitions] = {}
    for name in names or list(config.services):
        if name not in config.services:
            problems.append(
                Problem(
                    config.file,
                    name,
                    "ecs-fleet:services",
                    f"has no service {name!r}",
                    "services: " + ", ".join(config.services),
                )
            )
            continue
        try:
            result[name] = render_service(config, name)
        except FleetError as err:
            problems.extend(err.problems)
    raise_if(problems)
    return result

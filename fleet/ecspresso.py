"""Service folders in ecspresso's layout, read as ecspresso reads them.

A folder with an `ecspresso.yml` (or `.yaml`, `.json`, `.jsonnet`) is
rendered the way ecspresso renders it:

1. the config is evaluated (Jsonnet first when it is `.json`/`.jsonnet`),
   then expanded as a Go template, then parsed;
2. each definition is evaluated as Jsonnet when it is `.jsonnet`, then
   expanded as a Go template with the config's plugin functions, then
   parsed as JSON;
3. an exported task definition is unwrapped and its read-only fields are
   dropped, as ecspresso drops them before a register call.

Only what works without AWS access is supported: `env`, `must_env`,
`json_escape`, and the `tfstate` plugin reading a local state file.
Everything else that ecspresso resolves at render time (SSM parameters,
Secrets Manager ARNs, CloudFormation outputs, remote state, external
commands) is refused with a line that says what to use instead, so a
preview never depends on what an AWS account held at the time.

The stack config supplies what ecspresso takes on its command line,
under the service's `vars.ecspresso` (see docs/ecspresso.md):
`extStr` and `extCode` (ecspresso's `--ext-str` / `--ext-code`) and `env`
(ecspresso's `--envfile`), which overlays the process environment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import _jsonnet
import yaml

from fleet.config import NAMESPACE
from fleet.errors import FleetError, Problem, raise_if
from fleet.render import (
    FLEET_FILES,
    LIBSONNET_DIR,
    Definitions,
    evaluate,
    ext_values,
    jsonnet_problem,
)

CONFIG_NAMES = (
    "ecspresso.yml",
    "ecspresso.yaml",
    "ecspresso.json",
    "ecspresso.jsonnet",
)

# Fields that describe-task-definition returns and register-task-definition
# refuses; ecspresso leaves them out of the register call.
READ_ONLY_TASK_KEYS = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
)

CONFIG_KEYS = {
    "required_version",
    "region",
    "cluster",
    "service",
    "service_definition",
    "task_definition",
    "plugins",
    "appspec",
    "filter_command",
    "timeout",
    "codedeploy",
}
CODEDEPLOY_KEYS = {
    "application_name",
    "deployment_group_name",
    "deployment_config_name",
}

# What to write instead of a look-up that needs AWS at render time.
_SECRET_FIX = (
    "ecs-fleet renders without AWS access: move the value to the container's "
    "`secrets` as {name, valueFrom: <parameter name or ARN>}, which ECS "
    "resolves when the task starts, or to the stack config's "
    "vars.ecspresso.extStr"
)
_ARN_FIX = (
    "ecs-fleet renders without AWS access: write the secret's full ARN in "
    "valueFrom, look it up with tfstate from a local state file, or pass it "
    "through vars.ecspresso.extStr"
)
_CFN_FIX = (
    "ecs-fleet renders without AWS access: read the value with tfstate from "
    "a local state file, or pass it through vars.ecspresso.extStr"
)
REFUSED_FUNCTIONS = {
    "ssm": ("reads SSM Parameter Store at render time", _SECRET_FIX),
    "ssm_list": ("reads SSM Parameter Store at render time", _SECRET_FIX),
    "secretsmanager_arn": ("asks Secrets Manager at render time", _ARN_FIX),
    "cfn_output": ("asks CloudFormation at render time", _CFN_FIX),
    "cfn_export": ("asks CloudFormation at render time", _CFN_FIX),
}
REFUSED_PLUGINS = {
    "cloudformation": (
        "asks CloudFormation at render time",
        "read the values with the tfstate plugin from a local state file, "
        "or pass them through vars.ecspresso.extStr",
    ),
    "external": (
        "runs commands at render time, which a preview must not depend on",
        "run the command before `pulumi up` and pass its output through "
        "vars.ecspresso.extStr or vars.ecspresso.env",
    ),
}
# ecspresso loads these plugins by default; naming them changes nothing here
# because their functions are refused when called.
DEFAULT_PLUGINS = ("ssm", "secretsmanager")

STATE_FIX = (
    "ecs-fleet reads Terraform state only from a local file: write it with "
    "`terraform state pull > terraform.tfstate` before rendering and set the "
    "plugin's config to path: terraform.tfstate"
)

ECSPRESSO_VARS = "ecspresso"
# Jsonnet passes a native function's error on as one string; this splits
# it back into the message and the fix.
_FIX_SEP = " || "
ECSPRESSO_VAR_KEYS = ("extStr", "extCode", "env")


def config_file(folder: Path) -> Path | None:
    for name in CONFIG_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


@dataclass
class Context:
    """What a rendering needs besides the files: names, variables, env."""

    project_dir: Path
    service: str | None = None
    ext_vars: dict[str, str] = field(default_factory=dict)
    ext_codes: dict[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)

    def rel(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.project_dir.resolve()))
        except ValueError:
            return str(path)

    def getenv(self, name: str) -> str | None:
        if name in self.env:
            return self.env[name]
        return os.environ.get(name)


@dataclass
class EcspressoConfig:
    """An ecspresso config, loaded, with its plugins' functions ready."""

    file: str
    path: Path
    task_definition: Path
    service_definition: Path | None
    cluster: str | None = None
    region: str | None = None
    service: str | None = None
    codedeploy: dict[str, str] = field(default_factory=dict)
    hooks: dict[str, str] = field(default_factory=dict)
    template_funcs: dict[str, Callable[..., Any]] = field(default_factory=dict)
    native_funcs: dict[str, tuple[tuple[str, ...], Callable[..., Any]]] = field(
        default_factory=dict
    )


class CallError(Exception):
    """A template or native function refused its arguments."""

    def __init__(self, message: str, fix: str = ""):
        super().__init__(message)
        self.message = message
        self.fix = fix


# Go text/template, the subset ecspresso files use.


class TemplateSyntaxError(Exception):
    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset = offset
        self.message = message


@dataclass
class _Text:
    text: str


@dataclass
class _Action:
    pipeline: list
    offset: int
    source: str


@dataclass
class _If:
    branches: list  # (pipeline, offset, source, body)
    otherwise: list


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<raw>`[^`]*`)
      | (?P<str>"(?:[^"\\\n]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>[()|])
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_UNSUPPORTED_KEYWORDS = {
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
}


def _lex_action(body: str, offset: int) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(body):
        match = _TOKEN.match(body, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "raw":
            tokens.append(("str", value[1:-1]))
        elif kind == "str":
            tokens.append(("str", json.loads(value)))
        elif kind == "num":
            tokens.append(("num", float(value) if "." in value else int(value)))
        elif kind == "ident":
            tokens.append(("ident", value))
        elif kind == "punct":
            tokens.append((value, value))
        else:
            what = {
                ".": "fields and the dot (.)",
                "$": "variables ($x)",
                ":": "assignments (:=)",
                "=": "assignments (=)",
            }.get(value, f"the character {value!r}")
            raise TemplateSyntaxError(
                offset, f"{what} are not supported in ecspresso templates here"
            )
    return tokens


def _parse_pipeline(tokens, offset):
    """A pipeline: commands separated by |, each a function and its args."""
    pos = 0

    def operand():
        nonlocal pos
        kind, value = tokens[pos]
        if kind == "(":
            pos += 1
            inner = pipeline()
            if pos >= len(tokens) or tokens[pos][0] != ")":
                raise TemplateSyntaxError(offset, "unclosed parenthesis")
            pos += 1
            return ("pipe", inner)
        if kind in ("str", "num"):
            pos += 1
            return ("lit", value)
        if kind == "ident":
            pos += 1
            if value in ("true", "false"):
                return ("lit", value == "true")
            if value == "nil":
                return ("lit", None)
            return ("fn", value)
        raise TemplateSyntaxError(offset, f"unexpected {value!r}")

    def command():
        nonlocal pos
        args = []
        while pos < len(tokens) and tokens[pos][0] not in ("|", ")"):
            args.append(operand())
        if not args:
            raise TemplateSyntaxError(offset, "missing command")
        return args

    def pipeline():
        nonlocal pos
        commands = [command()]
        while pos < len(tokens) and tokens[pos][0] == "|":
            pos += 1
            commands.append(command())
        return commands

    result = pipeline()
    if pos != len(tokens):
        raise TemplateSyntaxError(offset, f"unexpected {tokens[pos][1]!r}")
    return result


def _split_actions(text: str):
    """Yield ("text", str) and ("action", body, offset, source) pieces."""
    pos = 0
    pending_trim = False
    while True:
        start = text.find("{{", pos)
        if start < 0:
            chunk = text[pos:]
            yield ("text", chunk.lstrip() if pending_trim else chunk)
            return
        chunk = text[pos:start]
        if pending_trim:
            chunk = chunk.lstrip()
        body_start = start + 2
        if text.startswith("- ", body_start) or text.startswith("-\n", body_start):
            chunk = chunk.rstrip()
            body_start += 1
        yield ("text", chunk)
        end = _action_end(text, body_start, start)
        body_end = end
        pending_trim = False
        if text[body_end - 2 : body_end] in (" -", "\n-", "\t-"):
            body_end -= 1
            pending_trim = True
        yield ("action", text[body_start:body_end], start, text[start : end + 2])
        pos = end + 2


def _action_end(text: str, pos: int, start: int) -> int:
    quote = None
    while pos < len(text):
        char = text[pos]
        if quote:
            if char == "\\" and quote == '"':
                pos += 2
                continue
            if char == quote:
                quote = None
        elif char in '`"':
            quote = char
        elif text.startswith("}}", pos):
            return pos
        pos += 1
    raise TemplateSyntaxError(start, "unclosed action: {{ without }}")


def parse_template(text: str) -> list:
    """Parse a template into nodes; a syntax error names its offset."""
    root: list = []
    stack: list[tuple[_If | None, list]] = [(None, root)]
    for piece in _split_actions(text):
        body = stack[-1][1]
        if piece[0] == "text":
            if piece[1]:
                body.append(_Text(piece[1]))
            continue
        _, inner, offset, source = piece
        stripped = inner.strip()
        if stripped.startswith("/*") and stripped.endswith("*/"):
            continue
        keyword = stripped.split(maxsplit=1)[0] if stripped else ""
        if keyword in _UNSUPPORTED_KEYWORDS:
            raise TemplateSyntaxError(
                offset,
                f"{{{{ {keyword} }}}} is not supported in ecspresso templates here",
            )
        tokens = _lex_action(inner, offset)
        if not tokens:
            raise TemplateSyntaxError(offset, "empty action {{ }}")
        head = tokens[0]
        if head == ("ident", "if"):
            node = _If([(_parse_pipeline(tokens[1:], offset), offset, source, [])], [])
            body.append(node)
            stack.append((node, node.branches[0][3]))
        elif head == ("ident", "else"):
            node = stack[-1][0]
            if node is None or stack[-1][1] is node.otherwise:
                raise TemplateSyntaxError(offset, "{{ else }} without {{ if }}")
            stack.pop()
            if tokens[1:2] == [("ident", "if")]:
                branch = (_parse_pipeline(tokens[2:], offset), offset, source, [])
                node.branches.append(branch)
                stack.append((node, branch[3]))
            elif len(tokens) == 1:
                stack.append((node, node.otherwise))
            else:
                raise TemplateSyntaxError(offset, "unexpected words after else")
        elif head == ("ident", "end"):
            if stack[-1][0] is None:
                raise TemplateSyntaxError(offset, "{{ end }} without {{ if }}")
            stack.pop()
        else:
            body.append(_Action(_parse_pipeline(tokens, offset), offset, source))
    if len(stack) > 1:
        _, offset, _, _ = stack[-1][0].branches[0]
        raise TemplateSyntaxError(offset, "{{ if }} without {{ end }}")
    return root


@dataclass
class TemplateFailure:
    offset: int
    source: str
    message: str
    fix: str = ""


def execute_template(
    nodes: list, funcs: Mapping[str, Callable[..., Any]]
) -> tuple[str, list[TemplateFailure]]:
    """Expand parsed nodes; every failing action is recorded, not just the first."""
    out: list[str] = []
    failures: list[TemplateFailure] = []

    def run(pipeline, offset, source):
        value = None
        for i, command in enumerate(pipeline):
            args = [arg(a, offset, source) for a in command[1:]]
            if i > 0:
                args.append(value)
            head = command[0]
            if head[0] == "fn":
                value = call(head[1], args)
            elif len(command) == 1 and i == 0:
                value = arg(head, offset, source)
            else:
                raise CallError(f"{_show(head)} is not a function")
        return value

    def arg(operand, offset, source):
        kind, value = operand
        if kind == "lit":
            return value
        if kind == "pipe":
            return run(value, offset, source)
        return call(value, [])

    def call(name, args):
        if name in funcs:
            try:
                return funcs[name](*args)
            except TypeError:
                raise CallError(
                    f"wrong number of arguments for {name}: {len(args)}"
                ) from None
        if name in REFUSED_FUNCTIONS:
            what, fix = REFUSED_FUNCTIONS[name]
            raise CallError(f"function {name} {what}", fix)
        raise CallError(
            f"function {name} is not defined",
            "ecs-fleet provides env, must_env, json_escape and the tfstate "
            "plugin's functions (tfstate, tfstatef, with func_prefix)",
        )

    def walk(nodes):
        for node in nodes:
            if isinstance(node, _Text):
                out.append(node.text)
            elif isinstance(node, _Action):
                try:
                    out.append(_print(run(node.pipeline, node.offset, node.source)))
                except CallError as err:
                    failures.append(
                        TemplateFailure(node.offset, node.source, err.message, err.fix)
                    )
            else:
                for pipeline, offset, source, body in node.branches:
                    try:
                        chosen = _truth(run(pipeline, offset, source))
                    except CallError as err:
                        failures.append(
                            TemplateFailure(offset, source, err.message, err.fix)
                        )
                        chosen = False
                    if chosen:
                        walk(body)
                        break
                else:
                    walk(node.otherwise)

    walk(nodes)
    return "".join(out), failures


def _show(operand) -> str:
    return repr(operand[1])


def _truth(value: Any) -> bool:
    return bool(value) if value is not None else False


def _print(value: Any) -> str:
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# The functions ecspresso provides without plugins.


def base_funcs(ctx: Context) -> dict[str, Callable[..., Any]]:
    def env(*keys: str) -> str:
        # go-config's env tries every argument as a variable name and
        # falls back to the last one as a literal.
        value = ""
        for key in keys:
            value = ctx.getenv(str(key)) or ""
            if value:
                return value
            value = str(key)
        return value

    def must_env(key: str) -> str:
        value = ctx.getenv(str(key))
        if value is None:
            raise CallError(
                f"environment variable {key} is not set",
                f"export {key} before rendering, or set it in the stack config "
                f"under vars.{ECSPRESSO_VARS}.env",
            )
        return value

    def json_escape(value: Any) -> str:
        # Go's encoding/json escapes HTML characters too; so do we, for the
        # same output.
        text = json.dumps(str(value), ensure_ascii=False)[1:-1]
        return (
            text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        )

    return {"env": env, "must_env": must_env, "json_escape": json_escape}


def base_natives(ctx: Context) -> dict[str, tuple[tuple[str, ...], Callable]]:
    funcs = base_funcs(ctx)

    def env(name: str, default: str) -> str:
        value = ctx.getenv(name)
        return value if value else default

    def must_env(name: str) -> str:
        try:
            return funcs["must_env"](name)
        except CallError as err:
            raise RuntimeError(f"{err.message}{_FIX_SEP}{err.fix}") from None

    natives: dict[str, tuple[tuple[str, ...], Callable]] = {
        "env": (("name", "default"), env),
        "must_env": (("name",), must_env),
    }
    for name, (what, fix) in REFUSED_FUNCTIONS.items():
        natives[name] = (("name",), _refusing_native(name, what, fix))
    natives["ssm_list"] = (("name", "index"), natives["ssm_list"][1])
    natives["cfn_output"] = (("stack", "key"), natives["cfn_output"][1])
    return natives


def _refusing_native(name: str, what: str, fix: str) -> Callable:
    def refuse(*_args: Any) -> Any:
        raise RuntimeError(f"std.native('{name}') {what}{_FIX_SEP}{fix}")

    return refuse


# The tfstate plugin: look-ups in a local Terraform state (version 4).


class TFState:
    """Terraform state addresses to values, as tfstate-lookup resolves them."""

    def __init__(self, data: dict[str, Any]):
        self.scanned: dict[str, Any] = {}
        for key, value in (data.get("outputs") or {}).items():
            self.scanned[f"output.{key}"] = _output_value(value)
        for resource in data.get("resources") or []:
            module = f"{resource['module']}." if resource.get("module") else ""
            mode = resource.get("mode")
            if mode not in ("data", "managed"):
                continue
            prefix = "data." if mode == "data" else ""
            name = f"{module}{prefix}{resource.get('type')}.{resource.get('name')}"
            instances = resource.get("instances") or []
            if mode == "data" and resource.get("type") == "terraform_remote_state":
                if instances and isinstance(instances[0].get("attributes"), dict):
                    attributes = instances[0]["attributes"]
                    self.scanned[name] = {
                        k: _output_value(v) for k, v in attributes.items()
                    }
                continue
            for instance in instances:
                key = name
                if "index_key" in instance:
                    key += f"[{json.dumps(instance['index_key'])}]"
                value = instance.get("attributes")
                if value is None:
                    value = instance.get("attributes_flat")
                self.scanned[key] = value

    def lookup(self, address: str) -> Any:
        """The value at an address, or None when the state lacks it."""
        address = address.replace("'", '"')
        found = max(
            (name for name in self.scanned if address.startswith(name)),
            key=len,
            default=None,
        )
        if found is None:
            # A count or for_each resource without an index: all instances,
            # keyed by their index, as tfstate-lookup returns them.
            instances = {
                json.loads(name[len(address) + 1 : -1]): value
                for name, value in self.scanned.items()
                if name.startswith(f"{address}[") and name.endswith("]")
            }
            return {str(k): v for k, v in instances.items()} or None
        query = address[len(found) :]
        if query.startswith("["):
            query = "." + query
        if query and not query.startswith("."):
            return None
        return _query(self.scanned[found], query)


def _output_value(value: Any) -> Any:
    if isinstance(value, dict) and value.get("value") is not None and "type" in value:
        return value["value"]
    return value


_STEP = re.compile(
    r"""\.?\[(?P<index>-?\d+)\]
      | \.?\[(?P<quoted>"(?:[^"\\]|\\.)*")\]
      | \.(?P<qname>"(?:[^"\\]|\\.)*")
      | \.(?P<name>[^.\[]+)
    """,
    re.VERBOSE,
)


def _query(value: Any, query: str) -> Any:
    pos = 0
    while pos < len(query):
        if query[pos:] == ".":
            break
        match = _STEP.match(query, pos)
        if match is None:
            return None
        pos = match.end()
        if match["index"] is not None:
            index = int(match["index"])
            if not isinstance(value, list) or not -len(value) <= index < len(value):
                return None
            value = value[index]
            continue
        key = (
            json.loads(match["quoted"] or match["qname"])
            if match["quoted"] or match["qname"]
            else match["name"]
        )
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _state_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def tfstate_funcs(
    state: TFState, state_file: str, prefix: str
) -> tuple[dict[str, Callable], dict[str, tuple[tuple[str, ...], Callable]]]:
    """Template and Jsonnet functions of one tfstate plugin."""

    def lookup(address: str) -> Any:
        value = state.lookup(str(address))
        if value is None:
            raise CallError(
                f"{address} is not found in {state_file}",
                "check the address with `terraform state list`, or refresh "
                "the local state file",
            )
        return value

    def tfstate(address: str) -> str:
        return _state_text(lookup(address))

    def tfstatef(fmt: str, *args: Any) -> str:
        try:
            address = _go_sprintf(fmt, args)
        except (TypeError, ValueError) as err:
            raise CallError(f"{prefix}tfstatef {fmt!r}: {err}") from None
        return tfstate(address)

    def native(address: str) -> Any:
        try:
            return lookup(address)
        except CallError as err:
            raise RuntimeError(f"{err.message}{_FIX_SEP}{err.fix}") from None

    templates = {f"{prefix}tfstate": tfstate, f"{prefix}tfstatef": tfstatef}
    natives = {f"{prefix}tfstate": (("address",), native)}
    return templates, natives


def _go_sprintf(fmt: str, args: tuple) -> str:
    """Go's fmt.Sprintf for the verbs a state address uses: %s, %d, %v, %%."""
    out: list[str] = []
    rest = list(args)
    pos = 0
    while pos < len(fmt):
        char = fmt[pos]
        if char == "%" and pos + 1 < len(fmt):
            verb = fmt[pos + 1]
            pos += 2
            if verb == "%":
                out.append("%")
            elif verb in "sdv":
                if not rest:
                    raise ValueError(f"missing argument for %{verb}")
                out.append(_print(rest.pop(0)))
            else:
                raise ValueError(f"%{verb} is not supported; use %s")
            continue
        out.append(char)
        pos += 1
    return "".join(out)


def _read_state(location: Path, rel: str) -> TFState:
    try:
        data = json.loads(location.read_text())
    except FileNotFoundError:
        raise CallError(f"state file {rel} does not exist", STATE_FIX) from None
    except json.JSONDecodeError as err:
        raise CallError(f"state file {rel} is not JSON: {err.msg}") from None
    if not isinstance(data, dict):
        raise CallError(f"state file {rel} is not a Terraform state")
    if data.get("backend"):
        raise CallError(
            f"state file {rel} points to a {data['backend'].get('type')} backend",
            STATE_FIX,
        )
    if data.get("version") != 4:
        raise CallError(
            f"state file {rel} has version {data.get('version')!r}; "
            "only version 4 (Terraform 0.12 and later) is read"
        )
    return TFState(data)


# Loading the config.


def _expand(
    text: str,
    funcs: Mapping[str, Callable],
    *,
    rel: str,
    ctx: Context,
    field_name: str,
    source_text: str | None = None,
) -> str:
    """Expand a template, turning every failure into a Problem with a line."""
    try:
        nodes = parse_template(text)
    except TemplateSyntaxError as err:
        raise_if(
            [
                Problem(
                    _where(rel, text, source_text, err.offset, "")[0],
                    ctx.service,
                    field_name,
                    f"template syntax: {err.message}",
                    "ecs-fleet reads {{ fn `arg` }} calls, pipes (|), "
                    "{{ if }}/{{ else }}/{{ end }} and {{- -}} trimming",
                )
            ]
        )
    result, failures = execute_template(nodes, funcs)
    seen: dict[str, int] = {}
    located = []
    for failure in failures:
        nth = seen.get(failure.source, 0)
        seen[failure.source] = nth + 1
        where, line = _where(
            rel, text, source_text, failure.offset, failure.source, nth
        )
        located.append((line, where, failure))
    # Jsonnet sorts an object's fields, so its failures come out of order.
    located.sort(key=lambda item: item[0])
    raise_if(
        [
            Problem(where, ctx.service, field_name, f"{f.source}: {f.message}", f.fix)
            for _, where, f in located
        ]
    )
    return result


def _where(
    rel: str, text: str, source_text: str | None, offset: int, src: str, nth: int = 0
) -> tuple[str, int]:
    """file:line of an action; for Jsonnet, the line of its nth copy in the source."""
    if source_text is None:
        line = _line(text, offset)
        return f"{rel}:{line}", line
    at = -1
    for _ in range(nth + 1):
        at = source_text.find(src, at + 1) if src else -1
        if at < 0:
            break
    if at >= 0:
        line = _line(source_text, at)
        return f"{rel}:{line}", line
    line = _line(text, offset)
    return f"{rel} (line {line} of its Jsonnet output)", line


def _evaluate_jsonnet(path: Path, ctx: Context, natives: Mapping) -> str:
    try:
        return _jsonnet.evaluate_file(
            str(path),
            jpathdir=[str(ctx.project_dir / LIBSONNET_DIR)],
            ext_vars=ctx.ext_vars,
            ext_codes=ctx.ext_codes,
            native_callbacks=dict(natives),
        )
    except RuntimeError as err:
        problem = jsonnet_problem(
            str(err), ctx.rel(path), ctx.service or "", ctx.project_dir
        )
        raise FleetError(
            [
                Problem(
                    problem.file,
                    ctx.service,
                    problem.field,
                    *_split_fix(problem.message),
                )
            ]
        ) from None


def _split_fix(message: str) -> tuple[str, str]:
    head, _, fix = message.partition(_FIX_SEP)
    return head, fix


def _read_text(path: Path, ctx: Context, field_name: str) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise_if(
            [
                Problem(
                    ctx.rel(path),
                    ctx.service,
                    field_name,
                    "does not exist",
                    "fix the path in the ecspresso config",
                )
            ]
        )
    raise AssertionError("unreachable")


def load_config(path: Path, ctx: Context) -> EcspressoConfig:
    """Read an ecspresso config and set up its plugins."""
    rel = ctx.rel(path)
    funcs = base_funcs(ctx)
    if path.suffix in (".yml", ".yaml"):
        source = _read_text(path, ctx, "ecspresso config")
        text = _expand(source, funcs, rel=rel, ctx=ctx, field_name="ecspresso config")
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"{rel}:{mark.line + 1}" if mark else rel
            raise_if(
                [
                    Problem(
                        where,
                        ctx.service,
                        "ecspresso config",
                        f"is not valid YAML after template expansion: "
                        f"{getattr(err, 'problem', err)}",
                    )
                ]
            )
    else:
        source = path.read_text()
        evaluated = _evaluate_jsonnet(path, ctx, base_natives(ctx))
        text = _expand(
            evaluated,
            funcs,
            rel=rel,
            ctx=ctx,
            field_name="ecspresso config",
            source_text=source,
        )
        raw = json.loads(text)
    if not isinstance(raw, dict):
        raise_if([Problem(rel, ctx.service, "ecspresso config", "must be a map")])
    return _config_from(raw, path, ctx)


def _config_from(raw: dict[str, Any], path: Path, ctx: Context) -> EcspressoConfig:
    rel = ctx.rel(path)
    problems: list[Problem] = []

    def add(key: str, message: str, fix: str = "") -> None:
        problems.append(Problem(rel, ctx.service, key, message, fix))

    for key in raw:
        if key not in CONFIG_KEYS:
            add(
                key,
                "is not an ecspresso config key that ecs-fleet reads",
                "known keys: " + ", ".join(sorted(CONFIG_KEYS)),
            )

    def definition_path(key: str) -> Path | None:
        value = raw.get(key)
        if not value:
            return None
        if not isinstance(value, str):
            add(key, f"must be a file path, not {value!r}")
            return None
        target = Path(value)
        return target if target.is_absolute() else path.parent / target

    task_path = definition_path("task_definition")
    service_path = definition_path("service_definition")
    if task_path is None and "task_definition" not in [p.field for p in problems]:
        add("task_definition", "is not defined", "name the task definition file")
    if service_path is None and "service_definition" not in [p.field for p in problems]:
        add(
            "service_definition",
            "is not defined: ecs-fleet deploys services, not one-off tasks",
            "name the service definition file",
        )

    codedeploy = raw.get("codedeploy") or {}
    if not isinstance(codedeploy, dict):
        add("codedeploy", "must be a map with application_name, deployment_group_name")
        codedeploy = {}
    for key, value in codedeploy.items():
        if key not in CODEDEPLOY_KEYS:
            add(
                f"codedeploy.{key}",
                "is not a known key",
                "known keys: " + ", ".join(sorted(CODEDEPLOY_KEYS)),
            )
        elif not isinstance(value, str):
            add(f"codedeploy.{key}", f"must be a string, not {value!r}")

    hooks = _appspec_hooks(raw.get("appspec"), add)

    config = EcspressoConfig(
        file=rel,
        path=path,
        task_definition=task_path or path.parent,
        service_definition=service_path,
        cluster=raw.get("cluster"),
        region=raw.get("region"),
        service=raw.get("service"),
        codedeploy={k: v for k, v in codedeploy.items() if k in CODEDEPLOY_KEYS},
        hooks=hooks,
        template_funcs=base_funcs(ctx),
        native_funcs=base_natives(ctx),
    )
    _setup_plugins(raw.get("plugins"), config, ctx, add)
    raise_if(problems)
    return config


def _appspec_hooks(appspec: Any, add) -> dict[str, str]:
    if appspec is None:
        return {}
    if not isinstance(appspec, dict):
        add("appspec", "must be a map with Hooks")
        return {}
    for key in appspec:
        if key != "Hooks":
            add(
                f"appspec.{key}",
                "is written by ecs-fleet itself; only Hooks are read",
                "remove it",
            )
    hooks: dict[str, str] = {}
    for i, entry in enumerate(appspec.get("Hooks") or []):
        if not isinstance(entry, dict):
            add(f"appspec.Hooks[{i}]", "must be a map of event to function")
            continue
        hooks.update({str(k): v for k, v in entry.items()})
    return hooks


def _setup_plugins(plugins: Any, config: EcspressoConfig, ctx: Context, add) -> None:
    if plugins is None:
        return
    if not isinstance(plugins, list):
        add("plugins", "must be a list of {name, config, func_prefix}")
        return
    for i, plugin in enumerate(plugins):
        key = f"plugins[{i}]"
        if not isinstance(plugin, dict) or not isinstance(plugin.get("name"), str):
            add(key, "must be a map with a name")
            continue
        name = plugin["name"].lower()
        prefix = plugin.get("func_prefix") or ""
        if name in DEFAULT_PLUGINS:
            continue
        if name in REFUSED_PLUGINS:
            what, fix = REFUSED_PLUGINS[name]
            add(f"{key}.name", f"plugin {name} {what}", fix)
            continue
        if name != "tfstate":
            add(
                f"{key}.name",
                f"plugin {plugin['name']} is not available",
                "ecs-fleet provides the tfstate plugin",
            )
            continue
        try:
            location = _state_location(plugin.get("config"), config.path)
            state = _read_state(location, ctx.rel(location))
        except CallError as err:
            add(f"{key}.config", err.message, err.fix)
            continue
        templates, natives = tfstate_funcs(state, ctx.rel(location), prefix)
        taken = [n for n in templates if n in config.template_funcs]
        if taken:
            add(
                key,
                f"template function {taken[0]} already exists",
                f"set func_prefix to {plugin['name']} plugin",
            )
            continue
        config.template_funcs.update(templates)
        config.native_funcs.update(natives)


def _state_location(settings: Any, config_path: Path) -> Path:
    if not isinstance(settings, dict):
        raise CallError("tfstate plugin requires path or url for tfstate location")
    if settings.get("path") is not None:
        value = settings["path"]
        if not isinstance(value, str):
            raise CallError("tfstate plugin requires path for tfstate file as a string")
    elif settings.get("url") is not None:
        value = settings["url"]
        if not isinstance(value, str):
            raise CallError("tfstate plugin requires url for tfstate URL as a string")
        parsed = urlparse(value)
        if parsed.scheme == "file":
            value = parsed.netloc + parsed.path
        elif parsed.scheme:
            raise CallError(
                f"state at {value} is remote ({parsed.scheme}://)", STATE_FIX
            )
    else:
        raise CallError("tfstate plugin requires path or url for tfstate location")
    location = Path(value)
    return location if location.is_absolute() else config_path.parent / location


# Loading the definitions.


def _load_definition(
    path: Path, config: EcspressoConfig | None, ctx: Context, field_name: str
) -> Any:
    rel = ctx.rel(path)
    funcs = config.template_funcs if config else base_funcs(ctx)
    natives = config.native_funcs if config else base_natives(ctx)
    source = _read_text(path, ctx, field_name)
    if path.suffix == ".jsonnet":
        evaluated = _evaluate_jsonnet(path, ctx, natives)
        text = _expand(
            evaluated,
            funcs,
            rel=rel,
            ctx=ctx,
            field_name="template",
            source_text=source,
        )
    else:
        text = _expand(source, funcs, rel=rel, ctx=ctx, field_name="template")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise_if(
            [
                Problem(
                    f"{rel}:{err.lineno}",
                    ctx.service,
                    "json",
                    f"{err.msg} after template expansion",
                )
            ]
        )
    if not isinstance(value, dict):
        raise_if(
            [
                Problem(
                    rel,
                    ctx.service,
                    "(top level)",
                    f"must be an object, not {type(value).__name__}",
                )
            ]
        )
    return value


def load_task_definition(
    path: Path, config: EcspressoConfig | None, ctx: Context
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A task definition as ecspresso registers it, and any warnings."""
    value = _load_definition(path, config, ctx, "task_definition")
    task, dropped = normalise_task(value)
    warnings: tuple[str, ...] = ()
    if dropped:
        warnings = (
            f"{ctx.rel(path)}: dropped {', '.join(dropped)}: read-only fields of "
            "an exported task definition, which a register call refuses",
        )
    return task, warnings


def load_service_definition(
    path: Path, config: EcspressoConfig | None, ctx: Context
) -> dict[str, Any]:
    """A service definition as ecspresso reads it: null means absent."""
    return _drop_nulls(_load_definition(path, config, ctx, "service_definition"))


def normalise_task(value: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Unwrap an export, drop read-only fields, nulls and empty lists."""
    dropped: list[str] = []
    task = value
    if isinstance(value.get("taskDefinition"), dict):
        task = dict(value["taskDefinition"])
        # describe-task-definition --include TAGS puts tags beside the wrapper.
        if value.get("tags") and not task.get("tags"):
            task["tags"] = value["tags"]
        dropped += [k for k in value if k not in ("taskDefinition", "tags")]
    dropped += [k for k in READ_ONLY_TASK_KEYS if k in task]
    task = {k: v for k, v in task.items() if k not in READ_ONLY_TASK_KEYS}
    return _drop_empty(task), dropped


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _drop_empty(value: Any) -> Any:
    # ecspresso drops nulls and empty lists from a task definition before
    # registering it: RegisterTaskDefinition refuses an empty tags list.
    if isinstance(value, dict):
        return {
            k: _drop_empty(v) for k, v in value.items() if v is not None and v != []
        }
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


# The service folder as a whole.


def stack_context(config, service: str, folder: Path) -> Context:
    """Ext vars and env from the stack config: ecs-fleet's own and vars.ecspresso."""
    ext_vars, ext_codes = ext_values(config, service)
    settings = config.service_vars(service).get(ECSPRESSO_VARS) or {}
    prefix = f"{NAMESPACE}:services.{service}.vars.{ECSPRESSO_VARS}"
    problems: list[Problem] = []

    def add(key: str, message: str, fix: str = "") -> None:
        problems.append(Problem(config.file, service, key, message, fix))

    if not isinstance(settings, dict):
        add(prefix, "must be a map with extStr, extCode and env")
        settings = {}
    for key in settings:
        if key not in ECSPRESSO_VAR_KEYS:
            add(
                f"{prefix}.{key}",
                "is not a known key",
                "known keys: " + ", ".join(ECSPRESSO_VAR_KEYS),
            )
    maps: dict[str, dict[str, str]] = {}
    for key in ECSPRESSO_VAR_KEYS:
        values = settings.get(key) or {}
        if not isinstance(values, dict):
            add(f"{prefix}.{key}", "must be a map of names to strings")
            values = {}
        maps[key] = {}
        for name, item in values.items():
            if not isinstance(item, str):
                add(
                    f"{prefix}.{key}.{name}",
                    f"must be a string, not {item!r}",
                    "quote it in the stack file"
                    + ("; extCode holds Jsonnet source" if key == "extCode" else ""),
                )
                continue
            if key != "env" and (name in ext_vars or name in ext_codes):
                add(
                    f"{prefix}.{key}.{name}",
                    "is one of ecs-fleet's own external variables",
                    "rename it",
                )
                continue
            maps[key][str(name)] = item
    raise_if(problems)
    return Context(
        project_dir=config.project_dir,
        service=service,
        ext_vars={**ext_vars, **maps["extStr"]},
        ext_codes={**ext_codes, **maps["extCode"]},
        env=maps["env"],
    )


def render(config, service: str, folder: Path):
    """Render a service folder in ecspresso's layout into Definitions."""
    ctx = stack_context(config, service, folder)
    ecs = load_config(config_file(folder), ctx)
    problems: list[Problem] = []
    task: dict[str, Any] = {}
    warnings: tuple[str, ...] = ()
    try:
        task, warnings = load_task_definition(ecs.task_definition, ecs, ctx)
    except FleetError as err:
        problems += err.problems
    service_def: dict[str, Any] = {}
    service_file = ""
    if ecs.service_definition is not None:
        service_file = ctx.rel(ecs.service_definition)
        try:
            service_def = load_service_definition(ecs.service_definition, ecs, ctx)
        except FleetError as err:
            problems += err.problems

    fleet: dict[str, Any] = {}
    fleet_file = ""
    for name in FLEET_FILES:
        if (folder / name).is_file():
            fleet_file = ctx.rel(folder / name)
            ext_vars, ext_codes = ext_values(config, service)
            try:
                fleet = evaluate(
                    folder / name,
                    project_dir=config.project_dir,
                    service=service,
                    ext_vars=ext_vars,
                    ext_codes=ext_codes,
                )
            except FleetError as err:
                problems += err.problems
            break
    if ecs.hooks:
        if isinstance(fleet, dict) and fleet.get("hooks"):
            problems.append(
                Problem(
                    ecs.file,
                    service,
                    "appspec.Hooks",
                    f"are also set in {fleet_file}",
                    "keep the hooks in one place",
                )
            )
        elif isinstance(fleet, dict):
            fleet = {**fleet, "hooks": dict(ecs.hooks)}
    raise_if(problems)

    warnings += _stack_warnings(config, service, ecs, task)
    return Definitions(
        service=service,
        folder=ctx.rel(folder),
        task=task,
        task_file=ctx.rel(ecs.task_definition),
        service_def=service_def,
        service_file=service_file,
        fleet=fleet,
        fleet_file=fleet_file,
        warnings=warnings,
        codedeploy=dict(ecs.codedeploy),
    )


def _stack_warnings(config, service, ecs: EcspressoConfig, task) -> tuple[str, ...]:
    """Where the ecspresso config and the stack disagree, the stack wins."""
    found = []
    for key, ours in (("cluster", config.cluster), ("region", config.region)):
        theirs = getattr(ecs, key)
        if theirs and theirs != ours:
            found.append(
                f"{ecs.file}: {key} {theirs!r} is ignored: the stack deploys to "
                f"{key} {ours!r}"
            )
    if ecs.service and ecs.service != service:
        found.append(
            f"{ecs.file}: service {ecs.service!r} is ignored: the ECS service is "
            f"named after its folder, {service!r}; rename the folder to keep the "
            "old name"
        )
    application = ecs.codedeploy.get("application_name")
    if application and application != f"ecs-fleet-{config.stack}":
        found.append(
            f"{ecs.file}: codedeploy.application_name {application!r} is ignored: "
            f"the deployment group joins the stack's application "
            f"'ecs-fleet-{config.stack}' (its deployment_group_name is kept)"
        )
    image = config.services[service].image
    images = [c.get("image") for c in task.get("containerDefinitions") or []]
    if image and images and image not in images:
        found.append(
            f"{ecs.file}: no container runs the stack's image {image!r}, so "
            "promoting an image will not change this service; read it with "
            "std.extVar('image') in the task definition"
        )
    return tuple(found)

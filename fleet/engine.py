"""The offline engine: the real `__main__.py` under the Pulumi SDK's mocks.

`pulumi.runtime.set_mocks` replaces the engine and the providers with
Python objects. This module drives the same machinery as the SDK's own
entry point (`run_in_stack`), with a monitor that records every resource
registration whole, resource options included, so that the plan shows
what `pulumi preview` would send to the engine. Nothing here talks to AWS
or to a Pulumi backend.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import json
import logging
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import stack as runtime_stack
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

PROJECT = "ecs-fleet"
FAKE_ACCOUNT = "123456789012"
STACK_TYPE = "pulumi:pulumi:Stack"
# The cyclic collector's thresholds during a run (the defaults: 700, 10, 10).
RUN_GC_THRESHOLDS = (50_000, 20, 100)


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    options: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "inputs": self.inputs,
            "options": self.options,
        }


@dataclass
class Plan:
    stack: str
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def by_name(self, name: str) -> PlannedResource:
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(name)

    def children(self, urn: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == urn]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": [r.to_json() for r in self.resources],
            "outputs": self.outputs,
        }


class ProgramError(Exception):
    """The program failed under the mocks; the message is what it said."""


def _options(request) -> dict[str, Any]:
    """The resource options carried by a RegisterResourceRequest."""
    property_deps = set()
    for deps in request.propertyDependencies.values():
        property_deps.update(deps.urns)
    options: dict[str, Any] = {
        "parent": request.parent or None,
        "dependsOn": sorted(set(request.dependencies) - property_deps),
        "protect": bool(request.protect),
        "ignoreChanges": list(request.ignoreChanges),
    }
    if request.replaceOnChanges:
        options["replaceOnChanges"] = list(request.replaceOnChanges)
    if request.deleteBeforeReplace:
        options["deleteBeforeReplace"] = True
    if request.retainOnDelete:
        options["retainOnDelete"] = True
    if request.provider:
        options["provider"] = request.provider
    if request.additionalSecretOutputs:
        options["additionalSecretOutputs"] = list(request.additionalSecretOutputs)
    return options


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, keeping each registration as the plan."""

    def __init__(self, mock: mocks.Mocks, plan: Plan):
        super().__init__(mock)
        self.plan = plan
        self.stack_urn = ""

    def RegisterResource(self, request):  # noqa: N802 (the gRPC method name)
        """The stock mock monitor's registration, done with one decoding of
        the inputs instead of three and the state encoded without an event
        loop: at hundreds of services this was half of a preview's time.
        """
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)

        # Deserializing a resource reference needs an event loop here.
        mocks._ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        id_, state = self.mocks.new_resource(
            mocks.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
            )
        )
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        self.plan.resources.append(
            PlannedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=None
                if request.parent == self.stack_urn
                else request.parent or None,
                custom=bool(request.custom),
                inputs=_plain(inputs),
                options=_options(request),
            )
        )
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=id_, object=_encode_state(state)
        )

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn == self.stack_urn:
            self.plan.outputs = _plain(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


def _wire_value(value: Any) -> Any:
    """A decoded value back in the wire's plain form (unknowns as their
    sentinel); anything richer raises TypeError."""
    if isinstance(value, dict):
        return {k: _wire_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire_value(v) for v in value]
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(type(value).__name__)


def _encode_state(state: dict[str, Any]) -> struct_pb2.Struct:
    """What `rpc.serialize_properties` makes of plain state, directly; the
    SDK's own (asynchronous) encoder still takes anything else."""
    try:
        encoded = struct_pb2.Struct()
        encoded.update(_wire_value(state))
        return encoded
    except (TypeError, ValueError):
        return _sync_await(rpc.serialize_properties(state, {}))


def _plain(value: Any) -> Any:
    """JSON-ready values: secrets masked, the dynamic provider's pickle and
    unknowns named."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            # What `pulumi preview` shows of a secret input, too.
            return "[secret]"
        return {
            k: ("[serialized provider]" if k == "__provider" else _plain(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        # The wire format has only doubles: 8080 arrives as 8080.0.
        return int(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Unknown):
        return "[unknown]"
    return str(value)


class FleetMocks(mocks.Mocks):
    """Computed outputs that look like AWS's, so the program's references
    (ARNs, names) resolve the way they would after a real create."""

    def __init__(self, region: str, account: str):
        self.region = region
        self.account = account

    def new_resource(self, args: mocks.MockResourceArgs):
        state = dict(args.inputs)
        name = state.get("name") or args.name
        kind = args.typ.split(":")[-1]
        service = args.typ.split(":")[1].split("/")[0] if ":" in args.typ else ""
        region, account = self.region, self.account
        if kind == "TaskDefinition":
            state["revision"] = 1
            arn = f"arn:aws:ecs:{region}:{account}:task-definition/{state['family']}:1"
            state["arnWithoutRevision"] = arn.rsplit(":", 1)[0]
        elif kind == "TargetGroup":
            suffix = f"targetgroup/{name}/0123456789abcdef"
            arn = f"arn:aws:elasticloadbalancing:{region}:{account}:{suffix}"
            state["arnSuffix"] = suffix
        elif kind == "Role":
            arn = f"arn:aws:iam::{account}:role/{name}"
        elif kind == "Service" and service == "ecs":
            arn = (
                f"arn:aws:ecs:{region}:{account}:service/{state.get('cluster')}/{name}"
            )
        else:
            arn = f"arn:aws:{service}:{region}:{account}:{kind.lower()}/{name}"
        state.setdefault("name", name)
        state["arn"] = arn
        return f"{args.name}-id", state

    def call(self, args: mocks.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account,
                "arn": f"arn:aws:iam::{self.account}:user/offline",
                "userId": "OFFLINE",
            }, None
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region}, None
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}, None
        return {}, None


def _config_strings(raw: dict[str, Any]) -> dict[str, str]:
    """Config values as the CLI hands them to a program: objects as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


def run_program(
    project_dir: Path,
    stack: str,
    raw_config: dict[str, Any],
    secret_keys: list[str],
) -> Plan:
    """Run `__main__.py` of `project_dir` under the mocks; return its plan."""
    context = contextvars.copy_context()
    return context.run(_run, project_dir, stack, raw_config, secret_keys)


async def _wait_for_rpcs(await_all_outstanding_tasks: bool = True) -> None:
    """The SDK's end-of-program wait, in time linear in the outputs.

    The SDK's own loop calls `asyncio.wait(every pending output,
    FIRST_COMPLETED)` once per completed output, which re-registers a
    callback on every pending output each time: quadratic in the size of
    the fleet, and most of a 500-service preview. Here each round awaits a
    snapshot of the pending outputs one after another (the event loop runs
    them all meanwhile), then picks up the outputs created during the round.
    The RPC half and the error handling are the SDK's.
    """
    rpc_manager = settings._get_rpc_manager()
    while True:
        while rpc_manager.rpcs:
            await asyncio.sleep(0)
            try:
                await rpc_manager.rpcs.pop()
            except Exception as exn:
                if rpc_manager.unhandled_exception is not None:
                    cause = rpc_manager.unhandled_exception.with_traceback(
                        rpc_manager.exception_traceback
                    )
                    raise exn from cause
                raise
        if rpc_manager.unhandled_exception is not None:
            raise rpc_manager.unhandled_exception.with_traceback(
                rpc_manager.exception_traceback
            )
        if await_all_outstanding_tasks:
            while True:
                with settings.SETTINGS.lock:
                    if not settings.SETTINGS.outputs:
                        break
                    pending = list(settings.SETTINGS.outputs)
                    settings.SETTINGS.outputs.clear()
                for task in pending:
                    await task
        if not rpc_manager.rpcs:
            break


def _run(project_dir, stack, raw_config, secret_keys) -> Plan:
    vars_ = raw_config.get("ecs-fleet:vars") or {}
    account = vars_.get("accountId") if isinstance(vars_, dict) else None
    plan = Plan(stack=stack)
    mock = FleetMocks(
        str(raw_config.get("aws:region", "us-east-1")), str(account or FAKE_ACCOUNT)
    )
    monitor = RecordingMonitor(mock, plan)
    settings.configure(
        mocks.MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
            engine=mocks.MockEngine(logging.getLogger("ecs-fleet.engine")),
            project=PROJECT,
            stack=stack,
            dry_run=True,
            organization="organization",
            callbacks=None,
        )
    )
    runtime_config.set_all_config(_config_strings(raw_config), secret_keys)
    settings.ROOT.set(None)

    program = project_dir / "__main__.py"
    added = str(project_dir) not in sys.path
    if added:
        sys.path.insert(0, str(project_dir))
    sdk_wait = runtime_stack.wait_for_rpcs
    runtime_stack.wait_for_rpcs = _wait_for_rpcs
    # Every registration leaves outputs, tasks and futures alive until the
    # end of the run, so the cyclic collector's passes walk a heap that
    # grows with the fleet: at the default thresholds, about half of a
    # 200-service run. Rarer passes keep most of the saving, and unlike
    # turning the collector off they still free the run's young cycles.
    thresholds = gc.get_threshold()
    gc.set_threshold(RUN_GC_THRESHOLDS[0], *RUN_GC_THRESHOLDS[1:])
    # The SDK records the Python stack of every registration for the
    # engine's source positions; the plan has no use for them, and taking
    # them was a seventh of a large preview.
    sdk_stack_trace = runtime_resource._get_stack_trace
    runtime_resource._get_stack_trace = source_pb2.StackTrace
    try:
        _sync_await(
            run_in_stack(lambda: runpy.run_path(str(program), run_name="__main__"))
        )
    except Exception as err:  # the program's own failure, reported as one line
        message = getattr(err, "message", None) or str(err) or type(err).__name__
        raise ProgramError(message) from err
    finally:
        runtime_stack.wait_for_rpcs = sdk_wait
        runtime_resource._get_stack_trace = sdk_stack_trace
        gc.set_threshold(*thresholds)
        if added:
            sys.path.remove(str(project_dir))
    return plan

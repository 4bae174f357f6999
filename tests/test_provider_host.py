"""The deployment concurrency of Pulumi's real dynamic provider host.

Pulumi runs every dynamic resource in one `python -m pulumi.dynamic` process
whose gRPC server has four threads; importing components.deployment there
widens it. These tests start that very host, send it concurrent Create calls
as the engine would, and see how many deployments run at once.
"""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components.deployment import (
    CONCURRENCY_ENV,
    DEFAULT_CONCURRENCY,
    DeploymentProvider,
    deploy_concurrency,
    widen_provider_host,
)
from tests import provider_host_probe
from tests.provider_host_probe import PARTIES

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST_START_SECONDS = 15
CALL_SECONDS = 20


@contextmanager
def provider_host(tmp_path: Path, concurrency: str | None) -> Iterator[str]:
    """A running `python -m pulumi.dynamic`; yields its address."""
    env = {key: value for key, value in os.environ.items() if key != CONCURRENCY_ENV}
    if concurrency is not None:
        env[CONCURRENCY_ENV] = concurrency
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT_DIR), env.get("PYTHONPATH")])
    )
    stderr_path = tmp_path / "provider-host.stderr"
    with open(stderr_path, "wb") as stderr:
        host = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    try:
        ready, _, _ = select.select([host.stdout], [], [], HOST_START_SECONDS)
        line = host.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            pytest.fail("the provider host printed no port: " + stderr_path.read_text())
        yield f"127.0.0.1:{int(line)}"
    finally:
        host.kill()
        host.wait()
        host.stdout.close()


def create_request(
    service: str, serialized_provider: str
) -> provider_pb2.CreateRequest:
    props = {
        "__provider": serialized_provider,
        "service": service,
        "application": "shop",
        "deployment_group": f"shop-{service}",
        "cluster": "shop-dev",
        "ecs_service": service,
        "task_definition_arn": (
            f"arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-{service}:1"
        ),
        "container_name": "app",
        "container_port": 8080,
        "region": "eu-west-1",
        "hooks": {},
        "timeout_seconds": 60,
        "poll_seconds": 1,
    }
    # A loop of its own, as the host does: asyncio.run would leave this thread
    # without a current loop, which Pulumi's mock tests later need.
    loop = asyncio.new_event_loop()
    try:
        properties = loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()
    urn = (
        "urn:pulumi:dev::ecs-fleet::pulumi-python:dynamic/deployment:"
        f"CodeDeployDeployment::{service}-deployment"
    )
    return provider_pb2.CreateRequest(urn=urn, properties=properties)


def create_all_at_once(address: str, count: int) -> dict[str, object]:
    """Sends `count` Create calls together; each service's response or error."""
    serialized = serialize_provider(
        DeploymentProvider(runner=provider_host_probe.meet_the_others)
    )
    requests = {
        f"svc{index}": create_request(f"svc{index}", serialized)
        for index in range(count)
    }
    with grpc.insecure_channel(address) as channel:
        stub = provider_pb2_grpc.ResourceProviderStub(channel)
        calls = {
            service: stub.Create.future(request, timeout=CALL_SECONDS)
            for service, request in requests.items()
        }
        results: dict[str, object] = {}
        for service, call in calls.items():
            try:
                results[service] = call.result()
            except grpc.RpcError as error:
                results[service] = error
    return results


def test_the_real_provider_host_runs_eight_deployments_at_once(tmp_path):
    with provider_host(tmp_path, concurrency=None) as address:
        results = create_all_at_once(address, PARTIES)

    failed = {
        service: result.details()
        for service, result in results.items()
        if isinstance(result, grpc.RpcError)
    }
    assert not failed, f"creates that did not meet the other seven: {failed}"
    for service, response in results.items():
        outs = rpc.deserialize_properties(response.properties)
        assert response.id == f"shop-dev/{service}", service
        assert outs["deployment_id"] == f"d-{service}", service
        assert outs["status"] == "Succeeded", service


def test_the_barrier_breaks_when_the_host_keeps_its_four_threads(tmp_path):
    with provider_host(tmp_path, concurrency="4") as address:
        results = create_all_at_once(address, PARTIES)

    succeeded = [
        service
        for service, result in results.items()
        if not isinstance(result, grpc.RpcError)
    ]
    assert not succeeded, f"creates that met {PARTIES - 1} others: {succeeded}"
    for service, error in results.items():
        assert "BrokenBarrierError" in error.details(), f"{service}: {error.details()}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, DEFAULT_CONCURRENCY, id="unset"),
        pytest.param("", DEFAULT_CONCURRENCY, id="empty"),
        pytest.param("64", 64, id="wider"),
        pytest.param("4", 4, id="the-host-default"),
        pytest.param("0", DEFAULT_CONCURRENCY, id="zero"),
        pytest.param("many", DEFAULT_CONCURRENCY, id="not-a-number"),
    ],
)
def test_the_concurrency_comes_from_the_environment(value, expected):
    environ = {} if value is None else {CONCURRENCY_ENV: value}

    assert deploy_concurrency(environ) == expected


def test_widening_leaves_pools_outside_the_provider_host_alone():
    pool = ThreadPoolExecutor(max_workers=4)
    try:
        pool.submit(lambda: None).result()

        widened = widen_provider_host(32)

        assert not widened
        assert pool._max_workers == 4
    finally:
        pool.shutdown()

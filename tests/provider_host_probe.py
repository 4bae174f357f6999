"""A deployment runner that runs inside Pulumi's real dynamic provider host.

tests/test_provider_host.py pickles a `DeploymentProvider` with this runner,
the way Pulumi does, and sends it to `python -m pulumi.dynamic`. Every call
waits at one barrier of the host process: it passes only when `PARTIES`
deployments are running at the same time, which the host's own four threads
cannot do.
"""

from __future__ import annotations

import threading

from fleet.deploy import AwsAccess, DeploymentResult, DeploymentSpec

PARTIES = 8
# Long enough for the host to start the calls' threads, short enough that the
# case where the barrier breaks keeps the test quick.
BARRIER_SECONDS = 4.0

_barrier = threading.Barrier(PARTIES)


def meet_the_others(spec: DeploymentSpec, access: AwsAccess) -> DeploymentResult:
    """Returns once `PARTIES` deployments wait here together; raises
    `threading.BrokenBarrierError` when they cannot."""
    _barrier.wait(timeout=BARRIER_SECONDS)
    return DeploymentResult(f"d-{spec.service}", "Succeeded")

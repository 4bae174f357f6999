"""The CrossGuard pack that `pulumi preview --policy-pack policy` runs."""

import sys
from pathlib import Path

# The rules live next to this file; make them importable however the
# language host starts the pack.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ecs_fleet_policies import PACK_ENFORCEMENT, PACK_NAME, POLICIES  # noqa: E402
from pulumi_policy import PolicyPack  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=PACK_ENFORCEMENT,
    description="ecs-fleet: task tuning, deploy safety and security of every service",
)

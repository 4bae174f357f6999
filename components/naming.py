"""Physical names of AWS resources, within AWS's length limits."""

from __future__ import annotations

import hashlib


def limited(name: str, limit: int) -> str:
    """`name` itself when it fits, else a prefix plus a short stable hash.

    Target group names stop at 32 characters, and CodeDeploy and CloudWatch
    names at more; a hash keeps long service names distinct after cutting.
    """
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - 7].rstrip('-')}-{digest}"


def type_token(module: str, kind: str) -> str:
    return f"ecs-fleet:{module}:{kind}"

"""Deploy safety: blue/green through CodeDeploy, rollbacks, capacity, images."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ecs_fleet_policies.props import (
    DEPLOYMENT_GROUP,
    ECS_SERVICE,
    SCALABLE_TARGET,
    container_label,
    items,
    mapping,
    number,
    on_task_definition,
    on_type,
    show,
)

ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")

# One task is one failure away from an outage: an AZ, a host, a deploy.
MIN_CAPACITY = 2

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@on_type(ECS_SERVICE)
def codedeploy_deployment_controller(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    controller = mapping(args.props.get("deploymentController")).get("type") or "ECS"
    if controller != "CODE_DEPLOY":
        report(
            f"deploymentController is {controller}, so a deploy replaces tasks in "
            "place with no test traffic and no alarm rollback; set "
            "deploymentController: {type: CODE_DEPLOY} in the service definition"
        )


@on_type(DEPLOYMENT_GROUP)
def codedeploy_auto_rollback(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    rollback = mapping(args.props.get("autoRollbackConfiguration"))
    events = {str(e) for e in items(rollback.get("events"))}
    missing = [e for e in ROLLBACK_EVENTS if e not in events]
    if rollback.get("enabled") is not True:
        report("autoRollbackConfiguration is not enabled: a failed deploy stays")
    elif missing:
        report(
            "autoRollbackConfiguration does not roll back on "
            + " or ".join(missing)
            + "; its events must include "
            + " and ".join(ROLLBACK_EVENTS)
        )
    if "DEPLOYMENT_STOP_ON_ALARM" in events:
        # The event only fires for alarms the group lists: without them a
        # failing canary shifts the rest of the traffic anyway.
        alarms = mapping(args.props.get("alarmConfiguration"))
        if alarms.get("enabled") is not True or not items(alarms.get("alarms")):
            report(
                "rolls back on alarm but alarmConfiguration lists no enabled "
                "alarm, so no alarm can stop a deployment"
            )


@on_type(SCALABLE_TARGET)
def autoscaling_min_capacity(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("serviceNamespace") != "ecs":
        return
    minimum = args.get_config().get("minimum", MIN_CAPACITY)
    capacity = number(args.props.get("minCapacity"))
    if capacity is None or capacity < minimum:
        report(
            f"autoscaling min is {show(args.props.get('minCapacity'))}, below "
            f"{show(minimum)}: one task is one failure away from an outage; raise "
            "services.<name>.autoscaling.min in the stack config"
        )


def image_reference(image: str) -> tuple[str, str | None, bool]:
    """(repository, tag, pinned): `tag` is None when the image names none."""
    if DIGEST.search(image):
        return image.split("@", 1)[0], None, True
    # A registry port (`host:5000/repo`) is not a tag: look after the last /.
    head, _, last = image.rpartition("/")
    if ":" in last:
        name, tag = last.split(":", 1)
        return (f"{head}/{name}" if head else name), tag, False
    return image, None, False


@on_task_definition()
def image_pinned_by_digest(
    args: ResourceValidationArgs,
    containers: list[Mapping[str, Any]],
    report: ReportViolation,
) -> None:
    allow_tags = args.get_config().get("allowTags", False) is True
    for container in containers:
        image = str(container.get("image") or "")
        _, tag, pinned = image_reference(image)
        if pinned:
            continue
        if tag is None or tag == "latest":
            report(
                f"{container_label(container)}: image {image} is tagged latest "
                "(an image without a tag is latest): it moves under a running "
                "service and a rollback cannot bring the old one back; pin it "
                "by digest (repo@sha256:...)"
            )
        elif not allow_tags:
            report(
                f"{container_label(container)}: image {image} is a tag, not a "
                "digest, and a tag can be pushed again; pin it by digest "
                "(repo@sha256:...), as `python -m fleet promote` copies it from "
                "the stage before"
            )

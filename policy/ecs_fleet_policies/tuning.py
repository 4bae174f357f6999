"""Tuning: what every task needs to run well under load and be looked after."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ecs_fleet_policies.props import (
    APP_CONTAINER,
    container_label,
    items,
    mapping,
    number,
    on_task_definition,
    show,
)

# Fargate's default soft limit on open files is 1024; a busy service runs
# out of sockets long before it runs out of CPU.
NOFILE_MINIMUM = 65536


def _app_containers(containers: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [c for c in containers if c.get("name") == APP_CONTAINER]


@on_task_definition()
def app_container_health_check(
    args: ResourceValidationArgs,
    containers: list[Mapping[str, Any]],
    report: ReportViolation,
) -> None:
    for container in _app_containers(containers):
        command = items(mapping(container.get("healthCheck")).get("command"))
        if not command:
            report(
                f"{container_label(container)}: has no healthCheck command; add "
                "one (base.libsonnet's http_health_check) so that ECS replaces a "
                "task that stops answering"
            )


@on_task_definition()
def app_container_nofile_ulimit(
    args: ResourceValidationArgs,
    containers: list[Mapping[str, Any]],
    report: ReportViolation,
) -> None:
    minimum = args.get_config().get("minimum", NOFILE_MINIMUM)
    for container in _app_containers(containers):
        nofile = [
            mapping(u)
            for u in items(container.get("ulimits"))
            if mapping(u).get("name") == "nofile"
        ]
        if not nofile:
            report(
                f"{container_label(container)}: has no nofile ulimit, so Fargate's "
                f"default soft limit of 1024 applies; add base.libsonnet's "
                f"nofile({show(minimum)}) to its ulimits"
            )
            continue
        for limit in ("softLimit", "hardLimit"):
            value = number(nofile[0].get(limit))
            if value is None or value < minimum:
                report(
                    f"{container_label(container)}: nofile {limit} "
                    f"{show(nofile[0].get(limit))} is below {show(minimum)}"
                )


@on_task_definition()
def memory_reservation_within_limit(
    args: ResourceValidationArgs,
    containers: list[Mapping[str, Any]],
    report: ReportViolation,
) -> None:
    for container in containers:
        reservation = number(container.get("memoryReservation"))
        limit = number(container.get("memory"))
        if container.get("name") == APP_CONTAINER and reservation is None:
            report(
                f"{container_label(container)}: sets no memoryReservation; set "
                "one, so that placement reserves what the app needs"
            )
        if reservation is not None and limit is not None and reservation > limit:
            # ECS refuses to register such a container; say so before it does.
            report(
                f"{container_label(container)}: memoryReservation "
                f"{show(reservation)} MiB is above its memory limit {show(limit)} MiB"
            )


@on_task_definition()
def container_logging(
    args: ResourceValidationArgs,
    containers: list[Mapping[str, Any]],
    report: ReportViolation,
) -> None:
    for container in containers:
        log = mapping(container.get("logConfiguration"))
        if not log.get("logDriver"):
            report(
                f"{container_label(container)}: has no logConfiguration; its "
                "output would be lost: use base.libsonnet's base_container"
            )
            continue
        if container.get("name") != APP_CONTAINER:
            continue
        if log.get("logDriver") != "awslogs":
            report(
                f"{container_label(container)}: logs with {log.get('logDriver')}; "
                "the app container logs to CloudWatch Logs with awslogs"
            )
        elif not mapping(log.get("options")).get("awslogs-group"):
            report(
                f"{container_label(container)}: awslogs names no awslogs-group option"
            )


@on_task_definition(report_invalid=True)
def essential_container(
    args: ResourceValidationArgs,
    containers: list[Mapping[str, Any]],
    report: ReportViolation,
) -> None:
    # ECS treats a container without `essential` as essential.
    if not any(c.get("essential", True) is not False for c in containers):
        names = ", ".join(str(c.get("name")) for c in containers) or "none"
        report(
            f"no container is essential (containers: {names}); a task whose "
            "containers may all stop keeps running doing nothing: mark app "
            "essential"
        )

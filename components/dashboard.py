"""The fleet's CloudWatch dashboards: one row per service, split into pages.

The body is built by pure functions from plain values, so the layout and
the split are testable without Pulumi; `declare_dashboards` only feeds them
the target group ARN suffixes once AWS has assigned them.

Each page is a 24-column grid: a header across the top, then per service a
one-line title and a row of six graphs, four columns wide each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import pulumi
import pulumi_aws as aws

from fleet.config import Autoscaling

GRID_WIDTH = 24
PERIOD_SECONDS = 60
GRAPH_WIDTH = 4
GRAPH_HEIGHT = 6
SERVICE_TITLE_HEIGHT = 1
PAGE_HEADER_HEIGHT = 2
COLORS = ("blue", "green")


@dataclass(frozen=True)
class Limits:
    """What CloudWatch accepts in one dashboard (its published quotas).

    The API model states no size for the body; one megabyte is a margin
    that a page of widgets this size never approaches.
    """

    widgets: int = 500
    metrics_per_widget: int = 500
    metrics: int = 2500
    body_bytes: int = 1_000_000


LIMITS = Limits()


@dataclass(frozen=True)
class ServicePanel:
    """Everything one service's row needs, as plain values."""

    service: str
    load_balancer: str
    target_groups: dict[str, str]
    autoscaling: Autoscaling | None = None


# A target group ARN suffix is `targetgroup/<name, at most 32>/<16 hex>`:
# the widest one stands in for suffixes AWS has not assigned yet, so pages
# are cut before the real values are known and never overflow after.
PLACEHOLDER_TARGET_GROUP = "targetgroup/" + "x" * 32 + "/" + "0" * 16


def dashboard_name(stack: str, page: int) -> str:
    return f"{stack}-fleet-{page}"


def _metric_widget(x, y, title, region, metrics, stat, extra=None) -> dict:
    properties = {
        "title": title,
        "view": "timeSeries",
        "region": region,
        "period": PERIOD_SECONDS,
        "stat": stat,
        "metrics": metrics,
    }
    properties.update(extra or {})
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": GRAPH_WIDTH,
        "height": GRAPH_HEIGHT,
        "properties": properties,
    }


def _line(label: str, value: float) -> dict:
    return {"horizontal": [{"label": label, "value": value}]}


def service_row(panel: ServicePanel, cluster: str, region: str, y: int) -> list:
    """The title and the six graphs of one service, starting at row `y`."""
    ecs_dimensions = ["ServiceName", panel.service, "ClusterName", cluster]
    scaling = panel.autoscaling
    title = f"### {panel.service}"
    if scaling is not None:
        title += f" · {scaling.min} to {scaling.max} tasks"
        if scaling.suspended:
            title += " · autoscaling suspended"

    def per_target_group(metric_name: str) -> list:
        return [
            [
                "AWS/ApplicationELB",
                metric_name,
                "TargetGroup",
                panel.target_groups[color],
                "LoadBalancer",
                panel.load_balancer,
                {"label": color},
            ]
            for color in COLORS
        ]

    def annotations(label: str, value: float | None) -> dict:
        return {} if value is None else {"annotations": _line(label, value)}

    graphs_y = y + SERVICE_TITLE_HEIGHT
    graphs = [
        (
            f"{panel.service} CPUUtilization",
            [["AWS/ECS", "CPUUtilization", *ecs_dimensions]],
            "Average",
            annotations("scaling target", scaling and scaling.cpu_target),
        ),
        (
            f"{panel.service} MemoryUtilization",
            [["AWS/ECS", "MemoryUtilization", *ecs_dimensions]],
            "Average",
            annotations("scaling target", scaling and scaling.memory_target),
        ),
        (
            # Published only where the cluster has Container Insights on.
            f"{panel.service} RunningTaskCount",
            [["ECS/ContainerInsights", "RunningTaskCount", *ecs_dimensions]],
            "Average",
            annotations("max", scaling and scaling.max),
        ),
        (
            f"{panel.service} RequestCount",
            per_target_group("RequestCount"),
            "Sum",
            {},
        ),
        (
            f"{panel.service} HTTPCode_Target_5XX_Count",
            per_target_group("HTTPCode_Target_5XX_Count"),
            "Sum",
            {},
        ),
        (
            f"{panel.service} TargetResponseTime p99",
            per_target_group("TargetResponseTime"),
            "p99",
            {},
        ),
    ]
    widgets = [
        {
            "type": "text",
            "x": 0,
            "y": y,
            "width": GRID_WIDTH,
            "height": SERVICE_TITLE_HEIGHT,
            "properties": {"markdown": title},
        }
    ]
    for i, (graph_title, metrics, stat, extra) in enumerate(graphs):
        widgets.append(
            _metric_widget(
                i * GRAPH_WIDTH, graphs_y, graph_title, region, metrics, stat, extra
            )
        )
    return widgets


def row_height() -> int:
    return SERVICE_TITLE_HEIGHT + GRAPH_HEIGHT


def _page_header(stack: str, page: int, pages: int, services: list[str]) -> dict:
    links = " · ".join(
        f"**{n}**"
        if n == page
        else f"[{n}](#dashboards:name={dashboard_name(stack, n)})"
        for n in range(1, pages + 1)
    )
    span = f": {services[0]} to {services[-1]}" if services else ""
    markdown = (
        f"# {stack} fleet, page {page} of {pages}{span}\n"
        f"Pages: {links}. Built by ecs-fleet: a change made here is replaced "
        "by the next `pulumi up`."
    )
    return {
        "type": "text",
        "x": 0,
        "y": 0,
        "width": GRID_WIDTH,
        "height": PAGE_HEADER_HEIGHT,
        "properties": {"markdown": markdown},
    }


def _frame() -> dict:
    return {"start": "-PT3H", "periodOverride": "inherit", "widgets": []}


def dashboard_body(
    stack: str,
    cluster: str,
    region: str,
    panels: list[ServicePanel],
    page: int = 1,
    pages: int = 1,
) -> dict:
    """One dashboard's body: the page header, then one row per service."""
    body = _frame()
    body["widgets"].append(
        _page_header(stack, page, pages, [p.service for p in panels])
    )
    for i, panel in enumerate(panels):
        body["widgets"].extend(service_row(panel, cluster, region, _row_y(i)))
    return body


def _row_y(index: int) -> int:
    return PAGE_HEADER_HEIGHT + index * row_height()


def body_json(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"))


@dataclass(frozen=True)
class Usage:
    """What a set of widgets counts against CloudWatch's limits."""

    widgets: int = 0
    metrics_per_widget: int = 0
    metrics: int = 0
    body_bytes: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.widgets + other.widgets,
            max(self.metrics_per_widget, other.metrics_per_widget),
            self.metrics + other.metrics,
            self.body_bytes + other.body_bytes,
        )

    def within(self, limits: Limits) -> bool:
        return all(
            getattr(self, key) <= getattr(limits, key)
            for key in ("widgets", "metrics_per_widget", "metrics", "body_bytes")
        )


def _usage(widgets: list[dict]) -> Usage:
    """Usage of widgets in a body; each widget's bytes include its comma."""
    counts = [len(w["properties"].get("metrics", [])) for w in widgets]
    return Usage(
        len(widgets),
        max(counts, default=0),
        sum(counts),
        sum(len(body_json(w).encode()) + 1 for w in widgets),
    )


def measure(body: dict) -> Usage:
    """What a whole body counts against CloudWatch's limits."""
    frame = len(body_json({**body, "widgets": []}).encode())
    # n widgets need n - 1 commas, and `_usage` counted n.
    return _usage(body["widgets"]) + Usage(body_bytes=frame - 1)


def fits(body: dict, limits: Limits = LIMITS) -> bool:
    return measure(body).within(limits)


def paginate(
    stack: str,
    cluster: str,
    region: str,
    panels: list[ServicePanel],
    limits: Limits = LIMITS,
) -> list[list[ServicePanel]]:
    """Services cut into pages that each fit one dashboard, in order.

    Pages fill one after another, so a service added at the end of the
    config changes only the last page. A row's place on its page is known
    before the page is built, so each row is measured once; the header is
    measured as for the widest page count, which its links grow with.
    """
    frame = len(body_json(_frame()).encode()) - 1
    pages: list[list[ServicePanel]] = []
    rows = Usage()
    for panel in panels:
        page = pages[-1] if pages else []
        row = _usage(service_row(panel, cluster, region, _row_y(len(page))))
        names = [p.service for p in page[:1]] + [panel.service]
        header = _usage([_page_header(stack, len(pages) or 1, 999, names)])
        if page and (rows + row + header + Usage(body_bytes=frame)).within(limits):
            page.append(panel)
            rows += row
        else:
            pages.append([panel])
            rows = _usage(service_row(panel, cluster, region, _row_y(0)))
    return pages


def dashboard_bodies(
    stack: str,
    cluster: str,
    region: str,
    panels: list[ServicePanel],
    limits: Limits = LIMITS,
) -> list[dict]:
    """Every page's body, for services whose ARN suffixes are known."""
    pages = paginate(stack, cluster, region, panels, limits)
    return [
        dashboard_body(stack, cluster, region, page, n, len(pages))
        for n, page in enumerate(pages, start=1)
    ]


def declare_dashboards(
    name: str,
    *,
    stack: str,
    cluster: str,
    region: str,
    services: list[tuple[ServicePanel, dict[str, aws.lb.TargetGroup]]],
    parent: pulumi.Resource,
) -> list[aws.cloudwatch.Dashboard]:
    """Declare the fleet's dashboards: as many as the limits require.

    `services` pairs each service's panel (its target group suffixes not
    yet known) with its target groups, whose suffixes fill the panel in.
    """
    placeholders = [
        replace(panel, target_groups=dict.fromkeys(COLORS, PLACEHOLDER_TARGET_GROUP))
        for panel, _ in services
    ]
    groups = {panel.service: tgs for panel, tgs in services}
    pages = paginate(stack, cluster, region, placeholders)

    dashboards = []
    for number, page in enumerate(pages, start=1):
        suffixes = [
            groups[panel.service][color].arn_suffix
            for panel in page
            for color in COLORS
        ]

        def build(values, page=page, number=number) -> str:
            known = iter(values)
            panels = [
                replace(panel, target_groups={c: next(known) for c in COLORS})
                for panel in page
            ]
            return body_json(
                dashboard_body(stack, cluster, region, panels, number, len(pages))
            )

        dashboards.append(
            aws.cloudwatch.Dashboard(
                f"{name}-dashboard-{number}",
                dashboard_name=dashboard_name(stack, number),
                dashboard_body=pulumi.Output.all(*suffixes).apply(build),
                opts=pulumi.ResourceOptions(parent=parent),
            )
        )
    return dashboards

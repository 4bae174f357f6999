"""The fleet dashboards: body structure, the split at scale, the picture."""

from __future__ import annotations

import json
import math

import pytest

from components import dashboard
from components.dashboard import (
    LIMITS,
    PLACEHOLDER_TARGET_GROUP,
    Limits,
    ServicePanel,
    dashboard_bodies,
    measure,
    paginate,
)
from fleet import dashboard_picture
from fleet.__main__ import main
from fleet.config import Autoscaling
from tests.conftest import PROJECT_DIR

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
SERVICES = ("auth", "user", "product", "order")
PROD_LOAD_BALANCER = "app/shop-prod/3c4d5e6f7a8b9c0d"
GRAPHS = (
    "CPUUtilization",
    "MemoryUtilization",
    "RunningTaskCount",
    "RequestCount",
    "HTTPCode_Target_5XX_Count",
    "TargetResponseTime p99",
)


def synthetic_fleet(count: int) -> list[ServicePanel]:
    return [
        ServicePanel(
            service=f"service-{i:03d}",
            load_balancer=PROD_LOAD_BALANCER,
            target_groups={
                color: f"targetgroup/s{i:03d}-{color}/0123456789abcdef"
                for color in dashboard.COLORS
            },
            autoscaling=Autoscaling(min=2, max=10),
        )
        for i in range(count)
    ]


def prod_bodies(plan) -> dict[str, dict]:
    return {
        r.inputs["dashboardName"]: json.loads(r.inputs["dashboardBody"])
        for r in plan.of_type(DASHBOARD)
    }


def widget_titled(body: dict, title: str) -> dict:
    matches = [w for w in body["widgets"] if w["properties"].get("title") == title]
    assert len(matches) == 1, f"{len(matches)} widgets titled {title!r}"
    return matches[0]


def assert_is_a_dashboard_body(body: dict) -> None:
    assert isinstance(body["widgets"], list)
    for widget in body["widgets"]:
        assert widget["type"] in ("metric", "text"), widget
        assert set(widget) == {"type", "x", "y", "width", "height", "properties"}
        assert widget["x"] >= 0 and widget["x"] + widget["width"] <= 24, widget
        assert widget["y"] >= 0 and widget["height"] >= 1, widget
        if widget["type"] == "metric":
            for metric in widget["properties"]["metrics"]:
                assert isinstance(metric, list), metric
                assert all(isinstance(part, str) for part in metric[:2]), metric
                assert len([p for p in metric if isinstance(p, str)]) % 2 == 0
        else:
            assert isinstance(widget["properties"]["markdown"], str)


def occupied_cells(body: dict) -> list[tuple[int, int]]:
    return [
        (x, y)
        for w in body["widgets"]
        for x in range(w["x"], w["x"] + w["width"])
        for y in range(w["y"], w["y"] + w["height"])
    ]


def test_the_prod_stack_declares_one_dashboard_under_the_fleet(shipped_plan):
    plan = shipped_plan("prod")

    dashboards = plan.of_type(DASHBOARD)

    assert [d.inputs["dashboardName"] for d in dashboards] == ["prod-fleet-1"]
    assert dashboards[0].parent == plan.by_name("prod").urn


def test_the_prod_dashboard_body_is_a_cloudwatch_dashboard_body(shipped_plan):
    body = prod_bodies(shipped_plan("prod"))["prod-fleet-1"]

    assert_is_a_dashboard_body(body)
    cells = occupied_cells(body)
    assert len(cells) == len(set(cells)), "widgets overlap"


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("metric", ["CPUUtilization", "MemoryUtilization"])
def test_each_service_has_one_ecs_widget_per_metric_with_its_dimensions(
    shipped_plan, service, metric
):
    body = prod_bodies(shipped_plan("prod"))["prod-fleet-1"]

    widget = widget_titled(body, f"{service} {metric}")

    assert widget["properties"]["region"] == "eu-west-1"
    assert widget["properties"]["metrics"] == [
        ["AWS/ECS", metric, "ServiceName", service, "ClusterName", "shop-prod"]
    ]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(
    "metric", ["RequestCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime"]
)
def test_each_service_graphs_load_balancer_metrics_of_blue_and_green(
    shipped_plan, service, metric
):
    plan = shipped_plan("prod")
    body = prod_bodies(plan)["prod-fleet-1"]
    title = f"{service} {metric}" + (" p99" if metric == "TargetResponseTime" else "")

    widget = widget_titled(body, title)

    assert widget["properties"]["metrics"] == [
        [
            "AWS/ApplicationELB",
            metric,
            "TargetGroup",
            f"targetgroup/{plan.by_name(f'prod-{service}-{color}').inputs['name']}"
            "/0123456789abcdef",
            "LoadBalancer",
            PROD_LOAD_BALANCER,
            {"label": color},
        ]
        for color in ("blue", "green")
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_graphs_its_running_tasks_against_its_maximum(
    shipped_plan, service
):
    body = prod_bodies(shipped_plan("prod"))["prod-fleet-1"]
    maximum = {"auth": 20, "user": 10, "product": 40, "order": 30}[service]

    widget = widget_titled(body, f"{service} RunningTaskCount")

    assert widget["properties"]["metrics"][0][:2] == [
        "ECS/ContainerInsights",
        "RunningTaskCount",
    ]
    assert widget["properties"]["annotations"]["horizontal"][0]["value"] == maximum


def test_each_service_row_sits_below_the_one_before(shipped_plan):
    body = prod_bodies(shipped_plan("prod"))["prod-fleet-1"]

    rows = [widget_titled(body, f"{s} CPUUtilization")["y"] for s in SERVICES]

    assert rows == sorted(rows) and len(set(rows)) == len(rows)


@pytest.mark.parametrize(
    ("services", "pages"),
    [(1, 1), (4, 1), (71, 1), (72, 2), (200, 3), (213, 3), (214, 4)],
)
def test_a_fleet_is_split_into_as_many_dashboards_as_the_widget_limit_needs(
    services, pages
):
    panels = synthetic_fleet(services)

    bodies = dashboard_bodies("prod", "shop-prod", "eu-west-1", panels)

    assert len(bodies) == pages
    for body in bodies:
        used = measure(body)
        assert used.widgets <= LIMITS.widgets
        assert used.metrics <= LIMITS.metrics
        assert used.metrics_per_widget <= LIMITS.metrics_per_widget
        assert used.body_bytes <= LIMITS.body_bytes


def test_a_split_fleet_shows_every_service_once_in_config_order():
    panels = synthetic_fleet(200)

    bodies = dashboard_bodies("prod", "shop-prod", "eu-west-1", panels)
    shown = [
        w["properties"]["title"].removesuffix(" CPUUtilization")
        for body in bodies
        for w in body["widgets"]
        if w["properties"].get("title", "").endswith(" CPUUtilization")
    ]

    assert shown == [p.service for p in panels]
    for body in bodies:
        assert_is_a_dashboard_body(body)
        cells = occupied_cells(body)
        assert len(cells) == len(set(cells)), "widgets overlap"


def test_every_page_header_links_to_the_other_pages():
    bodies = dashboard_bodies("prod", "shop-prod", "eu-west-1", synthetic_fleet(200))

    header = bodies[1]["widgets"][0]["properties"]["markdown"]

    assert "page 2 of 3" in header
    assert "(#dashboards:name=prod-fleet-1)" in header
    assert "(#dashboards:name=prod-fleet-3)" in header


def two_services_in_bytes() -> int:
    body = dashboard.dashboard_body(
        "prod", "shop-prod", "eu-west-1", synthetic_fleet(2), 1, 999
    )
    return measure(body).body_bytes


@pytest.mark.parametrize(
    ("limits", "per_page"),
    [
        # A service row is 7 widgets and 9 metrics; the page header is one.
        pytest.param(Limits(metrics=20), 2, id="metrics-per-dashboard"),
        pytest.param(Limits(metrics=17), 1, id="metrics-per-dashboard-tight"),
        pytest.param(Limits(widgets=15), 2, id="widgets-per-dashboard"),
        pytest.param(Limits(widgets=22), 3, id="widgets-per-dashboard-wider"),
        pytest.param(Limits(body_bytes=two_services_in_bytes()), 2, id="body-size"),
    ],
)
def test_each_limit_on_its_own_cuts_pages(limits, per_page):
    panels = synthetic_fleet(6)

    pages = paginate("prod", "shop-prod", "eu-west-1", panels, limits)

    assert [len(page) for page in pages] == [per_page] * math.ceil(6 / per_page)


def test_the_measure_of_a_body_is_exact():
    body = dashboard.dashboard_body(
        "prod", "shop-prod", "eu-west-1", synthetic_fleet(3)
    )

    used = measure(body)

    assert used.body_bytes == len(dashboard.body_json(body).encode())
    assert used.widgets == len(body["widgets"]) == 1 + 3 * 7
    assert used.metrics == 3 * 9


def test_pages_cut_with_placeholder_suffixes_fit_the_real_ones():
    real = synthetic_fleet(200)
    placeholders = [
        ServicePanel(
            p.service,
            p.load_balancer,
            dict.fromkeys(dashboard.COLORS, PLACEHOLDER_TARGET_GROUP),
            p.autoscaling,
        )
        for p in real
    ]
    tight = Limits(body_bytes=40_000)

    cut = paginate("prod", "shop-prod", "eu-west-1", placeholders, tight)
    by_name = {p.service: p for p in real}

    for number, page in enumerate(cut, start=1):
        body = dashboard.dashboard_body(
            "prod",
            "shop-prod",
            "eu-west-1",
            [by_name[p.service] for p in page],
            number,
            len(cut),
        )
        assert dashboard.fits(body, tight), f"page {number} overflows"


def test_the_picture_has_every_widget_of_every_service(shipped_plan):
    dashboards = dashboard_picture.dashboards_from_plan(shipped_plan("prod"))

    page = dashboard_picture.render_html("prod", dashboards)

    assert [name for name, _ in dashboards] == ["prod-fleet-1"]
    for service in SERVICES:
        for graph in GRAPHS:
            assert f'data-title="{service} {graph}"' in page, f"{service} {graph}"
        assert f"<h3>{service} · " in page


def test_the_picture_places_each_widget_on_its_cloudwatch_cell(shipped_plan):
    dashboards = dashboard_picture.dashboards_from_plan(shipped_plan("prod"))
    widget = widget_titled(dashboards[0][1], "order MemoryUtilization")

    page = dashboard_picture.render_html("prod", dashboards)

    x, y = widget["x"], widget["y"]
    assert (
        f"grid-column: {x + 1} / span {widget['width']}; "
        f"grid-row: {y + 1} / span {widget['height']}"
    ) in page


def test_the_dashboard_command_writes_the_picture_of_the_planned_dashboards(
    tmp_path, capsys
):
    out = tmp_path / "dashboards.html"

    status = main(
        [
            "--project",
            str(PROJECT_DIR),
            "dashboard",
            "--stack",
            "prod",
            "--out",
            str(out),
        ]
    )

    assert status == 0, capsys.readouterr().err
    page = out.read_text()
    for service in SERVICES:
        assert f'data-title="{service} CPUUtilization"' in page
    assert 'data-dashboard="prod-fleet-1"' in page

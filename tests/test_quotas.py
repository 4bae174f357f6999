"""Fleet-wide AWS quotas, and the benchmark's synthetic fleet that obeys them."""

from __future__ import annotations

import dataclasses

import pytest

from bench.scale import build_fleet
from fleet import config as stack_config
from fleet import quotas
from fleet.config import LoadBalancer, ServiceSettings
from fleet.render import render_fleet
from fleet.validate import check_fleet
from tests.conftest import PROJECT_DIR

ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app"


def load_balancer(name: str, alb: str | None = None) -> LoadBalancer:
    alb = alb or name
    return LoadBalancer(
        name, f"{ARN}/{alb}/0123456789abcdef/1", f"{ARN}/{alb}/0123456789abcdef/2"
    )


def fleet_of(count: int, per_lb: int, lbs: dict[str, LoadBalancer], **overrides):
    """The prod config with `count` services, `per_lb` to each load balancer."""
    config = stack_config.load(PROJECT_DIR, "prod")
    names = list(lbs)
    services = {
        f"svc-{i:04d}": ServiceSettings(
            f"svc-{i:04d}", "repo:tag", names[min(i // per_lb, len(names) - 1)]
        )
        for i in range(count)
    }
    return dataclasses.replace(
        config, load_balancers=lbs, services=services, quotas=overrides
    )


CASES = [
    pytest.param(50, 50, {"a": load_balancer("a")}, {}, [], id="rules-50-fit"),
    pytest.param(
        51,
        51,
        {"a": load_balancer("a")},
        {},
        ["rules per Application Load Balancer", "target groups per Application"],
        id="rules-and-target-groups-51-exceed",
    ),
    pytest.param(
        100,
        50,
        {"a": load_balancer("a"), "b": load_balancer("b")},
        {},
        [],
        id="rules-spread-over-two-load-balancers-fit",
    ),
    pytest.param(
        60,
        30,
        {"a": load_balancer("a", "shared"), "b": load_balancer("b", "shared")},
        {},
        ["rules per Application Load Balancer", "target groups per Application"],
        id="rules-two-names-for-one-load-balancer-exceed",
    ),
    pytest.param(
        60,
        60,
        {"a": load_balancer("a")},
        {"rulesPerLoadBalancer": 200},
        ["target groups per Application Load Balancer"],
        id="rules-raised-quota-fits-but-target-groups-exceed",
    ),
    pytest.param(
        40,
        40,
        {"a": load_balancer("a")},
        {"rulesPerLoadBalancer": 60},
        ["rules per Application Load Balancer"],
        id="rules-lowered-quota-for-a-shared-load-balancer-exceed",
    ),
    pytest.param(
        1000,
        50,
        {f"lb{i}": load_balancer(f"lb{i}") for i in range(20)},
        {},
        [],
        id="deployment-groups-1000-fit",
    ),
    pytest.param(
        1001,
        50,
        {f"lb{i}": load_balancer(f"lb{i}") for i in range(21)},
        {},
        ["deployment groups per CodeDeploy application"],
        id="deployment-groups-1001-exceed",
    ),
    pytest.param(
        1001,
        50,
        {f"lb{i}": load_balancer(f"lb{i}") for i in range(21)},
        {"deploymentGroupsPerApplication": 2000},
        [],
        id="deployment-groups-raised-quota-fit",
    ),
]


@pytest.mark.parametrize(("count", "per_lb", "lbs", "overrides", "expected"), CASES)
def test_quota_check_refuses_exactly_the_quotas_a_fleet_exceeds(
    count, per_lb, lbs, overrides, expected
):
    config = fleet_of(count, per_lb, lbs, **overrides)

    problems = quotas.check_quotas(config)

    messages = [p.message for p in problems]
    assert len(problems) == len(expected), messages
    for problem, quota in zip(problems, expected, strict=True):
        assert quota in problem.message, messages


def test_an_exceeded_load_balancer_quota_names_the_load_balancer_count_and_fix():
    config = fleet_of(51, 51, {"shop": load_balancer("shop")})

    problem = quotas.check_quotas(config)[0]

    line = str(problem)
    assert problem.field == "ecs-fleet:loadBalancers.shop"
    assert "would hold 102 listener rules" in line
    assert "above the quota of 100" in line
    assert "services.svc-0050.loadBalancer" in line
    assert "quotas.rulesPerLoadBalancer" in line


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        pytest.param(
            {"rulesPerLoadBlancer": 200},
            "ecs-fleet:quotas.rulesPerLoadBlancer",
            "is not a quota",
            id="override-misspelt",
        ),
        pytest.param(
            {"targetGroupsPerLoadBalancer": 200},
            "ecs-fleet:quotas.targetGroupsPerLoadBalancer",
            "AWS does not raise",
            id="override-of-a-fixed-quota",
        ),
        pytest.param(
            {"rulesPerLoadBalancer": "lots"},
            "ecs-fleet:quotas.rulesPerLoadBalancer",
            "whole number",
            id="override-not-a-number",
        ),
    ],
)
def test_a_bad_quota_override_is_refused(overrides, field, message):
    config = fleet_of(4, 4, {"shop": load_balancer("shop")}, **overrides)

    problems = quotas.check_quotas(config)

    assert [p.field for p in problems] == [field]
    assert message in problems[0].message


def test_quota_overrides_are_read_from_the_stack_file(project):
    path = project / "Pulumi.prod.yaml"
    path.write_text(
        path.read_text() + "  ecs-fleet:quotas:\n    rulesPerLoadBalancer: 200\n"
    )

    config = stack_config.load(project, "prod")

    assert quotas.limits(config)["rulesPerLoadBalancer"] == 200


def test_the_benchmark_builds_a_fleet_that_renders_and_passes_every_check(tmp_path):
    project = build_fleet(tmp_path / "fleet", 60)

    config = stack_config.load(project, "prod")
    definitions = render_fleet(config)
    problems = check_fleet(config, definitions)

    assert len(definitions) == 60
    assert sorted({s.load_balancer for s in config.services.values()}) == [
        "fleet-00",
        "fleet-01",
    ]
    assert [str(p) for p in problems] == []

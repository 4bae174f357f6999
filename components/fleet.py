"""The whole fleet of one stack: shared resources and every service."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import codedeploy, dashboard
from components.naming import type_token
from components.service import FleetService, ServiceArgs
from fleet.config import StackConfig
from fleet.render import Definitions


@dataclass
class FleetArgs:
    config: StackConfig
    definitions: dict[str, Definitions]
    # `ecs-fleet:secrets` as a secret Output, or None when the stack has none.
    secret_values: pulumi.Input[dict] | None = None


def log_group_names(definitions: dict[str, Definitions]) -> dict[str, list[str]]:
    """Every awslogs group the task definitions name, with its services."""
    groups: dict[str, list[str]] = {}
    for defs in definitions.values():
        for container in defs.task.get("containerDefinitions") or []:
            log = container.get("logConfiguration") or {}
            group = (log.get("options") or {}).get("awslogs-group")
            if log.get("logDriver") == "awslogs" and group:
                services = groups.setdefault(group, [])
                if defs.service not in services:
                    services.append(defs.service)
    return groups


class Fleet(pulumi.ComponentResource):
    """Log groups, the CodeDeploy application and every service."""

    def __init__(
        self, name: str, args: FleetArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(type_token("fleet", "Fleet"), name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        # Log groups belong to the fleet, not to a service: two services may
        # share one, and ECS does not create them (awslogs-create-group
        # would leave them without a retention period).
        self.log_groups: dict[str, aws.cloudwatch.LogGroup] = {}
        groups_by_service: dict[str, list[pulumi.Resource]] = {}
        for group, services in log_group_names(args.definitions).items():
            resource = aws.cloudwatch.LogGroup(
                f"{name}-logs{group.replace('/', '-')}",
                name=group,
                retention_in_days=config.log_retention_days,
                tags={"ecs-fleet:services": " ".join(services)},
                opts=child,
            )
            self.log_groups[group] = resource
            for service in services:
                groups_by_service.setdefault(service, []).append(resource)

        app, role, role_policy = codedeploy.declare_application(
            name, config.stack, self
        )
        self.codedeploy_application = app
        deployment_configs = codedeploy.declare_deployment_configs(
            name,
            config.stack,
            [config.services[s].deployment for s in args.definitions],
            self,
        )

        self.services: dict[str, FleetService] = {}
        for service, defs in args.definitions.items():
            deployment = config.services[service].deployment
            self.services[service] = FleetService(
                f"{name}-{service}",
                ServiceArgs(
                    config=config,
                    definitions=defs,
                    codedeploy_application=app.name,
                    codedeploy_role_arn=role.arn,
                    deployment_config_name=deployment_configs[
                        (deployment.strategy, deployment.percent, deployment.interval)
                    ],
                    log_groups=groups_by_service.get(service, []),
                    secret_values=args.secret_values,
                ),
                opts=child.merge(pulumi.ResourceOptions(depends_on=[role_policy])),
            )

        self.dashboards = dashboard.declare_dashboards(
            name,
            stack=config.stack,
            cluster=config.cluster,
            region=config.region,
            services=[
                (
                    dashboard.ServicePanel(
                        service=service,
                        load_balancer=config.load_balancers[
                            config.services[service].load_balancer
                        ].arn_suffix,
                        target_groups={},
                        autoscaling=config.services[service].autoscaling,
                    ),
                    svc.target_groups,
                )
                for service, svc in self.services.items()
            ],
            parent=self,
        )

        self.register_outputs(
            {
                "services": {s: svc.outputs() for s, svc in self.services.items()},
                "codedeploy_application": app.name,
                "dashboards": [d.dashboard_name for d in self.dashboards],
            }
        )

"""One service of the fleet: everything that runs it and ships it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import ecs_args
from components.alarms import declare_alarms
from components.autoscaling import declare_scaling
from components.codedeploy import ROLLBACK_EVENTS
from components.deployment import CodeDeployDeployment, DeploymentArgs
from components.naming import limited, type_token
from fleet.config import StackConfig
from fleet.render import Definitions, secret_parameter

# CodeDeploy swaps these on every deployment: it registers the task set with
# the new task definition, moves the listener rules between the target
# groups, and copies the network and platform settings into the new task set.
# Were they managed by Pulumi, the next `pulumi up` would try to put back
# what the last deployment changed, and ECS refuses such an update on a
# CODE_DEPLOY service anyway.
CODEDEPLOY_OWNED_SERVICE_FIELDS = [
    "taskDefinition",
    "loadBalancers",
    "networkConfiguration",
    "platformVersion",
    "capacityProviderStrategies",
]
CODEDEPLOY_OWNED_RULE_FIELDS = ["actions"]


@dataclass
class ServiceArgs:
    config: StackConfig
    definitions: Definitions
    codedeploy_application: pulumi.Input[str]
    codedeploy_role_arn: pulumi.Input[str]
    deployment_config_name: pulumi.Input[str]
    log_groups: list[pulumi.Resource] = field(default_factory=list)
    # `ecs-fleet:secrets` as a secret Output: {service: {NAME: value}}.
    secret_values: pulumi.Input[dict] | None = None


class FleetService(pulumi.ComponentResource):
    """Task definition, ECS service, blue and green target groups, listener
    rules and CodeDeploy deployment group of one service."""

    def __init__(
        self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(type_token("service", "FleetService"), name, None, opts)
        config = args.config
        defs = args.definitions
        settings = config.services[defs.service]
        lb = config.load_balancers[settings.load_balancer]
        child = pulumi.ResourceOptions(parent=self)
        load_balancer = defs.service_def["loadBalancers"][0]

        self.secret_parameters = []
        for secret in config.secrets.get(defs.service, ()):
            self.secret_parameters.append(
                aws.ssm.Parameter(
                    f"{name}-secret-{secret.lower().replace('_', '-')}",
                    name=secret_parameter(config, defs.service, secret),
                    type="SecureString",
                    # Stays a secret Output end to end: encrypted in the
                    # state, masked in every preview and log.
                    value=pulumi.Output.secret(args.secret_values).apply(
                        lambda values, key=secret: values[defs.service][key]
                    ),
                    tags={"ecs-fleet:service": defs.service},
                    opts=child,
                )
            )

        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            **ecs_args.task_definition_args(defs.task),
            # Every revision stays registered: a CodeDeploy rollback, or a
            # rollback by config, goes back to an earlier one.
            skip_destroy=True,
            opts=child.merge(
                pulumi.ResourceOptions(
                    depends_on=[*args.log_groups, *self.secret_parameters]
                )
            ),
        )

        routing = defs.fleet
        target_group = routing.get("targetGroup") or {}
        health_check = {
            ecs_args.snake(k): v
            for k, v in (target_group.get("healthCheck") or {}).items()
        }
        self.target_groups = {}
        for color in ("blue", "green"):
            self.target_groups[color] = aws.lb.TargetGroup(
                f"{name}-{color}",
                name=limited(f"{config.stack}-{defs.service}-{color}", 32),
                port=load_balancer["containerPort"],
                protocol=target_group.get("protocol", "HTTP"),
                target_type="ip",
                vpc_id=config.network.vpc_id,
                health_check={"enabled": True, **health_check},
                deregistration_delay=target_group.get("deregistrationDelay", 30),
                tags={"ecs-fleet:service": defs.service, "ecs-fleet:color": color},
                opts=child,
            )
        blue, green = self.target_groups["blue"], self.target_groups["green"]

        rule = routing["listenerRule"]
        conditions = []
        if rule.get("pathPatterns"):
            conditions.append({"path_pattern": {"values": rule["pathPatterns"]}})
        if rule.get("hostHeaders"):
            conditions.append({"host_header": {"values": rule["hostHeaders"]}})
        self.listener_rules = {}
        for route, listener_arn in (
            ("prod", lb.prod_listener_arn),
            ("test", lb.test_listener_arn),
        ):
            self.listener_rules[route] = aws.lb.ListenerRule(
                f"{name}-{route}-rule",
                listener_arn=listener_arn,
                priority=rule["priority"],
                actions=[{"type": "forward", "target_group_arn": blue.arn}],
                conditions=conditions,
                opts=child.merge(
                    pulumi.ResourceOptions(ignore_changes=CODEDEPLOY_OWNED_RULE_FIELDS)
                ),
            )

        ignore = list(CODEDEPLOY_OWNED_SERVICE_FIELDS)
        if settings.desired_count is not None:
            desired = settings.desired_count
        else:
            # Left to autoscaling: Pulumi sets the count once, at creation.
            ignore.append("desiredCount")
            desired = (
                settings.autoscaling.min
                if settings.autoscaling
                else defs.service_def.get("desiredCount", 1)
            )
        self.service = aws.ecs.Service(
            f"{name}-service",
            name=defs.service,
            cluster=config.cluster,
            task_definition=self.task_definition.arn,
            desired_count=desired,
            deployment_controller={"type": "CODE_DEPLOY"},
            load_balancers=[
                {
                    "target_group_arn": blue.arn,
                    "container_name": load_balancer["containerName"],
                    "container_port": load_balancer["containerPort"],
                }
            ],
            network_configuration=ecs_args.network_configuration(
                defs.service_def,
                config.network.subnets,
                config.network.security_groups,
                config.network.assign_public_ip,
            ),
            **ecs_args.service_args(defs.service_def),
            opts=child.merge(
                pulumi.ResourceOptions(
                    ignore_changes=ignore,
                    # ECS refuses a target group that no listener forwards to.
                    depends_on=list(self.listener_rules.values()),
                )
            ),
        )

        self.scaling = None
        if settings.autoscaling is not None:
            self.scaling = declare_scaling(
                name,
                stack=config.stack,
                cluster=config.cluster,
                service_name=defs.service,
                autoscaling=settings.autoscaling,
                service=self.service,
                load_balancer=lb,
                target_groups=self.target_groups,
                parent=self,
            )
        self.alarms = declare_alarms(
            name,
            stack=config.stack,
            service_name=defs.service,
            thresholds=settings.alarms,
            load_balancer=lb,
            target_groups=self.target_groups,
            parent=self,
        )
        alarm_names = [alarm.name for alarm in self.alarms.values()]

        wait_minutes = settings.deployment.termination_wait_minutes
        self.deployment_group = aws.codedeploy.DeploymentGroup(
            f"{name}-deployment-group",
            app_name=args.codedeploy_application,
            # A service moved in from ecspresso keeps its group's name.
            deployment_group_name=defs.codedeploy.get("deployment_group_name")
            or limited(f"{config.stack}-{defs.service}", 100),
            service_role_arn=args.codedeploy_role_arn,
            deployment_config_name=args.deployment_config_name,
            deployment_style={
                "deployment_option": "WITH_TRAFFIC_CONTROL",
                "deployment_type": "BLUE_GREEN",
            },
            blue_green_deployment_config={
                "deployment_ready_option": {"action_on_timeout": "CONTINUE_DEPLOYMENT"},
                "terminate_blue_instances_on_deployment_success": {
                    "action": "TERMINATE",
                    "termination_wait_time_in_minutes": wait_minutes,
                },
            },
            ecs_service={
                "cluster_name": config.cluster,
                "service_name": self.service.name,
            },
            load_balancer_info={
                "target_group_pair_info": {
                    "prod_traffic_route": {"listener_arns": [lb.prod_listener_arn]},
                    "test_traffic_route": {"listener_arns": [lb.test_listener_arn]},
                    "target_groups": [{"name": blue.name}, {"name": green.name}],
                }
            },
            auto_rollback_configuration={"enabled": True, "events": ROLLBACK_EVENTS},
            alarm_configuration={"enabled": True, "alarms": alarm_names},
            opts=child,
        )

        network = ecs_args.network_configuration(
            defs.service_def,
            config.network.subnets,
            config.network.security_groups,
            config.network.assign_public_ip,
        )
        self.deployment = CodeDeployDeployment(
            f"{name}-deployment",
            DeploymentArgs(
                service=defs.service,
                application=args.codedeploy_application,
                deployment_group=self.deployment_group.deployment_group_name,
                cluster=config.cluster,
                ecs_service=self.service.name,
                task_definition_arn=self.task_definition.arn,
                container_name=load_balancer["containerName"],
                container_port=load_balancer["containerPort"],
                region=config.region,
                profile=config.aws_profile,
                assume_roles=[dict(role) for role in config.aws_assume_roles],
                platform_version=defs.service_def.get("platformVersion"),
                # The AppSpec is built from what is declared, in the ECS API's
                # shape, so a deployment also applies a changed network.
                network_configuration={
                    "awsvpcConfiguration": {
                        "subnets": network["subnets"],
                        "securityGroups": network["security_groups"],
                        "assignPublicIp": "ENABLED"
                        if network["assign_public_ip"]
                        else "DISABLED",
                    }
                },
                capacity_provider_strategy=defs.service_def.get(
                    "capacityProviderStrategy"
                ),
                hooks=dict(defs.fleet.get("hooks") or {}),
                timeout_seconds=settings.deployment.timeout_minutes * 60,
            ),
            opts=child.merge(
                pulumi.ResourceOptions(depends_on=[self.service, self.deployment_group])
            ),
        )

        self.register_outputs(
            {
                "task_definition_arn": self.task_definition.arn,
                "service_name": self.service.name,
                "target_group_names": [blue.name, green.name],
                "deployment_group_name": self.deployment_group.deployment_group_name,
                "alarm_names": alarm_names,
                "deployment_id": self.deployment.deployment_id,
            }
        )

    def outputs(self) -> dict[str, pulumi.Output]:
        """What the stack exports for this service."""
        return {
            "task_definition_arn": self.task_definition.arn,
            "service_name": self.service.name,
            "target_group_names": pulumi.Output.all(
                self.target_groups["blue"].name, self.target_groups["green"].name
            ),
            "deployment_group_name": self.deployment_group.deployment_group_name,
            "alarm_names": pulumi.Output.all(
                *(alarm.name for alarm in self.alarms.values())
            ),
        }

"""The ecs-fleet Pulumi program: read the stack config, build the fleet."""

from pathlib import Path

import pulumi

from components.fleet import Fleet, FleetArgs
from fleet import config as stack_config
from fleet.errors import FleetError
from fleet.render import render_fleet
from fleet.validate import check_fleet

project_dir = Path(__file__).resolve().parent

try:
    config = stack_config.from_pulumi(project_dir)
    definitions = render_fleet(config)
    problems = check_fleet(config, definitions)
    if problems:
        raise FleetError(problems)
except FleetError as err:
    # One line per problem and no traceback: RunError prints only this.
    raise pulumi.RunError(str(err)) from None

fleet = Fleet(
    config.stack,
    FleetArgs(
        config=config,
        definitions=definitions,
        secret_values=stack_config.secret_values() if config.secrets else None,
    ),
)

pulumi.export("services", {name: svc.outputs() for name, svc in fleet.services.items()})
pulumi.export("codedeployApplication", fleet.codedeploy_application.name)

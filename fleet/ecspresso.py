"""Service folders in ecspresso's layout (an `ecspresso.yml` beside the
definitions). Not read yet: a folder with an ecspresso config is refused
with a message until the loader lands."""

from __future__ import annotations

from pathlib import Path

CONFIG_NAMES = (
    "ecspresso.yml",
    "ecspresso.yaml",
    "ecspresso.json",
    "ecspresso.jsonnet",
)


def config_file(folder: Path) -> Path | None:
    for name in CONFIG_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def render(config, service, folder):
    from fleet.errors import Problem, raise_if

    raise_if(
        [
            Problem(
                str(config_file(folder)),
                service,
                "ecspresso",
                "ecspresso layouts are not read yet",
            )
        ]
    )

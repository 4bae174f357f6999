"""Copying images from one stack to the next: `python -m fleet promote`.

Promotion copies `ecs-fleet:services.<name>.image` and nothing else. Sizes,
counts, autoscaling bounds and deployment strategies are what make staging
a smaller mirror of prod: copying them would turn prod into staging's size.
They change by a hand-written edit, reviewed on its own.

The target file is edited as text: each image's value is located by a YAML
parse that keeps positions, and only the characters of that value are
replaced, in the quoting style it already had. Comments, key order, quoting
and every other byte of the file stay as they were, so the change a
reviewer sees is the image lines alone.
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from fleet.config import (
    IMAGE_DIGEST,
    IMAGE_TAG,
    NAMESPACE,
    read_stack_file,
    stack_file,
)
from fleet.errors import Problem, raise_if

SERVICES_KEY = f"{NAMESPACE}:services"
REQUIRE_DIGESTS_KEY = f"{NAMESPACE}:requireDigests"


@dataclass(frozen=True)
class Change:
    """One service's image, as the target has it and as it will have it."""

    service: str
    old: str
    new: str
    line: int

    def __str__(self) -> str:
        return f"{self.service}: {self.old} -> {self.new}"


@dataclass(frozen=True)
class _Edit:
    change: Change
    start: int
    end: int
    replacement: str


def run(
    project_dir: Path,
    source: str,
    target: str,
    services: list[str] | None,
    dry_run: bool,
    out: TextIO,
) -> list[Change]:
    """Copy the images of `services` (all of the source's by default)."""
    target_file = stack_file(target)
    if source == target:
        raise_if(
            [
                Problem(
                    target_file,
                    None,
                    "--to",
                    "names the same stack as --from",
                    "promote from one stage to the next, e.g. --from staging --to prod",
                )
            ]
        )
    source_images = _images(read_stack_file(project_dir, source))
    target_raw = read_stack_file(project_dir, target)
    names = list(dict.fromkeys(services)) if services else list(source_images)

    _check(source, target, names, source_images, target_raw)

    path = project_dir / target_file
    text = path.read_bytes().decode("utf-8")
    edits = _plan(text, target_file, names, source_images)
    new_text = _apply(text, edits)
    _verify(new_text, target_file, edits)
    changes = [edit.change for edit in edits]

    if not changes:
        out.write(
            f"nothing to promote: {target_file} already has {source}'s images "
            f"for {', '.join(names)}\n"
        )
        return []
    # Written before anything is printed: a reader that stops early (a
    # closed pipe) must not leave the file unwritten behind an exit of 0.
    if not dry_run:
        _write(path, new_text)
    for change in changes:
        out.write(f"{change}\n")
    for line in difflib.unified_diff(
        text.splitlines(),
        new_text.splitlines(),
        fromfile=f"{target_file} (before)",
        tofile=f"{target_file} (after promotion from {source})",
        lineterm="",
    ):
        out.write(line + "\n")
    if dry_run:
        out.write(f"dry run: {target_file} was not written\n")
    return changes


def _images(raw: dict[str, Any]) -> dict[str, Any]:
    """Each service's image value as the stack file holds it."""
    services = raw.get(SERVICES_KEY)
    if not isinstance(services, dict):
        return {}
    return {
        str(name): value.get("image") if isinstance(value, dict) else None
        for name, value in services.items()
    }


def _check(
    source: str,
    target: str,
    names: list[str],
    source_images: dict[str, Any],
    target_raw: dict[str, Any],
) -> None:
    """Refuse before anything is written, naming every problem at once."""
    source_file, target_file = stack_file(source), stack_file(target)
    target_images = _images(target_raw)
    require_digests = target_raw.get(REQUIRE_DIGESTS_KEY) is True
    problems = []
    for name in names:
        field = f"{SERVICES_KEY}.{name}"
        if name not in source_images:
            problems.append(
                Problem(
                    source_file,
                    name,
                    field,
                    f"has no service {name!r} to promote",
                    "name one of: " + (", ".join(source_images) or "none"),
                )
            )
            continue
        if name not in target_images:
            problems.append(
                Problem(
                    target_file,
                    name,
                    field,
                    f"has no service {name!r} to promote into",
                    "promotion copies only images: add the service to "
                    f"{target_file} first with its own sizes and counts, or "
                    "name the services to promote",
                )
            )
            continue
        image = source_images[name]
        if not isinstance(image, str) or not (
            IMAGE_DIGEST.match(image) or IMAGE_TAG.match(image)
        ):
            problems.append(
                Problem(
                    source_file,
                    name,
                    f"{field}.image",
                    f"must be repo:tag or repo@sha256:<64 hex>, not {image!r}",
                    f"fix it in {source_file} before promoting",
                )
            )
        elif require_digests and not IMAGE_DIGEST.match(image):
            problems.append(
                Problem(
                    target_file,
                    name,
                    f"{field}.image",
                    f"{image!r} from {source_file} is a tag, and {target_file} "
                    "sets requireDigests",
                    f"resolve it with `crane digest {image}` and set "
                    f"services.{name}.image to <repo>@sha256:<digest> in "
                    f"{target_file}, or pin the digest in {source_file} and "
                    "promote again",
                )
            )
    raise_if(problems)


def _plan(
    text: str, target_file: str, names: list[str], source_images: dict[str, Any]
) -> list[_Edit]:
    """Where each image value sits in the target's text, and what replaces it."""
    services_node = _child(_child(yaml.compose(text), "config"), SERVICES_KEY)
    edits, problems = [], []
    for name in names:
        service_node = _child(services_node, name)
        node = _child(service_node, "image")
        field = f"{SERVICES_KEY}.{name}.image"
        new = source_images[name]
        if not isinstance(node, yaml.ScalarNode) or service_node is None:
            problems.append(
                Problem(
                    target_file,
                    name,
                    field,
                    "is not set",
                    f"set it by hand in {target_file}, then promote again",
                )
            )
            continue
        start, end = node.start_mark.index, node.end_mark.index
        line = node.start_mark.line + 1
        inside = service_node.start_mark.index <= start < service_node.end_mark.index
        if not inside or text[start] in "&!" or node.style in ("|", ">"):
            # An anchor, alias or tag may be shared with other keys, and a
            # block scalar spans lines: rewriting either could change more
            # than this one image.
            problems.append(
                Problem(
                    f"{target_file}:{line}",
                    name,
                    field,
                    "is not a plain one-line value, so promote cannot edit it alone",
                    "write the image out as a plain value on its own line",
                )
            )
            continue
        if node.value == new:
            continue
        edits.append(
            _Edit(
                Change(name, node.value, new, line),
                start,
                end,
                _scalar(new, node.style),
            )
        )
    raise_if(problems)
    return edits


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value under `key` in a mapping node; the last one wins, as in YAML."""
    if not isinstance(node, yaml.MappingNode):
        return None
    found = None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            found = value_node
    return found


def _scalar(value: str, style: str | None) -> str:
    """`value` as YAML, in the quoting style the old value was written in."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or not _plain_safe(value):
        # A JSON string is a valid YAML double-quoted scalar.
        return json.dumps(value)
    return value


def _plain_safe(value: str) -> bool:
    try:
        return "\n" not in value and yaml.safe_load(value) == value
    except yaml.YAMLError:
        return False


def _apply(text: str, edits: list[_Edit]) -> str:
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: edit.start] + edit.replacement + text[edit.end :]
    return text


def _verify(new_text: str, target_file: str, edits: list[_Edit]) -> None:
    """Read the edited text back: each image must now parse to its new value."""
    services = (yaml.safe_load(new_text) or {}).get("config", {}).get(SERVICES_KEY)
    problems = [
        Problem(
            target_file,
            edit.change.service,
            f"{SERVICES_KEY}.{edit.change.service}.image",
            "failed to rewrite the image in place; the file was left unchanged",
            "set the image by hand",
        )
        for edit in edits
        if (services or {}).get(edit.change.service, {}).get("image") != edit.change.new
    ]
    raise_if(problems)


def _write(path: Path, text: str) -> None:
    """Replace the file in one step, so that an interrupted write leaves it whole."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise

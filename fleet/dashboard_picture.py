"""A picture of the fleet's dashboards, drawn offline.

The bodies come from the plan of the real program under the mock engine,
the very strings `pulumi up` would send to CloudWatch, so the picture shows
what would be deployed. Each widget sits where CloudWatch puts it: the
grid is 24 columns wide, and a widget's x, y, width and height are cells.
With no account there is no data: a graph shows its title, its metrics and
its annotation lines.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from fleet.engine import Plan

DASHBOARD_TYPE = "aws:cloudwatch/dashboard:Dashboard"
GRID_COLUMNS = 24
ROW_PIXELS = 34
GAP_PIXELS = 6
PAGE_WIDTH_PIXELS = 1600
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


class PictureError(Exception):
    """The picture could not be drawn; the message says why and what helps."""


def dashboards_from_plan(plan: Plan) -> list[tuple[str, dict]]:
    """Each planned dashboard's name and parsed body, in plan order."""
    found = []
    for resource in plan.of_type(DASHBOARD_TYPE):
        name = resource.inputs.get("dashboardName") or resource.name
        body = resource.inputs.get("dashboardBody")
        try:
            found.append((name, json.loads(body)))
        except (TypeError, ValueError) as err:
            raise PictureError(
                f"failed to read the body of dashboard {name}: {err} "
                "(is a value in it unknown before deployment?)"
            ) from None
    return found


def _inline(text: str) -> str:
    """The little Markdown the fleet's text widgets use, made HTML."""
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
    return re.sub(r"\[(.+?)\]\((.+?)\)", r'<a href="\2">\1</a>', text)


def _markdown(source: str) -> str:
    lines = []
    for line in source.splitlines():
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            level = len(heading.group(1))
            lines.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif line.strip():
            lines.append(f"<p>{_inline(line)}</p>")
    return "".join(lines)


def _metric_label(metric: list) -> str:
    options = metric[-1] if metric and isinstance(metric[-1], dict) else {}
    parts = [str(p) for p in metric if not isinstance(p, dict)]
    namespace, name, dimensions = parts[0], parts[1], parts[2:]
    pairs = ", ".join(
        f"{dimensions[i]}={dimensions[i + 1]}" for i in range(0, len(dimensions), 2)
    )
    label = options.get("label")
    prefix = f"{label}: " if label else ""
    return f"{prefix}{namespace} {name} ({pairs})"


def _metric_widget(properties: dict) -> str:
    lines = "".join(
        f'<div class="annotation">{html.escape(str(a.get("label", "")))} '
        f"= {html.escape(str(a.get('value')))}</div>"
        for a in (properties.get("annotations") or {}).get("horizontal", [])
    )
    legend = "".join(
        f"<li>{html.escape(_metric_label(m))}</li>"
        for m in properties.get("metrics", [])
    )
    stat = html.escape(f"{properties.get('stat', '')}, {properties.get('period')}s")
    return (
        f'<div class="title">{html.escape(properties.get("title", ""))}</div>'
        f'<div class="plot">{lines}<span class="stat">{stat}</span></div>'
        f'<ul class="legend">{legend}</ul>'
    )


def _widget(widget: dict) -> str:
    x, y = widget["x"], widget["y"]
    width, height = widget["width"], widget["height"]
    kind = widget["type"]
    properties = widget.get("properties") or {}
    if kind == "text":
        inner = _markdown(properties.get("markdown", ""))
    elif kind == "metric":
        inner = _metric_widget(properties)
    else:
        inner = f'<div class="title">{html.escape(kind)} widget</div>'
    style = f"grid-column: {x + 1} / span {width}; grid-row: {y + 1} / span {height}"
    title = html.escape(properties.get("title", ""))
    return (
        f'<div class="widget {kind}" style="{style}" data-title="{title}" '
        f'data-x="{x}" data-y="{y}" data-width="{width}" data-height="{height}">'
        f"{inner}</div>"
    )


_STYLE = f"""
body {{ font: 12px sans-serif; background: #f2f3f3; margin: 16px;
  width: {PAGE_WIDTH_PIXELS - 32}px; }}
h1 {{ font-size: 18px; }}
section > h2 {{ font-size: 15px; border-bottom: 1px solid #aab7b8; }}
.grid {{ display: grid; grid-template-columns: repeat({GRID_COLUMNS}, 1fr);
  grid-auto-rows: {ROW_PIXELS}px; gap: {GAP_PIXELS}px; margin-bottom: 24px; }}
.widget {{ background: #fff; border: 1px solid #d5dbdb; overflow: hidden;
  padding: 4px 6px; display: flex; flex-direction: column; }}
.widget.text {{ background: transparent; border: none; }}
.widget.text h1 {{ font-size: 16px; margin: 0; }}
.widget.text h3 {{ font-size: 14px; margin: 6px 0 0; }}
.widget.text p {{ margin: 2px 0; }}
.title {{ font-weight: bold; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }}
.plot {{ flex: 1; border-left: 1px solid #879596; border-bottom: 1px solid #879596;
  margin: 4px 0; position: relative; }}
.annotation {{ border-top: 1px dashed #d13212; color: #d13212; font-size: 10px;
  margin-top: 12px; }}
.stat {{ position: absolute; right: 2px; bottom: 2px; color: #687078;
  font-size: 10px; }}
.legend {{ margin: 0; padding-left: 14px; font-size: 10px; color: #545b64; }}
.legend li {{ white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
"""


def render_html(stack: str, dashboards: list[tuple[str, dict]]) -> str:
    """One HTML page with every dashboard, widgets on CloudWatch's grid."""
    sections = []
    for name, body in dashboards:
        widgets = "".join(_widget(w) for w in body.get("widgets", []))
        sections.append(
            f'<section data-dashboard="{html.escape(name)}">'
            f"<h2>{html.escape(name)}</h2>"
            f'<div class="grid">{widgets}</div></section>'
        )
    title = html.escape(f"ecs-fleet dashboards of stack {stack}")
    return (
        "<!DOCTYPE html>\n"
        f'<html><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head>"
        f"<body><h1>{title}</h1>{''.join(sections)}</body></html>\n"
    )


def picture_height(dashboards: list[tuple[str, dict]]) -> int:
    """Pixels tall enough for every dashboard of the page."""
    rows = 0
    for _, body in dashboards:
        widgets = body.get("widgets", [])
        rows += max((w["y"] + w["height"] for w in widgets), default=0)
    return 120 + len(dashboards) * 70 + rows * (ROW_PIXELS + GAP_PIXELS)


def write_png(page: str, height: int, out: Path) -> None:
    """Screenshot the HTML with a headless Chromium, found on PATH."""
    browser = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if browser is None:
        raise PictureError(
            "no Chromium on PATH to draw a PNG with; install one "
            "(`apt-get install chromium`) or write HTML with --out FILE.html"
        )
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "dashboards.html"
        source.write_text(page)
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={PAGE_WIDTH_PIXELS},{height}",
            f"--screenshot={out.resolve()}",
            source.as_uri(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 or not out.is_file():
        raise PictureError(
            f"failed to draw {out} with {browser}: "
            + (result.stderr.strip().splitlines() or ["no output"])[-1]
        )

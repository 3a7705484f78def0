"""Charts as inline SVG geometry, computed on the server: bars per week and sparklines.

Pure: numbers in, coordinates out; the templates draw them with SVG presentation attributes
(no script, no inline style), so they show without JavaScript and under a strict CSP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str  # what a screen reader and the tooltip say of this bar


@dataclass(frozen=True, slots=True)
class BarChart:
    width: float
    height: float
    bars: tuple[Bar, ...]
    peak: int
    total: int
    baseline: float


def bar_chart(
    values: Sequence[int],
    labels: Sequence[str],
    *,
    width: float = 520.0,
    height: float = 64.0,
    gap: float = 1.0,
) -> BarChart:
    """Bars of equal width filling `width`, scaled so that the highest bar is `height` tall;
    a bar of a value above zero is at least one unit tall, so that it is never invisible."""
    n = max(len(values), 1)
    step = width / n
    peak = max(values, default=0)
    bars = []
    for i, (v, label) in enumerate(zip(values, labels, strict=True)):
        h = 0.0 if peak == 0 else max(height * v / peak, 1.0 if v else 0.0)
        bars.append(
            Bar(
                x=round(i * step, 2),
                y=round(height - h, 2),
                width=round(max(step - gap, 0.5), 2),
                height=round(h, 2),
                value=v,
                label=label,
            )
        )
    return BarChart(width, height, tuple(bars), peak, sum(values), height)


@dataclass(frozen=True, slots=True)
class Sparkline:
    width: float
    height: float
    points: str  # "x,y x,y ..." for a <polyline>
    last: tuple[float, float] | None  # the newest point, drawn as a dot
    values: tuple[int, ...]


def sparkline(values: Sequence[int], *, width: float = 96.0, height: float = 20.0) -> Sparkline:
    """A line through the values, oldest left; 1 unit of margin so the stroke is not cut."""
    vals = tuple(values)
    if not vals:
        return Sparkline(width, height, "", None, vals)
    peak = max(vals) or 1
    step = (width - 2) / max(len(vals) - 1, 1)
    pts = [
        (round(1 + i * step, 2), round(height - 1 - (height - 2) * v / peak, 2))
        for i, v in enumerate(vals)
    ]
    return Sparkline(width, height, " ".join(f"{x},{y}" for x, y in pts), pts[-1], vals)


def _n(value: float) -> str:
    return f"{value:g}"


def bars_svg(chart: BarChart, title: str, ident: str) -> Markup:
    """The <svg> of a bar chart: every text escaped, every number formatted here (a page of
    four charts of 52 bars is built in a fraction of what the template engine needs)."""
    tid = escape(f"{ident}-t")
    parts = [
        f'<svg viewBox="0 0 {_n(chart.width)} {_n(chart.height)}" role="img" '
        f'aria-labelledby="{tid}" preserveAspectRatio="none" class="bars">',
        f'<title id="{tid}">{escape(title)}</title>',
        f'<line x1="0" y1="{_n(chart.baseline)}" x2="{_n(chart.width)}" '
        f'y2="{_n(chart.baseline)}" class="axis"/>',
    ]
    for i, b in enumerate(chart.bars):
        parts.append(
            f'<rect x="{_n(b.x)}" y="{_n(b.y)}" width="{_n(b.width)}" height="{_n(b.height)}" '
            f'class="bar bar-{i % 2}"><title>{escape(b.label)}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def spark_svg(line: Sparkline, label: str) -> Markup:
    """The <svg> of a sparkline, with `label` (escaped) as what a screen reader says."""
    parts = [
        f'<svg viewBox="0 0 {_n(line.width)} {_n(line.height)}" width="{_n(line.width)}" '
        f'height="{_n(line.height)}" role="img" aria-label="{escape(label)}" class="spark">'
    ]
    if line.points:
        parts.append(f'<polyline points="{line.points}" class="line"/>')
    if line.last:
        parts.append(f'<circle cx="{_n(line.last[0])}" cy="{_n(line.last[1])}" r="2" class="dot"/>')
    parts.append("</svg>")
    return Markup("".join(parts))

"""Tiny dependency-free SVG charts for the eval report: histogram, bar chart, scatter with line series,
reliability diagram.

Each function returns one complete <svg> element with its xmlns, so the same string can be inlined in HTML or
saved as a standalone .svg file. Colours and fonts are attributes rather than CSS so a standalone file looks the
same as the inlined one. Every piece of text goes through html.escape, which is also valid XML escaping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

WIDTH, HEIGHT = 480, 300

BLUE = "#2563eb"
ORANGE = "#ea580c"
GREEN = "#16a34a"
RED = "#dc2626"
PURPLE = "#9333ea"
GREY = "#6b7280"
_INK = "#1f2937"
_GRID = "#e5e7eb"
_AXIS = "#9ca3af"

# Margins leave room for the title above, tick labels and the axis label below, and y tick labels on the left.
_LEFT, _RIGHT, _TOP, _BOTTOM = 54, 18, 34, 46
_LEGEND_ROW = 16
# A white outline behind label text keeps it readable where it crosses bars or points.
_HALO = ' paint-order="stroke" stroke="#ffffff" stroke-width="3"'

Style = Literal["dot", "cross", "line", "ring"]


@dataclass(frozen=True, slots=True)
class Series:
    """One set of points; "line" joins them in the given order, "ring" is for a highlighted operating point."""

    name: str
    points: Sequence[tuple[float, float]]
    color: str = BLUE
    style: Style = "dot"


@dataclass(frozen=True, slots=True)
class VLine:
    """A labelled vertical reference line (a threshold, a percentile)."""

    x: float
    label: str
    color: str = GREY


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """One confidence bin of a reliability diagram; accuracy and confidence are None when it is empty."""

    lo: float
    hi: float
    count: int
    accuracy: float | None
    confidence: float | None


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick positions (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    step = _nice_step((hi - lo) / max(target, 1))
    first = math.ceil(lo / step - 1e-9)
    ticks: list[float] = []
    i = first
    while i * step <= hi + step * 1e-9:
        ticks.append(round(i * step, 12))
        i += 1
    return ticks


def nice_ceiling(value: float) -> float:
    """The smallest 1/2/5 x 10^k at or above value, so an axis ends on a round number."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    return _nice_step(value)


def nice_bins(top: float, target: int = 10) -> tuple[float, int]:
    """An upper bound and a bin count for a histogram from 0 whose bin width is a round number,
    e.g. top 55 -> (60, 6): round edges make the tick labels readable."""
    if top <= 0 or not math.isfinite(top):
        return 1.0, target
    step = _nice_step(top / target)
    bins = max(1, math.ceil(top / step - 1e-9))
    return bins * step, bins


def bin_counts(values: Sequence[float], bins: int, lo: float, hi: float) -> list[int]:
    """Counts per equal-width bin; the last bin includes hi, and out-of-range values land in the end bins
    rather than vanishing from the chart."""
    counts = [0] * max(bins, 1)
    span = hi - lo
    for v in values:
        if not math.isfinite(v):
            continue
        # Multiply before dividing (and allow a hair of slack) so 0.3 lands in [0.3, 0.4), not [0.2, 0.3).
        i = math.floor((v - lo) * len(counts) / span + 1e-9) if span > 0 else 0
        counts[min(max(i, 0), len(counts) - 1)] += 1
    return counts


def histogram(
    values: Sequence[float],
    bins: int,
    lo: float,
    hi: float,
    title: str,
    x_label: str,
    y_label: str = "questions",
    *,
    vlines: Sequence[VLine] = (),
    color: str = BLUE,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    counts = bin_counts(values, bins, lo, hi)
    y_ticks = _count_ticks(max(counts))
    frame = _Frame(lo, hi, 0.0, y_ticks[-1], width, height, _TOP)
    parts = _axes(frame, _edge_ticks(lo, hi, len(counts)), [(t, _fmt(t, 1.0)) for t in y_ticks], x_label, y_label)
    bin_w = (hi - lo) / len(counts)
    for i, n in enumerate(counts):
        if n:
            x0, x1 = frame.x(lo + i * bin_w), frame.x(lo + (i + 1) * bin_w)
            parts.append(_bar(x0 + 1, x1 - 1, frame.y(n), frame.y(0), color, str(n)))
    parts += _vlines(frame, vlines)
    if not values:
        parts.append(_no_data(frame))
    return _svg(width, height, title, parts)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    y_label: str,
    x_label: str = "",
    *,
    colors: Sequence[str] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Vertical bars over categorical labels, each with its value printed on top."""
    top = max((v for v in values if math.isfinite(v)), default=0.0)
    integral = all(float(v).is_integer() for v in values)
    y_ticks = _count_ticks(math.ceil(top)) if integral else nice_ticks(0.0, nice_ceiling(top) if top else 1.0)
    n = max(len(labels), 1)
    frame = _Frame(0.0, float(n), 0.0, y_ticks[-1], width, height, _TOP)
    step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
    x_ticks = [(i + 0.5, label) for i, label in enumerate(labels)]
    # Long category names shrink (down to a floor) rather than run into their neighbours.
    band = (frame.right - frame.left) / n
    longest = max((len(label) for label in labels), default=1)
    size = int(min(11, max(9, band / (0.55 * longest))))
    y_tick_labels = [(t, _fmt(t, step)) for t in y_ticks]
    parts = _axes(frame, x_ticks, y_tick_labels, x_label, y_label, x_tick_marks=False, x_tick_size=size)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        if not math.isfinite(v) or v <= 0:
            continue
        pad = (frame.x(1) - frame.x(0)) * 0.15
        color = colors[i] if colors and i < len(colors) else BLUE
        text = str(int(v)) if integral else f"{v:.2f}"
        parts.append(_bar(frame.x(i) + pad, frame.x(i + 1) - pad, frame.y(v), frame.y(0), color, text, label))
    if not labels or top <= 0:
        parts.append(_no_data(frame))
    return _svg(width, height, title, parts)


def scatter(
    series: Sequence[Series],
    title: str,
    x_label: str,
    y_label: str,
    *,
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] = (0.0, 1.0),
    vlines: Sequence[VLine] = (),
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Points, optional joined line series and reference lines on fixed axes, with a legend under the title."""
    top = _TOP + (_LEGEND_ROW if series else 0)
    frame = _Frame(*x_range, *y_range, width, height, top)
    xs, ys = nice_ticks(*x_range), nice_ticks(*y_range)
    x_step = xs[1] - xs[0] if len(xs) > 1 else 1.0
    y_step = ys[1] - ys[0] if len(ys) > 1 else 1.0
    parts = _axes(frame, [(t, _fmt(t, x_step)) for t in xs], [(t, _fmt(t, y_step)) for t in ys], x_label, y_label)
    parts += _vlines(frame, vlines)
    for s in series:
        parts += _draw_series(frame, s)
    parts += _legend(series, width)
    if not any(s.points for s in series):
        parts.append(_no_data(frame))
    return _svg(width, height, title, parts)


def reliability_diagram(
    bins: Sequence[ReliabilityBin],
    title: str,
    x_label: str = "confidence",
    y_label: str = "share of answers right",
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Accuracy per confidence bin as bars, each bin's mean confidence as a line across its bar, the diagonal of
    perfect calibration, and the bin's count on top: the gap between bar and line is the miscalibration, and the
    count says how much that gap weighs."""
    frame = _Frame(0.0, 1.0, 0.0, 1.0, width, height, _TOP + _LEGEND_ROW)
    ticks = nice_ticks(0.0, 1.0)
    step = ticks[1] - ticks[0]
    labels = [(t, _fmt(t, step)) for t in ticks]
    parts = _axes(frame, labels, labels, x_label, y_label)
    parts.append(
        f'<line x1="{_n(frame.x(0))}" y1="{_n(frame.y(0))}" x2="{_n(frame.x(1))}" y2="{_n(frame.y(1))}" '
        f'stroke="{GREY}" stroke-width="1.5" stroke-dasharray="5 3"/>'
    )
    drawn = [b for b in bins if b.count > 0 and b.accuracy is not None and b.confidence is not None]
    parts += [_reliability_bar(frame, b) for b in drawn]
    parts += _reliability_legend()
    if not drawn:
        parts.append(_no_data(frame))
    return _svg(width, height, title, parts)


@dataclass(frozen=True, slots=True)
class _Frame:
    """Maps data coordinates onto the plot area (y grows upwards in data, downwards in SVG)."""

    x_lo: float
    x_hi: float
    y_lo: float
    y_hi: float
    width: int
    height: int
    top: int

    @property
    def left(self) -> float:
        return float(_LEFT)

    @property
    def right(self) -> float:
        return float(self.width - _RIGHT)

    @property
    def bottom(self) -> float:
        return float(self.height - _BOTTOM)

    def x(self, v: float) -> float:
        span = (self.x_hi - self.x_lo) or 1.0
        v = min(max(v, self.x_lo), self.x_hi)  # clamp so stray data never draws over the labels
        return self.left + (v - self.x_lo) / span * (self.right - self.left)

    def y(self, v: float) -> float:
        span = (self.y_hi - self.y_lo) or 1.0
        v = min(max(v, self.y_lo), self.y_hi)
        return self.bottom - (v - self.y_lo) / span * (self.bottom - self.top)


def _nice_step(raw: float) -> float:
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if raw <= m * power * (1 + 1e-9):
            return m * power
    return 10.0 * power


def _count_ticks(top: int) -> list[float]:
    """Integer ticks from 0 that reach at least top (and at least 1, so an empty chart still has an axis)."""
    step = max(1.0, _nice_step(max(top, 1) / 5))
    ticks = [0.0]
    while ticks[-1] < max(top, 1):
        ticks.append(ticks[-1] + step)
    return ticks


def _edge_ticks(lo: float, hi: float, bins: int) -> list[tuple[float, str]]:
    """Bin edges as x ticks, thinned to at most about ten labels."""
    every = max(1, math.ceil(bins / 10))
    step = (hi - lo) / bins
    return [(lo + i * step, _fmt(lo + i * step, step * every)) for i in range(0, bins + 1, every)]


def _fmt(v: float, step: float) -> str:
    """As many decimals as the tick step needs (0.25 needs two, 0.2 one), no more."""
    for decimals in range(7):
        if abs(round(step, decimals) - step) <= 1e-9 * max(1.0, abs(step)):
            return f"{v:.{decimals}f}"
    return f"{v:.3g}"


def _n(v: float) -> str:
    return f"{v:.1f}"


def _text(
    x: float, y: float, s: str, *, anchor: str = "middle", size: int = 11, fill: str = _INK, extra: str = ""
) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{extra}>'
        f"{escape(s)}</text>"
    )


def _axes(
    frame: _Frame,
    x_ticks: Sequence[tuple[float, str]],
    y_ticks: Sequence[tuple[float, str]],
    x_label: str,
    y_label: str,
    *,
    x_tick_marks: bool = True,
    x_tick_size: int = 11,
) -> list[str]:
    parts: list[str] = []
    for v, label in y_ticks:
        y = frame.y(v)
        parts.append(f'<line x1="{_n(frame.left)}" y1="{_n(y)}" x2="{_n(frame.right)}" y2="{_n(y)}" stroke="{_GRID}"/>')
        parts.append(_text(frame.left - 6, y + 4, label, anchor="end", fill=GREY))
    for v, label in x_ticks:
        x = frame.x(v)
        if x_tick_marks:
            b = frame.bottom
            parts.append(f'<line x1="{_n(x)}" y1="{_n(b)}" x2="{_n(x)}" y2="{_n(b + 4)}" stroke="{_AXIS}"/>')
        parts.append(_text(x, frame.bottom + 16, label, size=x_tick_size, fill=GREY))
    parts.append(
        f'<path d="M{_n(frame.left)} {_n(frame.top)}V{_n(frame.bottom)}H{_n(frame.right)}" '
        f'fill="none" stroke="{_AXIS}"/>'
    )
    if x_label:
        parts.append(_text((frame.left + frame.right) / 2, frame.height - 8, x_label))
    if y_label:
        cy = (frame.top + frame.bottom) / 2
        parts.append(_text(14, cy, y_label, extra=f' transform="rotate(-90 14 {_n(cy)})"'))
    return parts


def _bar(x0: float, x1: float, y_top: float, y_base: float, color: str, value: str, what: str = "") -> str:
    tip = f"{what}: {value}" if what else value
    return (
        f'<g><title>{escape(tip)}</title><rect x="{_n(x0)}" y="{_n(y_top)}" width="{_n(max(x1 - x0, 1))}" '
        f'height="{_n(max(y_base - y_top, 0))}" fill="{color}" rx="2"/>'
        f"{_text((x0 + x1) / 2, y_top - 4, value, size=10, fill=GREY)}</g>"
    )


def _vlines(frame: _Frame, vlines: Sequence[VLine]) -> list[str]:
    """Dashed reference lines; their labels step down one row each so neighbouring lines stay legible, and
    flip to the left of a line near the right edge so they are not cut off."""
    parts: list[str] = []
    for row, v in enumerate(vl for vl in vlines if frame.x_lo <= vl.x <= frame.x_hi):
        x = frame.x(v.x)
        y = frame.top + 10 + 12 * row
        fits_right = x + 4 + 6 * len(v.label) <= frame.right
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(frame.top)}" x2="{_n(x)}" y2="{_n(frame.bottom)}" stroke="{v.color}" '
            f'stroke-width="1.5" stroke-dasharray="5 3"/>'
        )
        parts.append(
            _text(
                x + 4 if fits_right else x - 4,
                y,
                v.label,
                anchor="start" if fits_right else "end",
                size=10,
                fill=v.color,
                extra=_HALO,
            )
        )
    return parts


def _marker(x: float, y: float, color: str, style: Style) -> str:
    if style == "cross":
        return (
            f'<path d="M{_n(x - 3.5)} {_n(y - 3.5)}L{_n(x + 3.5)} {_n(y + 3.5)}M{_n(x - 3.5)} {_n(y + 3.5)}'
            f'L{_n(x + 3.5)} {_n(y - 3.5)}" stroke="{color}" stroke-width="2" stroke-opacity="0.75"/>'
        )
    if style == "ring":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="6.5" fill="none" stroke="{color}" stroke-width="2.5"/>'
    if style == "line":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2.2" fill="{color}"/>'
    # Translucent dots so piles of identical (confidence, F1) points read darker.
    return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4" fill="{color}" fill-opacity="0.55" stroke="{color}"/>'


def _draw_series(frame: _Frame, s: Series) -> list[str]:
    pts = [(frame.x(x), frame.y(y)) for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
    parts: list[str] = []
    if s.style == "line" and len(pts) > 1:
        coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in pts)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{s.color}" stroke-width="2"/>')
    parts += [_marker(x, y, s.color, s.style) for x, y in pts]
    return parts


def _legend(series: Sequence[Series], width: int) -> list[str]:
    parts: list[str] = []
    x, y = float(_LEFT), float(_TOP + 6)
    for s in series:
        parts.append(_marker(x + 5, y - 4, s.color, s.style))
        if s.style == "line":
            parts.append(f'<line x1="{_n(x)}" y1="{_n(y - 4)}" x2="{_n(x + 10)}" y2="{_n(y - 4)}" stroke="{s.color}"/>')
        parts.append(_text(x + 14, y, s.name, anchor="start", size=10))
        x += 24 + 6 * len(s.name)  # a rough text width is enough for a handful of short names
        if x > width - 60:
            break
    return parts


def _reliability_bar(frame: _Frame, b: ReliabilityBin) -> str:
    accuracy, confidence = b.accuracy or 0.0, b.confidence or 0.0
    x0, x1 = frame.x(b.lo) + 1, frame.x(b.hi) - 1
    y_acc, y_conf, base = frame.y(accuracy), frame.y(confidence), frame.y(0)
    tip = f"{b.lo:g}–{b.hi:g}: {b.count} answers, {accuracy:.0%} right, mean confidence {confidence:.2f}"
    return (
        f'<g><title>{escape(tip)}</title><rect x="{_n(x0)}" y="{_n(y_acc)}" width="{_n(max(x1 - x0, 1))}" '
        f'height="{_n(max(base - y_acc, 0))}" fill="{BLUE}" fill-opacity="0.8" rx="2"/>'
        f'<line x1="{_n(x0)}" y1="{_n(y_conf)}" x2="{_n(x1)}" y2="{_n(y_conf)}" stroke="{ORANGE}" stroke-width="2.5"/>'
        f"{_text((x0 + x1) / 2, min(y_acc, y_conf) - 4, str(b.count), size=10, fill=GREY, extra=_HALO)}</g>"
    )


def _reliability_legend() -> list[str]:
    """Keys for the three marks, since a bar, a line across it and a dashed diagonal are not Series."""
    x, y = float(_LEFT), float(_TOP + 6)
    parts: list[str] = []
    for name, color, stroke in (
        ("share right", BLUE, ""),  # no stroke: a filled square, as the bars are
        ("mean confidence", ORANGE, 'stroke-width="2.5"'),
        ("perfect calibration", GREY, 'stroke-width="1.5" stroke-dasharray="4 2"'),
    ):
        if stroke:
            key = f'<line x1="{_n(x)}" y1="{_n(y - 4)}" x2="{_n(x + 10)}" y2="{_n(y - 4)}" stroke="{color}" {stroke}/>'
        else:
            key = f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" fill="{color}"/>'
        parts += [key, _text(x + 14, y, name, anchor="start", size=10)]
        x += 24 + 6 * len(name)  # the rough text width the scatter legend uses
    return parts


def _no_data(frame: _Frame) -> str:
    return _text((frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2, "no data", size=13, fill=GREY)


def _svg(width: int, height: int, title: str, parts: Sequence[str]) -> str:
    t = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{t}" font-family="system-ui, -apple-system, sans-serif">'
        f'<title>{t}</title><rect width="{width}" height="{height}" fill="#ffffff"/>'
        + _text(_LEFT - 40, 20, title, anchor="start", size=13, extra=' font-weight="600"')
        + "".join(parts)
        + "</svg>"
    )

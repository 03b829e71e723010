"""Charts for the HTML report, drawn as inline SVG in Python.

The report must open offline, on an air-gapped support laptop, and must not execute anything but
its own small script: no charting library, no canvas, no external file. SVG built as text is
small, prints well, scales with the page, and all its labels go through `html.escape`.
"""

from __future__ import annotations

import math
from calendar import monthrange
from collections import Counter
from datetime import datetime, timedelta
from html import escape

from triage.report.content import FindingItem, TimelineSeries

MAX_SERIES = 24  # rows in the timeline; the rest are merged into one "other" row
WIDTH = 960
LABEL_W = 300
ROW_H = 22
PLOT_W = WIDTH - LABEL_W - 30

CONFIDENCE_COLOURS = (("high", "#c62828"), ("medium", "#ef8f00"), ("low", "#5c7cfa"))
EXPLAINED = "#2f6fb3"
UNEXPLAINED = "#c62828"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------------------------------
# time axis
# ------------------------------------------------------------------------------------------
_STEPS = [
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=2),
    timedelta(days=7),
]


def _add_months(t: datetime, months: int) -> datetime:
    m = t.month - 1 + months
    y = t.year + m // 12
    m = m % 12 + 1
    return t.replace(year=y, month=m, day=min(t.day, monthrange(y, m)[1]))


def time_ticks(start: datetime, end: datetime, max_ticks: int = 7) -> list[tuple[datetime, str]]:
    """Round tick positions between start and end, labelled as precisely as the span needs."""
    span = end - start
    for step in _STEPS:
        if span / step <= max_ticks:
            epoch = datetime(2000, 1, 1)
            first = epoch + step * math.ceil((start - epoch) / step)
            fmt = "%Y-%m-%d" if step >= timedelta(days=1) else "%m-%d %H:%M"
            ticks = []
            t = first
            while t <= end:
                ticks.append((t, t.strftime(fmt)))
                t += step
            return ticks
    months = 1
    for months in (1, 2, 3, 6, 12, 24, 60, 120):
        if span.days / (30.5 * months) <= max_ticks:
            break
    t = datetime(start.year, start.month, 1)
    if months >= 12:
        t = datetime(start.year, 1, 1)
    if t < start:
        t = _add_months(t, months)
    ticks = []
    while t <= end:
        ticks.append((t, t.strftime("%Y" if months >= 12 else "%Y-%m")))
        t = _add_months(t, months)
    return ticks


def timeline_svg(series: list[TimelineSeries]) -> str:
    """Crashes over time, one row per host and kernel; red = no signature explains the crash."""
    if not series:
        return '<p class="empty">No crash with a known time.</p>'
    ordered = sorted(series, key=lambda s: (-len(s.times), s.host, s.release))
    rows: list[tuple[str, list[datetime], list[bool]]] = [
        (f"{s.host} · {s.release}", s.times, s.explained) for s in ordered[:MAX_SERIES]
    ]
    rest = ordered[MAX_SERIES:]
    if rest:
        rows.append(
            (
                f"{len(rest)} other host/kernel pairs",
                [t for s in rest for t in s.times],
                [x for s in rest for x in s.explained],
            )
        )
    all_times = [t for _, ts, _ in rows for t in ts]
    start, end = min(all_times), max(all_times)
    if end - start < timedelta(minutes=2):
        start, end = start - timedelta(minutes=1), end + timedelta(minutes=1)
    pad = (end - start) * 0.02
    start, end = start - pad, end + pad
    total = (end - start).total_seconds()

    def x(t: datetime) -> float:
        return LABEL_W + PLOT_W * (t - start).total_seconds() / total

    top = 10
    height = top + ROW_H * len(rows) + 46
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="Crashes over time by host and kernel" xmlns="http://www.w3.org/2000/svg">'
    ]
    axis_y = top + ROW_H * len(rows)
    for i in range(0, len(rows), 2):
        out.append(
            f'<rect x="0" y="{top + ROW_H * i}" width="{WIDTH}" height="{ROW_H}" class="band"/>'
        )
    for t, label in time_ticks(start, end):
        tx = x(t)
        out.append(
            f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{axis_y}" class="grid"/>'
            f'<text x="{tx:.1f}" y="{axis_y + 16}" class="tick" text-anchor="middle">{_e(label)}</text>'
        )
    for i, (label, times, explained) in enumerate(rows):
        cy = top + ROW_H * i + ROW_H / 2
        out.append(
            f'<text x="{LABEL_W - 10}" y="{cy + 4:.1f}" class="label" text-anchor="end">'
            f"<title>{_e(label)}</title>{_e(_clip(label, 44))}</text>"
        )
        # one mark per pixel column and state, sized by how many crashes it stands for
        bins: Counter[tuple[int, bool]] = Counter()
        first_time: dict[tuple[int, bool], datetime] = {}
        for t, exp in zip(times, explained, strict=True):
            key = (round(x(t)), exp)
            bins[key] += 1
            first_time.setdefault(key, t)
        for (px, exp), n in sorted(bins.items(), key=lambda kv: kv[0][1], reverse=True):
            r = 4 + min(5.0, math.log2(n)) if n > 1 else 4
            colour = EXPLAINED if exp else UNEXPLAINED
            what = "explained by a finding" if exp else "no signature explains"
            tip = f"{label}: {n} crash{'es' if n > 1 else ''} at {first_time[(px, exp)]:%Y-%m-%d %H:%M} ({what})"
            out.append(
                f'<circle cx="{px}" cy="{cy:.1f}" r="{r:.1f}" fill="{colour}" fill-opacity="0.75">'
                f"<title>{_e(tip)}</title></circle>"
            )
    out.append(
        f'<line x1="{LABEL_W}" y1="{axis_y}" x2="{LABEL_W + PLOT_W}" y2="{axis_y}" class="axis"/>'
    )
    ly = axis_y + 36
    out.append(
        f'<circle cx="{LABEL_W + 6}" cy="{ly - 4}" r="4" fill="{UNEXPLAINED}"/>'
        f'<text x="{LABEL_W + 16}" y="{ly}" class="legend">no signature explains</text>'
        f'<circle cx="{LABEL_W + 176}" cy="{ly - 4}" r="4" fill="{EXPLAINED}"/>'
        f'<text x="{LABEL_W + 186}" y="{ly}" class="legend">explained by a finding</text>'
    )
    out.append("</svg>")
    return "".join(out)


def findings_svg(findings: list[FindingItem]) -> str:
    """Findings per signature as horizontal bars stacked by confidence."""
    if not findings:
        return '<p class="empty">No finding.</p>'
    per: dict[str, Counter[str]] = {}
    for f in findings:
        per.setdefault(f.signature_id, Counter())[f.confidence] += 1
    items = sorted(per.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:MAX_SERIES]
    biggest = max(sum(c.values()) for _, c in items)
    top = 10
    height = top + ROW_H * len(items) + 40
    scale = (PLOT_W - 40) / biggest
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="Findings by signature" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (sig, counts) in enumerate(items):
        y = top + ROW_H * i
        out.append(
            f'<text x="{LABEL_W - 10}" y="{y + ROW_H / 2 + 4:.1f}" class="label" text-anchor="end">'
            f"<title>{_e(sig)}</title>{_e(_clip(sig, 44))}</text>"
        )
        bx = float(LABEL_W)
        for conf, colour in CONFIDENCE_COLOURS:
            n = counts.get(conf, 0)
            if not n:
                continue
            w = n * scale
            out.append(
                f'<rect x="{bx:.1f}" y="{y + 4}" width="{w:.1f}" height="{ROW_H - 8}" '
                f'fill="{colour}" rx="2"><title>{_e(f"{sig}: {n} {conf}")}</title></rect>'
            )
            bx += w
        out.append(
            f'<text x="{bx + 6:.1f}" y="{y + ROW_H / 2 + 4:.1f}" class="value">'
            f"{sum(counts.values())}</text>"
        )
    ly = top + ROW_H * len(items) + 24
    lx = LABEL_W
    for conf, colour in CONFIDENCE_COLOURS:
        out.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}" rx="2"/>'
            f'<text x="{lx + 15}" y="{ly}" class="legend">{conf} confidence</text>'
        )
        lx += 150
    out.append("</svg>")
    return "".join(out)

"""The HTML page of a model report: plain HTML with inline SVG charts, no script, no external asset."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime

from rapps.governance.schemas import ModelReport

__all__ = ["bar_chart", "histogram", "render_report", "series_chart"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:960px;color:#1d2733}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse}td,th{padding:.25rem .6rem;border-bottom:1px solid #e4e6eb;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#6b7280}svg{display:block;margin:.5rem 0}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def bar_chart(labels: Sequence[str], values: Sequence[float], *, width: int = 640, unit: str = "") -> str:
    """Horizontal bars, one per label, scaled to the largest value."""
    if not values:
        return '<p class="note">no data</p>'
    row, label_w = 22, 220
    top = max(max(values), 1e-12)
    height = row * len(values) + 8
    parts = [f'<svg width="{width}" height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value) in enumerate(zip(labels, values)):
        y = 4 + i * row
        w = max(1.0, (width - label_w - 90) * value / top)
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{_e(label[:34])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="#3b82f6"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12">{_e(_fmt(value))}{_e(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def series_chart(points: Sequence[tuple[int, int]], *, width: int = 640, height: int = 160) -> str:
    """Decisions per time bucket as vertical bars, with the first and last bucket times."""
    if not points:
        return '<p class="note">no data</p>'
    top = max(n for _, n in points) or 1
    bar = (width - 20) / len(points)
    parts = [f'<svg width="{width}" height="{height + 30}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i, (_, n) in enumerate(points):
        h = (height - 10) * n / top
        parts.append(
            f'<rect x="{10 + i * bar:.1f}" y="{height - h:.1f}" width="{max(bar - 1, 1):.1f}" height="{h:.1f}" '
            'fill="#10b981"/>'
        )
    parts.append(f'<text x="10" y="{height + 20}" font-size="11">{_e(_time(points[0][0]))}</text>')
    parts.append(
        f'<text x="{width - 10}" y="{height + 20}" font-size="11" text-anchor="end">{_e(_time(points[-1][0]))}</text>'
    )
    parts.append(f'<text x="10" y="12" font-size="11">max {top} per bucket</text></svg>')
    return "".join(parts)


def histogram(samples: Sequence[float], *, bins: int = 20, width: int = 640, height: int = 140) -> str:
    """A histogram of samples (CPU µs per decision)."""
    if not samples:
        return '<p class="note">no data</p>'
    lo, hi = min(samples), max(samples)
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for value in samples:
        counts[min(bins - 1, int((value - lo) / span * bins))] += 1
    top = max(counts) or 1
    bar = (width - 20) / bins
    parts = [f'<svg width="{width}" height="{height + 30}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i, count in enumerate(counts):
        h = (height - 10) * count / top
        parts.append(
            f'<rect x="{10 + i * bar:.1f}" y="{height - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" fill="#f59e0b"/>'
        )
    parts.append(f'<text x="10" y="{height + 20}" font-size="11">{_e(_fmt(lo))} µs</text>')
    parts.append(
        f'<text x="{width - 10}" y="{height + 20}" font-size="11" text-anchor="end">{_e(_fmt(hi))} µs</text></svg>'
    )
    return "".join(parts)


def render_report(report: ModelReport) -> str:
    """The whole page."""
    title = f"{report.model} {report.version}"
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Model report: {_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Model report: {_e(title)}</h1>",
        f'<p class="note">digest {_e(report.digest or "unknown")} · generated {_e(_time(report.generated_ns))} UTC</p>',
        "<h2>Decisions</h2><table><tr><th>slot</th><th>decisions</th><th>sent</th><th>withheld</th>"
        "<th>slices</th><th>CPU µs / decision</th><th>first</th><th>last</th></tr>",
    ]
    for s in report.stats:
        out.append(
            f"<tr><td>{_e(s.model.slot)}</td><td class=n>{s.decisions}</td><td class=n>{s.sent}</td>"
            f"<td class=n>{s.withheld}</td><td class=n>{s.slices}</td><td class=n>{s.cpu_us_per_decision}</td>"
            f"<td>{_e(_time(s.first_ns))}</td><td>{_e(_time(s.last_ns))}</td></tr>"
        )
    out.append("</table>")
    out.append(series_chart(report.timeline))
    out.append("<h2>SLA outcome of the slices it governed</h2>")
    out.append(
        bar_chart(
            [s.slice_id for s in report.sla if s.compliance is not None],
            [100.0 * (s.compliance or 0.0) for s in report.sla if s.compliance is not None],
            unit=" %",
        )
    )
    out.append("<table><tr><th>slice</th><th>observations</th><th>met</th><th>policies</th><th>note</th></tr>")
    for sla in report.sla:
        out.append(
            f"<tr><td>{_e(sla.slice_id)}</td><td class=n>{sla.observations}</td><td class=n>{sla.met}</td>"
            f"<td>{_e(', '.join(sla.policy_ids))}</td><td>{_e(sla.note)}</td></tr>"
        )
    out.append("</table><h2>Rollbacks</h2>")
    if not report.rollbacks:
        out.append('<p class="note">none</p>')
    else:
        out.append(
            "<table><tr><th>slice</th><th>at</th><th>from</th><th>to</th><th>SLA before</th><th>SLA after</th>"
            "<th>reason</th></tr>"
        )
        for rb in report.rollbacks:
            ev = rb["evidence"]
            out.append(
                f"<tr><td>{_e(rb['slice_id'])}</td><td>{_e(_time(rb['at_ns']))}</td>"
                f"<td>{_e(rb['from']['version'])}</td><td>{_e(rb['to']['version'])}</td>"
                f"<td class=n>{_e(_fmt(ev['sla_compliance_before']))}</td>"
                f"<td class=n>{_e(_fmt(ev['sla_compliance_after']))}</td>"
                f"<td>{_e(ev['first_decision_reason'])}</td></tr>"
            )
        out.append("</table>")
    out.append("<h2>Inference cost</h2>")
    out.append(
        f"<p>{_e(_fmt(report.cpu_us_per_decision))} CPU µs per decision; energy "
        f"{_e(_fmt(report.energy_j_per_decision))} J per decision, {_e(_fmt(report.energy_j_total))} J in total "
        f"(coefficient {report.energy_coefficient_j_per_cpu_s} J per CPU-second).</p>"
    )
    out.append(histogram(report.cpu_us_samples))
    out.append(f"<h2>Explanation (permutation importance, {report.explanation_rows} decisions)</h2>")
    out.append(bar_chart([f.feature for f in report.explanation], [f.output_change for f in report.explanation]))
    if report.explanation:
        out.append("<table><tr><th>feature</th><th>mean |Δ output|</th><th>action changed</th></tr>")
        for f in report.explanation:
            out.append(
                f"<tr><td>{_e(f.feature)}</td><td class=n>{_e(_fmt(f.output_change))}</td>"
                f"<td class=n>{100 * f.action_change_rate:.1f} %</td></tr>"
            )
        out.append("</table>")
    out.append("<h2>Robustness</h2>")
    rob = report.robustness
    if rob is None:
        out.append('<p class="note">not computed</p>')
    else:
        out.append(
            f"<p>{100 * rob.stable_rate:.1f} % of {rob.rows} decisions kept their action under {rob.trials} "
            f"perturbations of up to ±{100 * rob.epsilon:g} % per feature (mean |Δ output| "
            f"{_e(_fmt(rob.mean_output_change))}).</p>"
        )
    if report.notes:
        out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in report.notes) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out)

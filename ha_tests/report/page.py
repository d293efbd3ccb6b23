"""The self-contained HTML report: gap-area table, per-scenario timelines, history, compare.

Everything the page needs is inside the file (plotly.js inlined once, no fonts or scripts
fetched), so it opens the same on an air-gapped jump host, in a CI artifact store or mailed.
Every text from results is escaped: scenario names and error messages are data, not markup.
"""

from __future__ import annotations

import datetime
import html
from pathlib import Path
from typing import Any

import plotly.io as pio
from plotly.offline import get_plotlyjs

from ha_tests.report import history, timeline
from ha_tests.report.records import RunRecord, load_runs
from ha_tests.results import TABLE_HEADER, gap_table, headline_verdict
from ha_tests.summary import Interval, RunSummary

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#222;
 background:#fafafa}
header{background:#1d3557;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
main{padding:12px 28px 40px}section{background:#fff;border:1px solid #ddd;border-radius:6px;
 padding:14px 18px;margin:18px 0}
table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #e3e3e3;
 padding:4px 10px;text-align:left;vertical-align:top}th{background:#f0f3f7}
tr.worst td{background:#fff3cd;font-weight:600}tr.gap-start td{border-top:2px solid #999}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;
 font-weight:700;vertical-align:middle}
.pass{background:#2a9d8f}.fail{background:#d62828}.error,.interrupted,.aborted{background:#6a040f}
.skipped{background:#8d99ae}
.timeline{display:grid;grid-template-columns:minmax(0,1fr) 360px;gap:16px;align-items:start}
.timeline .plot{min-width:0}.timeline aside{font-size:12px;max-height:640px;overflow:auto}
.meta{color:#555}.muted{color:#888}code{background:#f3f3f3;padding:0 3px}
.better{color:#2a9d8f;font-weight:600}.worse{color:#d62828;font-weight:600}
"""

MEASURES = (("longest_outage", "outage"), ("detection_time", "detection"),
            ("recovery_time", "recovery"), ("availability", "availability"))


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _bounded(value: Interval | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    if percent:
        return f"{100 * value.value:.2f} % ± {100 * value.error:.2f}"
    return f"{value.value:.2f} s ± {value.error:.2f}"


def _figure_html(figure, div_id: str) -> str:
    return pio.to_html(figure, full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-").lower() or "x"


def gap_section(records: list[RunRecord]) -> str:
    summaries = [r.summary for r in records]
    rows = gap_table(summaries)
    header = "".join(f"<th>{_e(h)}</th>" for h in TABLE_HEADER)
    body, last_gap = [], None
    gap_column, recovery_column = TABLE_HEADER.index("gap"), TABLE_HEADER.index("recovery")
    for row in rows:
        classes = []
        if row[gap_column] != last_gap:  # rows are sorted worst recovery first per gap area
            classes = ["gap-start", "worst"] if row[recovery_column] != "-" else ["gap-start"]
            last_gap = row[gap_column]
        cells = "".join(f"<td>{_e(c)}</td>" for c in row)
        body.append(f'<tr class="{" ".join(classes)}">{cells}</tr>')
    words = "".join(f"<li><b>{_e(run.scenario)}</b> ({_e(run.gap)}): "
                    f"{_e(headline_verdict(run))}</li>"
                    for run in map(RunSummary.of, summaries) if run.headline)
    return ("<section id='gap-table'><h2>Gap areas</h2><p class='meta'>Grouped by gap area; "
            "the worst recovery of each area is highlighted. Outage, detection and recovery "
            "are the worst gated monitor's, with the measurement bound (a range where the "
            "bound is wide); the headline answers the gap area's own question.</p>"
            f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            + (f"<h3>What was found</h3><ul class='headlines'>{words}</ul>" if words else "")
            + "</section>")


def _monitor_table(summary: RunSummary) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("monitor", "type", "gate", "iteration",
                                            *(label for _, label in MEASURES), "samples",
                                            "failed", "why"))
    rows = []
    for name, monitor in summary.monitors.items():
        for iteration in monitor.iterations:
            metrics = iteration.metrics
            cells = [name, monitor.type, "yes" if monitor.gate else "no", iteration.iteration]
            cells += [_bounded(getattr(metrics, key), percent=key == "availability")
                      for key, _ in MEASURES]
            cells += [metrics.sample_count, metrics.error_count,
                      "; ".join(f"{n} × {why}" for why, n in iteration.failures.items())
                      or "-"]
            rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    if not rows:
        return "<p class='muted'>no monitor results</p>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _attack_list(view) -> str:
    rows = "".join(f"<tr><td>{_e(t)}</td><td>{_e(who)}</td><td>{_e(what)}</td></tr>"
                   for t, who, what in timeline.attack_rows(view))
    if not rows:
        return "<p class='muted'>no attack events</p>"
    return ("<table><thead><tr><th>time</th><th>attacker</th><th>event</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def scenario_section(record: RunRecord, figures: list[tuple[str, Any]]) -> str:
    summary = record.summary
    status = str(summary.status)
    targets = "; ".join(f"{k}: {', '.join(v)}" for k, v in summary.targets.items())
    parts = [f"<section class='scenario' id='{_e(_slug(record.directory.name))}'>",
             f"<h2>{_e(record.scenario)} <span class='badge {_e(status)}'>{_e(status.upper())}"
             "</span></h2>",
             f"<p>{_e(summary.description or '')}</p>",
             f"<p class='meta'>gap area <b>{_e(summary.gap)}</b> · targets "
             f"{_e(targets or '-')} · seed {_e(summary.seed)} · inventory "
             f"{_e(summary.inventory)} · finished {_e(record.finished[:19])} · results "
             f"<code>{_e(record.directory)}</code></p>"]
    for label, text in (("SLA not met", "; ".join(summary.sla_failures)),
                        ("error", summary.error), ("skipped", summary.skip_reason)):
        if text:
            parts.append(f"<p><b>{label}:</b> {_e(text)}</p>")
    views = {v.index: v for v in record.iterations()}
    for div_id, figure, index in figures:
        parts.append(f"<div class='timeline'><div class='plot'>{_figure_html(figure, div_id)}"
                     f"</div><aside><h4>Attack events</h4>{_attack_list(views[index])}"
                     "</aside></div>")
    parts.append(_monitor_table(summary))
    parts.append("</section>")
    return "".join(parts)


def history_section(records: list[RunRecord]) -> str:
    repeated = {s: runs for s, runs in history.by_scenario(records).items() if len(runs) > 1}
    if not repeated:
        return ""
    plots = "".join(_figure_html(history.trend_figure(s, runs), f"trend-{_slug(s)}")
                    for s, runs in sorted(repeated.items()))
    return ("<section id='history'><h2>History</h2><p class='meta'>Recovery time of the worst "
            "gated monitor in each run, with its bounds.</p>" + plots + "</section>")


def compare_section(changes: list[history.Change], before: str, after: str) -> str:
    rows = []
    for change in changes:
        if change.verdict == "n/a":
            continue
        css = change.verdict if change.verdict in ("better", "worse") else ""
        rows.append(f"<tr><td class='{css}'>{_e(change.verdict)}</td><td>{_e(change.scenario)}"
                    f"</td><td>{_e(change.measure)}</td><td>{_e(change.text())}</td></tr>")
    return (f"<section id='compare'><h2>Compare</h2><p class='meta'>{_e(before)} → "
            f"{_e(after)}. Better or worse only when the bounds do not overlap.</p>"
            "<table><thead><tr><th>change</th><th>scenario</th><th>measure</th>"
            f"<th>before → after</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            "</section>")


def timeline_figures(record: RunRecord) -> list[tuple[str, Any, int]]:
    return [(f"timeline-{_slug(record.directory.name)}-{view.index}",
             timeline.timeline_figure(record, view), view.index)
            for view in record.iterations()]


def gate_section(lines: list[str]) -> str:
    """How much of the run was measured, and why each other scenario was not."""
    head, *rest = lines
    items = "".join(f"<li>{_e(line.strip())}</li>" for line in rest)
    return (f"<section id='measured'><h2>{_e(head)}</h2>"
            + (f"<ul>{items}</ul>" if items else "") + "</section>")


def render(records: list[RunRecord], compare: tuple[list[RunRecord], list[RunRecord],
                                                    str, str] | None = None,
           gate: list[str] | None = None) -> str:
    statuses: dict[str, int] = {}
    for record in records:
        status = str(record.summary.status)
        statuses[status] = statuses.get(status, 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    sections = [gate_section(gate)] if gate else []
    sections += [gap_section(records)] if records else []
    if compare:
        before, after, name_a, name_b = compare
        sections.append(compare_section(history.compare(before, after), name_a, name_b))
    sections.append(history_section(records))
    sections += [scenario_section(r, timeline_figures(r)) for r in records]
    made = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>ha-tests report</title><style>{CSS}</style>"
            f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
            f"<header><h1>ha-tests report</h1><div>{len(records)} scenario runs: {_e(counts)}"
            f" · made {made}</div></header><main>{''.join(sections)}</main></body></html>")


def build_report(result_paths: list[Path], output: Path,
                 compare: tuple[list[Path], list[Path]] | None = None,
                 gate: list[str] | None = None) -> Path:
    """Write ``output`` from results directories (each a scenario's, a run's or a tree);
    ``gate``: a run's lines on how much it measured (``Coverage.lines()``), shown first."""
    records = load_runs(result_paths) if result_paths else []
    comparison = None
    if compare:
        before, after = load_runs(compare[0]), load_runs(compare[1])
        comparison = (before, after, ", ".join(map(str, compare[0])),
                      ", ".join(map(str, compare[1])))
        if not records:
            records = after
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(output.suffix + ".tmp")
    tmp.write_text(render(records, comparison, gate), encoding="utf-8")
    tmp.replace(output)
    return output

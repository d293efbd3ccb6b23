"""One figure per scenario iteration: what every monitor saw, and when the fault was.

Each monitor gets a row: its samples as they were (a marker per probe at the probe's
midpoint, its horizontal bar the probe's whole span, since the service's state was observed
at some unknown instant inside it), latency on a second axis, the fault window shaded from
injection to verified rollback, each outage with its uncertainty bands (the bounds of
docs/metrics.rst), markers for detection and recovery, and the SLA's recovery limit as a line.
Shapes carry names (``outage:<monitor>:<n>`` ...) so tests and tools can find them.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ha_tests.report.records import IterationView, RunRecord
from ha_tests.summary import Interval, Metrics

STATUS_STYLE = {  # status -> (colour, marker symbol, y on the state lane)
    "ok": ("#2ca02c", "circle", 1),
    "fail": ("#d62728", "x", 0),
    "timeout": ("#ff7f0e", "triangle-up", 0),
    "error": ("#9467bd", "diamond", 0),
}
FAULT_COLOUR = "rgba(255, 193, 7, 0.18)"
OUTAGE_COLOUR = "rgba(214, 39, 40, 0.30)"
BOUND_COLOUR = "rgba(214, 39, 40, 0.12)"


def iteration_metrics(record: RunRecord, monitor: str, index: int) -> Metrics | None:
    declared = record.summary.monitors.get(monitor)
    for iteration in declared.iterations if declared else []:
        if iteration.iteration == index:
            return iteration.metrics
    return None


def _monitor_order(record: RunRecord, view: IterationView) -> list[str]:
    declared = list(record.summary.monitors)
    return declared + sorted(m for m in view.samples if m not in declared)


def _add_samples(figure: go.Figure, row: int, name: str, samples: list[dict]) -> None:
    for status, (colour, symbol, lane) in STATUS_STYLE.items():
        chosen = [s for s in samples if s["status"] == status]
        if not chosen:
            continue
        mids = [(s["start"] + s["end"]) / 2 for s in chosen]
        figure.add_trace(go.Scatter(
            x=mids, y=[lane] * len(chosen), mode="markers", name=f"{name}: {status}",
            legendgroup=status, showlegend=False,
            marker={"color": colour, "symbol": symbol, "size": 8},
            error_x={"type": "data", "symmetric": False, "thickness": 1, "width": 0,
                     "array": [s["end"] - m for s, m in zip(chosen, mids, strict=True)],
                     "arrayminus": [m - s["start"] for s, m in zip(chosen, mids, strict=True)]},
            hovertemplate=f"{status} probe at %{{x:.3f}} s<extra>{name}</extra>"),
            row=row, col=1, secondary_y=False)
    timed = [s for s in samples if s.get("latency") is not None]
    if timed:
        figure.add_trace(go.Scatter(
            x=[s["end"] for s in timed], y=[s["latency"] * 1000 for s in timed],
            mode="lines", name=f"{name}: latency", showlegend=False,
            line={"color": "rgba(31, 119, 180, 0.55)", "width": 1},
            hovertemplate="latency %{y:.1f} ms<extra>" + name + "</extra>"),
            row=row, col=1, secondary_y=True)


def _band(figure, row, x0, x1, colour, name, label=None):
    if x1 <= x0:
        x1 = x0 + 1e-3
    extra = {"annotation_text": label, "annotation_position": "top left"} if label else {}
    figure.add_vrect(x0=x0, x1=x1, fillcolor=colour, line_width=0, layer="below", name=name,
                     row=row, col=1, **extra)


def relative(bounded: Interval | None, t0: float) -> Interval | None:
    """Outage instants are stored on the monotonic clock; the plot counts from t0."""
    if bounded is None or bounded.value is None:
        return None
    return bounded.model_copy(update={k: v - t0 for k in ("value", "lo", "hi")
                                      if (v := getattr(bounded, k)) is not None})


def _add_metrics(figure: go.Figure, row: int, name: str, metrics: Metrics | None,
                 sla: dict[str, float] | None, view: IterationView) -> None:
    if metrics is not None:
        for n, outage in enumerate(metrics.outages):
            begin, end = relative(outage.begin, view.t0), relative(outage.end, view.t0)
            if begin is None:
                continue
            stop = end.value if end else (view.window_end or begin.hi)
            _band(figure, row, begin.value, stop, OUTAGE_COLOUR, f"outage:{name}:{n}",
                  "outage" if n == 0 else None)
            # lo is None when the outage may have begun before anything was observed
            earliest = min((s["start"] for s in view.samples.get(name, [])),
                           default=begin.hi)
            _band(figure, row, earliest if begin.lo is None else begin.lo, begin.hi,
                  BOUND_COLOUR, f"bound:{name}:{n}:begin")
            if end and end.lo is not None and end.hi is not None:
                _band(figure, row, end.lo, end.hi, BOUND_COLOUR, f"bound:{name}:{n}:end")
        for key, colour, label, where in (
                ("detection_time", "#1f77b4", "detected", "bottom right"),
                ("recovery_time", "#2ca02c", "recovered", "top right")):
            value = getattr(metrics, key)
            if value is not None:
                figure.add_vline(x=value.value, line={"color": colour, "dash": "dash",
                                                      "width": 1.5},
                                 name=f"{key}:{name}", row=row, col=1,
                                 annotation_text=f"{label} {value.value:.2f}±"
                                                 f"{value.error:.2f} s",
                                 annotation_position=where)
    limit = (sla or {}).get("max_recovery")
    if limit is not None:
        figure.add_vline(x=limit, line={"color": "#d62728", "dash": "dot", "width": 1.5},
                         name=f"sla:{name}", row=row, col=1,
                         annotation_text=f"SLA recovery ≤ {limit:g} s",
                         annotation_position="top right")


def timeline_figure(record: RunRecord, view: IterationView) -> go.Figure:
    monitors = _monitor_order(record, view)
    rows = max(1, len(monitors))
    figure = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           subplot_titles=monitors or ["no monitor"],
                           specs=[[{"secondary_y": True}]] * rows)
    spec = record.summary.monitors
    for row, name in enumerate(monitors, start=1):
        _add_samples(figure, row, name, view.samples.get(name, []))
        metrics = iteration_metrics(record, name, view.index)
        declared = spec.get(name)
        _add_metrics(figure, row, name, metrics, declared.sla if declared else None, view)
        figure.update_yaxes(range=[-0.3, 1.3], tickvals=[0, 1], ticktext=["down", "up"],
                            row=row, col=1, secondary_y=False)
        figure.update_yaxes(title_text="latency (ms)", row=row, col=1, secondary_y=True,
                            rangemode="tozero", showgrid=False)
    if view.fault_end is not None:
        figure.add_vrect(x0=0, x1=max(view.fault_end, 1e-3), fillcolor=FAULT_COLOUR,
                         line_width=0, layer="below", name="fault", row="all", col=1)
    else:
        figure.add_vline(x=0, line={"color": "#ffc107", "width": 2}, name="fault", row="all",
                         col=1)
    figure.update_xaxes(title_text="seconds from injection", row=rows, col=1)
    title = f"{record.scenario} — iteration {view.index}"
    figure.update_layout(title={"text": title, "x": 0}, height=140 + 190 * rows,
                         margin={"l": 60, "r": 60, "t": 70, "b": 50},
                         template="plotly_white", hovermode="closest")
    return figure


def attack_rows(view: IterationView) -> list[tuple[str, str, str]]:
    """(time, attacker, what happened) for the list beside the plot: nodes, PIDs, power,
    and how far apart a fault on several nodes landed (its injection skew)."""
    rows = []
    for event in view.attacks:
        detail = event.get("detail") or {}
        parts = []
        if event.get("nodes"):
            parts.append("on " + ", ".join(event["nodes"]))
        for key in ("pids", "new_pids", "back"):
            if isinstance(detail, dict) and detail.get(key):
                pids = "; ".join(f"{node}: {', '.join(map(str, values))}"
                                 for node, values in detail[key].items())
                parts.append(f"{key.replace('_', ' ')} {pids}")
        for key in ("signal", "power", "state", "interface", "action"):
            if isinstance(detail, dict) and detail.get(key) not in (None, "", [], {}):
                parts.append(f"{key} {detail[key]}")
        if isinstance(detail, dict) and isinstance(detail.get("skew_s"), (int, float)):
            parts.append(f"skew {detail['skew_s'] * 1000:.1f} ms across "
                         f"{len(detail.get('fault_at') or {})} nodes")
        if event.get("ok") is False or event.get("error"):
            parts.append(f"FAILED: {event.get('error')}")
        rows.append((f"{event['t']:+.2f} s", event.get("attacker", ""),
                     " ".join([event.get("action", "")] + parts)))
    return rows

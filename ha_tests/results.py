"""Result files of a run (summary.json, junit.xml) and the tables people read.

Everything here reads the summary, which is itself computed from events.jsonl: a report never
reaches back into the runner. Each writer masks its objects (ha_tests.masking) before it
serialises them, and JUnit text is made XML-safe: an operation's stderr or an API body may hold
control characters that XML 1.0 cannot carry, even escaped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from junitparser import (
    Error,
    Failure,
    JUnitXml,
    Properties,
    Property,
    Skipped,
    TestCase,
    TestSuite,
)

from ha_tests.errors import InputError, Problem
from ha_tests.headline import NOT_SEEN, seconds_text
from ha_tests.masking import mask, mask_text
from ha_tests.summary import Interval, RunSummary, Status, load_run_summary

#: what XML 1.0 cannot hold at all: C0 controls but tab, LF and CR; lone surrogates; U+FFFE/F
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` with each character XML cannot hold written as a visible ``\\xNN``."""
    return NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)


def _xml_safe(value: Any) -> Any:
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, dict):
        return {_xml_safe(k): _xml_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_xml_safe(v) for v in value]
    return value


Summary = RunSummary | dict[str, Any]


def _headline(summary: RunSummary) -> tuple[str | None, float | None]:
    """Worst recovery among gated monitors, as text and seconds, for tables and JUnit."""
    worst = summary.worst("recovery_time")
    return (None, None) if worst is None else (_bounded_text(worst), worst.hi)


def _bounded_text(bounded: Interval | None) -> str:
    return "-" if bounded is None else seconds_text(bounded.model_dump())


#: a run that never measured anything: its headline says so instead of a figure
NOT_MEASURED = (Status.SKIPPED, Status.PREFLIGHT_FAILED, Status.INTERRUPTED)


def headline_text(summary: Summary) -> str:
    """The gap area's answer (ha_tests.headline), one figure per iteration."""
    run = RunSummary.of(summary)
    if run.status in NOT_MEASURED:
        return f"not measured ({run.status})"
    overall = [h for h in run.headline if h.iteration == "all"]
    figures = [h.figure for h in run.headline if h.iteration != "all"]
    if not figures:
        return "-"
    if overall:  # a repeated run: the mean with its interval, then each iteration
        return f"{overall[0].figure}; each: " + " | ".join(figures)
    if len(set(figures)) == 1:
        return figures[0]
    return " | ".join(f"#{i}: {f}" for i, f in enumerate(figures))


def headline_verdict(summary: Summary) -> str:
    return "; ".join(dict.fromkeys(h.verdict for h in RunSummary.of(summary).headline))


def junit_case(summary: Summary) -> TestCase:
    run = RunSummary.of(summary)
    case = TestCase(run.scenario, classname=f"ha_tests.{run.gap}")
    status = run.status
    if status is Status.FAIL:
        failures = run.sla_failures or [run.error or "SLA failed"]
        case.result = [Failure("; ".join(failures)[:2000], type_="SLA")]
    elif status is Status.SKIPPED:
        case.result = [Skipped(run.skip_reason or "skipped")]
    elif status is not Status.PASS:
        case.result = [Error(f"{status}: {run.error or ''}"[:2000], type_=str(status))]
    lines = [f"gap area: {run.gap}", f"status: {status}"]
    for name, monitor in run.monitors.items():
        for iteration in monitor.iterations:
            metrics = iteration.metrics
            lines.append(f"{name}[{iteration.iteration}]: outage "
                         f"{_bounded_text(metrics.longest_outage)}, recovery "
                         f"{_bounded_text(metrics.recovery_time)}")
    properties = Properties()
    for item in run.headline:
        suffix = f"[{item.iteration}]" if len(run.headline) > 1 else ""
        suffix = ".all" if item.iteration == "all" else suffix
        properties.add_property(Property(f"headline{suffix}", item.figure))
        properties.add_property(Property(f"headline.verdict{suffix}", item.verdict))
        for key, value in item.values.items():
            properties.add_property(Property(f"headline.{key}{suffix}", json.dumps(value)))
        lines.append(f"headline{suffix}: {item.verdict}")
    if run.headline:
        case.append(properties)
    case.system_out = "\n".join(lines)
    return case


def _masked(summary: Summary) -> RunSummary:
    data = summary.to_json() if isinstance(summary, RunSummary) else summary
    return RunSummary.of(_xml_safe(mask(data)))


def measured_case(text: str, enough: bool, verdict: str) -> TestCase:
    """The gate's own test case: how many scenarios were measured and why the rest were not
    (``text``); a failure when fewer than the gate needs were (``verdict`` says so)."""
    case = TestCase("measured", classname="ha_tests.gate")
    if not enough:
        case.result = [Failure(xml_text(mask_text(verdict))[:2000], type_="not-measured")]
    case.system_out = xml_text(mask_text(text))
    return case


def junit_suite(summaries: list[Summary], name: str = "ha-tests",
                extra: list[TestCase] | None = None,
                gate: Summary | None = None) -> JUnitXml:
    """Masked and XML-safe, whatever the summaries hold. ``extra``: cases of the run itself
    (the gate's ``measured``), after the scenarios'; ``gate``: the post-deploy gate's own
    row (headline.gate_summary), as suite properties."""
    suite = TestSuite(xml_text(mask_text(name)))
    for summary in summaries:
        suite.add_testcase(junit_case(_masked(summary)))
    for case in extra or []:
        suite.add_testcase(case)
    for item in (_masked(gate).headline if gate is not None else []):
        properties = Properties()
        properties.add_property(Property("gap-6.headline", item.figure))
        for key, value in item.values.items():
            properties.add_property(Property(f"gap-6.{key}", json.dumps(value)))
        suite._elem.insert(0, properties._elem)  # the schema puts properties first
    xml = JUnitXml()
    xml.add_testsuite(suite)
    return xml


def dirs_holding(paths: list[Path], marker: str, what: str = "results") -> list[Path]:
    """Scenario results directories named by ``paths``, each known by its ``marker`` file
    (summary.json, or events.jsonl for a history not yet analysed): a path is one, or holds
    some (a run's or a whole ``results/`` tree, searched two levels deep). Oldest first, by
    name (it starts with the run's UTC time)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if (path / marker).is_file():
            found.append(path)
            continue
        if not path.is_dir():
            raise InputError(Problem(str(path), None, None, "", "no such results directory",
                                     "pass a directory written by 'ha-tests run' "
                                     "(or a parent of several)"))
        inner = sorted({p.parent for pattern in (f"*/{marker}", f"*/*/{marker}")
                        for p in path.glob(pattern)})
        if not inner:
            raise InputError(Problem(str(path), None, None, "", f"no {what} here (no {marker} "
                                     "in it or in its subdirectories)",
                                     "pass a directory written by 'ha-tests run'"))
        found.extend(inner)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return sorted(unique, key=lambda p: (p.name, str(p)))


def load_summary(result_dir: Path) -> RunSummary:
    """A results directory's summary.json, typed (ha_tests.summary)."""
    return load_run_summary(result_dir)


def summary_rows(summaries: list[Summary]) -> list[list[str]]:
    rows = []
    for run in map(RunSummary.of, summaries):
        outage, detection = "-", "-"
        worst_outage = run.worst("longest_outage")
        for _, _, iteration in run.gated():
            if iteration.metrics.sample_count and outage == "-":
                outage = NOT_SEEN
            if worst_outage is not None and iteration.metrics.longest_outage is worst_outage:
                detection = _bounded_text(iteration.metrics.detection_time)
        if worst_outage is not None:
            outage = _bounded_text(worst_outage)
        recovery, _ = _headline(run)
        rows.append([run.scenario, run.gap,
                     ",".join(sorted({n for v in run.targets.values() for n in v})) or "-",
                     outage, detection, recovery or "-", _availability_text(run),
                     degradation_text(run), headline_text(run), str(run.status).upper()])
    return rows


def worst_availability(summary: Summary) -> Interval | None:
    """The lowest availability (by its lower bound) among gated monitors' iterations."""
    found = [a for _, _, i in RunSummary.of(summary).gated()
             if (a := i.metrics.availability) is not None and a.lo is not None]
    return min(found, key=lambda a: a.lo or 0.0, default=None)


def _availability_text(summary: RunSummary) -> str:
    worst = worst_availability(summary)
    if worst is None:
        return "-"
    return f"{100 * (worst.value or 0):.2f} % ± {100 * (worst.error or 0):.2f}"


TABLE_HEADER = ["scenario", "gap", "target", "outage", "detection", "recovery", "availability",
                "degradation", "headline", "verdict"]


def degradation_text(summary: Summary) -> str:
    """The gated monitors' worst latency degradation (by its upper bound), as a percentage
    with its interval: ``+35 % (+10..+80)``; "-" where no monitor has enough samples."""
    worst = RunSummary.of(summary).worst("degradation")
    if worst is None or worst.value is None or worst.lo is None or worst.hi is None:
        return "-"
    return f"{100 * worst.value:+.0f} % ({100 * worst.lo:+.0f}..{100 * worst.hi:+.0f})"


GAP_ORDER = ["gap-1", "gap-2", "gap-3", "gap-4", "gap-5", "gap-6", "classic"]


def gap_table(summaries: list[Summary]) -> list[list[str]]:
    """Rows grouped by gap area, the worst recovery first within each, so it stands out."""
    keyed = []
    runs = [RunSummary.of(s) for s in summaries]
    for run, row in zip(runs, summary_rows(runs), strict=True):
        _, worst = _headline(run)
        gap = run.gap
        keyed.append(((GAP_ORDER.index(gap) if gap in GAP_ORDER else 99,
                       -(worst if worst is not None else -1.0)), row))
    return [row for _, row in sorted(keyed, key=lambda item: item[0])]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = TABLE_HEADER) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(mask(header))
        writer.writerows(mask(rows))


def format_table(rows: list[list[str]], header: list[str] = TABLE_HEADER) -> str:
    rows, header = mask(rows), mask(header)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def format_summary(summary: Summary) -> str:
    """`ha-tests show`: the scenario, then a row per monitor and iteration."""
    data = summary.to_json() if isinstance(summary, RunSummary) else summary
    run = RunSummary.of(mask(data))
    out = [f"{run.scenario} ({run.gap}): {str(run.status).upper()}"]
    if run.error:
        out.append(f"  error: {run.error}")
    if run.skip_reason:
        out.append(f"  skipped: {run.skip_reason}")
    if run.targets:
        out.append("  targets: " + "; ".join(f"{k}={','.join(v)}"
                                              for k, v in run.targets.items()))
    for item in run.headline:
        out.append(f"  {run.gap} (iter {item.iteration}): {item.verdict}")
    header = ["monitor", "iter", "outages", "longest outage", "detection", "recovery",
              "availability", "errors", "sla"]
    rows = []
    for name, monitor in run.monitors.items():
        for iteration in monitor.iterations:
            m = iteration.metrics
            sla = ("-" if not monitor.gate else
                   "pass" if all(v.passed for v in iteration.verdicts) else "FAIL")
            rows.append([name, str(iteration.iteration), str(m.outage_count),
                         _bounded_text(m.longest_outage), _bounded_text(m.detection_time),
                         _bounded_text(m.recovery_time),
                         f"{m.availability.lo:.4f}" if m.availability and
                         m.availability.lo is not None else "-",
                         str(m.error_count), sla])
    if rows:
        out.append(format_table(rows, header))
    for name, monitor in run.monitors.items():
        for iteration in monitor.iterations:
            for reason, count in iteration.failures.items():
                out.append(f"  {name} (iter {iteration.iteration}): {count} failed: "
                           f"{reason}")
    for failure in run.sla_failures:
        out.append(f"  SLA: {failure}")
    for entry in run.rollback:
        if not entry.ok:
            out.append(f"  ROLLBACK FAILED: {entry.attacker}: {entry.error}")
    return "\n".join(out)

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


def write_results(result_dir: Path, summary: dict[str, Any]) -> None:
    summary = mask(summary)
    (result_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    junit_suite([summary]).write(str(result_dir / "junit.xml"), pretty=True)


def _headline(summary: dict[str, Any]) -> tuple[str | None, float | None]:
    """Worst recovery among gated monitors, as text and seconds, for tables and JUnit."""
    worst: tuple[str | None, float | None] = (None, None)
    for monitor in summary.get("monitors", {}).values():
        if not monitor.get("gate"):
            continue
        for iteration in monitor["iterations"]:
            recovery = iteration["metrics"].get("recovery_time")
            if recovery and (worst[1] is None or recovery["hi"] > worst[1]):
                worst = (_bounded_text(recovery), recovery["hi"])
    return worst


def _bounded_text(bounded: dict[str, float] | None) -> str:
    if not bounded:
        return "-"
    return seconds_text(bounded)


def headline_text(summary: dict[str, Any]) -> str:
    """The gap area's answer (ha_tests.headline), one figure per iteration."""
    if summary.get("status") in ("skipped", "preflight-failed", "interrupted"):
        return f"not measured ({summary['status']})"
    items = summary.get("headline") or []
    overall = [h for h in items if h["iteration"] == "all"]
    figures = [h["figure"] for h in items if h["iteration"] != "all"]
    if not figures:
        return "-"
    if overall:  # a repeated run: the mean with its interval, then each iteration
        return f"{overall[0]['figure']}; each: " + " | ".join(figures)
    if len(set(figures)) == 1:
        return figures[0]
    return " | ".join(f"#{i}: {f}" for i, f in enumerate(figures))


def headline_verdict(summary: dict[str, Any]) -> str:
    return "; ".join(dict.fromkeys(h["verdict"] for h in summary.get("headline") or []))


def junit_case(summary: dict[str, Any]) -> TestCase:
    case = TestCase(summary["scenario"], classname=f"ha_tests.{summary['gap']}")
    status = summary["status"]
    if status == "fail":
        failures = summary.get("sla_failures") or [summary.get("error") or "SLA failed"]
        case.result = [Failure("; ".join(failures)[:2000], type_="SLA")]
    elif status == "skipped":
        case.result = [Skipped(summary.get("skip_reason") or "skipped")]
    elif status != "pass":
        case.result = [Error(f"{status}: {summary.get('error') or ''}"[:2000], type_=status)]
    lines = [f"gap area: {summary['gap']}", f"status: {status}"]
    for name, monitor in summary.get("monitors", {}).items():
        for iteration in monitor["iterations"]:
            metrics = iteration["metrics"]
            lines.append(f"{name}[{iteration['iteration']}]: outage "
                         f"{_bounded_text(metrics.get('longest_outage'))}, recovery "
                         f"{_bounded_text(metrics.get('recovery_time'))}")
    properties = Properties()
    for item in summary.get("headline") or []:
        suffix = f"[{item['iteration']}]" if len(summary["headline"]) > 1 else ""
        suffix = ".all" if item["iteration"] == "all" else suffix
        properties.add_property(Property(f"headline{suffix}", item["figure"]))
        properties.add_property(Property(f"headline.verdict{suffix}", item["verdict"]))
        for key, value in (item.get("values") or {}).items():
            properties.add_property(Property(f"headline.{key}{suffix}", json.dumps(value)))
        lines.append(f"headline{suffix}: {item['verdict']}")
    if summary.get("headline"):
        case.append(properties)
    case.system_out = "\n".join(lines)
    return case


def junit_suite(summaries: list[dict[str, Any]], name: str = "ha-tests",
                gate: dict[str, Any] | None = None) -> JUnitXml:
    """Masked and XML-safe, whatever the summaries hold. ``gate``: the post-deploy gate's
    own row (headline.gate_summary), as suite properties."""
    suite = TestSuite(xml_text(mask_text(name)))
    for summary in summaries:
        suite.add_testcase(junit_case(_xml_safe(mask(summary))))
    for item in _xml_safe(mask(gate or {})).get("headline", []):
        properties = Properties()
        properties.add_property(Property("gap-6.headline", item["figure"]))
        for key, value in item["values"].items():
            properties.add_property(Property(f"gap-6.{key}", json.dumps(value)))
        suite._elem.insert(0, properties._elem)  # the schema puts properties first
    xml = JUnitXml()
    xml.add_testsuite(suite)
    return xml


def load_summary(result_dir: Path) -> dict[str, Any]:
    path = Path(result_dir) / "summary.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(Problem(str(path), None, None, "", "no summary.json here",
                                 "pass a directory written by 'ha-tests run'")) from None
    except json.JSONDecodeError as exc:
        raise InputError(Problem(str(path), exc.lineno, exc.colno, "", "summary.json is not "
                                 "valid JSON (an interrupted write?)")) from None


def summary_rows(summaries: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for summary in summaries:
        outage, detection = "-", "-"
        worst_outage = None
        for monitor in summary.get("monitors", {}).values():
            if not monitor.get("gate"):
                continue
            for iteration in monitor["iterations"]:
                metrics = iteration["metrics"]
                if metrics.get("sample_count") and outage == "-":
                    outage = NOT_SEEN
                longest = metrics.get("longest_outage")
                if longest and (worst_outage is None or longest["hi"] > worst_outage["hi"]):
                    worst_outage = longest
                    detection = _bounded_text(metrics.get("detection_time"))
        if worst_outage:
            outage = _bounded_text(worst_outage)
        recovery, _ = _headline(summary)
        rows.append([summary["scenario"], summary["gap"],
                     ",".join(sorted({n for v in summary.get("targets", {}).values()
                                      for n in v})) or "-",
                     outage, detection, recovery or "-", _availability_text(summary),
                     degradation_text(summary), headline_text(summary),
                     summary["status"].upper()])
    return rows


def worst_availability(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The lowest availability (by its lower bound) among gated monitors' iterations."""
    worst = None
    for monitor in summary.get("monitors", {}).values():
        if not monitor.get("gate"):
            continue
        for iteration in monitor["iterations"]:
            value = iteration["metrics"].get("availability")
            if value and value.get("lo") is not None and (worst is None
                                                          or value["lo"] < worst["lo"]):
                worst = value
    return worst


def _availability_text(summary: dict[str, Any]) -> str:
    worst = worst_availability(summary)
    if not worst:
        return "-"
    return f"{100 * worst['value']:.2f} % ± {100 * (worst['error'] or 0):.2f}"


TABLE_HEADER = ["scenario", "gap", "target", "outage", "detection", "recovery", "availability",
                "degradation", "headline", "verdict"]


def degradation_text(summary: dict[str, Any]) -> str:
    """The gated monitors' worst latency degradation (by its upper bound), as a percentage
    with its interval: ``+35 % (+10..+80)``; "-" where no monitor has enough samples."""
    worst = None
    for monitor in summary.get("monitors", {}).values():
        if not monitor.get("gate"):
            continue
        for iteration in monitor["iterations"]:
            value = iteration["metrics"].get("degradation")
            if value and value.get("hi") is not None and (worst is None
                                                          or value["hi"] > worst["hi"]):
                worst = value
    if not worst:
        return "-"
    return (f"{100 * worst['value']:+.0f} % ({100 * worst['lo']:+.0f}.."
            f"{100 * worst['hi']:+.0f})")
GAP_ORDER = ["gap-1", "gap-2", "gap-3", "gap-4", "gap-5", "gap-6", "classic"]


def gap_table(summaries: list[dict[str, Any]]) -> list[list[str]]:
    """Rows grouped by gap area, the worst recovery first within each, so it stands out."""
    keyed = []
    for summary, row in zip(summaries, summary_rows(summaries), strict=True):
        _, worst = _headline(summary)
        gap = summary["gap"]
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


def format_summary(summary: dict[str, Any]) -> str:
    """`ha-tests show`: the scenario, then a row per monitor and iteration."""
    summary = mask(summary)
    out = [f"{summary['scenario']} ({summary['gap']}): {summary['status'].upper()}"]
    if summary.get("error"):
        out.append(f"  error: {summary['error']}")
    if summary.get("skip_reason"):
        out.append(f"  skipped: {summary['skip_reason']}")
    if summary.get("targets"):
        out.append("  targets: " + "; ".join(f"{k}={','.join(v)}"
                                              for k, v in summary["targets"].items()))
    for item in summary.get("headline") or []:
        out.append(f"  {summary['gap']} (iter {item['iteration']}): {item['verdict']}")
    header = ["monitor", "iter", "outages", "longest outage", "detection", "recovery",
              "availability", "errors", "sla"]
    rows = []
    for name, monitor in summary.get("monitors", {}).items():
        for iteration in monitor["iterations"]:
            m = iteration["metrics"]
            avail = m.get("availability")
            verdicts = iteration.get("verdicts") or []
            sla = ("-" if not monitor.get("gate") else
                   "pass" if all(v["pass"] for v in verdicts) else "FAIL")
            rows.append([name, str(iteration["iteration"]), str(m.get("outage_count", 0)),
                         _bounded_text(m.get("longest_outage")),
                         _bounded_text(m.get("detection_time")),
                         _bounded_text(m.get("recovery_time")),
                         f"{avail['lo']:.4f}" if avail else "-", str(m.get("error_count", 0)),
                         sla])
    if rows:
        out.append(format_table(rows, header))
    for name, monitor in summary.get("monitors", {}).items():
        for iteration in monitor["iterations"]:
            for reason, count in (iteration.get("failures") or {}).items():
                out.append(f"  {name} (iter {iteration['iteration']}): {count} failed: "
                           f"{reason}")
    for failure in summary.get("sla_failures", []):
        out.append(f"  SLA: {failure}")
    for entry in summary.get("rollback", []):
        if not entry.get("ok"):
            out.append(f"  ROLLBACK FAILED: {entry['attacker']}: {entry.get('error')}")
    return "\n".join(out)

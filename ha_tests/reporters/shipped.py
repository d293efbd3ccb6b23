"""The reporters ha-tests ships: the gap-area CSV, the HTML report, JUnit, yardstick.out."""

from __future__ import annotations

import sys
from pathlib import Path

from ha_tests.reporters import Reporter, RunOutputs


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


class GapTableCsv(Reporter):
    """``<stem>-gap-table.csv``: one row per scenario, the table of docs/reports.rst."""

    order = 10

    def write(self, run: RunOutputs) -> dict[str, Path]:
        from ha_tests.results import gap_table, write_csv

        if not run.summaries:
            return {}
        run.results.mkdir(parents=True, exist_ok=True)
        path = run.results / f"{run.stem}-gap-table.csv"
        write_csv(path, gap_table([*run.summaries, *([run.gate_row] if run.gate_row else [])]))
        run.say(f"gap-area table: {path}")
        return {"csv": path}


class HtmlReport(Reporter):
    """``<stem>-report.html`` (and PNG timelines when asked). A report that cannot be made is
    said loudly but never changes the run's verdict or exit code."""

    order = 20

    def write(self, run: RunOutputs) -> dict[str, Path]:
        from ha_tests.report import build_report

        dirs = [d for d in run.result_dirs if (Path(d) / "summary.json").is_file()]
        if not run.summaries or not dirs:
            return {}
        path = run.results / f"{run.stem}-report.html"
        try:
            build_report(dirs, path, gate=run.gate.lines() if run.gate else None)
            run.say(f"report: {path}")
            if run.policy.png:
                from ha_tests.report.png import PngUnavailable, export_pngs
                from ha_tests.report.records import load_runs
                try:
                    for png_file in export_pngs(load_runs(dirs)):
                        run.say(f"timeline: {png_file}")
                except PngUnavailable as exc:
                    _stderr(f"warning: no PNG timelines: {exc}")
        except Exception as exc:  # noqa: BLE001 - the run's results are on disk already
            _stderr(f"warning: the HTML report could not be written ({exc}); rebuild it "
                    f"with 'ha-tests report {' '.join(map(str, dirs))}'")
            return {}
        return {"html": path}


class JunitReport(Reporter):
    """The door's ``--junit FILE``: one test case per scenario, then the gate's own
    ``ha_tests.gate.measured`` (how many were measured, why the others were not); a gate's
    gap-6 row as the suite's properties."""

    order = 30

    def write(self, run: RunOutputs) -> dict[str, Path]:
        from ha_tests.results import junit_suite, measured_case

        if run.policy.junit is None:
            return {}
        path = Path(run.policy.junit)
        path.parent.mkdir(parents=True, exist_ok=True)
        gate = run.gate
        extra = [measured_case(gate.text(), gate.enough, gate.verdict())] if gate else None
        junit_suite(run.summaries, name=run.policy.junit_name, extra=extra,
                    gate=run.gate_row).write(
            str(path), pretty=True)
        return {"junit": path}


class YardstickOut(Reporter):
    """``yardstick.out`` for Yardstick test cases, as Yardstick's own file dispatcher."""

    order = 40

    def write(self, run: RunOutputs) -> dict[str, Path]:
        if not run.cases:
            return {}
        from ha_tests.yardstick.output import write_yardstick_out, yardstick_record

        path = Path(run.policy.yardstick_out or run.results / "yardstick.out")
        write_yardstick_out(path, yardstick_record(run.cases))
        run.say(f"yardstick output: {path}")
        return {"yardstick": path}

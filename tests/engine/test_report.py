"""Reports from real runs of the local target: the figures say what summary.json says, the
page renders in a real headless Chromium without console errors, compare finds a real
regression, PNGs are real images, and the doors name them as JUnit attachments."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from ha_tests.analysis import iteration_boundaries
from ha_tests.events import read_events
from ha_tests.report import build_report
from ha_tests.report.history import compare, format_changes
from ha_tests.report.records import find_result_dirs, load_run, load_runs
from ha_tests.report.timeline import timeline_figure
from ha_tests.runner import ScenarioRunner
from ha_tests.scenario import load_scenario

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not "
                                    "installed (./bootstrap.sh installs it)")
SLA = "max_outage: 30, max_recovery: 20"


def run(scenario_path, inventory, results):
    return ScenarioRunner(load_scenario(scenario_path), inventory, results).run()


@pytest.fixture
def one_run(web, inventory, scenario_file, tmp_path):
    outcome = run(scenario_file(sla=SLA), inventory, tmp_path / "results")
    assert outcome.status == "pass", outcome.result
    return outcome


def shapes(figure, name):
    return [s for s in figure.layout.shapes if s.name == name]


def test_timeline_draws_the_outages_and_markers_summary_json_gives(one_run):
    record = load_run(one_run.result_dir)
    [view] = record.iterations()
    figure = timeline_figure(record, view)
    metrics = one_run.result.monitors["web"].iterations[0].metrics
    assert metrics.outages, "the kill should have made an outage"
    for n, outage in enumerate(metrics.outages):
        [band] = shapes(figure, f"outage:web:{n}")
        assert band.x0 == pytest.approx(outage.begin.value - view.t0)
        assert band.x1 == pytest.approx(outage.end.value - view.t0)
        [begin] = shapes(figure, f"bound:web:{n}:begin")
        assert (begin.x0, begin.x1) == pytest.approx(
            (outage.begin.lo - view.t0, outage.begin.hi - view.t0))
    [recovered] = shapes(figure, "recovery_time:web")
    assert recovered.x0 == pytest.approx(metrics.recovery_time.value)
    [sla_line] = shapes(figure, "sla:web")
    assert sla_line.x0 == 20
    faults = shapes(figure, "fault")
    assert len(faults) == 2  # shaded on both monitors' rows
    # the band and the numbers share their boundaries: the fault ends where recovery after
    # rollback starts counting (every fault rolled back and verified), and the window the
    # metrics measure is the one drawn
    events = read_events(one_run.result_dir / "events.jsonl")
    rolled_back = [e for e in events if e.get("action") == "rolled-back"][0]
    [bounds] = iteration_boundaries(events)
    fault_end = bounds.rollback_done - view.t0
    assert fault_end >= rolled_back["mono"] - view.t0
    assert all(f.x0 == 0 and f.x1 == pytest.approx(fault_end, abs=1e-9) for f in faults)
    assert metrics.recovery_after_rollback.hi == pytest.approx(
        max(0.0, metrics.recovery_time.hi - fault_end), abs=1e-9)
    assert view.window_end == pytest.approx(metrics.window, abs=1e-9)
    # every sample of the stream is drawn, each in its status's trace
    samples = [e for e in read_events(one_run.result_dir / "events.jsonl")
               if e["kind"] == "sample" and e["monitor"] == "web"]
    drawn = sum(len(t.x) for t in figure.data
                if t.name.startswith("web: ") and not t.name.endswith("latency"))
    assert drawn == len(samples)
    failed = [t for t in figure.data if t.name in ("web: fail", "web: timeout", "web: error")]
    assert failed and sum(len(t.x) for t in failed) == metrics.error_count


def test_attack_events_beside_the_plot_name_the_killed_pids(one_run, web):
    from ha_tests.report.timeline import attack_rows

    [view] = load_run(one_run.result_dir).iterations()
    injected = next(e for e in view.attacks if e.get("action") == "injected")
    killed = injected["detail"]["pids"]["local"]
    text = " ".join(row[2] for row in attack_rows(view))
    assert all(str(pid) in text for pid in killed)


def chromium_dump(page: Path, tmp_path: Path) -> tuple[str, str]:
    """The DOM after scripts ran, and what Chromium logged (console messages included)."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def console_errors(log: str) -> list[str]:
    return [line for line in log.splitlines()
            if "CONSOLE" in line and ("Uncaught" in line or "ERROR" in line.upper()
                                      or "Error" in line)]


@needs_chromium
def test_run_writes_a_self_contained_report_that_renders_without_errors(
        web, inventory_file, scenario_file, tmp_path):
    results = tmp_path / "results"
    done = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run", "-q", "-i",
                           str(inventory_file), "-r", str(results), str(scenario_file(sla=SLA))],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [page] = results.glob("*-report.html")
    assert f"report: {page}" in done.stderr
    html = page.read_text()
    assert "<script src" not in html and "<link" not in html  # assets inlined, nothing fetched
    dom, log = chromium_dump(page, tmp_path)
    assert console_errors(log) == [], console_errors(log)
    assert dom.count('class="plotly-graph-div js-plotly-plot"') == 1
    assert dom.count('class="main-svg"') >= 2  # plotly drew the timeline
    assert dom.count('class="point"') >= 10  # sample markers are in the SVG
    assert "kill-web" in dom and "Gap areas" in dom and "Attack events" in dom

    # the check can fail: a page with a broken script is caught
    broken = tmp_path / "broken.html"
    broken.write_text(html.replace("</body>", "<script>undefinedFunction()</script></body>"))
    assert console_errors(chromium_dump(broken, tmp_path)[1])


def test_compare_finds_a_real_regression(web, inventory, scenario_file, tmp_path):
    fast = run(scenario_file(sla=SLA), inventory, tmp_path / "before")
    slow = run(scenario_file(sla=SLA, hold=2.0), inventory, tmp_path / "after")
    assert fast.status == slow.status == "pass"
    changes = {c.measure: c for c in compare(load_runs([tmp_path / "before"]),
                                            load_runs([tmp_path / "after"]))}
    # the process monitor's outage grew by the 2 s hold: beyond both bounds
    # (gated monitors decide; here the TCP one is gated and saw the same outage)
    recovery = changes["recovery_time"]
    assert recovery.verdict == "worse", format_changes(list(changes.values()))
    assert recovery.delta > 1.0
    out = subprocess.run([sys.executable, "-m", "ha_tests.cli", "report", "--compare",
                          str(tmp_path / "before"), str(tmp_path / "after"),
                          "-o", str(tmp_path / "cmp.html")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "WORSE" in out.stdout and "recovery_time" in out.stdout
    assert "id='compare'" in (tmp_path / "cmp.html").read_text()


def test_history_of_several_runs_draws_a_trend(web, inventory, scenario_file, tmp_path):
    for _ in range(2):
        run(scenario_file(sla=SLA), inventory, tmp_path / "results")
    page = build_report([tmp_path / "results"], tmp_path / "report.html")
    text = page.read_text()
    assert "id='history'" in text and "recovery time across runs" in text


@needs_chromium
def test_png_timelines_are_real_images_and_pytest_attaches_them(one_run, tmp_path):
    from ha_tests.report.png import export_pngs

    [png] = export_pngs([load_run(one_run.result_dir)])
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1100 and height > 300


def test_bad_report_input_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = subprocess.run([sys.executable, "-m", "ha_tests.cli", "report", str(empty)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert str(empty) in out.stderr and "no results" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_torn_history_still_reports(one_run, tmp_path):
    """A runner killed mid-write leaves a torn last line: the report shows what is there."""
    events = one_run.result_dir / "events.jsonl"
    events.write_text(events.read_text() + '{"seq": 999, "kind": "sam')
    assert find_result_dirs([one_run.result_dir.parent]) == [one_run.result_dir.resolve()]
    page = build_report([one_run.result_dir], tmp_path / "r.html")
    assert "kill-web" in page.read_text()
    assert json.loads((one_run.result_dir / "summary.json").read_text())["status"] == "pass"

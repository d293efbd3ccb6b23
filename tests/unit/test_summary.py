"""summary.json is typed and versioned: written through RunSummary, read back through it,
and a file this version cannot read is refused with the fix."""

from __future__ import annotations

import json

import pytest

from ha_tests.analysis import analyze
from ha_tests.errors import InputError
from ha_tests.results import TABLE_HEADER, format_summary, junit_suite, load_summary, summary_rows
from ha_tests.summary import SCHEMA_VERSION, Interval, RunSummary, Status


def write_history(directory, *, max_outage: float, slower: float = 1.0) -> None:
    """A run's events: one gated monitor down from 10.1 to 10.9 s, an SLA on the outage."""
    events = [{"kind": "run-start", "mono": 0.0, "wall": 1.0e9, "scenario": "s",
               "gap": "gap-2", "tags": ["x"], "seed": 5, "version": "1",
               "timing": {"recovered_after": 2},
               "monitors": [{"name": "api", "type": "http", "gate": True,
                             "sla": {"max_outage": max_outage}, "interval": 0.1}]},
              {"kind": "targets", "mono": 1.0, "wall": 1.0e9, "targets": {"v": ["ctl1"]}},
              {"kind": "phase", "phase": "baseline", "iteration": 0, "mono": 9.0},
              {"kind": "phase", "phase": "inject", "iteration": 0, "mono": 10.0}]
    events += [{"kind": "sample", "monitor": "api", "iteration": 0, "start": 9.0 + 0.1 * k,
                "end": 9.05 + 0.1 * k, "ok": not 10.1 <= 9.0 + 0.1 * k < 10.85,
                "status": "fail" if 10.1 <= 9.0 + 0.1 * k < 10.85 else "ok",
                "detail": {"error": "HTTP 503"}, "mono": 9.05 + 0.1 * k,
                "latency": 0.01 * (slower if k >= 10 else 1.0) * (1 + k % 3 / 100)}
               for k in range(50)]
    events += [{"kind": "phase", "phase": "rollback", "iteration": 0, "mono": 10.5},
               {"kind": "phase", "phase": "rolled-back", "iteration": 0, "mono": 10.6},
               {"kind": "phase", "phase": "window-end", "iteration": 0, "mono": 14.0},
               {"kind": "run-end", "mono": 15.0, "wall": 1.0e9 + 15, "status": "pass"}]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_the_written_summary_is_versioned_and_reads_back_typed(tmp_path):
    write_history(tmp_path, max_outage=0.1)
    written = analyze(tmp_path)
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["status"] == "fail"
    assert data["monitors"]["api"]["iterations"][0]["verdicts"][0]["pass"] is False

    run = load_summary(tmp_path)
    assert run == written and run.status is Status.FAIL
    [verdict] = run.monitors["api"].iterations[0].verdicts
    assert verdict.limit == "max_outage" and verdict.passed is False
    assert run.sla_failures == [f"api: {verdict.message}"]
    assert isinstance(run.worst("longest_outage"), Interval)
    assert run.monitors["api"].iterations[0].failures == {"HTTP N": 8}
    assert "SLA: api: longest outage" in format_summary(run)
    assert "<failure" in junit_suite([run]).tostring().decode()


def test_latency_degradation_and_the_headline_are_typed_fields_the_table_shows(tmp_path):
    write_history(tmp_path, max_outage=30, slower=2.0)  # twice the baseline's latency
    analyze(tmp_path)
    run = load_summary(tmp_path)
    degradation = run.monitors["api"].iterations[0].metrics.degradation
    assert isinstance(degradation, Interval) and degradation.value == pytest.approx(1.0, 0.05)
    [row] = summary_rows([run])
    assert row[TABLE_HEADER.index("degradation")].startswith("+100 %")
    [found] = run.headline  # gap-2 without a host-status monitor: the worst outage
    assert found.kind == "worst-outage" and row[TABLE_HEADER.index("headline")] == found.figure
    assert found.figure.startswith("outage 0.") and found.figure.endswith("(api)")


def test_a_skipped_scenario_has_the_shape_of_any_other_summary(tmp_path):
    write_history(tmp_path, max_outage=30)
    ran = analyze(tmp_path).to_json()
    skipped = RunSummary.skipped("s", "gap-2", "over the time budget").to_json()
    assert set(skipped) == set(ran) and skipped["status"] == "skipped"
    assert ran["status"] == "pass" and ran["sla_failures"] == []


def test_a_summary_of_another_schema_version_is_refused_with_the_fix(tmp_path):
    write_history(tmp_path, max_outage=30)
    analyze(tmp_path)
    path = tmp_path / "summary.json"
    path.write_text(path.read_text().replace(f'"schema_version": {SCHEMA_VERSION}',
                                             '"schema_version": 99'))
    with pytest.raises(InputError) as error:
        load_summary(tmp_path)
    said = str(error.value)
    assert str(path) in said and "schema version 99" in said
    assert f"ha-tests analyze {tmp_path}" in said
    analyze(tmp_path)  # the fix it names works (and the session's closing check agrees)
    assert load_summary(tmp_path).schema_version == SCHEMA_VERSION


def test_a_summary_with_a_wrong_field_names_the_field_and_the_file(tmp_path):
    write_history(tmp_path, max_outage=30)
    analyze(tmp_path)
    path = tmp_path / "summary.json"
    data = json.loads(path.read_text())
    data["status"] = "passed"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as error:
        load_summary(tmp_path)
    assert str(path) in str(error.value) and "status" in str(error.value)
    analyze(tmp_path)  # the fix it names works (and the session's closing check agrees)
    assert load_summary(tmp_path).status is Status.PASS

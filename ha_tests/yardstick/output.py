"""Yardstick's output record (``yardstick.out``), filled from ha-tests' summaries, honestly.

The shape is Yardstick's own, so its dashboards and scripts keep reading it::

    {"status": 1, "result": {"criteria": "PASS", "task_id": ..., "info": {...},
      "testcases": {"opnfv_yardstick_tc046": {"criteria": "PASS", "tc_data": [
        {"timestamp": ..., "sequence": 1, "errors": "",
         "data": {"sla_pass": 1, "openstack-user-list_outage_time": 0.0, ...}}]}}}}

Per monitor tag, Yardstick's keys keep Yardstick's meaning (``<tag>_outage_time`` is still
last failed probe's end minus first failed probe's start, so old and new runs compare); the
honest figures sit beside them with their error bars (``<tag>_longest_outage``,
``<tag>_recovery_time``, ``..._error``) and in ``data["ha_tests"]``. Unlike Yardstick under
``sla.action: monitor``, a broken limit makes the test case FAIL, never PASS with sla_pass 0.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ha_tests.masking import mask
from ha_tests.summary import Metrics, RunSummary, Status

#: statuses that leave the test case passing (skipped = not applicable to this cloud)
PASSING = {Status.PASS, Status.SKIPPED}


@dataclass
class CaseResult:
    """One Yardstick scenario's run: its summary and the monitors that did not apply."""

    test_case: str
    scenario: str
    tags: dict[str, str]
    summary: RunSummary | None
    not_applicable: dict[str, str] = field(default_factory=dict)
    result_dir: str | None = None
    #: why the whole scenario did not run (precondition, nothing applicable)
    skipped: str | None = None

    @property
    def status(self) -> Status:
        return Status.SKIPPED if self.summary is None else self.summary.status


def _monitor_fields(tag: str, metrics: Metrics) -> dict[str, Any]:
    """Yardstick's ``<tag>_*`` keys, then the honest ones beside them."""
    fields: dict[str, Any] = {
        f"{tag}_outage_time": metrics.yardstick_outage,
        f"{tag}_total_time": metrics.window,
        f"{tag}_total_count": metrics.sample_count,
        f"{tag}_outage_count": metrics.error_count,
    }
    for name in ("longest_outage", "total_downtime", "detection_time", "recovery_time"):
        bounded = getattr(metrics, name)
        if bounded is not None:
            fields[f"{tag}_{name}"] = bounded.value
            fields[f"{tag}_{name}_error"] = bounded.error
    if metrics.availability is not None:
        fields[f"{tag}_availability"] = metrics.availability.lo
    return fields


def case_records(result: CaseResult) -> list[dict[str, Any]]:
    """tc_data records for one scenario: one per iteration, as Yardstick's runner writes."""
    summary = result.summary
    finished = time.time()
    monitors = summary.monitors if summary else {}
    iterations = max((len(m.iterations) for m in monitors.values()), default=0)
    status = result.status
    sla_failures = summary.sla_failures if summary else []
    errors = ""
    if status not in PASSING:
        errors = "; ".join(sla_failures) or str((summary and summary.error) or status)
    honest: dict[str, Any] = {
        "status": str(status),
        "scenario": result.scenario,
        "result_dir": result.result_dir,
        "not_applicable": {result.tags.get(n, n): why
                           for n, why in result.not_applicable.items()},
        "sla_failures": sla_failures,
        "rollback_ok": all(r.ok for r in summary.rollback) if summary else True,
    }
    if result.skipped:
        honest["skipped"] = result.skipped
    elif summary and summary.skip_reason:
        honest["skipped"] = summary.skip_reason
    records = []
    for index in range(max(iterations, 1)):
        data: dict[str, Any] = {"sla_pass": 1 if status is Status.PASS else 0}
        verdicts: dict[str, Any] = {}
        for name, monitor in monitors.items():
            tag = result.tags.get(name, name)
            runs = monitor.iterations
            if index >= len(runs):
                continue
            data.update(_monitor_fields(tag, runs[index].metrics))
            verdicts[tag] = [v.model_dump(mode="json", by_alias=True)
                             for v in runs[index].verdicts]
        data["ha_tests"] = {**honest, "iteration": index, "verdicts": verdicts}
        records.append({"timestamp": finished, "sequence": index + 1, "data": data,
                        "errors": errors})
    return records


def testcase_criteria(results: list[CaseResult]) -> str:
    if all(r.status == "skipped" for r in results):
        return "SKIP"
    return "PASS" if all(r.status in PASSING for r in results) else "FAIL"


def yardstick_record(results: list[CaseResult], task_id: str | None = None,
                     environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The whole ``yardstick.out`` document for the test cases run."""
    environ = dict(os.environ) if environ is None else environ
    testcases: dict[str, dict[str, Any]] = {}
    grouped: dict[str, list[CaseResult]] = {}
    for result in results:
        grouped.setdefault(result.test_case, []).append(result)
    for test_case, group in grouped.items():
        testcases[test_case] = {
            "criteria": testcase_criteria(group),
            "tc_data": [record for result in group for record in case_records(result)],
        }
    criteria = "FAIL" if any(t["criteria"] == "FAIL" for t in testcases.values()) else "PASS"
    return {
        "status": 1,
        "result": {
            "criteria": criteria,
            "task_id": task_id or str(uuid.uuid4()),
            "info": {
                "deploy_scenario": environ.get("DEPLOY_SCENARIO", "unknown"),
                "installer": environ.get("INSTALLER_TYPE", "unknown"),
                "pod_name": environ.get("NODE_NAME", "unknown"),
                "version": environ.get("YARDSTICK_BRANCH", "unknown"),
                "runner": "ha-tests",
            },
            "testcases": testcases,
        },
    }


def write_yardstick_out(path: str | Path, record: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(mask(record), indent=2, default=str) + "\n")
    return path

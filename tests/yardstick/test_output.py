"""Yardstick's yardstick.out shape, with an honest verdict and not-applicable monitors."""

from __future__ import annotations

import json

from ha_tests.summary import RunSummary
from ha_tests.yardstick.output import CaseResult, write_yardstick_out, yardstick_record


def bounded(value, error=0.1):
    return {"value": value, "lo": value - error, "hi": value + error, "error": error}


def summary(status="pass", outage=1.2):
    metrics = {"outage_count": 1, "outages": [], "total_downtime": bounded(outage),
               "longest_outage": bounded(outage), "detection_time": bounded(0.3),
               "recovery_time": bounded(outage + 0.3), "recovered": True,
               "availability": bounded(0.9, 0.01), "error_count": 4, "sample_count": 40,
               "yardstick_outage": outage + 0.4, "window": 30.0}
    failures = [] if status == "pass" else ["openstack-user-list: longest outage over by 1 s"]
    return RunSummary.model_validate({
        "scenario": "opnfv_yardstick_tc046", "gap": "classic", "status": status, "error": None,
        "sla_failures": failures,
        "rollback": [{"attacker": "kill-keystone", "final": True, "ok": True}],
        "monitors": {"openstack-user-list": {"type": "openstack-cmd", "gate": True,
                                             "iterations": [{"iteration": 0, "metrics": metrics,
                                                             "verdicts": []}]}}})


TAGS = {"openstack-user-list": "openstack-user-list"}


def test_record_has_yardsticks_shape():
    record = yardstick_record([CaseResult("opnfv_yardstick_tc046", "opnfv_yardstick_tc046",
                                          TAGS, summary())], task_id="t-1", environ={})
    assert record["status"] == 1
    result = record["result"]
    assert result["criteria"] == "PASS" and result["task_id"] == "t-1"
    assert set(result["info"]) >= {"deploy_scenario", "installer", "pod_name", "version"}
    case = result["testcases"]["opnfv_yardstick_tc046"]
    assert case["criteria"] == "PASS"
    (record0,) = case["tc_data"]
    assert set(record0) == {"timestamp", "sequence", "data", "errors"}
    data = record0["data"]
    assert data["sla_pass"] == 1
    assert data["openstack-user-list_outage_time"] == 1.6     # Yardstick's own formula
    assert data["openstack-user-list_outage_count"] == 4
    assert data["openstack-user-list_total_count"] == 40
    assert data["openstack-user-list_longest_outage"] == 1.2  # the honest figure, beside it
    assert data["openstack-user-list_longest_outage_error"] == 0.1
    json.dumps(record)


def test_a_broken_limit_fails_even_where_yardstick_said_pass():
    record = yardstick_record([CaseResult("tc", "tc", TAGS, summary("fail"))], environ={})
    case = record["result"]["testcases"]["tc"]
    assert record["result"]["criteria"] == "FAIL" and case["criteria"] == "FAIL"
    assert case["tc_data"][0]["data"]["sla_pass"] == 0
    assert "over by" in case["tc_data"][0]["errors"]


def test_not_applicable_monitors_are_reported_not_passed():
    result = CaseResult("tc", "tc", {"list-images": "list-images", **TAGS}, summary(),
                        not_applicable={"list-images": "the cloud's catalog has no image "
                                                       "service"})
    data = yardstick_record([result], environ={})["result"]["testcases"]["tc"]["tc_data"][0][
        "data"]
    assert data["ha_tests"]["not_applicable"] == {
        "list-images": "the cloud's catalog has no image service"}
    assert "list-images_outage_time" not in data


def test_a_skipped_case_is_not_a_pass():
    result = CaseResult("tc", "tc", TAGS, None, skipped="no monitor applies")
    record = yardstick_record([result], environ={})
    assert record["result"]["testcases"]["tc"]["criteria"] == "SKIP"
    assert record["result"]["testcases"]["tc"]["tc_data"][0]["data"]["sla_pass"] == 0


def test_written_as_json(tmp_path):
    path = write_yardstick_out(tmp_path / "out" / "yardstick.out",
                               yardstick_record([], environ={}))
    assert json.loads(path.read_text())["result"]["criteria"] == "PASS"

"""Monitors for services the cloud lacks are not applicable: left out and reported."""

from __future__ import annotations

from ha_tests.yardstick import load_cases
from ha_tests.yardstick.run import not_applicable, run_case, without_monitors


def tc053(testcase, pod):
    (case,) = load_cases(testcase("opnfv_yardstick_tc053"), pod("fuel_virtual_pod.yaml")).cases
    return case


def test_image_monitor_does_not_apply_to_an_identity_only_cloud(testcase, pod):
    case = tc053(testcase, pod)
    assert not_applicable(case.mapped, {"identity"}) == {
        "list-images": "the cloud's catalog has no image service"}
    assert not_applicable(case.mapped, {"identity", "image"}) == {}
    assert not_applicable(case.mapped, None) == {}  # catalog unknown: decide nothing


def test_volume_needs_any_block_storage_name(testcase, pod):
    (case,) = load_cases(testcase("opnfv_yardstick_tc048"), pod("fuel_virtual_pod.yaml")).cases
    assert not_applicable(case.mapped, {"volumev3"}) == {}


def test_the_rest_of_the_scenario_still_runs(testcase, pod):
    case = tc053(testcase, pod)
    scenario = without_monitors(case.mapped, {"list-images"}, case.file)
    assert [m.name for m in scenario.monitors] == ["service-status"]
    assert [a.name for a in scenario.attackers] == ["kill-process"]
    assert case.mapped.native["monitors"][1]["name"] == "list-images"  # original untouched


def test_nothing_left_to_measure_still_runs_the_fault_and_judges_nothing(testcase, pod):
    """No monitor of the case applies: the fault still runs (and is rolled back and
    verified), observed by non-gated ground truth; the missing monitors stay not applicable."""
    from ha_tests.yardstick.run import without_monitors

    case = tc053(testcase, pod)
    scenario = without_monitors(case.mapped, {"list-images", "service-status"}, case.file)
    assert scenario is not None and scenario.attackers
    assert [m.type for m in scenario.monitors] == ["host-status"]
    assert not any(m.spec.gate for m in scenario.monitors)


def test_killing_a_service_the_cloud_lacks_is_not_applicable(testcase, pod, tmp_path):
    (case,) = load_cases(testcase("opnfv_yardstick_tc019"), pod("fuel_virtual_pod.yaml")).cases
    assert case.mapped.attack_needs == {"kill-nova-api": "compute"}
    result = run_case(case, None, tmp_path, available={"identity"})
    assert result.status == "skipped"
    assert "fault does not apply" in result.skipped
    assert result.not_applicable["kill-nova-api"] == "the cloud's catalog has no compute service"
    assert "openstack-server-list" in result.not_applicable

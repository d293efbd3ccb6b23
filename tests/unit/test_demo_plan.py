"""The main job's plan: the lab the machine can hold, the scenarios, the time it will take."""

from __future__ import annotations

from pathlib import Path

from ha_tests import demo, estimate
from ha_tests.scenario import load_scenario

SHIPPED = sorted((Path(__file__).parents[2] / "scenarios").glob("*.yaml"))


def test_the_full_lab_when_the_memory_is_there():
    assert demo.choose_lab(16.0, None).profile == "full"


def test_too_little_memory_falls_back_and_says_what_is_left_out_and_why():
    choice = demo.choose_lab(3.2, None)
    assert choice.profile == "identity"
    assert "3.2 GiB of memory available, the full lab needs 6 GiB" in choice.why
    assert "gap-1, gap-2, gap-4 and gap-5 are left out" in choice.why


def test_missing_openstack_packages_fall_back_with_the_fix():
    choice = demo.choose_lab(16.0, "nova, cinder")
    assert choice.profile == "identity" and "pip install -e '.[lab]'" in choice.why


def test_available_memory_is_read_from_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:    8388608 kB\n")
    assert demo.available_gib(meminfo) == 8.0
    assert demo.available_gib(tmp_path / "none") is None


def test_quick_runs_one_scenario_per_gap_area():
    scenarios = [load_scenario(p) for p in SHIPPED]
    quick = demo.quick_selection(scenarios)
    assert sorted(s.gap for s in quick) == ["classic", "gap-1", "gap-2", "gap-3", "gap-4",
                                            "gap-5"]


def test_the_estimate_counts_down_as_scenarios_run():
    scenarios = [load_scenario(p) for p in SHIPPED
                 if p.stem in ("gap2-host-vs-service", "kill-keystone", "kill-nova-api")]
    countdown = estimate.Countdown(scenarios, skipped=frozenset({"kill-nova-api"}))
    # gap2-host-vs-service: 5 s baseline + 160 s observed; kill-keystone: its own timing
    first = estimate.expected_seconds(scenarios[0])
    assert first == estimate.OVERHEAD_S + 5 + 160
    total = countdown.estimate
    assert countdown.next(scenarios[0]) == f"scenario 1 of 3, about {estimate.minutes(total)} left"
    assert countdown.estimate == total - first
    assert countdown.next(scenarios[1]).startswith("scenario 2 of 3, about ")

"""A monitor that cannot reach the cloud at preflight is asked again for a while: after
another scenario the cloud may still be settling (on the kolla lab, gap3-token-survival's
token monitor found the VIP failing back right after controller-nic-down had ended). A cloud
that stays away still fails the preflight, after the settle time, having attacked nothing."""

from __future__ import annotations

import textwrap
import threading

from fake_cloud import write_inventory

from ha_tests import runner as runner_module
from ha_tests.events import read_events
from ha_tests.inventory import load_inventory
from ha_tests.runner import ScenarioRunner
from ha_tests.scenario import load_scenario


def files(tmp_path, fake_cloud):
    inventory = write_inventory(tmp_path, fake_cloud)
    scenario = tmp_path / "settle.yaml"
    scenario.write_text(textwrap.dedent("""\
        name: settle
        description: the cloud answers only a few seconds after the run starts
        gap: classic
        monitors:
          - {type: api, name: tokens, service: identity, interval: 0.2, timeout: 2}
        timing: {baseline: 0.3, observe: 0.3}
        """))
    return load_inventory(inventory), load_scenario(scenario)


def kinds_of(outcome) -> list[dict]:
    return read_events(outcome.result_dir / "events.jsonl")


def test_a_cloud_back_within_the_settle_time_is_measured(fake_cloud, tmp_path):
    inventory, scenario = files(tmp_path, fake_cloud)
    fake_cloud.stop()
    back = threading.Timer(4.0, fake_cloud.start)
    back.start()
    try:
        outcome = ScenarioRunner(scenario, inventory, tmp_path / "results", seed=1).run()
    finally:
        back.join()
    retries = [e for e in kinds_of(outcome) if e["kind"] == "preflight-retry"]
    assert outcome.status == "pass", outcome.result.error
    assert retries and "cannot reach the identity API" in retries[0]["error"]


def test_a_cloud_that_stays_away_fails_the_preflight_after_the_settle_time(
        fake_cloud, tmp_path, monkeypatch):
    monkeypatch.setattr(runner_module, "SETTLE_TIMEOUT", 3.0)
    inventory, scenario = files(tmp_path, fake_cloud)
    fake_cloud.stop()
    outcome = ScenarioRunner(scenario, inventory, tmp_path / "results", seed=1).run()
    assert outcome.status == "preflight-failed"
    assert "cannot reach the identity API" in outcome.result.error
    events = kinds_of(outcome)
    assert [e for e in events if e["kind"] == "preflight-retry"]
    assert not [e for e in events if e["kind"] == "attack"]


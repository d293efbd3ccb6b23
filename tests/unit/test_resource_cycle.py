"""The create-wait-delete cycle of volume-cycle and server-cycle, on an in-memory cloud."""

from __future__ import annotations

import types

import pytest

from ha_tests.monitors import lifecycle
from ha_tests.monitors.lifecycle import ResourceCycleMonitor
from ha_tests.validation import StrictModel


class Params(StrictModel):
    cleanup_timeout: float = 2.0


class Thing(ResourceCycleMonitor):
    """Resources that become ready after ``polls`` fetches, or fail, as the test says."""
    Params = Params
    kind, ready, failed = "thing", "READY", "BROKEN"

    def setup(self):  # no cloud: the in-memory one
        import itertools
        self.conn = types.SimpleNamespace(close=lambda: None)
        self.secrets = []
        self.counter = itertools.count(1)
        self.leftovers = {}
        self.refused = set()
        self.store = {}
        self.outcome, self.polls, self.refuse_deletes = "READY", 1, 0
        self.prepare()

    def prepare(self):
        pass

    def create(self, name):
        ident = f"id-{len(self.store) + 1}"
        self.store[ident] = {"name": name, "status": "BUILDING", "left": self.polls}
        return types.SimpleNamespace(id=ident, status="BUILDING")

    def fetch(self, resource_id):
        item = self.store[resource_id]
        item["left"] -= 1
        if item["left"] <= 0:
            item["status"] = self.outcome
        return types.SimpleNamespace(id=resource_id, status=item["status"])

    def delete(self, resource_id):
        if self.refuse_deletes:
            self.refuse_deletes -= 1
            raise ConnectionError("the API is down")
        self.store.pop(resource_id, None)

    def facts(self, resource, took, ready):
        return {"seconds": round(took, 3) if ready else None}


@pytest.fixture
def monitor(monkeypatch):
    monkeypatch.setattr(lifecycle, "POLL", 0.001)
    made = Thing("things", Params(), [], ctx=None, timeout=0.5)
    made.setup()
    return made


def test_a_resource_that_becomes_ready_is_ok_and_deleted(monitor):
    result = monitor.probe()
    assert result.ok and result.detail["status"] == "READY"
    assert result.detail["thing"] == "ha-tests-things-1"
    assert monitor.store == {} and monitor.leftovers == {}


def test_a_failed_resource_is_not_ok_and_says_so(monitor):
    monitor.outcome = "BROKEN"
    result = monitor.probe()
    assert not result.ok and result.detail["error"].startswith("thing BROKEN after")


def test_one_still_building_at_the_deadline_is_not_ok(monitor):
    monitor.polls = 10 ** 9
    result = monitor.probe()
    assert not result.ok and result.detail["error"].startswith("still BUILDING after")


def test_a_delete_refused_during_the_fault_is_retried_at_teardown(monitor):
    monitor.refuse_deletes = 1
    result = monitor.probe()
    assert result.ok and "delete_error" in result.detail
    assert list(monitor.leftovers.values()) == ["ha-tests-things-1"]
    monitor.teardown()
    assert monitor.store == {} and monitor.leftovers == {}


def test_what_cannot_be_deleted_is_named_in_a_warning(monitor, caplog):
    monitor.refuse_deletes = 10 ** 6
    monitor.probe()
    monitor.teardown()
    assert "could not delete things ha-tests-things-1" in caplog.text


def test_a_leftover_is_deleted_by_a_later_probe_once_the_cloud_takes_it(monitor):
    """Left for teardown, volumes stuck while cinder-volume was down filled the quota and the
    cycle kept failing after the service was back (full lab, gap4-cinder-volume-ap)."""
    monitor.refuse_deletes = 1
    monitor.probe()
    assert list(monitor.leftovers.values()) == ["ha-tests-things-1"]
    monitor.probe()
    assert monitor.leftovers == {} and monitor.store == {}


def test_a_resource_another_probe_still_waits_on_is_left_alone(monitor):
    """Two probes in flight (max_in_flight): the second must not delete the first's volume
    while it is still being created (it did: 404s on the full lab's A/A cluster)."""
    waiting = monitor.create("ha-tests-things-0")
    monitor.leftovers[waiting.id] = "ha-tests-things-0"  # as the first probe records it
    assert monitor.probe().ok
    assert waiting.id in monitor.store

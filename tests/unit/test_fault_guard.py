"""One fault guard for the runner and ``ha-tests heal``: record, inject, update, roll back,
clear — each step checked on the ledger's real files."""

from __future__ import annotations

import json

import pytest

from ha_tests.attackers.base import Attacker, AttackerState, StateError
from ha_tests.errors import RollbackError, TransportError
from ha_tests.fault_guard import FaultGuard
from ha_tests.inventory import InventoryIdentity, Node
from ha_tests.ledger import Ledger

IDENTITY = InventoryIdentity("/nowhere/inventory.yaml", "f00d")
NODES = [Node(name="a", address="127.0.0.1"), Node(name="b", address="127.0.0.2")]


class StepsState(AttackerState):
    hit: list[str] = []


class Steps(Attacker):
    """A fault taken node by node, each node noted (and checkpointed) before it is hit."""

    State = StepsState

    def __init__(self, *args, lose_at: str | None = None, broken: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.hit: list[str] = []
        self.lose_at, self.broken = lose_at, broken
        self.seen_on_disk: list[dict] = []  # the entry as inject found it before each step
        self.entry = None
        self.healed: list[str] = []

    def inject(self):
        for node in self.nodes:
            self.hit.append(node.name)
            self.checkpoint()
            self.seen_on_disk.append(json.loads(self.entry().read_text())["state"])
            if node.name == self.lose_at:
                raise TransportError(f"{node.name}: connection lost")
        return {"hit": list(self.hit)}

    def rollback(self):
        self.healed += self.hit
        return {"undone": list(self.hit)}

    def verify(self):
        if self.broken:
            raise RollbackError(f"{self.name}: still broken on {', '.join(self.hit)}")


def guarded(tmp_path, **kwargs) -> tuple[Ledger, Steps, FaultGuard]:
    ledger = Ledger(tmp_path)
    attacker = Steps("steps", Steps.Params(), list(NODES), object(), **kwargs)
    guard = FaultGuard(ledger, attacker, plugin_type="steps", scenario="s", inventory=IDENTITY)
    attacker.entry = lambda: guard.path
    return ledger, attacker, guard


def test_the_entry_is_on_disk_before_inject_and_names_each_step_before_it_is_taken(tmp_path):
    ledger, attacker, guard = guarded(tmp_path, lose_at="b")
    guard.record()
    assert json.loads(guard.path.read_text())["state"] == {"hit": []}  # before the fault
    with pytest.raises(TransportError):
        guard.inject()
    assert attacker.seen_on_disk == [{"hit": ["a"]}, {"hit": ["a", "b"]}]
    [entry] = ledger.entries()
    assert entry.problem is None and entry.data["state"] == {"hit": ["a", "b"]}
    assert (entry.data["attacker"], entry.data["type"], entry.data["nodes"]) == \
        ("steps", "steps", ["a", "b"])


def test_a_rollback_keeps_the_entry_and_only_a_verified_final_heal_clears_it(tmp_path):
    ledger, attacker, guard = guarded(tmp_path)
    assert guard.inject() == {"hit": ["a", "b"]}
    done = guard.roll_back()
    assert (done.ok, done.detail, done.error) == (True, {"undone": ["a", "b"]}, None)
    assert len(ledger.entries()) == 1  # a later iteration injects it again
    guard.inject()
    assert len(ledger.entries()) == 1  # recorded once
    assert guard.roll_back(final=True).ok and ledger.entries() == []


def test_a_heal_that_does_not_verify_is_reported_and_the_entry_stays(tmp_path):
    ledger, attacker, guard = guarded(tmp_path, broken=True)
    guard.inject()
    done = guard.roll_back(final=True)
    assert not done.ok and done.error == "RollbackError: steps: still broken on a, b"
    assert len(ledger.entries()) == 1


def test_heal_rebuilds_the_fault_from_its_entry_and_clears_it_once_verified(tmp_path):
    ledger, _attacker, guard = guarded(tmp_path, lose_at="a")  # the runner died here
    with pytest.raises(TransportError):
        guard.inject()
    [entry] = ledger.entries()
    healer = Steps("steps", Steps.Params(), list(NODES), object())  # a new process
    rebuilt = FaultGuard.of_entry(ledger, entry, healer)
    assert healer.hit == ["a"]
    assert rebuilt.roll_back(final=True).ok and healer.healed == ["a"]
    assert ledger.entries() == []


def test_a_state_that_does_not_fit_is_refused_with_the_entry_to_look_at(tmp_path):
    ledger, _attacker, guard = guarded(tmp_path)
    guard.record()
    data = json.loads(guard.path.read_text())
    guard.path.write_text(json.dumps({**data, "state": {"hit": "a"}}))
    [entry] = ledger.entries()
    healer = Steps("steps", Steps.Params(), list(NODES), object())
    with pytest.raises(StateError) as refused:
        FaultGuard.of_entry(ledger, entry, healer)
    assert str(entry.path) in str(refused.value) and f"rm '{entry.path}'" in str(refused.value)
    assert healer.healed == [] and len(ledger.entries()) == 1

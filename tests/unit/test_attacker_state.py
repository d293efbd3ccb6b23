"""Each attacker's ledger state is a typed model, saved and restored by the attacker base.

The JSON an entry holds is the one older ha-tests wrote (each literal below is what that
attacker's hand-written ``ledger_state`` returned), so entries left before the change still
heal; a state that does not fit is refused by name, before anything is touched.
"""

from __future__ import annotations

import json

import pytest

from ha_tests import plugins
from ha_tests.attackers.base import AttackerState, StateError
from ha_tests.inventory import Node

PARAMS = {
    "block-nic": {"interface": "eth0"}, "netem": {"interface": "eth0", "loss_percent": 5},
    "disk-fill": {"dir": "/tmp", "mib": 1}, "io-stall": {"dir": "/tmp"},
    "memory-hog": {"mib": 1}, "kill-process": {"process": "x"},
    "freeze-process": {"process": "x"}, "partition": {"port": 9},
    "stop-service": {"service": "web"}, "restart-service": {"service": "web"},
}
#: the state each attacker wrote to the ledger before states were typed
WRITTEN_BEFORE = {
    "kill-process": {"killed": {"a": [101, 102], "b": []}},
    "freeze-process": {"ident": "0a1b2c3d", "frozen": {"a": [7]}},
    "cpu-hog": {"ident": "0a1b2c3d", "started": {"a": {"at": 1700000000.5, "pid": 9}}},
    "memory-hog": {"ident": "0a1b2c3d", "started": {"a": {"at": 1700000000.5}}},
    "disk-fill": {"ident": "0a1b2c3d", "started": {"a": {"at": 1.0, "file": "/tmp/x"}}},
    "io-stall": {"ident": "0a1b2c3d", "started": {}},
    "block-nic": {"ident": "0a1b2c3d", "done": {"a": {
        "interface": "eth0", "restore": ["4|route|default via 10.0.0.1"],
        "armed_wall": 1700000000.25, "duration": 30.0, "carries_ssh": True}}},
    "partition": {"ident": "0a1b2c3d", "armed": {"a": [1700000000.25, 30.0]}},
    "netem": {"ident": "0a1b2c3d", "handle": "1a2b", "done": {"a": {
        "interface": "eth0", "armed_wall": 1700000000.25, "duration": 30.0,
        "carries_ssh": False}}},
    "stop-service": {"ident": "0a1b2c3d", "acted": {"a": {"at": 1.5, "rc": 0, "took": 0.2}}},
    "restart-service": {"ident": "0a1b2c3d", "acted": {"a": {"at": 1.5}}},
    "power-off": {"affected": ["a"], "unconfirmed": ["a"]},
    "power-cycle": {"affected": ["a", "b"], "unconfirmed": []},
    "power-reset": {"affected": [], "unconfirmed": []},
}
NODES = [Node(name="a", address="127.0.0.1"), Node(name="b", address="127.0.0.2")]


def fresh(kind: str):
    cls = plugins.attacker_class(kind)
    return cls(kind, cls.Params.model_validate(PARAMS.get(kind, {})), list(NODES), object())


def test_every_shipped_attacker_declares_its_state():
    assert sorted(WRITTEN_BEFORE) == plugins.names(plugins.ATTACKERS)
    for kind in WRITTEN_BEFORE:
        state = plugins.attacker_class(kind).State
        assert issubclass(state, AttackerState) and state is not AttackerState, kind
        assert set(state.model_fields) == set(WRITTEN_BEFORE[kind]), kind


@pytest.mark.parametrize("kind", sorted(WRITTEN_BEFORE))
def test_an_entry_written_before_restores_and_is_written_back_the_same(kind):
    attacker = fresh(kind)
    attacker.restore_state(json.loads(json.dumps(WRITTEN_BEFORE[kind])))
    assert attacker.ledger_state() == WRITTEN_BEFORE[kind]
    for name, value in WRITTEN_BEFORE[kind].items():  # the attributes the verbs read
        assert getattr(attacker, name) == value


@pytest.mark.parametrize("kind, state", [
    ("kill-process", {"killed": ["a"]}),
    ("power-off", {"affected": "a"}),
    ("block-nic", {"done": {"a": {"interface": "eth0"}}}),
    ("partition", {"armed": {"a": ["soon", 30]}}),
    ("netem", {"ident": "x", "tc": "from the future"}),
])
def test_a_state_that_does_not_fit_is_refused_by_name_before_anything_changes(kind, state):
    attacker = fresh(kind)
    before = attacker.ledger_state()
    with pytest.raises(StateError, match=rf"{kind}: the recorded state does not fit "
                                         rf"\w+\.State \(.+\)"):
        attacker.restore_state(state)
    assert attacker.ledger_state() == before


def test_a_field_the_entry_lacks_is_unknown_so_every_node_is_assumed_hit():
    killer = fresh("kill-process")
    killer.restore_state({})
    assert killer.killed == {"a": [], "b": []}
    power = fresh("power-off")
    power.restore_state({"affected": ["b"]})
    assert (power.affected, power.unconfirmed) == (["b"], ["b"])
    hog = fresh("cpu-hog")
    hog.restore_state({"started": {}})
    assert hog.ident == ""  # which hog is unknown: verify looks for all of its kind


def test_what_is_saved_is_checked_against_the_model():
    killer = fresh("kill-process")
    killer.killed = {"a": ["not a pid"]}
    with pytest.raises(ValueError, match="killed"):
        killer.ledger_state()

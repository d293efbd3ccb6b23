"""The node-side dead-man timer on this machine: it outlives the command that armed it,
fires on time, can be cancelled, and cleanup touches only what carries its own tag."""

from __future__ import annotations

import time

import pytest

from ha_tests.attackers import deadman
from ha_tests.errors import TransportError
from ha_tests.transport import script
from ha_tests.transport.local import LocalShell

TOUCH = 'touch "$1"\n'


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_the_timer_fires_after_the_arming_command_returned(tmp_path):
    shell, ident, mark = LocalShell(), deadman.new_id(), tmp_path / "fired"
    started = time.monotonic()
    deadman.arm(shell, "t", ident, 0.5, TOUCH, str(mark))
    assert not mark.exists()
    assert wait_for(mark.exists, 5)
    assert time.monotonic() - started >= 0.5
    assert deadman.wait_gone(shell, "t.deadman", ident, 2) == []


def test_disarm_cancels_it_and_spares_another_timer(tmp_path):
    shell = LocalShell()
    mine, other = deadman.new_id(), deadman.new_id()
    deadman.arm(shell, "t", mine, 0.6, TOUCH, str(tmp_path / "mine"))
    deadman.arm(shell, "t", other, 0.6, TOUCH, str(tmp_path / "other"))
    assert deadman.disarm(shell, "t", mine)
    assert wait_for((tmp_path / "other").exists, 5)
    time.sleep(0.3)
    assert not (tmp_path / "mine").exists()
    assert deadman.tagged_pids(shell, "t.deadman", mine) == []


def test_a_timer_that_fired_before_the_fault_was_in_place_is_reported(tmp_path):
    shell, ident = LocalShell(), deadman.new_id()
    deadman.arm(shell, "t", ident, 0.2, "true\n")
    time.sleep(0.5)  # "injecting" took longer than the fault's duration
    healed = tmp_path / "healed"
    with pytest.raises(TransportError, match="raise 'duration'"):
        deadman.check_armed(shell, "t", ident, script(TOUCH, str(healed)), 0.2)
    assert healed.exists()


def test_the_prelude_runs_before_the_sleep(tmp_path):
    shell, ident = LocalShell(), deadman.new_id()
    deadman.arm(shell, "t", ident, 30, TOUCH, str(tmp_path / "healed"),
                prelude='touch "$1.fault"')
    assert wait_for((tmp_path / "healed.fault").exists, 3)
    deadman.disarm(shell, "t", ident)
    assert not (tmp_path / "healed").exists()

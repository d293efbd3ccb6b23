"""freeze-process on this machine: a real process really in state T, then running again."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from ha_tests.attackers import deadman
from ha_tests.attackers.freeze_process import FreezeProcess, FreezeProcessParams
from ha_tests.errors import PreflightError
from ha_tests.processes import find
from ha_tests.transport.local import LocalShell


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def victim():
    marker = f"hat-freeze-{uuid.uuid4().hex[:8]}"
    # one line of code: ha_tests.processes reads command lines line by line
    loop = "import time, itertools; [time.sleep(0.05) for _ in itertools.count()]"
    proc = subprocess.Popen([sys.executable, "-c", loop, marker])
    deadline = time.monotonic() + 5
    while not find(LocalShell(), marker):  # until it has exec'd
        assert time.monotonic() < deadline
        time.sleep(0.02)
    yield proc, marker
    proc.kill()
    proc.wait(5)


def make(ctx, **params) -> FreezeProcess:
    return FreezeProcess("freeze", FreezeProcessParams(**params),
                         [ctx.inventory.node("local")], ctx)


def wait_state(pid: int, wanted: set[str], seconds: float = 3) -> str:
    deadline = time.monotonic() + seconds
    while (now := state(pid)) not in wanted and time.monotonic() < deadline:
        time.sleep(0.02)
    return now


def test_frozen_then_continued_by_rollback(local_ctx, victim):
    proc, marker = victim
    ctx = local_ctx(victim={"process": marker})
    attacker = make(ctx, service="victim", duration=30)
    attacker.preflight()
    detail = attacker.inject()
    try:
        assert detail["pids"] == {"local": [proc.pid]}
        assert wait_state(proc.pid, {"T"}) == "T"
    finally:
        attacker.rollback()
    attacker.verify()
    assert wait_state(proc.pid, {"S", "R"}) in ("S", "R")
    assert deadman.tagged_pids(ctx.shell("local"), "freeze-process.deadman",
                               attacker.ident) == []


def test_the_node_continues_them_when_the_runner_is_lost(local_ctx, victim):
    proc, marker = victim
    ctx = local_ctx()
    attacker = make(ctx, process=marker, duration=1.5)
    attacker.inject()
    assert wait_state(proc.pid, {"T"}) == "T"
    assert wait_state(proc.pid, {"S", "R"}, seconds=5) in ("S", "R")
    attacker.verify()


def test_verify_notices_a_process_still_stopped(local_ctx, victim):
    proc, marker = victim
    ctx = local_ctx()
    attacker = make(ctx, process=marker, duration=30)
    attacker.inject()
    deadman.disarm(ctx.shell("local"), "freeze-process", attacker.ident)
    with pytest.raises(Exception, match="state T"):
        attacker.verify()  # no rollback yet: must fail, not pass
    attacker.rollback()
    attacker.verify()


def test_preflight_needs_a_matching_process(local_ctx):
    ctx = local_ctx()
    with pytest.raises(PreflightError, match="nothing to freeze"):
        make(ctx, process="no-such-process-[0-9]{30}", duration=1).preflight()

"""Fan-out: a fault lands on every node at once, with one round trip per node for the fault
itself (timer armed, fault applied, timer checked in one command), and each node says when,
by its own clock, the fault was in force there.

The commands each node's shell runs during ``inject`` are counted (recording.Recorder); where
two nodes take part, every node's first command waits for the other's, so an attacker that
went node by node fails instead of passing. netem's count is in test_attack_netem.py (it needs
that module's guest on a kernel without sch_netem).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from recording import Recorder

from ha_tests.attackers import deadman
from ha_tests.attackers.block_nic import BlockNic, BlockNicParams
from ha_tests.attackers.freeze_process import FreezeProcess, FreezeProcessParams
from ha_tests.attackers.hogs import CpuHog, CpuHogParams, MemoryHog, MemoryHogParams
from ha_tests.attackers.kill_process import KillProcess, KillProcessParams
from ha_tests.attackers.partition import Partition, PartitionParams
from ha_tests.context import RunContext
from ha_tests.errors import TransportError
from ha_tests.inventory import Inventory
from ha_tests.processes import find
from ha_tests.transport import script
from ha_tests.transport.local import LocalShell


def local_nodes(count: int, **services) -> Inventory:
    return Inventory.model_validate({
        "name": "local-many", "test_target": True,
        "nodes": [{"name": f"l{i}", "roles": ["local"], "address": "127.0.0.1",
                   "transport": "local"} for i in range(count)],
        "services": services})


@pytest.fixture
def sleepers():
    """Two processes a pattern matches, on this machine."""
    marker = f"hat-fanout-{uuid.uuid4().hex[:8]}"
    loop = "import time, itertools; [time.sleep(0.05) for _ in itertools.count()]"
    procs = [subprocess.Popen([sys.executable, "-c", loop, marker]) for _ in range(2)]
    deadline = time.monotonic() + 5
    while len(find(LocalShell(), marker)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    yield procs, marker
    for proc in procs:
        proc.kill()
        proc.wait(5)


def assert_moments_on_the_nodes_clock(recorder: Recorder, attacker, names) -> None:
    """Local nodes share this clock: each node's moment lies inside the inject."""
    lo, hi = recorder.window
    assert set(attacker.fault_at) == set(names)
    for moment in attacker.fault_at.values():
        assert lo - 0.01 <= moment <= hi + 0.01


def test_partition_cuts_both_sides_at_once_with_one_command_each(pair):
    attacker = Partition("split", PartitionParams(peers=["b"], duration=30),
                         [pair.ctx.inventory.node("a")], pair.ctx)
    attacker.preflight()
    recorder = Recorder(pair.ctx, together=2)
    recorder.inject(attacker)
    try:
        assert recorder.counts == {"a": 1, "b": 1}
        assert not pair.pings()
        assert_moments_on_the_nodes_clock(recorder, attacker, ["a", "b"])
    finally:
        attacker.rollback()
    attacker.verify()
    assert pair.pings()
    assert deadman.tagged_pids(pair.ctx.shell("a"), "partition.deadman", attacker.ident) == []


def test_block_nic_reads_the_routes_then_takes_the_link_down_in_one_command(pair):
    attacker = BlockNic("nic", BlockNicParams(interface="mgmt", duration=30),
                        [pair.ctx.inventory.node("a")], pair.ctx)
    attacker.preflight()
    recorder = Recorder(pair.ctx)
    recorder.inject(attacker)
    try:
        assert recorder.counts == {"a": 2}  # the routes (into the ledger first), the fault
        assert not pair.link_up("a")
    finally:
        attacker.rollback()
    attacker.verify()
    assert pair.link_up("a")


def test_freeze_lists_then_stops_in_one_command(local_ctx, sleepers):
    procs, marker = sleepers
    ctx = local_ctx(victim={"process": marker})
    attacker = FreezeProcess("freeze", FreezeProcessParams(service="victim", duration=30),
                             [ctx.inventory.node("local")], ctx)
    attacker.preflight()
    recorder = Recorder(ctx)
    detail = recorder.inject(attacker)
    try:
        assert recorder.counts == {"local": 2}  # the PIDs (into the ledger first), the fault
        assert sorted(detail["pids"]["local"]) == sorted(p.pid for p in procs)
        assert_moments_on_the_nodes_clock(recorder, attacker, ["local"])
    finally:
        attacker.rollback()
    attacker.verify()


@pytest.mark.parametrize("cls,params", [(CpuHog, CpuHogParams(workers=1, duration=30)),
                                        (MemoryHog, MemoryHogParams(mib=1, duration=30))])
def test_a_hog_starts_in_one_command(local_ctx, cls, params):
    ctx = local_ctx()
    attacker = cls("hog", params, [ctx.inventory.node("local")], ctx)
    attacker.preflight()
    recorder = Recorder(ctx)
    detail = recorder.inject(attacker)
    try:
        assert recorder.counts == {"local": 1}
        assert detail["nodes"]["local"]["leader"] > 0
        assert deadman.tagged_pids(ctx.shell("local"), attacker.kind, attacker.ident)
    finally:
        attacker.rollback()
    attacker.verify()


def test_kill_signals_every_node_at_once(sleepers):
    procs, marker = sleepers
    ctx = RunContext(local_nodes(2, victim={"process": marker}))
    try:
        attacker = KillProcess("kill", KillProcessParams(service="victim", restart=False,
                                                         comes_back_within=0, back_timeout=1),
                               list(ctx.inventory.nodes), ctx)
        recorder = Recorder(ctx, together=2)
        recorder.inject(attacker)
        assert recorder.counts == {"l0": 2, "l1": 2}
        for proc in procs:
            proc.wait(5)  # dead (SIGKILL), whichever node's signal came first
        assert set(attacker.fault_at) <= {"l0", "l1"} and attacker.fault_at
    finally:
        ctx.close()


def test_the_timer_fires_during_a_slow_apply_the_fault_is_healed_and_reported(tmp_path):
    shell, ident, healed = LocalShell(), deadman.new_id(), tmp_path / "healed"
    with pytest.raises(TransportError, match="raise 'duration'"):
        deadman.arm_apply(shell, "t", ident, 0.2, 'touch "$1"\n', [str(healed)],
                          'sleep 1; touch "$1"', [str(tmp_path / "fault")])
    assert (tmp_path / "fault").exists() and healed.exists()


def test_a_failed_apply_keeps_its_timer_for_the_rollback(tmp_path):
    shell, ident = LocalShell(), deadman.new_id()
    with pytest.raises(TransportError, match="no such tool"):
        deadman.arm_apply(shell, "t", ident, 30, 'touch "$1"\n', [str(tmp_path / "healed")],
                          'echo "no such tool" >&2; exit 4')
    assert deadman.tagged_pids(shell, "t.deadman", ident)
    result = deadman.heal_disarm(shell, "t", ident, 'touch "$1"\n', str(tmp_path / "healed"))
    assert result.ok and (tmp_path / "healed").exists()
    assert deadman.wait_gone(shell, "t.deadman", ident, 2) == []


def test_the_timer_gets_only_its_own_arguments(tmp_path):
    shell, ident, out = LocalShell(), deadman.new_id(), tmp_path / "args"
    applied = deadman.arm_apply(shell, "t", ident, 0.1, 'echo "$#:$*" > "$1"\n',
                                [str(out), "two words"], 'echo "apply $#:$1"', ["x"])
    assert applied.output == "apply 1:x" and applied.timer_pid > 0
    deadline = time.monotonic() + 5
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert out.read_text() == f"2:{out} two words\n"
    assert applied.fault_at[0] <= applied.fault_at[1]
    assert script("true")  # the helper's argv is the transport's

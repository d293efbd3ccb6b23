"""Hogs on this machine: the CPU really burns, memory is really resident, files really
exist — and after rollback (or by the node's own timers) nothing of them is left."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ha_tests.attackers import deadman
from ha_tests.attackers.hogs import CpuHog, DiskFill, IoStall, MemoryHog
from ha_tests.errors import PreflightError

CLK_TCK = os.sysconf("SC_CLK_TCK")


def make(cls, ctx, **params):
    return cls(cls.kind, cls.Params(**params), [ctx.inventory.node("local")], ctx)


def alive(pids: list[int]) -> list[int]:
    """PIDs still running (zombies are dead, whenever their parent reaps them)."""
    found = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(pid)
    return found


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK_TCK


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def hog_pids(attacker) -> list[int]:
    return deadman.tagged_pids(attacker.ctx.shell("local"), attacker.kind, attacker.ident)


def test_cpu_hog_burns_cpu_then_is_gone(local_ctx):
    ctx = local_ctx()
    attacker = make(CpuHog, ctx, workers=2, duration=30)
    attacker.preflight()
    detail = attacker.inject()
    try:
        assert detail["nodes"]["local"]["workers"] == 2
        deadline = time.monotonic() + 3
        while len(pids := hog_pids(attacker)) < 4:  # timeout, sh, 2 loops
            assert time.monotonic() < deadline, pids
            time.sleep(0.02)
        before = cpu_seconds(pids)
        time.sleep(1.0)
        # two loops for 1 s: up to 2 CPU seconds on an idle machine, a fair share (> 0.1)
        # on a loaded, shared one; a sleeping group gains ~0
        assert cpu_seconds(pids) - before > 0.1
        assert "R" in {state(pid) for pid in pids}
    finally:
        attacker.rollback()
    attacker.verify()
    assert alive(pids) == []


def test_cpu_hog_defaults_to_every_cpu_and_ends_by_itself(local_ctx):
    ctx = local_ctx()
    attacker = make(CpuHog, ctx, duration=1.5)
    detail = attacker.inject()
    assert detail["nodes"]["local"]["workers"] == os.cpu_count()
    assert hog_pids(attacker)
    time.sleep(1.5)
    assert deadman.wait_gone(ctx.shell("local"), "cpu-hog", attacker.ident, 3) == []
    assert deadman.wait_gone(ctx.shell("local"), "cpu-hog.deadman", attacker.ident, 2) == []
    attacker.verify()


def test_memory_hog_holds_resident_memory_then_frees_it(local_ctx):
    ctx = local_ctx()
    attacker = make(MemoryHog, ctx, mib=64, duration=30)
    attacker.preflight()
    attacker.inject()
    try:
        deadline = time.monotonic() + 5
        while rss_mib(hog_pids(attacker)) < 60:
            assert time.monotonic() < deadline, "64 MiB never became resident"
            time.sleep(0.05)
        pids = hog_pids(attacker)
    finally:
        attacker.rollback()
    attacker.verify()
    assert alive(pids) == []


def test_memory_hog_refuses_more_than_its_share_of_available_memory(local_ctx):
    ctx = local_ctx()
    with pytest.raises(PreflightError, match="at most"):
        make(MemoryHog, ctx, mib=4 * 1024 * 1024, duration=3).preflight()


def held_fills(directory: Path) -> dict[int, int]:
    """PID -> size of the disk-fill file in directory it holds open, unlinked."""
    held = {}
    for fd in Path("/proc").glob("[0-9]*/fd/3"):
        try:
            target = os.readlink(fd)
            if target.startswith(f"{directory}/.ha-tests-disk-fill-") and \
                    target.endswith(" (deleted)"):
                held[int(fd.parent.parent.name)] = fd.stat().st_size
        except OSError:
            continue
    return held


def test_disk_fill_holds_a_bounded_unlinked_file_and_frees_it(local_ctx, tmp_path):
    ctx = local_ctx()
    attacker = make(DiskFill, ctx, dir=str(tmp_path), mib=8, min_free_percent=1, duration=30)
    attacker.preflight()
    attacker.inject()
    try:
        assert set(held_fills(tmp_path).values()) == {8 * 1024 * 1024}  # shell and sleep
        assert list(tmp_path.glob(".ha-tests-disk-fill-*")) == []  # nothing to outlive it
    finally:
        attacker.rollback()
    attacker.verify()
    assert held_fills(tmp_path) == {}


def test_disk_fill_leaves_nothing_once_a_reboot_killed_its_timer(local_ctx, tmp_path):
    """A reboot ends every process of the node, the dead-man timer with them: SIGKILL them
    all, as a power loss would, and nothing of the fill may be left on disk."""
    ctx = local_ctx()
    attacker = make(DiskFill, ctx, dir=str(tmp_path), mib=4, min_free_percent=1, duration=60)
    attacker.inject()
    shell = ctx.shell("local")
    for kind in ("disk-fill", "disk-fill.deadman"):
        deadman.kill_tagged(shell, kind, attacker.ident, "KILL")
    assert deadman.wait_gone(shell, "disk-fill.deadman", attacker.ident) == []
    assert deadman.wait_gone(shell, "disk-fill", attacker.ident) == []
    assert list(tmp_path.glob(".ha-tests-disk-fill-*")) == []
    assert held_fills(tmp_path) == {}
    attacker.verify()


def test_disk_fill_refuses_to_leave_too_little_free(local_ctx, tmp_path):
    ctx = local_ctx()
    with pytest.raises(PreflightError, match="min_free_percent"):
        make(DiskFill, ctx, dir=str(tmp_path), mib=1024 * 1024, duration=3).preflight()
    with pytest.raises(PreflightError, match="no directory"):
        make(DiskFill, ctx, dir=str(tmp_path / "nope"), mib=1, duration=3).preflight()


def test_disk_fill_space_is_freed_by_its_own_timeout(local_ctx, tmp_path):
    ctx = local_ctx()
    attacker = make(DiskFill, ctx, dir=str(tmp_path), mib=1, min_free_percent=1, duration=3)
    attacker.inject()
    assert held_fills(tmp_path)
    deadline = time.monotonic() + 5
    while held_fills(tmp_path):
        assert time.monotonic() < deadline, "nothing freed the space"
        time.sleep(0.05)
    attacker.verify()


def test_io_stall_writes_with_fsync_then_leaves_nothing(local_ctx, tmp_path):
    ctx = local_ctx()
    attacker = make(IoStall, ctx, dir=str(tmp_path), writers=2, mib=2, min_free_percent=1,
                    duration=30)
    attacker.preflight()
    attacker.inject()
    try:
        deadline = time.monotonic() + 5
        while len(list(tmp_path.glob(".ha-tests-io-stall-*"))) < 2:
            assert time.monotonic() < deadline, "the writers wrote nothing"
            time.sleep(0.05)
        assert len(hog_pids(attacker)) >= 4
    finally:
        attacker.rollback()
    attacker.verify()
    assert list(tmp_path.glob(".ha-tests-io-stall-*")) == []


def test_io_stall_ends_by_itself_files_included(local_ctx, tmp_path):
    ctx = local_ctx()
    attacker = make(IoStall, ctx, dir=str(tmp_path), writers=1, mib=1, min_free_percent=1,
                    duration=0.7)
    attacker.inject()
    deadline = time.monotonic() + 4
    while attacker.leftovers("local"):
        assert time.monotonic() < deadline, attacker.leftovers("local")
        time.sleep(0.1)
    attacker.verify()


def test_rollback_spares_another_run_of_the_same_hog(local_ctx):
    ctx = local_ctx()
    mine = make(CpuHog, ctx, workers=1, duration=30)
    other = make(CpuHog, ctx, workers=1, duration=30)
    mine.inject()
    other.inject()
    try:
        mine.rollback()
        mine.verify()
        assert hog_pids(other)
    finally:
        other.rollback()
    other.verify()


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


def test_disk_fill_creates_a_bounded_file_and_removes_it(local_ctx, tmp_path):
    ctx = local_ctx()
    attacker = make(DiskFill, ctx, dir=str(tmp_path), mib=8, min_free_percent=1, duration=30)
    attacker.preflight()
    attacker.inject()
    files = list(tmp_path.glob(".ha-tests-disk-fill-*"))
    try:
        assert len(files) == 1
        assert files[0].stat().st_size == 8 * 1024 * 1024
    finally:
        attacker.rollback()
    attacker.verify()
    assert not files[0].exists()


def test_disk_fill_refuses_to_leave_too_little_free(local_ctx, tmp_path):
    ctx = local_ctx()
    with pytest.raises(PreflightError, match="min_free_percent"):
        make(DiskFill, ctx, dir=str(tmp_path), mib=1024 * 1024, duration=3).preflight()
    with pytest.raises(PreflightError, match="no directory"):
        make(DiskFill, ctx, dir=str(tmp_path / "nope"), mib=1, duration=3).preflight()


def test_disk_fill_file_is_removed_by_the_node_timer(local_ctx, tmp_path):
    ctx = local_ctx()
    attacker = make(DiskFill, ctx, dir=str(tmp_path), mib=1, min_free_percent=1, duration=1.5)
    attacker.inject()
    assert list(tmp_path.glob(".ha-tests-disk-fill-*"))
    deadline = time.monotonic() + 5
    while list(tmp_path.glob(".ha-tests-disk-fill-*")):
        assert time.monotonic() < deadline, "the dead-man timer did not remove the file"
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


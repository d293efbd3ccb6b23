"""vm-ping against real namespaces: replies, a link taken down, sub-second sampling."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from ha_tests.errors import PreflightError
from ha_tests.monitors.vm_ping import VmPingMonitor, VmPingParams


def sample(mon, interval: float, action=None, duration: float = 1.0) -> list[bool]:
    """Probe on a fixed schedule, each probe in its own thread (as ha_tests.sampling does),
    calling action(elapsed) between launches; the results in start order."""
    results: dict[int, bool] = {}
    threads = []

    def run(k: int) -> None:
        started = time.monotonic()
        ok = mon.probe().ok
        results[k] = ok and time.monotonic() - started <= mon.timeout

    origin = time.monotonic()
    k = 0
    while (elapsed := time.monotonic() - origin) < duration:
        if action:
            action(elapsed)
        thread = threading.Thread(target=run, args=(k,), daemon=True)
        thread.start()
        threads.append(thread)
        k += 1
        time.sleep(max(0.0, origin + k * interval - time.monotonic()))
    for thread in threads:
        thread.join(mon.timeout + 1)
    return [results.get(i, False) for i in range(k)]


def monitor(ctx, timeout=1.0, **params) -> VmPingMonitor:
    mon = VmPingMonitor("ping", VmPingParams.model_validate(params), [], ctx, timeout=timeout)
    mon.setup()
    return mon


def probe_until(mon, want_ok: bool, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while True:
        result = mon.probe()
        if result.ok == want_ok or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


@pytest.fixture
def no_children(monkeypatch):
    """Any attempt to start a process during the probes fails the test."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("vm-ping started a process")
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(os, "posix_spawn", refuse)
    monkeypatch.setattr(os, "posix_spawnp", refuse)


def test_all_targets_answer_without_child_processes(netns_targets, context_factory):
    mon = monitor(context_factory(), targets=netns_targets.addresses)
    with pytest.MonkeyPatch.context() as patch:
        def refuse(*_args, **_kwargs):
            raise AssertionError("vm-ping started a process")
        patch.setattr(subprocess.Popen, "__init__", refuse)
        patch.setattr(os, "fork", refuse)
        patch.setattr(os, "posix_spawn", refuse)
        result = probe_until(mon, True)
    assert result.ok, result.detail
    assert result.detail["reachable"] == len(netns_targets.addresses)
    assert "unreachable" not in result.detail
    assert result.latency > 0


def test_link_down_target_is_listed_then_recovers(netns_targets, context_factory):
    vms = [{"name": f"vm{i}", "host": "cmp1", "address": a}
           for i, a in enumerate(netns_targets.addresses)]
    ctx = context_factory(lab={"name": "t", "dir": "/nonexistent", "vms": vms})
    mon = monitor(ctx, timeout=0.5, vms="all")
    tolerant = monitor(ctx, timeout=0.5, vms="all", min_reachable=len(vms) - 1)
    assert probe_until(mon, True).ok
    netns_targets.set_link(3, up=False)
    try:
        result = mon.probe()
        assert not result.ok
        assert result.detail["unreachable"] == ["vm3"]
        assert result.detail["reachable"] == len(vms) - 1
        assert tolerant.probe().ok
    finally:
        netns_targets.set_link(3, up=True)
    result = probe_until(mon, True)
    assert result.ok, result.detail


def test_selected_vms_and_unknown_names(netns_targets, context_factory):
    vms = [{"name": "a", "host": "cmp1", "address": netns_targets.addresses[0]},
           {"name": "b", "host": "cmp2", "address": "10.194.250.254"}]   # nobody there
    ctx = context_factory(lab={"name": "t", "dir": "/nonexistent", "vms": vms})
    assert probe_until(monitor(ctx, timeout=0.3, vms=["a"]), True).ok
    result = monitor(ctx, timeout=0.3, vms=["a", "b"]).probe()
    assert not result.ok and result.detail["unreachable"] == ["b"]
    with pytest.raises(PreflightError, match="no VM named nope"):
        monitor(ctx, vms=["nope"])
    with pytest.raises(PreflightError, match="lab.vms"):
        monitor(context_factory(), vms="all")


def test_ipv6_and_mixed_families(netns_targets, context_factory):
    targets = netns_targets.addresses[:2] + netns_targets.addresses6[:2]
    result = probe_until(monitor(context_factory(), targets=targets), True)
    assert result.ok, result.detail
    assert result.detail["reachable"] == 4


def test_raw_socket_forced(netns_targets, context_factory):
    mon = monitor(context_factory(), targets=netns_targets.addresses, socket="raw")
    assert probe_until(mon, True).ok
    assert mon.pinger.kinds


def test_subsecond_sampling_with_overlapping_probes(netns_targets, context_factory, no_children):
    # interval 0.05 s with a 0.3 s timeout: several probes are in flight at once
    mon = monitor(context_factory(), timeout=0.3, targets=netns_targets.addresses)
    probe_until(mon, True)
    states = sample(mon, 0.05)
    assert len(states) >= 15
    assert all(states), states


def test_sub_second_outage_is_seen(netns_targets, context_factory):
    mon = monitor(context_factory(), timeout=0.2, targets=netns_targets.addresses[:4])
    probe_until(mon, True)
    phase = []

    def flap(elapsed: float) -> None:
        if elapsed >= 0.4 and not phase:
            phase.append("down")
            netns_targets.set_link(1, up=False)
        elif elapsed >= 0.9 and len(phase) == 1:
            phase.append("up")
            netns_targets.set_link(1, up=True)
    try:
        states = sample(mon, 0.1, flap, duration=2.0)
    finally:
        netns_targets.set_link(1, up=True)
    assert True in states and False in states
    first_bad = states.index(False)
    assert not all(states[first_bad:]), "never recovered"
    assert states[-1]


def test_from_node_uses_fping_once_per_probe(netns_targets, context_factory, monkeypatch):
    ctx = context_factory(nodes=[{"name": "here", "address": "127.0.0.1",
                                  "transport": "local"}])
    mon = monitor(ctx, timeout=1.0, targets=netns_targets.addresses, **{"from": "here"})
    calls = []
    shell = ctx.shell("here")
    real_run = shell.run
    monkeypatch.setattr(shell, "run", lambda argv, **kw: calls.append(argv) or
                        real_run(argv, **kw))
    assert probe_until(mon, True).ok
    netns_targets.set_link(5, up=False)
    try:
        calls.clear()
        result = mon.probe()
        assert len(calls) == 1 and calls[0][0] == "fping"
        assert not result.ok
        assert result.detail["unreachable"] == [netns_targets.addresses[5]]
    finally:
        netns_targets.set_link(5, up=True)
    assert probe_until(mon, True).ok


def test_params_need_targets():
    with pytest.raises(ValueError, match="needs"):
        VmPingParams.model_validate({})
    with pytest.raises(ValueError):
        VmPingParams.model_validate({"targets": ["1.2.3.4"], "bogus": 1})

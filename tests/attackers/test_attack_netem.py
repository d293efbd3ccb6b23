"""netem in a namespace pair: ping RTT really rises, and falls back when it is removed.

On a kernel built without sch_netem (some CI VMs, this one among them) the tests that need
the real effect run against a guest that boots Debian's own kernel (kernel_guest.py): the
attacker reaches it over SSH like any node, and the peer namespace measures. What does not
need netem (never removing someone else's qdisc) runs on the namespace pair everywhere.
"""

from __future__ import annotations

import time

import pytest
from recording import Recorder

from ha_tests.attackers import deadman
from ha_tests.attackers.netem import Netem, NetemParams
from ha_tests.errors import PreflightError, TransportError


def make(pair, **params) -> Netem:
    params.setdefault("interface", "mgmt")
    return Netem("slow", NetemParams(**params), [pair.ctx.inventory.node("a")], pair.ctx)


def qdiscs(pair) -> str:
    return pair.run("a", "tc", "qdisc", "show", "dev", pair.dev["a"]).stdout


@pytest.fixture
def netem_pair(pair, request):
    """The namespace pair if this kernel has sch_netem, else the kernel guest's pair."""
    probe = pair.run("b", "tc", "qdisc", "add", "dev", pair.dev["b"], "root", "netem",
                     "delay", "1ms")
    if "kind is unknown" not in probe.stderr:
        pair.run("b", "tc", "qdisc", "del", "dev", pair.dev["b"], "root")
        yield pair
        return
    guest = request.getfixturevalue("guest_pair")
    assert "qdisc netem" not in qdiscs(guest), "a test before left netem on the guest"
    try:
        yield guest
    finally:
        guest.run("a", "tc", "qdisc", "del", "dev", guest.dev["a"], "root")


def test_delay_raises_the_round_trip_time_then_goes_away(netem_pair):
    pair = netem_pair
    before = pair.rtt_ms()
    assert before < 20
    attacker = make(pair, delay_ms=100, jitter_ms=5, duration=30)
    attacker.preflight()
    recorder = Recorder(pair.ctx)
    recorder.inject(attacker)
    try:
        assert recorder.counts == {"a": 1}  # timer, qdisc and the timer's check: one command
        assert pair.rtt_ms() > 90  # replies leave a through the delayed egress
        assert f"qdisc netem {attacker.handle}:" in qdiscs(pair)
    finally:
        attacker.rollback()
    attacker.verify()
    assert pair.rtt_ms() < 20
    assert "netem" not in qdiscs(pair)
    assert deadman.tagged_pids(pair.ctx.shell("a"), "netem.deadman", attacker.ident) == []


def test_total_loss_heals_itself_without_the_runner(netem_pair):
    pair = netem_pair
    # 4 s: on a loaded machine inject itself takes seconds on the guest, and a timer that
    # fired before inject returned fails the inject ("took longer than the fault's duration")
    attacker = make(pair, loss_percent=100, duration=4)
    attacker.inject()
    assert not pair.pings()
    deadline = time.monotonic() + 4 + 10  # the timer's 4 s, then time for one tc on the guest
    while not pair.pings():
        assert time.monotonic() < deadline, "the dead-man timer did not remove netem"
    attacker.verify()


def test_total_loss_on_the_runners_own_ssh_interface_is_injected_and_heals_itself(
        guest_pair):
    """The timer adds netem there: the reply to a tc command would be lost with the rest."""
    attacker = make(guest_pair, interface="ssh", loss_percent=100, duration=4, back_timeout=30)
    attacker.preflight()
    try:
        detail = attacker.inject()
        assert detail["cuts_ssh"] == ["a"]
        with pytest.raises(TransportError):  # the runner's own session gets no answer
            guest_pair.ctx.shell("a").run(["true"], timeout=2)
        attacker.rollback()  # waits for the node's timer, then checks over SSH again
        attacker.verify()
    finally:
        guest_pair.run("a", "tc", "qdisc", "del", "dev", "ctl0", "root")
    assert "netem" not in guest_pair.run("a", "tc", "qdisc", "show", "dev", "ctl0").stdout
    assert deadman.tagged_pids(guest_pair.ctx.shell("a"), "netem.deadman",
                               attacker.ident) == []


def test_a_kernel_without_netem_is_reported_and_leaves_nothing(pair):
    attacker = make(pair, delay_ms=10, duration=30)
    try:
        attacker.inject()
    except TransportError as exc:
        assert "sch_netem" in str(exc)
    attacker.rollback()
    attacker.verify()
    assert deadman.tagged_pids(pair.ctx.shell("a"), "netem.deadman", attacker.ident) == []


def test_a_foreign_root_qdisc_is_never_removed(pair):
    assert pair.run("a", "tc", "qdisc", "add", "dev", pair.dev["a"], "root", "handle", "77:",
                    "tbf", "rate", "100mbit", "burst", "32kbit", "latency", "400ms"
                    ).returncode == 0
    attacker = make(pair, delay_ms=10, duration=30)
    attacker.done = {"a": {"interface": pair.dev["a"], "armed_wall": time.time(),
                           "duration": 30}}
    attacker.heal()  # as after a lost runner, with someone else's qdisc in place by now
    assert "qdisc tbf 77:" in qdiscs(pair)
    pair.run("a", "tc", "qdisc", "del", "dev", pair.dev["a"], "root")


def test_preflight_refuses_an_interface_that_already_has_netem(netem_pair):
    pair = netem_pair
    pair.run("a", "tc", "qdisc", "add", "dev", pair.dev["a"], "root", "handle", "77:", "netem",
             "delay", "1ms")
    with pytest.raises(PreflightError, match="already has a netem"):
        make(pair, delay_ms=10, duration=3).preflight()


def test_params_need_an_effect():
    with pytest.raises(ValueError, match="needs"):
        NetemParams(interface="eth0", duration=3)
    with pytest.raises(ValueError, match="jitter_ms needs delay_ms"):
        NetemParams(interface="eth0", jitter_ms=3, loss_percent=1)

"""power-off / power-cycle / power-reset over real IPMI against a real sshd "host"."""

from __future__ import annotations

import threading

import pytest
from fake_machine import BMC_PASSWORD

from ha_tests.attackers.power import PowerCycle, PowerOff, PowerParams, PowerReset
from ha_tests.errors import PreflightError, RollbackError, TransportError


def attacker(cls, ctx, **params):
    return cls(cls.__name__, PowerParams.model_validate(params), list(ctx.inventory.nodes), ctx)


def ssh_answers(ctx) -> bool:
    shell = ctx.shell("m1")
    try:
        return shell.run(["true"], timeout=3).ok
    except TransportError:
        shell.close()
        return False


@pytest.mark.parametrize("client", ["pyghmi", "ipmitool"])
def test_power_off_then_rollback(machine, context_factory, client):
    ctx = context_factory(**machine.inventory(bmc_client=client))
    power = attacker(PowerOff, ctx, boot_timeout=30)
    power.preflight()
    assert ssh_answers(ctx)
    injected = power.inject()
    facts = injected["nodes"]["m1"]
    assert injected["action"] == "power-off"
    assert facts["before"] == "on" and facts["after"] == "off"
    assert not machine.power.state(), "the host still runs"
    assert not ssh_answers(ctx)
    assert power.ledger_state() == {"affected": ["m1"], "unconfirmed": []}
    detail = power.rollback()["nodes"]["m1"]
    assert detail["powered_on"] is True and detail["ssh_after_s"] >= 0
    power.verify()
    assert machine.power.state() and ssh_answers(ctx)
    assert BMC_PASSWORD not in repr(injected) + repr(detail)


@pytest.mark.parametrize("cls", [PowerCycle, PowerReset])
def test_cycle_and_reset_wait_for_the_reboot(machine, context_factory, cls):
    ctx = context_factory(**machine.inventory())
    power = attacker(cls, ctx, boot_timeout=30)
    power.preflight()
    first_pid = machine.power._pid()
    injected = power.inject()
    assert injected["action"].endswith(cls.__name__.removeprefix("Power").lower())
    detail = power.rollback()["nodes"]["m1"]
    assert detail["rebooted"] is True
    power.verify()
    assert machine.power._pid() != first_pid, "the host was not rebooted"


def test_preflight_refusals(machine, context_factory):
    no_bmc = context_factory(nodes=[{"name": "m1", "address": "127.0.0.1"}])
    with pytest.raises(PreflightError, match="no 'bmc:'"):
        attacker(PowerOff, no_bmc).preflight()
    ctx = context_factory(**machine.inventory())
    machine.power.off()
    with pytest.raises(PreflightError, match="already powered off"):
        attacker(PowerOff, ctx).preflight()
    machine.power.on()
    machine.stop_bmc()
    with pytest.raises(PreflightError, match="does not answer") as info:
        attacker(PowerOff, ctx, bmc_timeout=1).preflight()
    assert BMC_PASSWORD not in str(info.value)


def test_rollback_gives_up_after_boot_timeout(machine, context_factory):
    ctx = context_factory(**machine.inventory())
    power = attacker(PowerOff, ctx, boot_timeout=3)
    power.preflight()
    power.inject()
    authorized = machine.dir / "authorized_keys"
    saved = authorized.read_text()
    authorized.write_text("")                      # the host boots, but SSH refuses us
    try:
        with pytest.raises(RollbackError, match="did not answer SSH within 3 s"):
            power.rollback()
        with pytest.raises(RollbackError, match="does not answer SSH"):
            power.verify()
    finally:
        authorized.write_text(saved)
    power.rollback()
    power.verify()


def test_heal_from_the_ledger_in_a_new_attacker(machine, context_factory):
    ctx = context_factory(**machine.inventory())
    first = attacker(PowerOff, ctx, boot_timeout=30)
    first.preflight()
    first.inject()
    state = first.ledger_state()
    healer = attacker(PowerOff, context_factory(**machine.inventory()), boot_timeout=30)
    healer.restore_state(state)
    healer.heal()
    healer.verify()
    assert machine.power.state()
    assert attacker(PowerOff, ctx).rollback() == {"note": "no node was switched"}


def test_rollback_rides_out_a_bmc_that_is_away_for_a_moment(machine, context_factory):
    ctx = context_factory(**machine.inventory())
    # pyghmi's session takes about 20 s to log in again after the BMC is back
    power = attacker(PowerOff, ctx, boot_timeout=90, bmc_timeout=1)
    power.preflight()
    power.inject()
    machine.stop_bmc()
    threading.Timer(2.0, machine.start_bmc).start()
    detail = power.rollback()["nodes"]["m1"]
    power.verify()
    assert detail["powered_on"] is True and "bmc_error" in detail
    assert BMC_PASSWORD not in repr(detail)


def test_heal_lets_a_power_off_a_killed_runner_sent_land_before_powering_on(machine,
                                                                            context_factory):
    """The runner died after telling the BMC "off" and before seeing it done: the heal in a
    new process must not find the node still on, call it healed, and let it go off after."""
    ctx = context_factory(**machine.inventory())
    power = attacker(PowerOff, ctx, boot_timeout=30, off_timeout=15)
    power.restore_state({"affected": ["m1"], "unconfirmed": ["m1"]})
    late_off = threading.Timer(1.5, machine.power.off)  # the BMC acts on it only now
    late_off.start()
    try:
        power.heal()
    finally:
        late_off.join()
    power.verify()
    assert machine.power.state(), "the node went off after the heal"
    assert ssh_answers(ctx)

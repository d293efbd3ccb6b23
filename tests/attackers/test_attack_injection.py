"""Names from scenarios and inventories are data on the node, never shell syntax.

Validation already refuses most hostile names; these tests go around it (model_construct)
to show that even then every node-side command passes them as argv or positional
parameters, so ``x; touch <file>`` touches nothing.
"""

from __future__ import annotations

import contextlib

import pytest

from ha_tests.attackers.block_nic import BlockNic, BlockNicParams
from ha_tests.attackers.freeze_process import FreezeProcess, FreezeProcessParams
from ha_tests.attackers.hogs import DirParams, DiskFill, IoStall, IoStallParams
from ha_tests.attackers.netem import Netem, NetemParams
from ha_tests.attackers.service_state import ServiceParams, StopService
from ha_tests.errors import HaTestsError


@pytest.fixture
def pwned(tmp_path):
    target = tmp_path / "pwned"
    yield target
    assert not target.exists(), "a name was run as shell code"


def attempt(attacker) -> None:
    """Drive every verb; failing is fine, running the name as code is not."""
    for verb in (attacker.preflight, attacker.inject, attacker.rollback, attacker.verify):
        with contextlib.suppress(HaTestsError, ValueError):
            verb()


def hostile(pwned) -> str:
    return f"x; touch {pwned}"


def test_the_hostile_name_is_refused_by_validation_first(pwned):
    with pytest.raises(ValueError):
        BlockNicParams(interface=hostile(pwned), duration=1)
    with pytest.raises(ValueError):
        DirParams(dir=f"x$(touch {pwned})", mib=1, duration=1)


@pytest.mark.parametrize("dollar", [False, True])
def test_interface_names_reach_the_node_as_data(pair, pwned, dollar):
    name = f"$(touch {pwned})" if dollar else hostile(pwned)
    node = pair.ctx.inventory.node("a")
    for cls, params in ((BlockNic, BlockNicParams), (Netem, NetemParams)):
        extra = {"delay_ms": 10} if cls is Netem else {}
        attacker = cls("evil", params.model_construct(interface=name, duration=1,
                                                       back_timeout=1, **extra), [node],
                       pair.ctx)
        attempt(attacker)
        attacker.done = {"a": {"interface": name, "restore": [f"4|route|{name}"],
                               "armed_wall": 0, "duration": 0, "carries_ssh": False}}
        attempt(attacker)  # rollback with the hostile name recorded, as after a heal
    assert pair.link_up()


def test_directories_reach_the_node_as_data(local_ctx, tmp_path, pwned):
    ctx = local_ctx()
    node = ctx.inventory.node("local")
    for cls, params in ((DiskFill, DirParams), (IoStall, IoStallParams)):
        directory = f"{tmp_path}/x; touch {pwned}; $(touch {pwned})"
        attacker = cls("evil", params.model_construct(dir=directory, mib=1, writers=1,
                                                      min_free_percent=1, duration=1),
                       [node], ctx)
        attempt(attacker)


def test_process_patterns_and_services_stay_data(local_ctx, pwned):
    ctx = local_ctx(evil={"manager": "command", "process": hostile(pwned),
                          "start": f"/bin/echo x; touch {pwned}",
                          "stop": f"/bin/echo x; touch {pwned}",
                          "status": f"/bin/echo x; touch {pwned}"})
    node = ctx.inventory.node("local")
    attempt(FreezeProcess("evil", FreezeProcessParams(service="evil", duration=1), [node], ctx))
    stop = StopService("evil", ServiceParams(service="evil", back_timeout=1), [node], ctx)
    attempt(stop)
    stop.acted = {"local": {}}
    attempt(stop)

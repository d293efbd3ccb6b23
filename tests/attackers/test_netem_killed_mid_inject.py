"""kill -9 of a real ``ha-tests run`` while netem's inject is under way, then ``ha-tests heal``.

The fault matrix's "kill -9 during inject" cell for netem (docs/fault-matrix.rst). The lab's
kernel has no sch_netem, so the nodes are two guests booting Debian's kernel
(kernel_guest.py), reached over real SSH as the nodes of an inventory file. netem injects on
every node at once and names each node in the ledger before touching it. The moment the
ledger names them, the second guest's VM is frozen (a node that stops answering mid-inject),
so inject cannot return; once the first guest's qdisc is in force the runner is frozen, shown
not to have returned from inject, and killed; then the second guest runs on. Its node-side
timer is armed for ten minutes, so only the heal can be what removes the qdiscs, and it must
say "healed" only once it has seen them gone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml
from killed_mid_inject import kill_during_inject

from ha_tests.attackers import deadman


def inventory_file(guests: list, path: Path) -> Path:
    nodes = []
    for name, pair in zip("ab", guests, strict=True):
        node = pair.guest.node(name)
        node["roles"].append("guest")
        node["ssh"] = {**pair.guest.ssh_settings(), **node["ssh"]}
        nodes.append(node)
    path.write_text(yaml.safe_dump({"name": "kernel-guests", "test_target": True,
                                    "nodes": nodes}))
    return path


@pytest.fixture
def listener():
    """A port on this machine for the scenario's required monitor: probing the guests' own
    sshd would cost each TCG guest an sshd start every probe."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                continue
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    done.set()
    thread.join(5)
    server.close()


def scenario_file(port: int, path: Path) -> Path:
    path.write_text(textwrap.dedent(f"""\
        name: netem-killed-during-inject
        description: the runner is killed with SIGKILL while netem is being injected
        gap: classic
        targets:
          guests: {{role: guest, pick: all}}
        attackers:
          - {{type: netem, target: guests, interface: mgmt, delay_ms: 50, duration: 600}}
        monitors:
          - {{type: tcp, name: runner-side, host: 127.0.0.1, port: {port}, interval: 0.5,
              timeout: 2, gate: false}}
        timing:
          baseline: 0.5
          fault_duration: 60
          observe: 1
          recovery_timeout: 30
        """))
    return path


def ledger_states(state_dir: Path) -> list[dict]:
    states = []
    for path in (state_dir / "ledger").glob("*.json"):
        try:
            states.append(json.loads(path.read_text()).get("state") or {})
        except (OSError, ValueError):  # being rewritten this very moment
            continue
    return states


def names_the_guests(state_dir: Path) -> bool:
    """The ledger names the guests' steps: inject is under way on both."""
    return any({"a", "b"} <= set(state.get("done") or {}) for state in ledger_states(state_dir))


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.005)


def netem_on(pair) -> str:
    shown = pair.run("a", "tc", "qdisc", "show", "dev", pair.dev["a"])
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def test_kill_9_during_netem_inject_then_heal_removes_the_qdisc(two_guests, listener, tmp_path):
    guests = two_guests
    state_dir = tmp_path / "state"
    env = dict(os.environ, HA_TESTS_STATE_DIR=str(state_dir))
    inventory = inventory_file(guests, tmp_path / "inventory.yaml")
    results = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, "-m", "ha_tests.cli", "run", "-q", "-i",
                             str(inventory), "-r", str(results),
                             str(scenario_file(listener, tmp_path / "netem.yaml"))],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    second_vm = guests[1].guest.proc
    try:
        wait_for(lambda: names_the_guests(state_dir) or proc.poll() is not None, 120,
                 "inject starting")
        os.kill(second_vm.pid, signal.SIGSTOP)
        kill_during_inject(proc, results, lambda: "netem" in netem_on(guests[0]), timeout=60)
    finally:
        os.kill(second_vm.pid, signal.SIGCONT)
    [state] = ledger_states(state_dir)
    first = guests[0]
    assert f"qdisc netem {state['handle']}:" in netem_on(first), \
        "the runner died with the first guest's netem in force"
    assert deadman.tagged_pids(first.ctx.shell("a"), "netem.deadman", state["ident"])

    healed = subprocess.run([sys.executable, "-m", "ha_tests.cli", "heal", "-i",
                             str(inventory)], env=env, capture_output=True, text=True,
                            timeout=120)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert "healed" in healed.stdout, healed.stdout
    for pair in guests:  # now, not in ten minutes when the timer would fire
        assert "netem" not in netem_on(pair)
        assert deadman.tagged_pids(pair.ctx.shell("a"), "netem.deadman", state["ident"]) == []
    assert list((state_dir / "ledger").glob("*.json")) == []
    again = subprocess.run([sys.executable, "-m", "ha_tests.cli", "heal"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "nothing to heal" in again.stdout, again.stdout

"""A kept SSH connection the peer has closed is seen only when it is next asked: the runner
then opens a new one and runs the command, since nothing ran yet; a node whose sshd is gone
is a TransportError, and the first command after it is back reconnects."""

from __future__ import annotations

import pytest

from ha_tests.errors import TransportError
from ha_tests.inventory import Inventory
from ha_tests.transport import ShellPool


@pytest.fixture
def shell(machine):
    pool = ShellPool(Inventory.model_validate(machine.inventory()))
    yield pool.get(machine.name)
    pool.close()


def test_a_session_that_cannot_open_on_a_dead_connection_runs_on_a_new_one(shell, machine):
    assert shell.run(["true"], timeout=20).ok
    stale = shell._client.get_transport()

    def closed_by_peer(*args, **kwargs):  # what paramiko raises on a connection gone unseen
        raise EOFError()

    stale.open_session = closed_by_peer
    result = shell.run(["sh", "-c", "printf again"], timeout=20)
    assert result.ok and result.stdout == "again"
    assert shell._client.get_transport() is not stale  # a new connection, the old one closed


def test_a_node_whose_sshd_is_gone_errs_and_is_reached_again_once_back(shell, machine):
    assert shell.run(["true"], timeout=20).ok
    machine.power.off()  # every session's process killed: the node's side closes
    try:
        with pytest.raises(TransportError):
            shell.run(["sleep", "5"], timeout=20)
    finally:
        machine.power.on()
    assert shell.run(["true"], timeout=20).ok  # and the next command reconnects


def test_a_command_that_times_out_leaves_the_others_on_its_connection_running(shell):
    """Monitors and attackers share a node's connection. One probe running out of its short
    timeout (a loaded machine) used to close the connection under everybody else's command."""
    import threading

    assert shell.run(["true"], timeout=20).ok
    shared = shell._client
    results = {}

    def long_command():
        try:
            results["long"] = shell.run(["sh", "-c", "sleep 3; printf done"], timeout=30)
        except TransportError as error:
            results["long"] = error

    worker = threading.Thread(target=long_command)
    worker.start()
    try:
        with pytest.raises(TransportError, match="timed out"):
            shell.run(["sleep", "10"], timeout=1)
        # retired: the next command runs on a new connection...
        assert shell.run(["true"], timeout=20).ok
        assert shell._client is not shared
    finally:
        worker.join(30)
    long = results["long"]
    assert not isinstance(long, TransportError), long  # ...and the long one finished on the old
    assert long.ok and long.stdout == "done"
    assert shared.get_transport() is None or not shared.get_transport().is_active()  # then closed

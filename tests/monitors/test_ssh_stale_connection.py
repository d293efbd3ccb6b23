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

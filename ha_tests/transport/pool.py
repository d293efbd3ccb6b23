"""One shell per node for the whole run, created on first use and closed at the end."""

from __future__ import annotations

import threading

from ha_tests.inventory import Inventory, Node
from ha_tests.transport.base import Shell
from ha_tests.transport.local import LocalShell
from ha_tests.transport.ssh import SshShell


class ShellPool:
    def __init__(self, inventory: Inventory):
        self.inventory = inventory
        self._shells: dict[str, Shell] = {}
        self._lock = threading.Lock()

    def get(self, node: Node | str) -> Shell:
        if isinstance(node, str):
            node = self.inventory.node(node)
        with self._lock:
            shell = self._shells.get(node.name)
            if shell is None:
                shell = self._shells[node.name] = self._make(node)
            return shell

    def _make(self, node: Node) -> Shell:
        if node.transport == "local":
            return LocalShell(node.name)
        ssh = self.inventory.ssh_for(node)
        return SshShell(node.name, node.address, user=ssh.user or "root", port=ssh.port or 22,
                        key_file=ssh.key_file,
                        password=ssh.password.get_secret_value() if ssh.password else None,
                        known_hosts=ssh.known_hosts,
                        verify_host_keys=ssh.verify_host_keys is not False,
                        connect_timeout=ssh.connect_timeout or 5.0)

    def close(self) -> None:
        with self._lock:
            for shell in self._shells.values():
                shell.close()
            self._shells.clear()

"""What the runner hands to attackers and monitors: the target and how to reach it."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from ha_tests.events import EventLog
from ha_tests.inventory import Inventory, Node
from ha_tests.transport import Shell, ShellPool


class RunContext:
    def __init__(self, inventory: Inventory, events: EventLog | None = None):
        self.inventory = inventory
        self.events = events
        self.shells = ShellPool(inventory)
        self.stop = threading.Event()
        self._cloud_lock = threading.Lock()

    def shell(self, node: Node | str) -> Shell:
        return self.shells.get(node)

    def emit(self, kind: str, **fields: Any) -> None:
        if self.events is not None:
            self.events.emit(kind, **fields)

    def bmc(self, node: Node):
        """A BMC client for the node (IPMI or Redfish), from the inventory's bmc: block."""
        from ha_tests.bmc import connect
        from ha_tests.errors import PreflightError

        if node.bmc is None:
            raise PreflightError(f"node {node.name} has no 'bmc:' in the inventory")
        return connect(node.bmc.connection_mapping())

    @cached_property
    def cloud_config(self):
        """openstacksdk's config for the inventory's cloud (clouds.yaml conventions)."""
        import openstack.config

        auth = self.inventory.auth
        if auth is not None:
            config = openstack.config.OpenStackConfig(load_yaml_config=False,
                                                      load_envvars=False)
            return config.get_one(
                auth_type="password", region_name=auth.region_name, interface=auth.interface,
                auth={"auth_url": auth.auth_url, "username": auth.username,
                      "password": auth.password.get_secret_value(),
                      "project_name": auth.project_name,
                      "user_domain_name": auth.user_domain_name,
                      "project_domain_name": auth.project_domain_name})
        files = [self.inventory.clouds_yaml] if self.inventory.clouds_yaml else None
        config = openstack.config.OpenStackConfig(config_files=files) if files \
            else openstack.config.OpenStackConfig()
        return config.get_one(cloud=self.inventory.cloud)

    def cloud(self):
        """A new openstacksdk Connection (one per monitor: sessions are not shared)."""
        import openstack.connection

        with self._cloud_lock:
            region = self.cloud_config
        return openstack.connection.Connection(config=region)

    def secrets(self) -> list[str]:
        """Every secret the inventory knows, so the event log can mask them."""
        found = []
        for settings in [self.inventory.ssh] + [n.ssh for n in self.inventory.nodes if n.ssh]:
            if settings.password:
                found.append(settings.password.get_secret_value())
        if self.inventory.auth is not None:
            found.append(self.inventory.auth.password.get_secret_value())
        for node in self.inventory.nodes:
            if node.bmc and node.bmc.password:
                found.append(node.bmc.password.get_secret_value())
        return found

    def close(self) -> None:
        self.shells.close()

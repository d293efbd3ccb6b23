"""What the runner hands to attackers and monitors: the target and how to reach it."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from ha_tests import masking
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
        #: seconds the scenario holds each fault; self-healing attackers arm their node-side
        #: timers for this long when no ``duration`` is given
        self.fault_duration: float | None = None
        self._secrets = masking.remember_inventory(inventory)

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
    def _cloud_loader(self):
        """openstacksdk's config loader (clouds.yaml conventions); read once per run. The
        runner's OS_* variables (OS_CLOUD, OS_CLIENT_CONFIG_FILE, ...) count only when the
        inventory names no cloud at all (a Yardstick user's sourced openrc): they must never
        turn the inventory's own cloud into another."""
        import openstack.config

        inventory = self.inventory
        if inventory.auth is not None:
            return openstack.config.OpenStackConfig(load_yaml_config=False, load_envvars=False)
        if inventory.cloud or inventory.clouds_yaml:
            files = [inventory.clouds_yaml] if inventory.clouds_yaml else None
            return openstack.config.OpenStackConfig(config_files=files, load_envvars=False)
        return openstack.config.OpenStackConfig()

    def cloud_config(self, **overrides):
        """A NEW cloud region each call: openstacksdk keeps the session and token on it, so a
        shared one would let one monitor's token stand in for another's authentication."""
        auth = self.inventory.auth
        with self._cloud_lock:
            loader = self._cloud_loader
        if auth is not None:
            return loader.get_one(
                auth_type="password", region_name=auth.region_name, interface=auth.interface,
                auth={"auth_url": auth.auth_url, "username": auth.username,
                      "password": auth.password.get_secret_value(),
                      "project_name": auth.project_name,
                      "user_domain_name": auth.user_domain_name,
                      "project_domain_name": auth.project_domain_name}, **overrides)
        return loader.get_one(cloud=self.inventory.cloud, **overrides)

    def cloud(self, **overrides):
        """A new openstacksdk Connection with its own session (one per monitor)."""
        import openstack.connection

        return openstack.connection.Connection(config=self.cloud_config(**overrides))

    def secrets(self) -> list[str]:
        """Every secret the inventory knows (all of them already in ha_tests.masking.MASKER)."""
        return [v for v in (masking.secret_text(s) for s in self._secrets) if v]

    def close(self) -> None:
        self.shells.close()

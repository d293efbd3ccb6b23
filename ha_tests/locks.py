"""Cross-process locks per node (and per VIP), so parallel runs never attack one node twice.

pytest-xdist workers are separate processes: an in-memory lock cannot stop two of them from
powering off the same controller. An flock(2) on a file per resource does, and the kernel
releases it if the holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ha_tests.inventory import Inventory
from ha_tests.scenario import Scenario


def lock_dir(inventory: Inventory) -> Path:
    key = hashlib.sha256((inventory.source_file or inventory.name).encode()).hexdigest()[:12]
    base = Path(os.environ.get("HA_TESTS_LOCK_DIR", "/tmp/ha-tests-locks"))
    path = base / key
    path.mkdir(parents=True, exist_ok=True)
    return path


def resources(scenario: Scenario, inventory: Inventory) -> list[str]:
    """Every node a scenario may attack (all candidates of each target) and the VIPs it reads.

    Locking candidates rather than the final pick is deliberately coarse: the pick (random,
    or whoever holds the VIP) is only known at run time, after the lock must already be held.
    """
    if not scenario.attackers:
        return []
    names: set[str] = set()
    for spec in scenario.model.targets.values():
        names.update(spec.nodes)
        if spec.role:
            names.update(n.name for n in inventory.nodes_with_role(spec.role))
        if spec.service and spec.service in inventory.services:
            names.update(n.name for n in inventory.service_nodes(spec.service))
        if spec.pick in ("vip-holder", "not-vip-holder"):
            names.add(f"vip-{spec.vip}")
    return sorted(names)


@contextlib.contextmanager
def hold(inventory: Inventory, names: list[str], timeout: float = 3600.0) -> Iterator[float]:
    """Take the locks in sorted order (no deadlock); yields the seconds spent waiting."""
    directory = lock_dir(inventory)
    handles = []
    started = time.monotonic()
    try:
        for name in sorted(names):
            handle = open(directory / f"{name}.lock", "w")  # noqa: SIM115 - held until exit
            handles.append(handle)
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() - started > timeout:
                        raise TimeoutError(f"waited {timeout:g} s for node lock '{name}'")\
                            from None
                    time.sleep(0.1)
        yield time.monotonic() - started
    finally:
        for handle in handles:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

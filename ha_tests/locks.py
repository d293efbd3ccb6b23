"""Cross-process locks per node (and per VIP), so parallel runs never attack one node twice.

Two runs against one inventory (two shells, pytest-xdist workers, a CI job beside a person)
are separate processes: an in-memory lock cannot stop two of them from powering off the same
controller. An flock(2) on a file per resource does, and the kernel releases it if the
holder dies. The files live in a private (0700) directory beside the fault ledger, never at a
predictable path in /tmp, and are opened without following symlinks, so a planted link can
neither be truncated nor redirect a lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from ha_tests.errors import HaTestsError
from ha_tests.inventory import Inventory
from ha_tests.scenario import Scenario


class LockError(HaTestsError):
    """The lock directory or a lock file is not safe to use."""


class LockTimeout(LockError):
    """Another run held a node for longer than this run would wait."""


def state_dir() -> Path:
    base = os.environ.get("HA_TESTS_STATE_DIR")
    if base:
        return Path(base)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "ha-tests"


def _private_dir(path: Path) -> Path:
    """Make (or check) a directory only its owner can enter; refuse a link or a shared one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise LockError(f"lock directory {path} is not a plain directory (a symlink?); "
                        "remove it and run again")
    if info.st_uid != os.getuid():
        raise LockError(f"lock directory {path} belongs to uid {info.st_uid}, not to this "
                        "user; remove it or set HA_TESTS_STATE_DIR to a directory of yours")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def lock_key(inventory: Inventory) -> str:
    """One key per inventory file, however the path to it is spelt."""
    # TODO: use Inventory.identity once it exists (the same cloud under another file name)
    source = inventory.source_file
    where = os.path.realpath(source) if source else f"<unnamed>:{inventory.name}"
    return hashlib.sha256(where.encode()).hexdigest()[:16]


def lock_dir(inventory: Inventory) -> Path:
    base = Path(os.environ["HA_TESTS_LOCK_DIR"]) if os.environ.get("HA_TESTS_LOCK_DIR") \
        else state_dir() / "locks"
    _private_dir(base)
    return _private_dir(base / lock_key(inventory))


def resources(scenario: Scenario, inventory: Inventory) -> list[str]:
    """Every node a scenario may touch (all candidates of each target) and the VIPs it reads.

    Locking candidates rather than the final pick is deliberately coarse: the pick (random,
    or whoever holds the VIP) is only known at run time, after the lock must already be held.
    A scenario that touches nothing (no attacker, operation or command monitor) locks nothing.
    """
    from ha_tests.destructive import destructive_reasons

    if not destructive_reasons(scenario):
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


def _open_lock_file(path: Path) -> int:
    """Open (creating, never truncating) a lock file; a symlink is refused, not followed."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise LockError(f"lock file {path} is a symlink; refusing to follow it (remove "
                            "it and check who can write to that directory)") from None
        raise LockError(f"cannot open lock file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LockError(f"lock file {path} is not a regular file; remove it and run again")
    return fd


@contextlib.contextmanager
def hold(inventory: Inventory, names: list[str], timeout: float = 3600.0) -> Iterator[float]:
    """Take the locks in sorted order (no deadlock); yields the seconds spent waiting."""
    directory = lock_dir(inventory) if names else None
    fds: list[int] = []
    started = time.monotonic()
    try:
        for name in sorted(names):
            assert directory is not None
            fd = _open_lock_file(directory / f"{name}.lock")
            fds.append(fd)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() - started > timeout:
                        raise LockTimeout(f"waited {timeout:g} s for node lock '{name}' "
                                          f"({directory}): another run holds it") from None
                    time.sleep(0.1)
        yield time.monotonic() - started
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

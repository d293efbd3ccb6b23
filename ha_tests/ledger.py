"""The fault ledger: faults in force, on disk, so a runner killed with -9 strands nothing.

An entry is written (and fsynced) *before* a fault is injected and removed only after its
final heal was verified. While inject runs, the attacker rewrites the entry's state before
each step that changes the cloud (the node it is about to switch off, the PIDs it is about to
kill), so a kill -9 at any moment leaves an entry that names what may have changed.
``ha-tests heal`` and the start of every run read the entries whose runner is gone and heal
them again, idempotently. Entries never hold secrets: the inventory is referenced by its
identity (resolved file, fingerprint of its nodes) and re-read when healing.

An entry that cannot be read (truncated, not a mapping, fields missing) is not skipped: it
may stand for a fault still in force, so it is reported with what to do and blocks runs.

An operation with an ``undo`` (a server it booted, a flavor it made) has an entry of kind
``operation-undo`` from before it runs until its undo ran, with the variables the undo may
need; a heal runs that undo once.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ha_tests.inventory import InventoryIdentity


def ledger_dir() -> Path:
    base = os.environ.get("HA_TESTS_STATE_DIR")
    if base:
        path = Path(base) / "ledger"
    else:
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        path = Path(state) / "ha-tests" / "ledger"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _process_start(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


KIND_UNDO = "operation-undo"

#: fields every entry must have, with their JSON types; and those of each kind
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "run_id": str, "scenario": str, "type": str, "params": dict, "nodes": list,
    "state": dict, "inventory": dict}
_KIND_FIELDS: dict[str | None, dict[str, type | tuple[type, ...]]] = {
    None: {"attacker": str}, KIND_UNDO: {"operation": str}}
#: the inventory's path, as far as it can be read out of a damaged entry
_INVENTORY_PATH = re.compile(r'"inventory":\s*\{\s*"path":\s*("(?:[^"\\]|\\.)*")')


def _problem(data: Any) -> str | None:
    """Why a decoded entry cannot be healed from, or None when it can."""
    if not isinstance(data, dict):
        return f"it holds a JSON {type(data).__name__}, not a mapping"
    if data.get("kind") not in _KIND_FIELDS:
        return f"its kind {data.get('kind')!r} is not one this ha-tests knows"
    wanted = {**_FIELDS, **_KIND_FIELDS[data.get("kind")]}
    for key, kind in wanted.items():
        if not isinstance(data.get(key), kind):
            return (f"'{key}' is missing or not a {getattr(kind, '__name__', kind)}"
                    + (" (written by an older ha-tests?)" if key == "inventory" else ""))
    if InventoryIdentity.from_json(data["inventory"]) is None:
        return "'inventory' has no fingerprint"
    if not all(isinstance(n, str) for n in data["nodes"]):
        return "'nodes' is not a list of node names"
    return None


@dataclass
class LedgerEntry:
    path: Path
    data: dict[str, Any]
    #: why this entry cannot be used (truncated, not a mapping...), None when it can
    problem: str | None = None
    #: for an unusable entry, the inventory file it names if that much is readable
    damaged_inventory_path: str | None = None

    @property
    def name(self) -> str:
        """The attacker's name, or the operation's for an undo entry."""
        if self.problem:
            return self.path.name
        return str(self.data.get("attacker") or self.data.get("operation") or "?")

    @property
    def inventory(self) -> InventoryIdentity | None:
        """Which inventory the fault was injected through (None for an unusable entry)."""
        return None if self.problem else InventoryIdentity.from_json(self.data["inventory"])

    @property
    def inventory_path(self) -> str | None:
        identity = self.inventory
        return identity.path if identity is not None else self.damaged_inventory_path

    def fix(self) -> str:
        """What a person does about an unusable entry."""
        return (f"ledger entry {self.path} cannot be read: {self.problem}. The fault it "
                "recorded may still be in force: check the nodes it names (look inside the "
                "file) and heal them by hand, then remove it (rm "
                f"'{self.path}'); until then runs against its inventory are refused")

    @property
    def is_undo(self) -> bool:
        return self.data.get("kind") == KIND_UNDO

    @property
    def owner_alive(self) -> bool:
        """True while the runner that wrote it still runs (pid and start time both match)."""
        if self.problem:
            return False  # our own writes are atomic: damage never comes from a live runner
        pid, started = self.data.get("pid"), self.data.get("pid_start")
        return isinstance(pid, int) and pid > 0 and _process_start(pid) == started


class Ledger:
    def __init__(self, directory: Path | None = None):
        self.directory = directory or ledger_dir()
        self.run_id = uuid.uuid4().hex[:12]

    def _write(self, path: Path, data: dict[str, Any]) -> None:
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def record(self, *, scenario: str, attacker: str, plugin_type: str, params: dict,
               nodes: list[str], inventory: InventoryIdentity,
               state: dict[str, Any] | None = None) -> Path:
        """Write the entry before injecting; returns its path for later updates."""
        path = self.directory / f"{self.run_id}-{attacker}.json"
        self._write(path, {
            "run_id": self.run_id, "scenario": scenario, "attacker": attacker,
            "type": plugin_type, "params": params, "nodes": nodes,
            "inventory": inventory.to_json(), "state": state or {}, "created": time.time(),
            "pid": os.getpid(), "pid_start": _process_start(os.getpid()),
        })
        return path

    def record_undo(self, *, scenario: str, operation: str, plugin_type: str, params: dict,
                    nodes: list[str], inventory: InventoryIdentity, timeout: float,
                    iteration: int, variables: dict[str, str]) -> Path:
        """Written before an operation with an undo runs; its state is the variables."""
        path = self.directory / f"{self.run_id}-op-{operation}-{iteration}.json"
        self._write(path, {
            "run_id": self.run_id, "kind": KIND_UNDO, "scenario": scenario,
            "operation": operation, "type": plugin_type, "params": params, "nodes": nodes,
            "inventory": inventory.to_json(), "timeout": timeout, "iteration": iteration,
            "state": {"variables": variables}, "created": time.time(),
            "pid": os.getpid(), "pid_start": _process_start(os.getpid()),
        })
        return path

    def update_state(self, path: Path, state: dict[str, Any]) -> None:
        """Before each step of inject and after it: what the fault may have changed (nodes,
        PIDs, rule tags), so a heal can find it."""
        with contextlib.suppress(FileNotFoundError):
            data = json.loads(path.read_text())
            data["state"] = state
            self._write(path, data)

    def clear(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def entries(self) -> list[LedgerEntry]:
        """Every entry, unusable ones included (with their problem): none is skipped."""
        return [_read(path) for path in sorted(self.directory.glob("*.json"))]

    def orphans(self) -> list[LedgerEntry]:
        """Entries whose runner is gone: their faults may still be in force."""
        return [e for e in self.entries() if not e.owner_alive]


def _read(path: Path) -> LedgerEntry:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LedgerEntry(path, {}, f"it cannot be read ({exc})")
    try:
        data = json.loads(text)
    except ValueError as exc:
        found = _INVENTORY_PATH.search(text)
        inventory_path = None
        with contextlib.suppress(ValueError):
            inventory_path = json.loads(found.group(1)) if found else None
        return LedgerEntry(path, {}, f"it is truncated or not JSON ({exc})", inventory_path)
    problem = _problem(data)
    if problem is not None:
        inventory = data.get("inventory") if isinstance(data, dict) else None
        path_named = inventory.get("path") if isinstance(inventory, dict) else None
        return LedgerEntry(path, {}, problem,
                           path_named if isinstance(path_named, str) else None)
    return LedgerEntry(path, data)

"""The fault ledger: faults in force, on disk, so a runner killed with -9 strands nothing.

An entry is written (and fsynced) *before* a fault is injected and removed only after its
final heal was verified. ``ha-tests heal`` and the start of every run read the entries whose
runner is gone and heal them again, idempotently. Entries never hold secrets: the inventory is
referenced by path and re-read when healing.

An operation with an ``undo`` (a server it booted, a flavor it made) has an entry of kind
``operation-undo`` from before it runs until its undo ran, with the variables the undo may
need; a heal runs that undo once.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


@dataclass
class LedgerEntry:
    path: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """The attacker's name, or the operation's for an undo entry."""
        return str(self.data.get("attacker") or self.data.get("operation") or "?")

    @property
    def is_undo(self) -> bool:
        return self.data.get("kind") == KIND_UNDO

    @property
    def owner_alive(self) -> bool:
        """True while the runner that wrote it still runs (pid and start time both match)."""
        pid, started = self.data.get("pid"), self.data.get("pid_start")
        return bool(pid) and _process_start(pid) == started


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
               nodes: list[str], inventory_file: str | None) -> Path:
        """Write the entry before injecting; returns its path for later updates."""
        path = self.directory / f"{self.run_id}-{attacker}.json"
        self._write(path, {
            "run_id": self.run_id, "scenario": scenario, "attacker": attacker,
            "type": plugin_type, "params": params, "nodes": nodes,
            "inventory_file": inventory_file, "state": {}, "created": time.time(),
            "pid": os.getpid(), "pid_start": _process_start(os.getpid()),
        })
        return path

    def record_undo(self, *, scenario: str, operation: str, plugin_type: str, params: dict,
                    nodes: list[str], inventory_file: str | None, timeout: float,
                    iteration: int, variables: dict[str, str]) -> Path:
        """Written before an operation with an undo runs; its state is the variables."""
        path = self.directory / f"{self.run_id}-op-{operation}-{iteration}.json"
        self._write(path, {
            "run_id": self.run_id, "kind": KIND_UNDO, "scenario": scenario,
            "operation": operation, "type": plugin_type, "params": params, "nodes": nodes,
            "inventory_file": inventory_file, "timeout": timeout, "iteration": iteration,
            "state": {"variables": variables}, "created": time.time(),
            "pid": os.getpid(), "pid_start": _process_start(os.getpid()),
        })
        return path

    def update_state(self, path: Path, state: dict[str, Any]) -> None:
        """After injecting: what the fault changed (PIDs, rule tags) so a heal can find it."""
        with contextlib.suppress(FileNotFoundError):
            data = json.loads(path.read_text())
            data["state"] = state
            self._write(path, data)

    def clear(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def entries(self) -> list[LedgerEntry]:
        found = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                found.append(LedgerEntry(path, json.loads(path.read_text())))
            except (OSError, json.JSONDecodeError):
                continue
        return found

    def orphans(self) -> list[LedgerEntry]:
        """Entries whose runner is gone: their faults may still be in force."""
        return [e for e in self.entries() if not e.owner_alive]

"""Small host helpers: run a command, read /proc, wait for a condition.

Process identity is (pid, start time): a PID alone can be reused after a node dies, and the
lab's state files outlive the processes they name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class LabError(RuntimeError):
    """Something the lab could not do; the message says what and, when known, how to fix it."""


def run(args: Sequence[str], *, check: bool = True, timeout: float = 60,
        input: str | None = None, env: dict | None = None,
        redact: str | None = None) -> subprocess.CompletedProcess:
    """Run a command; on failure LabError with its output (``redact`` masked everywhere)."""
    try:
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                                input=input, env=env)
    except FileNotFoundError:
        raise LabError(f"{args[0]}: command not found") from None
    if check and result.returncode != 0:
        text = (f"{' '.join(args)} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}")
        raise LabError(text.replace(redact, "***") if redact else text)
    return result


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(["ip", *args], check=check)


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, bridges, raw sockets): "
                       "run it with sudo")


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.1):
    """The predicate's first truthy value within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def _status_fields(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            return dict(line.rstrip("\n").split(":\t", 1) for line in handle if ":\t" in line)
    except OSError:
        return {}


def nspids(pid: int) -> list[int]:
    """The PID of ``pid`` in each nested PID namespace, outermost first ([] if gone)."""
    value = _status_fields(pid).get("NSpid", "")
    return [int(p) for p in value.split()]


def start_time(pid: int) -> int | None:
    """Start time in clock ticks since boot, None if the process is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def alive(pid: int, started: int | None = None) -> bool:
    now = start_time(pid)
    return now is not None and (started is None or now == started)


def rss_kib(pid: int) -> int:
    return int(_status_fields(pid).get("VmRSS", "0 kB").split()[0])


def pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def kill(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def netns_list() -> list[str]:
    result = ip("netns", "list", check=False)
    return [line.split()[0] for line in result.stdout.splitlines() if line.strip()]


def netns_pids(netns: str) -> list[int]:
    result = ip("netns", "pids", netns, check=False)
    return [int(p) for p in result.stdout.split() if p.isdigit()]


class SecretText(str):
    """A secret of the lab's: its value wherever a string is used, ``'***'`` as a repr (a
    failing test's traceback shows each frame's arguments by their repr: lab up's passwords
    were in CI's output)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def read_secret(path) -> SecretText:
    return SecretText(Path(path).read_text().strip())


def write_secret(path, text: str) -> None:
    """Write a file readable by its owner only, never briefly world-readable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)

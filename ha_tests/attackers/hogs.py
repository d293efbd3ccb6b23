"""Resource hogs: cpu-hog, memory-hog, disk-fill, io-stall — bounded, tagged, self-ending.

Yardstick's stress-cpu starts unbounded busy loops it later kills by name, and its disk fault
writes a 246 GB file onto ``/``. These hogs are bounded three ways: by size (refusing what
would starve the node: a fraction of MemAvailable, a minimum of free disk), by time (every
process runs under coreutils ``timeout``, and a node-side dead-man timer removes the files;
disk-fill's file is unlinked while held open, so even a reboot frees it),
and by identity (every process group and file carries this run's id, so rollback kills and
deletes exactly its own). Only tools of a Debian base system are used: sh, dd, head, timeout,
getconf, fallocate (dd when the file system cannot preallocate).

Examples::

    - type: cpu-hog                # tc051
      target: victim
      workers: 0                   # 0: one busy loop per online CPU of the node
      duration: 30
    - type: memory-hog
      target: victim
      mib: 2048
      max_fraction: 0.5            # refuse more than half of MemAvailable
      duration: 30
    - type: disk-fill
      target: victim
      dir: /var/lib/mysql
      mib: 4096
      min_free_percent: 10         # refuse to leave less than 10 % free
      duration: 60
    - type: io-stall               # tc052
      target: victim
      dir: /var/lib/nova
      writers: 4                   # concurrent dd ... conv=fsync loops
      mib: 256                     # per writer file
      duration: 30
"""

from __future__ import annotations

import posixpath
import time
from typing import Any, ClassVar

from pydantic import Field, field_validator

from ha_tests.attackers import deadman
from ha_tests.attackers.base import Attacker, AttackerState
from ha_tests.errors import PreflightError, RollbackError, TransportError
from ha_tests.inventory import Node
from ha_tests.transport import Shell, script
from ha_tests.validation import StrictModel

#: kill this hog's process groups, delete its files ($1 kind, $2 id, $3 dir or empty)
HEAL = deadman.KILL_TAGGED_FN + r"""
ha_kill_tagged KILL "$1" "$2" >/dev/null
if [ -n "$3" ]; then rm -f -- "$3"/.ha-tests-"$1"-"$2"*; fi
exit 0
"""

#: this hog's files still present
_FILES = 'for f in "$3"/.ha-tests-"$1"-"$2"*; do [ -e "$f" ] && echo "$f"; done\nexit 0\n'

_CPU = r"""
i=0
while [ "$i" -lt "$1" ]; do
  ( while :; do :; done ) &
  i=$((i+1))
done
wait
"""

#: dd holds one block of $1 MiB (read from /dev/zero, so really resident) until killed: it
#: cannot finish writing it into a pipe nobody reads
_MEMORY = 'dd if=/dev/zero bs="$1"M count=1 iflag=fullblock 2>/dev/null | sleep "$2"\n'

#: $1 writers, each rewriting its own $2 MiB file with an fsync per pass, under $3/$4
_IO = r"""
i=0
while [ "$i" -lt "$1" ]; do
  f="$3/.ha-tests-io-stall-$4-$i"
  ( while :; do dd if=/dev/zero of="$f" bs=1M count="$2" conv=fsync 2>/dev/null; done ) &
  i=$((i+1))
done
wait
"""

#: allocate $2 MiB in $1, keep it open and unlink it: the space stays used while this shell
#: lives (until rollback, its timeout or a reboot kills it), and no file is left to outlive it
_HOLD = r"""
f="$1/.ha-tests-disk-fill-$3"
fallocate -l "$2"M -- "$f" 2>/dev/null \
  || dd if=/dev/zero of="$f" bs=1M count="$2" conv=fsync 2>/dev/null \
  || { rm -f -- "$f"; exit 1; }
exec 3<"$f" || { rm -f -- "$f"; exit 1; }
rm -f -- "$f"
sleep "$4"
"""

_DF = 'cd -- "$1" || exit 3\ndf -Pk . | tail -n 1\n'

#: the apply of every hog's round trip (deadman.arm_apply): $1 kind, $2 id, $3 seconds, $4
#: the hog's code, then its arguments; @BEFORE@ may rewrite them, @AFTER@ may wait for the
#: hog (its leader is $_leader); "key value" lines go back to the runner
_LAUNCH = r"""
_hk=$1; _hi=$2; _hs=$3; _hc=$4; shift 4
@BEFORE@
setsid timeout -s KILL "$_hs" sh -c "$_hc" "ha-tests:$_hk:$_hi" "$@" </dev/null >/dev/null 2>&1 &
_leader=$!
echo "leader $_leader"
@AFTER@
"""

#: cpu-hog: one busy loop per online CPU when asked for 0
_CPU_BEFORE = '[ "$1" -gt 0 ] || set -- "$(getconf _NPROCESSORS_ONLN)"\necho "workers $1"'

#: disk-fill: wait (at most $5 s) until a process of the hog's group holds the unlinked file
#: ($1 dir, $3 id); only that group's descriptors are read (one readlink per process of a
#: whole /proc takes seconds on a busy host)
_HELD_AFTER = r"""
_f="$1/.ha-tests-disk-fill-$3"; _n=0; _max=$(( ${5%.*} * 20 ))
while :; do
  for _d in /proc/[0-9]*; do
    { read -r _st < "$_d/stat"; } 2>/dev/null || continue
    _st=${_st##*) }; set -f; set -- $_st; set +f
    [ "$3" = "$_leader" ] || continue
    [ "$(readlink "$_d/fd/3" 2>/dev/null)" = "$_f (deleted)" ] && exit 0
  done
  if ! kill -0 "$_leader" 2>/dev/null; then
    echo "the filler ended first: no space, or a duration too short to see it" >&2; exit 4
  fi
  _n=$((_n + 1))
  [ "$_n" -lt "$_max" ] || { echo "still allocating at the deadline" >&2; exit 4; }
  sleep 0.05
done
"""


class HogParams(StrictModel):
    duration: float | None = Field(None, gt=0, le=3600,
                                   description="seconds the hog lasts at most (node-side "
                                               "timers); default: the scenario's fault hold")


class DirParams(HogParams):
    dir: str = Field(description="absolute directory on the node")
    mib: int = Field(ge=1, le=1024 * 1024)
    min_free_percent: float = Field(10.0, ge=1, le=99,
                                    description="refuse to leave less than this free")

    @field_validator("dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or "\0" in value or "\n" in value:
            raise ValueError(f"{value!r} is not an absolute directory")
        return posixpath.normpath(value)


class HogState(AttackerState):
    #: tags this hog's processes, files and timers
    ident: str = ""
    #: node name -> when it started there and what it started
    started: dict[str, dict[str, Any]] = {}


class _Hog(Attacker):
    """Launch, heal and verify shared by the four hogs; subclasses say what runs."""

    kind: ClassVar[str] = ""
    self_healing = True
    State = HogState

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ident = deadman.new_id()
        self.started: dict[str, dict[str, Any]] = {}

    @property
    def duration(self) -> float:
        return deadman.fault_seconds(self, self.params.duration)

    @property
    def directory(self) -> str:
        return getattr(self.params, "dir", "")

    def preflight(self) -> None:
        self.duration  # noqa: B018 - raises PreflightError when nothing says how long
        for node in self.nodes:
            self.check_node(node)

    def check_node(self, node: Node) -> None:
        """Raise PreflightError when this hog would starve or cannot run on the node."""

    def prepare(self, node: Node, shell: Shell) -> dict[str, Any]:
        """What is checked on the node again right before the fault (free space)."""
        return {}

    #: the hog's code ($0 its tag) and what @BEFORE@ / @AFTER@ of _LAUNCH are for it
    code: ClassVar[str] = ""
    before: ClassVar[str] = ""
    after: ClassVar[str] = ""

    def hog_args(self) -> list[str]:
        return []

    def inject(self) -> dict[str, Any]:
        seconds = self.duration
        self.on_each(self.nodes, lambda node: self._start(node, seconds))
        return {"tag": deadman.tag(self.kind, self.ident), "duration": seconds,
                "nodes": self.started}

    def _start(self, node: Node, seconds: float) -> None:
        """Arm the timer, start the hog, check the timer: one round trip (and one before it
        for the hogs that check free space again)."""
        shell = self.ctx.shell(node)
        facts = self.prepare(node, shell)
        with self.ledger_lock:
            self.started[node.name] = {"at": time.time()}
            self.checkpoint()
        body = _LAUNCH.replace("@BEFORE@", self.before).replace("@AFTER@", self.after)
        applied = deadman.arm_apply(
            shell, self.kind, self.ident, seconds, HEAL,
            [self.kind, self.ident, self.directory], body,
            [self.kind, self.ident, f"{seconds:g}", self.code, *self.hog_args()],
            timeout=deadman.ARM_TIMEOUT + 30 + self.wait_seconds())
        self.note_fault(node.name, applied)
        for line in applied.output.splitlines():
            key, _, value = line.partition(" ")
            if value.strip().isdigit():
                facts[key] = int(value)
        with self.ledger_lock:
            self.started[node.name].update(self.describe_start(facts))

    def wait_seconds(self) -> float:
        """How long the apply may wait for the hog to be in force."""
        return 0.0

    def describe_start(self, facts: dict[str, Any]) -> dict[str, Any]:
        return facts

    def leftovers(self, node: Node | str) -> dict[str, list]:
        shell = self.ctx.shell(node)
        left: dict[str, list] = {"pids": deadman.tagged_pids(shell, self.kind, self.ident)}
        if self.directory:
            out = shell.run(script(_FILES, self.kind, self.ident, self.directory), timeout=10)
            left["files"] = out.check().stdout.splitlines()
        return {k: v for k, v in left.items() if v}

    def rollback(self) -> dict[str, Any]:
        if not self.ident:
            return {"note": "which hog is unknown: left to its node-side timers, verified"}
        names = list(self.started)
        return {"stopped": dict(zip(names, self.on_each(names, self._stop), strict=True))}

    def _stop(self, name: str) -> dict[str, Any]:
        shell = self.ctx.shell(name)
        try:
            # again while anything is left: a process caught mid-exec shows no command
            # line for an instant, so one pass can miss a group started just now
            for _attempt in range(5):
                deadman.heal_disarm(shell, self.kind, self.ident, HEAL, self.kind,
                                    self.ident, self.directory, timeout=30).check(
                    f"{name}: stopping {self.kind}")
                left = deadman.wait_gone(shell, self.kind, self.ident, seconds=1)
                if not left:
                    break
        except TransportError as exc:
            raise RollbackError(f"{self.name}: cannot stop {self.kind} on {name} ({exc}); "
                                "its timers end it") from None
        return {"left": left}

    def verify(self) -> None:
        for name in self.started:
            left = self.leftovers(name)
            if left:
                raise RollbackError(f"{self.name}: {self.kind} leftovers on {name}: {left}")

    def assume_unknown(self, missing: frozenset[str]) -> None:
        if "ident" in missing:  # verify looks for every hog of this kind (which is ours?)
            self.ident = ""
        if "started" in missing:
            self.started = {n.name: {} for n in self.nodes}

    def df(self, node: Node) -> tuple[int, int]:
        """(total MiB, available MiB) of the file system holding the directory."""
        result = self.ctx.shell(node).run(script(_DF, self.directory), timeout=10)
        if not result.ok:
            raise PreflightError(f"{self.name}: no directory {self.directory!r} on "
                                 f"{node.name}")
        fields = result.stdout.split()
        return int(fields[1]) // 1024, int(fields[3]) // 1024

    def check_space(self, node: Node, need_mib: int) -> dict[str, int]:
        total, avail = self.df(node)
        floor = total * self.params.min_free_percent / 100
        if avail - need_mib < floor:
            raise PreflightError(
                f"{self.name}: {need_mib} MiB in {self.directory} on {node.name} would leave "
                f"{max(avail - need_mib, 0)} of {total} MiB free, under min_free_percent "
                f"{self.params.min_free_percent:g}; ask for at most "
                f"{max(int(avail - floor), 0)} MiB")
        return {"total_mib": total, "available_mib": avail}

    def describe(self) -> str:
        return f"{self.name}: {self.kind} on " + ", ".join(n.name for n in self.nodes)


class CpuHogParams(HogParams):
    workers: int = Field(0, ge=0, le=4096, description="busy loops; 0 = one per online CPU")


class CpuHog(_Hog):
    """Busy loops in the shell, one per CPU by default (Yardstick tc051's stress-cpu)."""

    Params = CpuHogParams
    kind = "cpu-hog"

    code, before = _CPU, _CPU_BEFORE

    def hog_args(self) -> list[str]:
        return [str(self.params.workers)]


class MemoryHogParams(HogParams):
    mib: int = Field(ge=1, le=4 * 1024 * 1024)
    max_fraction: float = Field(0.5, gt=0, le=0.9,
                                description="refuse more than this fraction of MemAvailable")


class MemoryHog(_Hog):
    """Resident memory held by dd's one big block; the kernel must reclaim or swap around it."""

    Params = MemoryHogParams
    kind = "memory-hog"

    def _available_mib(self, node: Node) -> int:
        out = self.ctx.shell(node).run(["cat", "/proc/meminfo"], timeout=10).check()
        for line in out.stdout.splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
        raise PreflightError(f"{self.name}: no MemAvailable in /proc/meminfo of {node.name}")

    def check_node(self, node: Node) -> None:
        available = self._available_mib(node)
        if self.params.mib > available * self.params.max_fraction:
            raise PreflightError(
                f"{self.name}: {self.params.mib} MiB is more than {self.params.max_fraction:g}"
                f" of the {available} MiB available on {node.name}; ask for at most "
                f"{int(available * self.params.max_fraction)} MiB")

    code = _MEMORY

    def hog_args(self) -> list[str]:
        return [str(self.params.mib), f"{self.duration:g}"]

    def describe_start(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {"mib": self.params.mib, **facts}


class DiskFill(_Hog):
    """One preallocated file of bounded size: the disk-full failure, without filling /.

    The file is unlinked as soon as a detached, tagged shell holds it open: the space is
    used exactly as long as that shell lives, so a reboot of the node (which also ends the
    in-memory timer) frees it instead of leaving a file nobody removes.
    """

    Params = DirParams
    kind = "disk-fill"

    def check_node(self, node: Node) -> None:
        self.check_space(node, self.params.mib)

    code, after = _HOLD, _HELD_AFTER

    def prepare(self, node: Node, shell: Shell) -> dict[str, Any]:
        return self.check_space(node, self.params.mib)  # again: the disk may have filled

    def wait_seconds(self) -> float:
        return max(60.0, self.params.mib / 50)

    def hog_args(self) -> list[str]:
        return [self.directory, str(self.params.mib), self.ident, f"{self.duration:g}",
                f"{self.wait_seconds():.0f}"]

    def describe_start(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {"file": f"{self.directory}/.ha-tests-disk-fill-{self.ident} (unlinked, held "
                        f"open by {facts.get('leader')})", "mib": self.params.mib, **facts}


class IoStallParams(DirParams):
    writers: int = Field(4, ge=1, le=64)
    mib: int = Field(256, ge=1, le=64 * 1024, description="size of each writer's file")


class IoStall(_Hog):
    """Concurrent writers each rewriting a bounded file with fsync (Yardstick tc052)."""

    Params = IoStallParams
    kind = "io-stall"

    def check_node(self, node: Node) -> None:
        self.check_space(node, self.params.mib * self.params.writers)

    code = _IO

    def prepare(self, node: Node, shell: Shell) -> dict[str, Any]:
        return self.check_space(node, self.params.mib * self.params.writers)

    def hog_args(self) -> list[str]:
        return [str(self.params.writers), str(self.params.mib), self.directory, self.ident]

    def describe_start(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {"writers": self.params.writers, "mib_each": self.params.mib, **facts}

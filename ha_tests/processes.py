"""Precise process matching on a node: a regex over each full command line.

Yardstick greps `ps` output for a substring, which also matches the grep itself, editors and
unrelated processes. Here the node only lists /proc (data, one line per process) and the
pattern is matched on the runner with Python's re, so it means exactly what it says.

A pattern can still mean more than its author thought (``"|.*"`` matches everything), so
what a kill or a freeze may signal is decided on the node, by a guard that no pattern can
widen: the node's PID 1, every sshd, the chain of processes the command itself runs under
(the runner and its parents with ``transport: local``, the sshd session over SSH), over SSH
everything that session runs (the runner's other commands), and the dead-man timers and jobs
of ha_tests.attackers.deadman (they heal other faults). The guard is evaluated
again right before each signal, so a PID that became one of these meanwhile is spared too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ha_tests.errors import TransportError
from ha_tests.transport import Shell, script
from ha_tests.transport.local import LocalShell

#: shell functions: ``guard_init MODE`` learns, in one pass over /proc/*/stat (one awk), which
#: processes must never be signalled; ``spared PID`` sets ``why`` to the guard's short reason
#: (empty when it may be), which _WHY turns into words on the runner
_GUARD = r"""
guard_init() {
  tagp=ha-tests; tagged=
  for f in $(grep -alF -e "$tagp:" /proc/[0-9]*/cmdline 2>/dev/null); do
    f=${f#/proc/}; tagged="$tagged ${f%/cmdline}"
  done
  guard=$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v self="$$" -v mode="$1" \
    -v tagged="$tagged" '
    {
      rest = $0; sub(/.*\) /, "", rest); split(rest, f, " ")
      comm = $0; sub(/^[0-9]+ \(/, "", comm); sub(/\) [^)]*$/, "", comm)
      pp[$1] = f[2]; pg[$1] = f[3]; cm[$1] = comm
    }
    END {
      a = self; session = ""
      while (a > 1) {
        chain[a] = 1
        if (session == "" && cm[a] ~ /^sshd(-session|-auth)?$/) session = a
        if (!(a in pp)) break
        a = pp[a]
      }
      if (mode != "ssh") session = ""
      n = split(tagged, t, " "); for (i = 1; i <= n; i++) tag[t[i]] = 1
      for (p in pp) {
        why = ""
        if (p == 1) why = "init"
        else if (p in chain) why = (mode == "ssh") ? "session" : "runner"
        else if (cm[p] ~ /^sshd(-session|-auth)?$/) why = "sshd"
        else if ((p in tag) || (pg[p] in tag)) why = "timer"
        else {
          q = p; d = 0
          while ((q in pp) && d < 100) {
            q = pp[q]; d++
            if (q == self) { why = "own"; break }
            if (session != "" && q == session) { why = "session"; break }
            if (q <= 1) break
          }
        }
        if (why != "") printf " %s:%s", p, why
      }
    }')
  guard="$guard "
}
spared() {
  why=
  case $guard in *" $1:"*) ;; *) return 0;; esac
  why=${guard#*" $1:"}; why=${why%% *}
}
"""

#: $1 = "" (observe only), local or ssh (also say which processes a signal must spare).
#: One pass: the guard (when asked) as one line, then every command line at once from one
#: grep (``-z``: one record per argument, each named by its file), so a listing costs a few
#: forks whatever the node runs; a grep without ``-z`` (busybox) gets the loop, a fork a
#: process. Processes started after the glob (grep itself) are not in it.
_LIST = _GUARD + r"""
mode=$1
if [ -n "$mode" ]; then guard_init "$mode"; printf 'guard\t%s\n' "$guard"; fi
if echo x | grep -a -H -s -z -q -e x 2>/dev/null; then
  printf 'records\n'
  grep -a -H -s -z -e '' /proc/[0-9]*/cmdline
  exit 0
fi
for d in /proc/[0-9]*; do
  p=${d#/proc/}
  [ "$p" = "$$" ] && continue
  c=$(tr '\000\n' '  ' < "$d/cmdline" 2>/dev/null) || continue
  [ -n "$c" ] || continue
  why=
  [ -n "$mode" ] && spared "$p"
  printf '%s\t%s\t%s\n' "$p" "$why" "$c"
done
"""
#: what the guard's short reasons mean ("sshd" says itself)
_WHY = {"init": "the node's init", "runner": "the runner or a process it runs under",
        "session": "the runner's SSH session", "timer": "a ha-tests dead-man timer or job",
        "own": "ha-tests' own command"}


def _why(code: str) -> str:
    return _WHY.get(code, code)

#: $1 = local or ssh, $2 = signal, then PIDs: signals those the guard allows, reports the rest
_SIGNAL = _GUARD + r"""
guard_init "$1"; sig=$2; shift 2
for p in "$@"; do
  spared "$p"
  if [ -n "$why" ]; then printf 'spared\t%s\t%s\n' "$p" "$why"; continue; fi
  kill -s "$sig" "$p" 2>/dev/null && printf 'signalled\t%s\n' "$p"
done
exit 0
"""

_MARKER = "ha-tests-ps"


@dataclass(frozen=True)
class Process:
    pid: int
    cmdline: str
    #: why a kill or a freeze must never signal it ("" when it may, or when not asked)
    spared: str = ""


def service_pattern(inventory, service: str | None, process: str | None, who: str) -> str:
    """The regex to match: an explicit ``process``, else the service's from the inventory."""
    from ha_tests.errors import PreflightError

    if process:
        return process
    entry = inventory.service(service) if service else None
    if entry is None or not entry.process:
        raise PreflightError(f"{who}: the inventory's services map has no process pattern "
                             f"for '{service}'")
    return entry.process


def _mode(shell: Shell) -> str:
    """Where the command runs under: the runner itself, or an sshd session on the node."""
    return "local" if isinstance(shell, LocalShell) else "ssh"


def list_processes(shell: Shell, timeout: float = 10.0, *,
                   guarded: bool = False) -> list[Process]:
    """Every process with a command line; ``guarded`` also asks the node which to spare."""
    argv = script(_LIST, _mode(shell) if guarded else "")
    argv[3] = _MARKER  # $0 of the listing shell: lets us drop it and its subshells
    try:
        result = shell.run(argv, timeout=timeout)
    except TransportError:
        # it only reads: asked once more on a new connection (a node that just came back
        # from a power cycle may drop the first one)
        result = shell.run(argv, timeout=timeout)
    result.check("listing processes")
    return [p for p in _parse_listing(result.stdout) if _MARKER not in p.cmdline]


def _parse_listing(stdout: str) -> list[Process]:
    """What _LIST printed: the guard's line, then grep's records or the loop's lines."""
    head, records_sep, records = stdout.partition("records\n")
    if not records_sep:
        head, records = stdout, None
    guard: dict[str, str] = {}
    found: list[Process] = []
    for line in head.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "guard":
            for item in rest.split():
                pid, _, why = item.partition(":")
                guard[pid] = _why(why)
        elif records is None and kind.isdigit():  # the loop's "PID<TAB>why<TAB>cmdline"
            spared, _, cmdline = rest.partition("\t")
            found.append(Process(int(kind), cmdline.rstrip(), _why(spared)))
    if records is None:
        return found
    args: dict[str, list[str]] = {}
    for record in records.split("\0"):
        path, _, arg = record.partition(":")
        pid = path.removeprefix("/proc/").removesuffix("/cmdline")
        if pid.isdigit() and path == f"/proc/{pid}/cmdline":
            args.setdefault(pid, []).append(arg.replace("\n", " "))
    for pid, argv in args.items():
        cmdline = " ".join(argv).rstrip()
        if cmdline:
            found.append(Process(int(pid), cmdline, guard.get(pid, "")))
    return found


def matching(processes: list[Process], pattern: str) -> list[Process]:
    regex = re.compile(pattern)
    return [p for p in processes if regex.search(p.cmdline)]


def find(shell: Shell, pattern: str, timeout: float = 10.0) -> list[Process]:
    """What the pattern matches, to observe (monitors, status): nothing is spared."""
    return matching(list_processes(shell, timeout), pattern)


def victims(shell: Shell, pattern: str,
            timeout: float = 10.0) -> tuple[list[Process], list[Process]]:
    """(processes a kill or freeze may signal, matching processes the guard spares)."""
    found = matching(list_processes(shell, timeout, guarded=True), pattern)
    return [p for p in found if not p.spared], [p for p in found if p.spared]


def describe_spared(spared: list[Process], limit: int = 5) -> str:
    """``PID 812 (sshd), PID 1 (the node's init)`` for an error message."""
    text = ", ".join(f"PID {p.pid} ({p.spared})" for p in spared[:limit])
    return text + (f" and {len(spared) - limit} more" if len(spared) > limit else "")


#: the node-side signalling, for a command that does more in the same round trip:
#: arguments as signal_args() gives them, output read by signalled()
SIGNAL_BODY = _SIGNAL


def signal_args(shell: Shell, signal_name: str, pids: Iterable[int]) -> list[str]:
    return [_mode(shell), signal_name, *[str(int(p)) for p in pids]]


def send_signal(shell: Shell, signal_name: str, pids: Iterable[int],
                timeout: float = 10.0) -> tuple[list[int], dict[int, str]]:
    """Send a signal on the node to the PIDs its guard allows: (signalled, {spared: why})."""
    pids = [str(int(p)) for p in pids]
    if not pids:
        return [], {}
    result = shell.run(script(_SIGNAL, *signal_args(shell, signal_name, pids)),
                       timeout=timeout).check(f"sending SIG{signal_name}")
    return signalled(result.stdout)


def signalled(output: str) -> tuple[list[int], dict[int, str]]:
    """(PIDs signalled, {PID spared: why}) from what SIGNAL_BODY printed."""
    signalled, spared = [], {}
    for line in output.splitlines():
        fields = line.split("\t")
        if fields[0] == "signalled" and len(fields) == 2 and fields[1].isdigit():
            signalled.append(int(fields[1]))
        elif fields[0] == "spared" and len(fields) == 3 and fields[1].isdigit():
            spared[int(fields[1])] = _why(fields[2])
    return signalled, spared

"""Node-side dead-man timers and tagged detached jobs: faults that end without the runner.

A fault that can cut the runner off its target (a NIC down, a partition, 100 % loss) cannot
count on the runner to undo it, and a runner can die (kill -9, lost laptop) between inject and
rollback. So before such a fault is injected, the attacker arms a timer *on the node*: a
detached shell in its own session (setsid, stdio on /dev/null) that sleeps and then runs the
attacker's heal snippet. It survives the SSH session dropping, and is cancelled by rollback
once the runner has healed the fault itself.

Everything started this way carries a tag ``ha-tests:<kind>:<id>`` in its command line, with
a random id per attacker instance, so cleanup finds exactly its own processes and never a
neighbour's. Node-side snippets only ever receive the tag in two pieces (kind, id), so the
cleanup shell never matches itself.

Timers live in memory: a reboot of the node clears them, and with them every fault that lives
in memory too (link state, firewall rules, qdiscs, processes).
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from ha_tests.errors import PreflightError, TransportError
from ha_tests.transport import Shell, script

if TYPE_CHECKING:
    from ha_tests.attackers.base import Attacker

PREFIX = "ha-tests"
#: seconds to see a new timer armed (WAIT_FOR_GO gives it 30 s before it gives up)
ARM_TIMEOUT = 15.0

#: start "$@" detached: own session, no stdio tied to the (SSH) command; print its PID
_DETACH = r"""
command -v "$1" >/dev/null 2>&1 || { echo "not installed: $1" >&2; exit 127; }
"$@" </dev/null >/dev/null 2>&1 &
echo $!
"""

#: shell function: signal the process groups led by processes tagged "ha-tests:$2:$3"
KILL_TAGGED_FN = r"""
ha_kill_tagged() {
  _sig=$1; _tag="ha-tests:$2:$3"; _done=""
  read -r _st < /proc/$$/stat; _st=${_st##*) }
  set -f; set -- $_st; _mine=$3; set +f
  for _f in $(grep -alF -e "$_tag" /proc/[0-9]*/cmdline 2>/dev/null); do
    _p=${_f#/proc/}; _p=${_p%/cmdline}
    read -r _st < "/proc/$_p/stat" 2>/dev/null || continue
    _st=${_st##*) }; set -f; set -- $_st; set +f
    # only groups led by a tagged process (our setsid launches), never our own group
    [ "$3" = "$_p" ] || continue
    [ "$3" = "$_mine" ] && continue
    kill -s "$_sig" -- "-$3" 2>/dev/null && _done="$_done $3"
  done
  echo "$_done"
}
"""

#: list PIDs (one a line) of the processes tagged "ha-tests:$1:$2" or in a group they lead
_TAGGED = r"""
tag="ha-tests:$1:$2"; leaders=""; self=$$
for f in $(grep -alF -e "$tag" /proc/[0-9]*/cmdline 2>/dev/null); do
  p=${f#/proc/}; p=${p%/cmdline}; [ "$p" = "$self" ] || leaders="$leaders $p"
done
[ -n "$leaders" ] || exit 0
for d in /proc/[0-9]*; do
  p=${d#/proc/}; [ "$p" = "$self" ] && continue
  read -r st < "$d/stat" 2>/dev/null || continue
  st=${st##*) }; set -f; set -- $st; set +f
  [ "$1" = Z ] && continue  # dead, only not reaped yet
  case " $leaders " in *" $p "*|*" $3 "*) echo "$p" ;; esac
done
"""


#: prelude: wait (at most 30 s) for go() before the rest of the prelude injects the fault, so
#: the runner sees the timer armed before a fault that may cut it off exists
WAIT_FOR_GO = r"""
go=""; trap 'go=1' USR1
n=0; while [ -z "$go" ] && [ "$n" -lt 600 ]; do sleep 0.05; n=$((n+1)); done
trap - USR1
[ -n "$go" ] || exit 0
"""


def new_id() -> str:
    """A fresh id for one attacker instance: tags its rules, files, processes and timers."""
    return secrets.token_hex(4)


def tag(kind: str, ident: str) -> str:
    return f"{PREFIX}:{kind}:{ident}"


def timer_kind(kind: str) -> str:
    return f"{kind}.deadman"


def fault_seconds(attacker: Attacker, explicit: float | None) -> float:
    """The fault's own duration: the parameter, else the scenario's hold if the engine says it."""
    if explicit:
        return float(explicit)
    ctx = attacker.ctx
    hold = getattr(ctx, "fault_duration", None)
    if hold is None:
        hold = getattr(getattr(ctx, "timing", None), "fault_duration", None)
    if hold:
        return float(hold)
    raise PreflightError(f"{attacker.name}: set 'duration:' (seconds after which the node "
                         "heals the fault by itself; make it about timing.fault_duration)")


def detach(shell: Shell, argv: list[str], timeout: float = 10.0) -> int:
    """Start argv on the node in its own session, detached from the command; return its PID."""
    result = shell.run(script(_DETACH, "setsid", *argv), timeout=timeout)
    result.check(f"{shell.node_name}: starting {argv[0]} detached")
    return int(result.stdout.split()[-1])


def arm(shell: Shell, kind: str, ident: str, seconds: float, heal_body: str, *args: str,
        prelude: str = "", timeout: float = 10.0) -> int:
    """Arm a timer that runs heal_body (with args as $1...) on the node after seconds.

    Returns the timer's PID once it is known to be alive. heal_body (and prelude, run before
    the sleep: a fault that must not exist without its timer is best injected there) is
    constant code written by the attacker; every piece of user data travels in args.
    """
    code = f'secs=$1; shift\n{prelude}\nsleep "$secs" || exit 0\n{heal_body}'
    pid = detach(shell, ["sh", "-c", code, tag(timer_kind(kind), ident), f"{seconds:g}",
                         *map(str, args)], timeout=timeout)
    # armed = the shell and its first sleep both there (so a WAIT_FOR_GO trap is set); a
    # process in the middle of execve shows an empty command line for an instant, and on a
    # loaded node a listing can miss the short sleeps of WAIT_FOR_GO several times in a row
    deadline = time.monotonic() + ARM_TIMEOUT
    while len(tagged_pids(shell, timer_kind(kind), ident, timeout=timeout)) < 2:
        if time.monotonic() >= deadline:
            raise TransportError(f"{shell.node_name}: the dead-man timer (pid {pid}) is not "
                                 f"running (did not start, or its {seconds:g} s were over "
                                 "before it was seen); not injecting a fault nothing would "
                                 "heal")
        time.sleep(0.05)
    return pid


def check_armed(shell: Shell, kind: str, ident: str, heal_argv: list[str],
                seconds: float) -> None:
    """After injecting: the timer must still be waiting, or the fault has no dead-man.

    When injecting took longer than the fault's duration, the timer healed what was there
    and then ended; what was added after it is healed now, and the run is told.
    """
    if tagged_pids(shell, timer_kind(kind), ident):
        return
    shell.run(heal_argv, timeout=30)
    raise TransportError(f"{shell.node_name}: injecting took longer than the fault's "
                         f"duration ({seconds:g} s); its timer already fired and the fault "
                         "was healed; raise 'duration'")


def go(shell: Shell, kind: str, ident: str, timeout: float = 10.0) -> None:
    """Let a timer armed with WAIT_FOR_GO proceed to inject its fault."""
    if not kill_tagged(shell, timer_kind(kind), ident, "USR1", timeout=timeout):
        raise TransportError(f"{shell.node_name}: the dead-man timer is gone; not injecting")


def kill_tagged(shell: Shell, kind: str, ident: str, signal: str = "KILL",
                timeout: float = 10.0) -> list[int]:
    """Signal every process group led by a process tagged kind/ident; return the groups."""
    result = shell.run(script(KILL_TAGGED_FN + 'ha_kill_tagged "$1" "$2" "$3"\n',
                              signal, kind, ident), timeout=timeout)
    result.check(f"{shell.node_name}: stopping {kind} processes")
    return [int(p) for p in result.stdout.split() if p.isdigit()]


def disarm(shell: Shell, kind: str, ident: str, timeout: float = 10.0) -> list[int]:
    """Cancel the timer (sleep and all) once the runner has healed the fault itself."""
    return kill_tagged(shell, timer_kind(kind), ident, "TERM", timeout=timeout)


def tagged_pids(shell: Shell, kind: str, ident: str, timeout: float = 10.0) -> list[int]:
    """PIDs still alive that carry the tag or belong to a group a tagged process leads."""
    result = shell.run(script(_TAGGED, kind, ident), timeout=timeout)
    result.check(f"{shell.node_name}: listing {kind} processes")
    return sorted(int(p) for p in result.stdout.split() if p.isdigit())


def wait_gone(shell: Shell, kind: str, ident: str, seconds: float = 5.0) -> list[int]:
    """Wait (bounded) until nothing tagged is left; return what still is."""
    deadline = time.monotonic() + seconds
    while True:
        left = tagged_pids(shell, kind, ident)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def wait_reachable(shell: Shell, until: float, attempt_timeout: float = 3.0) -> bool:
    """Poll the node with ``true`` until it answers or the monotonic deadline passes.

    Used after a fault that may have cut the runner's own connection: the persistent SSH
    connection is dropped after each failure so the next attempt really reconnects.
    """
    while True:
        remaining = until - time.monotonic()
        try:
            if shell.run(["true"], timeout=max(0.5, min(attempt_timeout, remaining))).ok:
                return True
        except TransportError:
            shell.close()
        if time.monotonic() >= until:
            return False
        time.sleep(min(0.5, max(0.0, until - time.monotonic())))

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ha_tests.errors import PreflightError, TransportError
from ha_tests.transport import CommandResult, Shell, script

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


#: the first half of WAIT_FOR_GO: the signal that says go is caught from here on
_GO_TRAP = """go=""; trap 'go=1' USR1\n"""
#: the second half: wait (at most 30 s) for it, or end without injecting anything
_GO_WAIT = r"""
n=0; while [ -z "$go" ] && [ "$n" -lt 600 ]; do sleep 0.05; n=$((n+1)); done
trap - USR1
[ -n "$go" ] || exit 0
"""
#: prelude: wait (at most 30 s) for go() before the rest of the prelude injects the fault, so
#: the runner sees the timer armed before a fault that may cut it off exists
WAIT_FOR_GO = _GO_TRAP + _GO_WAIT


#: ``arm_apply``'s round trip, up to the apply ($1 the timer's code, $2 kind, $3 id, $4
#: seconds, $5 how many of the other arguments are the timer's, then those, then the apply's):
#: start the timer detached, wait until the timer itself says it has started (it removes a
#: file: no listing of /proc can miss it), then the apply runs in a subshell
_ARM_APPLY_HEAD = r"""
_code=$1; _kind=$2; _id=$3; _secs=$4; _nh=$5; shift 5
_alive() {
  read -r _s < "/proc/$1/stat" 2>/dev/null || return 1
  _s=${_s##*) }; [ "${_s%% *}" != Z ]
}
command -v setsid >/dev/null 2>&1 || { echo "not installed: setsid" >&2; exit 127; }
_ready=$(mktemp "${TMPDIR:-/tmp}/.ha-tests-arming.XXXXXXXX") || exit 3
setsid sh -c "$_code" "ha-tests:$_kind.deadman:$_id" "$_secs" "$_ready" "$_nh" "$@" \
  </dev/null >/dev/null 2>&1 &
_tpid=$!
_n=0
while [ -e "$_ready" ]; do
  if ! _alive "$_tpid" || [ "$_n" -ge @TICKS@ ]; then
    rm -f -- "$_ready"
    kill -s KILL -- "-$_tpid" 2>/dev/null
    echo "the dead-man timer (pid $_tpid) did not start" >&2
    exit 90
  fi
  sleep 0.01; _n=$((_n+1))
done
shift "$_nh"
printf '\nha-tests-timer %s\n' "$_tpid"
_t0=$(date +%s.%N)
(
"""
#: after the apply: its moment on this node's clock, then the timer must still be waiting
_ARM_APPLY_TAIL = r"""
); _rc=$?
_t1=$(date +%s.%N)
printf '\nha-tests-fault-at %s %s\n' "$_t0" "$_t1"
[ "$_rc" = 0 ] || exit "$_rc"
_alive "$_tpid" || exit 91
exit 0
"""
#: the timer ``arm_apply`` starts: its own arguments kept, the file removed once it runs
_TIMER_HEAD = r"""secs=$1; _ready=$2; _nh=$3; shift 3
_i=0; for _a do shift; [ "$_i" -lt "$_nh" ] && set -- "$@" "$_a"; _i=$((_i+1)); done
"""
#: ``heal_disarm``'s round trip ($1 kind, $2 id, then the heal's arguments)
_HEAL_DISARM = KILL_TAGGED_FN + r"""
_kind=$1; _id=$2; shift 2
( @HEAL@
); _rc=$?
ha_kill_tagged TERM "$_kind.deadman" "$_id" >/dev/null
@AGAIN@
exit "$_rc"
"""
_TIMER_GONE, _TIMER_FIRED = 90, 91
_MARK_TIMER, _MARK_AT = "ha-tests-timer ", "ha-tests-fault-at "


@dataclass(frozen=True)
class Applied:
    """What one ``arm_apply`` round trip did on its node."""

    timer_pid: int
    #: the node's own clock (wall, seconds) right before and right after the apply
    fault_at: tuple[float, float]
    #: what the apply printed
    output: str


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
    go = prelude.startswith(WAIT_FOR_GO)  # then its trap is set before it says it runs
    if go:
        prelude = prelude[len(WAIT_FOR_GO):]
    return arm_apply(shell, kind, ident, seconds, heal_body, args, ":", prelude=prelude,
                     go=go, timeout=timeout + ARM_TIMEOUT).timer_pid


def arm_apply(shell: Shell, kind: str, ident: str, seconds: float, heal_body: str,
              heal_args: Sequence[str], apply_body: str, apply_args: Sequence[str] = (), *,
              prelude: str = "", go: bool = False, stdin: bytes | None = None,
              timeout: float = 30.0) -> Applied:
    """Arm the timer, inject, check the timer: one command, so one round trip per node.

    The order ``arm`` + inject + ``check_armed`` keep, on the node itself: the timer
    (heal_body with heal_args, after seconds) is known to run before apply_body (a subshell
    with apply_args as $1..., and the timer's PID as $_tpid) starts, and is checked to wait
    still after it. With ``go`` the timer traps SIGUSR1 before it says it runs and then
    waits for it before its prelude (the fault, for one that may cut this very command
    off); the apply sends it (``kill -s USR1 "$_tpid"``). Whoever calls this has the
    ledger's checkpoint written first: a lost connection may leave the fault in force.
    """
    timer = (_TIMER_HEAD + (_GO_TRAP if go else "") + 'rm -f -- "$_ready"\n'
             + (_GO_WAIT if go else "") + f'{prelude}\nsleep "$secs" || exit 0\n{heal_body}')
    body = (_ARM_APPLY_HEAD.replace("@TICKS@", str(int(ARM_TIMEOUT * 100))) + apply_body
            + _ARM_APPLY_TAIL)
    heal_args = [str(a) for a in heal_args]
    result = shell.run(script(body, timer, kind, ident, f"{seconds:g}", str(len(heal_args)),
                              *heal_args, *map(str, apply_args)), timeout=timeout, stdin=stdin)
    if result.rc == _TIMER_GONE:
        raise TransportError(f"{shell.node_name}: the dead-man timer did not start within "
                             f"{ARM_TIMEOUT:g} s; not injecting a fault nothing would heal")
    if result.rc == _TIMER_FIRED:
        shell.run(script(heal_body, *heal_args), timeout=30)
        raise TransportError(f"{shell.node_name}: injecting took longer than the fault's "
                             f"duration ({seconds:g} s); its timer already fired and the "
                             "fault was healed; raise 'duration'")
    result.check(f"{shell.node_name}: injecting {kind}")
    return parse_applied(result.stdout)


#: a fault without a timer, its moment on the node's clock around it ($1... the apply's)
_TIMED = r"""
_t0=$(date +%s.%N)
(
@APPLY@
); _rc=$?
_t1=$(date +%s.%N)
printf '\nha-tests-fault-at %s %s\n' "$_t0" "$_t1"
exit "$_rc"
"""


def apply_timed(shell: Shell, apply_body: str, *args: str, timeout: float = 30.0,
                what: str = "") -> Applied:
    """Run a fault that needs no timer (a kill, a stop) with its moment on the node's own
    clock, in the one round trip it takes anyway."""
    result = shell.run(script(_TIMED.replace("@APPLY@", apply_body), *args), timeout=timeout)
    result.check(what or f"{shell.node_name}: injecting")
    return parse_applied(result.stdout)


def parse_applied(stdout: str) -> Applied:
    """The timer's PID, the fault's moment and the apply's own output, from a round trip's
    output."""
    pid, at, kept = 0, (0.0, 0.0), []
    for line in stdout.splitlines():
        if line.startswith(_MARK_TIMER):
            pid = int(line[len(_MARK_TIMER):])
        elif line.startswith(_MARK_AT):
            first, last = line[len(_MARK_AT):].split()
            at = (float(first), float(last))
        else:
            kept.append(line)
    return Applied(pid, at, "\n".join(kept).strip("\n"))


def heal_disarm(shell: Shell, kind: str, ident: str, heal_body: str, *heal_args: str,
                again: bool = False, timeout: float = 15.0) -> CommandResult:
    """Heal, then cancel the timer, in one round trip (the timer stays while the fault may
    be there). ``again`` heals once more after: a timer told to go an instant before could
    still have injected between the two."""
    body = _HEAL_DISARM.replace("@AGAIN@", "( @HEAL@\n) || _rc=$?" if again else "") \
        .replace("@HEAL@", heal_body)
    return shell.run(script(body, kind, ident, *heal_args), timeout=timeout)


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

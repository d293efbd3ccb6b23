"""Start one Galera member: bootstrap a new cluster, or join the members that answer.

What an operator does by hand (``galera_new_cluster`` on one node, plain starts on the
others), decided at each start so that the node's supervisor can restart a killed member
and a powered-off node rejoins at boot:

* the bootstrap marker is there (the first start after ``lab up`` on the first controller):
  remove it and start with ``--wsrep-new-cluster``;
* otherwise wait until another member's replication port answers, then start and join it
  (IST from the survivors' cache, or a full SST);
* if none answers and this member's ``grastate.dat`` says ``safe_to_bootstrap: 1`` (it was
  the last to leave a cluster that stopped whole), bootstrap from it after a grace period;
* if this member was in the primary component when it died (``gvwstate.dat`` is there:
  Galera removes it on a clean stop), start at once without bootstrapping: Galera's
  ``pc.recovery`` restores that component when all of its members are back, which is how a
  cluster whose every member was killed (or lost power) together comes back by itself.
  Waiting for another member here deadlocked: each waited for the others, none started.

A member that joins after a crash (SIGKILL, power-off: ``grastate.dat`` says ``seqno: -1``)
first recovers its position from InnoDB (``mariadbd --wsrep-recover``, what Debian's
``galera_recovery`` does before systemd starts the server) and starts from it, so it can
catch up by IST from a survivor's gcache; without it every such rejoin was a full rsync SST,
and the donor (the member HAProxy then writes to) blocked every write while it lasted.

It then ``exec``\\ s ``mariadbd``, so the supervised PID is the server's.
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

GCOMM_PORT = 4567  # mariadb.GCOMM_PORT; not imported, this runs before the lab's imports
#: how long a member that could bootstrap waits for another one first
LAST_ONE_GRACE = 20.0


def option(argv: list[str], name: str) -> str | None:
    prefix = f"--{name}="
    return next((a[len(prefix):] for a in argv if a.startswith(prefix)), None)


def peers(argv: list[str]) -> list[str]:
    """The other members' addresses, from the server's own command line."""
    listed = (option(argv, "wsrep-cluster-address") or "").removeprefix("gcomm://")
    own = option(argv, "wsrep-node-address")
    return [a for a in listed.split(",") if a and a != own]


def answers(address: str, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((address, GCOMM_PORT), timeout=timeout):
            return True
    except OSError:
        return False


def safe_to_bootstrap(datadir: str | None) -> bool:
    try:
        text = (Path(datadir or "") / "grastate.dat").read_text()
    except OSError:
        return False
    return any(line.split() == ["safe_to_bootstrap:", "1"] for line in text.splitlines())


def saved_primary_view(datadir: str | None) -> bool:
    """``gvwstate.dat`` exists: the member stopped while in a primary component, which
    ``pc.recovery`` can restore (a clean stop removes the file)."""
    return (Path(datadir or "") / "gvwstate.dat").is_file()


def crashed(datadir: str | None) -> bool:
    """``grastate.dat`` exists and holds no position: the server did not stop cleanly."""
    try:
        text = (Path(datadir or "") / "grastate.dat").read_text()
    except OSError:
        return False
    return any(line.split() == ["seqno:", "-1"] for line in text.splitlines())


RECOVERED = re.compile(r"WSREP: Recovered position:\s*([0-9a-f-]{36}:(\d+))")


def recovered_position(log_text: str) -> str | None:
    """``uuid:seqno`` from a ``--wsrep-recover`` run's error log (None when it found none)."""
    found = RECOVERED.findall(log_text)
    return found[-1][0] if found else None


def recover(argv: list[str], log: Path, run=subprocess.run) -> str | None:
    """Run the server once with ``--wsrep-recover`` (it recovers InnoDB, logs the last
    committed position and exits); its position."""
    log.unlink(missing_ok=True)
    command = [a for a in argv if not a.startswith("--log-error=")]
    run([*command, "--wsrep-recover", f"--log-error={log}"], check=False, timeout=300,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return recovered_position(log.read_text())
    except OSError:
        return None


def decide(argv: list[str], marker: Path, clock=time.monotonic, sleep=time.sleep,
           reach=answers, say=print) -> list[str]:
    """The server's argv, with ``--wsrep-new-cluster`` when this start must bootstrap."""
    if marker.exists():
        marker.unlink()
        say("galera: bootstrapping a new cluster (first start after lab up)")
        return [*argv, "--wsrep-new-cluster"]
    others, datadir = peers(argv), option(argv, "datadir")
    started = clock()
    said = False
    while True:
        alive = [a for a in others if reach(a)]
        if alive:
            say(f"galera: joining the cluster through {', '.join(alive)}")
            return argv
        if saved_primary_view(datadir):
            say("galera: no other member answers, and this one was in the primary component "
                "when it stopped (gvwstate.dat): starting so that pc.recovery restores that "
                "component once its members are back")
            return argv
        if safe_to_bootstrap(datadir) and clock() - started > LAST_ONE_GRACE:
            say("galera: no other member answers and this one left last "
                "(safe_to_bootstrap: 1): bootstrapping from it")
            return [*argv, "--wsrep-new-cluster"]
        if not said:
            say(f"galera: waiting for another member ({', '.join(others)}) to join")
            said = True
        sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ha_tests.lab.galera_member")
    parser.add_argument("--bootstrap-marker", required=True, type=Path)
    parser.add_argument("--log", type=Path, help="where to say what was decided")
    parser.add_argument("server", nargs=argparse.REMAINDER,
                        help="-- then the mariadbd command line")
    args = parser.parse_args(argv)
    server = args.server[1:] if args.server[:1] == ["--"] else args.server
    if not server:
        parser.error("give the mariadbd command line after --")

    if args.log:  # the server writes its error log there after it dropped root
        args.log.touch()
        try:
            entry = pwd.getpwnam(option(server, "user") or "mysql")
            os.chown(args.log, entry.pw_uid, entry.pw_gid)
        except KeyError:
            pass

    def say(text: str) -> None:
        print(text, flush=True)
        if args.log:
            with open(args.log, "a") as handle:
                handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} ha-tests {text}\n")

    final = decide(server, args.bootstrap_marker, say=say)
    if "--wsrep-new-cluster" not in final and crashed(option(server, "datadir")):
        socket_dir = Path(option(server, "socket") or "/tmp/x").parent  # the server's own
        position = recover(server, socket_dir / "wsrep-recover.log")
        if position:
            say(f"galera: recovered position {position} after a crash: joining from it (IST)")
            final = [*final, f"--wsrep-start-position={position}"]
        else:
            say("galera: no position recovered after a crash: joining by full state transfer")
    os.execv(final[0], final)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())

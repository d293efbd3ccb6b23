"""Start one broker of the lab's RabbitMQ cluster: hold a blank one until the cluster answers.

The classic config peer discovery joins a blank broker to the first listed broker it reaches,
and a blank broker that reaches none starts a cluster of its own: three blank brokers booting
together could form three. So, decided at each start (the node's supervisor restarts a killed
broker, a powered-off node starts it at boot):

* the broker has a database (any start after its first): start at once; RabbitMQ rejoins the
  cluster its database names, waiting for the others if it was not the last to stop;
* it is blank and has no ``--peer`` (the first controller, at ``lab up``): start at once, it
  forms the cluster;
* it is blank and has peers: wait until one of them answers on AMQP (a broker that answers
  has booted), then start; the peer discovery joins it.

It then ``exec``\\ s ``rabbitmq-server``, so the supervised PID is the broker's.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path


def blank(database: Path) -> bool:
    try:
        return not any(database.iterdir())
    except OSError:
        return True


def answers(address: str, timeout: float = 1.0) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_cluster(database: Path, peers: list[str], sleep=time.sleep, reach=answers,
                     say=print) -> None:
    """Return once this broker may start (see the module's docstring)."""
    if not blank(database) or not peers:
        return
    said = False
    while True:
        alive = [p for p in peers if reach(p)]
        if alive:
            say(f"rabbitmq: blank broker joining the cluster through {', '.join(alive)}")
            return
        if not said:
            say(f"rabbitmq: blank broker waiting for the cluster ({', '.join(peers)})")
            said = True
        sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ha_tests.lab.rabbitmq_member")
    parser.add_argument("--database", required=True, type=Path,
                        help="the broker's Mnesia directory (blank before its first start)")
    parser.add_argument("--peer", action="append", default=[],
                        help="ADDRESS:PORT of another broker's AMQP listener (repeatable)")
    parser.add_argument("server", nargs=argparse.REMAINDER,
                        help="-- then the rabbitmq-server command line")
    args = parser.parse_args(argv)
    server = args.server[1:] if args.server[:1] == ["--"] else args.server
    if not server:
        parser.error("give the rabbitmq-server command line after --")
    wait_for_cluster(args.database, args.peer, say=lambda text: print(text, flush=True))
    os.execv(server[0], server)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())

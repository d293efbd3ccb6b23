"""clustercheck: tells HAProxy over HTTP whether this controller's Galera member is synced.

What TripleO and kolla run beside each member (``clustercheck`` on port 9200): a member
that listens but is not synced (partitioned into a non-primary component, joining, or
donating an SST) accepts connections and then refuses every query, so a TCP check would
send the whole cloud's database traffic to it. 200 when ``wsrep_local_state`` is 4
(Synced) or 2 (Donor: clustercheck's ``AVAILABLE_WHEN_DONOR=1``; with rsync SST a donor only
blocks writes for the transfer's seconds, and marking it down would cut every session, e.g.
``lab up``'s ``db_sync`` while the other members join), 503 otherwise.
"""

from __future__ import annotations

import argparse
import http.server
import sys
import threading
from pathlib import Path

import pymysql

#: wsrep_local_state values that take connections: Synced, and Donor/Desynced
AVAILABLE = ("4", "2")


class Member:
    """One member, asked over one kept connection: HAProxy on each of the three controllers
    checks every member every second, and a new MySQL connection (TCP, handshake, auth) per
    check made the lab's three clustercheck processes use more CPU than its three Keystones
    on a 2-CPU host. A connection that fails is dropped and the next check opens a new one,
    so every answer is still a query of the member as it is now."""

    def __init__(self, host: str, port: int, user: str, password: str):
        self.address = {"host": host, "port": port, "user": user, "password": password}
        self.lock = threading.Lock()
        self.connection = None

    def _query(self) -> str | None:
        if self.connection is None:
            self.connection = pymysql.connect(**self.address, connect_timeout=2,
                                              read_timeout=2, write_timeout=2)
        with self.connection.cursor() as cursor:
            cursor.execute("SHOW STATUS LIKE 'wsrep_local_state'")
            row = cursor.fetchone()
        return str(row[1]) if row else None

    def synced(self) -> bool:
        with self.lock:  # one query at a time on the one connection
            try:
                return self._query() in AVAILABLE
            except pymysql.MySQLError:
                self.close()
                return False

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except pymysql.MySQLError:
                pass
            self.connection = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ha_tests.lab.clustercheck")
    parser.add_argument("--bind", required=True, help="address:port to answer on")
    parser.add_argument("--member", required=True, help="address:port of the member")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True, type=Path)
    args = parser.parse_args(argv)
    password = args.password_file.read_text().strip()
    host, port = args.member.rsplit(":", 1)
    member = Member(host, int(port), args.user, password)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            synced = member.synced()
            body = b"Galera member is synced.\n" if synced else b"Galera member is not synced.\n"
            self.send_response(200 if synced else 503)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (ConnectionResetError, BrokenPipeError):
                pass  # HAProxy closes (RST) once it has read the status line

        def log_message(self, *args):  # one check a second: no access log
            pass

    address, bind_port = args.bind.rsplit(":", 1)
    server = http.server.ThreadingHTTPServer((address, int(bind_port)), Handler)
    server.daemon_threads = True
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())

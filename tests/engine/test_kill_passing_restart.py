"""A restart that first runs a passing process matching the service's pattern (Galera's
``mariadbd --wsrep-recover`` before the server) must not fool kill-process's rollback: the
fault is rolled back only once the real server is there, not when the passing one was seen."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time

from local_target import answers, free_port, pid_alive

from ha_tests.attackers.kill_process import KillProcess, KillProcessParams
from ha_tests.context import RunContext
from ha_tests.inventory import load_inventory
from ha_tests.processes import find
from ha_tests.transport.local import LocalShell

#: a web server whose command line carries the pattern (``-c`` leaves the rest to argv)
SERVE = (f"{sys.executable} -c 'import http.server as h, sys; h.HTTPServer((\"127.0.0.1\", "
         f"int(sys.argv[1])), h.SimpleHTTPRequestHandler).serve_forever()'")


def test_rollback_waits_past_a_passing_process_for_the_server(tmp_path):
    port = free_port()
    pattern = rf"server-{port} "
    # the restart: a short-lived recovery run under the server's name, a pause, the server
    restart = tmp_path / "restart.sh"
    restart.write_text(textwrap.dedent(f"""\
        exec 0</dev/null >/dev/null 2>&1
        {sys.executable} -c 'import time; time.sleep(0.5)' server-{port} --recover
        sleep 2
        exec {SERVE} {port} server-{port} --serve
        """))
    inventory_file = tmp_path / "inventory.yaml"
    inventory_file.write_text(textwrap.dedent(f"""\
        name: local
        test_target: true
        nodes:
          - {{name: local, roles: [web], address: 127.0.0.1, transport: local}}
        services:
          web:
            roles: [web]
            process: '{pattern}'
            manager: command
            start: "setsid -f sh {restart}"
        """))
    inventory = load_inventory(inventory_file)
    ctx = RunContext(inventory)
    os.system(f"setsid -f {SERVE} {port} server-{port} --serve >/dev/null 2>&1")
    deadline = time.monotonic() + 10
    while not answers(port):
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    [node] = inventory.nodes
    attacker = KillProcess("kill-web", KillProcessParams(service="web", comes_back_within=0.2,
                                                         back_timeout=20), [node], ctx)
    try:
        killed = attacker.inject()["pids"]["local"]
        rolled_back = attacker.rollback()
        assert rolled_back["restarted_by_rollback"] == ["local"]
        # what the rollback saw back is the passing recovery run: let it end first
        passing = rolled_back["back"]["local"]
        while any(pid_alive(pid) for pid in passing):
            time.sleep(0.05)
        attacker.verify()  # must wait for the server, not report the fault still in force
        server = [p.pid for p in find(LocalShell(), pattern)]
        assert server and set(server).isdisjoint(killed)
        # the process is the server; it answers once it has bound its port
        deadline = time.monotonic() + 10
        while not answers(port):
            assert time.monotonic() < deadline, "the restarted server never answered"
            time.sleep(0.05)
    finally:
        for process in find(LocalShell(), pattern):
            os.kill(process.pid, signal.SIGKILL)

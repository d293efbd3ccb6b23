"""Helpers for the local target: a real TCP server process, killed and restarted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

from ha_tests.processes import find
from ha_tests.transport.local import LocalShell


def pid_alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a slow init to reap it."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def answers_soon(port: int, seconds: float = 10.0) -> bool:
    """The server answers within seconds: a restarted one is a process before it has bound
    its port, and a rollback waits for the process, as a supervisor would report it."""
    deadline = time.monotonic() + seconds
    while not answers(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class WebServer:
    """python -m http.server on a loopback port, started detached like a daemon."""

    def __init__(self, port: int):
        self.port = port
        self.pattern = rf"http\.server {port} "
        self.start_command = (f"sh -c 'setsid -f {sys.executable} -m http.server {port} "
                              f"--bind 127.0.0.1 >/dev/null 2>&1'")

    def pids(self) -> list[int]:
        return [p.pid for p in find(LocalShell(), self.pattern)]

    def start(self) -> None:
        subprocess.run(self.start_command, shell=True, check=True)
        deadline = time.monotonic() + 10
        while not answers(self.port):
            assert time.monotonic() < deadline, "web server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGKILL)


def scenario_text(port: int, *, hold: float = 0.0, sla: str = "max_outage: 30",
                  service: str = "web", comes_back_within: float = 0.3) -> str:
    return textwrap.dedent(f"""\
        name: kill-web
        description: kill the web server and watch it come back
        gap: classic
        targets:
          victim: {{role: web, pick: one}}
        attackers:
          - type: kill-process
            target: victim
            service: {service}
            comes_back_within: {comes_back_within}
            back_timeout: 10
        monitors:
          - type: tcp
            name: web
            host: 127.0.0.1
            port: {port}
            interval: 0.05
            timeout: 0.5
            sla: {{{sla}}}
          - type: process
            name: web-process
            target: victim
            service: {service}
            interval: 0.1
            gate: false
        timing:
          baseline: 0.5
          fault_duration: {hold}
          observe: 0.5
          recovery_timeout: 10
          recovered_after: 3
        """)

"""The lab's hypervisor: the parent process of every node (and of the virtual BMC daemon).

A node's first process (``unshare`` and, below it, the node's PID 1) must have a parent that
outlives it and reaps it when the node is powered off, else each power-off leaves a zombie.
The lab cannot count on the host's PID 1 to reap orphans (in some VMs and containers it does
not), so the lab runs one small subreaper per lab: whoever boots a node (``lab up``, the
virtual BMC, a test) asks it over a Unix socket to spawn the node's command as its child.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def socket_path(lab_dir: str | Path) -> Path:
    return Path(lab_dir) / "hypervisor.sock"


def pid_path(lab_dir: str | Path) -> Path:
    return Path(lab_dir) / "hypervisor.pid"


def spawn(lab_dir: str | Path, argv: list[str], log: str | Path,
          env: dict[str, str] | None = None, timeout: float = 10.0) -> int:
    """Have the lab's hypervisor start ``argv`` as its child; its PID. OSError if unreachable."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(socket_path(lab_dir)))
        sock.sendall(json.dumps({"argv": argv, "log": str(log), "env": env}).encode() + b"\n")
        answer = json.loads(sock.makefile().readline())
    if "error" in answer:
        raise OSError(answer["error"])
    return answer["pid"]


def _reap_forever() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            time.sleep(0.5)


def _start(argv: list[str], log: str, env: dict | None) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    return os.posix_spawnp(argv[0], argv, env if env is not None else dict(os.environ),
                           file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                                         (os.POSIX_SPAWN_OPEN, 1, log, flags, 0o644),
                                         (os.POSIX_SPAWN_DUP2, 1, 2)],
                           setsid=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ha_tests.lab.hypervisor")
    parser.add_argument("--lab-dir", required=True)
    args = parser.parse_args(argv)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("hypervisor: prctl(PR_SET_CHILD_SUBREAPER) failed", file=sys.stderr)
        return 1

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            try:
                request = json.loads(self.rfile.readline())
                answer = {"pid": _start(request["argv"], request["log"], request.get("env"))}
            except Exception as error:
                answer = {"error": str(error)}
            self.wfile.write(json.dumps(answer).encode() + b"\n")

    class Server(socketserver.ThreadingUnixStreamServer):
        daemon_threads = True

    path = socket_path(args.lab_dir)
    path.unlink(missing_ok=True)
    server = Server(str(path), Handler)
    os.chmod(path, 0o600)
    pid_path(args.lab_dir).write_text(f"{os.getpid()}\n")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(f"hypervisor of {args.lab_dir} running", flush=True)
    _reap_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())

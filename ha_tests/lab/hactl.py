"""``hactl``: start, stop, restart, status or list a lab node's services, like systemctl.

Run on a node (over SSH, through the lab's ``bin/hactl`` wrapper) it talks to that node's
PID 1; the node is found from the hostname, which each node's UTS namespace sets to its name.
Exit codes follow systemctl: status 0 = running, 3 = not running, 4 = no such service.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path

RC_FAILED = 1


def request(socket_path: str | Path, command: str, service: str | None = None,
            timeout: float = 30.0) -> tuple[int, str]:
    """Send one command to a node's PID 1; (exit code, text). Raises OSError if unreachable."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(socket_path))
        sock.sendall(json.dumps({"command": command, "service": service}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data)
    return answer["rc"], answer["output"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hactl", description="Control a lab node's services.")
    parser.add_argument("--lab-dir", required=True)
    parser.add_argument("--node", default=None, help="default: this host's name")
    parser.add_argument("command", choices=["start", "stop", "restart", "status", "list"])
    parser.add_argument("service", nargs="?")
    args = parser.parse_args(argv)
    if args.command != "list" and not args.service:
        parser.error(f"{args.command} needs a SERVICE")
    node = args.node or socket.gethostname()
    path = Path(args.lab_dir) / "nodes" / node / "run" / "hactl.sock"
    try:
        rc, text = request(path, args.command, args.service)
    except (OSError, ValueError) as error:
        print(f"hactl: cannot reach the init of node {node} ({path}): {error}", file=sys.stderr)
        return RC_FAILED
    if args.command == "list" and rc == 0:
        for item in json.loads(text):
            pid = f"pid {item['pid']}" if item["pid"] else ""
            print(f"{item['name']:<12} {item['state']:<13} {pid}")
    else:
        print(text)
    return rc


if __name__ == "__main__":
    sys.exit(main())

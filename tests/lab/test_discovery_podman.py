"""The container way with a real container runtime: podman (crun) runs the host's own
HAProxy in a container named as kolla-ansible names it (``haproxy``, host network, the
host's root as an overlay: no image registry). Discovery finds it as a podman container
and the stop and start it says really stop and start the container.

On this kind of machine crun refuses cgroup "hybrid" mode, so the checks run in a private
mount namespace without the cgroup2 ``unified`` mount, as a cgroup-v1 host has it (the
issue's recipe); nothing outside that namespace changes.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    not (shutil.which("podman") and shutil.which("crun")),
    reason="needs podman and crun (./bootstrap.sh setup installs them)")

NAME = "haproxy"  # kolla-ansible's container name, which the shipped catalogue knows

CHECK = r"""
import json, re, sys, time
from ha_tests.discovery import discover
from ha_tests.inventory import Inventory
from ha_tests.services import service_argv
from ha_tests.transport import ShellPool

port = int(sys.argv[1])
inventory = Inventory(nodes=[{"name": "host", "address": "127.0.0.1", "transport": "local"}])
out = {}
found = discover(inventory, endpoints=False)
service = found.services["haproxy"]
out["way"], out["control"], out["source"] = service.way, service.control, service.source
entry = Inventory(nodes=inventory.nodes, services={"haproxy": {
    "nodes": service.nodes, "process": service.process, **service.control}}).services["haproxy"]
shell = ShellPool(inventory).get("host")

def answers():
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False

def state():
    r = shell.run(["podman", "inspect", "-f", "{{.State.Running}}", "haproxy"])
    return r.stdout.strip()

out["before"] = (state(), answers())
out["stop"] = shell.run(service_argv("haproxy", entry, "stop"), timeout=60).rc
out["stopped"] = (state(), answers(),
                  shell.run(service_argv("haproxy", entry, "status")).stdout.strip())
out["start"] = shell.run(service_argv("haproxy", entry, "start"), timeout=60).rc
for _ in range(50):
    if answers():
        break
    time.sleep(0.2)
out["started"] = (state(), answers())
print(json.dumps(out))
"""


def podman(*args, timeout=120):
    return subprocess.run(["unshare", "-m", "sh", "-c",
                           'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"', "podman",
                           "podman", "--runtime", "crun", *args],
                          capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def kolla_haproxy(tmp_path):
    if subprocess.run(["podman", "container", "exists", NAME]).returncode == 0:
        pytest.skip(f"a podman container named {NAME} exists already; not touching it")
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(textwrap.dedent(f"""\
        global
            maxconn 64
        defaults
            mode tcp
            timeout connect 1s
            timeout client 5s
            timeout server 5s
        listen probe
            bind 127.0.0.1:{port}
            server none 127.0.0.1:9 check
        """))
    made = podman("run", "-d", "--name", NAME, "--network", "host", "--ulimit",
                  "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--rootfs", "/:O",
                  "/usr/sbin/haproxy", "-W", "-db", "-f", str(config))
    assert made.returncode == 0, made.stderr
    container_id = made.stdout.strip()
    try:
        yield port
    finally:
        subprocess.run(["podman", "rm", "-f", container_id], capture_output=True, timeout=120)


def test_a_real_podman_container_is_discovered_and_stopped_and_started_by_podman(
        kolla_haproxy):
    result = subprocess.run(["unshare", "-m", "sh", "-c",
                             'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"', "check",
                             sys.executable, "-c", CHECK, str(kolla_haproxy)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["way"] == "podman"
    assert out["control"] == {"manager": "podman", "container": NAME}
    assert out["source"] == f"podman container {NAME} on host"
    assert out["before"] == ["true", True]
    assert out["stop"] == 0 and out["stopped"][:2] == ["false", False]
    assert out["stopped"][2] == "false"  # the discovered status command says so too
    assert out["start"] == 0 and out["started"] == ["true", True]

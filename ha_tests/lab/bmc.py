"""The lab's virtual BMCs: config and lifecycle of the ``ha_tests.lab.vbmc`` daemon.

One daemon serves one IPMI v2 (lanplus) BMC per node on ``x.y.1.<node>:623``, addresses the
lab puts on its host bridge, and drives ``ha_tests.lab.power.NodePower``. Its password lives
in a 0600 file; ``ipmitool -f`` reads it from there, never from the command line.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from ha_tests.lab import hypervisor
from ha_tests.lab.plan import BMC_PORT, BMC_USER, LabPlan
from ha_tests.lab.system import alive, cmdline, kill, run, wait_until

MODULE = "ha_tests.lab.vbmc"


def available() -> bool:
    return (Path(__file__).parent / "vbmc.py").exists()


def config_path(plan: LabPlan) -> Path:
    return plan.dir / "vbmc" / "config.json"


def password_file(plan: LabPlan) -> Path:
    return plan.dir / "secrets" / "bmc-password"


def write_config(plan: LabPlan) -> Path:
    path = config_path(plan)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "username": BMC_USER,
        "password_file": str(password_file(plan)),
        "power_driver": "ha_tests.lab.power:NodePower",
        "power_args": {"lab_dir": str(plan.dir)},
        "nodes": [{"name": n.name, "address": n.bmc_ip, "port": BMC_PORT} for n in plan.nodes],
    }, indent=2) + "\n")
    return path


def _pid_file(plan: LabPlan) -> Path:
    return plan.dir / "vbmc" / "vbmc.pid"


def running_pid(plan: LabPlan) -> int | None:
    try:
        pid = int(_pid_file(plan).read_text())
    except (OSError, ValueError):
        return None
    if alive(pid) and MODULE in cmdline(pid) and str(config_path(plan)) in cmdline(pid):
        return pid
    return None


def start(plan: LabPlan) -> int:
    """Start the daemon (a child of the lab's hypervisor) and wait until every BMC answers."""
    argv = [sys.executable, "-m", MODULE, "--config", str(config_path(plan))]
    log = plan.dir / "vbmc" / "vbmc.log"
    pid = hypervisor.spawn(plan.dir, argv, log)
    _pid_file(plan).write_text(f"{pid}\n")
    first = plan.nodes[0]
    if wait_until(lambda: power_state(plan, first.bmc_ip) is not None or not alive(pid),
                  timeout=20, interval=0.3) is None or not alive(pid):
        raise RuntimeError(f"the virtual BMC daemon did not come up; see {log}")
    return pid


def stop(plan: LabPlan) -> bool:
    pid = running_pid(plan)
    if pid is None:
        return False
    kill(pid, signal.SIGTERM)
    if not wait_until(lambda: not alive(pid), timeout=8):
        kill(pid, signal.SIGKILL)
        wait_until(lambda: not alive(pid), timeout=3)
    return True


def ipmitool(plan: LabPlan, address: str, *command: str, timeout: float = 10):
    return run(["ipmitool", "-I", "lanplus", "-H", address, "-p", str(BMC_PORT),
                "-U", BMC_USER, "-f", str(password_file(plan)), "-N", "1", "-R", "2",
                *command], check=False, timeout=timeout)


def power_state(plan: LabPlan, address: str) -> str | None:
    """'on' / 'off' as the BMC reports it over IPMI, None if it does not answer."""
    result = ipmitool(plan, address, "chassis", "power", "status")
    if result.returncode != 0:
        return None
    text = result.stdout.strip().lower()
    return "on" if text.endswith(" on") else "off" if text.endswith(" off") else None

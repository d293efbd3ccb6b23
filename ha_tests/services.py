"""Start, stop and query a service through whatever manages it on the node.

systemd, Pacemaker, docker/podman (kolla) or explicit commands, as the inventory's services
map says; the attackers never guess.
"""

from __future__ import annotations

import shlex

from ha_tests.errors import PreflightError
from ha_tests.inventory import Service

ACTIONS = ("start", "stop", "restart", "status")


def service_argv(name: str, service: Service, action: str) -> list[str]:
    if action not in ACTIONS:
        raise ValueError(action)
    manager = service.manager
    if manager == "systemd":
        verb = "is-active" if action == "status" else action
        return ["systemctl", verb, service.unit]
    if manager == "pacemaker":
        verb = {"start": "enable", "stop": "disable", "restart": "restart",
                "status": "status"}[action]
        return ["pcs", "resource", verb, service.resource]
    if manager in ("docker", "podman"):
        if action == "status":
            return [manager, "inspect", "-f", "{{.State.Running}}", service.container]
        return [manager, action, service.container]
    if manager == "command":
        command = getattr(service, action, None)
        if action == "restart" and not command and service.stop and service.start:
            return ["sh", "-c", f"{service.stop}; {service.start}"]
        if not command:
            raise PreflightError(f"service '{name}' has no '{action}' command in the inventory")
        return shlex.split(command)
    raise PreflightError(f"service '{name}' has no manager in the inventory (manager: {manager});"
                         " set systemd, pacemaker, docker, podman or command")

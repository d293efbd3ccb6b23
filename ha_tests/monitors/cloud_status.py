"""service-status (gap-1) and host-status (gap-2): what the cloud says beside what is true.

**service-status** reads nova's compute service list (``os-services``, through openstacksdk's
``conn.compute.services()``) for one binary on one host, each sample. ok while nova reports
the service ``up``; the detail records ``state``, ``status``, ``forced_down``, ``updated_at``
and ``disabled_reason``, so the report shows when the change was *published* (gap-1: how
long after nova-compute died, or its node lost power, does anyone outside nova see it?).
Nova only notices a silent service after ``service_down_time`` (60 s by default), so give
the scenario an observe window longer than that. Needs a cloud with compute (nova).

Example::

    - type: service-status
      target: victim            # the compute node; or host: <nova's host name>
      binary: nova-compute
      interval: 1
      gate: false               # observe what the cloud publishes

**host-status** is the ground truth for a node, beside the cloud's view of it (gap-2): the
BMC's power state (``ctx.bmc(node)``), an ICMP echo to the node's address, and SSH
reachability (the server's banner on a fresh TCP connection, so a stale pooled connection
cannot lie; ``ssh_check: command`` runs ``true`` over the persistent connection instead).
When the cloud has compute, nova's view is recorded too: the host's ``nova-compute``
service and its hypervisor's state.
All checks run concurrently, each bounded by the probe's timeout.

ok when the host is truly up: power on, ping answered, SSH answering (the checks enabled).
The detail has both views per node and ``cloud_disagrees`` lists the nodes where nova
reports ``down`` while the host is up (the gap-2 misjudgement) or ``up`` while it is off.

Example::

    - type: host-status
      target: victim
      interval: 1
      gate: false
      # checks: [bmc, ping, ssh]     # default: every check the node supports
      # cloud_view: true             # default: when the cloud has compute
"""

from __future__ import annotations

import concurrent.futures
import socket
import threading
import time
from typing import Any, Literal

from pydantic import Field

from ha_tests.errors import PreflightError
from ha_tests.monitors.api import (
    describe_error,
    in_catalog,
    open_connection,
    preflight_error,
    secrets_of,
)
from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.monitors.vm_ping import IcmpPinger, Target, _resolve
from ha_tests.validation import StrictModel

NO_COMPUTE = "the cloud has no compute service (nova)"


def _compute_connection(ctx, timeout: float, who: str):
    """A connection to a cloud with compute, or PreflightError saying why not."""
    if not ctx.inventory.cloud and not ctx.inventory.clouds_yaml:
        raise PreflightError(f"{who}: the inventory names no cloud ('cloud:'), so "
                             f"{NO_COMPUTE} to ask")
    conn = open_connection(ctx, timeout)
    try:
        has = in_catalog(conn, "compute")
    except Exception as exc:
        raise preflight_error(f"{who}: cannot read the cloud's catalog: "
                              + describe_error(exc, secrets_of(conn))["error"], exc) from None
    if not has:
        raise PreflightError(f"{who}: {NO_COMPUTE} in its catalog")
    return conn


def _service_view(service) -> dict[str, Any]:
    return {"state": service.state, "status": service.status,
            "forced_down": bool(service.is_forced_down), "updated_at": service.updated_at,
            "disabled_reason": service.disabled_reason}


def _services(conn, binary: str, host: str | None) -> list:
    query = {"binary": binary}
    if host:
        query["host"] = host
    return [s for s in conn.compute.services(**query)
            if s.binary == binary and (host is None or s.host == host)]


class ServiceStatusParams(StrictModel):
    binary: str = "nova-compute"
    host: str | None = Field(None, description="the host name nova uses (default: the "
                                               "target node's name)")


class ServiceStatusMonitor(Monitor):
    Params = ServiceStatusParams
    detects = True

    def setup(self) -> None:
        hosts = [self.params.host] if self.params.host else [n.name for n in self.nodes]
        if not hosts:
            raise PreflightError(f"{self.name}: give 'host' or a target")
        self.hosts = hosts
        self.conn = _compute_connection(self.ctx, self.timeout, self.name)
        self.secrets = secrets_of(self.conn)
        try:
            known = {s.host for s in _services(self.conn, self.params.binary, None)}
        except Exception as exc:
            raise PreflightError(f"{self.name}: cannot list compute services: "
                                 + describe_error(exc, self.secrets)["error"]) from None
        missing = [h for h in hosts if h not in known]
        if missing:
            raise PreflightError(f"{self.name}: nova knows no {self.params.binary} on "
                                 f"{', '.join(missing)} (it knows: "
                                 f"{', '.join(sorted(known)) or 'none'})")

    def probe(self) -> ProbeResult:
        started = time.monotonic()
        try:
            found = _services(self.conn, self.params.binary,
                              self.hosts[0] if len(self.hosts) == 1 else None)
        except Exception as exc:
            return ProbeResult(False, detail=describe_error(exc, self.secrets))
        latency = time.monotonic() - started
        by_host = {s.host: s for s in found}
        views = {h: (_service_view(by_host[h]) if h in by_host else {"state": "missing"})
                 for h in self.hosts}
        ok = all(v["state"] == "up" for v in views.values())
        detail = views[self.hosts[0]] if len(self.hosts) == 1 else {"hosts": views}
        return ProbeResult(ok, latency, dict(detail))

    def teardown(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            try:
                conn.close()
            except Exception:  # best effort
                pass

    def describe(self) -> str:
        return f"{self.name}: nova's {self.params.binary} state on " + \
            ", ".join(getattr(self, "hosts", None) or [n.name for n in self.nodes])


# --- host-status -------------------------------------------------------------------------

Check = Literal["bmc", "ping", "ssh"]


class HostStatusParams(StrictModel):
    checks: list[Check] | None = Field(None, description="default: every check the node "
                                                         "supports (bmc only with a bmc:)")
    cloud_view: bool | None = Field(None, description="record nova's view (default: when "
                                                      "the cloud has compute)")
    binary: str = "nova-compute"
    hypervisor: bool = Field(True, description="record nova's hypervisor state/status too")
    ssh_check: Literal["banner", "command"] = "banner"
    ssh_port: int | None = Field(None, ge=1, le=65535, description="default: the "
                                                                   "inventory's ssh port")


def ssh_banner(address: str, port: int, timeout: float) -> tuple[bool, str]:
    """True when an SSH server answers with its banner within the timeout."""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            data = b""
            while b"\n" not in data and len(data) < 256:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(256)
                if not chunk:
                    break
                data += chunk
    except TimeoutError:
        return False, "timed out"
    except OSError as exc:
        return False, exc.strerror or type(exc).__name__
    if data.startswith(b"SSH-"):
        return True, data.split(b"\r")[0].split(b"\n")[0].decode(errors="replace")[:60]
    return False, f"not an SSH banner: {data[:40]!r}"


class HostStatusMonitor(Monitor):
    Params = HostStatusParams
    needs_target = True

    def setup(self) -> None:
        if not self.nodes:
            raise PreflightError(f"{self.name}: host-status needs a target")
        wanted = self.params.checks
        self.checks: dict[str, list[str]] = {}
        self.bmcs: dict[str, Any] = {}
        self.bmc_locks: dict[str, threading.Lock] = {}
        for node in self.nodes:
            checks = list(wanted) if wanted is not None else \
                (["bmc"] if node.bmc is not None else []) + ["ping", "ssh"]
            if "bmc" in checks:
                self.bmcs[node.name] = self.ctx.bmc(node)  # PreflightError without bmc:
                self.bmc_locks[node.name] = threading.Lock()
            self.checks[node.name] = checks
        self.addresses = {n.name: _resolve(n.address) for n in self.nodes}
        self.pinger = IcmpPinger()
        self.conn = None
        self.cloud_reason = "off"
        if self.params.cloud_view is not False:
            try:
                self.conn = _compute_connection(self.ctx, self.timeout, self.name)
            except PreflightError as exc:
                if self.params.cloud_view:
                    raise
                self.cloud_reason = "unavailable: " + str(exc).removeprefix(f"{self.name}: ")
            if self.conn is not None:
                self.secrets = secrets_of(self.conn)
        workers = 1 + sum(len(c) for c in self.checks.values())
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=min(32, workers * 2), thread_name_prefix=f"host-{self.name}")

    # each check returns a small dict, and never raises
    def _power(self, node, budget: float) -> dict[str, Any]:
        lock = self.bmc_locks[node.name]
        if not lock.acquire(timeout=max(0.0, budget)):
            return {"power": None, "power_error": "previous BMC call still running"}
        try:
            return {"power": self.bmcs[node.name].power_state(timeout=max(0.05, budget))}
        except Exception as exc:  # BmcError, BmcTimeout: their text never holds secrets
            return {"power": None, "power_error": str(exc)[:200]}
        finally:
            lock.release()

    def _ping(self, budget: float) -> dict[str, Any]:
        nodes = [n for n in self.nodes if "ping" in self.checks[n.name]]
        targets = [Target(n.name, *self.addresses[n.name]) for n in nodes]
        try:
            answers = self.pinger.ping(targets, max(0.01, budget))
        except Exception as exc:
            return {n.name: {"ping": None, "ping_error": str(exc)[:200]} for n in nodes}
        out = {}
        for i, node in enumerate(nodes):
            rtt = answers.get(i)
            out[node.name] = {"ping": isinstance(rtt, float)}
            if isinstance(rtt, float):
                out[node.name]["ping_ms"] = round(rtt * 1000, 3)
        return out

    def _ssh(self, node, budget: float) -> dict[str, Any]:
        if self.params.ssh_check == "command":
            try:
                result = self.ctx.shell(node).run(["true"], timeout=max(0.05, budget))
                return {"ssh": result.ok}
            except Exception as exc:
                return {"ssh": False, "ssh_error": str(exc)[:200]}
        port = self.params.ssh_port or self.ctx.inventory.ssh_for(node).port or 22
        ok, text = ssh_banner(self.addresses[node.name][0], port, max(0.05, budget))
        return {"ssh": ok} if ok else {"ssh": False, "ssh_error": text}

    def _cloud(self) -> dict[str, Any]:
        try:
            found = _services(self.conn, self.params.binary, None)
            hypervisors = {}
            if self.params.hypervisor:
                for hyp in self.conn.compute.hypervisors():
                    short = (hyp.name or "").split(".")[0]
                    hypervisors[short] = {"state": hyp.state, "status": hyp.status}
        except Exception as exc:
            return {"error": describe_error(exc, self.secrets)["error"]}
        by_host = {s.host: s for s in found}
        views = {}
        for node in self.nodes:
            view = _service_view(by_host[node.name]) if node.name in by_host \
                else {"state": "missing"}
            if node.name in hypervisors:
                view["hypervisor"] = hypervisors[node.name]
            views[node.name] = view
        return views

    def probe(self) -> ProbeResult:
        started = time.monotonic()
        # the checks get 80% of the timeout, so that even one that waits all of it (a ping
        # nobody answers) is in before the results are collected at 90%
        deadline = started + self.timeout * 0.9
        budget = self.timeout * 0.8
        jobs: dict[concurrent.futures.Future, tuple[str, str | None]] = {}
        for node in self.nodes:
            if "bmc" in self.checks[node.name]:
                jobs[self._pool.submit(self._power, node, budget)] = ("power", node.name)
            if "ssh" in self.checks[node.name]:
                jobs[self._pool.submit(self._ssh, node, budget)] = ("ssh", node.name)
        if any("ping" in c for c in self.checks.values()):
            jobs[self._pool.submit(self._ping, budget)] = ("ping", None)
        if self.conn is not None:
            jobs[self._pool.submit(self._cloud)] = ("cloud", None)
        done, _ = concurrent.futures.wait(jobs, timeout=max(0.0, deadline - time.monotonic()))
        hosts: dict[str, dict[str, Any]] = {n.name: {} for n in self.nodes}
        cloud: dict[str, Any] | None = None
        for future, (kind, name) in jobs.items():
            if future not in done:
                if kind == "ping":
                    for node in self.nodes:
                        if "ping" in self.checks[node.name]:
                            hosts[node.name].update(ping=None, ping_error="no result in time")
                elif kind == "cloud":
                    cloud = {"error": "no answer within the probe timeout"}
                else:
                    hosts[name].update({kind: None, f"{kind}_error": "no result in time"})
                continue
            value = future.result()
            if kind == "ping":
                for node_name, facts in value.items():
                    hosts[node_name].update(facts)
            elif kind == "cloud":
                cloud = value
            else:
                hosts[name].update(value)
        disagree = []
        ok = True
        for node in self.nodes:
            facts = hosts[node.name]
            checks = self.checks[node.name]
            up = (("bmc" not in checks or facts.get("power") == "on")
                  and ("ping" not in checks or facts.get("ping") is True)
                  and ("ssh" not in checks or facts.get("ssh") is True))
            off = facts.get("power") == "off" or (
                "bmc" not in checks and facts.get("ping") is False
                and facts.get("ssh") is False)
            facts["host_up"] = up
            ok = ok and up
            if cloud is not None:
                view = cloud.get(node.name) if "error" not in cloud else None
                facts["cloud"] = view if view is not None else {"error": cloud.get("error")}
                state = (view or {}).get("state")
                if (state == "down" and up) or (state == "up" and off):
                    disagree.append(node.name)
        detail: dict[str, Any] = hosts[self.nodes[0].name] if len(self.nodes) == 1 \
            else {"hosts": hosts}
        if len(self.nodes) == 1:
            detail = dict(detail)
            detail["node"] = self.nodes[0].name
        if self.conn is None:
            detail["cloud_view"] = self.cloud_reason
        if disagree:
            detail["cloud_disagrees"] = disagree
        return ProbeResult(ok, time.monotonic() - started, detail)

    def teardown(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        for bmc in getattr(self, "bmcs", {}).values():
            try:
                bmc.close()
            except Exception:  # best effort
                pass
        if getattr(self, "conn", None) is not None:
            try:
                self.conn.close()
            except Exception:  # best effort
                pass

    def describe(self) -> str:
        return f"{self.name}: power, ping, SSH and nova's view of " + \
            ", ".join(n.name for n in self.nodes)

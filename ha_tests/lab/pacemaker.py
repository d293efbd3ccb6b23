"""Pacemaker and Corosync on the controllers (``lab up --style pacemaker``), as TripleO runs
its control plane: Pacemaker, not keepalived, holds the API VIP and runs HAProxy, and
restarts what it manages.

The cluster is Debian's own ``corosync`` (knet over ``br-mgmt``, the three controllers'
addresses as its node list) and ``pacemakerd``, each a service of the node's init. The
resources are the ones TripleO names: ``haproxy-clone`` (HAProxy on every controller, the
``ocf:heartbeat:anything`` agent running the lab's ``haproxy -db``, monitored every 2 s and
restarted where it fails) and the VIP, an ``ocf:heartbeat:IPaddr2`` primitive that may run
only where HAProxy runs. ``pcs`` is installed for the operator's (and discovery's) way of
controlling them, as on a TripleO controller. No fencing: the lab's BMCs are IPMI, but a
fenced lab node would have to be powered on again by something, and nothing in the tests
needs it yet (``stonith-enabled=false``).

What a lab node lacks and how it gets it: the nodes share the host's filesystem, and
Pacemaker's daemons keep their state in fixed places (``/var/lib/pacemaker``,
``/var/lib/corosync``, ``/run/crm``) and talk over libqb IPC, whose abstract sockets are
private to the node's network namespace but whose ring buffers are files in ``/dev/shm``
named after PIDs (which repeat across the nodes' PID namespaces). Each of those paths is a
directory of the node's own, bind-mounted in the node's mount namespace only (the node's
``masks``); the host's are untouched. No systemd is needed: ``pacemakerd`` and
``corosync -f`` run in the foreground under the node's init.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from ha_tests.lab.plan import MGMT_IF, LabPlan, NodePlan
from ha_tests.lab.system import LabError, wait_until

COROSYNC = "/usr/sbin/corosync"
PACEMAKERD = "/usr/sbin/pacemakerd"
#: paths Pacemaker and Corosync keep state in: one directory per node, bound over each
STATE_PATHS = ("/var/lib/pacemaker", "/var/lib/corosync", "/var/log/pacemaker")
#: paths a real node has on a tmpfs: one per node too, emptied at every boot (nodeinit)
VOLATILE_PATHS = (("/run/crm", "755"), ("/dev/shm", "1777"))
#: corosync's lock file (no option moves it): one per node, emptied at every boot
COROSYNC_PID_FILE = "/run/corosync.pid"
#: the subdirectories pacemaker-based and -schedulerd expect, owned by hacluster
PACEMAKER_DIRS = ("cib", "pengine", "blackbox", "cores")
CLUSTER_USER = "hacluster"
#: where HAProxy's configuration is on every controller (the node's own file bound over it):
#: the resource's command line is the cluster's, one for all nodes
HAPROXY_CONFIG = "/etc/haproxy/haproxy.cfg"
#: the resource ids TripleO gives them (discovery's catalogue knows them)
HAPROXY_RESOURCE = "haproxy-clone"
VIP_RESOURCE = "control-vip"


def missing() -> str | None:
    """Why this machine cannot run the style, or None."""
    for program in (COROSYNC, PACEMAKERD, "/usr/sbin/pcs", "/usr/sbin/cibadmin"):
        if not os.access(program, os.X_OK):
            return f"{program} is missing (./bootstrap.sh setup installs pacemaker and pcs)"
    try:
        pwd.getpwnam(CLUSTER_USER)
    except KeyError:
        return f"user {CLUSTER_USER} is missing (Debian's pacemaker package creates it)"
    return None


def corosync_conf(plan: LabPlan) -> str:
    nodes = "".join(f"""    node {{
        ring0_addr: {c.mgmt_ip}
        name: {c.name}
        nodeid: {i}
    }}
""" for i, c in enumerate(plan.controllers, start=1))
    return f"""\
# corosync of lab {plan.name}, written by ha-tests lab
totem {{
    version: 2
    cluster_name: {plan.name}
    transport: knet
    crypto_cipher: none
    crypto_hash: none
}}
nodelist {{
{nodes}}}
quorum {{
    provider: corosync_votequorum
}}
logging {{
    to_stderr: yes
    to_syslog: no
    to_logfile: no
    timestamp: on
}}
"""


def _state_dir(node_dir: Path, path: str) -> Path:
    return node_dir / "pacemaker" / path.strip("/").replace("/", "-")


def prepare(plan: LabPlan, node: NodePlan, node_dir: Path) -> list[dict]:
    """Write the node's corosync.conf and empty state directories; the masks that bind
    them over the fixed paths in the node's mount namespace."""
    user = pwd.getpwnam(CLUSTER_USER)
    owner = f"{user.pw_uid}:{user.pw_gid}"
    conf = node_dir / "corosync.conf"
    conf.write_text(corosync_conf(plan))
    masks = [{"path": "/etc/corosync/corosync.conf", "source": str(conf)},
             {"path": HAPROXY_CONFIG, "source": str(node_dir / "haproxy.cfg")}]
    for path in STATE_PATHS:
        own = _state_dir(node_dir, path)
        shutil.rmtree(own, ignore_errors=True)
        own.mkdir(parents=True)
        os.chown(own, user.pw_uid, user.pw_gid)
        own.chmod(0o770 if path == "/var/lib/pacemaker" else 0o755)
        if path == "/var/lib/pacemaker":
            for sub in PACEMAKER_DIRS:
                (own / sub).mkdir()
                os.chown(own / sub, user.pw_uid, user.pw_gid)
                (own / sub).chmod(0o750)
        masks.append({"path": path, "source": str(own)})
    for path, mode in VOLATILE_PATHS:
        masks.append({"path": path, "source": str(_state_dir(node_dir, path)), "fresh": True,
                      "directory": True, "mode": mode,
                      "owner": owner if path == "/run/crm" else "0:0"})
    masks.append({"path": COROSYNC_PID_FILE, "fresh": True,
                  "source": str(node_dir / "pacemaker" / "corosync.pid")})
    return masks


def services() -> list[dict]:
    return [{"name": "corosync", "path": COROSYNC, "argv": [COROSYNC, "-f"]},
            {"name": "pacemaker", "path": PACEMAKERD, "argv": [PACEMAKERD]}]


def resources_xml(plan: LabPlan, haproxy_binary: str) -> tuple[str, str]:
    """The CIB's resources and constraints: HAProxy cloned on the controllers, the VIP where
    HAProxy runs, started after it."""
    binfile, options = haproxy_binary, ["-db", "-f", HAPROXY_CONFIG]
    resources = f"""<resources>
  <clone id="{HAPROXY_RESOURCE}">
    <primitive id="haproxy" class="ocf" provider="heartbeat" type="anything">
      <instance_attributes id="haproxy-attributes">
        <nvpair id="haproxy-binfile" name="binfile" value="{binfile}"/>
        <nvpair id="haproxy-options" name="cmdline_options" value="{' '.join(options)}"/>
        <nvpair id="haproxy-pidfile" name="pidfile" value="/run/crm/haproxy.pid"/>
      </instance_attributes>
      <operations>
        <op id="haproxy-monitor" name="monitor" interval="2s" timeout="20s"/>
        <op id="haproxy-start" name="start" interval="0s" timeout="20s"/>
        <op id="haproxy-stop" name="stop" interval="0s" timeout="20s"/>
      </operations>
    </primitive>
  </clone>
  <primitive id="{VIP_RESOURCE}" class="ocf" provider="heartbeat" type="IPaddr2">
    <instance_attributes id="vip-attributes">
      <nvpair id="vip-ip" name="ip" value="{plan.vip}"/>
      <nvpair id="vip-cidr" name="cidr_netmask" value="24"/>
      <nvpair id="vip-nic" name="nic" value="{MGMT_IF}"/>
    </instance_attributes>
    <operations>
      <op id="vip-monitor" name="monitor" interval="2s" timeout="20s"/>
    </operations>
  </primitive>
</resources>"""
    constraints = f"""<constraints>
  <rsc_colocation id="vip-with-haproxy" rsc="{VIP_RESOURCE}" with-rsc="{HAPROXY_RESOURCE}"
                  score="INFINITY"/>
  <rsc_order id="haproxy-then-vip" first="{HAPROXY_RESOURCE}" then="{VIP_RESOURCE}"
             kind="Mandatory"/>
</constraints>"""
    return resources, constraints


def online_nodes(crm_mon_xml: str) -> list[str]:
    """The cluster members ``crm_mon --output-as=xml`` says are online."""
    try:
        root = ET.fromstring(crm_mon_xml)
    except ET.ParseError:
        return []
    return sorted(n.get("name", "") for n in root.iter("node")
                  if n.get("online") == "true" and n.get("type", "member") == "member")


def configure(plan: LabPlan, haproxy_binary: str,
              run: Callable[[list[str]], subprocess.CompletedProcess],
              timeout: float = 120) -> None:
    """Once every controller is online, load the resources through one of them (``run``
    runs a command inside that node); raises LabError with what the cluster said."""
    def members() -> list[str]:
        out = run(["crm_mon", "--one-shot", "--output-as=xml"])
        return online_nodes(out.stdout) if out.returncode == 0 else []

    wanted = sorted(c.name for c in plan.controllers)
    if not wait_until(lambda: members() == wanted, timeout=timeout, interval=1):
        raise LabError(f"Pacemaker: the controllers did not all come online within "
                       f"{timeout:.0f} s (online: {', '.join(members()) or 'none'}); see "
                       f"{plan.dir}/nodes/ctl*/log/corosync.log and pacemaker.log")
    resources, constraints = resources_xml(plan, haproxy_binary)
    for argv in (["crm_attribute", "--type", "crm_config", "--name", "stonith-enabled",
                  "--update", "false"],
                 ["cibadmin", "--replace", "--scope", "resources", "--xml-text", resources],
                 ["cibadmin", "--replace", "--scope", "constraints", "--xml-text",
                  constraints]):
        out = run(argv)
        if out.returncode != 0:
            raise LabError(f"Pacemaker: {argv[0]} failed: {(out.stderr or out.stdout).strip()}")


def as_resources(services: dict) -> dict:
    """The inventory's services map of a Pacemaker lab: HAProxy as the resource Pacemaker
    runs, and no keepalived."""
    services = dict(services)
    services.pop("keepalived", None)
    services["haproxy"] = {**{k: v for k, v in services["haproxy"].items()
                              if k not in ("start", "stop", "status")},
                           "manager": "pacemaker", "resource": HAPROXY_RESOURCE}
    return services

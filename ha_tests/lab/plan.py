"""The lab's names, addresses and paths, all derived from its name and range.

Everything that must be found again later (by ``lab down`` after a crash, by the virtual BMC,
by a test in another process) is computed here from ``(name, cidr)``, never remembered only
in a running process. The address plan is the one of docs/contracts.rst.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from pathlib import Path

DEFAULT_NAME = "halab"
DEFAULT_CIDR = "10.199.0.0/16"
MGMT_IF = "br-mgmt"
CONTROLLERS = ("ctl1", "ctl2", "ctl3")
COMPUTES = ("cmp1", "cmp2")
#: a bigger lab (``lab up --computes N``, for fan-out benchmarks): computes take management
#: octets 21.. and VM subnets 101.., so at most 70 fit below the VM range
MAX_COMPUTES = 70
VMS_PER_COMPUTE = 1
KEYSTONE_PORT = 5000
#: the lab's sizes of OpenStack: "identity" (Keystone only; fast, for most tests) and "full"
#: (MariaDB, RabbitMQ, Placement, Nova and Cinder as well; the compute and storage gap areas)
PROFILES = ("identity", "full")
#: how the controllers run their services: under the node's supervisor (native), or in
#: podman containers named as kolla-ansible names them (kolla; ha_tests/lab/kolla.py)
STYLES = ("native", "kolla", "pacemaker")
DEFAULT_STYLE = "native"
DEFAULT_PROFILE = "identity"
MARIADB_PORT = 3306
MEMCACHED_PORT = 11211
RABBIT_PORT = 5672
PLACEMENT_PORT = 8778
NOVA_API_PORT = 8774
CINDER_API_PORT = 8776
NETWORK_PORT = 9696  # stand-in: the lab has no Neutron
IMAGE_PORT = 9292
SERVICE_PROJECT = "service"
BMC_PORT = 623
BMC_USER = "admin"
ADMIN_USER = "admin"
CLOUD_NAME = "ha-lab"
REGION = "RegionOne"
#: how often Nova's and Cinder's services report in, and how long a silent one takes to be
#: published "down" (their defaults: 10 s and 60 s). A deployment sets these too; the lab's
#: are shorter so that the gap scenarios' tests wait half as long (docs/lab.rst)
SERVICE_REPORT_INTERVAL = 5
SERVICE_DOWN_TIME = 30
# Link names are limited to 15 characters: "<name>-ctl1" must fit.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,9}$")


def lab_base_dir() -> Path:
    return Path(os.environ.get("HA_TESTS_LAB_DIR", "/var/lib/ha-tests-lab"))


@dataclasses.dataclass(frozen=True)
class VmPlan:
    name: str  # cmp1-vm1
    host: str  # cmp1
    netns: str  # halab-cmp1-vm1
    address: str  # 10.199.101.11
    gateway: str  # 10.199.101.1, the compute's side
    subnet: str  # 10.199.101.0/24
    host_if: str  # vm1, in the compute's namespace
    vm_if: str = "eth0"


@dataclasses.dataclass(frozen=True)
class NodePlan:
    name: str
    role: str  # controller | compute
    index: int  # 1-based position in the pod (node1..node5)
    mgmt_ip: str
    bmc_ip: str
    netns: str
    host_link: str  # host side of the node's veth (its "cable")
    vms: tuple[VmPlan, ...] = ()

    @property
    def is_controller(self) -> bool:
        return self.role == "controller"


class LabPlan:
    """Names and addresses of one lab; pure computation, touches nothing."""

    def __init__(self, name: str = DEFAULT_NAME, cidr: str = DEFAULT_CIDR,
                 computes: int = len(COMPUTES), profile: str = DEFAULT_PROFILE,
                 style: str = DEFAULT_STYLE):
        if profile not in PROFILES:
            raise ValueError(f"--profile {profile!r}: use one of {', '.join(PROFILES)}")
        if style not in STYLES:
            raise ValueError(f"--style {style!r}: use one of {', '.join(STYLES)}")
        if not 1 <= computes <= MAX_COMPUTES:
            raise ValueError(f"--computes {computes}: use 1 to {MAX_COMPUTES}")
        if not NAME_PATTERN.match(name):
            raise ValueError(f"lab name {name!r}: use 1-10 lower-case letters and digits, "
                             "starting with a letter (link names are limited to 15 characters)")
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError as error:
            raise ValueError(f"--cidr {cidr!r}: {error}") from None
        if network.version != 4 or network.prefixlen > 16:
            raise ValueError(f"--cidr {cidr!r}: needs an IPv4 range of at least /16 "
                             "(e.g. 10.199.0.0/16)")
        self.name = name
        self.profile = profile
        self.style = style
        self.cidr = str(network)
        self._base = int(network.network_address)
        self.bridge = f"{name}-br"
        self.dir = lab_base_dir() / name
        self.host_ip = self.address(0, 1)
        self.bmc_host_ip = self.address(1, 1)
        self.vip = self.address(0, 10)
        nodes = []
        for i, node in enumerate(CONTROLLERS, start=1):
            nodes.append(self._node(node, "controller", len(nodes) + 1, 10 + i))
        for i, node in enumerate((f"cmp{c}" for c in range(1, computes + 1)), start=1):
            vms = tuple(
                VmPlan(name=f"{node}-vm{v}", host=node, netns=f"{name}-{node}-vm{v}",
                       address=self.address(100 + i, 10 + v),
                       gateway=self.address(100 + i, 1),
                       subnet=f"{self.address(100 + i, 0)}/24", host_if=f"vm{v}")
                for v in range(1, VMS_PER_COMPUTE + 1))
            nodes.append(dataclasses.replace(
                self._node(node, "compute", len(nodes) + 1, 20 + i), vms=vms))
        self.nodes: tuple[NodePlan, ...] = tuple(nodes)

    def address(self, third: int, fourth: int) -> str:
        return str(ipaddress.IPv4Address(self._base + third * 256 + fourth))

    def _node(self, name: str, role: str, index: int, octet: int) -> NodePlan:
        return NodePlan(name=name, role=role, index=index, mgmt_ip=self.address(0, octet),
                        bmc_ip=self.address(1, octet), netns=f"{self.name}-{name}",
                        host_link=f"{self.name}-{name}")

    @property
    def controllers(self) -> list[NodePlan]:
        return [n for n in self.nodes if n.is_controller]

    @property
    def computes(self) -> list[NodePlan]:
        return [n for n in self.nodes if not n.is_controller]

    @property
    def vms(self) -> list[VmPlan]:
        return [vm for n in self.nodes for vm in n.vms]

    def node(self, name: str) -> NodePlan:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"lab {self.name} has no node {name!r}")

    def netns_pattern(self) -> re.Pattern:
        """Matches exactly this lab's namespaces (not those of a lab named ``<name>x``)."""
        return re.compile(rf"^{re.escape(self.name)}-(ctl|cmp)\d+(-vm\d+)?$")

    @property
    def full(self) -> bool:
        return self.profile == "full"

    def computes_recorded(self) -> int:
        """The compute count in this lab's state file, else the default."""
        try:
            return int(self._recorded()["computes"])
        except (KeyError, TypeError, ValueError):
            return len(COMPUTES)

    def profile_recorded(self) -> str:
        """The profile in this lab's state file, else the default."""
        profile = self._recorded().get("profile", DEFAULT_PROFILE)
        return profile if profile in PROFILES else DEFAULT_PROFILE

    @property
    def kolla(self) -> bool:
        return self.style == "kolla"

    @property
    def pacemaker(self) -> bool:
        """Pacemaker, not keepalived, holds the VIP and runs HAProxy (ha_tests/lab/pacemaker.py)."""
        return self.style == "pacemaker"

    def style_recorded(self) -> str:
        """The style in this lab's state file, else the default."""
        style = self._recorded().get("style", DEFAULT_STYLE)
        return style if style in STYLES else DEFAULT_STYLE

    def _recorded(self) -> dict:
        import json

        try:
            state = json.loads((self.dir / "lab.json").read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    # -- paths -----------------------------------------------------------------------------
    def node_dir(self, node: str) -> Path:
        return self.dir / "nodes" / node

    def hactl_socket(self, node: str) -> Path:
        """Where the node's PID 1 takes ``hactl`` requests (from the node or the host)."""
        return self.node_dir(node) / "run" / "hactl.sock"

    @property
    def auth_url(self) -> str:
        return f"http://{self.vip}:{KEYSTONE_PORT}/v3"

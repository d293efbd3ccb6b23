"""keepalived on each controller: VRRP on ``br-mgmt`` moves the API VIP, tracking HAProxy.

All three start as BACKUP with distinct priorities and ``nopreempt``: the VIP moves only when
its holder fails (its HAProxy dies, its link goes, it loses power), never back on recovery,
which avoids a second outage. After a partition, the cut-off node has made itself master too;
when the two meet, the lower priority yields and the higher one re-announces the VIP
(``vrrp_garp_lower_prio_*``) so that hosts stop sending to the node that gave it up (without
it the soak benchmark saw up to ~50 s of API outage after such a partition healed, until ARP
caches expired). The track script runs inside the node's PID namespace, so
``killall -0 haproxy`` sees that node's HAProxy only. Pid files go to the node's run
directory (emptied at boot, as /run is): nodes share one filesystem.
"""

from __future__ import annotations

from pathlib import Path

from ha_tests.lab.plan import MGMT_IF, LabPlan, NodePlan

KEEPALIVED = "/usr/sbin/keepalived"
PROCESS_REGEX = r"^/usr/sbin/keepalived "
VIRTUAL_ROUTER_ID = 51


def config(plan: LabPlan, node: NodePlan) -> str:
    priority = 150 - 10 * plan.controllers.index(node)
    return f"""\
# keepalived of {node.name} in lab {plan.name}, written by ha-tests lab
global_defs {{
    router_id {plan.name}-{node.name}
    script_user root
    enable_script_security
    vrrp_garp_master_delay 1
    vrrp_garp_master_repeat 3
    vrrp_garp_lower_prio_delay 0
    vrrp_garp_lower_prio_repeat 3
}}

vrrp_script chk_haproxy {{
    script "/usr/bin/killall -0 haproxy"
    interval 1
    fall 1
    rise 2
}}

vrrp_instance api {{
    state BACKUP
    nopreempt
    interface {MGMT_IF}
    virtual_router_id {VIRTUAL_ROUTER_ID}
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {plan.vip}/24 dev {MGMT_IF}
    }}
    track_script {{
        chk_haproxy
    }}
}}
"""


def service(node_dir: Path) -> dict:
    return {"name": "keepalived", "path": KEEPALIVED,
            "argv": [KEEPALIVED, "--dont-fork", "--log-console", "--log-detail", "--vrrp",
                     "--use-file", str(node_dir / "keepalived.conf"),
                     "--pid", str(node_dir / "run" / "keepalived.pid"),
                     "--vrrp_pid", str(node_dir / "run" / "keepalived-vrrp.pid")]}

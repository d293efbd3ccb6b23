"""The Pacemaker style's pure parts: corosync's node list, crm_mon's online members, the
inventory's services map (the cluster itself: tests/lab/test_pacemaker_lab.py)."""

from __future__ import annotations

from ha_tests.lab import pacemaker
from ha_tests.lab.plan import LabPlan


def test_corosync_lists_the_controllers_by_name_and_address():
    plan = LabPlan("t1", "10.231.0.0/16", style="pacemaker")
    text = pacemaker.corosync_conf(plan)
    for i, node in enumerate(plan.controllers, start=1):
        assert f"ring0_addr: {node.mgmt_ip}\n        name: {node.name}\n        nodeid: {i}" \
            in text
    assert "cmp1" not in text and "cluster_name: t1" in text


def test_online_members_are_read_from_crm_mon_xml():
    xml = """<crm_mon><nodes>
      <node name="ctl1" online="true" type="member"/>
      <node name="ctl2" online="false" type="member"/>
      <node name="ctl3" online="true" type="member"/>
    </nodes></crm_mon>"""
    assert pacemaker.online_nodes(xml) == ["ctl1", "ctl3"]
    assert pacemaker.online_nodes("not xml") == []


def test_the_services_map_has_haproxy_as_pacemaker_s_resource_and_no_keepalived():
    services = {"haproxy": {"roles": ["controller"], "process": "^haproxy", "manager": "command",
                            "start": "a", "stop": "b", "status": "c", "port": 5000},
                "keepalived": {"roles": ["controller"]}}
    out = pacemaker.as_resources(services)
    assert out["haproxy"] == {"roles": ["controller"], "process": "^haproxy", "port": 5000,
                              "manager": "pacemaker", "resource": "haproxy-clone"}
    assert "keepalived" not in out and "keepalived" in services  # the input is left alone


def test_the_vip_may_run_only_where_haproxy_runs():
    plan = LabPlan("t1", "10.231.0.0/16", style="pacemaker")
    resources, constraints = pacemaker.resources_xml(plan, "/usr/sbin/haproxy")
    assert f'value="{plan.vip}"' in resources and 'value="-db -f /etc/haproxy/haproxy.cfg"' \
        in resources
    assert 'rsc="control-vip" with-rsc="haproxy-clone"' in constraints

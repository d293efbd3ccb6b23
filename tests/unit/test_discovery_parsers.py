"""Discovery's readers of what nodes answer, on answers as TripleO, kolla-ansible and
packaged nodes give them (the lab proves the rest live: tests/lab/test_discovery.py)."""

from __future__ import annotations

from ha_tests.discovery import load_catalog, merged_data
from ha_tests.discovery.discover import DiscoveredService, Discovery, _group
from ha_tests.discovery.facts import (
    NodeFacts,
    config_paths,
    parse_addresses,
    parse_containers,
    parse_sections,
    parse_units,
)
from ha_tests.discovery.vips import find_vips, haproxy_binds, ipaddr2_vips, keepalived_vips
from ha_tests.discovery.ways.pacemaker import PacemakerWay, placements
from ha_tests.discovery.ways.systemd import SystemdWay
from ha_tests.inventory import Inventory
from ha_tests.processes import Process

SYSTEMCTL = """\
tripleo_keystone.service         loaded active   running keystone container
tripleo_nova_api.service         loaded inactive dead    nova_api container
sshd.service                     loaded active   running OpenSSH server daemon
file tripleo_keystone.service enabled enabled
file haproxy.service disabled enabled
"""

PODMAN_PS = """[
 {"Names": ["keystone"], "State": "running", "Image": "tripleo/openstack-keystone"},
 {"Names": ["nova_api"], "State": "exited"},
 {"Names": ["haproxy-bundle-podman-0"], "State": "running"}
]"""

DOCKER_PS = """\
{"Names":"keystone","State":"running","Status":"Up 2 hours"}
{"Names":"nova_api","State":"exited","Status":"Exited (0) 3 minutes ago"}
"""

CRM_MON = """<?xml version="1.0"?>
<pacemaker-result api-version="2.3" request="crm_mon --one-shot --output-as=xml">
  <resources>
    <bundle id="haproxy-bundle" type="podman" image="cluster.common.tag/haproxy:pcmklatest">
      <replica id="0">
        <resource id="haproxy-bundle-podman-0" resource_agent="ocf:heartbeat:podman"
                  role="Started" active="true" failed="false">
          <node name="controller-0" id="1" cached="true"/>
        </resource>
      </replica>
      <replica id="1">
        <resource id="haproxy-bundle-podman-1" resource_agent="ocf:heartbeat:podman"
                  role="Started" active="true" failed="false">
          <node name="controller-1" id="2" cached="true"/>
        </resource>
      </replica>
    </bundle>
    <resource id="ip-192.168.24.10" resource_agent="ocf:heartbeat:IPaddr2" role="Started"
              active="true"><node name="controller-1" id="2" cached="true"/></resource>
  </resources>
</pacemaker-result>"""

CIB = """<cib><configuration><resources>
  <primitive class="ocf" id="ip-192.168.24.10" provider="heartbeat" type="IPaddr2">
    <instance_attributes id="ip-192.168.24.10-instance_attributes">
      <nvpair id="a1" name="ip" value="192.168.24.10"/>
      <nvpair id="a2" name="cidr_netmask" value="32"/>
    </instance_attributes>
  </primitive>
</resources></configuration></cib>"""

KEEPALIVED = """\
vrrp_instance kolla_internal_vip_51 {
    state BACKUP
    interface eth0  # the API network
    virtual_ipaddress {
        10.0.0.250 dev eth0
        10.0.1.250/24
    }
}
"""

HAPROXY = """\
listen keystone_internal
    bind 10.0.0.250:5000
    bind *:9999
    server ctl1 10.0.0.11:5000 check
listen nova_api
    bind 10.0.0.250:8774
    bind 10.0.0.11:8775   # the node's own address: no VIP
"""


def test_systemctl_units_and_unit_files():
    units = parse_units(SYSTEMCTL)
    assert units["tripleo_keystone"].active == "active"
    assert units["tripleo_nova_api"].active == "inactive"
    assert units["haproxy"].active == "installed"


def test_podman_json_array_and_docker_json_lines():
    podman = {c.name: c.running for c in parse_containers("podman", PODMAN_PS)}
    assert podman == {"keystone": True, "nova_api": False, "haproxy-bundle-podman-0": True}
    docker = {c.name: c.running for c in parse_containers("docker", DOCKER_PS)}
    assert docker == {"keystone": True, "nova_api": False}
    assert parse_containers("docker", "Cannot connect to the Docker daemon") == []


def test_tripleo_node_keystone_is_its_systemd_unit_even_when_stopped():
    catalog = load_catalog()
    facts = NodeFacts("controller-0", units=parse_units(SYSTEMCTL),
                      containers=parse_containers("podman", PODMAN_PS))
    found = SystemdWay().find("nova-api", catalog["nova-api"], facts)
    assert found.control == {"manager": "systemd", "unit": "tripleo_nova_api.service"}
    assert not found.running


def test_crm_mon_bundle_placement_per_node():
    places = placements(CRM_MON)
    assert places["haproxy-bundle"] == {"controller-0": True, "controller-1": True}
    assert places["ip-192.168.24.10"] == {"controller-1": True}
    catalog = load_catalog()
    on_1 = PacemakerWay().find("haproxy", catalog["haproxy"],
                               NodeFacts("ctl-b", crm_mon=CRM_MON, hostname="controller-1"))
    assert on_1.control == {"manager": "pacemaker", "resource": "haproxy-bundle"}
    assert placements("not xml <") == {}


def test_vips_from_keepalived_haproxy_and_ipaddr2():
    assert keepalived_vips(KEEPALIVED) == [("10.0.0.250", "kolla_internal_vip_51"),
                                           ("10.0.1.250", "kolla_internal_vip_51")]
    assert haproxy_binds(HAPROXY) == [("10.0.0.250", 5000), ("10.0.0.250", 8774),
                                      ("10.0.0.11", 8775)]
    assert ipaddr2_vips(CIB) == [("192.168.24.10", "ip-192.168.24.10")]


def test_the_vip_haproxy_serves_keystone_on_is_api_and_a_nodes_own_address_is_none():
    node = NodeFacts("ctl1", configs={"keepalived": {"/etc/kolla/keepalived/keepalived.conf":
                                                     KEEPALIVED},
                                      "haproxy": {"/etc/kolla/haproxy/haproxy.cfg": HAPROXY}},
                     addresses=parse_addresses(
                         "2: eth0    inet 10.0.0.11/24 brd 10.0.0.255 scope global eth0\\\n"
                         "2: eth0    inet 10.0.0.250/32 scope global eth0\\\n"))
    vips = find_vips([node], {"10.0.0.11"})
    assert vips["api"].address == "10.0.0.250" and vips["api"].holders == ["ctl1"]
    assert "10.0.0.11" not in {v.address for v in vips.values()}
    kolla = find_vips([node], {"10.0.0.11"}, {"kolla_internal_vip_address": "10.0.1.250"})
    assert kolla["api"].address == "10.0.1.250"


def test_config_files_are_the_ones_the_running_programs_were_given():
    processes = [Process(1, "/usr/sbin/keepalived -nld -f /srv/k.conf"),
                 Process(2, "/usr/sbin/haproxy -W -db -f /srv/h.cfg"),
                 Process(3, "/usr/bin/killall -0 haproxy")]
    assert config_paths("keepalived", processes) == ["/srv/k.conf"]
    assert config_paths("haproxy", processes) == ["/srv/h.cfg"]
    assert "/etc/haproxy/haproxy.cfg" in config_paths("haproxy", [])


def test_sections_of_one_answer():
    text = "\n@@ha-tests-discovery a\nx\ny\n@@ha-tests-discovery b\n\n@@ha-tests-discovery c\nz"
    assert parse_sections(text) == {"a": "x\ny", "b": "", "c": "z"}


def test_what_the_user_wrote_wins_and_discovered_items_say_where_from():
    inventory = Inventory(nodes=[{"name": "ctl1", "address": "10.0.0.11"},
                                 {"name": "ctl2", "address": "10.0.0.12",
                                  "bmc": {"address": "10.1.0.12", "password": "s3cret"}}],
                          services={"keystone": {"nodes": ["ctl1"], "process": "mine"}},
                          vips={"api": "10.0.0.250"})
    found = Discovery(
        services={"keystone": DiscoveredService("keystone", ["ctl1", "ctl2"], "systemd",
                                                {"manager": "systemd", "unit": "k.service"},
                                                "k", None, "systemd unit", {}),
                  "haproxy": DiscoveredService("haproxy", ["ctl2"], "docker",
                                               {"manager": "docker", "container": "haproxy"},
                                               "h", None, "docker container haproxy", {})},
        roles={"ctl1": (["controller"], "what runs there: keystone")})
    data, sources = merged_data(inventory, found)
    mine = data["services"]["keystone"]
    assert mine["process"] == "mine" and mine["nodes"] == ["ctl1"] and "source" not in mine
    assert data["services"]["haproxy"]["source"] == "docker container haproxy"
    assert data["vips"] == {"api": "10.0.0.250"}
    assert data["nodes"][0]["roles"] == ["controller"] and "nodes.ctl1.roles" in sources
    assert data["nodes"][1]["bmc"]["password"] == "s3cret"  # the written file is complete
    assert Inventory(**data).services["haproxy"].manager == "docker"


def test_nodes_controlled_another_way_are_said_not_merged():
    from ha_tests.discovery.ways import Finding

    a = Finding("keystone", "ctl1", "systemd", 30, True, "systemd unit keystone.service",
                {"manager": "systemd", "unit": "keystone.service"})
    b = Finding("keystone", "ctl2", "systemd", 30, True, "systemd unit keystone.service",
                {"manager": "systemd", "unit": "keystone.service"})
    c = Finding("keystone", "ctl3", "docker", 20, True, "docker container keystone",
                {"manager": "docker", "container": "keystone"})
    service, notes = _group("keystone", [a, b, c])
    assert service.nodes == ["ctl1", "ctl2"]
    assert notes and "ctl3" in notes[0]


def test_a_node_that_cannot_be_reached_is_said_and_the_others_still_asked(tmp_path):
    from ha_tests.discovery import discover

    inventory = Inventory(nodes=[
        {"name": "here", "address": "127.0.0.1", "transport": "local"},
        {"name": "gone", "address": "127.0.0.1",
         "ssh": {"port": 1, "connect_timeout": 2, "known_hosts": str(tmp_path / "none")}}])
    (tmp_path / "none").write_text("")
    found = discover(inventory, endpoints=False)
    assert set(found.unreachable) == {"gone"}
    assert any(line.startswith("node gone NOT asked") for line in found.lines())
    assert found.roles["here"][1].startswith("what runs there")


def test_discover_exits_3_when_a_node_could_not_be_asked(tmp_path, capsys):
    from ha_tests.cli import main

    (tmp_path / "none").write_text("")
    path = tmp_path / "inventory.yaml"
    path.write_text(f"""\
nodes:
  - {{name: here, address: 127.0.0.1, transport: local}}
  - name: gone
    address: 127.0.0.1
    ssh: {{port: 1, connect_timeout: 2, known_hosts: {tmp_path / 'none'}}}
""")
    assert main(["discover", "-i", str(path), "-o", str(tmp_path / "out.yaml")]) == 3
    err = capsys.readouterr().err
    assert "1 of 2 nodes could not be asked (gone)" in err
    assert "# NOT asked (unreachable): gone" in (tmp_path / "out.yaml").read_text()


def test_the_post_deploy_profile_needs_its_services_and_the_api_vip():
    from ha_tests.discovery import needs_of
    from ha_tests.profiles import profile_paths
    from ha_tests.scenario import load_scenario

    needs = needs_of([load_scenario(p) for p in profile_paths("post-deploy")])
    assert {"keystone", "haproxy", "keepalived", "nova-api", "neutron-server"} <= needs.services
    assert needs.vips == {"api"}
    assert not needs.missing(Inventory(nodes=[{"name": "a", "address": "10.0.0.1"}],
                                       services={s: {"nodes": ["a"]} for s in needs.services},
                                       vips={"api": "10.0.0.9"}))


def test_the_installers_own_machine_is_not_asked():
    from ha_tests.discovery import discover

    inventory = Inventory(nodes=[
        {"name": "node0", "address": "192.0.2.1", "roles": ["jumpserver"]},
        {"name": "here", "address": "127.0.0.1", "transport": "local"}])
    found = discover(inventory, endpoints=False)
    assert not found.unreachable
    assert any("node0 not asked: the installer's own machine" in n for n in found.notes)


def test_a_nodes_management_interface_is_the_one_holding_its_address_unless_it_says_one():
    from ha_tests.discovery.discover import management_interfaces

    inventory = Inventory(nodes=[
        {"name": "ctl1", "address": "10.0.0.11"},
        {"name": "ctl2", "address": "10.0.0.12", "interfaces": {"mgmt": "eth9"}},
        {"name": "cmp1", "address": "10.0.0.21"}])
    facts = [NodeFacts("ctl1", addresses=parse_addresses(
                 "2: br-mgmt    inet 10.0.0.11/24 scope global br-mgmt\n"
                 "2: br-mgmt    inet 10.0.0.10/32 scope global br-mgmt\n"
                 "3: eth1    inet 192.168.0.5/24 scope global eth1")),
             NodeFacts("ctl2", addresses={"10.0.0.12": "br-mgmt"}),
             NodeFacts("cmp1", addresses={"192.168.9.9": "eth0"})]
    found = management_interfaces(inventory, facts)
    assert found == {"ctl1": ("br-mgmt", "the interface holding 10.0.0.11")}
    data, sources = merged_data(inventory, Discovery(interfaces=found))
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["ctl1"]["interfaces"] == {"mgmt": "br-mgmt"}
    assert nodes["ctl2"]["interfaces"] == {"mgmt": "eth9"}  # what the user wrote wins
    assert sources["nodes.ctl1.interfaces"] == "the interface holding 10.0.0.11"


def test_a_node_slower_than_the_discover_timeout_is_said_unreachable_and_the_bound_is_yours():
    from ha_tests.discovery import discover

    inventory = Inventory(nodes=[{"name": "here", "address": "127.0.0.1",
                                  "transport": "local"}])
    hurried = discover(inventory, endpoints=False, timeout=0.001)
    assert set(hurried.unreachable) == {"here"} and "timed out" in hurried.unreachable["here"]
    assert not discover(inventory, endpoints=False, timeout=60).unreachable


def test_known_hosts_given_to_a_run_door_verifies_the_nodes_a_pod_yaml_names(tmp_path):
    """validate-deployment and run take --known-hosts, as discover does: a pod.yaml names
    no known_hosts, and its nodes' keys must still be verified."""
    import argparse

    from ha_tests.cli import build_parser
    from ha_tests.discovery.commands import completed

    inventory = Inventory(nodes=[{"name": "n1", "address": "10.0.0.1"}])
    known = str(tmp_path / "known_hosts")
    args = build_parser().parse_args(["validate-deployment", "-i", "x", "--known-hosts",
                                      known, "--no-discover"])
    assert completed(inventory, [], args).ssh.known_hosts == known
    assert completed(inventory, [], argparse.Namespace(discover=False)).ssh.known_hosts is None

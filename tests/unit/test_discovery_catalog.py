"""The shipped service catalogue, entry by entry: each entry is found through every way it
names, with the command that controls it that way, and its pattern matches the command
lines seen on real nodes and no other entry's."""

from __future__ import annotations

import pytest

from ha_tests.discovery import load_catalog
from ha_tests.discovery.facts import Container, NodeFacts, Unit
from ha_tests.discovery.ways.container import DockerWay, PodmanWay
from ha_tests.discovery.ways.hactl import HactlWay
from ha_tests.discovery.ways.pacemaker import PacemakerWay
from ha_tests.discovery.ways.process import ProcessWay
from ha_tests.discovery.ways.systemd import SystemdWay
from ha_tests.errors import InputError
from ha_tests.inventory import Service
from ha_tests.processes import Process
from ha_tests.services import service_argv

CATALOG = load_catalog()
NAMES = CATALOG.names()


def controlled(name, finding, action):
    """The argv ha-tests would run to ``action`` the service as discovery found it."""
    return service_argv(name, Service(**finding.control, process=CATALOG[name].process),
                        action)


def test_the_catalogue_names_the_services_of_the_issue():
    wanted = {"keystone", "nova-api", "nova-conductor", "nova-scheduler", "nova-compute",
              "nova-novncproxy", "placement-api", "neutron-server", "neutron-openvswitch-agent",
              "neutron-dhcp-agent", "neutron-l3-agent", "neutron-metadata-agent", "glance-api",
              "cinder-api", "cinder-scheduler", "cinder-volume", "swift-proxy", "heat-api",
              "haproxy", "keepalived", "mysql", "rabbitmq-server", "memcached", "pacemaker",
              "corosync"}
    assert wanted <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_entry_pattern_matches_its_examples_and_no_other_entrys(name):
    entry = CATALOG[name]
    assert entry.examples, f"{name} has no example command line"
    for example in entry.examples:
        assert entry.matches(example), f"{name}: {entry.process!r} misses {example!r}"
        others = [o for o in NAMES if o != name and CATALOG[o].matches(example)]
        assert not others, f"{name}'s example {example!r} also matches {others}"


@pytest.mark.parametrize("name", NAMES)
def test_entry_is_found_as_a_systemd_unit_and_stopped_with_systemctl(name):
    entry = CATALOG[name]
    facts = NodeFacts("n1", units={entry.units[0]: Unit(entry.units[0], "active")})
    found = SystemdWay().find(name, entry, facts)
    assert found is not None and found.running
    assert controlled(name, found, "stop") == ["systemctl", "stop", f"{entry.units[0]}.service"]
    assert controlled(name, found, "status")[:2] == ["systemctl", "is-active"]


@pytest.mark.parametrize("name", [n for n in NAMES if CATALOG[n].containers])
@pytest.mark.parametrize("way", [DockerWay, PodmanWay])
def test_entry_is_found_as_a_kolla_container_and_stopped_by_its_engine(name, way):
    entry = CATALOG[name]
    facts = NodeFacts("n1", containers=[Container(way.engine, entry.containers[0], True)])
    found = way().find(name, entry, facts)
    assert found is not None and found.running
    assert controlled(name, found, "stop") == [way.engine, "stop", entry.containers[0]]
    assert controlled(name, found, "start") == [way.engine, "start", entry.containers[0]]


@pytest.mark.parametrize("name", [n for n in NAMES if CATALOG[n].containers])
def test_entry_as_tripleo_container_is_controlled_through_its_systemd_unit(name):
    entry = CATALOG[name]
    unit = f"tripleo_{entry.containers[0]}"
    facts = NodeFacts("n1", units={unit: Unit(unit, "active")},
                      containers=[Container("podman", entry.containers[0], True)])
    best = min((f for f in (SystemdWay().find(name, entry, facts),
                            PodmanWay().find(name, entry, facts)) if f), key=lambda f: f.rank)
    assert controlled(name, best, "restart") == ["systemctl", "restart", f"{unit}.service"]


@pytest.mark.parametrize("name", [n for n in NAMES if CATALOG[n].pacemaker])
def test_entry_is_found_as_a_pacemaker_bundle_where_it_runs(name):
    entry = CATALOG[name]
    rid = entry.pacemaker[0]
    crm_mon = f"""<pacemaker-result api-version="2.2"><resources>
      <bundle id="{rid}" type="podman" image="cluster.common.tag/x:pcmklatest">
        <replica id="0"><resource id="{rid}-podman-0" resource_agent="ocf:heartbeat:podman"
          role="Started" active="true" orphaned="false" failed="false"><node name="ctl1"
          id="1" cached="true"/></resource></replica>
        <replica id="1"><resource id="{rid}-podman-1" resource_agent="ocf:heartbeat:podman"
          role="Stopped" active="false" orphaned="false" failed="false"/></replica>
      </bundle></resources></pacemaker-result>"""
    on_ctl1 = PacemakerWay().find(name, entry, NodeFacts("ctl1", crm_mon=crm_mon,
                                                          hostname="ctl1"))
    assert on_ctl1 is not None and on_ctl1.running
    assert controlled(name, on_ctl1, "stop") == ["pcs", "resource", "disable", rid]
    assert PacemakerWay().find(name, entry, NodeFacts("ctl2", crm_mon=crm_mon,
                                                      hostname="ctl2")) is None


@pytest.mark.parametrize("name", NAMES)
def test_entry_is_found_as_a_bare_process_that_nothing_manages(name):
    entry = CATALOG[name]
    facts = NodeFacts("n1", processes=[Process(4242, entry.examples[0])])
    found = ProcessWay().find(name, entry, facts)
    assert found is not None and found.control == {"manager": "none"}
    assert "4242" in found.source


def test_the_lab_supervisors_services_are_controlled_with_its_hactl():
    facts = NodeFacts("ctl1", init="/usr/bin/python3 -m ha_tests.lab.nodeinit --spec "
                      "/var/lib/ha-tests-lab/x/nodes/ctl1/node.json")
    facts.extra["hactl"] = {"path": "/var/lib/ha-tests-lab/x/bin/hactl",
                            "services": {"mariadb": False}}
    found = HactlWay().find("mysql", CATALOG["mysql"], facts)
    assert found is not None and not found.running
    assert controlled("mysql", found, "stop") == ["/var/lib/ha-tests-lab/x/bin/hactl",
                                                  "stop", "mariadb"]


def test_a_users_catalogue_adds_and_replaces_entries(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("octavia-api:\n  process: '(^|/)octavia-api( |$)'\n  units: [octavia-api]\n"
                    "keystone:\n  process: 'my-keystone'\n")
    catalog = load_catalog(mine)
    assert catalog["octavia-api"].units == ["octavia-api"]
    assert catalog["keystone"].process == "my-keystone"
    assert "nova-api" in catalog


def test_a_users_catalogue_with_a_typo_names_file_line_and_fix(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("octavia-api:\n  process: x\n  unit: [octavia-api]\n")
    with pytest.raises(InputError) as error:
        load_catalog(mine)
    text = str(error.value)
    assert "mine.yaml" in text and ":3" in text and "units" in text

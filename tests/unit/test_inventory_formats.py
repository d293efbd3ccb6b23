"""Installers' own inventories (Ansible INI and YAML) read into ha-tests' Inventory."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from ha_tests.errors import InputError
from ha_tests.inventory_formats import detect, load_any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "yardstick"))

KOLLA_INI = """\
# kolla-ansible multinode, trimmed
[control]
ctl1 ansible_host=10.0.0.11 ansible_user=stack ipmi_address=10.1.0.11 ipmi_username=admin \
ipmi_password=pw-ctl1
ctl2 ansible_host=10.0.0.12

[compute]
cmp1 ansible_host=10.0.0.21 ansible_ssh_private_key_file=/keys/id

[network:children]
control

[all:vars]
ha_tests_vips={"api": "10.0.0.10"}
ha_tests_cloud=kolla-admin
"""

TRIPLEO_YAML = """\
all:
  vars:
    ha_tests_vips: {api: 192.0.2.10}
  children:
    Controller:
      hosts:
        overcloud-controller-0:
          ansible_host: 192.0.2.20
          redfish_url: https://bmc-0.example
          redfish_username: root
          redfish_password: pw-redfish
    Compute:
      hosts:
        overcloud-novacompute-0: {ansible_host: 192.0.2.30, ansible_port: 2222}
"""


@pytest.fixture
def write(tmp_path):
    def write(name, text):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path
    return write


def test_kolla_ini_maps_groups_ssh_and_ipmi(write):
    path = write("multinode", KOLLA_INI)
    assert detect(path) == "ansible"
    inv = load_any(path)
    ctl1 = inv.node("ctl1")
    assert ctl1.roles == ["controller", "network"] and ctl1.address == "10.0.0.11"
    assert inv.ssh_for(ctl1).user == "stack"
    assert ctl1.bmc.type == "ipmi" and ctl1.bmc.address == "10.1.0.11"
    assert ctl1.bmc.password.get_secret_value() == "pw-ctl1"
    assert inv.node("cmp1").roles == ["compute"]
    assert inv.ssh_for(inv.node("cmp1")).key_file == "/keys/id"
    assert inv.vips == {"api": "10.0.0.10"} and inv.cloud == "kolla-admin"
    assert "pw-ctl1" not in repr(inv)


def test_tripleo_yaml_maps_roles_and_redfish(write):
    inv = load_any(write("inventory.yaml", TRIPLEO_YAML))
    ctl = inv.node("overcloud-controller-0")
    assert ctl.roles == ["controller"] and ctl.bmc.type == "redfish"
    assert ctl.bmc.url == "https://bmc-0.example"
    cmp = inv.node("overcloud-novacompute-0")
    assert cmp.roles == ["compute"] and inv.ssh_for(cmp).port == 2222
    assert inv.vips == {"api": "192.0.2.10"}


def test_ha_tests_format_is_detected(write):
    path = write("inv.yaml", "nodes:\n  - {name: a, address: 127.0.0.1}\n")
    assert detect(path) == "ha-tests" and load_any(path).node("a").address == "127.0.0.1"


def test_empty_ansible_inventory_is_a_clear_error(write):
    with pytest.raises(InputError) as info:
        load_any(write("empty.ini", "[control]\n"), "ansible")
    assert "no hosts found" in str(info.value)


def test_unknown_format(write):
    with pytest.raises(InputError) as info:
        load_any(write("x.yaml", "nodes: []\n"), "chef")
    assert "unknown inventory format" in str(info.value)


def test_yardstick_pod_as_an_installer_inventory():
    from yardstick_corpus import PODS

    pod = next((p for p in PODS if p.name == "pod.yaml.ipmi.sample"), None)
    if pod is None:
        pytest.skip("../shared/yardstick is not beside the repository")
    assert detect(pod) == "pod"
    inv = load_any(pod)
    node1 = inv.node("node1")
    assert node1.roles == ["controller"] and node1.bmc.address == "192.168.10.10"
    assert inv.node("node2").roles == ["compute"]


def test_ansibles_known_hosts_file_verifies_the_host_keys(write):
    path = write("multinode", """\
        [control]
        ctl1 ansible_host=10.0.0.11

        [all:vars]
        ansible_ssh_common_args='-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/k/hosts'
        """)
    inv = load_any(path)
    assert inv.ssh_for(inv.node("ctl1")).known_hosts == "/k/hosts"
    assert inv.ssh_for(inv.node("ctl1")).verify_host_keys is not False


def test_kollas_local_deployment_host_is_run_locally_not_over_ssh(write):
    path = write("multinode", """\
        [control]
        ctl1 ansible_host=10.0.0.11

        [deployment]
        localhost ansible_connection=local
        """)
    inv = load_any(path)
    assert inv.node("localhost").transport == "local"
    assert inv.node("ctl1").transport == "ssh"

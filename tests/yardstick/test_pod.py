"""pod.yaml -> Inventory, field by field as Yardstick reads them."""

from __future__ import annotations

import textwrap

import pytest
from yardstick_corpus import PODS, YARDSTICK

from ha_tests.errors import InputError
from ha_tests.inventory_formats.pod import load_pod

ALL_PODS = [pytest.param(p, id=p.name) for p in PODS] or [
    pytest.param(None, marks=pytest.mark.skip(reason=f"no Yardstick pods at {YARDSTICK}"))]


@pytest.mark.parametrize("path", ALL_PODS)
def test_every_sample_pod_is_an_inventory(path):
    warnings: list[str] = []
    inventory = load_pod(path, "LF", warnings)
    assert inventory.nodes
    for node in inventory.nodes:
        assert node.name.endswith(".LF")
        assert node.address
        assert node.ssh.user == "root"
        assert node.ssh.key_file or node.ssh.password


def test_fields_map_to_ssh_roles_and_bmc(pod):
    inventory = load_pod(pod("pod.yaml.ipmi.sample"), "LF")
    node1 = inventory.node("node1.LF")
    assert node1.roles == ["controller"]
    assert node1.address == "10.1.0.50"
    assert node1.ssh.password.get_secret_value() == "root"
    assert node1.bmc.type == "ipmi"
    assert node1.bmc.address == "192.168.10.10"
    assert node1.bmc.username == "root"
    assert node1.bmc.password.get_secret_value() == "root"
    assert inventory.node("node0.LF").roles == ["jumpserver"]
    assert inventory.node("node0.LF").bmc is None


def test_key_files_and_context_names(pod):
    inventory = load_pod(pod("fuel_virtual_pod.yaml"), "ODL")
    assert [n.name for n in inventory.nodes] == [f"node{i}.ODL" for i in range(1, 6)]
    assert inventory.node("node4.ODL").roles == ["compute"]
    assert inventory.node("node4.ODL").ssh.key_file == "/root/.ssh/id_rsa"


def test_ipmi_pwd_is_used_and_warned_about(pod):
    warnings: list[str] = []
    inventory = load_pod(pod("compass_sclab_physical_pod.yaml"), "LF", warnings)
    assert inventory.node("node1.LF").bmc.password.get_secret_value() == "Opnfv@pod1"
    assert any("nodes[0].ipmi_pwd" in w and "ipmi_password" in w for w in warnings)


def write(tmp_path, text):
    path = tmp_path / "pod.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_defaults_and_unknown_fields(tmp_path):
    path = write(tmp_path, """\
        nodes:
        - {name: n1, role: Controller, ip: 10.0.0.1, ssh_port: 2222, ipmi_ip: 10.1.0.1,
           key_filename: /k, flavor: big}
        networks: {}
        """)
    warnings: list[str] = []
    node = load_pod(path, "X", warnings).node("n1.X")
    assert node.ssh.user == "root" and node.ssh.port == 2222
    assert node.bmc.username == "root" and node.bmc.password is None
    assert any("nodes[0].flavor" in w for w in warnings)
    assert any("networks" in w for w in warnings)


@pytest.mark.parametrize("text, message", [
    ("nodes:\n- {name: n1}\n", "node has no 'ip'"),
    ("nodes:\n- {ip: 10.0.0.1}\n", "node has no 'name'"),
    ("nodes:\n- {name: n1, ip: 10.0.0.1, pkey: 'xx'}\n", "pkey"),
    ("servers: []\n", "'nodes:' list"),
])
def test_bad_pods_are_clear_errors(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        load_pod(write(tmp_path, text), "X")

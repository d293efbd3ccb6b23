"""The inventory is validated at the edge, with the same precise errors as scenarios."""

from __future__ import annotations

import pytest

from ha_tests.errors import InputError
from ha_tests.inventory import Inventory, load_inventory
from ha_tests.services import service_argv
from ha_tests.validation import validate
from ha_tests.yamlsource import load_text

GOOD = """\
name: lab
test_target: true
vips: {api: 10.199.0.10}
ssh: {user: root, key_file: /k, known_hosts: /kh}
nodes:
  - name: ctl1
    roles: [controller]
    address: 10.199.0.11
    bmc: {type: ipmi, address: 10.199.1.11, username: admin, password: s3cret-pw}
  - name: cmp1
    roles: [compute]
    address: 10.199.0.21
    ssh: {user: admin, port: 2222}
services:
  keystone:
    roles: [controller]
    process: '^keystone'
    manager: systemd
    unit: apache2
"""


def load(text):
    data, source = load_text(text, "inv.yaml")
    return validate(Inventory, data, source)


def test_valid_inventory_merges_ssh_defaults_per_node():
    inv = load(GOOD)
    ssh = inv.ssh_for(inv.node("cmp1"))
    assert (ssh.user, ssh.port, ssh.key_file) == ("admin", 2222, "/k")
    assert [n.name for n in inv.service_nodes("keystone")] == ["ctl1"]


def test_secrets_are_hidden_in_repr_and_dumps():
    inv = load(GOOD)
    assert "s3cret-pw" not in repr(inv) and "s3cret-pw" not in inv.model_dump_json()
    assert inv.node("ctl1").bmc.connection_mapping()["password"] == "s3cret-pw"


def test_unknown_node_lookup_suggests_a_name():
    inv = load(GOOD)
    with pytest.raises(InputError) as info:
        inv.node("ctl")
    assert "did you mean 'ctl1'" in str(info.value)


def test_misspelt_node_key():
    with pytest.raises(InputError) as info:
        load(GOOD.replace("    address: 10.199.0.21", "    adress: 10.199.0.21"))
    text = str(info.value)
    assert "inv.yaml:12:5" in text and "did you mean 'address'" in text


def test_ipmi_bmc_without_address():
    with pytest.raises(InputError) as info:
        load(GOOD.replace("address: 10.199.1.11, ", ""))
    assert "needs 'address'" in str(info.value)


def test_manager_needs_its_field():
    with pytest.raises(InputError) as info:
        load(GOOD.replace("    unit: apache2\n", ""))
    assert "manager 'systemd' needs 'unit'" in str(info.value)


def test_bad_process_regex():
    with pytest.raises(InputError) as info:
        load(GOOD.replace("'^keystone'", "'(unclosed'"))
    assert "not a valid regular expression" in str(info.value)


def test_vip_must_be_an_address():
    with pytest.raises(InputError) as info:
        load(GOOD.replace("10.199.0.10}", "vip.example}"))
    assert "not an IP address" in str(info.value)


def test_duplicate_node_names():
    with pytest.raises(InputError) as info:
        load(GOOD.replace("name: cmp1", "name: ctl1"))
    assert "appears twice" in str(info.value)


def test_inventory_file_loading(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text(GOOD)
    assert load_inventory(path).source_file == str(path)


@pytest.mark.parametrize("manager,extra,action,expected", [
    ("systemd", {"unit": "haproxy"}, "stop", ["systemctl", "stop", "haproxy"]),
    ("systemd", {"unit": "haproxy"}, "status", ["systemctl", "is-active", "haproxy"]),
    ("pacemaker", {"resource": "vip"}, "stop", ["pcs", "resource", "disable", "vip"]),
    ("docker", {"container": "keystone"}, "start", ["docker", "start", "keystone"]),
    ("podman", {"container": "nova_api"}, "restart", ["podman", "restart", "nova_api"]),
    ("command", {"start": "/x/hactl start 'key stone'"}, "start",
     ["/x/hactl", "start", "key stone"]),
])
def test_service_managers_map_to_commands(manager, extra, action, expected):
    from ha_tests.inventory import Service
    assert service_argv("s", Service(manager=manager, **extra), action) == expected

"""The full profile's pure parts: plan, password hash, stand-in, configs, inventory."""

from __future__ import annotations

import base64
import configparser
import hashlib
import io
import json
from pathlib import Path

import pytest
import yaml

from ha_tests.lab import (
    cinder,
    files,
    glance,
    haproxy,
    nova,
    rabbitmq,
    rabbitmq_member,
    standins,
)
from ha_tests.lab.openstack import Secrets
from ha_tests.lab.plan import LabPlan
from ha_tests.monitors.service_notifications import kombu_url


def test_an_unknown_profile_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="identity, full"):
        LabPlan("x", "10.199.0.0/16", profile="huge")


def test_rabbitmq_stores_the_password_salted_and_hashed():
    text = rabbitmq.password_hash("s3cret", salt=b"\x01\x02\x03\x04")
    raw = base64.b64decode(text)
    assert raw[:4] == b"\x01\x02\x03\x04"
    assert raw[4:] == hashlib.sha256(b"\x01\x02\x03\x04" + b"s3cret").digest()
    assert "s3cret" not in text


def call(app, path, method="GET", query=""):
    seen = {}

    def start_response(status, headers):
        seen["status"] = status

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": method, "QUERY_STRING": query,
                         "wsgi.input": io.BytesIO()}, start_response))
    return seen["status"], json.loads(body)


def test_the_network_stand_in_has_no_ports_and_refuses_writes():
    assert call(standins.network_application, "/v2.0/ports") == ("200 OK", {"ports": []})
    status, body = call(standins.network_application, "/v2.0/ports", method="POST")
    assert status.startswith("501") and "no Neutron" in body["error"]["message"]


def test_glance_api_shares_one_file_store_and_finds_its_paste_pipeline():
    """Every controller's glance-api stores images in the one directory all nodes see, reads
    its database through the VIP, and names its own URL (Glance's import needs it)."""
    plan = LabPlan("labx", "10.199.0.0/16", profile="full")
    secrets = Secrets(database="dbpw", bus="buspw", service="svcpw")
    parsed = []
    for node in plan.controllers:
        conf = configparser.ConfigParser(interpolation=None)
        conf.read_string(glance.config(plan, node, secrets))
        parsed.append(conf)
        assert conf["DEFAULT"]["worker_self_reference_url"] == f"http://{node.mgmt_ip}:9292"
        assert conf["database"]["connection"].startswith("mysql+pymysql://") and \
            f"@{plan.vip}:3306/glance" in conf["database"]["connection"]
        assert conf["keystone_authtoken"]["username"] == "glance"
        assert conf["paste_deploy"]["flavor"] == "keystone"
        assert Path(conf["paste_deploy"]["config_file"]).is_file()
    assert {c["glance_store"]["default_backend"] for c in parsed} == {"shared"}
    stores = {c["shared"]["filesystem_store_datadir"] for c in parsed}
    assert stores == {str(glance.store_dir(plan))} and str(plan.dir) in stores.pop()
    assert "glance-api" in files._full_services(plan)


def test_haproxy_fronts_the_full_profiles_apis_and_database_on_the_vip_not_its_bus():
    plan = LabPlan("labx", "10.199.0.0/16", profile="full")
    text = haproxy.config(plan, plan.controllers[0], plan.node_dir("ctl1"))
    for port in (8774, 8778, 8776, 3306):
        assert f"bind {plan.vip}:{port}" in text
    # the services reach the RabbitMQ cluster's brokers directly (transport_url)
    assert ":5672" not in text and "rabbitmq" not in text
    identity = haproxy.config(LabPlan("labx", "10.199.0.0/16"), plan.controllers[0],
                              plan.node_dir("ctl1"))
    assert ":8774" not in identity


def test_every_service_lists_the_three_brokers_and_uses_quorum_queues():
    plan = LabPlan("labx", "10.199.0.0/16", profile="full")
    secrets = Secrets(database="d", bus="pw", service="s")
    brokers = ",".join(f"openstack:pw@{c.mgmt_ip}:5672" for c in plan.controllers)
    for node, text in ((plan.controllers[0], nova.config(plan, plan.controllers[0], secrets)),
                       (plan.computes[0], nova.config(plan, plan.computes[0], secrets)),
                       (plan.controllers[2], cinder.config(plan, plan.controllers[2], secrets))):
        options = configparser.ConfigParser(interpolation=None, strict=False)
        options.read_string(text)
        assert options["DEFAULT"]["transport_url"] == f"rabbit://{brokers}/"
        bus = options["oslo_messaging_rabbit"]
        for name in ("rabbit_quorum_queue", "rabbit_transient_quorum_queue",
                     "use_queue_manager", "rabbit_stream_fanout"):
            assert bus.getboolean(name), name
        assert bus.getint("rabbit_qos_prefetch_count") > 0  # streams refuse 0
        # the queue manager's counter in the host's /dev/shm: one per lab and node
        assert bus["hostname"] == f"labx-{node.name}"
    assert plan.vip not in rabbitmq.transport_url(plan, "pw")


def test_the_brokers_form_one_cluster_by_names_every_node_resolves(tmp_path, monkeypatch):
    monkeypatch.setenv("HA_TESTS_LAB_DIR", str(tmp_path))
    plan = LabPlan("labx", "10.199.0.0/16", profile="full")
    ctl1, ctl2, ctl3 = plan.controllers
    for node in plan.controllers:
        rabbitmq.prepare(plan, node, "pw")
    # one cookie for all three, owner-only (Erlang refuses it otherwise)
    cookies = {(rabbitmq.home(plan, n) / ".erlang.cookie").read_text() for n in plan.controllers}
    assert len(cookies) == 1 and len(cookies.pop()) >= 20
    assert (rabbitmq.home(plan, ctl2) / ".erlang.cookie").stat().st_mode & 0o077 == 0
    inetrc = rabbitmq.inetrc(plan).read_text()
    assert f'{{host, {{{ctl2.mgmt_ip.replace(".", ",")}}}, ["ctl2"]}}.' in inetrc
    conf = (rabbitmq.home(plan, ctl3) / "rabbitmq.conf").read_text()
    assert "cluster_formation.peer_discovery_backend = classic_config" in conf
    for i, node in enumerate(plan.controllers, start=1):
        assert f"cluster_formation.classic_config.nodes.{i} = rabbit@{node.name}" in conf
    assert "cluster_partition_handling = pause_minority" in conf
    first, second = rabbitmq.service(plan, ctl1), rabbitmq.service(plan, ctl2)
    assert first["env"]["RABBITMQ_NODENAME"] == "rabbit@ctl1"
    assert first["env"]["ERL_INETRC"] == str(rabbitmq.inetrc(plan))
    # the script execs the VM, so a SIGKILLed broker is a failure its supervisor restarts
    assert first["env"]["RUNNING_UNDER_SYSTEMD"] == "true"
    # the first broker forms the cluster; a blank other one waits for it (rabbitmq_member)
    assert "--peer" not in first["argv"]
    assert second["argv"].count("--peer") == 2 and f"{ctl1.mgmt_ip}:5672" in second["argv"]
    assert second["argv"][-2:] == ["--", rabbitmq.SERVER]


def test_a_blank_broker_waits_for_the_cluster_and_one_with_a_database_does_not(tmp_path):
    database = tmp_path / "rabbit@ctl2"
    tries = []

    def reach(address):
        tries.append(address)
        return len(tries) > 4 and address == "10.0.0.11:5672"

    said = []
    rabbitmq_member.wait_for_cluster(database, ["10.0.0.11:5672", "10.0.0.13:5672"],
                                     sleep=lambda s: None, reach=reach, say=said.append)
    assert len(tries) > 4 and "joining the cluster through 10.0.0.11:5672" in said[-1]
    # the first broker (no peers) and a broker that has its database start at once
    rabbitmq_member.wait_for_cluster(database, [], reach=pytest.fail)
    database.mkdir()
    (database / "cluster_nodes.config").write_text("")
    rabbitmq_member.wait_for_cluster(database, ["10.0.0.11:5672"], reach=pytest.fail)


def test_the_notification_listener_reaches_every_broker_through_kombu():
    url = "rabbit://u:p1@10.0.0.11:5672,u:p1@10.0.0.12:5672/"
    assert kombu_url(url) == "amqp://u:p1@10.0.0.11:5672/;amqp://u:p1@10.0.0.12:5672/"


def test_the_inventory_tells_listeners_the_lab_bus_has_quorum_queues():
    plan = LabPlan("labx", "10.199.0.0/16", profile="full")
    bus = rabbitmq.transport_url(plan, "pw")
    notifications = yaml.safe_load(files.inventory(plan, "bmc", bus_url=bus))["notifications"]
    assert notifications == {"transport_url": bus, "quorum_queues": True}


def test_cinder_volume_runs_as_an_aa_cluster_on_two_controllers_and_ap_on_the_third():
    plan = LabPlan("labx", "10.199.0.0/16", profile="full")
    secrets = Secrets(database="d", bus="b", service="s")
    ctl1, ctl2, ctl3 = plan.controllers
    for node in (ctl1, ctl2):
        assert f"cluster = {cinder.AA_CLUSTER}" in cinder.config(plan, node, secrets)
    ap = cinder.config(plan, ctl3, secrets)
    assert "cluster =" not in ap and f"backend_host = {cinder.AP_BACKEND_HOST}" in ap
    assert [s["name"] for s in cinder.services(plan, plan.computes[0])] == []


def test_the_inventory_names_the_full_profiles_services_where_they_run():
    plan = LabPlan("labx", "10.199.0.0/16", profile="full")
    inventory = yaml.safe_load(files.inventory(plan, "bmc", servers=[
        {"name": "lab-vm-cmp1", "host": "cmp1", "address": "10.199.101.100"}]))
    services = inventory["services"]
    assert services["nova-compute"]["roles"] == ["compute"]
    assert services["cinder-volume"]["nodes"] == ["ctl1", "ctl2"]
    assert services["cinder-volume-ap"]["nodes"] == ["ctl3"]
    assert services["mysql"]["roles"] == ["controller"] and "nodes" not in services["mysql"]
    assert "lab-vm-cmp1" in [vm["name"] for vm in inventory["lab"]["vms"]]
    assert "nova-compute" not in yaml.safe_load(files.inventory(
        LabPlan("labx", "10.199.0.0/16"), "bmc"))["services"]


def test_nova_and_cinder_report_every_5_s_and_call_a_silent_service_down_after_30_s():
    """The lab's detection intervals, as a deployment sets them (docs/lab.rst): tests/full's
    gap scenarios size their holds for these, so the files must say them."""
    import configparser

    from ha_tests.lab import nova

    plan = LabPlan("labx", "10.199.0.0/16", profile="full")
    secrets = Secrets("db", "bus", "svc")
    for module, node in ((nova, plan.computes[0]), (cinder, plan.controllers[0])):
        parsed = configparser.ConfigParser(interpolation=None, strict=False)
        parsed.read_string(module.config(plan, node, secrets))
        assert parsed["DEFAULT"]["report_interval"] == "5", module.__name__
        assert parsed["DEFAULT"]["service_down_time"] == "30", module.__name__

"""The full profile's pure parts: plan, password hash, stand-ins, configs, inventory."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
import yaml

from ha_tests.lab import cinder, files, haproxy, rabbitmq, standins
from ha_tests.lab.openstack import Secrets
from ha_tests.lab.plan import LabPlan


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


def test_the_image_stand_in_serves_one_image_by_id_and_name(monkeypatch):
    monkeypatch.setenv("HA_TESTS_LAB_NAME", "labx")
    ident = standins.image_id("labx")
    status, image = call(standins.image_application, f"/v2/images/{ident}")
    assert status == "200 OK" and image["name"] == "lab-guest" and image["status"] == "active"
    assert call(standins.image_application, "/v2/images", query="name=lab-guest")[1][
        "images"][0]["id"] == ident
    assert call(standins.image_application, "/v2/images", query="name=other")[1][
        "images"] == []
    assert call(standins.image_application, "/v2/images/nope")[0].startswith("404")


def test_haproxy_fronts_the_full_profiles_apis_database_and_bus_on_the_vip():
    plan = LabPlan("labx", "10.199.0.0/16", profile="full")
    text = haproxy.config(plan, plan.controllers[0], plan.node_dir("ctl1"))
    for port in (8774, 8778, 8776, 3306, 5672):
        assert f"bind {plan.vip}:{port}" in text
    # one broker at a time, and everyone back to the first together when it returns
    assert "backup" in text and "on-marked-up shutdown-backup-sessions" in text
    identity = haproxy.config(LabPlan("labx", "10.199.0.0/16"), plan.controllers[0],
                              plan.node_dir("ctl1"))
    assert ":8774" not in identity


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

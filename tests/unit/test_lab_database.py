"""The lab's database and cache, as configured: a Galera cluster behind the VIP in every
profile, Keystone on it with memcached, and each member's start deciding bootstrap or join."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from ha_tests.lab import files, galera_member, haproxy, keystone, mariadb
from ha_tests.lab.plan import LabPlan

SERVER = ["/usr/sbin/mariadbd", "--datadir=/nonexistent",
          "--wsrep-cluster-address=gcomm://10.9.0.11,10.9.0.12,10.9.0.13",
          "--wsrep-node-address=10.9.0.12"]


@pytest.mark.parametrize("profile", ["identity", "full"])
def test_haproxy_sends_the_database_to_one_member_with_the_others_as_backups(profile):
    plan = LabPlan("labx", "10.199.0.0/16", profile=profile)
    text = haproxy.config(plan, plan.controllers[0], plan.node_dir("ctl1"))
    section = text[text.index("listen mariadb"):].split("\n\n")[0]
    assert f"bind {plan.vip}:3306" in section
    servers = [line.split() for line in section.splitlines() if line.strip().startswith("server")]
    assert [s[1] for s in servers] == ["ctl1", "ctl2", "ctl3"]
    assert "backup" not in servers[0] and all("backup" in s for s in servers[1:])
    assert "shutdown-backup-sessions" in servers[0]
    # healthy means synced, asked of the member's clustercheck, not merely listening
    assert "option httpchk GET /" in section and "port 9200" in section


def test_every_member_lists_the_three_controllers_and_listens_on_its_own_address():
    plan = LabPlan("labx", "10.199.0.0/16")
    for host in plan.controllers:
        argv = mariadb.server_argv(plan, host)
        assert galera_member.option(argv, "wsrep-cluster-address") == (
            "gcomm://" + ",".join(c.mgmt_ip for c in plan.controllers))
        assert f"--wsrep-node-address={host.mgmt_ip}" in argv
        assert f"gmcast.listen_addr=tcp://{host.mgmt_ip}:4567" in galera_member.option(
            argv, "wsrep-provider-options")
        assert "--wsrep-new-cluster" not in argv  # only galera_member adds it, once
        assert "--user=mysql" in argv  # the rsync daemon of an SST writes as the server


@pytest.mark.parametrize("profile", ["identity", "full"])
def test_keystone_uses_the_galera_cluster_through_the_vip_and_the_controllers_memcached(
        tmp_path, monkeypatch, profile):
    monkeypatch.setenv("HA_TESTS_LAB_DIR", str(tmp_path))
    plan = LabPlan("labx", "10.199.0.0/16", profile=profile)
    path = keystone.write_config(plan, "dbpass")
    text = path.read_text()
    assert f"connection = mysql+pymysql://openstack:dbpass@{plan.vip}:3306/keystone" in text
    assert "sqlite" not in text
    assert "backend = oslo_cache.memcache_pool" in text
    assert "memcache_servers = " + ",".join(f"{c.mgmt_ip}:11211" for c in plan.controllers) \
        in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the database password


def test_the_inventory_names_a_mysql_member_and_a_memcached_on_every_controller():
    services = yaml.safe_load(files.inventory(LabPlan("labx", "10.199.0.0/16"), "bmc"))[
        "services"]
    assert services["mysql"]["roles"] == ["controller"]
    assert services["mysql"]["process"] == mariadb.PROCESS_REGEX
    assert "hactl stop mariadb" in services["mysql"]["stop"]
    assert services["memcached"]["roles"] == ["controller"]


def test_the_first_start_after_lab_up_bootstraps_and_only_once(tmp_path):
    marker = tmp_path / "galera-bootstrap"
    marker.touch()
    said = []
    assert galera_member.decide(SERVER, marker, say=said.append)[-1] == "--wsrep-new-cluster"
    assert not marker.exists()
    # the same member restarted later, another member answering: it joins
    argv = galera_member.decide(SERVER, marker, reach=lambda a: a == "10.9.0.13",
                                say=said.append)
    assert argv == SERVER and "10.9.0.13" in said[-1]


def test_a_member_waits_for_another_rather_than_splitting_the_cluster(tmp_path):
    now = [0.0]
    asked = []

    def reach(address):
        asked.append(address)
        return len(asked) > 40  # nobody answers for 20 s, then ctl1 does

    def sleep(seconds):
        now[0] += seconds

    argv = galera_member.decide(SERVER, tmp_path / "absent", clock=lambda: now[0],
                                sleep=sleep, reach=reach, say=lambda text: None)
    assert argv == SERVER  # joined: no safe_to_bootstrap, so never a new cluster
    assert "10.9.0.12" not in asked  # never itself


def test_a_member_killed_in_the_primary_component_starts_without_waiting(tmp_path):
    """gvwstate.dat (the primary view it was in when it died) lets pc.recovery restore the
    component: it starts, never bootstrapping, so the others see it and start too."""
    (tmp_path / "gvwstate.dat").write_text("my_uuid: 0a1b\n#vwbeg\n#vwend\n")
    server = [a if not a.startswith("--datadir=") else f"--datadir={tmp_path}" for a in SERVER]
    said = []
    argv = galera_member.decide(server, tmp_path / "absent", reach=lambda a: False,
                                sleep=lambda s: pytest.fail("waited"), say=said.append)
    assert argv == server and "pc.recovery" in said[-1]


def test_the_member_that_left_last_bootstraps_when_no_other_answers(tmp_path):
    (tmp_path / "grastate.dat").write_text("# GALERA saved state\nversion: 2.1\n"
                                           "seqno:   42\nsafe_to_bootstrap: 1\n")
    server = [a if not a.startswith("--datadir=") else f"--datadir={tmp_path}" for a in SERVER]
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    argv = galera_member.decide(server, tmp_path / "absent", clock=lambda: now[0],
                                sleep=sleep, reach=lambda a: False, say=lambda text: None)
    assert argv[-1] == "--wsrep-new-cluster"
    assert now[0] >= galera_member.LAST_ONE_GRACE


def test_a_member_that_crashed_joins_from_the_position_innodb_recovered(tmp_path):
    """After SIGKILL or power-off grastate.dat holds no position: without the one
    ``--wsrep-recover`` finds, the member could only rejoin by a full SST."""
    (tmp_path / "grastate.dat").write_text(
        "# GALERA saved state\nversion: 2.1\nuuid:    0a1b2c3d-0000-11f1-8000-aabbccddeeff\n"
        "seqno:   -1\nsafe_to_bootstrap: 0\n")
    assert galera_member.crashed(str(tmp_path))
    (tmp_path / "grastate.dat").write_text("seqno:   42\n")
    assert not galera_member.crashed(str(tmp_path))

    position = "0a1b2c3d-0000-11f1-8000-aabbccddeeff:1234"
    ran = []

    def run(argv, **kwargs):  # what mariadbd --wsrep-recover writes to its error log
        ran.append(argv)
        log = next(a for a in argv if a.startswith("--log-error=")).split("=", 1)[1]
        Path(log).write_text("2026-12-01 13:55:12 0 [Note] InnoDB: Starting crash recovery\n"
                             f"2026-12-01 13:55:13 0 [Note] WSREP: Recovered position: "
                             f"{position}\n")

    assert galera_member.recover(SERVER, tmp_path / "recover.log", run=run) == position
    (argv,) = ran
    assert "--wsrep-recover" in argv
    assert [a for a in argv if a.startswith("--log-error=")] == [
        f"--log-error={tmp_path / 'recover.log'}"]  # one error log: the recovery's own
    # a fresh member (nothing committed) recovers no position: it joins by SST
    assert galera_member.recovered_position(
        "WSREP: Recovered position: 00000000-0000-0000-0000-000000000000:-1") is None

"""The lab's Galera cluster, faulted for real: a write committed through the VIP survives
the loss of the member HAProxy sent it to, read back through the VIP from another member,
and the lost member rejoins (restarted by its node's supervisor, or at boot) and catches up
on what was written without it."""

from __future__ import annotations

import os
import secrets
import signal
import time
import urllib.request
from pathlib import Path

import pymysql
import pytest
from labcheck import api_steady, galera_whole, healthy, service_pids, wait_for

from ha_tests.lab import galera_member, mariadb
from ha_tests.lab.openstack import Secrets
from ha_tests.lab.plan import MARIADB_PORT

pytestmark = pytest.mark.lab

DATABASE = "ha_tests_probe"


def through_vip(lab, host=None):
    return pymysql.connect(host=host or lab.plan.vip, port=MARIADB_PORT, user=mariadb.USER,
                           password=Secrets.load(lab.plan).database, connect_timeout=3,
                           read_timeout=5, write_timeout=5, autocommit=True)


def write(lab, value: str, host=None) -> str:
    """Commit ``value``; the member that took it."""
    connection = through_vip(lab, host)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {DATABASE}.writes "
                           "(value VARCHAR(64) PRIMARY KEY)")
            # IGNORE: a retried write whose first try committed unseen is still one row
            cursor.execute(f"INSERT IGNORE INTO {DATABASE}.writes VALUES (%s)", (value,))
            cursor.execute("SELECT @@wsrep_node_name")
            return cursor.fetchone()[0]
    finally:
        connection.close()


def write_once_the_cluster_takes_it(lab, value: str) -> str | None:
    """Commit ``value`` as soon as the cluster takes writes again. A member lost without
    leaving stalls every commit until the others evict it (Galera's evs.suspect_timeout,
    5 s by default, and the view change after it): a write meanwhile times out."""
    def attempt() -> str | None:
        try:
            return write(lab, value)
        except pymysql.MySQLError:
            return None
    return wait_for(attempt, timeout=90, interval=1)


def read(lab, value: str, host=None) -> tuple[str, bool] | None:
    """(member that answered, whether it has ``value``); None while nobody answers."""
    try:
        connection = through_vip(lab, host)
    except pymysql.MySQLError:
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@wsrep_node_name, (SELECT COUNT(*) FROM "
                           f"{DATABASE}.writes WHERE value = %s)", (value,))
            member, count = cursor.fetchone()
            return member, count == 1
    except pymysql.MySQLError:
        return None
    finally:
        connection.close()


def caught_up(lab, member: str, value: str) -> bool:
    """The member itself serves ``value``, written while it was away."""
    address = lab.plan.node(member).mgmt_ip
    return wait_for(lambda: read(lab, value, host=address) == (member, True), timeout=120,
                    interval=1)


@pytest.fixture
def steady(lab):
    assert wait_for(lambda: healthy(lab), timeout=240, interval=1), \
        "the lab is not steady before the fault"
    yield lab
    assert wait_for(lambda: healthy(lab) and api_steady(lab), timeout=300,
                    interval=1), "the lab did not come back whole after the fault"


def test_a_write_committed_before_the_writer_is_killed_is_read_from_another_member(steady):
    lab = steady
    before, during = secrets.token_hex(8), secrets.token_hex(8)
    writer = write(lab, before)
    assert writer == mariadb.node(lab.plan).name  # HAProxy sends writes to the first member
    (pid,) = service_pids(lab, writer, "mysql")
    os.kill(pid, signal.SIGKILL)
    seen = wait_for(lambda: (r := read(lab, before)) and r[0] != writer and r, timeout=60)
    assert seen, f"no other member answered through the VIP after {writer} was killed"
    assert seen[1], f"{seen[0]} lacks the write {writer} committed before it was killed"
    # the cluster goes on without it; the killed member rejoins once its supervisor
    # restarted it, and catches up (IST) on what was written meanwhile
    took = write_once_the_cluster_takes_it(lab, during)
    assert took and took != writer, f"the cluster took no write without {writer}: {took}"
    assert wait_for(lambda: galera_whole(lab), timeout=240, interval=1), \
        f"{writer} did not rejoin the cluster after its supervisor restarted it"
    assert [p for p in service_pids(lab, writer, "mysql") if p != pid]
    assert caught_up(lab, writer, during)


def test_the_writer_powered_off_and_on_rejoins_at_boot_with_every_write(steady):
    lab = steady
    before, during = secrets.token_hex(8), secrets.token_hex(8)
    writer = write(lab, before)
    power = lab.power(writer)
    power.off()
    try:
        seen = wait_for(lambda: (r := read(lab, before)) and r[0] != writer and r, timeout=90)
        assert seen and seen[1], f"the write {writer} took is not readable without it: {seen}"
        took = write_once_the_cluster_takes_it(lab, during)
        assert took and took != writer, f"the cluster took no write without {writer}: {took}"
    finally:
        power.on()
    assert wait_for(lambda: galera_whole(lab), timeout=240, interval=1), \
        f"{writer} did not rejoin the cluster at boot"
    assert caught_up(lab, writer, during)


def test_clustercheck_answers_every_check_over_one_kept_connection(steady):
    """HAProxy on each controller checks each member every second: a MySQL connection per
    check cost the three clustercheck processes more CPU than the three Keystones."""
    lab = steady
    member = mariadb.node(lab.plan)
    counter = through_vip(lab, host=member.mgmt_ip)
    try:
        def connections() -> int:
            with counter.cursor() as cursor:
                cursor.execute("SHOW GLOBAL STATUS LIKE 'Connections'")
                return int(cursor.fetchone()[1])

        before = connections()
        checks = 20
        for _ in range(checks):
            url = f"http://{member.mgmt_ip}:{mariadb.CLUSTERCHECK_PORT}/"
            with urllib.request.urlopen(url, timeout=10) as answer:
                assert answer.status == 200 and b"is synced" in answer.read()
        opened = connections() - before
    finally:
        counter.close()
    # our 20 checks and HAProxy's own, each a new connection before; Keystone's pools may
    # open a few meanwhile
    assert opened < checks // 2, f"{opened} connections to the member for {checks} checks"


def test_every_member_killed_at_once_comes_back_by_itself_with_every_write(steady):
    """No member left cleanly, so none is safe to bootstrap from; each was in the primary
    component (gvwstate.dat), so each starts and Galera's pc.recovery restores the
    component once all three are back. (Each waiting for another member deadlocked.)"""
    lab = steady
    value = secrets.token_hex(8)
    write(lab, value)
    pids = [pid for member in mariadb.members(lab.plan)
            for pid in service_pids(lab, member.name, "mysql")]
    assert len(pids) == len(mariadb.members(lab.plan))
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: galera_whole(lab), timeout=180, interval=1), (
        "the cluster did not come back after every member was killed:\n  "
        + mariadb.log_tails(lab.plan, (Secrets.load(lab.plan).database,)))
    assert not set(pids) & {p for member in mariadb.members(lab.plan)
                            for p in service_pids(lab, member.name, "mysql")}
    assert wait_for(lambda: read(lab, value) and read(lab, value)[1], timeout=60)


def state_file(lab, member) -> Path:
    return mariadb.data_dir(lab.plan, member) / "grastate.dat"


def test_a_cluster_no_member_can_bootstrap_is_reformed_from_the_most_advanced(steady):
    """Every member stopped with ``safe_to_bootstrap: 0`` (what a bootstrap that died under
    the members joining it leaves): started again, each waits for another, none starts.
    ``mariadb.reform`` (what ``lab up`` does after FORM_TIMEOUT) brings the cluster back
    from the member that committed last, with the writes."""
    lab = steady
    value = secrets.token_hex(8)
    write(lab, value)
    hosts = mariadb.members(lab.plan)
    for host in hosts:
        assert mariadb.control(lab.plan, host, "stop")[0] == 0
    for host in hosts:
        path = state_file(lab, host)
        path.write_text(path.read_text().replace("safe_to_bootstrap: 1", "safe_to_bootstrap: 0"))
    for host in hosts:
        assert mariadb.control(lab.plan, host, "start")[0] == 0
    # the deadlock is real: after the last-one grace, still nobody is in a primary component
    time.sleep(galera_member.LAST_ONE_GRACE + 5)
    password = Secrets.load(lab.plan).database
    assert not mariadb.has_primary(lab.plan, password)
    assert all("waiting for another member" in mariadb.error_log(lab.plan, h).read_text()
               .splitlines()[-1] for h in hosts)
    done = mariadb.reform(lab.plan)
    assert "bootstraps, the others join it" in done, done
    assert wait_for(lambda: galera_whole(lab), timeout=240, interval=1), (
        f"{done}; the cluster did not form:\n  " + mariadb.log_tails(lab.plan, (password,)))
    assert read(lab, value) and read(lab, value)[1]

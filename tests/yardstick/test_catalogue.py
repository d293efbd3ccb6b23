"""The catalogue covers every key of Yardstick's own catalogues, and its patterns select what
Yardstick's scripts select."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest
import yaml

from ha_tests.yardstick import catalogue


def keys(yardstick_dir, name):
    data = yaml.safe_load((yardstick_dir / "conf" / name).read_text())
    return {k: v for k, v in data.items() if k != "schema"}


def test_every_catalogue_key_is_mapped_or_refused(yardstick_dir):
    assert set(keys(yardstick_dir, "attacker_conf.yaml")) == set(catalogue.ATTACKS)
    assert set(keys(yardstick_dir, "monitor_conf.yaml")) == set(catalogue.GENERAL_MONITORS)
    assert set(keys(yardstick_dir, "operation_conf.yaml")) == set(catalogue.OPERATIONS)
    assert set(keys(yardstick_dir, "result_checker_conf.yaml")) == \
        set(catalogue.RESULT_CHECKERS)


def test_scripts_match_yardsticks_catalogue(yardstick_dir):
    for key, scripts in keys(yardstick_dir, "attacker_conf.yaml").items():
        assert set(scripts.values()) <= set(catalogue.ATTACKS[key].scripts), key
    for key, scripts in keys(yardstick_dir, "operation_conf.yaml").items():
        assert set(scripts.values()) == set(catalogue.OPERATIONS[key]), key
    for key, scripts in keys(yardstick_dir, "monitor_conf.yaml").items():
        assert scripts["monitor_script"] == catalogue.GENERAL_MONITORS[key].script


@pytest.mark.parametrize("name, cmdline, killed", [
    ("keystone", "keystone-wsgi-public -m ha_tests.lab.keystone_wsgi", True),
    ("keystone", "/usr/bin/keystone-monitor --watch", False),
    ("haproxy", "/usr/sbin/haproxy -f /etc/haproxy/haproxy.cfg", True),
    ("haproxy", "haproxy -f /etc/haproxy/haproxy.cfg", False),
    ("nova-api", "/usr/bin/python3 /usr/bin/nova-api --config-file x", True),
    ("nova-api", "/usr/bin/python3 /usr/bin/openstack-nova-api", False),
    ("nova-api", "nova-api", False),   # pgrep '[^-_a-zA-Z0-9]nova-api' needs a character before
])
def test_kill_patterns_select_what_fault_process_kill_selects(name, cmdline, killed):
    assert bool(re.search(catalogue.kill_pattern(name), cmdline)) is killed


@pytest.mark.parametrize("command, service", [
    ("openstack user list", "identity"), ("openstack image list", "image"),
    ("openstack router list", "network"), ("openstack stack list", "orchestration"),
    ("openstack volume list", "volume"), ("openstack server list", "compute"),
    ("openstack flavor list", "compute"), ("nova image-list", "compute"),
    ("swift stat", "object-store"), ("openstack --insecure network list", "network"),
])
def test_commands_name_the_service_they_need(command, service):
    assert catalogue.service_needed(command) == service


@pytest.mark.parametrize("action, expected", [
    ("start", r"systemctl start (apache2|httpd)"),   # apache2 where /usr/bin/apt exists
    ("stop", r"systemctl stop apache2"),             # lsb_release says Ubuntu below
])
def test_service_commands_are_plain_shell(action, expected, tmp_path):
    argv = shlex.split(catalogue.start_command("keystone", action))
    # run with stub systemctl/lsb_release on PATH: see what the mapping asks for
    (tmp_path / "systemctl").write_text('#!/bin/sh\necho systemctl "$@"\n')
    (tmp_path / "lsb_release").write_text("#!/bin/sh\necho Ubuntu\n")
    for stub in ("systemctl", "lsb_release"):
        (tmp_path / stub).chmod(0o755)
    done = subprocess.run(argv, capture_output=True, text=True,
                          env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert re.fullmatch(expected, done.stdout.strip()), done.stdout

"""The lab nodes' root password: checked by sshd against a shadow file of the lab's own,
which keeps every other account of the host as it is and never holds the host's root hash."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import yaml

from ha_tests.lab import files, sshd
from ha_tests.lab.plan import LabPlan

HOST = ("root:$y$j9T$hostsalt$hosthash:19700:0:99999:7:::\n"
        "daemon:*:19700:0:99999:7:::\n"
        "mysql:!:19700::::::\n")


def test_the_nodes_shadow_holds_the_lab_password_for_root_only(tmp_path):
    host = tmp_path / "host-shadow"
    host.write_text(HOST)
    path = sshd.write_shadow(tmp_path / "shadow", "s3cretLabPw", host_shadow=host)
    lines = path.read_text().splitlines()
    root = lines[0].split(":")
    assert root[0] == "root" and root[1].startswith("$6$") and "hosthash" not in lines[0]
    assert lines[1:] == HOST.splitlines()[1:]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the hash is the password's: openssl, given the same salt, computes the same one
    salt = root[1].split("$")[2]
    again = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "-stdin"],
                           input="s3cretLabPw", capture_output=True, text=True, check=True)
    assert again.stdout.strip() == root[1]


def test_the_password_pod_yaml_logs_in_with_the_password_not_the_key():
    plan = LabPlan("labx", "10.199.0.0/16")
    nodes = yaml.safe_load(files.pod_yaml(plan, "bmcpw", "sshpw"))["nodes"]
    targets = [n for n in nodes if n["role"] != "Jumpserver"]
    assert targets and all(n["password"] == "sshpw" and "key_filename" not in n
                           for n in targets)
    keyed = yaml.safe_load(files.pod_yaml(plan, "bmcpw"))["nodes"]
    assert all("password" not in n and n["key_filename"] for n in keyed)


def test_sshd_accepts_the_key_and_the_password():
    text = sshd.config(Path("/n"), Path("/k"))
    assert "PasswordAuthentication yes" in text and "PubkeyAuthentication yes" in text

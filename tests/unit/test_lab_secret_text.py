"""The lab's secrets read from its files: the value wherever a string goes, never in a repr
(pytest shows a failing frame's arguments by their repr; lab up's passwords were once in CI's
output that way)."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from ha_tests.lab import files
from ha_tests.lab.openstack import Secrets
from ha_tests.lab.plan import LabPlan
from ha_tests.lab.system import SecretText, read_secret, write_secret


def test_a_secret_is_its_value_everywhere_but_its_repr(tmp_path):
    path = tmp_path / "admin-password"
    write_secret(path, "Sx9secretValue\n")
    secret = read_secret(path)
    assert isinstance(secret, SecretText)
    assert secret == "Sx9secretValue" and f"{secret}" == "Sx9secretValue"
    assert "Sx9secretValue" not in repr(secret) and "Sx9secretValue" not in repr([secret])
    assert json.loads(json.dumps({"p": secret})) == {"p": "Sx9secretValue"}
    assert yaml.safe_load(files._dump({"p": secret})) == {"p": "Sx9secretValue"}
    echoed = subprocess.run([sys.executable, "-c", "import sys; print(sys.argv[1])", secret],
                            capture_output=True, text=True).stdout
    assert echoed == "Sx9secretValue\n"


def test_the_service_secrets_hide_in_their_repr(tmp_path, monkeypatch):
    monkeypatch.setenv("HA_TESTS_LAB_DIR", str(tmp_path))
    loaded = Secrets.load(LabPlan(name="zzsec", cidr="10.251.0.0/16"))
    assert loaded.database and loaded.database not in repr(loaded)

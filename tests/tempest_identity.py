"""Tempest as an independent client of a lab: a workspace whose tempest.conf points at the
lab's VIP, and Tempest's whole identity API suite (with the full lab, its image API suite too)
run at concurrency 2, the verdict read from Tempest's own totals. Shared by the identity lab
(tests/lab) and the full lab (tests/full)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

TEMPEST = Path(sys.executable).with_name("tempest")
IDENTITY_SUITE = r"^tempest\.api\.identity"
#: the identity and image API suites, for a lab that runs Glance
IDENTITY_AND_IMAGE_SUITES = r"^tempest\.api\.(identity|image)"


def make_workspace(lab, tmp_path: Path, extra: str = "", glance: bool = False) -> Path:
    """``tempest init`` and a tempest.conf for ``lab`` (Keystone, and Glance if ``glance``;
    the other services marked unavailable). ``extra`` is appended (further sections)."""
    if not TEMPEST.exists():
        pytest.skip("tempest is not installed (pip install 'ha-tests[tempest]')")
    ws = tmp_path / "tempest"
    subprocess.run([str(TEMPEST), "init", "--workspace-path", str(tmp_path / "workspaces.yaml"),
                    "--name", f"ha-tests-{tmp_path.name}", str(ws)],
                   check=True, capture_output=True, timeout=120)
    auth = yaml.safe_load(lab.clouds_yaml_path.read_text())["clouds"]["ha-lab"]["auth"]
    (ws / "etc" / "tempest.conf").write_text(textwrap.dedent(f"""\
        [DEFAULT]
        log_dir = {ws}/logs
        [auth]
        admin_username = {auth['username']}
        admin_password = {auth['password']}
        admin_project_name = {auth['project_name']}
        admin_domain_name = Default
        use_dynamic_credentials = true
        [identity]
        uri_v3 = {auth['auth_url']}
        auth_version = v3
        region = RegionOne
        [identity-feature-enabled]
        api_v2 = false
        [image]
        region = RegionOne
        [service_available]
        nova = false
        neutron = false
        glance = {str(glance).lower()}
        cinder = false
        swift = false
        """) + textwrap.dedent(extra))
    return ws


def tempest_env() -> dict:
    return dict(os.environ, PATH=f"{TEMPEST.parent}:{os.environ.get('PATH', '')}")


def run_identity_suite(ws: Path, regex: str = IDENTITY_SUITE) -> tuple[int, int, str]:
    """Run Tempest's identity API suite (or ``regex``'s) at concurrency 2; (passed, failed)
    by Tempest's own totals, and its output. Fails the test when Tempest failed or printed
    no totals."""
    proc = subprocess.run([str(TEMPEST), "run", "--regex", regex,
                           "--concurrency", "2"], cwd=ws, capture_output=True, text=True,
                          timeout=1800, env=tempest_env())
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    totals = re.search(r"- Passed: (\d+)\n - Skipped: (\d+)\n.*?- Failed: (\d+)", output,
                       re.S)
    assert totals, output[-3000:]
    passed, _skipped, failed = map(int, totals.groups())
    return passed, failed, output

"""Control characters from the cloud (an operation's stderr, an API error body) still give a
valid junit.xml, a report and the run's own exit code: XML 1.0 cannot carry them, even
escaped, so they are written as visible \\xNN."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

from fake_cloud import write_inventory
from junitparser import JUnitXml

#: every C0 control character but tab, newline and carriage return, and DEL
CONTROLS = "".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))


def scenario(tmp_path, operations: str = "") -> str:
    path = tmp_path / "controls.yaml"
    path.write_text(textwrap.dedent("""\
        name: controls
        description: the cloud answers with control characters
        gap: classic
        monitors:
          - type: api
            name: servers
            service: compute
            call: server-list
            interval: 0.2
            timeout: 5
        timing: {baseline: 0.3, observe: 0.3}
        """) + operations)
    return str(path)


def run(tmp_path, scenario_path: str, inventory: str) -> tuple[subprocess.CompletedProcess,
                                                                JUnitXml]:
    junit = tmp_path / "all-junit.xml"
    results = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run", scenario_path,
                           "-i", inventory, "-r", str(results), "--junit", str(junit)],
                          capture_output=True, text=True, timeout=300)
    (own,) = results.glob("*/junit.xml")
    for path in (own, junit):
        ET.parse(path)  # well-formed XML, or this raises
    assert list(results.glob("*-report.html")), proc.stderr[-2000:]
    return proc, JUnitXml.fromfile(str(junit))


def test_an_operations_stderr_with_control_characters(fake_cloud, tmp_path):
    stderr = "".join(f"\\{ord(c):03o}" for c in CONTROLS)  # printf's octal escapes
    operation = textwrap.dedent(f"""\
        operations:
          - type: command
            name: noisy
            at: after-inject
            command: |
              printf 'before{stderr}after' >&2; exit 3
        """)
    proc, junit = run(tmp_path, scenario(tmp_path, operation), write_inventory(tmp_path,
                                                                                fake_cloud))
    assert proc.returncode == 1, proc.stderr[-2000:]  # the operation failed the run: SLA
    (case,) = [case for suite in junit for case in suite if case.classname != "ha_tests.gate"]
    (failure,) = case.result
    assert "before\\x00\\x01" in failure.message and "\\x1fafter" in failure.message


def test_an_api_error_body_with_control_characters(fake_cloud, tmp_path):
    fake_cloud.raw_answers["/compute/v2.1/servers"] = (
        500, ("broken" + CONTROLS + "body").encode())
    proc, junit = run(tmp_path, scenario(tmp_path), write_inventory(tmp_path, fake_cloud))
    assert proc.returncode == 3, proc.stderr[-2000:]  # steady state failed: preflight
    (case,) = [case for suite in junit for case in suite if case.classname != "ha_tests.gate"]
    (error,) = case.result
    assert "broken\\x00" in error.message and "\\x1fbody" in error.message

"""The lab's secrets (keystone admin password, BMC password, SSH private key) appear in
none of a run's outputs: events.jsonl, summary.json, junit.xml,
the gap table, the console, nor on any process command line while the run attacks."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

pytestmark = pytest.mark.lab


def command_lines() -> str:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            found.append(open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ")
                         .decode(errors="replace"))
        except OSError:
            continue
    return "\n".join(found)


def test_no_secret_in_any_output_of_a_lab_run(lab, tmp_path):
    secret_dir = lab.dir / "secrets"
    secrets = {p.name: p.read_text().strip() for p in secret_dir.iterdir() if p.is_file()}
    key = (lab.dir / "ssh" / "id_ed25519").read_text()
    secrets["ssh-key-body"] = key.splitlines()[1]  # a line of the key's base64
    assert secrets and all(len(v) >= 8 for v in secrets.values())

    seen_cmdlines: list[str] = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen_cmdlines.append(command_lines())
            stop.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    results = tmp_path / "results"
    try:
        proc = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run", "kill-keystone",
                               "vip-holder-power-off", "-i", str(lab.inventory_path),
                               "-r", str(results), "--junit", str(tmp_path / "junit.xml")],
                              capture_output=True, text=True, timeout=900)
    finally:
        stop.set()
        watcher.join()
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    outputs = {"stdout": proc.stdout, "stderr": proc.stderr}
    for path in [*results.rglob("*"), tmp_path / "junit.xml"]:
        if path.is_file():
            outputs[str(path)] = path.read_text(errors="replace")
    for where, text in outputs.items():
        for name, value in secrets.items():
            assert value not in text, f"secret {name} leaked into {where}"
    assert len(seen_cmdlines) > 10
    for snapshot in seen_cmdlines:
        for name, value in secrets.items():
            assert value not in snapshot, f"secret {name} on a process command line"

"""The lab's secrets (keystone admin password, BMC password, SSH private key) and every other
kind an inventory or the runner's environment can hold appear in none of a run's outputs:
events.jsonl, summary.json, junit.xml, the CSV, the HTML report, the console, nor on any
process command line while the run attacks. And the runner's OS_* variables, pointing at
another cloud, never turn the openstack CLI away from the inventory's cloud."""

from __future__ import annotations

import contextlib
import html
import json
import os
import secrets as random_secrets
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ha_tests.events import read_events

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

    results = tmp_path / "results"
    with watching_command_lines() as seen_cmdlines:
        proc = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run", "kill-keystone",
                               "vip-holder-power-off", "-i", str(lab.inventory_path),
                               "-r", str(results), "--junit", str(tmp_path / "junit.xml")],
                              capture_output=True, text=True, timeout=900)
    # pass, or the lab missed an SLA (its timing, not what this test is about)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]

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


@contextlib.contextmanager
def watching_command_lines() -> Iterator[list[str]]:
    seen: list[str] = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen.append(command_lines())
            stop.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        stop.set()
        watcher.join()


def bogus_cloud_environment(tmp_path: Path, password: str, url_password: str) -> dict:
    """The runner's environment names another cloud, as a sourced openrc would."""
    bogus = tmp_path / "bogus-clouds.yaml"
    bogus.write_text(json.dumps({"clouds": {"bogus": {"auth": {
        "auth_url": "http://127.0.0.1:9/v3", "username": "nobody", "password": password,
        "project_name": "nothing"}}}}))
    return dict(os.environ, OS_CLOUD="bogus", OS_CLIENT_CONFIG_FILE=str(bogus),
                OS_AUTH_URL=f"http://admin:{url_password}@127.0.0.1:9/v3",
                OS_USERNAME="nobody", OS_PASSWORD=password, OS_PROJECT_NAME="nothing",
                OS_USER_DOMAIN_NAME="Default", OS_PROJECT_DOMAIN_NAME="Default")


def spellings(value: str) -> set[str]:
    """How a leaked secret could read in a JSON, XML or HTML file."""
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
            html.escape(value), html.escape(value, quote=False)}


def outputs_of(proc: subprocess.CompletedProcess, tmp_path: Path) -> dict[str, str]:
    found = {"stdout": proc.stdout, "stderr": proc.stderr}
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in (".jsonl", ".json", ".xml", ".csv", ".html",
                                              ".txt", ".out") and "inputs" not in path.parts:
            found[str(path)] = path.read_text(errors="replace")
    return found


def assert_nowhere(secrets: dict[str, str], outputs: dict[str, str],
                   command_line_snapshots: list[str]) -> None:
    for where, text in outputs.items():
        for name, value in secrets.items():
            for spelling in spellings(value):
                assert spelling not in text, f"secret {name} leaked into {where}"
    assert len(command_line_snapshots) > 5
    for snapshot in command_line_snapshots:
        for name, value in secrets.items():
            assert value not in snapshot, f"secret {name} on a process command line"


def lab_inventory(lab) -> dict:
    return yaml.safe_load(Path(lab.inventory_path).read_text())


def write_yaml(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


EVERY_SECRET_SCENARIO = """\
name: secrets-everywhere
description: kill keystone while an operation prints every secret the run knows
gap: classic
requires: [keystone]
targets:
  victim: {{service: keystone, pick: vip-holder}}
attackers:
  - type: kill-process
    target: victim
    service: keystone
monitors:
  - type: api
    name: identity-api
    service: identity
    interval: 0.5
    timeout: 3
  - type: openstack-cmd
    name: cli
    command: openstack user list
    expect_output: admin
    interval: 3
    timeout: 20
    gate: false
  - type: token-validity
    name: tokens
    tokens: 2
    interval: 1
    timeout: 5
    gate: false
operations:
  - type: command
    name: leak
    at: after-inject
    command: cat {leak_file}; cat {leak_file} >&2; exit 1
steady_state:
  before: [identity-api, cli]
  samples: 1
timing:
  baseline: 2
  observe: 4
  recovery_timeout: 60
"""


def test_every_kind_of_secret_stays_out_of_every_output(lab, tmp_path):
    """A real fault against the lab with every kind of secret set: the lab's own (clouds.yaml,
    BMC, SSH key), an SSH password, a BMC password_file, a Redfish URL password, the bus
    URL's password and the runner's OS_* credentials, some of them with characters JSON
    escapes (quotes, backslashes, non-ASCII). An operation prints them all, so each output
    would hold each of them if anything were not masked."""
    tag = random_secrets.token_hex(5)
    lab_secrets = {f"lab-{p.name}": p.read_text().strip()
                   for p in (lab.dir / "secrets").iterdir() if p.is_file()}
    key_line = (lab.dir / "ssh" / "id_ed25519").read_text().splitlines()[1]
    secrets = {"lab-admin-password": lab_secrets["lab-admin-password"],  # the inventory's
               "lab-bmc-password": lab_secrets["lab-bmc-password"], "ssh-key-body": key_line,
               "ssh-password": f'ssh-"quoted\\back-{tag}',
               "bmc-password-file": f"pässwörd-{tag}",
               "redfish-url-password": f"redfish-{tag}",
               "bus-url-password": f"bus-{tag}",
               "os-password": f"env-日本-{tag}",
               "os-auth-url-password": f"envurl-{tag}"}
    inputs = tmp_path / "inputs"
    inputs.mkdir(mode=0o700)
    password_file = inputs / "bmc.password"
    password_file.write_text(secrets["bmc-password-file"] + "\n")
    password_file.chmod(0o600)
    inventory = lab_inventory(lab)
    inventory["ssh"]["password"] = secrets["ssh-password"]
    inventory["notifications"] = {
        "transport_url": f"rabbit://ha:{secrets['bus-url-password']}@127.0.0.1:5672/"}
    first, second = inventory["nodes"][0], inventory["nodes"][-1]
    first["bmc"] = {**{k: v for k, v in first["bmc"].items() if k != "password"},
                    "password_file": str(password_file)}
    second["bmc"] = {"type": "redfish", "username": "root", "password": f"rf-{tag}",
                     "url": f"https://root:{secrets['redfish-url-password']}@127.0.0.1:9"}
    inventory_path = write_yaml(inputs / "inventory.yaml", inventory)
    leak_file = inputs / "leak.txt"
    leak_file.write_text(" ".join(secrets.values()) + "\n")
    printed = len(secrets)
    secrets.update(lab_secrets)  # the lab's others (database, bus) are never printed
    scenario = inputs / "secrets-everywhere.yaml"
    scenario.write_text(EVERY_SECRET_SCENARIO.format(leak_file=leak_file))
    env = bogus_cloud_environment(tmp_path, secrets["os-password"],
                                  secrets["os-auth-url-password"])
    results = tmp_path / "results"
    with watching_command_lines() as snapshots:
        proc = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run", str(scenario),
                               "-i", str(inventory_path), "-r", str(results),
                               "--junit", str(tmp_path / "junit.xml")],
                              capture_output=True, text=True, timeout=900, env=env)
    (summary_path,) = results.glob("*/summary.json")
    summary = json.loads(summary_path.read_text())
    # the operation's printed secrets fail the run; nothing else does
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert summary["status"] == "fail" and summary["sla_failures"], summary
    assert all(f.startswith("operation leak") for f in summary["sla_failures"]), summary
    (leak,) = summary["operations"]
    assert leak["output"].count("***") >= printed, leak["output"]
    # the CLI reached the lab, not the cloud the environment named: its steady state held
    (events_path,) = results.glob("*/events.jsonl")
    held = [e for e in read_events(events_path)
            if e["kind"] == "steady-state" and e["monitor"] == "cli" and e["phase"] == "before"]
    assert held and held[0]["ok"], held
    assert_nowhere(secrets, outputs_of(proc, tmp_path), snapshots)


INLINE_AUTH_SCENARIO = """\
name: inline-auth-cli
description: the openstack CLI with inline auth, the environment naming another cloud
gap: classic
monitors:
  - type: openstack-cmd
    name: cli
    command: openstack user list
    expect_output: admin
    interval: 3
    timeout: 20
operations:
  - type: openstack
    name: users
    command: user list -f value -c Name
    expect: {condition: in, value: admin}
steady_state:
  samples: 1
timing:
  baseline: 2
  observe: 4
"""


def test_inline_auth_reaches_the_lab_whatever_the_environment_names(lab, tmp_path):
    """What the Tempest plugin builds (auth: from tempest.conf, no clouds.yaml): the CLI gets
    the inventory's credentials, not the runner's OS_CLOUD / OS_AUTH_URL, and never on a
    command line."""
    tag = random_secrets.token_hex(5)
    clouds = yaml.safe_load(Path(lab.clouds_yaml_path).read_text())
    (cloud,) = clouds["clouds"].values()
    inventory = lab_inventory(lab)
    inventory.pop("cloud"), inventory.pop("clouds_yaml")
    inventory["auth"] = {k: cloud["auth"][k] for k in ("auth_url", "username", "password",
                                                       "project_name")}
    inventory_path = write_yaml(tmp_path / "inputs" / "inventory.yaml", inventory)
    scenario = tmp_path / "inputs" / "inline-auth-cli.yaml"
    scenario.write_text(textwrap.dedent(INLINE_AUTH_SCENARIO))
    env = bogus_cloud_environment(tmp_path, f"env-{tag}", f"envurl-{tag}")
    results = tmp_path / "results"
    with watching_command_lines() as snapshots:
        proc = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run", str(scenario),
                               "-i", str(inventory_path), "-r", str(results)],
                              capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (summary_path,) = results.glob("*/summary.json")
    summary = json.loads(summary_path.read_text())
    (users,) = summary["operations"]
    assert users["ok"] and "admin" in users["output"], users
    secrets = {"keystone-admin": cloud["auth"]["password"], "os-password": f"env-{tag}"}
    assert_nowhere(secrets, outputs_of(proc, tmp_path), snapshots)

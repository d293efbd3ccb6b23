"""Fuzzing the readers: whatever the bytes, ``ha-tests validate`` answers with a clear error
and exit code 2 (or accepts the file), never a traceback, and ``ha-tests run`` of a bad file
never reaches the runner.

Inputs: random YAML documents, random bytes, shipped scenarios and the lab-style inventory
with one value, key or branch mutated, Yardstick test cases and pods likewise, and a set of
hostile classics (alias bombs, cyclic anchors, huge numbers, deep nesting, unknown plugins).
``HA_TESTS_FUZZ_PROFILE=soak`` runs many more examples than CI does.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ha_tests import cli
from ha_tests.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
YARDSTICK = Path(os.environ.get("HA_TESTS_YARDSTICK_DIR", ROOT.parent / "shared" / "yardstick"))

# CI: a fixed set of examples, no shrinking (a failure prints its input; shrink locally with
# the soak profile), no example database written into the checkout
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          database=None, phases=[Phase.explicit, Phase.generate],
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
settings.register_profile("soak", max_examples=3000, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HA_TESTS_FUZZ_PROFILE", "ci"))

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=25)
keys = st.sampled_from(["name", "type", "target", "targets", "attackers", "monitors", "sla",
                        "timing", "gap", "nodes", "services", "ssh", "bmc", "roles", "pick",
                        "interval", "timeout", "service", "process", "duration", "x; rm -rf /",
                        "$(touch /tmp/pwned)", ""]) | st.text(max_size=12)


def mutate(document, data):
    """Replace one value, delete one key, rename one key, or graft a random branch."""
    doc = copy.deepcopy(document)
    node = doc
    for _ in range(data.draw(st.integers(0, 4))):
        if isinstance(node, dict) and node:
            child = node[data.draw(st.sampled_from(sorted(node, key=str)))]
        elif isinstance(node, list) and node:
            child = data.draw(st.sampled_from(node))
        else:
            break
        if not isinstance(child, dict | list):
            break
        node = child
    action = data.draw(st.sampled_from(["replace", "delete", "rename", "graft"]))
    if isinstance(node, dict) and node:
        key = data.draw(st.sampled_from(sorted(node, key=str)))
        if action == "replace":
            node[key] = data.draw(values)
        elif action == "delete":
            del node[key]
        elif action == "rename":
            node[data.draw(keys)] = node.pop(key)
        else:
            node[data.draw(keys)] = data.draw(values)
    elif isinstance(node, list) and node:
        index = data.draw(st.integers(0, len(node) - 1))
        node[index] = data.draw(values)
    return doc


def validate(tmp_path: Path, text: str | bytes, *extra: str, name: str = "fuzz.yaml",
             capsys=None) -> tuple[int, str]:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    code = cli.main(["validate", *extra, str(path)] if not extra or extra[0] != "--inventory"
                    else ["validate", *extra[:1], str(path)])
    err = capsys.readouterr().err if capsys else ""
    return code, err


def check(code: int, err: str, path_name: str = "fuzz.yaml") -> None:
    assert code in (ExitCode.PASS, ExitCode.BAD_INPUT), code
    assert "Traceback" not in err
    if code == ExitCode.BAD_INPUT:
        assert path_name in err or ".yaml" in err or ".sample" in err, err  # names a file


@given(document=values)
def test_random_yaml_as_a_scenario(tmp_path, capsys, document):
    check(*validate(tmp_path, yaml.safe_dump(document), capsys=capsys))


@given(blob=st.binary(max_size=3000))
def test_random_bytes_as_a_scenario(tmp_path, capsys, blob):
    check(*validate(tmp_path, blob, capsys=capsys))


@given(data=st.data())
def test_mutated_shipped_scenarios(tmp_path, capsys, data):
    source = data.draw(st.sampled_from(SCENARIOS))
    document = mutate(yaml.safe_load(source.read_text()), data)
    check(*validate(tmp_path, yaml.safe_dump(document), capsys=capsys))


LAB_STYLE_INVENTORY = {
    "name": "fuzz", "test_target": True, "vips": {"api": "10.0.0.10"},
    "ssh": {"user": "root", "port": 22, "key_file": "/nonexistent/key"},
    "nodes": [{"name": "ctl1", "roles": ["controller"], "address": "10.0.0.11",
               "interfaces": {"mgmt": "br-mgmt"},
               "bmc": {"type": "ipmi", "address": "10.0.1.11", "port": 623,
                       "username": "admin", "password": "x"}},
              {"name": "cmp1", "roles": ["compute"], "address": "10.0.0.21"}],
    "services": {"keystone": {"roles": ["controller"], "process": "^keystone",
                              "manager": "systemd", "unit": "keystone"}},
}


@given(data=st.data())
def test_mutated_inventories(tmp_path, capsys, data):
    document = mutate(LAB_STYLE_INVENTORY, data)
    check(*validate(tmp_path, yaml.safe_dump(document), "--inventory", name="inv.yaml",
                    capsys=capsys), "inv.yaml")


@given(document=values)
def test_random_yaml_as_an_inventory(tmp_path, capsys, document):
    check(*validate(tmp_path, yaml.safe_dump(document), "--inventory", name="inv.yaml",
                    capsys=capsys), "inv.yaml")


yardstick_cases = sorted((YARDSTICK / "testcases").glob("*.yaml")) if YARDSTICK.is_dir() else []
needs_corpus = pytest.mark.skipif(not yardstick_cases, reason=f"no Yardstick corpus in "
                                  f"{YARDSTICK} (set HA_TESTS_YARDSTICK_DIR)")


@needs_corpus
@given(data=st.data())
def test_mutated_yardstick_cases(tmp_path, capsys, data):
    """Text-level mutations: Yardstick cases are Jinja2 templates, not YAML, until rendered."""
    source = data.draw(st.sampled_from(yardstick_cases)).read_text()
    lines = source.splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    kind = data.draw(st.sampled_from(["replace", "delete", "insert", "jinja"]))
    junk = data.draw(st.text(max_size=40))
    if kind == "replace":
        head = lines[index].split(":", 1)[0]
        lines[index] = f"{head}: {junk}"
    elif kind == "delete":
        del lines[index]
    elif kind == "insert":
        lines.insert(index, junk)
    else:
        lines.insert(index, data.draw(st.sampled_from(
            ["{% for x in %}", "{{ undefined_var.attr }}", "{% raw %}", "{{ 1/0 }}",
             "{% include '/etc/passwd' %}"])))
    text = "\n".join(lines)
    if "schema:" not in text:  # keep it a Yardstick file, else it is just a bad scenario
        text = "schema: \"yardstick:task:0.1\"\n" + text
    pod = YARDSTICK / "pod" / "pod.yaml.sample"
    check(*validate(tmp_path, text, "--pod", str(pod), capsys=capsys))


@needs_corpus
@given(data=st.data())
def test_mutated_yardstick_pods(tmp_path, capsys, data):
    pod = yaml.safe_load((YARDSTICK / "pod" / "pod.yaml.sample").read_text())
    pod_path = tmp_path / "pod.yaml"
    pod_path.write_text(yaml.safe_dump(mutate(pod, data)))
    case = YARDSTICK / "testcases" / "opnfv_yardstick_tc046.yaml"
    code = cli.main(["validate", "--pod", str(pod_path), str(case)])
    check(code, capsys.readouterr().err, "pod.yaml")


HOSTILE = {
    "alias-bomb": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                  "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                  "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
    "cyclic-anchor": "name: &n\n  self: *n\n",
    "deep-nesting": "[" * 5000 + "]" * 5000,
    "huge-number": "name: x\ngap: classic\nmonitors: []\ntiming: {observe: 1e400}\n",
    "huge-file": "# " + "x" * (2 * 1024 * 1024) + "\n",
    "unknown-plugin": "name: x\ndescription: d\ngap: classic\nattackers:\n"
                      "  - {type: nuke-datacenter, target: v}\nmonitors: []\n",
    "not-utf8": b"name: \xff\xfe\x00x\n",
    "python-tag": "name: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
    "duplicate-keys": "name: a\nname: b\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_classics_exit_2_without_a_traceback(tmp_path, case):
    path = tmp_path / f"{case}.yaml"
    text = HOSTILE[case]
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    done = subprocess.run([sys.executable, "-m", "ha_tests.cli", "validate", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == ExitCode.BAD_INPUT, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and path.name in done.stderr
    assert not Path("/tmp/pwned").exists()


@given(document=values)
def test_a_bad_scenario_never_reaches_the_runner(tmp_path, capsys, monkeypatch, document):
    """Everything is validated before anything is touched: the runner is never built."""
    from ha_tests import runner

    started = []
    monkeypatch.setattr(runner.ScenarioRunner, "run", lambda self: started.append(self))
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"attackers": [{"type": "kill-process", "target": "v"}],
                                    "junk": document}))
    code = cli.main(["run", "-q", "-r", str(tmp_path / "r"), str(path)])
    assert code == ExitCode.BAD_INPUT and started == []
    assert "Traceback" not in capsys.readouterr().err

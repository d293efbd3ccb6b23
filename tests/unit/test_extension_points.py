"""Inventory formats and reporters are entry-point groups: a user's one file and one entry
point add a format or a reporter, found as an installed package's would be (a dist-info on
sys.path, as pip leaves it; nothing is installed)."""

from __future__ import annotations

import json
import textwrap

import pytest

from ha_tests import plugins
from ha_tests.errors import InputError
from ha_tests.inventory import load_inventory
from ha_tests.inventory_formats import detect, load_any
from ha_tests.scenario import load_scenario
from ha_tests.session import Policy, Session

USER_PLUGIN = '''
from pathlib import Path

from ha_tests.inventory import Inventory, Node
from ha_tests.inventory_formats import InventoryFormat
from ha_tests.reporters import Reporter


class NodesList(InventoryFormat):
    """One node a line: 'name address'."""

    def recognizes(self, path, lines):
        return path.suffix == ".nodes"

    def load(self, path):
        nodes = [Node(name=line.split()[0], address=line.split()[1], transport="local")
                 for line in path.read_text().splitlines() if line.strip()]
        return Inventory(name=path.stem, test_target=True, nodes=nodes)


class StatusCount(Reporter):
    def write(self, run):
        path = run.results / f"{run.stem}-statuses.txt"
        path.write_text(" ".join(f"{s.scenario}={s.status}" for s in run.summaries))
        run.say(f"statuses: {path}")
        return {"statuses": path}
'''


@pytest.fixture
def user_plugins(tmp_path, monkeypatch):
    """The package a user would pip install: its module and its entry points."""
    site = tmp_path / "site"
    (site / "ha_user_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "ha_user_plugin.py").write_text(USER_PLUGIN)
    (site / "ha_user_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ha-user-plugin\nVersion: 1.0\n")
    (site / "ha_user_plugin-1.0.dist-info" / "entry_points.txt").write_text(textwrap.dedent("""\
        [ha_tests.inventory_formats]
        nodes-list = ha_user_plugin:NodesList
        [ha_tests.reporters]
        statuses = ha_user_plugin:StatusCount
        """))
    monkeypatch.syspath_prepend(str(site))
    plugins._registry.cache_clear()
    yield site
    plugins._registry.cache_clear()


def test_the_shipped_formats_and_reporters_are_registered_like_attackers():
    assert set(plugins.names(plugins.INVENTORY_FORMATS)) >= {"ha-tests", "ansible", "pod"}
    assert set(plugins.names(plugins.REPORTERS)) >= {"gap-table", "html", "junit", "yardstick"}


def test_a_users_format_is_detected_and_chosen_by_name(tmp_path, user_plugins):
    path = tmp_path / "lab.nodes"
    path.write_text("n1 127.0.0.1\nn2 127.0.0.2\n")
    assert detect(path) == "nodes-list"
    assert [n.name for n in load_any(path).nodes] == ["n1", "n2"]
    assert load_any(path, "nodes-list").node("n2").address == "127.0.0.2"
    ini = tmp_path / "multinode"  # the shipped formats are still asked first
    ini.write_text("[control]\nctl1 ansible_host=10.0.0.11\n")
    assert detect(ini) == "ansible"


def test_an_unknown_format_names_every_registered_one(tmp_path, user_plugins):
    path = tmp_path / "x.yaml"
    path.write_text("nodes: []\n")
    with pytest.raises(InputError) as info:
        load_any(path, "chef")
    assert "unknown inventory format 'chef'" in str(info.value)
    assert "nodes-list" in str(info.value) and "ha_tests.inventory_formats" in str(info.value)


def test_a_users_reporter_writes_beside_the_shipped_outputs(tmp_path, user_plugins):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("name: here\ntest_target: true\nnodes:\n"
                         "  - {name: n1, address: 127.0.0.1, transport: local}\n")
    scenario = tmp_path / "watch.yaml"
    scenario.write_text(textwrap.dedent("""\
        name: watch-only
        gap: classic
        monitors:
          - {type: tcp, name: web, host: 127.0.0.1, port: 9, interval: 0.1}
        timing: {baseline: 0.1, observe: 0.1, recovery_timeout: 1, recovered_after: 1}
        """))
    said: list[str] = []
    session = Session(load_inventory(inventory), tmp_path / "results",
                      Policy(max_time=0, label="ext", junit=tmp_path / "junit.xml"),
                      say=said.append)
    result = session.run(session.plan([load_scenario(scenario)]))  # skipped: no time left
    assert set(result.outputs) == {"csv", "junit", "statuses"}
    assert result.outputs["statuses"].read_text() == "watch-only=skipped"
    assert result.outputs["statuses"].name.endswith("-ext-statuses.txt")
    assert said[-1] == f"statuses: {result.outputs['statuses']}"  # after the shipped ones
    assert json.dumps(str(result.outputs["csv"])).endswith('-ext-gap-table.csv"')

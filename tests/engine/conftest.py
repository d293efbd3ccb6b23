"""A real local target for the engine: a TCP server process killed and restarted for real.

Until a test needs the lab, the engine is proven against processes it starts itself on this
machine (a node with ``transport: local``), as the issue asks.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from local_target import WebServer, free_port, scenario_text

from ha_tests.inventory import load_inventory


@pytest.fixture
def web():
    server = WebServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def inventory_file(tmp_path, web):
    path = tmp_path / "inventory.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: local
        test_target: true
        nodes:
          - name: local
            roles: [web]
            address: 127.0.0.1
            transport: local
        services:
          web:
            roles: [web]
            process: '{web.pattern}'
            manager: command
            start: "{web.start_command}"
        """))
    return path


@pytest.fixture
def inventory(inventory_file):
    return load_inventory(inventory_file)


@pytest.fixture
def scenario_file(tmp_path, web):
    def make(**kwargs) -> Path:
        path = tmp_path / "kill-web.yaml"
        path.write_text(scenario_text(web.port, **kwargs))
        return path
    return make


@pytest.fixture(autouse=True)
def private_ledger(tmp_path, monkeypatch):
    """Each test gets its own fault ledger, so one test's leftovers never heal in another."""
    monkeypatch.setenv("HA_TESTS_STATE_DIR", str(tmp_path / "state"))

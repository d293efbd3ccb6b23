"""The shipped Grafana dashboard against Grafana's own dashboard schema.

No Grafana server can run here (none in Debian's archive, none on PyPI or npm), so the
dashboard is decoded with grafana-foundation-sdk, Grafana Labs' models generated from
Grafana's schemas (panel options and Prometheus queries included): a key Grafana does not
know is dropped by that decoding, and this test fails on it. Its queries are run against a
real Prometheus in tests/engine/test_prometheus.py.
"""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

sdk = pytest.importorskip("grafana_foundation_sdk", reason="the 'test' extra installs "
                          "grafana-foundation-sdk (Grafana's dashboard schema as models)")
from grafana_foundation_sdk.cog import runtime  # noqa: E402
from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: E402
from grafana_foundation_sdk.cog.plugins import register_default_plugins  # noqa: E402
from grafana_foundation_sdk.models.dashboard import Dashboard  # noqa: E402

#: the export format's import header, which is not part of the dashboard itself
IMPORT_ONLY = {"__inputs"}


def shipped() -> dict:
    return json.loads(files("ha_tests.report").joinpath(
        "grafana/ha-tests-dashboard.json").read_text())


def lost_keys(written, decoded, path="") -> list[str]:
    """Keys of ``written`` that Grafana's models dropped (unknown to the schema)."""
    lost = []
    if isinstance(written, dict):
        for key, value in written.items():
            if not isinstance(decoded, dict) or key not in decoded:
                lost.append(f"{path}/{key}")
            else:
                lost += lost_keys(value, decoded[key], f"{path}/{key}")
    elif isinstance(written, list):
        assert isinstance(decoded, list) and len(decoded) == len(written), path
        for n, (a, b) in enumerate(zip(written, decoded, strict=True)):
            lost += lost_keys(a, b, f"{path}[{n}]")
    return lost


def decoded(data: dict) -> dict:
    register_default_plugins()
    return json.loads(json.dumps(Dashboard.from_json(data), cls=JSONEncoder))


def test_every_key_of_the_dashboard_is_one_grafanas_schema_knows():
    data = shipped()
    assert [k for k in lost_keys(data, decoded(data)) if k.lstrip("/") not in IMPORT_ONLY] \
        == []


def test_the_check_catches_a_key_grafana_does_not_know():
    data = shipped()
    data["panels"][1]["options"]["colourMode"] = "background"
    data["panels"][1]["targets"][0]["exprr"] = "up"
    assert set(lost_keys(data, decoded(data))) >= {"/panels[1]/options/colourMode",
                                                   "/panels[1]/targets[0]/exprr"}


def test_panels_are_known_types_on_the_grid_over_the_imported_prometheus():
    register_default_plugins()
    data = shipped()
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids))
    for panel in data["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert runtime.panelcfg_config(panel["type"]) is not None, panel["type"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        assert panel["targets"] and all(t["expr"] for t in panel["targets"])
    assert [i["name"] for i in data["__inputs"]] == ["DS_PROMETHEUS"]

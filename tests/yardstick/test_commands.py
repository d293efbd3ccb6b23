"""`ha-tests yardstick convert|run` as a user types them."""

from __future__ import annotations

import argparse

import pytest

from ha_tests import yardstick_cli as commands
from ha_tests.errors import InputError
from ha_tests.scenario import load_scenario


def parse(argv):
    parser = argparse.ArgumentParser(prog="ha-tests")
    commands.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_convert_writes_a_native_scenario(testcase, pod, tmp_path, capsys):
    out = tmp_path / "tc046.yaml"
    args = parse(["yardstick", "convert", str(testcase("opnfv_yardstick_tc046")),
                  "--pod", str(pod("fuel_virtual_pod.yaml")), "--task-args",
                  '{"attack_host": "node2"}', "-o", str(out)])
    assert args.func(args) == 0
    scenario = load_scenario(out)
    assert scenario.model.targets["node2"].nodes == ["node2.LF"]
    assert "sla.outage_time" in capsys.readouterr().err


def test_convert_to_stdout(testcase, capsys):
    args = parse(["yardstick", "convert", str(testcase("opnfv_yardstick_tc053"))])
    assert args.func(args) == 0
    assert "name: opnfv_yardstick_tc053" in capsys.readouterr().out


def test_task_args_file_then_task_args(testcase, pod, tmp_path, capsys):
    argsfile = tmp_path / "args.yaml"
    argsfile.write_text("attack_host: node3\nattack_process: glance-api\n")
    args = parse(["yardstick", "convert", str(testcase("opnfv_yardstick_tc046")),
                  "--pod", str(pod("fuel_virtual_pod.yaml")), "--task-args-file",
                  str(argsfile), "--task-args", "attack_host: node2"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "node2.LF" in out and "glance-api" in out


def test_run_refuses_a_pod_without_the_destructive_flag(testcase, pod, tmp_path):
    args = parse(["yardstick", "run", str(testcase("opnfv_yardstick_tc046")), "--pod",
                  str(pod("fuel_virtual_pod.yaml")), "-r", str(tmp_path)])
    with pytest.raises(InputError, match="destructive"):
        args.func(args)
    assert not any(tmp_path.iterdir())  # nothing ran


def test_run_refuses_unrunnable_cases_before_anything(testcase, pod, tmp_path):
    args = parse(["yardstick", "run", str(testcase("opnfv_yardstick_tc046")),
                  str(testcase("opnfv_yardstick_tc058")), "--pod",
                  str(pod("fuel_virtual_pod.yaml")), "-r", str(tmp_path),
                  "--i-know-this-is-destructive"])
    with pytest.raises(InputError, match="opnfv_yardstick_tc058"):
        args.func(args)
    assert not any(tmp_path.iterdir())

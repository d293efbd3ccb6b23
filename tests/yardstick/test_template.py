"""Task-args mean what they mean in Yardstick: defaults via `set x = x or ...`, YAML/JSON."""

from __future__ import annotations

import pytest

from ha_tests.errors import InputError
from ha_tests.yardstick import convert_cases, load_cases
from ha_tests.yardstick.template import parse_task_args, render


def test_task_args_pick_the_attacked_node(testcase, pod):
    task = load_cases(testcase("opnfv_yardstick_tc046"), pod("fuel_virtual_pod.yaml"),
                      '{"attack_host": "node2"}')
    native = task.cases[0].mapped.native
    assert native["targets"] == {"node2": {"nodes": ["node2.LF"]}}
    assert {a["target"] for a in native["attackers"]} == {"node2"}


def test_without_task_args_the_template_defaults_apply(testcase):
    task = load_cases(testcase("opnfv_yardstick_tc046"))
    assert task.cases[0].mapped.native["targets"] == {"node1": {"nodes": ["node1.LF"]}}


def test_task_args_change_the_process_everywhere(testcase, pod):
    task = load_cases(testcase("opnfv_yardstick_tc019"), pod("fuel_virtual_pod.yaml"),
                      {"attack_process": "nova-conductor"})
    native = task.cases[0].mapped.native
    assert native["attackers"][0]["service"] == "nova-conductor"
    assert [m["name"] for m in native["monitors"]] == ["openstack-server-list",
                                                       "process_nova-conductor"]


def test_undefined_variables_are_falsy_like_in_yardstick():
    text = '{% set host = host or "node1" %}\nhost: {{ host }}\nnone: {{ nothing_given }}\n'
    with pytest.raises(InputError, match="nothing_given"):
        render(text, {}, "t.yaml")
    assert render(text, {"nothing_given": None}, "t.yaml") == "\nhost: node1\nnone: ~"


def test_containers_render_as_inline_yaml():
    assert render("x: {{ v }}", {"v": {"a": [1, 2]}}, "t.yaml") == "x: {a: [1, 2]}"


def test_rendering_keeps_line_numbers():
    text = "{% set a = a or 1 %}\n{% set b = b or 2 %}\nkey: {{ a }}\n"
    assert render(text, {}, "t.yaml").splitlines()[2] == "key: 1"


def test_templates_cannot_reach_python_internals():
    with pytest.raises(InputError, match="rendering the template failed"):
        render("x: {{ ''.__class__.__mro__[1].__subclasses__() }}", {}, "t.yaml")


@pytest.mark.parametrize("text", ["[1, 2]", "just words", "{unclosed"])
def test_task_args_must_be_a_mapping(text):
    with pytest.raises(InputError, match="task-args"):
        parse_task_args(text)


def test_task_args_take_yaml_as_well_as_json():
    assert parse_task_args("attack_host: node2") == {"attack_host": "node2"}
    assert parse_task_args('{"attack_host": "node2"}') == {"attack_host": "node2"}
    assert parse_task_args(None) == {}


def test_rendered_hosts_must_exist_in_the_pod(testcase, pod):
    with pytest.raises(InputError) as info:
        convert_cases(testcase("opnfv_yardstick_tc046"), pod("fuel_virtual_pod.yaml"),
                      {"attack_host": "node9"})
    assert "opnfv_yardstick_tc046" in str(info.value)
    assert "scenarios[0].nodes.node9" in str(info.value)

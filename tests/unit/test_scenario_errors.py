"""Every class of bad scenario input gets a clear error: file, line, column, key and fix."""

from __future__ import annotations

import textwrap

import pytest

from ha_tests.errors import InputError
from ha_tests.scenario import parse_scenario
from ha_tests.yamlsource import load_text

GOOD = """\
name: kill-web
description: kill the web server
gap: classic
targets:
  victim: {nodes: [local], pick: one}
attackers:
  - type: kill-process
    target: victim
    process: 'http\\.server 18080'
monitors:
  - type: tcp
    name: web
    host: 127.0.0.1
    port: 18080
    interval: 0.1
"""


def problems(text: str):
    with pytest.raises(InputError) as info:
        data, source = load_text(textwrap.dedent(text), "s.yaml")
        parse_scenario(data, source)
    return info.value.problems


def only(text: str):
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_the_reference_scenario_is_valid():
    data, source = load_text(GOOD, "s.yaml")
    scenario = parse_scenario(data, source)
    assert scenario.name == "kill-web"
    assert scenario.attackers[0].params.process == "http\\.server 18080"
    assert scenario.monitors[0].spec.interval == 0.1


def test_yaml_syntax_error_names_line_and_column():
    p = only("name: x\ngap: [classic\n")
    assert p.file == "s.yaml" and p.line == 3 and "not valid YAML" in p.message


def test_duplicate_key_is_an_error_not_a_silent_override():
    p = only(GOOD + "gap: gap-1\n")
    assert p.line == 16 and "duplicate key 'gap'" in p.message and "line 3" in p.message


def test_misspelt_top_level_key_suggests_the_right_one():
    p = only(GOOD.replace("description:", "descripton:"))
    assert (p.line, p.column) == (2, 1)
    assert "unknown key 'descripton'" in p.message and "did you mean 'description'" in p.hint


def test_missing_required_key():
    p = only(GOOD.replace("gap: classic\n", ""))
    assert "missing required key 'gap'" in p.message


def test_wrong_type_names_what_was_given():
    p = only(GOOD.replace("interval: 0.1", "interval: soon"))
    assert p.path == "monitors[0].interval" and p.line == 15 and "soon" in p.message


def test_out_of_range_value():
    p = only(GOOD.replace("interval: 0.1", "interval: -1"))
    assert p.path == "monitors[0].interval" and "greater than 0" in p.message


def test_misspelt_gap_area_suggests_the_right_one():
    p = only(GOOD.replace("gap: classic", "gap: gap1"))
    assert p.line == 3 and "did you mean 'gap-1'" in p.hint


def test_unknown_attacker_type_suggests_the_right_one():
    p = only(GOOD.replace("type: kill-process", "type: kill-proces"))
    assert p.path == "attackers[0].type" and p.line == 7
    assert "unknown attacker type 'kill-proces'" in p.message
    assert "did you mean 'kill-process'" in p.hint


def test_unknown_monitor_type_lists_known_types():
    p = only(GOOD.replace("type: tcp", "type: telepathy"))
    assert "unknown monitor type 'telepathy'" in p.message and "tcp" in p.hint


def test_misspelt_plugin_parameter_is_reported_at_its_own_line():
    p = only(GOOD.replace("    process: ", "    proces: "))
    assert (p.line, p.path) == (9, "attackers[0].proces")
    assert "did you mean 'process'" in p.hint


def test_plugin_parameter_of_the_wrong_type():
    p = only(GOOD.replace("port: 18080", "port: many"))
    assert p.path == "monitors[0].port" and p.line == 14


def test_plugin_parameter_rule_violated():
    p = only(GOOD.replace("    process:", "    signal: NOPE\n    process:"))
    assert p.path == "attackers[0].signal" and p.line == 9
    assert "unknown signal 'NOPE'" in p.message


def test_unknown_target_reference_suggests_declared_targets():
    p = only(GOOD.replace("target: victim", "target: victm"))
    assert "unknown target 'victm'" in p.message and "did you mean 'victim'" in p.hint


def test_attacker_without_target():
    p = only(GOOD.replace("    target: victim\n", ""))
    assert "needs a 'target'" in p.message


def test_steady_state_names_an_unknown_monitor():
    p = only(GOOD + "steady_state: {before: [webb]}\n")
    assert "no monitor named 'webb'" in p.message and "did you mean 'web'" in p.hint


def test_sla_tier_misspelt():
    p = only(GOOD + "sla: {tier: SAL4}\n")
    assert "SAL1" in p.hint or "SAL" in (p.hint or "")


def test_not_a_mapping():
    p = only("- just\n- a list\n")
    assert "a scenario is a mapping" in p.message


def test_several_problems_are_reported_together():
    found = problems(GOOD.replace("description:", "descripton:").replace("port: 18080",
                                                                          "port: x"))
    assert len(found) >= 1


def test_alias_bomb_is_refused():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        prev = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}," \
                f" *{prev}, *{prev}, *{prev}, *{prev}]\n"
    p = only(bomb)
    assert "expands to more than" in p.message


def test_cyclic_alias_is_refused():
    p = only("a: &a\n  b: *a\n")
    assert "cyclic alias" in p.message or "expands" in p.message


def test_file_not_found(tmp_path):
    from ha_tests.scenario import load_scenario
    with pytest.raises(InputError) as info:
        load_scenario(tmp_path / "nope.yaml")
    assert "no such file" in str(info.value)


def test_huge_file_is_refused(tmp_path):
    from ha_tests.scenario import load_scenario
    path = tmp_path / "big.yaml"
    path.write_text("x: " + "y" * (2 << 20) + "\n")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert "larger than" in str(info.value)


def test_error_text_reads_file_line_column_path_message_hint():
    p = only(GOOD.replace("description:", "descripton:"))
    assert str(p) == ("s.yaml:2:1: descripton: unknown key 'descripton' — "
                      "did you mean 'description'?")


def test_a_headline_naming_no_monitor_suggests_the_right_one():
    p = only(GOOD + "headline: {monitor: wbe}\n")
    assert p.line == 16 and "no monitor named 'wbe'" in p.message
    assert "did you mean 'web'" in p.hint


def test_an_unknown_headline_kind_lists_the_kinds():
    p = only(GOOD + "headline: {kind: disagree}\n")
    assert p.line == 16 and "disagreement" in p.message + (p.hint or "")

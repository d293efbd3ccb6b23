"""Operations' parts that need no cloud: order, variables, checks, reading output, undo."""

from __future__ import annotations

import pytest

from ha_tests.errors import InputError
from ha_tests.operations.base import Operation, OperationError, OperationResult, expand
from ha_tests.operations.steps import OperationSteps, read_output
from ha_tests.progress import Progress
from ha_tests.scenario import Expect, parse_scenario
from ha_tests.verdict import operation_failures
from ha_tests.yamlsource import load_text

BASE = """\
name: ops
gap: classic
monitors:
  - type: tcp
    host: 127.0.0.1
    port: 9
operations:
"""


def parse(operations: str):
    data, source = load_text(BASE + operations, "ops.yaml")
    return parse_scenario(data, source)


def test_operations_run_in_timeline_order_then_as_written():
    scenario = parse("""\
  - {type: command, name: c, command: 'true', at: after-rollback}
  - {type: command, name: a, command: 'true', at: before-inject}
  - {type: command, name: b, command: 'true'}
""")
    assert [u.name for u in scenario.operations] == ["a", "b", "c"]


def test_a_variable_used_before_it_is_set_names_the_line_and_the_fix():
    with pytest.raises(InputError) as info:
        parse("""\
  - {type: command, name: early, command: 'echo @ip', at: before-inject}
  - {type: command, name: late, command: 'hostname -I', sets: {ip: all}}
""")
    (problem,) = info.value.problems
    assert problem.line == 8 and "@ip is used before any operation sets it" in problem.message
    assert "'late' sets it but runs later" in problem.hint


def test_an_undo_may_use_what_its_own_operation_set():
    scenario = parse("""\
  - {type: openstack, name: mk, command: 'user create u -f value -c id', undo: 'user delete @id',
     sets: {id: all}}
""")
    assert scenario.operations[0].params.undo == ["user", "delete", "@id"]


def test_an_unknown_operation_type_gets_a_did_you_mean():
    with pytest.raises(InputError) as info:
        parse("  - {type: comand, command: 'true'}\n")
    assert "unknown operation type 'comand'" in str(info.value)
    assert "command" in info.value.problems[0].hint


@pytest.mark.parametrize("condition,value,output,ok", [
    ("in", "test-001", "| test-001 | 100 |\n", True),
    ("in", "test-002", "| test-001 | 100 |\n", False),
    ("eq", "ctl1", "ctl1\n", True),
    ("eq", 3, "3\n", True),
    ("gt", 2, "3", True),
    ("gt_eq", 3, "2", False),
    ("lt", 1.5, "1.25", True),
    ("lt_eq", 1, "one", False),  # not a number: fails, never raises
])
def test_checks_compare_like_yardsticks_result_checker(condition, value, output, ok):
    held, why = Expect(condition=condition, value=value).holds(output)
    assert held is ok and why


def test_read_output_takes_the_whole_output_or_a_table_row():
    table = "+-------+-------+\n| Field | Value |\n| id    | 42    |\n| name  | tc088 |\n"
    assert read_output(table, "name") == "tc088"
    assert read_output(" 10.0.0.5\n", "all") == "10.0.0.5"
    assert read_output(table, "missing") is None


def test_expand_refuses_a_variable_that_has_no_value():
    assert expand("ping -c1 @ip", {"ip": "10.0.0.5"}) == "ping -c1 10.0.0.5"
    with pytest.raises(OperationError, match="@ip has no value"):
        expand("ping @ip", {})


class Recorder(Operation):
    """Runs, fails or raises as told; remembers what it undid."""

    undone: list[str] = []

    def run(self, variables):
        if self.params.mode == "raise":
            raise RuntimeError("boom")
        return OperationResult(self.params.mode == "ok", f"value-of-{self.name}\n", {"rc": 0})

    def undo(self, variables):
        Recorder.undone.append(self.name)
        return OperationResult(True)


class _Events:
    def __init__(self):
        self.emitted = []

    def emit(self, kind, **fields):
        self.emitted.append((kind, fields))


def steps_of(*items):
    from types import SimpleNamespace

    from ha_tests.scenario import Expect as E
    uses = []
    for name, mode, extra in items:
        spec = SimpleNamespace(at="after-inject", gate=True, expect=extra.get("expect") and
                               E(**extra["expect"]), sets=extra.get("sets", {}))
        use = SimpleNamespace(name=name, type="recorder", spec=spec)
        op = Recorder(name, SimpleNamespace(mode=mode), [], None, timeout=1)
        uses.append((use, op))
    return OperationSteps(uses, _Events(), Progress(quiet=True))


def test_a_raising_operation_is_a_failure_and_everything_that_ran_is_undone_newest_first():
    Recorder.undone = []
    steps = steps_of(("first", "ok", {"sets": {"v": "all"}}), ("second", "raise", {}),
                     ("third", "fail", {}))
    steps.run_at("after-inject", 0)
    assert steps.variables == {"v": "value-of-first"}
    assert [r["ok"] for r in steps.records] == [True, False, False]
    assert "RuntimeError: boom" in steps.records[1]["error"]
    steps.undo(0)
    assert Recorder.undone == ["third", "second", "first"]
    failures = operation_failures(steps.records)
    assert len(failures) == 2 and failures[0].startswith("operation second: RuntimeError")


def test_a_check_that_does_not_hold_fails_the_operation():
    steps = steps_of(("check", "ok", {"expect": {"condition": "eq", "value": "other"}}))
    steps.run_at("after-inject", 0)
    (record,) = steps.records
    assert not record["ok"] and record["error"].startswith("check failed: eq 'other'")

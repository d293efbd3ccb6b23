"""Field by field: what Yardstick reads is honoured, what it ignores is warned, what cannot
run is refused naming the test case and the field, before anything is attacked."""

from __future__ import annotations

import re
import textwrap

import pytest

from ha_tests.errors import InputError
from ha_tests.yardstick import is_yardstick_file, load_cases, load_yardstick

POD = """\
nodes:
- {name: node1, role: Controller, ip: 10.0.0.1, user: root, password: pw,
   ipmi_ip: 10.1.0.1, ipmi_user: admin, ipmi_password: secret}
- {name: node2, role: Controller, ip: 10.0.0.2, user: root, password: pw}
"""


def task(tmp_path, scenario: str, name: str = "opnfv_yardstick_tc999", extra: str = "",
         context: str = "context:\n  type: Node\n  name: LF\n  file: pod.yaml\n"):
    (tmp_path / "pod.yaml").write_text(POD)
    path = tmp_path / f"{name}.yaml"
    path.write_text('---\nschema: "yardstick:task:0.1"\ndescription: test\n'
                    + extra + "scenarios:\n-\n" + textwrap.indent(textwrap.dedent(scenario),
                                                                   "  ")
                    + context)
    return path


SERVICE_HA = """\
type: ServiceHA
options:
  attackers:
  - {fault_type: kill-process, process_name: nova-api, host: node1}
  monitors:
  - {monitor_type: openstack-cmd, command_name: openstack server list, monitor_time: 10,
     sla: {max_outage_time: 5}}
  - {monitor_type: process, process_name: nova-api, host: node1, monitor_time: 20,
     monitor_number: 2, sla: {max_recover_time: 30}}
nodes: {node1: node1.LF}
runner: {type: Iteration, iterations: 1}
"""

GENERAL_HA = """\
type: GeneralHA
options:
  attackers:
  - {fault_type: kill-process, process_name: haproxy, host: node1, key: kill-lb}
  - {fault_type: kill-process, process_name: keystone, host: node2, key: kill-ks}
  monitors:
  - {monitor_type: process, process_name: haproxy, host: node1, key: lb, monitor_time: 30}
  - {monitor_type: openstack-cmd, key: users, command_name: openstack user list,
     monitor_time: 10, sla: {max_outage_time: 3}}
  steps:
  - {actionKey: users, actionType: monitor, index: 3}
  - {actionKey: kill-ks, actionType: attacker, index: 2}
  - {actionKey: kill-lb, actionType: attacker, index: 1}
  - {actionKey: lb, actionType: monitor, index: 4}
nodes: {node1: node1.LF, node2: node2.LF}
runner: {type: Duration, duration: 1}
"""


def loaded(path, **kwargs):
    return load_cases(path, **kwargs)


def test_detects_yardstick_files(tmp_path):
    assert is_yardstick_file(task(tmp_path, SERVICE_HA))
    native = tmp_path / "native.yaml"
    native.write_text("name: x\ngap: classic\nmonitors: []\n")
    assert not is_yardstick_file(native)
    assert not is_yardstick_file(tmp_path / "missing.yaml")


def test_service_ha_fields_are_honoured(tmp_path):
    scenarios, inventory, warnings = load_yardstick(task(tmp_path, SERVICE_HA),
                                                    tmp_path / "pod.yaml")
    (scenario,) = scenarios
    assert scenario.name == "opnfv_yardstick_tc999"
    (attacker,) = scenario.attackers
    assert attacker.type == "kill-process"
    assert attacker.params.process == r"[^-_a-zA-Z0-9]nova\-api"  # fault_process_kill.bash
    assert attacker.params.service == "nova-api"                # start_service.bash
    assert attacker.params.comes_back_within == 20              # the process monitor's time
    command, process = scenario.monitors
    assert command.type == "api" and command.name == "openstack-server-list"
    assert (command.params.service, command.params.call) == ("compute", "server-list")
    assert scenario.sla_for(command) == {"max_outage": 5}
    assert process.name == "process_nova-api"
    assert process.spec.interval == 0.75                         # 2 copies sample twice as often
    assert process.spec.timeout == 1.5                           # ... with 2 probes in flight
    assert scenario.sla_for(process) == {"max_recovery": 30}
    assert scenario.model.timing.observe == 20
    assert inventory.services["nova-api"].manager == "command"
    assert "systemctl" in inventory.services["nova-api"].start
    assert warnings == []


def test_a_process_name_is_a_name_not_a_regex(tmp_path):
    """'|.*' as a regex matched 125 of 186 processes, the runner among them."""
    scenario = SERVICE_HA.replace("process_name: nova-api", "process_name: '|.*'")
    ((scenario,), _, _) = load_yardstick(task(tmp_path, scenario), tmp_path / "pod.yaml")
    (attacker,) = scenario.attackers
    process = scenario.monitors[1]
    for pattern in (attacker.params.process, process.params.process):
        regex = re.compile(pattern)
        assert not regex.search("/usr/bin/python3 /usr/bin/ha-tests run tc019.yaml")
        assert not regex.search("sshd: root@notty")
        assert regex.search("/usr/bin/odd --name=|.*")        # the name itself, literally


def test_general_ha_runs_attackers_in_step_order(tmp_path):
    (case,) = loaded(task(tmp_path, GENERAL_HA), pod_path=tmp_path / "pod.yaml").cases
    assert [a.name for a in case.scenario.attackers] == ["kill-lb", "kill-ks"]
    assert [m.name for m in case.scenario.monitors] == ["users", "lb"]
    assert case.scenario.attackers[0].params.process == "^/usr/[^ ]*/haproxy"
    assert case.scenario.attackers[1].params.process == r"^(?!.*(?i:monitor)).*keystone"
    lb = case.scenario.monitors[1]
    assert lb.spec.gate is False  # no sla: observed, as Yardstick passes it unconditionally
    assert case.mapped.needs == {"users": "identity"}


def warnings_of(tmp_path, scenario, **kwargs):
    return loaded(task(tmp_path, scenario, **kwargs), pod_path=tmp_path / "pod.yaml").warnings


def test_ignored_fields_are_warned_naming_case_and_field(tmp_path):
    scenario = SERVICE_HA.replace("options:\n", "options:\n  wait_time: 10\n") + \
        "sla: {outage_time: 5, action: monitor}\n"
    warnings = warnings_of(tmp_path, scenario)
    assert "opnfv_yardstick_tc999: scenarios[0].options.wait_time: not read by Yardstick's " \
           "ServiceHA; ignored" in warnings
    assert any(w.startswith("opnfv_yardstick_tc999: scenarios[0].sla.outage_time:")
               for w in warnings)
    assert any("scenarios[0].sla.action" in w and "FAIL" in w for w in warnings)


def test_unread_entry_fields_and_legacy_clients_are_warned(tmp_path):
    scenario = SERVICE_HA.replace("host: node1}\n  monitors", "host: node1, colour: red}\n"
                                  "  monitors").replace("openstack server list",
                                                        "nova list")
    warnings = warnings_of(tmp_path, scenario)
    assert any("options.attackers[0].colour" in w for w in warnings)
    assert any("options.monitors[0].command_name" in w and "legacy" in w for w in warnings)


def test_monitors_and_attackers_outside_steps_are_warned_and_left_out(tmp_path):
    scenario = GENERAL_HA.replace("  - {actionKey: lb, actionType: monitor, index: 4}\n", "")
    case = loaded(task(tmp_path, scenario), pod_path=tmp_path / "pod.yaml")
    assert [m.name for m in case.cases[0].scenario.monitors] == ["users"]
    assert any("monitor 'lb' is in no step" in w for w in case.warnings)


def refused(tmp_path, scenario, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        loaded(task(tmp_path, scenario, **kwargs), pod_path=tmp_path / "pod.yaml")
    message = str(info.value)
    assert "opnfv_yardstick_tc999" in message
    return message


@pytest.mark.parametrize("change, field", [
    (("fault_type: kill-process", "fault_type: stop-service"),
     "scenarios[0].options.attackers[0].fault_type"),
    (("host: node1}\n  monitors", "host: node7}\n  monitors"),
     "scenarios[0].options.attackers[0].host"),
    (("monitor_type: openstack-cmd", "monitor_type: api"),
     "scenarios[0].options.monitors[0].monitor_type"),
    (("monitor_number: 2", "monitor_number: 0"),
     "scenarios[0].options.monitors[1].monitor_number"),
    (("type: Iteration", "type: Arithmetic"), "scenarios[0].runner.type"),
    (("type: ServiceHA", "type: Ping"), "scenarios[0].type"),
])
def test_what_cannot_run_is_refused_with_the_field(tmp_path, change, field):
    assert field in refused(tmp_path, SERVICE_HA.replace(*change))


@pytest.mark.parametrize("change, field", [
    (("actionKey: kill-ks", "actionKey: kill-xx"), "scenarios[0].options.steps[1].actionKey"),
    (("actionType: attacker, index: 1", "actionType: nemesis, index: 1"),
     "scenarios[0].options.steps[2].actionType"),
    (("key: kill-lb}", "}"), "scenarios[0].options.attackers[0].key"),
])
def test_bad_steps_are_refused(tmp_path, change, field):
    assert field in refused(tmp_path, GENERAL_HA.replace(*change))


GENERAL_ATTACK = """\
type: GeneralHA
options:
  attackers:
  - {fault_type: general-attacker, host: node1, key: a, attack_key: ATTACK,
     action_parameter: {process_name: nova-api}}
  monitors:
  - {monitor_type: general-monitor, monitor_key: MONITOR, key: m, host: node1,
     monitor_time: 5, sla: {max_outage_time: 1}, parameter: {ip_address: 10.0.0.9}}
  steps:
  - {actionKey: a, actionType: attacker, index: 1}
  - {actionKey: m, actionType: monitor, index: 2}
nodes: {node1: node1.LF}
"""


@pytest.mark.parametrize("attack, monitor, field, words", [
    ("kill-lxc-process", "ip-status", "attackers[0].attack_key", "LXC"),
    ("no-such-attack", "ip-status", "attackers[0].attack_key", "unknown attack_key"),
    ("kill-process", "nova-image-list", "monitors[0].monitor_key", "never shipped"),
    ("kill-process", "lxc_process-status", "monitors[0].monitor_key", "LXC"),
])
def test_catalogue_keys_that_cannot_run(tmp_path, attack, monitor, field, words):
    scenario = GENERAL_ATTACK.replace("ATTACK", attack).replace("MONITOR", monitor)
    message = refused(tmp_path, scenario)
    assert field in message and words in message


def test_never_shipped_operations_are_named(tmp_path):
    scenario = GENERAL_HA.replace("  steps:\n", "  operations:\n  - {operation_type: "
                                  "general-operation, key: up, operation_key: "
                                  "swift-upload-file}\n  steps:\n")
    message = refused(tmp_path, scenario)
    assert "operations[0].operation_key" in message and "never shipped" in message


def test_intermediate_variables_are_refused(tmp_path):
    scenario = GENERAL_ATTACK.replace("ATTACK", "kill-process").replace(
        "MONITOR", "ip-status").replace("10.0.0.9", "'@floating_ip'")
    assert "monitors[0].parameter.ip_address" in refused(tmp_path, scenario)


def test_ip_status_pings_from_the_host(tmp_path):
    scenario = GENERAL_ATTACK.replace("ATTACK", "kill-process").replace("MONITOR", "ip-status")
    (case,) = loaded(task(tmp_path, scenario), pod_path=tmp_path / "pod.yaml").cases
    (monitor,) = case.scenario.monitors
    assert monitor.type == "command" and monitor.target == "node1"
    assert monitor.params.command == ["ping", "10.0.0.9", "-c", "1"]
    assert case.scenario.sla_for(monitor) == {"max_outage": 1}


def test_heat_contexts_are_refused(tmp_path):
    context = ("contexts:\n- {type: Node, name: LF, file: pod.yaml}\n"
               "- {name: demo, image: cirros, flavor: m1.tiny, servers: {vm: {}}}\n")
    assert "contexts[1]" in refused(tmp_path, SERVICE_HA, context=context)


def test_wrong_schema_is_refused(tmp_path):
    path = task(tmp_path, SERVICE_HA)
    path.write_text(path.read_text().replace("task:0.1", "task:0.2"))
    with pytest.raises(InputError, match="schema"):
        load_cases(path)


def test_bare_metal_down_needs_the_bmc_from_the_pod(tmp_path):
    scenario = SERVICE_HA.replace("{fault_type: kill-process, process_name: nova-api, host: "
                                  "node1}", "{fault_type: bare-metal-down, host: node2}")
    scenario = scenario.replace("nodes: {node1: node1.LF}",
                                "nodes: {node1: node1.LF, node2: node2.LF}")
    message = refused(tmp_path, scenario)
    assert ("attackers[0].host" in message and "ipmi_ip" in message) or "power-off" in message


def test_iterations_repeat_the_fault(tmp_path):
    scenario = SERVICE_HA.replace("iterations: 1", "iterations: 3")
    result = loaded(task(tmp_path, scenario), pod_path=tmp_path / "pod.yaml")
    assert result.cases[0].scenario.model.repeat == 3
    assert any("runner.iterations" in w for w in result.warnings)


def test_unmet_precondition_skips(tmp_path):
    path = task(tmp_path, SERVICE_HA, extra="precondition: {installer_type: compass}\n")
    result = load_cases(path, tmp_path / "pod.yaml", environ={"INSTALL_TYPE": "fuel"})
    assert result.skipped
    assert load_yardstick(path, tmp_path / "pod.yaml")[0]  # no INSTALL_TYPE here: runs


def test_literal_commands_run_the_cli_as_yardstick_does(tmp_path):
    result = loaded(task(tmp_path, SERVICE_HA), pod_path=tmp_path / "pod.yaml",
                    literal_commands=True)
    command = result.cases[0].scenario.monitors[0]
    assert command.type == "openstack-cmd"
    assert command.params.command == ["openstack", "server", "list"]


def test_commands_without_an_exact_api_call_run_as_written(tmp_path):
    scenario = SERVICE_HA.replace("openstack server list", "openstack server list --long")
    result = loaded(task(tmp_path, scenario), pod_path=tmp_path / "pod.yaml")
    assert result.cases[0].scenario.monitors[0].type == "openstack-cmd"


GENERAL_HA_OPERATIONS = """\
type: GeneralHA
options:
  attackers:
  - {fault_type: kill-process, process_name: nova-scheduler, host: node1, key: kill}
  monitors:
  - {monitor_type: process, process_name: nova-scheduler, host: node1, key: proc,
     monitor_time: 30}
  operations:
  - {operation_type: general-operation, key: flavor, operation_key: nova-create-flavor,
     action_parameter: {flavorconfig: "f1 f1 64 0 1"}, rollback_parameter: {flavorid: f1}}
  - {operation_type: general-operation, key: boot, operation_key: nova-create-instance,
     action_parameter: {serverconfig: "vm1 cirros f1"}, rollback_parameter: {name: vm1},
     return_parameter: {id: "@server_id"}}
  resultCheckers:
  - {checker_type: general-result-checker, key: count, checker_key: process-checker,
     host: node1, parameter: {process_name: nova-scheduler}, expectedValue: 1,
     condition: gt_eq}
  steps:
  - {actionKey: flavor, actionType: operation, index: 1}
  - {actionKey: kill, actionType: attacker, index: 2}
  - {actionKey: proc, actionType: monitor, index: 3}
  - {actionKey: boot, actionType: operation, index: 4}
  - {actionKey: count, actionType: resultchecker, index: 5}
nodes: {node1: node1.LF}
runner: {type: Duration, duration: 1}
"""


def test_operations_and_result_checkers_map_to_native_operations(tmp_path):
    (case,) = loaded(task(tmp_path, GENERAL_HA_OPERATIONS), pod_path=tmp_path / "pod.yaml").cases
    flavor, boot, count = case.scenario.operations
    # a step before the first attacker's runs before the fault; the others right after it
    assert [o.spec.at for o in (flavor, boot, count)] == ["before-inject", "after-inject",
                                                         "after-inject"]
    assert flavor.params.command == ["flavor", "create", "f1", "--id", "f1", "--ram", "64",
                                     "--disk", "0", "--vcpus", "1"]
    assert flavor.params.undo == ["flavor", "delete", "f1"]
    assert boot.params.command == ["server", "create", "vm1", "--image", "cirros", "--flavor",
                                   "f1", "--wait"]
    assert boot.params.undo == ["server", "delete", "vm1", "--wait"]
    assert boot.spec.sets == {"server_id": "id"}    # return_parameter {id: "@server_id"}
    assert count.type == "command" and "pgrep -f -c -- nova-scheduler" in count.params.command
    assert (count.spec.expect.condition, count.spec.expect.value) == ("gt_eq", 1)


def test_an_operation_without_an_equivalent_is_refused_naming_the_field(tmp_path):
    message = refused(tmp_path, GENERAL_HA_OPERATIONS.replace(
        "operation_key: nova-create-flavor", "operation_key: get-vip-host"))
    assert "operations[0].operation_key" in message and "no ha-tests equivalent" in message


def test_a_network_none_or_auto_boots_with_nic(tmp_path):
    (case,) = loaded(task(tmp_path, GENERAL_HA_OPERATIONS.replace('"vm1 cirros f1"',
                                                                  '"vm1 cirros f1 none"')),
                     pod_path=tmp_path / "pod.yaml").cases
    assert case.scenario.operations[1].params.command[-3:] == ["--nic", "none", "--wait"]

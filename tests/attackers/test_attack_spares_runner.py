"""kill-process and freeze-process with a pattern that matches everything (``"|.*"``, ``.*``).

The runner runs ``transport: local`` as the child of a shell inside a PID namespace of its own
(``unshare --pid``), beside a few victims and a process named sshd: there "everything" is
only them, so the test can let the attacker loose without hurting this machine. The victims
must be signalled; the runner, the shell it runs under, the namespace's init, the sshd and
a ha-tests dead-man timer must not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

RUNNER = textwrap.dedent("""\
    import json, sys
    from ha_tests.attackers.freeze_process import FreezeProcess, FreezeProcessParams
    from ha_tests.attackers.kill_process import KillProcess, KillProcessParams
    from ha_tests.context import RunContext
    from ha_tests.inventory import Inventory

    out, kind, pattern = sys.argv[1:4]
    inventory = Inventory.model_validate({
        "name": "pidns", "test_target": True,
        "nodes": [{"name": "local", "roles": ["local"], "address": "127.0.0.1",
                   "transport": "local"}]})
    ctx = RunContext(inventory)
    if kind == "kill":
        attacker = KillProcess("kill-all", KillProcessParams(process=pattern, restart=False),
                               [inventory.node("local")], ctx)
    else:
        attacker = FreezeProcess("freeze-all", FreezeProcessParams(process=pattern,
                                 duration=60), [inventory.node("local")], ctx)
    try:
        attacker.preflight()
    except Exception as error:
        with open(out + "/preflight.txt", "w") as f:
            f.write(str(error))
        raise
    detail = attacker.inject()
    with open(out + "/detail.json", "w") as f:
        json.dump(detail, f)
    if kind == "freeze":
        attacker.rollback()
        attacker.verify()
    print("runner survived")
""")

#: PID 1 of the namespace: starts the victims, the sshd and a tagged timer, then the runner
#: under a shell of its own, and records what each process was after the runner finished
INIT = textwrap.dedent("""\
    d=$1; kind=$2; pattern=$3
    state() { read -r st 2>/dev/null < /proc/$1/stat || { echo gone; return; }
              st=${st##*) }; echo "${st%% *}"; }
    sleep 300 & echo $! > $d/pid-victim-sleep
    sh -c 'sleep 300; :' & echo $! > $d/pid-victim-shell
    $d/sshd 300 & echo $! > $d/pid-sshd
    setsid sh -c 'sleep 300; :' ha-tests:deadman-test:x & echo $! > $d/pid-timer
    sh -c '"$@"; echo $? > "$0/runner.rc"' "$d" "$PYTHON" "$d/runner.py" "$d" "$kind" \
        "$pattern" > $d/runner.out 2> $d/runner.err &
    parent=$!; echo $parent > $d/pid-parent
    wait $parent
    for name in victim-sleep victim-shell sshd timer; do
      echo "$name $(state $(cat $d/pid-$name))"
    done > $d/after
""")


def run_in_pid_namespace(tmp_path, kind: str, pattern: str) -> dict:
    if os.geteuid() != 0:
        pytest.skip("a PID namespace needs root")
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    (tmp_path / "runner.py").write_text(RUNNER)
    (tmp_path / "init.sh").write_text(INIT)
    os.symlink(shutil.which("sleep"), tmp_path / "sshd")  # its comm is "sshd"
    env = dict(os.environ, PYTHON=sys.executable)
    subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "sh",
                    str(tmp_path / "init.sh"), str(tmp_path), kind, pattern],
                   env=env, check=True, timeout=120)
    after = dict(line.split() for line in (tmp_path / "after").read_text().splitlines())
    return {"rc": (tmp_path / "runner.rc").read_text().strip()
            if (tmp_path / "runner.rc").exists() else None,
            "out": (tmp_path / "runner.out").read_text(),
            "err": (tmp_path / "runner.err").read_text(),
            "after": after,
            "detail": json.loads((tmp_path / "detail.json").read_text())
            if (tmp_path / "detail.json").exists() else None,
            "preflight": (tmp_path / "preflight.txt").read_text()
            if (tmp_path / "preflight.txt").exists() else None}


def pids(tmp_path, *names: str) -> set[int]:
    """PIDs (in the namespace) the init script recorded."""
    return {int((tmp_path / f"pid-{name}").read_text()) for name in names}


@pytest.mark.parametrize("pattern", ["|.*", ".*"])
def test_kill_everything_kills_the_victims_and_never_the_runner(tmp_path, pattern):
    result = run_in_pid_namespace(tmp_path, "kill", pattern)
    assert result["rc"] == "0", result["err"]            # the runner and its shell lived on
    assert "runner survived" in result["out"]
    after = result["after"]
    # killed: gone or a zombie of the namespace's init
    assert after["victim-sleep"] in ("Z", "gone") and after["victim-shell"] in ("Z", "gone")
    assert after["sshd"] == "S"                          # sshd is never signalled
    assert after["timer"] == "S"                         # nor a dead-man timer
    assert 1 not in result["detail"]["pids"]["local"]    # nor init
    assert result["detail"]["spared"]["local"]           # and the report says it spared some


def test_freeze_everything_stops_the_victims_and_never_the_runner(tmp_path):
    result = run_in_pid_namespace(tmp_path, "freeze", "|.*")
    assert result["rc"] == "0", result["err"]            # never stopped: it rolled back
    frozen = set(result["detail"]["pids"]["local"])
    assert pids(tmp_path, "victim-sleep", "victim-shell") <= frozen
    spared = pids(tmp_path, "sshd", "timer", "parent")
    assert not spared & frozen and 1 not in frozen
    assert result["after"]["victim-sleep"] == "S"        # continued by the rollback


def test_a_pattern_that_matches_only_the_runner_fails_preflight_saying_so(tmp_path):
    result = run_in_pid_namespace(tmp_path, "kill", "runner[.]py")
    assert result["rc"] != "0" and result["detail"] is None      # nothing was signalled
    assert "nothing to kill" in result["preflight"]
    assert "the runner or a process it runs under" in result["preflight"]
    assert "narrow the pattern" in result["preflight"]

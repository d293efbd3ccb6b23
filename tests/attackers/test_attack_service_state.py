"""stop-service and restart-service through a ``manager: command`` service on this machine."""

from __future__ import annotations

import os
import textwrap
import uuid

import pytest

from ha_tests.attackers.service_state import RestartService, ServiceParams, StopService
from ha_tests.errors import PreflightError
from ha_tests.processes import find
from ha_tests.transport.local import LocalShell

CTL = """\
#!/bin/sh
# a tiny service manager: one detached loop, tracked by a pid file
pidf="$(dirname "$0")/svc.pid"
running() { [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }
case "$1" in
  start) running && exit 0
         setsid sh -c 'while :; do sleep 0.2; done' "$2" </dev/null >/dev/null 2>&1 &
         echo $! > "$pidf" ;;
  stop) running && kill -s KILL -- "-$(cat "$pidf")"; rm -f "$pidf" ;;
  status) running ;;
esac
"""


@pytest.fixture
def service(tmp_path):
    marker = f"hat-svc-{uuid.uuid4().hex[:8]}"
    ctl = tmp_path / "svcctl"
    ctl.write_text(textwrap.dedent(CTL))
    ctl.chmod(0o755)
    spec = {"process": marker, "manager": "command", "start": f"{ctl} start {marker}",
            "stop": f"{ctl} stop", "status": f"{ctl} status"}
    os.system(f"{ctl} start {marker}")
    yield spec
    os.system(f"{ctl} stop")


def pids(marker: str) -> list[int]:
    return [p.pid for p in find(LocalShell(), marker)]


def make(cls, ctx, **params):
    return cls("svc", ServiceParams(**params), [ctx.inventory.node("local")], ctx)


def test_stop_service_stops_it_and_rollback_starts_it(local_ctx, service):
    ctx = local_ctx(svc=service)
    attacker = make(StopService, ctx, service="svc", back_timeout=5)
    attacker.preflight()
    before = pids(service["process"])
    assert before
    attacker.inject()
    try:
        assert pids(service["process"]) == []
        assert not attacker.running(ctx.inventory.node("local"))[0]
    finally:
        detail = attacker.rollback()
    attacker.verify()
    assert detail["nodes"]["local"]["started_by_rollback"] is True
    after = pids(service["process"])
    assert after and set(after).isdisjoint(before)


def test_restart_service_replaces_the_process(local_ctx, service):
    ctx = local_ctx(svc=service)
    attacker = make(RestartService, ctx, service="svc", back_timeout=5)
    attacker.preflight()
    before = pids(service["process"])
    attacker.inject()  # no restart command: stop, then start
    detail = attacker.rollback()
    attacker.verify()
    assert detail["nodes"]["local"]["started_by_rollback"] is False
    assert set(pids(service["process"])).isdisjoint(before)


def test_verify_fails_while_the_process_is_missing(local_ctx, service):
    ctx = local_ctx(svc=service)
    attacker = make(StopService, ctx, service="svc")
    attacker.inject()
    with pytest.raises(Exception, match="status says not running"):
        attacker.verify()
    attacker.rollback()
    attacker.verify()


def test_status_alone_is_not_enough_without_the_process(local_ctx, service):
    # a status command that always says "running", like a stale pid file would
    ctx = local_ctx(svc={**service, "status": "true"})
    attacker = make(StopService, ctx, service="svc")
    attacker.preflight()
    attacker.inject()
    with pytest.raises(Exception, match="no process matches"):
        attacker.verify()
    attacker.rollback()
    attacker.verify()


def test_preflight_refuses_unknown_or_stopped_services(local_ctx, service):
    ctx = local_ctx(svc=service)
    with pytest.raises(PreflightError, match="no service 'nope'"):
        make(StopService, ctx, service="nope").preflight()
    os.system(service["stop"])
    with pytest.raises(PreflightError, match="not running"):
        make(StopService, ctx, service="svc").preflight()
    os.system(service["start"])
